"""Demo data: the right amounts, every rule of the schema kept, readable through the app."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text

from app.core.database import Database
from app.models import Base, Order, OrderStatus, User
from app.query import DeletedRows, OffsetPage, QuerySpec
from app.repositories import OrderRepository, UserRepository
from app.services import ledger
from app.services.errors import ConflictError, ValidationError
from app.services.records import RecordService
from app.services.seeding import (
    HISTORY,
    MAX_ROWS_PER_BATCH,
    OPTION_BOUNDS,
    TABLE_COLUMNS,
    SeedOptions,
    _Generator,
    seed_demo_data,
    validate_options,
    with_batch_that_fits,
)
from app.services.transfers import transfer_funds

NOW = datetime(2026, 1, 15, 12, 30, tzinfo=UTC)
SMALL = SeedOptions(users=300, batch_users=128, random_seed=7, now=NOW)
MONEY_COLUMNS = {"total", "unit_price", "balance", "opening_balance", "amount"}
TIME_COLUMNS = {"created_at", "updated_at", "deleted_at", "transferred_at"}
EVERYTHING = QuerySpec(deleted=DeletedRows.INCLUDE)
# SQLAlchemy's SQLite DATETIME text: naive UTC, always with microseconds.
SQLITE_DATETIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")


async def table_counts(database: Database) -> dict[str, int]:
    counts = {}
    async with database.get_session() as session:
        for table in TABLE_COLUMNS:
            result = await session.execute(
                select(func.count()).select_from(Base.metadata.tables[table])
            )
            counts[table] = int(result.scalar_one())
    return counts


async def all_records(database: Database, table: str) -> list[dict[str, Any]]:
    """Every row, deleted or not, as the app's RecordService hands them out."""
    page = await RecordService(database).browse(table, EVERYTHING, OffsetPage(0, 1_000_000))
    return [dict(zip(page.columns, row, strict=True)) for row in page.rows]


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    tables = {}
    async with database.get_session() as session:
        for name in TABLE_COLUMNS:
            table = Base.metadata.tables[name]
            result = await session.execute(select(table).order_by(table.c.id))
            tables[name] = [tuple(row) for row in result]
    return tables


async def wipe(database: Database) -> None:
    async with database.get_session(write=True) as session:
        for name in reversed(TABLE_COLUMNS):
            await session.execute(Base.metadata.tables[name].delete())


def test_the_generated_columns_are_exactly_those_of_each_table() -> None:
    assert set(TABLE_COLUMNS) == set(Base.metadata.tables)
    for name, columns in TABLE_COLUMNS.items():
        assert sorted(columns) == sorted(Base.metadata.tables[name].c.keys()), name


async def test_reported_counts_match_the_tables(database: Database) -> None:
    calls: list[tuple[int, int]] = []

    report = await seed_demo_data(database, SMALL, lambda done, total: calls.append((done, total)))

    assert report.counts == await table_counts(database)
    assert calls == [(128, 300), (256, 300), (300, 300)]
    assert report.seconds > 0
    counts = report.counts
    assert counts["users"] == 300
    assert 240 <= counts["profiles"] < 300
    # Averages: 2 posts, 1 order of 3 items, 1 account with 1 transfer per user.
    assert 450 <= counts["posts"] <= 750
    assert 220 <= counts["orders"] <= 380
    assert 2.5 * counts["orders"] <= counts["order_items"] <= 3.5 * counts["orders"]
    assert 220 <= counts["accounts"] <= 380
    assert 0.7 * counts["accounts"] <= counts["transfers"] <= 1.3 * counts["accounts"]


async def test_no_users_makes_nothing(database: Database) -> None:
    calls: list[tuple[int, int]] = []

    report = await seed_demo_data(database, SeedOptions(users=0), lambda *c: calls.append(c))

    assert report.counts == dict.fromkeys(TABLE_COLUMNS, 0)
    assert await table_counts(database) == report.counts
    assert calls == []


async def test_rows_read_back_through_the_app_with_exact_types(database: Database) -> None:
    await seed_demo_data(database, replace(SMALL, deleted_fraction=0.1))
    oldest = NOW - HISTORY

    for table, columns in TABLE_COLUMNS.items():
        records = await all_records(database, table)
        assert records, table
        deleted = [record for record in records if record["deleted_at"] is not None]
        if table == "transfers":
            assert deleted == []  # the ledger's history never goes to the trash
        else:
            assert 0 < len(deleted) < len(records) / 2, table
        for record in records:
            for column in MONEY_COLUMNS & set(columns):
                amount = record[column]
                assert isinstance(amount, Decimal), (table, column)
                assert amount.as_tuple().exponent == -2, (table, column, amount)
                assert amount >= 0
            for column in TIME_COLUMNS & set(columns):
                moment = record[column]
                if moment is None:
                    continue
                assert moment.tzinfo is not None
                assert moment.utcoffset() == timedelta(0)
                assert oldest <= moment <= NOW, (table, column, moment)
            if record["deleted_at"] is None:
                assert record["version"] == 1
                assert record["updated_at"] == record["created_at"]
            else:
                # As the app leaves a row it moved to the trash.
                assert record["version"] == 2
                assert record["updated_at"] == record["deleted_at"] >= record["created_at"]

    # The trash shows through the app's own filter.
    service = RecordService(database)
    in_trash = await service.count("orders", QuerySpec(deleted=DeletedRows.ONLY))
    live = await service.count("orders", QuerySpec())
    assert in_trash > 0
    assert in_trash + live == len(await all_records(database, "orders"))

    user = await service.get("users", 1)
    assert user["email"].endswith("1@example.org")
    assert user["created_at"].tzinfo is not None


async def test_rows_keep_the_rules_between_parents_and_children(database: Database) -> None:
    await seed_demo_data(database, SMALL)
    users = {record["id"]: record for record in await all_records(database, "users")}
    orders = {record["id"]: record for record in await all_records(database, "orders")}
    accounts = {record["id"]: record for record in await all_records(database, "accounts")}

    emails = [user["email"] for user in users.values()]
    assert len(set(emails)) == len(emails)
    for user in users.values():
        assert re.fullmatch(rf"[a-z]+\.[a-z]+{user['id']}@example\.org", user["email"])
        assert " " in user["name"].strip()
        assert isinstance(user["is_active"], bool)

    profiles = await all_records(database, "profiles")
    assert len({profile["user_id"] for profile in profiles}) == len(profiles)
    assert any(profile["bio"] is None for profile in profiles)
    assert any(profile["bio"] for profile in profiles)
    assert any(profile["avatar_url"] is None for profile in profiles)
    assert any(profile["avatar_url"] for profile in profiles)

    for post in await all_records(database, "posts"):
        assert post["title"].strip()
        assert post["created_at"] >= users[post["author_id"]]["created_at"]

    sums: dict[int, Decimal] = dict.fromkeys(orders, Decimal(0))
    for item in await all_records(database, "order_items"):
        assert item["product"].strip()
        assert item["quantity"] > 0
        assert item["unit_price"] >= 0
        order = orders[item["order_id"]]
        assert item["created_at"] == order["created_at"]
        # An item in the trash on its own is not in its order's total (app.services.ledger).
        if item["deleted_at"] in (None, order["deleted_at"]):
            sums[item["order_id"]] += item["quantity"] * item["unit_price"]
    for order_id, order in orders.items():
        assert order["total"] == sums[order_id] >= 0
        assert order["status"] in set(OrderStatus)
        assert order["created_at"] >= users[order["user_id"]]["created_at"]
    assert {order["status"] for order in orders.values()} >= {
        OrderStatus.DELIVERED,
        OrderStatus.CANCELLED,
    }

    for account in accounts.values():
        assert account["name"].strip()
        assert account["balance"] >= 0
        assert account["created_at"] >= users[account["owner_id"]]["created_at"]
    for transfer in await all_records(database, "transfers"):
        source = accounts[transfer["from_account_id"]]
        target = accounts[transfer["to_account_id"]]
        assert source["id"] != target["id"]
        assert transfer["amount"] > 0
        assert transfer["transferred_at"] == transfer["created_at"]
        assert transfer["transferred_at"] >= max(source["created_at"], target["created_at"])


async def test_seeded_totals_and_balances_keep_the_ledger(database: Database) -> None:
    await seed_demo_data(database, SMALL)

    async with database.get_session() as session:
        repository = OrderRepository(session)
        # Totals are their items' sums, balances their opening balances and transfers.
        assert await ledger.problems(session) == []
        orders = await repository.find_all(limit=1_000)
        assert orders
        assert all(order.total.as_tuple().exponent == -2 for order in orders)


async def test_sqlite_stores_what_sqlalchemy_stores(sqlite_database: Database) -> None:
    database = sqlite_database
    await seed_demo_data(database, SeedOptions(users=20, now=NOW))
    created = await RecordService(database).create(
        "users", {"email": "orm@example.org", "name": "Through the ORM"}, password="long enough"
    )

    async with database.get_session() as session:
        rows = (
            await session.execute(
                text("SELECT id, created_at, updated_at, typeof(is_active) FROM users")
            )
        ).all()
        money = (
            await session.execute(
                text("SELECT typeof(total) FROM orders UNION SELECT typeof(balance) FROM accounts")
            )
        ).scalars()
        assert set(money) == {"integer"}
    assert len(rows) == 21
    for row_id, created_at, updated_at, is_active_type in rows:
        assert SQLITE_DATETIME.match(created_at), (row_id, created_at)
        assert SQLITE_DATETIME.match(updated_at), (row_id, updated_at)
        assert is_active_type == "integer"
    assert created["id"] == 21


async def test_seeding_twice_appends_and_the_app_can_add_rows_after(database: Database) -> None:
    first = await seed_demo_data(database, replace(SMALL, users=150))
    second = await seed_demo_data(database, replace(SMALL, users=150))

    counts = await table_counts(database)
    assert counts == {table: first.counts[table] + second.counts[table] for table in counts}
    async with database.get_session() as session:
        distinct = await session.execute(
            select(func.count(func.distinct(User.email)), func.max(User.id))
        )
        assert tuple(distinct.one()) == (300, 300)
        # The second run's users are found by their own emails.
        last = await UserRepository(session).find_by_id(300, include_deleted=True)
        assert last is not None
        assert last.email.endswith("300@example.org")

    # Each table's id sequence (PostgreSQL) moved past the seeded ids.
    service = RecordService(database)
    user = await service.create(
        "users", {"email": "new@example.org", "name": "New Person"}, password="long enough"
    )
    assert user["id"] == 301
    made = {
        "profiles": await service.create("profiles", {"user_id": user["id"], "bio": "Hi"}),
        "posts": await service.create("posts", {"title": "Hello", "author_id": user["id"]}),
        "orders": await service.create("orders", {"user_id": user["id"]}),
        "accounts": await service.create(
            "accounts", {"owner_id": user["id"], "name": "Spare", "opening_balance": "5.00"}
        ),
    }
    made["order_items"] = await service.create(
        "order_items",
        {"order_id": made["orders"]["id"], "product": "Pen", "quantity": 1, "unit_price": "1.50"},
    )
    receipt = await transfer_funds(database, made["accounts"]["id"], 1, "2.00")
    made["transfers"] = {"id": receipt.transfer_id}
    for table, record in made.items():
        assert record["id"] == counts[table] + 1, table


async def test_the_same_seed_makes_the_same_rows(database: Database) -> None:
    options = replace(SMALL, users=120, batch_users=50, random_seed=42)
    await seed_demo_data(database, options)
    first = await snapshot(database)
    await wipe(database)
    await seed_demo_data(database, options)
    again = await snapshot(database)
    await wipe(database)
    await seed_demo_data(database, replace(options, random_seed=43))
    other = await snapshot(database)

    assert again == first
    assert other != first
    assert len(first["users"]) == 120


def test_both_engines_get_the_same_data() -> None:
    first_ids = dict.fromkeys(TABLE_COLUMNS, 1)
    on_sqlite = _Generator(SMALL, NOW, sqlite=True).batch(first_ids, 100)
    on_postgres = _Generator(SMALL, NOW, sqlite=False).batch(first_ids, 100)

    def same(column: str, sqlite_value: Any, postgres_value: Any) -> bool:
        if sqlite_value is None or postgres_value is None:
            return sqlite_value is postgres_value
        if column in TIME_COLUMNS:
            moment = datetime.fromisoformat(sqlite_value).replace(tzinfo=UTC)
            return bool(moment == postgres_value and postgres_value.tzinfo is not None)
        if column in MONEY_COLUMNS:
            return bool(Decimal(sqlite_value).scaleb(-2) == postgres_value)
        if column == "is_active":
            return sqlite_value in (0, 1) and bool(sqlite_value) is postgres_value
        return bool(sqlite_value == postgres_value)

    for table, columns in TABLE_COLUMNS.items():
        assert len(on_sqlite[table]) == len(on_postgres[table])
        for sqlite_row, postgres_row in zip(on_sqlite[table], on_postgres[table], strict=True):
            for column, left, right in zip(columns, sqlite_row, postgres_row, strict=True):
                assert same(column, left, right), (table, column, left, right)


async def test_an_email_already_taken_is_a_conflict(database: Database) -> None:
    options = replace(SMALL, users=5, batch_users=1)
    # The email the second seeded user will get, when seeding starts after user 1.
    generator = _Generator(options, NOW, sqlite=database.is_sqlite)
    generator.batch(dict.fromkeys(TABLE_COLUMNS, 2), 1)
    taken = generator.batch(dict.fromkeys(TABLE_COLUMNS, 3), 1)["users"][0][1]
    await RecordService(database).create(
        "users", {"email": taken, "name": "Got There First"}, password="long enough"
    )

    with pytest.raises(ConflictError, match="already has this email"):
        await seed_demo_data(database, options)

    # The first batch was committed; the failed one left nothing behind.
    assert (await table_counts(database))["users"] == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"users": -1}, "users must be a whole number"),
        ({"users": 2.5}, "users must be a whole number"),
        ({"users": True}, "users must be a whole number"),
        ({"users": 1_000_000_000}, "users must be a whole number"),
        ({"posts_per_user": -0.5}, "posts_per_user must be a number from 0"),
        ({"posts_per_user": math.nan}, "posts_per_user"),
        ({"orders_per_user": math.inf}, "orders_per_user"),
        ({"orders_per_user": "1"}, "orders_per_user"),
        ({"items_per_order": 0.5}, "items_per_order must be a number from 1 to 100"),
        ({"accounts_per_user": 1e6}, "accounts_per_user"),
        ({"transfers_per_account": -1}, "transfers_per_account"),
        ({"deleted_fraction": 1.5}, "deleted_fraction must be a number from 0 to 1"),
        ({"deleted_fraction": -0.1}, "deleted_fraction"),
        ({"batch_users": 0}, "batch_users"),
        ({"random_seed": "abc"}, "random seed must be a whole number"),
        ({"now": datetime(2026, 1, 1)}, "timezone-aware"),  # naive
        ({"users": 9_000_000, "posts_per_user": 500}, "more than a table can number"),
        ({"batch_users": 1_000_000, "posts_per_user": 100}, "lower batch_users"),
    ],
)
def test_bad_options_are_refused_in_words(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_options(replace(SeedOptions(), **changes))


async def test_bad_options_touch_nothing(database: Database) -> None:
    with pytest.raises(ValidationError):
        await seed_demo_data(database, SeedOptions(users=-5))
    assert await table_counts(database) == dict.fromkeys(TABLE_COLUMNS, 0)


def test_the_defaults_are_valid() -> None:
    validate_options(SeedOptions())
    validate_options(SeedOptions(users=1_000_000))


@pytest.mark.parametrize("name", sorted(OPTION_BOUNDS))
def test_each_option_accepts_exactly_its_bounds(name: str) -> None:
    bounds = OPTION_BOUNDS[name]
    step = 1 if bounds.whole else 0.5
    for accepted in (bounds.low, bounds.high):
        changes: dict[str, Any] = {name: int(accepted) if bounds.whole else accepted}
        validate_options(with_batch_that_fits(replace(SeedOptions(users=1), **changes)))
    for refused in (bounds.low - step, bounds.high + step):
        changes = {name: int(refused) if bounds.whole else refused}
        with pytest.raises(ValidationError, match=f"{name} must be {bounds.describe()}"):
            validate_options(replace(SeedOptions(), **changes))


def test_the_batch_is_lowered_to_fit_in_memory_only_when_needed() -> None:
    assert with_batch_that_fits(SeedOptions()) == SeedOptions()

    heavy = replace(SeedOptions(), posts_per_user=1_000, items_per_order=100)
    fitted = with_batch_that_fits(heavy)

    assert 1 <= fitted.batch_users < heavy.batch_users
    assert replace(fitted, batch_users=heavy.batch_users) == heavy
    validate_options(fitted)
    with pytest.raises(ValidationError, match=f"under {MAX_ROWS_PER_BATCH:,} rows"):
        validate_options(replace(fitted, batch_users=fitted.batch_users * 2))


async def test_cancelled_seeding_keeps_whole_batches_only(database: Database) -> None:
    """Load demo data's Cancel: the batch being written is rolled back, those before stay."""
    import asyncio

    options = SeedOptions(users=300, batch_users=100, deleted_fraction=0)
    task: asyncio.Task[Any] | None = None

    def progress(done: int, _total: int) -> None:
        assert task is not None
        if done == 100:
            task.cancel()  # lands inside the second batch's transaction

    task = asyncio.ensure_future(seed_demo_data(database, options, progress))
    with pytest.raises(asyncio.CancelledError):
        await task

    async with database.get_session() as session:
        users = (await session.execute(select(func.count()).select_from(User))).scalar_one()
        orphans = (
            await session.execute(
                select(func.count()).select_from(Order).where(Order.user_id > 100)
            )
        ).scalar_one()
    assert (users, orphans) == (100, 0)
