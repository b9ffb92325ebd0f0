"""Upgrades keep everything (issue 26): the app started on the settings and window state an
older Records Desk wrote (kept as fixtures) finds its connections, the connection it was
on, the preferences and each kind's columns and sort — and writes them back in today's
format, which a newer file's format is never written over."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.config import config_dir, settings_file
from app.connections import (
    SETTINGS_FORMAT,
    SavedConnections,
    load_connections,
    save_connections,
)
from app.desktop import SettingsError, load_settings
from app.query import SortKey
from tests.ui.conftest import wait_for
from tests.ui.sessions import in_session
from tests.ui.test_foreign_database import rows_of
from ui.main_window import MainWindow
from ui.preferences import DateStyle, DisplayPreferences
from ui.window_state import STATE_FILE_NAME, STATE_FORMAT, state_settings

FIXTURES = Path(__file__).parent.parent / "fixtures" / "format-0"


def install_format_0(database: Path) -> None:
    """The files of an older Records Desk in this test's config folder."""
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    text = (FIXTURES / "settings.json").read_text(encoding="utf-8")
    settings_file().write_text(text.replace("{database}", str(database)), encoding="utf-8")
    shutil.copyfile(FIXTURES / STATE_FILE_NAME, folder / STATE_FILE_NAME)


def test_the_files_of_an_older_version_are_all_found(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    (tmp_path / "records.db").touch()  # the database it was on (an empty file: made anew)
    install_format_0(tmp_path / "records.db")
    seen: dict[str, object] = {}

    async def scenario(window: MainWindow) -> None:
        await wait_for(window.counts_loaded)
        seen["connection"] = window.look.name
        seen["colour"] = window.look.colour
        users = window.open_browser("users")
        await rows_of(users)
        seen["columns"] = users.view.columns
        seen["sort"] = users.view.spec.sort
        users.close()

    code = qt_loop.run_until_complete(in_session(load_settings(), scenario))

    assert code == 0
    assert seen["connection"] == "Local"
    assert seen["colour"] == "#2e7d32"
    assert seen["columns"] == ("id", "name", "email")
    assert seen["sort"] == (SortKey("name", descending=True),)
    saved = load_connections()
    server = saved.find("b7d2c0a4")
    assert server is not None
    assert (server.host, server.read_only, server.ssl_mode.value) == (
        "db.example.org",
        True,
        "require",
    )
    assert saved.recent_files == (str(tmp_path / "records.db"),)
    assert DisplayPreferences().date_style is DateStyle.SYSTEM
    state = state_settings()
    assert int(state.value("format")) == STATE_FORMAT
    assert state.value("users/header") is None  # the old widths: from the rows again
    assert state.value("orders/sort") == "total:desc"
    # Written back in today's format by the next save.
    save_connections(saved)
    assert json.loads(settings_file().read_text(encoding="utf-8"))["format"] == SETTINGS_FORMAT


def test_a_newer_versions_settings_are_refused_and_never_written_over(tmp_path: Path) -> None:
    install_format_0(tmp_path / "records.db")
    document = json.loads(settings_file().read_text(encoding="utf-8"))
    document["format"] = SETTINGS_FORMAT + 1
    settings_file().write_text(json.dumps(document), encoding="utf-8")
    before = settings_file().read_bytes()
    with pytest.raises(SettingsError, match="written by a newer Records Desk"):
        load_connections()
    with pytest.raises(SettingsError, match="written by a newer Records Desk"):
        save_connections(SavedConnections())
    assert settings_file().read_bytes() == before
