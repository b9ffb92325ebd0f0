"""The change feed: every service publishes what it committed, once, after the commit."""

from __future__ import annotations

import asyncio

import pytest

from app.changes import ChangeFeed, ChangeKind, ChangeSet, note, noted
from app.core.database import Database
from app.services.errors import FieldValuesError, ValidationError
from app.services.orders import OrderItemInput, create_order_with_items
from app.services.records import RecordService
from app.services.seeding import SeedOptions, seed_demo_data
from app.services.transfers import transfer_funds
from tests.services.test_record_changes import PASSWORD


class Heard:
    """What a database's feed published, in order."""

    def __init__(self, database: Database) -> None:
        self.sets: list[ChangeSet] = []
        database.changes.subscribe(self.sets.append)

    def kinds(self) -> list[set[tuple[str, ChangeKind]]]:
        return [{(c.entity, c.kind) for c in changes.changes} for changes in self.sets]


async def test_every_write_publishes_once_after_its_commit(database: Database) -> None:
    heard = Heard(database)
    records = RecordService(database)
    user = await records.create("users", {"email": "a@x.org", "name": "A"}, password=PASSWORD)
    assert heard.kinds() == [{("users", ChangeKind.ADDED)}]
    assert heard.sets[0].changes[0].ids == frozenset({user["id"]})

    await records.update("users", user["id"], {"name": "B"})
    assert heard.kinds()[-1] == {("users", ChangeKind.CHANGED)}

    one = await records.create(
        "accounts", {"owner_id": user["id"], "name": "One", "opening_balance": "10.00"}
    )
    two = await records.create("accounts", {"owner_id": user["id"], "name": "Two"})
    await transfer_funds(database, one["id"], two["id"], "2.50")
    assert heard.kinds()[-1] == {("accounts", ChangeKind.CHANGED), ("transfers", ChangeKind.ADDED)}
    changed = heard.sets[-1].changed_ids("accounts")
    assert changed == frozenset({one["id"], two["id"]})

    created = await create_order_with_items(
        database, user["id"], [OrderItemInput("Pen", 2, "1.50"), OrderItemInput("Ink", 1, "3")]
    )
    assert heard.kinds()[-1] == {
        ("orders", ChangeKind.ADDED),
        ("order_items", ChangeKind.ADDED),
    }

    before = len(heard.sets)
    counts = await records.trash("orders", {created.order_id: None}, with_related=True)
    assert counts == {"orders": 1, "order_items": 2}
    assert len(heard.sets) == before + 1
    removed = {c.entity: c.count for c in heard.sets[-1].changes if c.kind is ChangeKind.REMOVED}
    assert removed == counts
    await records.restore_many("orders", {created.order_id: None})
    assert len(heard.sets) == before + 2
    assert heard.sets[-1].moved("orders")
    assert any(created.order_id in (c.ids or ()) for c in heard.sets[-1].changes)

    before = len(heard.sets)
    await seed_demo_data(database, SeedOptions(users=3, batch_users=2))
    assert len(heard.sets) == before + 2  # one per committed batch
    assert all(changes.moved("users") for changes in heard.sets[before:])


async def test_a_refused_or_rolled_back_write_publishes_nothing(database: Database) -> None:
    heard = Heard(database)
    records = RecordService(database)
    with pytest.raises(FieldValuesError):
        await records.create("users", {"email": "not an address", "name": "A"}, password=PASSWORD)
    user = await records.create("users", {"email": "a@x.org", "name": "A"}, password=PASSWORD)
    account = await records.create("accounts", {"owner_id": user["id"], "name": "One"})
    other = await records.create("accounts", {"owner_id": user["id"], "name": "Two"})
    published = len(heard.sets)
    with pytest.raises(ValidationError, match="not enough"):
        await transfer_funds(database, account["id"], other["id"], "1.00")
    assert len(heard.sets) == published


async def test_a_failing_listener_is_reported_and_the_others_still_hear() -> None:
    feed = ChangeFeed()
    heard: list[ChangeSet] = []
    reported: list[BaseException] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context["exception"]))

    def broken(_changes: ChangeSet) -> None:
        raise RuntimeError("a reader's bug")

    feed.subscribe(broken)
    stop = feed.subscribe(heard.append)
    changes = ChangeSet(())
    feed.publish(changes)
    assert heard == [changes]
    assert [str(error) for error in reported] == ["a reader's bug"]
    stop()
    feed.publish(changes)
    assert heard == [changes]
    loop.set_exception_handler(None)


def test_changes_noted_twice_in_one_commit_merge_per_kind() -> None:
    class Session:
        info: dict[str, object] = {}

    session = Session()
    note(session, "orders", ChangeKind.CHANGED, [1])
    note(session, "orders", ChangeKind.CHANGED, [2, 1])
    note(session, "order_items", ChangeKind.ADDED, count=3)
    note(session, "order_items", ChangeKind.ADDED, [9])
    note(session, "posts", ChangeKind.REMOVED, [])  # nothing: not published
    merged = noted(session)
    assert merged is not None
    assert merged.changed_ids("orders") == frozenset({1, 2})
    (items,) = [c for c in merged.changes if c.entity == "order_items"]
    assert (items.count, items.ids) == (4, None)
    assert merged.entities == {"orders", "order_items"}
    assert noted(session) is None  # taken once
