"""Money is never made or lost, an order's total follows its items, and an intent commits
once however often it arrives — held by the services, whoever calls them."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event

from app.core.database import Database
from app.query import QuerySpec
from app.services import ledger
from app.services.errors import (
    FieldValuesError,
    InTrashError,
    NotFoundError,
    ReplayError,
    ValidationError,
)
from app.services.intents import new_token
from app.services.orders import OrderItemInput, create_order_with_items
from app.services.records import RecordService
from app.services.transfers import transfer_funds
from tests.services.test_record_changes import PASSWORD


async def problems(database: Database) -> list[str]:
    async with database.get_session() as session:
        return await ledger.problems(session)


async def owner(records: RecordService, email: str = "ada@example.org") -> dict[str, Any]:
    return await records.create("users", {"email": email, "name": "Ada"}, password=PASSWORD)


async def test_a_balance_is_set_only_when_opening_and_moved_only_by_transfers(
    database: Database,
) -> None:
    records = RecordService(database)
    user = await owner(records)
    account = await records.create(
        "accounts", {"owner_id": user["id"], "name": "Main", "opening_balance": "100.00"}
    )
    assert (account["balance"], account["opening_balance"]) == (Decimal("100.00"),) * 2
    with pytest.raises(FieldValuesError) as raised:
        await records.update("accounts", account["id"], {"balance": "1000000"})
    assert raised.value.errors == {"balance": "A balance changes only with Transfer funds."}
    with pytest.raises(FieldValuesError) as raised:
        await records.update("accounts", account["id"], {"opening_balance": "1000000"})
    assert set(raised.value.errors) == {"opening_balance"}
    with pytest.raises(FieldValuesError):
        await records.create(
            "accounts", {"owner_id": user["id"], "name": "Rich", "balance": "1000000"}
        )
    other = await records.create("accounts", {"owner_id": user["id"], "name": "Other"})
    await transfer_funds(database, account["id"], other["id"], "30.00")
    assert (await records.get("accounts", account["id"]))["balance"] == Decimal("70.00")
    assert await problems(database) == []


async def test_a_transfer_stays_in_the_ledger(database: Database) -> None:
    records = RecordService(database)
    user = await owner(records)
    one = await records.create(
        "accounts", {"owner_id": user["id"], "name": "One", "opening_balance": "5"}
    )
    two = await records.create("accounts", {"owner_id": user["id"], "name": "Two"})
    receipt = await transfer_funds(database, one["id"], two["id"], "5")
    with pytest.raises(ValidationError, match="ledger's history"):
        await records.trash("transfers", {receipt.transfer_id: None}, with_related=False)
    assert await problems(database) == []


async def test_an_order_total_follows_every_change_of_its_items(database: Database) -> None:
    records = RecordService(database)
    user = await owner(records)
    created = await create_order_with_items(
        database, user["id"], [OrderItemInput("Pen", 2, "1.50"), OrderItemInput("Ink", 1, "3")]
    )

    async def total() -> Decimal:
        value: Decimal = (await records.get("orders", created.order_id))["total"]
        return value

    assert await total() == Decimal("6.00") == created.total
    pen, ink = created.item_ids
    await records.update("order_items", pen, {"quantity": 10})
    assert await total() == Decimal("18.00")
    extra = await records.create(
        "order_items",
        {"order_id": created.order_id, "product": "Pad", "quantity": 1, "unit_price": "0.99"},
    )
    assert await total() == Decimal("18.99")
    await records.trash("order_items", {ink: None}, with_related=False)
    assert await total() == Decimal("15.99")
    await records.restore_many("order_items", {ink: None})
    assert await total() == Decimal("18.99")
    # An order trashed with its items keeps its total; back, it still adds up.
    await records.trash("orders", {created.order_id: None}, with_related=True)
    assert await total() == Decimal("18.99")
    await records.restore_many("orders", {created.order_id: None})
    assert await total() == Decimal("18.99")
    with pytest.raises(FieldValuesError) as raised:
        await records.update("orders", created.order_id, {"total": "161.91"})
    assert set(raised.value.errors) == {"total"}
    assert extra["id"] not in created.item_ids
    assert await problems(database) == []


async def test_the_same_intent_commits_once_however_often_it_arrives(database: Database) -> None:
    records = RecordService(database)
    user = await owner(records)
    one = await records.create(
        "accounts", {"owner_id": user["id"], "name": "One", "opening_balance": "100"}
    )
    two = await records.create("accounts", {"owner_id": user["id"], "name": "Two"})
    token = new_token()
    # Two Save clicks delivered together: both calls are under way at once.
    outcomes = await asyncio.gather(
        transfer_funds(database, one["id"], two["id"], "10", token=token),
        transfer_funds(database, one["id"], two["id"], "10", token=token),
        return_exceptions=True,
    )
    assert sorted(type(outcome).__name__ for outcome in outcomes) == [
        "ReplayError",
        "TransferReceipt",
    ]
    with pytest.raises(ReplayError):  # and once done, never again
        await transfer_funds(database, one["id"], two["id"], "10", token=token)
    assert (await records.get("accounts", one["id"]))["balance"] == Decimal("90.00")

    order_token = new_token()
    await create_order_with_items(
        database, user["id"], [OrderItemInput("Pen", 1, "1")], token=order_token
    )
    with pytest.raises(ReplayError):
        await create_order_with_items(
            database, user["id"], [OrderItemInput("Pen", 1, "1")], token=order_token
        )
    post_token = new_token()
    await records.create("posts", {"title": "Hi", "author_id": user["id"]}, token=post_token)
    with pytest.raises(ReplayError):
        await records.create("posts", {"title": "Hi", "author_id": user["id"]}, token=post_token)
    assert [await records.count(kind, QuerySpec()) for kind in ("orders", "posts")] == [1, 1]
    # A refused call frees its token: the user fixes the field and saves again.
    retry = new_token()
    with pytest.raises(FieldValuesError):
        await records.create("posts", {"title": "", "author_id": user["id"]}, token=retry)
    await records.create("posts", {"title": "Fixed", "author_id": user["id"]}, token=retry)
    assert await problems(database) == []


async def test_an_edit_of_a_record_trashed_meanwhile_is_refused_not_hidden(
    database: Database,
) -> None:
    records = RecordService(database)
    user = await owner(records)
    post = await records.create("posts", {"title": "Hi", "author_id": user["id"]})
    await records.trash("posts", {post["id"]: None}, with_related=False)
    with pytest.raises(InTrashError, match="moved to the trash meanwhile") as raised:
        await records.update("posts", post["id"], {"title": "Edited"})
    assert (raised.value.entity, raised.value.record_id) == ("posts", post["id"])
    assert (await records.get("posts", post["id"]))["title"] == "Hi"
    with pytest.raises(NotFoundError):
        await records.update("posts", 999_999, {"title": "Nobody"})


async def test_a_record_under_a_trashed_parent_is_not_restored_alone(database: Database) -> None:
    records = RecordService(database)
    user = await owner(records)
    order = await records.create("orders", {"user_id": user["id"]})
    await records.trash("orders", {order["id"]: None}, with_related=False)
    await records.trash("users", {user["id"]: None}, with_related=True)
    with pytest.raises(ValidationError, match=rf"belongs to user #{user['id']}, which is in the"):
        await records.restore_many("orders", {order["id"]: None})
    assert (await records.get("orders", order["id"]))["deleted_at"] is not None
    await records.restore_many("users", {user["id"]: None})
    await records.restore_many("orders", {order["id"]: None})
    assert (await records.get("orders", order["id"]))["deleted_at"] is None


async def test_a_selection_is_trashed_in_the_database_restored_by_its_moment_and_trashed_again(
    database: Database,
) -> None:
    """What Ctrl+A and Delete over rows never loaded does: the view's ranges (here all of
    a search's rows) go in one statement, with their related records, and come back by
    the moment they were stamped with, and go again by the moment they came back at (the
    redo) — the order totals following every way."""
    records = RecordService(database)
    user = await owner(records)
    orders = [
        await create_order_with_items(
            database, user["id"], [OrderItemInput(f"Item {n}", 1, "2.00")] * 2
        )
        for n in range(3)
    ]
    spec = QuerySpec(search="Item 1")  # the items of the second order
    count, related = await records.selection_counts("order_items", spec, ())
    assert (count, related) == (2, [])
    heard: list[Any] = []
    database.changes.subscribe(heard.append)
    counts, moment = await records.trash_selection(
        "order_items", spec, (), with_related=False, token=new_token()
    )
    assert counts == {"order_items": 2}
    assert len(heard) == 1
    second = orders[1].order_id
    assert (await records.get("orders", second))["total"] == Decimal("0.00")
    assert await problems(database) == []
    restored, restored_at = await records.restore_trashed_at("order_items", moment)
    assert restored == {"order_items": 2}
    assert (await records.get("orders", second))["total"] == Decimal("4.00")
    assert await problems(database) == []
    # The redo of that undo: the same two items go again, and the total follows.
    again, moment = await records.trash_restored_at("order_items", restored_at, with_related=False)
    assert again == {"order_items": 2}
    assert (await records.get("orders", second))["total"] == Decimal("0.00")
    assert await problems(database) == []
    assert (await records.restore_trashed_at("order_items", moment))[0] == {"order_items": 2}

    everything, with_items = await records.selection_counts("orders", QuerySpec(), ())
    assert everything == 3
    assert [(c.entity, c.count) for c in with_items] == [("order_items", 6)]
    counts, moment = await records.trash_selection("orders", QuerySpec(), (), with_related=True)
    assert counts == {"orders": 3, "order_items": 6}
    assert await records.count("order_items", QuerySpec()) == 0
    restored, restored_at = await records.restore_trashed_at("orders", moment)
    assert restored == {"orders": 3, "order_items": 6}
    assert await problems(database) == []
    again, _ = await records.trash_restored_at("orders", restored_at, with_related=True)
    assert again == {"orders": 3, "order_items": 6}
    assert await records.count("order_items", QuerySpec()) == 0
    assert await problems(database) == []


async def test_a_cancelled_selection_trash_changes_nothing(database: Database) -> None:
    """Cancel pressed while the database is moving the rows: the statement has run, the
    transaction has not committed, and it is rolled back — nothing is in the trash."""
    records = RecordService(database)
    user = await owner(records)
    for n in range(5):
        await records.create("posts", {"title": f"Post {n}", "author_id": user["id"]})
    trashed: list[str] = []
    task = asyncio.ensure_future(
        records.trash_selection("posts", QuerySpec(), (), with_related=False)
    )

    def cancel_once_trashed(*args: Any) -> None:
        statement = str(args[2])
        if statement.startswith("UPDATE posts") and not trashed:
            trashed.append(statement)
            task.cancel()  # what Cancel in the progress window does

    event.listen(database.engine.sync_engine, "after_cursor_execute", cancel_once_trashed)
    try:
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        event.remove(database.engine.sync_engine, "after_cursor_execute", cancel_once_trashed)
    assert trashed  # the cancel came after the rows were stamped, before the commit
    assert await records.count("posts", QuerySpec()) == 5
