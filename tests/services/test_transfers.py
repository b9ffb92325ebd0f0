"""transfer_funds: atomic, refuses what would lose or invent money, safe under concurrency."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.core.database import Database
from app.models import Account, Transfer, User
from app.services.errors import NotFoundError, ValidationError
from app.services.records import RecordService
from app.services.transfers import transfer_funds


async def make_accounts(database: Database, *balances: str) -> list[int]:
    async with database.get_session(write=True) as session:
        owner = User(email="owner@example.org", name="Owner", hashed_password="x")
        session.add(owner)
        await session.flush()
        accounts = [
            Account(owner_id=owner.id, name=f"Account {index}", balance=Decimal(balance))
            for index, balance in enumerate(balances)
        ]
        session.add_all(accounts)
        await session.flush()
        return [account.id for account in accounts]


async def balances(database: Database) -> dict[int, Decimal]:
    async with database.get_session() as session:
        rows = await session.execute(select(Account.id, Account.balance).order_by(Account.id))
        return {account_id: balance for account_id, balance in rows}


async def transfer_count(database: Database) -> int:
    async with database.get_session() as session:
        return int(await session.scalar(select(func.count()).select_from(Transfer)) or 0)


async def test_moves_money_and_writes_the_ledger(database: Database) -> None:
    source, target = await make_accounts(database, "100.00", "5.50")

    receipt = await transfer_funds(database, source, target, "40.25")

    assert await balances(database) == {source: Decimal("59.75"), target: Decimal("45.75")}
    assert (receipt.from_balance, receipt.to_balance) == (Decimal("59.75"), Decimal("45.75"))
    async with database.get_session() as session:
        transfer = await session.get_one(Transfer, receipt.transfer_id)
    assert (transfer.from_account_id, transfer.to_account_id) == (source, target)
    assert transfer.amount == Decimal("40.25")
    assert transfer.transferred_at.tzinfo is not None


async def test_the_whole_balance_can_be_moved(database: Database) -> None:
    source, target = await make_accounts(database, "10.00", "0")

    await transfer_funds(database, source, target, Decimal("10.00"))

    assert await balances(database) == {source: Decimal("0.00"), target: Decimal("10.00")}


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "greater than zero"),
        ("-5", "greater than zero"),
        ("100.01", "not enough"),
        ("0.001", "decimal places"),
        ("ten", "not an amount"),
        (1.5, "never a float"),
    ],
)
async def test_refused_amounts_change_nothing(
    database: Database, amount: object, message: str
) -> None:
    source, target = await make_accounts(database, "100.00", "0")

    with pytest.raises(ValidationError, match=message):
        await transfer_funds(database, source, target, amount)  # type: ignore[arg-type]

    assert await balances(database) == {source: Decimal("100.00"), target: Decimal("0.00")}
    assert await transfer_count(database) == 0


async def test_same_account_is_refused(database: Database) -> None:
    (account,) = await make_accounts(database, "100.00")

    with pytest.raises(ValidationError, match="must be different"):
        await transfer_funds(database, account, account, "1")


async def test_missing_account_is_named(database: Database) -> None:
    (account,) = await make_accounts(database, "100.00")

    with pytest.raises(NotFoundError, match="Account 999 does not exist"):
        await transfer_funds(database, account, 999, "1")
    assert await balances(database) == {account: Decimal("100.00")}


async def test_deleted_accounts_neither_send_nor_receive(database: Database) -> None:
    source, target = await make_accounts(database, "100.00", "0")
    await RecordService(database).delete("accounts", target)

    with pytest.raises(ValidationError, match="trash"):
        await transfer_funds(database, source, target, "1")
    with pytest.raises(ValidationError, match="trash"):
        await transfer_funds(database, target, source, "1")
    assert await transfer_count(database) == 0


async def test_concurrent_transfers_keep_the_total_and_never_go_negative(
    database: Database,
) -> None:
    """Many transfers at once between a handful of accounts, in both directions: none
    deadlocks, none is lost, none overdraws, and the money in the system stays the same."""
    accounts = await make_accounts(database, "50.00", "50.00", "50.00", "50.00", "50.00")
    chooser = random.Random(7)
    pairs = [tuple(chooser.sample(accounts, 2)) for _ in range(120)]
    amounts = [Decimal(chooser.randint(1, 3000)) / 100 for _ in pairs]

    refusals: list[str] = []

    async def attempt(pair: tuple[int, ...], amount: Decimal) -> bool:
        try:
            await transfer_funds(database, pair[0], pair[1], amount)
        except ValidationError as error:
            refusals.append(str(error))
            return False
        return True

    results = await asyncio.gather(*(attempt(p, a) for p, a in zip(pairs, amounts, strict=True)))

    assert all("not enough" in refusal for refusal in refusals)
    final = await balances(database)
    assert sum(final.values()) == Decimal("250.00")
    assert all(balance >= 0 for balance in final.values())
    assert await transfer_count(database) == sum(results)
    assert sum(results) > 0
    # The ledger explains every balance: start + received - sent.
    async with database.get_session() as session:
        transfers = (await session.execute(select(Transfer))).scalars().all()
    for account in accounts:
        received = sum((t.amount for t in transfers if t.to_account_id == account), Decimal(0))
        sent = sum((t.amount for t in transfers if t.from_account_id == account), Decimal(0))
        assert final[account] == Decimal("50.00") + received - sent
