"""A database with no records says so and offers demo data or another database; choosing
another database switches the main window to it and remembers it."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QToolBar,
)
from pytestqt.qtbot import QtBot

from app.config import Settings, load_settings, settings_file
from app.connections import load_connections
from app.core.database import Database
from app.services import seeding
from app.workspace import Desk
from tests.ui.conftest import seed, wait_for
from tests.ui.sessions import in_session
from ui import main_window as main_window_module
from ui import progress as ui_progress
from ui.first_run import EMPTY_TITLE
from ui.main_window import MainWindow

SMALL_DEMO = replace(seeding.DEMO_DATA, users=50, batch_users=25, deleted_fraction=0)


def open_main(qtbot: QtBot, database: Database) -> MainWindow:
    window = MainWindow("test database", Desk.on(database))
    qtbot.addWidget(window)
    window.show()
    return window


async def closed(window: MainWindow) -> None:
    window.close()
    await wait_for(window.closed)


def visible_boxes() -> list[QMessageBox]:
    return [
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    ]


def test_an_empty_database_says_so_and_offers_demo_data_or_another_database(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_main(qtbot, ui_database)
        assert await wait_for(window.counts_loaded) == (0,)
        panel = window.empty_panel
        assert panel.isVisible()
        assert panel.accessibleName() == "Empty database"
        assert EMPTY_TITLE in [label.text() for label in panel.findChildren(QLabel)]
        labels = [(b.text(), b.accessibleName(), b.isEnabled()) for b in panel.buttons]
        assert labels == [
            ("Load demo data", "Load demo data", True),
            ("Open another database…", "Open another database…", True),
        ]
        assert window.load_demo_action.isEnabled()
        await closed(window)

    qt_loop.run_until_complete(scenario())


def test_a_database_with_records_shows_no_notice_and_offers_no_demo_data(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    seed(qt_loop, ui_database, 3)

    async def scenario() -> None:
        window = open_main(qtbot, ui_database)
        (total,) = await wait_for(window.counts_loaded)
        assert total > 0
        assert not window.empty_panel.isVisible()
        assert not window.load_demo_action.isEnabled()
        assert window.open_database_action.isEnabled()  # always there, in the File menu
        await closed(window)

    qt_loop.run_until_complete(scenario())


def test_load_demo_data_fills_the_database_and_the_counts_follow(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(main_window_module, "DEMO_DATA", SMALL_DEMO)

    async def scenario() -> None:
        window = open_main(qtbot, ui_database)
        await wait_for(window.counts_loaded)
        finished = asyncio.ensure_future(wait_for(window.demo_data_finished))
        # Each committed batch is published and recounted: wait for the count of them all.
        recounted = asyncio.ensure_future(
            wait_for(window.counts_loaded, lambda _total: window.count_text("users") == "50")
        )
        window.empty_panel.buttons[0].click()
        (message,) = await finished
        assert message.startswith("Added 50 users, ")
        assert " as demo data. Double-click a kind to browse it;" in message
        assert "Help → Getting started" in message  # what to try next
        assert "order items" in message
        assert window.statusBar().currentMessage() == message
        await recounted
        assert window.count_text("users") == "50"
        assert not window.empty_panel.isVisible()
        assert not window.load_demo_action.isEnabled()  # no second helping on top
        await closed(window)

    qt_loop.run_until_complete(scenario())


def test_cancelling_demo_data_keeps_the_batches_already_written_and_says_so(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(main_window_module, "DEMO_DATA", SMALL_DEMO)
    monkeypatch.setattr(ui_progress, "PROGRESS_DELAY_S", 0)
    first_batch_written = asyncio.Event()
    stopped: list[bool] = []

    real_seeding = seeding.seed_demo_data

    async def seed_one_batch_then_wait(database: Database, options: Any, progress: Any) -> Any:
        # The real seeding of the first batch; the second one never ends until cancelled.
        first = replace(options, users=25)
        await real_seeding(database, first, lambda done, _: progress(done, options.users))
        first_batch_written.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            stopped.append(True)
            raise

    # What the workspace calls to seed its database.
    monkeypatch.setattr(seeding, "seed_demo_data", seed_one_batch_then_wait)

    async def scenario() -> None:
        window = open_main(qtbot, ui_database)
        await wait_for(window.counts_loaded)
        finished = asyncio.ensure_future(wait_for(window.demo_data_finished))
        window.load_demo_action.trigger()
        await first_batch_written.wait()
        (dialog,) = [d for d in window.findChildren(QProgressDialog) if d.isVisible()]
        assert dialog.labelText() == "Adding demo data: 25 of 50 users…"
        assert (dialog.value(), dialog.maximum()) == (25, 50)
        button = dialog.findChild(QPushButton)
        assert button is not None
        button.click()
        assert await finished == ("Demo data stopped: the first 25 of 50 users were added.",)
        assert stopped == [True]
        await wait_for(window.counts_loaded)
        assert window.count_text("users") == "25"
        await closed(window)

    qt_loop.run_until_complete(scenario())


def test_a_file_that_is_not_a_database_is_refused_and_the_window_stays(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("shopping list\n", encoding="utf-8")
    chosen: list[Settings] = []

    async def scenario() -> None:
        window = open_main(qtbot, ui_database)
        window.switched.connect(chosen.append)
        await wait_for(window.counts_loaded)
        window.open_database_file(str(notes))
        (box,) = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
        assert box.text() == f"{notes} is not a SQLite database."
        assert box.accessibleName() == "Cannot open the database"
        box.accept()
        assert window.isVisible()
        window.open_database_file(str(tmp_path / "missing.db"))
        boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
        assert [b.text() for b in boxes] == [f"{tmp_path / 'missing.db'} does not exist."]
        boxes[0].accept()
        await closed(window)

    qt_loop.run_until_complete(scenario())
    assert chosen == []


def make_sqlite_file(path: Path, revision: str | None = None) -> Path:
    with sqlite3.connect(path) as connection:
        if revision is not None:
            # A newer Records Desk's: its revision, and tables of ours (another program's
            # Alembic revision beside tables of its own opens read-only as that program's).
            connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
            connection.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
            connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        else:
            connection.execute("CREATE TABLE scratch (x)")
            connection.execute("DROP TABLE scratch")
    connection.close()
    return path


def test_open_another_database_switches_the_window_to_it_and_remembers_it(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    other = make_sqlite_file(tmp_path / "other shop.sqlite")
    seen: list[str] = []

    async def scenario(window: MainWindow) -> None:
        seen.append(window.windowTitle())
        window.open_database_action.trigger()
        (dialog,) = [d for d in window.findChildren(QFileDialog) if d.isVisible()]
        assert dialog.accessibleName() == "Open another database"
        dialog.selectFile(str(other))
        dialog.accept()
        await wait_for(window.switched)
        await wait_for(window.counts_loaded)
        seen.extend([window.windowTitle(), window.database_label.text()])

    code = qt_loop.run_until_complete(in_session(load_settings(), scenario))

    assert code == 0
    assert seen == [
        "Records Desk — Local database",
        "Records Desk — other shop.sqlite",
        f"Connected to SQLite file {other}",
    ]
    assert settings_file().exists()
    assert load_settings().database_url.database == str(other)  # the next start opens it
    assert load_settings().connection is not None
    assert str(other) in load_connections().recent_files


def test_a_chosen_database_that_cannot_be_used_is_explained_and_the_window_stays(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    too_new = make_sqlite_file(tmp_path / "newer.db", revision="fromthefuture")
    first = load_settings()
    seen: list[str] = []

    async def scenario(window: MainWindow) -> None:
        await wait_for(window.counts_loaded)
        seen.append(window.windowTitle())
        window.open_database_file(str(too_new))
        assert window._switching is not None
        await window._switching
        boxes = visible_boxes()
        seen.extend(box.text() for box in boxes)
        for box in boxes:
            box.accept()
        seen.append(window.windowTitle())

    code = qt_loop.run_until_complete(in_session(first, scenario))

    assert code == 0
    assert seen[0] == seen[2] == "Records Desk — Local database"
    assert "newer" in seen[1]
    assert not settings_file().exists()  # nothing remembered of a database that failed


def make_foreign_file(path: Path) -> Path:
    """Another program's SQLite database: tables of its own, no Records Desk revision."""
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
        connection.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    connection.close()
    return path


def tables_of(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        names = sorted(name for (name,) in rows)
    connection.close()
    return names


def test_another_programs_database_opens_read_only_and_untouched(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot, tmp_path: Path
) -> None:
    foreign = make_foreign_file(tmp_path / "places.sqlite")
    before = foreign.read_bytes()
    chosen: list[Settings] = []
    messages: list[str] = []
    listed: list[list[str]] = []

    async def scenario() -> None:
        window = open_main(qtbot, ui_database)
        window.switched.connect(chosen.append)
        await wait_for(window.counts_loaded)
        window.open_database_file(str(foreign))
        await wait_for(window.switched)
        messages.extend(b.text() for b in window.findChildren(QMessageBox) if b.isVisible())
        listed.append([info.name for info in window.entities])
        assert window.look.read_only
        await wait_for(window.counts_loaded)
        assert window.count_text("moz_places") == "1"
        await closed(window)

    qt_loop.run_until_complete(scenario())

    assert [settings.sqlite_path for settings in chosen] == [foreign]
    assert listed == [["moz_places"]]
    assert messages == []
    assert tables_of(foreign) == ["moz_places"]  # not one table of ours written into it
    assert foreign.read_bytes() == before


def test_a_bug_while_opening_the_chosen_database_is_reported_and_the_window_stays(
    qt_loop: asyncio.AbstractEventLoop,
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from app.services import migrations

    other = make_sqlite_file(tmp_path / "other.db")
    reported: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda _kind, error, _tb: reported.append(error))
    prepare = migrations.prepare_for_use

    async def failing_for_the_other(database: Database, **kwargs: Any) -> Any:
        if database.url.database == str(other):
            raise RuntimeError("a bug of ours")
        return await prepare(database, **kwargs)

    monkeypatch.setattr(migrations, "prepare_for_use", failing_for_the_other)
    titles: list[str] = []

    async def scenario(window: MainWindow) -> None:
        titles.append(window.windowTitle())
        window.open_database_file(str(other))
        assert window._switching is not None
        await window._switching
        for box in visible_boxes():
            box.accept()
        titles.append(window.windowTitle())

    code = qt_loop.run_until_complete(in_session(load_settings(), scenario))

    assert code == 0
    assert [str(error) for error in reported] == ["a bug of ours"]
    assert titles[1] == titles[0]


def test_a_choice_that_cannot_be_remembered_is_said_and_the_window_switches_anyway(
    qt_loop: asyncio.AbstractEventLoop,
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = make_sqlite_file(tmp_path / "other.db")

    def read_only_folder(*_args: object) -> Path:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(main_window_module, "save_connections", read_only_folder)
    messages: list[str] = []

    async def scenario(window: MainWindow) -> None:
        window.open_database_file(str(other))
        await wait_for(window.switched)
        messages.append(window.statusBar().currentMessage())
        messages.append(window.windowTitle())

    code = qt_loop.run_until_complete(in_session(load_settings(), scenario))

    assert code == 0
    assert messages == [
        "The next start will not open this database by itself: Permission denied",
        "Records Desk — other.db",
    ]


def test_the_trash_is_counted_beside_the_live_records(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    """989 users after "a thousand" must say where the other 11 are."""
    seed(qt_loop, ui_database, 20, deleted_fraction=0.25)

    async def scenario() -> None:
        window = open_main(qtbot, ui_database)
        await wait_for(window.trash_counted)
        live = int(window.count_text("users"))
        trashed = int(window.trash_count_text("users"))
        assert live + trashed == 20
        assert trashed > 0
        header = window.entity_table.horizontalHeaderItem(2)
        assert header is not None
        assert header.text() == "In the trash"
        assert window.trash_count_text("transfers") == ""  # none: nothing said
        await closed(window)

    qt_loop.run_until_complete(scenario())


def test_help_lists_the_keys_from_the_actions_and_a_long_path_is_elided_in_the_middle(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_main(qtbot, ui_database)
        await wait_for(window.counts_loaded)
        toolbar = window.findChild(QToolBar, "main")
        assert toolbar is not None
        assert toolbar.toolButtonStyle() is Qt.ToolButtonStyle.ToolButtonTextUnderIcon
        guide = window.show_getting_started()
        assert "Load demo data" in guide.text_label.text()
        guide.reject()
        shortcuts = window.show_shortcuts()
        listed = shortcuts.visible_actions()
        assert "Connections…" in listed  # Ctrl+, in the main window
        assert "Keyboard shortcuts" in listed
        assert "Open a kind of record" in shortcuts.note_label.text()
        shortcuts.search_edit.setText("ctrl+i")
        assert shortcuts.visible_actions() == ["Insights…"]
        shortcuts.reject()

        window.open_browser("users")
        shortcuts = window.show_shortcuts()
        shortcuts.search_edit.setText("trash")
        assert "Move to trash…" in shortcuts.visible_actions()
        assert not shortcuts.note_label.isVisible()
        shortcuts.reject()

        path = "/home/analyst/" + "very-long-folder-name/" * 8 + "records.db"
        window.database_label.setText(f"Connected to SQLite file {path}")
        window.database_label.resize(200, window.database_label.height())
        shown = window.database_label.shown_text()
        assert "…" in shown
        assert shown.startswith("Connected")
        assert shown.endswith("records.db")  # both ends of a path tell it apart
        assert window.database_label.toolTip() == window.database_label.text()
        await closed(window)

    qt_loop.run_until_complete(scenario())
