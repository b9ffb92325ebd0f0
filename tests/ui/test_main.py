"""Starting the GUI: the default local database is created and upgraded, the window opens;
a database that cannot be opened is explained in a message box, not a traceback."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from app.config import Settings, SettingsSource, load_settings
from app.core.database import Database
from app.services import migrations
from ui.main import run_session
from ui.main_window import MainWindow


def test_first_start_creates_the_local_database_and_opens_the_window(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    settings = load_settings()
    seen: list[MainWindow] = []

    def on_opened(window: MainWindow) -> None:
        seen.append(window)
        assert window.isVisible()
        window.close()

    code = qt_loop.run_until_complete(run_session(settings, on_opened=on_opened))

    assert code == 0
    (window,) = seen
    assert window.windowTitle() == f"Records Desk — SQLite file {settings.sqlite_path}"
    assert window.database_label.text() == f"Connected to SQLite file {settings.sqlite_path}"
    table = window.entity_table
    labels = [table.model().index(row, 0).data() for row in range(table.rowCount())]
    assert labels == [
        "Users",
        "Profiles",
        "Posts",
        "Orders",
        "Order items",
        "Accounts",
        "Transfers",
    ]
    assert settings.sqlite_path is not None
    assert settings.sqlite_path.is_relative_to(tmp_path)

    async def state() -> migrations.SchemaState:
        database = Database(settings.database_url)
        try:
            return await migrations.schema_state(database)
        finally:
            await database.dispose()

    assert qt_loop.run_until_complete(state()).up_to_date


def test_unreachable_database_is_explained_in_a_message_box(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    settings = Settings(
        load_settings("postgresql://me:hunter2@127.0.0.1:1/shop").database_url,
        SettingsSource.COMMAND_LINE,
    )
    shown: list[str] = []

    def answer_message_box() -> None:
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
        if boxes and boxes[0].isVisible():
            shown.append(boxes[0].text())
            boxes[0].accept()
        else:
            qt_loop.call_soon(answer_message_box)

    qt_loop.call_soon(answer_message_box)
    code = qt_loop.run_until_complete(run_session(settings))

    assert code == 1
    assert shown == [
        "Cannot reach PostgreSQL me@127.0.0.1:1/shop: the server refused the connection. "
        "Is it running?"
    ]
