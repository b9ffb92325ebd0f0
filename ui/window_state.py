"""What a browse window remembers per kind of record between runs: geometry, the visible
columns in their order, column widths and sort. Kept in an INI file in the user config folder."""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QByteArray, QSettings

from app.desktop import config_dir, create_private, make_private_folder
from app.query import SortKey

STATE_FILE_NAME = "window-state.ini"


def state_settings() -> QSettings:
    """The INI file of window state and display preferences, private to the user like
    every file of theirs the app writes: made 0600 in a 0700 folder before Qt writes it
    (Qt replaces it keeping the mode it finds)."""
    folder = config_dir()
    path = folder / STATE_FILE_NAME
    with contextlib.suppress(OSError):  # unwritable: Qt says so when it syncs, not here
        make_private_folder(folder)
        with contextlib.suppress(FileExistsError):
            create_private(path)
    return QSettings(str(path), QSettings.Format.IniFormat)


class WindowState:
    def __init__(self, settings: QSettings | None = None) -> None:
        self._settings = settings or state_settings()

    def geometry(self, entity: str) -> QByteArray | None:
        return self._bytes(f"{entity}/geometry")

    def set_geometry(self, entity: str, geometry: QByteArray) -> None:
        self._settings.setValue(f"{entity}/geometry", geometry)

    def header(self, entity: str) -> QByteArray | None:
        return self._bytes(f"{entity}/header")

    def set_header(self, entity: str, state: QByteArray) -> None:
        self._settings.setValue(f"{entity}/header", state)

    def columns(self, entity: str) -> tuple[str, ...] | None:
        """The visible columns in their order, or None when never saved."""
        value = self._settings.value(f"{entity}/columns")
        if value is None:
            return None
        return tuple(name for name in str(value).split(",") if name)

    def set_columns(self, entity: str, columns: tuple[str, ...]) -> None:
        self._settings.setValue(f"{entity}/columns", ",".join(columns))

    def sort(self, entity: str) -> tuple[SortKey, ...]:
        value = self._settings.value(f"{entity}/sort", "")
        keys = []
        for part in str(value or "").split(","):
            name, _, direction = part.partition(":")
            if name:
                keys.append(SortKey(name, descending=direction == "desc"))
        return tuple(keys)

    def set_sort(self, entity: str, sort: tuple[SortKey, ...]) -> None:
        text = ",".join(f"{key.column}:{'desc' if key.descending else 'asc'}" for key in sort)
        self._settings.setValue(f"{entity}/sort", text)

    def sync(self) -> None:
        self._settings.sync()

    def _bytes(self, key: str) -> QByteArray | None:
        value = self._settings.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None
