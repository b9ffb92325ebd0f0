"""Browsing: search, typed filters, deleted rows, sorting, offset pages and keyset pages.

The browse query is what the main window, the export and the command line all run, so the
expectations here are written out in plain Python and compared with what both engines do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import Database
from app.models import Order, OrderStatus, Profile, User
from app.models.types import InvalidValueError
from app.query import (
    After,
    Before,
    DeletedRows,
    Equals,
    Filter,
    IsEmpty,
    OffsetPage,
    OneOf,
    QuerySpec,
    Range,
    SortKey,
)
from app.repositories import (
    BaseRepository,
    OrderRepository,
    PostRepository,
    ProfileRepository,
    TransferRepository,
    UserRepository,
)
from tests.repositories.factories import (
    browse_all,
    force,
    ids_of,
    make_account,
    make_order,
    make_post,
    make_profile,
    make_transfer,
    make_user,
    moment,
    walk_backward,
    walk_forward,
)
from tests.repositories.factories import key_of as factories_key_of

INCLUDE = DeletedRows.INCLUDE


# -- a data set with duplicates, NULLs and deleted rows in every sortable column ---------------


@dataclass
class Seeded:
    users: list[User]
    profiles: list[Profile]
    orders: list[Order]


NAMES = ["carol", "alice", "bob", "alice", "dave", "bob", "alice", "erin", "carol", "bob"]
BIOS = [None, "", "b", "a", "b", None, "c", "a"]
AVATARS = [None, "x.png", None, "y.png", "x.png"]
STATUSES = [
    OrderStatus.SHIPPED,
    OrderStatus.PENDING,
    OrderStatus.CANCELLED,
    OrderStatus.PENDING,
    OrderStatus.DELIVERED,
    OrderStatus.PROCESSING,
    OrderStatus.SHIPPED,
]
TOTALS = ["12.50", "0.00", "99.99", "12.50", "100.00", "5.00"]


async def seed(session: AsyncSession) -> Seeded:
    """23 users, 19 profiles and 20 orders; about a quarter of each in the trash."""
    users = []
    for i in range(23):
        user = await make_user(
            session,
            name=NAMES[i % len(NAMES)],
            email=f"{NAMES[i % len(NAMES)]}.{chr(97 + i)}@example.com",
            hashed_password=f"hash {i % 4}",
            is_active=i % 3 != 0,
        )
        await force(session, user, created_at=moment(1 + i % 5))
        if i % 5 == 0:
            await UserRepository(session).update(user.id, hashed_password="changed")
        users.append(user)
    profiles = [
        await make_profile(
            session, users[i], bio=BIOS[i % len(BIOS)], avatar_url=AVATARS[i % len(AVATARS)]
        )
        for i in range(19)
    ]
    orders = [
        await make_order(
            session,
            users[(i * 7) % 23],
            status=STATUSES[i % len(STATUSES)],
            total=Decimal(TOTALS[i % len(TOTALS)]),
        )
        for i in range(20)
    ]
    # Deleted rows, with deleted_at values that repeat.
    for i, user in enumerate(users):
        if i % 4 == 1:
            await force(session, user, deleted_at=moment(10 + i % 3))
    for records in (profiles, orders):
        for i, record in enumerate(records):
            if i % 4 == 2:
                await force(session, record, deleted_at=moment(11 + i % 2))
    return Seeded(users, profiles, orders)


@pytest.fixture
async def seeded(database: Database) -> Seeded:
    async with database.get_session(write=True) as session:
        return await seed(session)


# -- searching ---------------------------------------------------------------------------------


async def test_search_is_a_case_insensitive_substring_of_name_or_email(
    database: Database,
) -> None:
    async with database.get_session(write=True) as session:
        ada = await make_user(session, name="Ada Lovelace", email="countess@analytical.org")
        grace = await make_user(session, name="Grace Hopper", email="grace@navy.mil")
        repository = UserRepository(session)

        assert await ids_of(repository, QuerySpec(search="LOVE")) == [ada.id]
        assert await ids_of(repository, QuerySpec(search="ovel")) == [ada.id]
        assert await ids_of(repository, QuerySpec(search="Analytical.ORG")) == [ada.id]
        assert await ids_of(repository, QuerySpec(search="a")) == [ada.id, grace.id]
        assert await ids_of(repository, QuerySpec(search="  hopper ")) == [grace.id]
        assert await ids_of(repository, QuerySpec(search="lovelace hopper")) == []


async def test_blank_search_is_no_filter(database: Database) -> None:
    async with database.get_session(write=True) as session:
        users = [await make_user(session) for _ in range(3)]
        repository = UserRepository(session)
        assert await ids_of(repository, QuerySpec(search="")) == [u.id for u in users]
        assert await ids_of(repository, QuerySpec(search="   ")) == [u.id for u in users]


async def test_search_looks_in_every_searchable_column(database: Database) -> None:
    async with database.get_session(write=True) as session:
        author = await make_user(session)
        by_title = await make_post(session, author, title="Notes on engines", content="")
        by_content = await make_post(session, author, title="Untitled", content="the ENGINE")
        await make_post(session, author, title="Other", content="nothing here")
        with_bio = await make_profile(session, bio="Loves Engines", avatar_url=None)
        with_avatar = await make_profile(session, bio=None, avatar_url="/img/engine.png")
        await make_profile(session, bio=None, avatar_url=None)

        spec = QuerySpec(search="engine")
        assert await ids_of(PostRepository(session), spec) == [by_title.id, by_content.id]
        assert await ids_of(ProfileRepository(session), spec) == [with_bio.id, with_avatar.id]


async def test_search_on_orders_matches_the_status(database: Database) -> None:
    async with database.get_session(write=True) as session:
        shipped = await make_order(session, status=OrderStatus.SHIPPED)
        await make_order(session, status=OrderStatus.PENDING)
        assert await ids_of(OrderRepository(session), QuerySpec(search="SHIP")) == [shipped.id]


async def test_search_on_orders_by_number_matches_the_id(database: Database) -> None:
    async with database.get_session(write=True) as session:
        orders = [await make_order(session) for _ in range(3)]
        target = orders[1]
        spec = QuerySpec(search=str(target.id))
        assert await ids_of(OrderRepository(session), spec) == [target.id]


async def test_search_for_a_whole_number_also_matches_the_id(database: Database) -> None:
    async with database.get_session(write=True) as session:
        users = [await make_user(session) for _ in range(3)]
        target = users[1]
        namesake = await make_user(session, name=f"room {target.id}0")
        repository = UserRepository(session)

        assert await ids_of(repository, QuerySpec(search=str(target.id))) == [
            target.id,
            namesake.id,
        ]
        # Leading zeros still name the same id (but no longer match the name).
        assert await ids_of(repository, QuerySpec(search=f"00{target.id}")) == [target.id]


async def test_search_for_a_number_too_large_for_an_id_is_only_text(database: Database) -> None:
    async with database.get_session(write=True) as session:
        await make_user(session)
        phone = await make_user(session, name="call 0044123456789012")
        repository = UserRepository(session)

        assert await ids_of(repository, QuerySpec(search="44123456789012")) == [phone.id]
        assert await ids_of(repository, QuerySpec(search="9" * 30)) == []


async def test_search_on_a_record_without_text_columns_only_matches_the_id(
    database: Database,
) -> None:
    async with database.get_session(write=True) as session:
        source, target = await make_account(session), await make_account(session)
        first = await make_transfer(session, source, target)
        second = await make_transfer(session, source, target)
        repository = TransferRepository(session)

        assert await ids_of(repository, QuerySpec(search="transfer")) == []
        assert await ids_of(repository, QuerySpec(search=str(second.id))) == [second.id]
        assert await ids_of(repository, QuerySpec(search="")) == [first.id, second.id]


# -- filters -----------------------------------------------------------------------------------


async def test_equals_on_a_boolean_column(database: Database) -> None:
    async with database.get_session(write=True) as session:
        active = await make_user(session, is_active=True)
        inactive = await make_user(session, is_active=False)
        repository = UserRepository(session)

        for value in (True, "true", "Yes", "1", "y", 1):
            spec = QuerySpec(filters=(Equals("is_active", value),))
            assert await ids_of(repository, spec) == [active.id], value
        for value in (False, "false", "NO", "0", "n", 0):
            spec = QuerySpec(filters=(Equals("is_active", value),))
            assert await ids_of(repository, spec) == [inactive.id], value


async def test_equals_on_a_foreign_key_finds_the_related_records(database: Database) -> None:
    async with database.get_session(write=True) as session:
        ada, grace = await make_user(session), await make_user(session)
        first = await make_order(session, ada)
        await make_order(session, grace)
        third = await make_order(session, ada)
        repository = OrderRepository(session)

        for value in (ada.id, str(ada.id), f" {ada.id} "):
            spec = QuerySpec(filters=(Equals("user_id", value),))
            assert await ids_of(repository, spec) == [first.id, third.id]
        spec = QuerySpec(filters=(Equals("user_id", 999_999),))
        assert await ids_of(repository, spec) == []


async def test_one_of_on_the_order_status(database: Database) -> None:
    async with database.get_session(write=True) as session:
        orders = {
            status: await make_order(session, status=status)
            for status in (OrderStatus.PENDING, OrderStatus.SHIPPED, OrderStatus.CANCELLED)
        }
        repository = OrderRepository(session)

        spec = QuerySpec(filters=(OneOf("status", ("pending", OrderStatus.CANCELLED)),))
        assert await ids_of(repository, spec) == [
            orders[OrderStatus.PENDING].id,
            orders[OrderStatus.CANCELLED].id,
        ]
        spec = QuerySpec(filters=(OneOf("status", ("delivered",)),))
        assert await ids_of(repository, spec) == []
        spec = QuerySpec(filters=(OneOf("status", ()),))
        assert await ids_of(repository, spec) == []


async def test_equals_on_the_order_status(database: Database) -> None:
    async with database.get_session(write=True) as session:
        shipped = await make_order(session, status=OrderStatus.SHIPPED)
        await make_order(session, status=OrderStatus.PENDING)
        repository = OrderRepository(session)
        for value in ("shipped", OrderStatus.SHIPPED):
            assert await ids_of(repository, QuerySpec(filters=(Equals("status", value),))) == [
                shipped.id
            ]


async def test_range_on_money(database: Database) -> None:
    totals = ["0.00", "5.00", "12.49", "12.50", "12.51", "99.99", "100.00"]
    async with database.get_session(write=True) as session:
        ids = {total: (await make_order(session, total=Decimal(total))).id for total in totals}
        repository = OrderRepository(session)

        async def between(range_: Range) -> list[str]:
            found = await ids_of(repository, QuerySpec(filters=(range_,)))
            return [total for total in totals if ids[total] in found]

        assert await between(Range("total", "12.50", "99.99")) == ["12.50", "12.51", "99.99"]
        assert await between(Range("total", Decimal("12.5"), Decimal("100"))) == [
            "12.50",
            "12.51",
            "99.99",
            "100.00",
        ]
        assert await between(Range("total", low="12.51")) == ["12.51", "99.99", "100.00"]
        assert await between(Range("total", high="5")) == ["0.00", "5.00"]
        assert await between(Range("total", "5.00", "12.50", high_inclusive=False)) == [
            "5.00",
            "12.49",
        ]
        assert await between(Range("total", high=12, high_inclusive=False)) == ["0.00", "5.00"]
        assert await between(Range("total", "50", "20")) == []


async def test_range_on_datetimes(database: Database) -> None:
    days = [1, 5, 7, 10, 12]
    async with database.get_session(write=True) as session:
        source, target = await make_account(session), await make_account(session)
        ids = {
            day: (await make_transfer(session, source, target, transferred_at=moment(day, 12))).id
            for day in days
        }
        repository = TransferRepository(session)

        async def on_days(range_: Range) -> list[int]:
            found = await ids_of(repository, QuerySpec(filters=(range_,)))
            return [day for day in days if ids[day] in found]

        # Aware values, inclusive at both ends.
        assert await on_days(Range("transferred_at", moment(5, 12), moment(10, 12))) == [5, 7, 10]
        assert await on_days(
            Range("transferred_at", moment(5, 12), moment(10, 12), high_inclusive=False)
        ) == [5, 7]
        # Open ends.
        assert await on_days(Range("transferred_at", low=moment(7, 12))) == [7, 10, 12]
        assert await on_days(Range("transferred_at", high=moment(7, 11, 59))) == [1, 5]
        # ISO text with a zone, as the command line gives it.
        assert await on_days(
            Range("transferred_at", "2024-03-05T12:00:00+00:00", "2024-03-10T11:00:00Z")
        ) == [5, 7]
        assert await on_days(
            Range("transferred_at", "2024-03-05T13:00:00+01:00", high_inclusive=False)
        ) == [5, 7, 10, 12]
        # A bare date (midnight, local time) and a date object.
        assert await on_days(Range("transferred_at", "2024-03-02", "2024-03-09")) == [5, 7]
        assert await on_days(Range("transferred_at", low=datetime(2024, 3, 8).date())) == [10, 12]


async def test_equals_on_a_datetime_given_as_text(database: Database) -> None:
    async with database.get_session(write=True) as session:
        source, target = await make_account(session), await make_account(session)
        await make_transfer(session, source, target, transferred_at=moment(4, 9))
        exact = await make_transfer(session, source, target, transferred_at=moment(5, 9, 30))
        spec = QuerySpec(filters=(Equals("transferred_at", "2024-03-05T10:30:00+01:00"),))
        assert await ids_of(TransferRepository(session), spec) == [exact.id]


async def test_is_empty_on_nullable_text(database: Database) -> None:
    async with database.get_session(write=True) as session:
        missing = await make_profile(session, bio=None)
        blank = await make_profile(session, bio="")
        written = await make_profile(session, bio="Writes compilers.")
        spaces = await make_profile(session, bio=" ")
        repository = ProfileRepository(session)

        empty = QuerySpec(filters=(IsEmpty("bio"),))
        not_empty = QuerySpec(filters=(IsEmpty("bio", empty=False),))
        assert await ids_of(repository, empty) == [missing.id, blank.id]
        assert await ids_of(repository, not_empty) == [written.id, spaces.id]


async def test_is_empty_on_a_column_that_is_not_text(database: Database) -> None:
    async with database.get_session(write=True) as session:
        live = await make_user(session)
        gone = await make_user(session)
        await UserRepository(session).delete(gone.id)
        repository = UserRepository(session)

        deleted = QuerySpec(filters=(IsEmpty("deleted_at", empty=False),), deleted=INCLUDE)
        never_deleted = QuerySpec(filters=(IsEmpty("deleted_at"),), deleted=INCLUDE)
        assert await ids_of(repository, deleted) == [gone.id]
        assert await ids_of(repository, never_deleted) == [live.id]
        # A required column is never empty.
        assert await ids_of(repository, QuerySpec(filters=(IsEmpty("name"),))) == []


async def test_filters_and_search_all_apply(database: Database) -> None:
    async with database.get_session(write=True) as session:
        ada = await make_user(session, name="Ada")
        grace = await make_user(session, name="Grace")
        for user in (ada, grace):
            for status, total in ((OrderStatus.PENDING, "10.00"), (OrderStatus.SHIPPED, "30.00")):
                await make_order(session, user, status=status, total=Decimal(total))
        wanted = await make_order(session, ada, status=OrderStatus.SHIPPED, total=Decimal("50"))
        repository = OrderRepository(session)

        spec = QuerySpec(
            search="ship",
            filters=(Equals("user_id", str(ada.id)), Range("total", low="40")),
        )
        assert await ids_of(repository, spec) == [wanted.id]


@pytest.mark.parametrize(
    ("repository", "filter_"),
    [
        pytest.param(OrderRepository, Equals("user_id", "abc"), id="text-for-a-number"),
        pytest.param(OrderRepository, Equals("user_id", True), id="boolean-for-a-number"),
        pytest.param(OrderRepository, Equals("user_id", "1.5"), id="fraction-for-a-number"),
        pytest.param(OrderRepository, Range("total", low="abc"), id="text-for-money"),
        pytest.param(OrderRepository, Equals("total", "1.234"), id="money-past-cents"),
        pytest.param(OrderRepository, Range("total", high=1.5), id="float-for-money"),
        pytest.param(OrderRepository, Range("total", low="NaN"), id="nan-for-money"),
        pytest.param(OrderRepository, Range("total"), id="range-without-ends"),
        pytest.param(OrderRepository, Equals("status", "lost"), id="unknown-status"),
        pytest.param(OrderRepository, OneOf("status", ("pending", "lost")), id="one-unknown"),
        pytest.param(UserRepository, Equals("is_active", "maybe"), id="not-a-boolean"),
        pytest.param(UserRepository, Range("name", low="a"), id="range-on-text"),
        pytest.param(UserRepository, Equals("name", 7), id="number-for-text"),
        pytest.param(UserRepository, Equals("nickname", "ada"), id="unknown-column"),
        pytest.param(UserRepository, IsEmpty("nickname"), id="unknown-column-is-empty"),
        pytest.param(TransferRepository, Range("transferred_at", low="yesterday"), id="not-a-date"),
        pytest.param(TransferRepository, Equals("transferred_at", 5), id="number-for-a-date"),
    ],
)
async def test_wrong_filter_values_are_refused(
    database: Database, repository: type[BaseRepository[Any]], filter_: Filter
) -> None:
    spec = QuerySpec(filters=(filter_,))
    async with database.get_session() as session:
        with pytest.raises(InvalidValueError, match=filter_.column):
            await repository(session).browse(spec, OffsetPage(0, 10))
        with pytest.raises(InvalidValueError, match=filter_.column):
            await repository(session).count(spec)


async def test_unknown_sort_column_is_refused(database: Database) -> None:
    async with database.get_session() as session:
        with pytest.raises(InvalidValueError, match="nickname"):
            await UserRepository(session).browse(
                QuerySpec(sort=(SortKey("nickname"),)), OffsetPage(0, 10)
            )


# -- deleted rows ------------------------------------------------------------------------------


async def test_deleted_rows_excluded_included_or_only(database: Database) -> None:
    async with database.get_session(write=True) as session:
        users = [await make_user(session, name=f"smith {letter}") for letter in "abcd"]
        for user in users[1::2]:
            await UserRepository(session).delete(user.id)
        repository = UserRepository(session)
        everyone = [user.id for user in users]

        assert await ids_of(repository, QuerySpec()) == everyone[0::2]
        assert await ids_of(repository, QuerySpec(deleted=DeletedRows.EXCLUDE)) == everyone[0::2]
        assert await ids_of(repository, QuerySpec(deleted=DeletedRows.INCLUDE)) == everyone
        assert await ids_of(repository, QuerySpec(deleted=DeletedRows.ONLY)) == everyone[1::2]
        # Together with a search and a sort.
        spec = QuerySpec(
            search="SMITH", sort=(SortKey("name", descending=True),), deleted=DeletedRows.ONLY
        )
        assert await ids_of(repository, spec) == [everyone[3], everyone[1]]


# -- sorting -----------------------------------------------------------------------------------


def expected_order(rows: Sequence[Row[Any]], sort: tuple[SortKey, ...]) -> list[int]:
    """The ids in the order a sort should give, worked out in Python.

    NULL counts as the largest value; the id breaks ties, in the direction of the last key
    (unless the id is itself one of the keys).
    """
    id_descending = next(
        (key.descending for key in sort if key.column == "id"),
        sort[-1].descending if sort else False,
    )
    ordered = sorted(rows, key=lambda row: row.id, reverse=id_descending)
    # Stable sorts, least significant key first.
    for key in reversed([key for key in sort if key.column != "id"]):

        def value(row: Row[Any], name: str = key.column) -> tuple[Any, ...]:
            cell = getattr(row, name)
            return (1,) if cell is None else (0, cell)

        ordered = sorted(ordered, key=value, reverse=key.descending)
    return [row.id for row in ordered]


SORTED_REPOSITORIES: list[type[BaseRepository[Any]]] = [
    UserRepository,
    ProfileRepository,
    OrderRepository,
]


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize(
    "repository", SORTED_REPOSITORIES, ids=[r.model.__tablename__ for r in SORTED_REPOSITORIES]
)
async def test_sort_by_any_column_with_the_id_breaking_ties(
    database: Database,
    seeded: Seeded,
    repository: type[BaseRepository[Any]],
    descending: bool,
) -> None:
    async with database.get_session() as session:
        records = repository(session)
        for deleted in DeletedRows:
            rows = await browse_all(records, QuerySpec(deleted=deleted))
            for column in repository.column_names():
                sort = (SortKey(column, descending),)
                spec = QuerySpec(sort=sort, deleted=deleted)
                assert await ids_of(records, spec) == expected_order(rows, sort), (
                    f"sorted by {column} {'desc' if descending else 'asc'}, {deleted} deleted"
                )


@pytest.mark.parametrize(
    "sort",
    [
        (SortKey("is_active", descending=True), SortKey("name")),
        (SortKey("name"), SortKey("is_active", descending=True)),
        (SortKey("name", descending=True), SortKey("created_at")),
        (SortKey("deleted_at", descending=True), SortKey("name")),
        (SortKey("hashed_password"), SortKey("version", descending=True), SortKey("name")),
        (SortKey("name"), SortKey("id", descending=True)),
    ],
    ids=lambda sort: ",".join(f"{k.column}{'-' if k.descending else '+'}" for k in sort),
)
async def test_sort_by_several_columns(
    database: Database, seeded: Seeded, sort: tuple[SortKey, ...]
) -> None:
    async with database.get_session() as session:
        users = UserRepository(session)
        rows = await browse_all(users, QuerySpec(deleted=INCLUDE))
        spec = QuerySpec(sort=sort, deleted=INCLUDE)
        assert await ids_of(users, spec) == expected_order(rows, sort)


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
async def test_sort_led_by_the_id_orders_by_the_id(
    database: Database, seeded: Seeded, descending: bool
) -> None:
    """The id is unique: once it leads the sort, later keys cannot change the order."""
    async with database.get_session() as session:
        users = UserRepository(session)
        spec = QuerySpec(sort=(SortKey("id", descending), SortKey("name")))
        ids = [user.id for user in seeded.users if user.deleted_at is None]
        assert await ids_of(users, spec) == sorted(ids, reverse=descending)


# -- offset pages ------------------------------------------------------------------------------


async def test_offset_pages_cut_the_result_in_order(database: Database, seeded: Seeded) -> None:
    spec = QuerySpec(sort=(SortKey("name"),), deleted=INCLUDE)
    async with database.get_session() as session:
        users = UserRepository(session)
        everything = await browse_all(users, spec)
        assert len(everything) == 23

        pages = [await users.browse(spec, OffsetPage(offset, 5)) for offset in range(0, 25, 5)]

        assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
        assert [row for page in pages for row in page] == everything
        assert await users.browse(spec, OffsetPage(23, 5)) == []
        assert await users.browse(spec, OffsetPage(100, 5)) == []
        assert list(await users.browse(spec, OffsetPage(21, 100))) == everything[21:]


async def test_browse_rows_have_every_column_in_table_order(
    database: Database, seeded: Seeded
) -> None:
    async with database.get_session() as session:
        rows = await OrderRepository(session).browse(QuerySpec(), OffsetPage(0, 1))
    first = seeded.orders[0]
    assert tuple(rows[0]._fields) == OrderRepository.column_names()
    assert rows[0].id == first.id
    assert rows[0].status == OrderStatus.SHIPPED
    assert rows[0].total == Decimal("12.50")
    assert rows[0].created_at.tzinfo is not None


# -- keyset pages ------------------------------------------------------------------------------

KEYSET_CASES = [
    pytest.param(UserRepository, (), DeletedRows.EXCLUDE, id="users-id"),
    pytest.param(UserRepository, (SortKey("id", True),), DeletedRows.EXCLUDE, id="users-id-desc"),
    pytest.param(UserRepository, (SortKey("name"),), DeletedRows.EXCLUDE, id="users-name"),
    pytest.param(UserRepository, (SortKey("name", True),), INCLUDE, id="users-name-desc"),
    pytest.param(UserRepository, (SortKey("is_active"),), INCLUDE, id="users-active"),
    pytest.param(
        UserRepository,
        (SortKey("is_active", True), SortKey("name")),
        INCLUDE,
        id="users-active-desc-name",
    ),
    pytest.param(
        UserRepository,
        (SortKey("name"), SortKey("created_at", True)),
        DeletedRows.EXCLUDE,
        id="users-name-created-desc",
    ),
    pytest.param(
        UserRepository, (SortKey("created_at", True),), INCLUDE, id="users-created-at-desc"
    ),
    pytest.param(UserRepository, (SortKey("deleted_at"),), INCLUDE, id="users-deleted-at"),
    pytest.param(
        UserRepository, (SortKey("deleted_at", True),), INCLUDE, id="users-deleted-at-desc"
    ),
    pytest.param(
        UserRepository,
        (SortKey("deleted_at", True), SortKey("name")),
        INCLUDE,
        id="users-deleted-at-desc-name",
    ),
    pytest.param(
        UserRepository,
        (SortKey("name"), SortKey("deleted_at")),
        DeletedRows.ONLY,
        id="users-only-deleted",
    ),
    pytest.param(ProfileRepository, (SortKey("bio"),), DeletedRows.EXCLUDE, id="profiles-bio"),
    pytest.param(ProfileRepository, (SortKey("bio", True),), INCLUDE, id="profiles-bio-desc"),
    pytest.param(
        ProfileRepository,
        (SortKey("bio"), SortKey("avatar_url", True)),
        INCLUDE,
        id="profiles-bio-avatar-desc",
    ),
    pytest.param(
        ProfileRepository,
        (SortKey("avatar_url", True), SortKey("bio")),
        INCLUDE,
        id="profiles-avatar-desc-bio",
    ),
    pytest.param(OrderRepository, (SortKey("status"),), INCLUDE, id="orders-status"),
    pytest.param(OrderRepository, (SortKey("total"),), DeletedRows.EXCLUDE, id="orders-total"),
    pytest.param(OrderRepository, (SortKey("total", True),), INCLUDE, id="orders-total-desc"),
    pytest.param(
        OrderRepository,
        (SortKey("status"), SortKey("total", True)),
        DeletedRows.EXCLUDE,
        id="orders-status-total-desc",
    ),
    pytest.param(
        OrderRepository,
        (SortKey("user_id", True), SortKey("total", True)),
        INCLUDE,
        id="orders-user-desc-total-desc",
    ),
]


@pytest.mark.parametrize(("repository", "sort", "deleted"), KEYSET_CASES)
async def test_keyset_pages_agree_with_one_offset_page(
    database: Database,
    seeded: Seeded,
    repository: type[BaseRepository[Any]],
    sort: tuple[SortKey, ...],
    deleted: DeletedRows,
) -> None:
    spec = QuerySpec(sort=sort, deleted=deleted)
    async with database.get_session() as session:
        records = repository(session)
        everything = [tuple(row) for row in await browse_all(records, spec)]
        assert len(everything) > 5

        # Walking forward with After(key of the last row) visits every row once, in order.
        for size in (1, 2, 3, 5, 100):
            assert await walk_forward(records, spec, size) == everything, f"After, pages of {size}"

        # Walking back from the end with Before(key of the first row) gives the same rows.
        for size in (1, 2, 3, 5, 100):
            assert await walk_backward(records, spec, size) == everything, (
                f"Before, pages of {size}"
            )

        # From any row: After starts just past it, Before ends just before it.
        key_of = partial(factories_key_of, records, spec)
        for i, row in enumerate(everything):
            after = [tuple(r) for r in await records.browse(spec, After(key_of(row), 4))]
            before = [tuple(r) for r in await records.browse(spec, Before(key_of(row), 4))]
            assert after == everything[i + 1 : i + 5], f"After row {i}"
            assert before == everything[max(0, i - 4) : i], f"Before row {i}"


async def test_keyset_pages_with_a_column_named_twice_in_the_sort(
    database: Database, seeded: Seeded
) -> None:
    """The second mention of a column changes nothing in the order; paging must cope."""
    spec = QuerySpec(sort=(SortKey("name"), SortKey("name", descending=True)))
    async with database.get_session() as session:
        users = UserRepository(session)
        everything = [tuple(row) for row in await browse_all(users, spec)]
        assert await walk_forward(users, spec, 3) == everything


async def test_first_and_last_keyset_pages(database: Database, seeded: Seeded) -> None:
    spec = QuerySpec(sort=(SortKey("name"),), deleted=INCLUDE)
    async with database.get_session() as session:
        users = UserRepository(session)
        everything = await browse_all(users, spec)
        assert list(await users.browse(spec, After(None, 4))) == everything[:4]
        assert list(await users.browse(spec, Before(None, 4))) == everything[-4:]
        assert list(await users.browse(spec, After(None, 100))) == everything
        assert list(await users.browse(spec, Before(None, 100))) == everything


async def test_keyset_key_values_may_be_text(database: Database, seeded: Seeded) -> None:
    """A key typed on the command line arrives as text and is coerced like a filter value."""
    cases: list[tuple[type[BaseRepository[Any]], tuple[SortKey, ...]]] = [
        (UserRepository, (SortKey("created_at", True), SortKey("name"))),
        (UserRepository, (SortKey("deleted_at"), SortKey("version", True))),
        (OrderRepository, (SortKey("status"), SortKey("total", True))),
    ]
    async with database.get_session() as session:
        for repository, sort in cases:
            records = repository(session)
            spec = QuerySpec(sort=sort, deleted=INCLUDE)
            everything = [tuple(row) for row in await browse_all(records, spec)]
            key_of = partial(factories_key_of, records, spec)
            for i, row in enumerate(everything):
                key = tuple(None if value is None else str(value) for value in key_of(row))
                after = [tuple(r) for r in await records.browse(spec, After(key, 3))]
                assert after == everything[i + 1 : i + 4], f"{sort}: after row {i}, key {key}"


async def test_keyset_combines_with_search_and_filters(database: Database, seeded: Seeded) -> None:
    spec = QuerySpec(
        search="a",
        filters=(Equals("is_active", True),),
        sort=(SortKey("name", True), SortKey("created_at")),
        deleted=INCLUDE,
    )
    async with database.get_session() as session:
        users = UserRepository(session)
        everything = [tuple(row) for row in await browse_all(users, spec)]
        assert 3 < len(everything) < 23
        assert await walk_forward(users, spec, 2) == everything
        assert await walk_backward(users, spec, 2) == everything


async def test_keyset_key_of_the_wrong_length_is_refused(database: Database) -> None:
    spec = QuerySpec(sort=(SortKey("name"),))
    async with database.get_session() as session:
        with pytest.raises(InvalidValueError):
            await UserRepository(session).browse(spec, After(("alice",), 10))
        with pytest.raises(InvalidValueError):
            await UserRepository(session).browse(spec, Before(("alice", 1, 2), 10))
