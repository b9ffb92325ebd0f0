"""Switching connection at run time: every open window moves to the new database (browse
windows run their view again there, never showing a row of the old one), record windows
close, asking first when something typed would be lost; a read-only connection lets no
window change anything and says so."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QDialog, QMessageBox
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import URL

from app.config import Settings, settings_for
from app.connections import (
    ConnectionKind,
    PasswordStorage,
    SavedConnection,
    file_connection,
    load_connections,
)
from app.core.database import Database
from app.services import migrations
from app.services.records import RecordService
from app.workspace import Desk
from tests import postgres
from tests.ui.answering import answer_dialogs
from tests.ui.conftest import wait_for, wait_until
from tests.ui.forms import type_into
from tests.ui.helpers import settled
from ui import main_window as main_window_module
from ui.dialogs.record_detail import RecordDetailDialog
from ui.dialogs.record_form import RecordFormDialog
from ui.main_window import MainWindow

PASSWORD = "correct horse"


async def add_users(database: Database, *names: str) -> list[dict[str, Any]]:
    records = RecordService(database)
    return [
        await records.create(
            "users", {"email": f"{name.lower()}@example.org", "name": name}, password=PASSWORD
        )
        for name in names
    ]


def local_settings(path: Path, **changes: Any) -> Settings:
    return settings_for(replace(file_connection(path, name=path.stem), **changes))


def server_settings(url: URL) -> Settings:
    server = postgres.server_url()
    connection = SavedConnection(
        id="pg",
        name="Shop server",
        kind=ConnectionKind.SERVER,
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        database=url.database or "",
        user=url.username or server.username or "postgres",
        password_storage=PasswordStorage.NONE,
        colour="#6a1b9a",
    )
    settings = settings_for(connection)
    if url.password:
        settings = replace(settings, database_url=settings.database_url.set(password=url.password))
    return settings


def open_main(qtbot: QtBot, settings: Settings, database: Database) -> MainWindow:
    main = MainWindow(settings.display_name, Desk.on(database), settings=settings)
    qtbot.addWidget(main)
    main.show()
    return main


def names_in(window: Any) -> list[str]:
    model = window.model
    column = model.column_index("name")
    return [model.row_values(row)[column] for row in range(model.rowCount())]


def press(button: QMessageBox.StandardButton) -> Callable[[QDialog], None]:
    def click(box: QDialog) -> None:
        assert isinstance(box, QMessageBox)
        box.button(button).click()

    return click


@pytest.mark.postgresql
def test_switching_from_a_local_file_to_postgresql_and_back_with_windows_open(
    qt_loop: asyncio.AbstractEventLoop,
    qtbot: QtBot,
    tmp_path: Path,
    migrated_sqlite_template: Path,
    new_postgres_database: Callable[[], URL],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "local shop.db"
    shutil.copyfile(migrated_sqlite_template, path)
    pg_url = new_postgres_database()
    local, server = local_settings(path), server_settings(pg_url)

    async def scenario() -> None:
        pg = Database(pg_url)
        await migrations.upgrade(pg)
        await add_users(pg, "Pia", "Pol", "Pam")
        await pg.dispose()
        database = Database(local.database_url)
        await add_users(database, "Lou")
        main = open_main(qtbot, local, database)
        await wait_for(main.counts_loaded)
        browse = main.open_browser("users")
        model = await settled(browse)
        assert names_in(browse) == ["Lou"]
        form = browse.editing.open_form(model.record_id(0))
        assert isinstance(form, RecordFormDialog)
        await wait_for(form.loaded)
        values = model.row_values(0)
        assert values is not None
        viewer = RecordDetailDialog(browse.entity, values, browse.desk.records, browse)
        viewer.show()

        # A form with nothing typed closes without a question.
        assert await main.switch_to(server) is None

        assert main.desk.workspace.database.display_name.startswith("PostgreSQL ")
        await settled(browse)
        assert sorted(names_in(browse)) == ["Pam", "Pia", "Pol"]  # never a row of the file
        assert browse.windowTitle() == "Users — Shop server — Records Desk"
        assert browse.connection_badge.text() == "Shop server"
        assert main.windowTitle() == "Records Desk — Shop server"
        assert main.database_label.text() == f"Connected to {server.display_name}"
        assert browse.record_windows() == []
        await wait_until(main.counts_loaded, lambda: main.count_text("users") == "3")
        assert load_connections().current == "pg"  # the next start opens it

        # Something typed: the switch asks; Cancel keeps the form and its text.
        model = await settled(browse)
        form = browse.editing.open_form(model.record_id(0))
        assert isinstance(form, RecordFormDialog)
        await wait_for(form.loaded)
        type_into(form, "name", "Typed, not saved")
        asked = answer_dialogs(
            monkeypatch,
            main_window_module,
            press(QMessageBox.StandardButton.Cancel),
            press(QMessageBox.StandardButton.Discard),
        )
        refused = await main.switch_to(local)
        assert [box.accessibleName() for box in asked] == ["Discard unsaved changes?"]
        assert refused == "Not switched: the record windows keep what is typed in them."
        assert form.isVisible()
        assert form.editors["name"].value() == "Typed, not saved"
        assert main.desk.workspace.database.display_name.startswith("PostgreSQL ")

        assert await main.switch_to(local) is None
        assert len(asked) == 2
        await settled(browse)
        assert names_in(browse) == ["Lou"]
        assert browse.windowTitle() == "Users — local shop — Records Desk"
        assert browse.record_windows() == []
        main.close()
        await wait_for(main.closed)

    qt_loop.run_until_complete(scenario())


def test_a_read_only_connection_lets_no_window_change_anything_and_says_so(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, tmp_path: Path, migrated_sqlite_template: Path
) -> None:
    path = tmp_path / "archive.db"
    shutil.copyfile(migrated_sqlite_template, path)
    settings = local_settings(path, read_only=True)

    async def scenario() -> None:
        writable = Database(settings.database_url)
        await add_users(writable, "Ada")
        await writable.dispose()
        database = Database(settings.database_url, read_only=True)
        main = open_main(qtbot, settings, database)
        await wait_for(main.counts_loaded)
        assert main.windowTitle() == "Records Desk — archive (read-only)"
        assert main.banner.isVisible()
        assert "read-only" in main.banner.label.text()
        assert not main.load_demo_action.isEnabled()
        browse = main.open_browser("users")
        model = await settled(browse)
        assert browse.windowTitle() == "Users — archive (read-only) — Records Desk"
        assert browse.connection_badge.text() == "archive · read-only"
        assert main.connections_action in browse.file_menu.actions()  # Ctrl+, here too
        editing = browse.editing
        for action in (
            editing.new_action,
            editing.edit_action,
            editing.trash_action,
            editing.restore_action,
            editing.transfer_action,
            editing.order_action,
            editing.undo_action,
            editing.redo_action,
        ):
            assert not action.isEnabled(), action.text()
        assert "read-only" in editing.new_action.toolTip()
        # Enter opens the record to read, with Edit… off.
        browse.table.setCurrentIndex(model.index(0, 1))
        browse.open_current()
        (viewer,) = browse.record_windows()
        assert isinstance(viewer, RecordDetailDialog)
        assert not viewer.edit_button.isEnabled()
        assert editing.open_form(model.record_id(0)) is None
        viewer.reject()
        main.close()
        await wait_for(main.closed)

    qt_loop.run_until_complete(scenario())
