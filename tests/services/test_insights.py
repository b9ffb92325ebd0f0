"""Totals, frequency tables and descriptions against figures worked out by hand on a small
seeded database, on both engines: trashed rows left out, money exact, NULLs and empty
views, the view's filters applied, and each group's drill-down showing exactly its rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from app.core.database import Database
from app.models import Account, Order, OrderItem, Post, Profile, User
from app.models.order import OrderStatus
from app.query import DeletedRows, Equals, IsEmpty, KeyRange, QuerySpec, Range, SortKey
from app.services import catalog, insights
from app.services.errors import ValidationError
from app.services.insights import Grouping, ValueRange
from app.services.records import RecordService


def at(day: int, month: int = 1, year: int = 2026, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


async def seed(database: Database) -> None:
    """Four users (one trashed), posts, orders with items and accounts, as the figures in
    the tests below count them."""
    async with database.get_session(write=True) as session:
        users = [
            User(id=1, email="ada@example.org", name="Ada", hashed_password="x", is_active=True),
            User(id=2, email="bob@example.org", name="Bob", hashed_password="x", is_active=True),
            User(id=3, email="cy@example.org", name="Cy", hashed_password="x", is_active=False),
            User(
                id=4,
                email="dee@example.org",
                name="Dee",
                hashed_password="x",
                is_active=False,
                deleted_at=at(5),
            ),
        ]
        session.add_all(users)
        await session.flush()
        session.add_all(
            [
                Profile(user_id=1, bio="Hi", avatar_url=None),
                Profile(user_id=2, bio="", avatar_url="https://a/b.png"),
                Profile(user_id=3, bio=None, avatar_url=None),
            ]
        )
        posts = [
            Post(id=1, title="One", author_id=1, created_at=at(1)),
            Post(id=2, title="Two", author_id=1, created_at=at(2)),
            Post(id=3, title="Three", author_id=1, created_at=at(3, 2)),
            Post(id=4, title="Four", author_id=2, created_at=at(4, 2)),
            Post(id=5, title="Gone", author_id=2, created_at=at(5, 2), deleted_at=at(6, 2)),
            Post(id=6, title="Old", author_id=3, created_at=at(1, 12, 2025)),
        ]
        session.add_all(posts)
        orders = [
            Order(
                id=1,
                user_id=1,
                status=OrderStatus.DELIVERED,
                total=Decimal("10.10"),
                created_at=at(3),
            ),
            Order(
                id=2,
                user_id=1,
                status=OrderStatus.DELIVERED,
                total=Decimal("0.20"),
                created_at=at(9),
            ),
            Order(
                id=3,
                user_id=2,
                status=OrderStatus.PENDING,
                total=Decimal("5.05"),
                created_at=at(2, 2),
            ),
            Order(
                id=4,
                user_id=3,
                status=OrderStatus.SHIPPED,
                total=Decimal("0.00"),
                created_at=at(7, 2),
            ),
            Order(
                id=5,
                user_id=2,
                status=OrderStatus.DELIVERED,
                total=Decimal("999.99"),
                created_at=at(8, 2),
                deleted_at=at(9, 2),
            ),
        ]
        session.add_all(orders)
        await session.flush()
        session.add_all(
            [
                OrderItem(order_id=1, product="Pen", quantity=3, unit_price=Decimal("0.10")),
                OrderItem(order_id=1, product="Ink", quantity=1, unit_price=Decimal("9.80")),
                OrderItem(order_id=2, product="Pen", quantity=2, unit_price=Decimal("0.10")),
                OrderItem(order_id=3, product="Pad", quantity=1, unit_price=Decimal("5.05")),
                OrderItem(order_id=5, product="Gold", quantity=1, unit_price=Decimal("999.99")),
            ]
        )
        session.add_all(
            [
                Account(id=1, owner_id=1, name="Main", balance=Decimal("0.10")),
                Account(id=2, owner_id=1, name="Save", balance=Decimal("0.20")),
                Account(id=3, owner_id=2, name="Main", balance=Decimal("150.00")),
                Account(id=4, owner_id=3, name="Main", balance=Decimal("0.00")),
            ]
        )


@pytest.fixture
async def seeded(database: Database) -> Database:
    await seed(database)
    return database


async def rows_shown(database: Database, entity: str, spec: QuerySpec) -> int:
    return await RecordService(database).count(entity, spec)


# -- totals ----------------------------------------------------------------------------------


async def test_totals_add_up_the_live_orders_exactly(seeded: Database) -> None:
    found = await insights.totals(seeded, "orders", QuerySpec())

    assert found.rows == 4  # the trashed order of 999.99 is left out
    total = found.of("total")
    assert total.values == 4
    assert total.sum == Decimal("15.35")
    assert isinstance(total.sum, Decimal)
    assert (total.minimum, total.maximum) == (Decimal("0.00"), Decimal("10.10"))
    assert total.average == Decimal("3.8375")


async def test_totals_follow_the_filters_search_and_trash(seeded: Database) -> None:
    delivered = QuerySpec(filters=(Equals("status", "delivered"),))
    assert (await insights.totals(seeded, "orders", delivered)).of("total").sum == Decimal("10.30")

    trash = QuerySpec(deleted=DeletedRows.ONLY)
    assert (await insights.totals(seeded, "orders", trash)).of("total").sum == Decimal("999.99")

    items = await insights.totals(seeded, "order_items", QuerySpec(search="pen"))
    assert items.rows == 2
    assert items.of("quantity").sum == 5
    assert items.of("unit_price").sum == Decimal("0.20")


async def test_totals_of_nothing_are_empty_not_zero(seeded: Database) -> None:
    found = await insights.totals(seeded, "orders", QuerySpec(search="no such order"))

    assert found.rows == 0
    assert found.of("total") == insights.ColumnTotals("total", 0, None, None, None)
    assert found.of("total").average is None


async def test_totals_of_a_selection_count_only_its_rows(seeded: Database) -> None:
    spec = QuerySpec(sort=(SortKey("total", descending=True),))
    # Rows 2 and 3 of the view sorted by total: 5.05 (order 3) and 0.20 (order 2).
    selected = (KeyRange((Decimal("5.05"), 3), (Decimal("0.20"), 2)),)

    found = await insights.totals(seeded, "orders", spec, ["total"], selected)

    assert found.rows == 2
    assert found.of("total").sum == Decimal("5.25")


async def test_users_have_nothing_to_add_up_but_their_count(seeded: Database) -> None:
    found = await insights.totals(seeded, "users", QuerySpec())

    assert found == insights.Totals(3, ())
    with pytest.raises(ValidationError, match="not a number"):
        await insights.totals(seeded, "users", QuerySpec(), ["name"])


# -- frequency tables ------------------------------------------------------------------------


async def test_order_statuses_most_frequent_first_with_drill_down(seeded: Database) -> None:
    table = await insights.frequencies(seeded, "orders", QuerySpec(), "status")

    assert [(item.value, item.count) for item in table.items] == [
        ("delivered", 2),
        ("pending", 1),
        ("shipped", 1),
    ]
    assert (table.rows, table.groups, table.other) == (4, 3, 0)
    assert table.percent(2) == Decimal(50)
    for item in table.items:
        assert await rows_shown(seeded, "orders", QuerySpec(filters=(item.filter,))) == item.count


async def test_the_long_tail_is_folded_into_other(seeded: Database) -> None:
    table = await insights.frequencies(seeded, "orders", QuerySpec(), "status", top=1)

    assert [(item.value, item.count) for item in table.items] == [("delivered", 2)]
    assert (table.rows, table.groups, table.other) == (4, 3, 2)


async def test_no_value_and_empty_text_are_one_group(seeded: Database) -> None:
    table = await insights.frequencies(seeded, "profiles", QuerySpec(), "bio")

    assert [(item.value, item.count) for item in table.items] == [(None, 2), ("Hi", 1)]
    assert table.items[0].filter == IsEmpty("bio")
    assert await rows_shown(seeded, "profiles", QuerySpec(filters=(IsEmpty("bio"),))) == 2


async def test_booleans_and_references_are_counted_by_value(seeded: Database) -> None:
    active = await insights.frequencies(seeded, "users", QuerySpec(), "is_active")
    assert [(item.value, item.count) for item in active.items] == [(True, 2), (False, 1)]

    authors = await insights.frequencies(seeded, "posts", QuerySpec(), "author_id")
    assert [(item.value, item.count, item.title) for item in authors.items] == [
        (1, 3, "#1 Ada · ada@example.org"),
        (2, 1, "#2 Bob · bob@example.org"),
        (3, 1, "#3 Cy · cy@example.org"),
    ]


@pytest.mark.parametrize(
    ("grouping", "expected"),
    [
        (Grouping.YEAR, [(date(2026, 1, 1), 4), (date(2025, 1, 1), 1)]),
        (Grouping.MONTH, [(date(2026, 1, 1), 2), (date(2026, 2, 1), 2), (date(2025, 12, 1), 1)]),
        (Grouping.DAY, [(date(2025, 12, 1), 1), (date(2026, 1, 1), 1), (date(2026, 1, 2), 1)]),
    ],
)
async def test_dates_are_grouped_by_day_month_or_year(
    seeded: Database, grouping: Grouping, expected: list[tuple[date, int]]
) -> None:
    table = await insights.frequencies(seeded, "posts", QuerySpec(), "created_at", grouping, top=3)

    assert [(item.value, item.count) for item in table.items] == expected
    for item in table.items:
        assert await rows_shown(seeded, "posts", QuerySpec(filters=(item.filter,))) == item.count


async def test_money_is_counted_in_round_ranges(seeded: Database) -> None:
    table = await insights.frequencies(seeded, "accounts", QuerySpec(), "balance")

    assert table.grouping is Grouping.RANGE
    assert table.items[0] == insights.Frequency(
        ValueRange(Decimal("0.00"), Decimal("20.00")),
        3,
        Range("balance", Decimal("0.00"), Decimal("20.00"), high_inclusive=False),
    )
    assert [item.value for item in table.items[1:]] == [
        ValueRange(Decimal("140.00"), Decimal("160.00"), last=True)
    ]
    for item in table.items:
        assert await rows_shown(seeded, "accounts", QuerySpec(filters=(item.filter,))) == item.count


async def test_whole_numbers_in_ranges_of_whole_numbers(seeded: Database) -> None:
    table = await insights.frequencies(seeded, "order_items", QuerySpec(), "quantity")

    # 1 to 3 in steps of one: the maximum is in the last range, not one of its own.
    assert [(item.value, item.count) for item in table.items] == [
        (ValueRange(Decimal(1), Decimal(2)), 3),
        (ValueRange(Decimal(2), Decimal(3), last=True), 2),
    ]


def test_range_boundaries_are_round() -> None:
    assert insights.range_boundaries(Decimal("3.17"), Decimal("96.2"), whole=False) == [
        Decimal(n) for n in range(0, 101, 10)
    ]
    assert insights.range_boundaries(Decimal(5), Decimal(5), whole=True) == [
        Decimal(5),
        Decimal(6),
    ]


async def test_a_frequency_table_of_an_empty_view(seeded: Database) -> None:
    table = await insights.frequencies(seeded, "accounts", QuerySpec(search="nobody"), "balance")

    assert (table.rows, table.groups, table.items) == (0, 0, ())
    assert table.percent(0) == 0


async def test_a_grouping_the_column_cannot_have_is_refused(seeded: Database) -> None:
    with pytest.raises(ValidationError, match="cannot be grouped by month"):
        await insights.frequencies(seeded, "users", QuerySpec(), "name", Grouping.MONTH)


# -- describe --------------------------------------------------------------------------------


async def test_describe_money(seeded: Database) -> None:
    found = await insights.describe(seeded, "orders", QuerySpec(), "total")

    assert found == insights.Description(
        "total",
        rows=4,
        empty=0,
        distinct=4,
        minimum=Decimal("0.00"),
        maximum=Decimal("10.10"),
        sum=Decimal("15.35"),
        mean=Decimal("3.8375"),
        median=Decimal("2.625"),  # (0.20 + 5.05) / 2
    )


async def test_describe_text_counts_blank_as_empty(seeded: Database) -> None:
    found = await insights.describe(seeded, "profiles", QuerySpec(), "bio")

    assert (found.rows, found.empty, found.distinct) == (3, 2, 1)
    assert (found.minimum, found.maximum, found.sum, found.median) == ("Hi", "Hi", None, None)


async def test_describe_an_odd_count_and_a_filter(seeded: Database) -> None:
    spec = QuerySpec(filters=(Range("total", low="0.10"),))

    found = await insights.describe(seeded, "orders", spec, "total")

    assert (found.rows, found.median, found.sum) == (3, Decimal("5.05"), Decimal("15.35"))


async def test_describe_a_status_in_its_own_order_not_the_alphabets(seeded: Database) -> None:
    found = await insights.describe(seeded, "orders", QuerySpec(), "status")

    # pending, shipped and delivered are there: alphabetically "delivered" … "shipped".
    assert (found.minimum, found.maximum) == ("pending", "delivered")
    assert found.distinct == 3


async def test_describe_booleans_and_an_empty_view(seeded: Database) -> None:
    flags = await insights.describe(seeded, "users", QuerySpec(), "is_active")
    assert (flags.rows, flags.distinct, flags.minimum) == (3, 2, None)

    nothing = await insights.describe(seeded, "orders", QuerySpec(search="none"), "total")
    assert (nothing.rows, nothing.sum, nothing.mean, nothing.median) == (0, None, None, None)


# -- drill-down ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "column", "grouping", "spec"),
    [
        ("orders", "status", None, QuerySpec(filters=(Equals("status", "delivered"),))),
        ("orders", "total", None, QuerySpec(filters=(Range("total", low="0.10"),))),
        ("orders", "total", None, QuerySpec(filters=(Equals("total", "5.05"),))),
        (
            "posts",
            "created_at",
            Grouping.MONTH,
            QuerySpec(filters=(Range("created_at", low="2026-01-02T00:00:00+00:00"),)),
        ),
        ("posts", "created_at", Grouping.YEAR, QuerySpec(search="o")),
        ("users", "is_active", None, QuerySpec(deleted=DeletedRows.INCLUDE)),
    ],
)
async def test_a_drill_down_shows_exactly_the_rows_counted(
    seeded: Database, entity: str, column: str, grouping: Grouping | None, spec: QuerySpec
) -> None:
    table = await insights.frequencies(seeded, entity, spec, column, grouping)

    assert table.items
    for item in table.items:
        narrowed = insights.drill_down(catalog.OURS, spec, entity, item.filter)
        assert [f.column for f in narrowed.filters].count(column) == 1
        assert await rows_shown(seeded, entity, narrowed) == item.count


@pytest.mark.parametrize(
    ("grouping", "start"),
    [
        (Grouping.DAY, date(9999, 12, 31)),
        (Grouping.MONTH, date(9999, 12, 1)),
        (Grouping.YEAR, date(9999, 1, 1)),
    ],
)
def test_the_last_day_month_and_year_there_is_have_no_end(grouping: Grouping, start: date) -> None:
    group = insights.drill_down(
        catalog.OURS, QuerySpec(), "posts", insights._drill_down("created_at", grouping, start)
    )
    (only,) = group.filters
    assert only == Range(
        "created_at",
        datetime(start.year, start.month, start.day, tzinfo=UTC),
        None,
        high_inclusive=False,
    )
