"""Schema rules every model keeps: indexed foreign keys, exact money, aware times, and the
bookkeeping columns of soft delete and optimistic locking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Numeric, func, select

from app.core.database import Database
from app.models import Account, Base, User
from app.models.types import InvalidValueError, Money, UTCDateTime, to_money

TABLES = Base.metadata.sorted_tables


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.name)
def test_every_foreign_key_is_indexed(table: object) -> None:
    indexed = {tuple(index.columns.keys()) for index in table.indexes}  # type: ignore[attr-defined]
    indexed |= {
        tuple(constraint.columns.keys())
        for constraint in table.constraints  # type: ignore[attr-defined]
        if constraint.__class__.__name__ == "UniqueConstraint"
    }
    for foreign_key in table.foreign_key_constraints:  # type: ignore[attr-defined]
        assert tuple(foreign_key.columns.keys()) in indexed, foreign_key


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.name)
def test_every_table_has_the_bookkeeping_columns(table: object) -> None:
    columns = table.columns  # type: ignore[attr-defined]
    for name in ("id", "created_at", "updated_at", "deleted_at", "version"):
        assert name in columns
    assert columns.keys()[0] == "id"
    assert isinstance(columns["created_at"].type, UTCDateTime)
    assert columns["deleted_at"].nullable


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.name)
def test_money_is_never_a_float(table: object) -> None:
    for column in table.columns:  # type: ignore[attr-defined]
        if isinstance(column.type, Numeric):
            pytest.fail(f"{column} is a bare Numeric; money columns use Money")
        if isinstance(column.type, Money):
            assert column.type.python_type is Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12.5", Decimal("12.50")), (7, Decimal("7.00")), (Decimal("0.10"), Decimal("0.10"))],
)
def test_money_accepts_exact_values(value: object, expected: Decimal) -> None:
    assert to_money(value) == expected


@pytest.mark.parametrize(
    "value", [0.1, True, "1.001", "abc", "NaN", "Infinity", "1e20", Decimal("1E+12")]
)
def test_money_refuses_inexact_or_absurd_values(value: object) -> None:
    with pytest.raises(InvalidValueError):
        to_money(value)


async def test_money_round_trips_and_sums_exactly(database: Database) -> None:
    amounts = [Decimal("0.10")] * 10 + [Decimal("999999999.99"), Decimal("0.01")]
    async with database.get_session(write=True) as session:
        owner = User(email="o@example.org", name="Owner", hashed_password="x")
        session.add(owner)
        await session.flush()
        session.add_all(
            Account(owner_id=owner.id, name=f"A{i}", balance=amount)
            for i, amount in enumerate(amounts)
        )

    async with database.get_session() as session:
        stored = (await session.execute(select(Account.balance).order_by(Account.id))).scalars()
        total = await session.scalar(select(func.sum(Account.balance)))
        richer = await session.scalar(select(func.count()).where(Account.balance > Decimal("0.09")))

    assert list(stored) == amounts
    assert total == Decimal("1000000001.00")
    assert richer == 11


async def test_times_come_back_aware_in_utc(database: Database) -> None:
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    async with database.get_session(write=True) as session:
        user = User(email="t@example.org", name="Time", hashed_password="x", deleted_at=moment)
        session.add(user)

    async with database.get_session() as session:
        loaded = await session.scalar(select(User))

    assert loaded is not None
    assert loaded.deleted_at == moment
    assert loaded.deleted_at.tzinfo is UTC
    assert loaded.created_at.tzinfo is UTC
    assert abs(loaded.created_at - datetime.now(UTC)) < timedelta(minutes=5)


async def test_naive_times_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with database.get_session(write=True) as session:
            session.add(
                User(
                    email="n@example.org",
                    name="N",
                    hashed_password="x",
                    deleted_at=datetime(2026, 1, 1),
                )
            )
