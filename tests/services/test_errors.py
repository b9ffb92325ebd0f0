"""Failures the user can act on arrive as RecordsDeskError in words; bugs stay bugs."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL

from app.config import postgresql_url, sqlite_url
from app.core import database as database_module
from app.core.database import Database
from app.query import QuerySpec
from app.repositories import REPOSITORIES
from app.services.errors import (
    ConflictError,
    DatabaseUnavailableError,
    NotFoundError,
    ValidationError,
    translate_errors,
)
from app.services.records import RecordService
from app.services.unit_of_work import unit_of_work
from tests import postgres

PASSWORD = "s3cret-Pa55"


async def count_users(url: URL) -> int:
    database = Database(url)
    try:
        return await RecordService(database).count("users", QuerySpec())
    finally:
        await database.dispose()


@pytest.mark.postgresql
@pytest.mark.usefixtures("postgres_available")
@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            postgresql_url(
                host="127.0.0.1", port=1, database="shop", username="me", password=PASSWORD
            ),
            "refused the connection",
        ),
        (
            postgresql_url(host="no-such-host.invalid", database="shop", password=PASSWORD),
            "does not resolve",
        ),
    ],
    ids=["refused", "unknown-host"],
)
async def test_unreachable_server_is_named_without_its_password(url: URL, message: str) -> None:
    with pytest.raises(DatabaseUnavailableError, match=message) as raised:
        await count_users(url)

    assert PASSWORD not in str(raised.value)


@pytest.mark.postgresql
@pytest.mark.usefixtures("postgres_available")
async def test_missing_database_and_unknown_role_are_told_apart() -> None:
    server = postgres.server_url().set(drivername="postgresql+asyncpg")

    with pytest.raises(DatabaseUnavailableError, match='database "no_such_db" does not exist'):
        await count_users(server.set(database="no_such_db"))
    with pytest.raises(DatabaseUnavailableError, match='role "no_such_role" does not exist'):
        await count_users(server.set(username="no_such_role", password=PASSWORD))


async def test_sqlite_file_in_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailableError, match="check that its folder exists"):
        await count_users(sqlite_url(tmp_path / "missing" / "records.db"))


async def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are notes, not a database\n" * 100)

    with pytest.raises(DatabaseUnavailableError, match="not a readable SQLite database"):
        await count_users(sqlite_url(path))


async def test_sqlite_file_locked_by_another_program(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "SQLITE_BUSY_TIMEOUT_MS", 50)
    other_program = sqlite3.connect(sqlite_database.url.database or "", isolation_level=None)
    other_program.execute("BEGIN EXCLUSIVE")
    database = Database(sqlite_database.url)
    try:
        with pytest.raises(DatabaseUnavailableError, match="busy: another program"):
            await RecordService(database).create(
                "users", {"email": "a@example.org", "name": "A"}, password="long enough"
            )
    finally:
        other_program.execute("ROLLBACK")
        other_program.close()
        await database.dispose()


async def test_rule_breaks_are_validation_errors_in_words(database: Database) -> None:
    """The database's own refusals, as the last line behind the service's checks (two
    windows saving at once): each in words, at its field where it has one."""
    records = RecordService(database)
    user = await raw_create(
        database, "users", {"email": "a@example.org", "name": "Ann", "hashed_password": "x"}
    )

    with pytest.raises(ConflictError, match="Another record already has this email") as twin:
        await raw_create(
            database, "users", {"email": "a@example.org", "name": "Twin", "hashed_password": "x"}
        )
    assert twin.value.field == "email"
    with pytest.raises(ValidationError, match="The name cannot be empty") as raised:
        await raw_update(database, "users", user.id, {"name": ""})
    assert raised.value.field == "name"
    with pytest.raises(ValidationError, match="refers to a record that does not exist") as raised:
        await raw_create(database, "posts", {"title": "Hello", "author_id": 999})
    # PostgreSQL names the column; SQLite says only that a foreign key failed.
    assert raised.value.field == (None if database.is_sqlite else "author_id")
    with pytest.raises(ValidationError, match="balance cannot go below zero") as raised:
        await raw_create(
            database, "accounts", {"owner_id": user.id, "name": "A", "balance": Decimal("-1")}
        )
    assert raised.value.field == "balance"
    with pytest.raises(ValidationError, match="'id' is kept by Records Desk"):
        await raw_update(database, "users", user.id, {"id": 5})
    with pytest.raises(ValidationError, match="have no column 'nickname'"):
        await records.create("users", {"nickname": "x"})
    with pytest.raises(ValidationError, match="There are no 'customers' records"):
        await records.count("customers", QuerySpec())
    with pytest.raises(NotFoundError, match="User 404 does not exist"):
        await records.get("users", 404)


async def raw_create(database: Database, entity: str, values: dict[str, Any]) -> Any:
    """Straight to the repository, past the service's own checks."""
    async with unit_of_work(database, write=True) as session:
        return await REPOSITORIES[entity](session).create(**values)


async def raw_update(
    database: Database, entity: str, record_id: int, values: dict[str, Any]
) -> Any:
    async with unit_of_work(database, write=True) as session:
        return await REPOSITORIES[entity](session).update(record_id, **values)


async def test_edit_conflicts_are_detected(database: Database) -> None:
    records = RecordService(database)
    user = await records.create(
        "users", {"email": "a@example.org", "name": "Ann"}, password="long enough"
    )
    # Someone else saves first...
    await records.update("users", user["id"], {"name": "Annie"}, expected_version=user["version"])

    # ...so our save, made from the copy we opened, is refused and changes nothing.
    with pytest.raises(ConflictError, match="Someone else changed this record"):
        await records.update(
            "users", user["id"], {"name": "Anna"}, expected_version=user["version"]
        )
    with pytest.raises(ConflictError, match="Someone else changed this record"):
        await records.delete("users", user["id"], expected_version=user["version"])
    assert (await records.get("users", user["id"]))["name"] == "Annie"


def test_our_own_bugs_are_not_disguised() -> None:
    url = sqlite_url(Path("x.db"))
    with pytest.raises(ZeroDivisionError), translate_errors(url):
        _ = 1 / 0
    with pytest.raises(KeyError), translate_errors(url):
        _ = dict[str, int]()["missing"]


def test_a_driver_message_quoting_the_password_is_blanked_out() -> None:
    url = postgresql_url(host="db.example.org", database="shop", username="me", password=PASSWORD)

    with pytest.raises(DatabaseUnavailableError) as raised, translate_errors(url):
        raise ConnectionResetError(f"reset while using postgresql://me:{PASSWORD}@db/shop")

    assert PASSWORD not in str(raised.value)
    assert str(raised.value).startswith("The connection to PostgreSQL me@db.example.org/shop")
