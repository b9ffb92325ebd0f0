"""The trash: records leave the views, related ones go with them when asked (and come back
with them, and only with them), an account holding money stays, nothing is ever removed."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.database import Database
from app.query import After, DeletedRows, QuerySpec
from app.services.errors import ConflictError, ValidationError
from app.services.records import RecordService
from app.services.transfers import transfer_funds

PASSWORD = "correct horse"


async def make_family(service: RecordService, email: str = "ada@example.org") -> dict[str, Any]:
    """A user with a profile, two posts, an order with two items and an empty account."""
    user = await service.create("users", {"email": email, "name": "Ada"}, password=PASSWORD)
    uid = user["id"]
    await service.create("profiles", {"user_id": uid, "bio": "Hi"})
    for title in ("One", "Two"):
        await service.create("posts", {"title": title, "author_id": uid})
    order = await service.create("orders", {"user_id": uid})
    for product in ("Pen", "Ink"):
        await service.create(
            "order_items",
            {"order_id": order["id"], "product": product, "quantity": 1, "unit_price": "1"},
        )
    account = await service.create("accounts", {"owner_id": uid, "name": "Main"})
    return {"user": user, "order": order, "account": account}


async def live_ids(service: RecordService, entity: str) -> list[int]:
    page = await service.browse(entity, QuerySpec(), After(None, 100))
    return [row[0] for row in page.rows]


async def trashed_ids(service: RecordService, entity: str) -> list[int]:
    page = await service.browse(entity, QuerySpec(deleted=DeletedRows.ONLY), After(None, 100))
    return [row[0] for row in page.rows]


async def test_related_records_are_counted_through_every_level(database: Database) -> None:
    service = RecordService(database)
    family = await make_family(service)
    counts = await service.related_counts("users", [family["user"]["id"]])
    assert {(count.entity, count.count) for count in counts} == {
        ("profiles", 1),
        ("posts", 2),
        ("orders", 1),
        ("order_items", 2),
        ("accounts", 1),
    }


async def test_trashing_together_and_restoring_brings_back_exactly_those(
    database: Database,
) -> None:
    service = RecordService(database)
    family = await make_family(service)
    uid = family["user"]["id"]
    # A post trashed on its own before stays in the trash when the user comes back.
    (first_post, second_post) = await live_ids(service, "posts")
    await service.delete("posts", first_post)

    gone = await service.trash("users", {uid: family["user"]["version"]}, with_related=True)

    assert gone == {
        "users": 1,
        "profiles": 1,
        "posts": 1,
        "orders": 1,
        "order_items": 2,
        "accounts": 1,
    }
    for entity in gone:
        assert await live_ids(service, entity) == [], entity
    assert sorted(await trashed_ids(service, "posts")) == [first_post, second_post]

    back = await service.restore_many("users", {uid: None})

    assert back == gone
    assert await live_ids(service, "posts") == [second_post]
    assert await trashed_ids(service, "posts") == [first_post]
    assert len(await live_ids(service, "order_items")) == 2


async def test_trashing_alone_keeps_the_related_records(database: Database) -> None:
    service = RecordService(database)
    family = await make_family(service)
    await service.trash("users", {family["user"]["id"]: None}, with_related=False)
    assert await live_ids(service, "users") == []
    assert len(await live_ids(service, "posts")) == 2


async def test_many_records_at_once_all_or_none(database: Database) -> None:
    service = RecordService(database)
    await make_family(service)
    await make_family(service, "grace@example.org")
    posts = await live_ids(service, "posts")
    assert await service.trash("posts", dict.fromkeys(posts), with_related=False) == {"posts": 4}
    await service.restore_many("posts", dict.fromkeys(posts[:2]))
    # One already live: the whole request is refused and nothing changes.
    with pytest.raises(ValidationError, match="not in the trash"):
        await service.restore_many("posts", dict.fromkeys(posts))
    assert sorted(await live_ids(service, "posts")) == posts[:2]


async def test_an_account_holding_money_cannot_be_trashed(database: Database) -> None:
    service = RecordService(database)
    family = await make_family(service)
    rich = await service.create(
        "accounts", {"owner_id": family["user"]["id"], "name": "Rich", "opening_balance": "10.00"}
    )
    with pytest.raises(ValidationError, match=rf"Account #{rich['id']} holds 10.00"):
        await service.trash("accounts", {rich["id"]: None}, with_related=False)
    with pytest.raises(ValidationError, match="move the money"):
        await service.trash("users", {family["user"]["id"]: None}, with_related=True)
    assert len(await live_ids(service, "accounts")) == 2
    assert await live_ids(service, "users") == [family["user"]["id"]]
    # Emptied, it can go; its transfers stay as the other account's history.
    await transfer_funds(database, rich["id"], family["account"]["id"], "10.00")
    fresh = await service.get("accounts", rich["id"])
    await service.trash("accounts", {rich["id"]: fresh["version"]}, with_related=False)
    assert len(await live_ids(service, "transfers")) == 1


async def test_a_record_changed_since_it_was_seen_is_not_trashed(database: Database) -> None:
    service = RecordService(database)
    family = await make_family(service)
    uid = family["user"]["id"]
    await service.update("users", uid, {"name": "Ada L."})
    with pytest.raises(ConflictError, match="Someone else changed this record"):
        await service.trash("users", {uid: family["user"]["version"]}, with_related=True)
    assert await live_ids(service, "users") == [uid]
    assert len(await live_ids(service, "posts")) == 2
