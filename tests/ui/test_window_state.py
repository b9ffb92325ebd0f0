"""The window state file (geometry, columns, sort, display preferences) is the user's:
private from its first write, in a private folder, and still private after Qt rewrites it."""

from __future__ import annotations

import stat
from pathlib import Path

from PySide6.QtCore import QByteArray

from app.desktop import config_dir
from app.services import catalog
from ui.preferences import DateStyle, DisplayPreferences
from ui.window_state import STATE_FILE_NAME, WindowState


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_window_state_file_is_private_and_stays_so_when_rewritten() -> None:
    folder = config_dir()
    assert not folder.exists()  # the isolated config folder of this test
    state = WindowState()
    state.set_geometry("users", QByteArray(b"\x01\x02"))
    state.set_columns(catalog.entity("users"), ("id", "email"))
    state.sync()
    path = folder / STATE_FILE_NAME
    assert (mode(folder), mode(path)) == (0o700, 0o600)
    preferences = DisplayPreferences()
    preferences.set_date_style(DateStyle.SYSTEM)
    state.set_columns(catalog.entity("users"), ("id",))
    state.sync()
    assert mode(path) == 0o600
    assert WindowState().columns("users") == ("id",)
