"""Opening a saved connection: read-only ones refuse every write (in the service and in the
database itself), a local file behind the code is backed up before it is upgraded, each
broken SQLite file gets its own message, and Test connection reports server and schema."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from app.config import Settings, SettingsSource, load_settings, settings_for, sqlite_url
from app.connections import (
    ConnectionKind,
    PasswordStorage,
    SavedConnection,
    SavedConnections,
    file_connection,
    save_connections,
)
from app.core import database as core_database
from app.core.database import Database
from app.services import connection as connection_service
from app.services import migrations
from app.services.connection import check_connection, open_database, sqlite_file_problem
from app.services.errors import (
    DatabaseOutdatedError,
    DatabaseUnavailableError,
    ReadOnlyError,
)
from app.services.orders import OrderItemInput, create_order_with_items
from app.services.records import RecordService
from app.services.seeding import SeedOptions, seed_demo_data
from app.services.transfers import transfer_funds
from app.services.unit_of_work import unit_of_work

FIRST_REVISION = "41f1b9b4cded"


def user_values(email: str = "ada@example.org") -> dict[str, Any]:
    return {"email": email, "name": "Ada"}


PASSWORD = "correct horse"


async def test_a_read_only_connection_refuses_every_write(database_url: URL) -> None:
    writable = Database(database_url)
    records = RecordService(writable)
    try:
        user = await records.create("users", user_values(), password=PASSWORD)
        account = await records.create(
            "accounts",
            {"owner_id": user["id"], "name": "Main", "opening_balance": Decimal("10.00")},
        )
    finally:
        await writable.dispose()
    database = Database(database_url, read_only=True)
    records = RecordService(database)
    writes = {
        "create": records.create("users", user_values("bob@example.org"), password=PASSWORD),
        "update": records.update(
            "users", user["id"], {"name": "Bob"}, expected_version=user["version"]
        ),
        "trash": records.trash("users", {user["id"]: user["version"]}, with_related=False),
        "restore": records.restore_many("users", {user["id"]: user["version"]}),
        "password": records.set_password(
            "users", user["id"], "long enough", expected_version=user["version"]
        ),
        "transfer": transfer_funds(database, account["id"], account["id"] + 1, "1.00"),
        "order": create_order_with_items(database, user["id"], [OrderItemInput("Pen", 1, "1.00")]),
        "seed": seed_demo_data(database, SeedOptions(users=2)),
    }
    try:
        for name, write in writes.items():
            with pytest.raises(ReadOnlyError, match="read-only") as refused:
                await write
            assert "Connections" in str(refused.value), name
        # Reading goes on.
        assert (await records.get("users", user["id"]))["name"] == "Ada"
        # A write that got past the service is refused by the database itself.
        with pytest.raises(ReadOnlyError, match="read-only"):
            async with unit_of_work(database) as session:
                await session.execute(text("UPDATE users SET name = 'Eve'"))
    finally:
        await database.dispose()
    check = Database(database_url)
    try:
        assert (await RecordService(check).get("users", user["id"]))["name"] == "Ada"
    finally:
        await check.dispose()


def local(path: Path, **changes: Any) -> Settings:
    return settings_for(replace(file_connection(path), **changes))


async def test_a_local_file_behind_the_code_is_backed_up_beside_itself_then_upgraded(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shop.db"
    older = Database(sqlite_url(path))
    try:
        await migrations.upgrade(older, FIRST_REVISION)
        await RecordService(older).create("users", user_values(), password=PASSWORD)
    finally:
        await older.dispose()
    said: list[str] = []

    database = open_database(local(path))
    try:
        state = await migrations.prepare_for_use(database, waiting=said.append)
    finally:
        await database.dispose()

    assert state.up_to_date
    assert state.backup is not None
    assert state.backup.parent == tmp_path
    assert state.backup.name.startswith(f"shop.backup-{FIRST_REVISION}-")
    assert said == [f"backed up to {state.backup.name}; upgrading the schema"]
    with sqlite3.connect(state.backup) as copy:
        assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (FIRST_REVISION,)
        ]
        assert copy.execute("SELECT email FROM users").fetchall() == [("ada@example.org",)]
    copy.close()


async def test_a_new_local_file_needs_no_backup(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    path.touch()
    database = open_database(local(path))
    try:
        state = await migrations.prepare_for_use(database)
    finally:
        await database.dispose()

    assert state.up_to_date
    assert state.backup is None
    assert not any("backup" in name for name in os.listdir(tmp_path))


async def test_a_read_only_connection_behind_the_code_is_browsed_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    older = Database(sqlite_url(path))
    try:
        await migrations.upgrade(older, FIRST_REVISION)
    finally:
        await older.dispose()

    database = open_database(local(path, read_only=True))
    try:
        state = await migrations.prepare_for_use(database)
    finally:
        await database.dispose()

    assert state.behind
    assert state.current == FIRST_REVISION
    assert os.listdir(tmp_path) == ["shop.db"]  # no backup, no upgrade


def test_a_saved_file_that_has_gone_says_where_to_choose_it_again(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailableError) as refused:
        open_database(local(tmp_path / "moved.db"))

    assert str(refused.value).startswith(f"{tmp_path / 'moved.db'} does not exist")
    assert "File → Connections…" in str(refused.value)
    assert not (tmp_path / "moved.db").exists()  # not made empty behind the user's back


def test_a_saved_file_that_is_not_a_database_says_so(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("shopping list", encoding="utf-8")

    with pytest.raises(DatabaseUnavailableError, match="is not a SQLite database"):
        open_database(local(notes))


async def test_a_file_that_cannot_be_written_opens_read_only_and_says_so(
    tmp_path: Path, migrated_sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "shared.db"
    shutil.copyfile(migrated_sqlite_template, path)
    # The tests run as root, whom no file mode stops: ask the question the app asks.
    monkeypatch.setattr(connection_service, "writable", lambda _path: False)

    database = open_database(local(path))
    try:
        assert database.read_only
        assert database.notices == (
            f"{path} cannot be written (its permissions, or its folder's, do not allow it): "
            "it is open read-only.",
        )
        with pytest.raises(ReadOnlyError):
            await RecordService(database).create("users", user_values(), password=PASSWORD)
    finally:
        await database.dispose()


def test_writable_follows_the_file_and_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    path.touch()

    assert connection_service.writable(path)


async def test_a_file_locked_by_another_program_says_it_is_busy(
    tmp_path: Path, migrated_sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "busy.db"
    shutil.copyfile(migrated_sqlite_template, path)
    monkeypatch.setattr(core_database, "SQLITE_BUSY_TIMEOUT_MS", 100)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=DELETE")
    other.execute("BEGIN EXCLUSIVE")  # another program in the middle of writing
    database = Database(sqlite_url(path))  # opened before the other program took its lock
    try:
        with pytest.raises(DatabaseUnavailableError) as refused:
            await migrations.prepare_for_use(database)
    finally:
        other.rollback()
        other.close()
        await database.dispose()

    assert str(refused.value) == (
        f"SQLite file {path} is busy: another program is writing to it. Try again in a moment."
    )


def test_a_saved_file_locked_by_another_program_is_refused_in_the_same_words(
    tmp_path: Path, migrated_sqlite_template: Path
) -> None:
    path = tmp_path / "busy.db"
    shutil.copyfile(migrated_sqlite_template, path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=DELETE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseUnavailableError) as refused:
            open_database(local(path))
    finally:
        other.rollback()
        other.close()

    assert str(refused.value) == (
        f"{path} is busy: another program is writing to it. Try again in a moment."
    )


async def test_a_file_on_a_network_drive_is_opened_without_wal_and_the_user_is_told(
    tmp_path: Path, migrated_sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "on-nfs.db"
    shutil.copyfile(migrated_sqlite_template, path)
    with sqlite3.connect(path) as plain:
        plain.execute("PRAGMA journal_mode=DELETE")
    plain.close()
    monkeypatch.setattr(core_database, "network_file_system", lambda _path: "nfs4")
    monkeypatch.setattr(connection_service, "network_file_system", lambda _path: "nfs4")

    database = open_database(local(path))
    try:
        await migrations.prepare_for_use(database)
        async with database.engine.connect() as connection:
            mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
    finally:
        await database.dispose()

    assert mode == "delete"
    (notice,) = database.notices
    assert notice.startswith(f"{path} is on a network drive (nfs4)")


async def test_a_file_named_from_the_home_folder_opens_wherever_it_was_typed(
    tmp_path: Path, migrated_sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 21: ``~/shop.db`` typed in Connections was refused as missing."""
    monkeypatch.setenv("HOME", str(tmp_path))
    shop = tmp_path / "shop.db"
    shutil.copyfile(migrated_sqlite_template, shop)
    connection = SavedConnection(id="shop", name="Shop", kind=ConnectionKind.FILE, path="~/shop.db")
    save_connections(SavedConnections().chosen(connection))  # as settings.json may say

    typed = [
        settings_for(connection),
        load_settings(environ={}),
        load_settings("sqlite:///~/shop.db", environ={}),
    ]
    for settings in typed:
        database = open_database(settings)
        try:
            assert database.url.database == str(shop)
            assert (await migrations.prepare_for_use(database)).up_to_date
        finally:
            await database.dispose()
        assert (await check_connection(settings)).summary.endswith(": its schema is current.")
    assert sqlite_file_problem(Path("~/shop.db")) is None

    # A user that does not exist: the path as typed, said missing in words.
    nobody = replace(connection, path="~no-such-user-here/shop.db")
    with pytest.raises(DatabaseUnavailableError) as refused:
        open_database(settings_for(nobody))
    assert str(refused.value).startswith("~no-such-user-here/shop.db does not exist")
    assert os.listdir(tmp_path).count("shop.db") == 1  # nothing made beside it


async def test_test_connection_reports_the_server_and_the_schema(database_url: URL) -> None:
    if database_url.get_backend_name() == "sqlite":
        settings = local(Path(database_url.database or ""))
    else:
        settings = Settings(database_url, SettingsSource.COMMAND_LINE)

    report = await check_connection(settings)

    engine = "SQLite" if settings.is_sqlite else "PostgreSQL"
    assert report.summary.startswith(f"Connected to {engine} ")
    assert report.summary.endswith(": its schema is current.")


@pytest.mark.postgresql
def test_test_connection_tells_another_programs_server_database_from_an_empty_one(
    new_postgres_database: Callable[[], URL],
) -> None:
    foreign, empty = new_postgres_database(), new_postgres_database()

    async def scenario() -> list[str]:
        database = Database(foreign)
        try:
            async with database.engine.begin() as connection:
                await connection.execute(text("CREATE TABLE wp_posts (id integer PRIMARY KEY)"))
        finally:
            await database.dispose()
        return [
            (await check_connection(Settings(url, SettingsSource.COMMAND_LINE))).summary
            for url in (foreign, empty)
        ]

    reports = asyncio.run(scenario())

    assert reports[0].endswith(
        ": it holds another program's tables (1): they open read-only, as they are."
    )
    assert reports[1].endswith(": it is empty: Records Desk makes its tables when it opens it.")


async def test_test_connection_reports_a_schema_behind_and_one_newer(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    older = Database(sqlite_url(path))
    try:
        await migrations.upgrade(older, FIRST_REVISION)
    finally:
        await older.dispose()

    behind = await check_connection(local(path))
    with sqlite3.connect(path) as plain:
        plain.execute("UPDATE alembic_version SET version_num = 'fromthefuture'")
    plain.close()
    newer = await check_connection(local(path))

    assert f"its schema is behind (revision {FIRST_REVISION}" in behind.summary
    assert "newer than this Records Desk (revision fromthefuture)" in newer.summary
    # Testing changed nothing.
    with sqlite3.connect(path) as plain:
        assert plain.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("fromthefuture",)
        ]
    plain.close()


async def test_test_connection_of_a_new_file_makes_nothing(tmp_path: Path) -> None:
    settings = Settings(sqlite_url(tmp_path / "new.db"), SettingsSource.DEFAULT)

    report = await check_connection(settings)

    assert report.summary == "The file does not exist yet: Records Desk makes a new database there."
    assert not (tmp_path / "new.db").exists()


@pytest.mark.postgresql
async def test_test_connection_to_a_server_that_is_not_there_fails_in_words(
    postgres_available: None,
) -> None:
    connection = SavedConnection(
        id="gone",
        name="Gone",
        kind=ConnectionKind.SERVER,
        host="127.0.0.1",
        port=1,
        database="shop",
        user="me",
        password_storage=PasswordStorage.NONE,
        connect_timeout_s=2,
    )

    with pytest.raises(DatabaseUnavailableError) as refused:
        await check_connection(settings_for(connection))

    assert str(refused.value) == (
        "Cannot reach PostgreSQL me@127.0.0.1:1/shop: the server refused the connection. "
        "Is it running?"
    )


@pytest.mark.postgresql
def test_a_server_behind_the_code_is_not_upgraded_without_asking(
    new_postgres_database: Callable[[], URL],
) -> None:
    url = new_postgres_database()

    async def scenario() -> None:
        database = Database(url)
        try:
            await migrations.upgrade(database, FIRST_REVISION)
            with pytest.raises(DatabaseOutdatedError, match="older schema"):
                await migrations.prepare_for_use(database)
            assert (await migrations.schema_state(database)).current == FIRST_REVISION
        finally:
            await database.dispose()

    asyncio.run(scenario())
