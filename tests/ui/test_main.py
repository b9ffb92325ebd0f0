"""Starting the GUI: the default local database is created and upgraded, the window opens;
a database that cannot be opened is explained in a message box, not a traceback."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QApplication, QProgressDialog, QPushButton
from pytestqt.qtbot import QtBot

from app.config import Settings, SettingsSource, load_settings
from app.core.database import Database
from app.services import migrations
from app.workspace import Desk
from tests.ui.conftest import wait_for
from ui import progress as ui_progress
from ui.main import run_session
from ui.main_window import MainWindow
from ui.tasks import spawn


def test_first_start_creates_the_local_database_and_opens_the_window(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    settings = load_settings()
    seen: list[MainWindow] = []

    collecting: list[bool] = []

    def on_opened(window: MainWindow) -> None:
        seen.append(window)
        collecting.append(gc.isenabled())
        assert window.isVisible()
        window.close()

    code = qt_loop.run_until_complete(run_session(settings, on_opened=on_opened))

    assert code == 0
    # What startup made is out of the collector's way (no 50+ ms full collections); while
    # the window was up only the GUI thread collected (ui/collector.py), and afterwards
    # Python does again.
    assert gc.get_freeze_count() > 0
    assert collecting == [False]
    assert gc.isenabled()
    gc.unfreeze()
    (window,) = seen
    assert window.windowTitle() == "Records Desk — Local database"
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


def test_an_unreachable_database_at_start_opens_the_window_with_a_banner_and_connections(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    settings = Settings(
        load_settings("postgresql://me:hunter2@127.0.0.1:1/shop").database_url,
        SettingsSource.COMMAND_LINE,
    )
    seen: list[tuple[str, str, bool, bool, bool]] = []
    windows: list[MainWindow] = []

    def on_opened(window: MainWindow) -> None:
        windows.append(window)  # kept until the test ends, as a session keeps its window
        dialog = window.connections_dialog
        seen.append(
            (
                window.banner.label.text(),
                window.database_label.text(),
                window.banner.isVisible(),
                dialog is not None and dialog.isVisible(),
                window.open_action.isEnabled(),
            )
        )
        window.close()

    code = qt_loop.run_until_complete(run_session(settings, on_opened=on_opened))

    assert code == 0  # the run was the user's to end, not the outage's
    assert seen == [
        (
            "Cannot reach PostgreSQL me@127.0.0.1:1/shop: the server refused the connection. "
            "Is it running?",
            "Not connected: PostgreSQL me@127.0.0.1:1/shop",
            True,
            True,
            False,
        )
    ]


def test_slow_opening_shows_progress_that_can_cancel(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ui_progress, "PROGRESS_DELAY_S", 0)
    never = asyncio.Event()
    stopped: list[bool] = []

    progress = ui_progress.Progress("Opening the shop…")

    async def long_upgrade() -> None:
        progress.say("waiting for another migration of the shop to finish")
        try:
            await never.wait()
        except asyncio.CancelledError:
            stopped.append(True)
            raise

    shown: list[str] = []

    class CancellingProgress(QProgressDialog):
        """The user presses Cancel as soon as the progress window appears."""

        def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
            super().showEvent(event)
            shown.append(self.labelText())
            button = self.findChild(QPushButton)
            assert button is not None
            assert button.text() == "Cancel"
            QTimer.singleShot(0, button.click)

    monkeypatch.setattr(ui_progress, "QProgressDialog", CancellingProgress)

    result = qt_loop.run_until_complete(ui_progress.with_progress(long_upgrade(), progress))

    assert result is False
    assert shown == ["Waiting for another migration of the shop to finish…"]
    assert stopped == [True]


def test_quick_opening_shows_no_progress(qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot) -> None:
    async def quick() -> None:
        return None

    assert (
        qt_loop.run_until_complete(
            ui_progress.with_progress(quick(), ui_progress.Progress("Opening…"))
        )
        is True
    )
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QProgressDialog)]


def test_closing_disposes_the_engine_after_the_work_in_flight(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The qasync idiom's promise: the window goes only once the engine is disposed, and the
    engine only once the queries still running were cancelled and have ended — closed from
    a coroutine too."""
    events: list[str] = []
    dispose = ui_database.dispose

    async def logged_dispose() -> None:
        events.append("disposed")
        await dispose()

    monkeypatch.setattr(ui_database, "dispose", logged_dispose)

    async def query_in_flight() -> None:
        try:
            await asyncio.Event().wait()  # a count nobody will read any more
        finally:
            await asyncio.sleep(0)  # its rollback, after the cancel reached the database
            events.append("query ended")

    async def scenario() -> None:
        window = MainWindow("test database", Desk.on(ui_database))
        qtbot.addWidget(window)
        window.show()
        spawn(query_in_flight(), name="query in flight")
        await asyncio.sleep(0)

        window.close()
        window.close()  # a second Quit while closing changes nothing
        await wait_for(window.closed)
        assert not window.isVisible()
        assert events == ["query ended", "disposed"]

    qt_loop.run_until_complete(scenario())


def test_work_whose_caller_is_cancelled_before_any_progress_shows_stops_too(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    """The main window closing within the first moments of Load demo data: the seeding
    must stop with it, not go on into a database being closed."""
    started = asyncio.Event()
    stopped: list[bool] = []

    async def long_work() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            stopped.append(True)
            raise

    async def scenario() -> None:
        caller = asyncio.ensure_future(
            ui_progress.with_progress(long_work(), ui_progress.Progress("Adding…"))
        )
        await started.wait()
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        assert stopped == [True]

    qt_loop.run_until_complete(scenario())


def test_a_notice_at_start_shows_in_the_banner(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    """What app.__main__ could not tell on a console (a broken settings file) the window says."""
    notice = "The settings file x.json is not valid JSON (line 1); fix or delete it."
    seen: list[MainWindow] = []
    shown: list[str] = []

    def on_opened(window: MainWindow) -> None:
        seen.append(window)  # kept until the test ends, as a session keeps its window
        shown.append(window.banner.label.text())
        window.close()

    code = qt_loop.run_until_complete(
        run_session(load_settings(), on_opened=on_opened, notice=notice)
    )

    assert code == 0
    assert shown == [notice]
