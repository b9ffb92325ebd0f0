"""Opening a connection from the GUI: a server behind the code is upgraded only when the
user says so (or browsed read-only meanwhile), a password asked for once per run, and a
local file behind the code upgraded with its backup named."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog, QMessageBox
from pytestqt.qtbot import QtBot
from sqlalchemy import text
from sqlalchemy.engine import URL

from app.config import Settings, settings_for, sqlite_url
from app.connections import ConnectionKind, PasswordStorage, SavedConnection, file_connection
from app.core.credentials import KEYRING_SERVICE
from app.core.database import Database
from app.services import migrations
from tests import postgres
from tests.keyrings import MemoryKeyring
from tests.ui.answering import answer_dialogs
from ui import connecting
from ui.connecting import open_connection
from ui.dialogs.connections_dialog import PasswordPrompt

FIRST_REVISION = "41f1b9b4cded"


def server(url: URL, **changes: object) -> Settings:
    connection = SavedConnection(
        id="pg",
        name="Shared shop",
        kind=ConnectionKind.SERVER,
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        database=url.database or "",
        user=url.username or postgres.server_url().username or "postgres",
        password_storage=PasswordStorage.NONE,
    )
    return settings_for(replace(connection, **changes))  # type: ignore[arg-type]


def press(text: str) -> Callable[[QDialog], None]:
    def click(box: QDialog) -> None:
        assert isinstance(box, QMessageBox)
        (button,) = [b for b in box.buttons() if b.text().replace("&", "") == text]
        button.click()

    return click


@pytest.mark.postgresql
@pytest.mark.parametrize("choice", ["Open read-only", "Upgrade now"])
def test_a_server_behind_the_code_asks_before_it_is_upgraded(
    choice: str,
    qt_loop: asyncio.AbstractEventLoop,
    qtbot: QtBot,
    new_postgres_database: Callable[[], URL],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = new_postgres_database()
    settings = server(url)
    asked = answer_dialogs(monkeypatch, connecting, press(choice))

    async def scenario() -> tuple[bool, str | None, tuple[str, ...]]:
        older = Database(url)
        await migrations.upgrade(older, FIRST_REVISION)
        await older.dispose()
        opened = await open_connection(settings)
        assert [box.accessibleName() for box in asked] == ["Upgrade the database?"]
        assert opened.workspace is not None
        try:
            state = await migrations.schema_state(opened.workspace.database)
            return (
                opened.workspace.database.read_only,
                state.current,
                opened.workspace.database.notices,
            )
        finally:
            await opened.workspace.database.dispose()

    read_only, revision, notices = qt_loop.run_until_complete(scenario())

    if choice == "Open read-only":
        assert read_only
        assert revision == FIRST_REVISION  # nothing upgraded
        (notice,) = notices
        assert notice.startswith(f"{settings.display_name} is open read-only: its schema is behind")
    else:
        assert not read_only
        assert revision == migrations.HEAD_REVISION
        assert notices == ()


@pytest.mark.postgresql
def test_another_programs_server_database_opens_read_only_without_a_question(
    qt_loop: asyncio.AbstractEventLoop,
    qtbot: QtBot,
    new_postgres_database: Callable[[], URL],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 21: it was taken for a Records Desk database behind the code, and "Upgrade
    now" wrote our tables into it. Issue 24: it opens read-only, described from its own
    schema, and nothing is written into it. An empty database is still ours to fill."""
    url, empty_url = new_postgres_database(), new_postgres_database()
    asked = answer_dialogs(monkeypatch, connecting, press("Upgrade now"))

    async def tables(url: URL) -> list[str]:
        database = Database(url)
        try:
            async with database.engine.connect() as connection:
                found = await connection.execute(
                    text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = 'public'"
                    )
                )
                return sorted(found.scalars())
        finally:
            await database.dispose()

    async def scenario() -> None:
        shop = Database(url)
        async with shop.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE wp_posts (id integer PRIMARY KEY)"))
        await shop.dispose()
        settings = server(url)

        browsed = await open_connection(settings)

        assert asked == []  # no offer to upgrade it
        assert browsed.problem == ""
        assert browsed.workspace is not None
        assert browsed.workspace.database.read_only
        assert [info.name for info in browsed.workspace.catalog.entities()] == ["wp_posts"]
        await browsed.workspace.database.dispose()
        assert await tables(url) == ["wp_posts"]

        opened = await open_connection(server(empty_url))
        assert [box.accessibleName() for box in asked] == ["Upgrade the database?"]
        assert opened.workspace is not None
        await opened.workspace.database.dispose()
        assert "users" in await tables(empty_url)

    qt_loop.run_until_complete(scenario())


def test_a_password_is_asked_for_once_and_kept_where_the_user_says(
    qt_loop: asyncio.AbstractEventLoop,
    qtbot: QtBot,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No server at port 1: what the prompt does with the password is seen all the same.
    settings = server(
        URL.create("postgresql+asyncpg", host="127.0.0.1", port=1, database="x"),
        password_storage=PasswordStorage.KEYRING,
    )
    assert settings.password_missing
    assert settings.connection is not None

    kept: list[bool] = []

    def type_password(prompt: QDialog) -> None:
        assert isinstance(prompt, PasswordPrompt)
        kept.append(prompt.keep_box.isChecked())
        prompt.password_edit.setText("s3cret-pw")
        prompt.accept()

    answer_dialogs(monkeypatch, connecting, type_password)

    problem = qt_loop.run_until_complete(open_connection(settings)).problem

    assert kept == [True]  # offered: the keyring works here
    assert problem.startswith("Cannot reach PostgreSQL")  # no server at port 1, as meant
    assert "s3cret-pw" not in problem
    assert memory_keyring.passwords == {(KEYRING_SERVICE, "pg"): "s3cret-pw"}
    assert not settings_for(settings.connection).password_missing  # not asked again


def test_a_cancelled_password_prompt_connects_nothing(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = server(
        URL.create("postgresql+asyncpg", host="127.0.0.1", port=1, database="x"),
        password_storage=PasswordStorage.ASK,
    )

    asked = answer_dialogs(monkeypatch, connecting, lambda prompt: prompt.reject())

    opened = qt_loop.run_until_complete(open_connection(settings))

    assert [type(dialog) for dialog in asked] == [PasswordPrompt]
    assert opened.workspace is None
    assert opened.problem == (f"No password was given for {settings.display_name}: not connected.")


def test_a_local_file_behind_the_code_is_upgraded_and_its_backup_named(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "old.db"
    settings = settings_for(file_connection(path))

    async def run() -> tuple[str, ...]:
        older = Database(sqlite_url(path))
        await migrations.upgrade(older, FIRST_REVISION)
        await older.dispose()
        opened = await open_connection(settings)
        assert opened.workspace is not None
        await opened.workspace.database.dispose()
        return opened.workspace.database.notices

    (notice,) = qt_loop.run_until_complete(run())

    (backup,) = sorted(tmp_path.glob("old.backup-*.db"))
    assert notice == (
        f"{settings.display_name} was upgraded to this Records Desk's schema; its copy from "
        f"before the upgrade is {backup}."
    )
