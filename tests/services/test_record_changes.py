"""Creating and changing records through the service a form uses: every rule said at its
field before any SQL, the database's refusals said at the field too, passwords hashed."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.core.database import Database
from app.query import After, QuerySpec
from app.repositories import REPOSITORIES
from app.services import catalog
from app.services.catalog import ColumnKind
from app.services.errors import (
    ConflictError,
    DuplicateInTrashError,
    FieldValuesError,
    RecordsDeskError,
    ValidationError,
)
from app.services.passwords import password_matches
from app.services.records import RecordService
from app.services.validation import checked_values

PASSWORD = "correct horse"


async def make_user(service: RecordService, email: str = "ada@example.org") -> dict[str, Any]:
    return await service.create("users", {"email": email, "name": "Ada"}, password=PASSWORD)


async def test_every_kind_can_be_created_and_edited(database: Database) -> None:
    service = RecordService(database)
    user = await make_user(service)
    assert user["is_active"] is True  # the column's default
    made = {
        "profiles": ({"user_id": user["id"], "bio": "Hi"}, {"bio": "Hello\nagain"}),
        "posts": ({"title": "Hello", "author_id": user["id"]}, {"content": "Body"}),
        "orders": ({"user_id": user["id"]}, {"status": "shipped"}),
        "accounts": ({"owner_id": user["id"], "name": "Main"}, {"name": "Savings"}),
    }
    for entity, (values, change) in made.items():
        record = await service.create(entity, values)
        changed = await service.update(
            entity, record["id"], change, expected_version=record["version"]
        )
        assert changed["version"] == record["version"] + 1, entity
        for name, value in change.items():
            stored = changed[name]
            expected = Decimal(value) if isinstance(stored, Decimal) else value
            assert stored == expected, (entity, name)
    order = await service.get("orders", 1)
    assert order["status"] == "shipped"
    item = await service.create(
        "order_items", {"order_id": 1, "product": "Pen", "quantity": "2", "unit_price": "1.50"}
    )
    assert (item["quantity"], item["unit_price"]) == (2, Decimal("1.50"))


async def test_a_password_is_stored_as_a_hash_that_verifies(database: Database) -> None:
    service = RecordService(database)
    user = await make_user(service)
    assert PASSWORD not in user["hashed_password"]
    assert user["hashed_password"].startswith("$argon2id$")
    assert password_matches(user["hashed_password"], PASSWORD)
    changed = await service.set_password(
        "users", user["id"], "another secret", expected_version=user["version"]
    )
    assert password_matches(changed["hashed_password"], "another secret")
    assert not password_matches(changed["hashed_password"], PASSWORD)


@pytest.mark.parametrize(
    ("entity", "values", "expected"),
    [
        ("users", {"email": "ada@example.org", "name": ""}, {"name": "Required."}),
        ("users", {"email": "ada example.org", "name": "Ada"}, {"email": "Not an email"}),
        ("users", {"email": "ada@example", "name": "Ada"}, {"email": "Not an email"}),
        ("users", {"email": "a@b.org", "name": "n" * 101}, {"name": "At most 100 characters"}),
        ("users", {"email": "a@b.org", "name": "Ada\x00"}, {"name": "NUL"}),
        ("profiles", {"user_id": 1, "avatar_url": "ftp:x"}, {"avatar_url": "Not a web address"}),
        ("posts", {"author_id": 1}, {"title": "Required."}),
        ("orders", {"user_id": 1, "status": "lost"}, {"status": "not a valid choice"}),
        ("orders", {"user_id": 1, "total": "12.30"}, {"total": "the sum of its items"}),
        ("accounts", {"owner_id": 1, "name": "M", "balance": "5"}, {"balance": "Transfer funds"}),
        (
            "order_items",
            {"order_id": 1, "product": "Pen", "quantity": 1, "unit_price": "-1"},
            {"unit_price": "Must be at least 0"},
        ),
        (
            "order_items",
            {"order_id": 1, "product": "Pen", "quantity": 1, "unit_price": "1.005"},
            {"unit_price": "more than 2 decimal places"},
        ),
        (
            "order_items",
            {"order_id": 1, "product": "Pen", "quantity": 1, "unit_price": "lots"},
            {"unit_price": "not an amount of money"},
        ),
        (
            "order_items",
            {"order_id": 1, "product": "Pen", "quantity": 0, "unit_price": "1"},
            {"quantity": "Must be at least 1"},
        ),
        (
            "order_items",
            {"order_id": 1, "product": " ", "quantity": 99999999999, "unit_price": "1"},
            {"product": "Required.", "quantity": "too large"},
        ),
        ("accounts", {"owner_id": "x", "name": "Main"}, {"owner_id": "not a valid whole number"}),
    ],
)
async def test_invalid_values_are_refused_at_their_fields(
    database: Database, entity: str, values: dict[str, Any], expected: dict[str, str]
) -> None:
    service = RecordService(database)
    await make_user(service)
    await service.create("orders", {"user_id": 1})
    with pytest.raises(FieldValuesError) as raised:
        await service.create(entity, values, password=PASSWORD if entity == "users" else None)
    assert raised.value.errors.keys() == expected.keys()
    for field, words in expected.items():
        assert words in raised.value.errors[field]
    assert await _count(database, entity) == (1 if entity in ("users", "orders") else 0)


async def test_a_user_needs_a_password_of_eight_characters(database: Database) -> None:
    service = RecordService(database)
    with pytest.raises(FieldValuesError) as raised:
        await service.create("users", {"email": "a@b.org", "name": "Ada"})
    assert raised.value.errors == {"hashed_password": "Set a password."}
    with pytest.raises(ValidationError, match="at least 8 characters"):
        await service.create("users", {"email": "a@b.org", "name": "Ada"}, password="short")
    assert await _count(database, "users") == 0


async def test_the_app_managed_and_secret_columns_cannot_be_set(database: Database) -> None:
    service = RecordService(database)
    user = await make_user(service)
    for values in ({"version": 7}, {"hashed_password": "plain"}, {"id": 99}):
        with pytest.raises(ValidationError, match=r"kept by Records Desk|Set password"):
            await service.update("users", user["id"], values)
    with pytest.raises(ValidationError, match="Transfer funds"):
        await service.create("transfers", {"from_account_id": 1, "to_account_id": 2})


async def test_a_duplicate_email_is_refused_at_the_email_field(database: Database) -> None:
    service = RecordService(database)
    await make_user(service)
    other = await make_user(service, "grace@example.org")
    with pytest.raises(ConflictError, match="User #1 already has this email") as raised:
        await make_user(service)
    assert raised.value.field == "email"
    with pytest.raises(ConflictError) as raised:
        await service.update("users", other["id"], {"email": "ada@example.org"})
    assert raised.value.field == "email"
    # A record keeps its own value.
    await service.update("users", 1, {"email": "ada@example.org", "name": "Ada L."})


async def test_an_email_held_by_a_trashed_user_offers_that_user(database: Database) -> None:
    service = RecordService(database)
    ada = await make_user(service)
    await service.delete("users", ada["id"])
    with pytest.raises(DuplicateInTrashError) as raised:
        await make_user(service)
    assert (raised.value.entity, raised.value.record_id, raised.value.field) == (
        "users",
        ada["id"],
        "email",
    )
    assert "in the trash" in str(raised.value)


async def test_a_reference_to_a_missing_or_trashed_record_is_refused(database: Database) -> None:
    service = RecordService(database)
    ada = await make_user(service)
    with pytest.raises(FieldValuesError) as raised:
        await service.create("posts", {"title": "Hi", "author_id": 999})
    assert raised.value.errors == {"author_id": "There is no User #999."}
    await service.delete("users", ada["id"])
    with pytest.raises(FieldValuesError) as raised:
        await service.create("posts", {"title": "Hi", "author_id": ada["id"]})
    assert raised.value.errors == {"author_id": f"User #{ada['id']} is in the trash."}


async def test_an_outdated_version_is_refused_and_nothing_changes(database: Database) -> None:
    service = RecordService(database)
    ada = await make_user(service)
    await service.update("users", ada["id"], {"name": "Ada L."}, expected_version=1)
    with pytest.raises(ConflictError):
        await service.update("users", ada["id"], {"name": "Lost"}, expected_version=1)
    assert (await service.get("users", ada["id"]))["name"] == "Ada L."


# Each example is one short transaction: many of them cost a few seconds on a server.
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(max_size=120),
    email=st.text(max_size=40) | st.emails(),
    bio=st.one_of(st.none(), st.text(max_size=300)),
)
async def test_arbitrary_text_is_saved_or_refused_in_words(
    database: Database, name: str, email: str, bio: str | None
) -> None:
    service = RecordService(database)
    user = await _outcome(
        service.create("users", {"email": email, "name": name}, password=PASSWORD)
    )
    if isinstance(user, Exception):
        assert isinstance(user, FieldValuesError | ConflictError), user
        assert str(user)
        return
    assert (user["email"], user["name"]) == (email.strip(), name)  # an email comes trimmed
    assert name.strip()
    assert len(name) <= 100
    assert "\x00" not in name
    profile = await _outcome(service.create("profiles", {"user_id": user["id"], "bio": bio}))
    if isinstance(profile, Exception):
        assert isinstance(profile, FieldValuesError), profile
        assert set(profile.errors) == {"bio"}
    else:
        assert profile["bio"] == bio


async def _outcome(call: Awaitable[dict[str, Any]]) -> dict[str, Any] | Exception:
    try:
        return await call
    except RecordsDeskError as refusal:  # what a user reads
        return refusal


async def _count(database: Database, entity: str) -> int:
    model = REPOSITORIES[entity].model
    async with database.get_session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# Every field a form types text into, of every kind a form creates.
TYPED_FIELDS = [
    (info.name, column.name)
    for info in catalog.entities()
    if not info.read_only_reason
    for column in info.columns
    if column.editable and column.kind is not ColumnKind.BOOLEAN
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(TYPED_FIELDS), text=st.text(max_size=300))
async def test_any_text_in_any_field_is_stored_as_checked_or_refused_at_that_field(
    database: Database, field: tuple[str, str], text: str
) -> None:
    service = RecordService(database)
    parents = await _parents(service)
    entity, name = field
    values = {**await _valid(service, entity, parents), name: text}
    outcome = await _outcome(
        service.create(entity, values, password=PASSWORD if entity == "users" else None)
    )
    if isinstance(outcome, Exception):
        if isinstance(outcome, FieldValuesError):
            assert set(outcome.errors) == {name}, outcome.errors
        else:
            assert isinstance(outcome, ConflictError), outcome  # a unique value taken
            assert outcome.field == name
        return
    stored = await service.get(entity, outcome["id"])
    column = catalog.entity(entity).column(name)
    checked = checked_values(catalog.entity(entity), values, creating=True)[name]
    assert stored[name] == checked
    if column.kind is ColumnKind.TEXT and checked is not None:
        assert column.length is None or len(checked) <= column.length
        assert "\x00" not in checked


async def _parents(service: RecordService) -> dict[str, int]:
    """A user and an order to refer to, made once per database."""
    page = await service.browse("users", QuerySpec(search="parent@example.org"), After(None, 1))
    if page.rows:
        user_id = page.rows[0][0]
        orders = await service.browse("orders", QuerySpec(), After(None, 1))
        return {"user": user_id, "order": orders.rows[0][0]}
    user = await service.create(
        "users", {"email": "parent@example.org", "name": "Parent"}, password=PASSWORD
    )
    order = await service.create("orders", {"user_id": user["id"]})
    return {"user": user["id"], "order": order["id"]}


async def _valid(service: RecordService, entity: str, parents: dict[str, int]) -> dict[str, Any]:
    user, order = parents["user"], parents["order"]
    if entity == "profiles":  # one per user: each gets a user of its own
        made = await service.create("users", _valid_user(), password=PASSWORD)
        return {"user_id": made["id"]}
    return {
        "users": _valid_user(),
        "posts": {"title": "A title", "author_id": user},
        "orders": {"user_id": user},
        "order_items": {"order_id": order, "product": "Pen", "quantity": 1, "unit_price": "1"},
        "accounts": {"owner_id": user, "name": "Main"},
    }[entity]


def _valid_user() -> dict[str, Any]:
    return {"email": f"u{uuid.uuid4().hex}@example.org", "name": "Someone"}
