"""Help → About names the version, the database (never its password), what Records Desk runs
on and where its log is; Copy puts those facts on the clipboard, and Open log folder shows the
folder — made first when nothing was logged yet — without ever launching a file manager here."""

from __future__ import annotations

import asyncio
import platform
import stat
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QMenu, QPushButton
from pytestqt.qtbot import QtBot

import app
from app.core import redaction
from app.core.database import Database
from app.core.logs import log_file
from app.workspace import Desk
from tests.ui.conftest import wait_for
from ui.dialogs import about_dialog
from ui.dialogs.about_dialog import AboutDialog
from ui.main_window import MainWindow

DATABASE = "PostgreSQL me@db.example.org:5432/shop"


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The folders the dialog asked the desktop to open (none is really opened)."""
    folders: list[Path] = []

    def record(folder: Path) -> bool:
        folders.append(folder)
        return True

    monkeypatch.setattr(about_dialog, "open_folder", record)
    return folders


def make_dialog(qtbot: QtBot, database_name: str, log_folder: Path) -> AboutDialog:
    dialog = AboutDialog(database_name, log_folder)
    qtbot.addWidget(dialog)
    dialog.open()
    return dialog


def label_named(dialog: AboutDialog, name: str) -> QLabel:
    (label,) = [w for w in dialog.findChildren(QLabel) if w.accessibleName() == name]
    return label


def button_named(dialog: AboutDialog, name: str) -> QPushButton:
    (button,) = [w for w in dialog.findChildren(QPushButton) if w.accessibleName() == name]
    assert button.text() == name
    return button


def test_the_dialog_names_version_database_environment_and_log_folder(
    qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = make_dialog(qtbot, DATABASE, tmp_path / "log")

    assert dialog.windowTitle() == "About Records Desk"
    assert label_named(dialog, "Version").text() == f"Records Desk {app.__version__}"
    assert label_named(dialog, "Database").text() == DATABASE
    environment = label_named(dialog, "Runs on").text().splitlines()
    assert f"Python {platform.python_version()}" in environment
    assert f"Qt {qVersion()}" in environment
    assert any(line.startswith("PySide6 6.") for line in environment)
    assert f"OS: {platform.platform()}" in environment
    log_label = label_named(dialog, "Log folder")
    assert log_label.text() == str(tmp_path / "log")
    assert log_label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    for name in ["Open log folder", "Copy", "Close"]:
        button_named(dialog, name)


def test_a_database_password_never_shows(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redaction, "_hidden", set())  # what this test hides goes with it
    redaction.hide("s3cr3t-pw")
    # A name that went wrong upstream: the password where the host should be.
    dialog = make_dialog(qtbot, "PostgreSQL me@s3cr3t-pw.example.org/shop", tmp_path)

    assert label_named(dialog, "Database").text() == "PostgreSQL me@***.example.org/shop"
    assert "s3cr3t" not in dialog.about_text()


def test_copy_puts_the_facts_on_the_clipboard_and_keeps_the_dialog_open(
    qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = make_dialog(qtbot, DATABASE, tmp_path / "log")
    QApplication.clipboard().clear()

    button_named(dialog, "Copy").click()

    copied = QApplication.clipboard().text().splitlines()
    assert copied[0] == f"Records Desk {app.__version__}"
    assert f"Database: {DATABASE}" in copied
    assert f"Python {platform.python_version()}" in copied
    assert f"Qt {qVersion()}" in copied
    assert f"OS: {platform.platform()}" in copied
    assert copied[-1] == f"Log folder: {tmp_path / 'log'}"
    assert dialog.isVisible()
    assert label_named(dialog, "Status").text() == "Copied to the clipboard."


def test_open_log_folder_makes_the_missing_folder_and_opens_it(
    qtbot: QtBot, tmp_path: Path, opened: list[Path]
) -> None:
    folder = tmp_path / "state" / "records-desk" / "log"
    dialog = make_dialog(qtbot, DATABASE, folder)

    button_named(dialog, "Open log folder").click()

    assert folder.is_dir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # private, as the log makes it
    assert opened == [folder]
    assert dialog.isVisible()
    assert label_named(dialog, "Status").text() == ""


def test_a_log_folder_that_cannot_be_made_is_said_in_the_dialog(
    qtbot: QtBot, tmp_path: Path, opened: list[Path]
) -> None:
    (tmp_path / "a file").write_text("not a folder", encoding="utf-8")
    dialog = make_dialog(qtbot, DATABASE, tmp_path / "a file" / "log")

    button_named(dialog, "Open log folder").click()

    assert opened == []
    assert label_named(dialog, "Status").text().startswith("The log folder cannot be created: ")


def test_nothing_to_open_the_folder_with_is_said_in_the_dialog(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(about_dialog, "open_folder", lambda _folder: False)
    dialog = make_dialog(qtbot, DATABASE, tmp_path)

    button_named(dialog, "Open log folder").click()

    said = label_named(dialog, "Status").text()
    assert "No file manager could open the log folder" in said
    assert str(dialog.log_folder) in said
    assert QGuiApplication.clipboard().text() == str(dialog.log_folder)  # ready to paste


def test_escape_closes_the_dialog(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, DATABASE, tmp_path)

    with qtbot.waitSignal(dialog.finished):
        QTest.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_help_about_opens_the_dialog_for_the_windows_database(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = MainWindow("SQLite file /data/shop.db", Desk.on(ui_database))
        qtbot.addWidget(window)
        window.show()
        (help_menu,) = [
            action.menu() for action in window.menuBar().actions() if action.text() == "&Help"
        ]
        assert isinstance(help_menu, QMenu)
        (about,) = [
            action for action in help_menu.actions() if action.text() == "&About Records Desk"
        ]

        about.trigger()

        dialog = window.findChild(AboutDialog)
        assert dialog is not None
        assert dialog.isVisible()
        assert label_named(dialog, "Database").text() == "SQLite file /data/shop.db"
        assert label_named(dialog, "Log folder").text() == str(log_file().parent)
        # trigger() came back with the dialog showing: opened, not exec()'d.
        assert dialog.isModal()
        with qtbot.waitSignal(dialog.finished):
            button_named(dialog, "Close").click()

        window.close()
        await wait_for(window.closed)

    qt_loop.run_until_complete(scenario())
