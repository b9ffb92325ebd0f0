"""File → Connections…: saved connections edited with their problems shown at each field
(nothing typed is lost), passwords kept in the keyring and never in the file, Test
connection that reports without freezing, and Connect that switches or says why not."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import URL

from app.config import Settings, settings_file
from app.connections import (
    LOCAL_CONNECTION_ID,
    ConnectionKind,
    PasswordStorage,
    SavedConnection,
    SavedConnections,
    load_connections,
)
from app.core.credentials import KEYRING_SERVICE, Credentials, use_credentials
from tests import postgres
from tests.keyrings import MemoryKeyring, no_keyring
from tests.ui.conftest import wait_for
from ui.dialogs.connections_dialog import ConnectionsDialog

PASSWORD = "Zq#8@v/Wx%"


class Connector:
    """Stands in for the main window's switch: records what it was asked to open."""

    def __init__(self, problem: str | None = None) -> None:
        self.problem = problem
        self.asked: list[Settings] = []

    async def __call__(self, settings: Settings) -> str | None:
        self.asked.append(settings)
        return self.problem


def make_dialog(
    qtbot: QtBot, saved: SavedConnections | None = None, connector: Connector | None = None
) -> ConnectionsDialog:
    dialog = ConnectionsDialog(saved or SavedConnections(), connector or Connector())
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def type_text(dialog: ConnectionsDialog, field: str, text: str) -> None:
    edit = getattr(dialog, f"{field}_edit")
    edit.setText(text)
    edit.textEdited.emit(text)


def visible_problems(dialog: ConnectionsDialog) -> dict[str, str]:
    return {
        name: label.text()
        for name, label in dialog.problem_labels.items()
        if label.isVisibleTo(dialog)
    }


def fill_server(dialog: ConnectionsDialog, *, name: str = "Shop", port: int = 5432) -> None:
    dialog.add(ConnectionKind.SERVER)
    type_text(dialog, "name", name)
    type_text(dialog, "host", "127.0.0.1")
    dialog.port_box.setValue(port)
    type_text(dialog, "database", "shop")
    type_text(dialog, "user", "analyst")
    type_text(dialog, "password", PASSWORD)


def test_each_problem_shows_at_its_field_and_nothing_typed_is_lost(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    dialog = make_dialog(qtbot)
    dialog.add(ConnectionKind.SERVER)
    type_text(dialog, "name", "local database")  # the local one's name, in other letters
    type_text(dialog, "host", "")
    type_text(dialog, "user", "analyst ✓")

    assert dialog.save() is None

    assert visible_problems(dialog) == {
        "name": "Another saved connection has this name.",
        "host": "Give the server's host name or address.",
        "database": "Give the name of the database on the server.",
    }
    assert dialog.status_label.text() == "Correct the fields marked, then try again."
    assert dialog.isVisible()
    assert dialog.user_edit.text() == "analyst ✓"
    assert not settings_file().exists()


def test_editing_another_programs_database_is_allowed_per_connection(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, memory_keyring: MemoryKeyring
) -> None:
    dialog = make_dialog(qtbot)
    fill_server(dialog)
    dialog.allow_editing_box.setChecked(True)
    assert dialog.save() is not None
    (server,) = [c for c in load_connections().connections if not c.is_file]
    assert server.allow_editing is True
    assert '"allow_editing": true' in settings_file().read_text(encoding="utf-8")
    # Read-only wins: the box cannot be ticked beside it.
    dialog.read_only_box.setChecked(True)
    assert not dialog.allow_editing_box.isEnabled()


def test_saving_keeps_the_password_in_the_keyring_and_never_in_the_file(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, memory_keyring: MemoryKeyring
) -> None:
    dialog = make_dialog(qtbot)
    fill_server(dialog)
    dialog.set_colour("#2e7d32")
    dialog.read_only_box.setChecked(True)

    saved = dialog.save()

    assert saved is not None
    text = settings_file().read_text(encoding="utf-8")
    assert PASSWORD not in text
    assert "8@v" not in text
    (server,) = [c for c in load_connections().connections if not c.is_file]
    assert (server.name, server.host, server.database, server.user) == (
        "Shop",
        "127.0.0.1",
        "shop",
        "analyst",
    )
    assert (server.colour, server.read_only) == ("#2e7d32", True)
    assert memory_keyring.passwords == {(KEYRING_SERVICE, server.id): PASSWORD}
    assert dialog.status_label.text() == "Saved."


def test_without_a_keyring_the_dialog_says_the_password_lasts_the_run(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    use_credentials(Credentials(no_keyring()))
    dialog = make_dialog(qtbot)
    fill_server(dialog)

    dialog.save()

    assert dialog.storage_box.itemText(0) == (
        "Keep until Records Desk closes (no system keyring here)"
    )
    assert dialog.status_label.text().startswith(
        "The password of Shop is kept until Records Desk closes: this system has no keyring"
    )
    assert PASSWORD not in settings_file().read_text(encoding="utf-8")


def test_removing_a_connection_forgets_its_password(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, memory_keyring: MemoryKeyring
) -> None:
    dialog = make_dialog(qtbot)
    fill_server(dialog)
    dialog.save()
    assert memory_keyring.passwords

    dialog.remove_current()
    dialog.save()

    assert memory_keyring.passwords == {}
    assert [c.id for c in load_connections().connections] == [LOCAL_CONNECTION_ID]


def test_a_local_file_is_chosen_or_made_new_and_listed_among_recent_files(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = make_dialog(qtbot)
    dialog.add(ConnectionKind.FILE)

    dialog.choose_file(str(tmp_path / "new shop.db"), create=True)

    assert (tmp_path / "new shop.db").exists()
    assert dialog.name_edit.text() == "new shop.db"  # a name, until the user gives one
    saved = dialog.save()
    assert saved is not None
    assert saved.find(dialog.current_id or "") == SavedConnection(
        id=dialog.current_id or "",
        name="new shop.db",
        kind=ConnectionKind.FILE,
        path=str(tmp_path / "new shop.db"),
    )


def test_test_connection_reports_a_local_file_and_its_schema(
    qt_loop: asyncio.AbstractEventLoop,
    qtbot: QtBot,
    tmp_path: Path,
    migrated_sqlite_template: Path,
) -> None:
    path = tmp_path / "shop.db"
    shutil.copyfile(migrated_sqlite_template, path)
    dialog = make_dialog(qtbot)
    dialog.add(ConnectionKind.FILE)
    type_text(dialog, "name", "Shop file")
    dialog.choose_file(str(path))

    async def scenario() -> str:
        dialog.test_button.click()
        (said,) = await wait_for(dialog.tested)
        return str(said)

    said = qt_loop.run_until_complete(scenario())

    assert said.startswith("Connected to SQLite ")
    assert said.endswith(": its schema is current.")
    assert dialog.status_label.text() == said
    assert dialog.test_button.text() == "&Test connection"


def test_a_path_typed_from_the_home_folder_is_the_file_there(
    qt_loop: asyncio.AbstractEventLoop,
    qtbot: QtBot,
    tmp_path: Path,
    migrated_sqlite_template: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 21: ``~/shop.db`` was refused as missing although the file was there."""
    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copyfile(migrated_sqlite_template, tmp_path / "shop.db")
    connector = Connector()
    dialog = make_dialog(qtbot, connector=connector)
    dialog.add(ConnectionKind.FILE)
    type_text(dialog, "name", "Shop file")
    type_text(dialog, "path", "~/shop.db")

    async def scenario() -> tuple[str, str | None]:
        dialog.test_button.click()
        (said,) = await wait_for(dialog.tested)
        return str(said), await dialog.connect_current()

    said, problem = qt_loop.run_until_complete(scenario())

    assert said.endswith(": its schema is current.")
    assert problem is None
    (asked,) = connector.asked
    assert asked.sqlite_path == tmp_path / "shop.db"
    # Saved as the file it is: the settings name no folder called "~".
    saved = [c.path for c in load_connections().connections if c.name == "Shop file"]
    assert saved == [str(tmp_path / "shop.db")]


@pytest.mark.postgresql
def test_test_connection_reaches_the_server_or_says_why_not(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, migrated_postgres_url: URL
) -> None:
    server = postgres.server_url()
    dialog = make_dialog(qtbot)
    dialog.add(ConnectionKind.SERVER)
    type_text(dialog, "name", "Test server")
    type_text(dialog, "host", server.host or "127.0.0.1")
    dialog.port_box.setValue(server.port or 5432)
    type_text(dialog, "database", migrated_postgres_url.database or "")
    type_text(dialog, "user", server.username or "postgres")
    dialog.storage_box.setCurrentIndex(dialog.storage_box.findData(PasswordStorage.NONE))

    async def test() -> str:
        dialog.test_button.click()
        assert dialog.test_button.text() == "S&top test"  # the window is not frozen meanwhile
        (said,) = await wait_for(dialog.tested)
        return str(said)

    reached = qt_loop.run_until_complete(test())
    dialog.port_box.setValue(1)
    refused = qt_loop.run_until_complete(test())

    assert reached.startswith("Connected to PostgreSQL ")
    assert reached.endswith(": its schema is current.")
    where = f"{server.username or 'postgres'}@{server.host or '127.0.0.1'}:1"
    assert refused.startswith(f"Cannot reach PostgreSQL {where}/")
    assert refused.endswith("the server refused the connection. Is it running?")


def test_connect_saves_then_switches_and_closes(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    connector = Connector()
    dialog = make_dialog(qtbot, connector=connector)
    dialog.add(ConnectionKind.FILE)
    type_text(dialog, "name", "Archive")
    dialog.choose_file(str(tmp_path / "archive.db"), create=True)

    problem = qt_loop.run_until_complete(dialog.connect_current())

    assert problem is None
    (asked,) = connector.asked
    assert asked.sqlite_path == tmp_path / "archive.db"
    assert asked.connection is not None
    assert asked.connection.name == "Archive"
    assert not dialog.isVisible()
    assert [c.name for c in load_connections().connections] == ["Local database", "Archive"]


def test_a_connect_that_fails_keeps_the_dialog_open_with_the_reason(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    dialog = make_dialog(qtbot, connector=Connector("Cannot reach the shop: it is down."))
    fill_server(dialog)

    problem = qt_loop.run_until_complete(dialog.connect_current())

    assert problem == "Cannot reach the shop: it is down."
    assert dialog.isVisible()
    assert dialog.status_label.text() == problem
    assert dialog.password_edit.text() == PASSWORD  # still there to try again


def test_closing_with_changes_asks_to_save_them(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    dialog = make_dialog(qtbot)
    fill_server(dialog)

    dialog.reject()

    box = dialog.message
    assert isinstance(box, QMessageBox)
    assert box.isVisible()
    assert dialog.isVisible()
    box.button(QMessageBox.StandardButton.Save).click()
    assert not dialog.isVisible()
    assert [c.name for c in load_connections().connections] == ["Local database", "Shop"]
