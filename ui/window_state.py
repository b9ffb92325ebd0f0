"""What a browse window remembers per kind of record between runs: geometry, the visible
columns in their order, column widths and sort. Kept in an INI file in the user config folder."""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QByteArray, QSettings

from app.desktop import config_dir, create_private, make_private_folder
from app.query import SortKey
from app.services.catalog import EntityInfo

STATE_FILE_NAME = "window-state.ini"
# The file's format, kept in it ("format"): a file without one was written before formats
# were kept (format 0) and is brought forward when first read.
STATE_FORMAT = 1


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
    settings = QSettings(str(path), QSettings.Format.IniFormat)
    _brought_forward(settings)
    return settings


def _brought_forward(settings: QSettings) -> None:
    """Format 0 to 1: every kind's "header" (the widths older runs saved at every close,
    chosen or not) goes: widths come from the rows until the user sizes a column. The
    rest (geometry, columns, sort, preferences) reads as it was. A newer format is read
    as far as this version knows it, and left as it is."""
    found = settings.value("format")
    if found is not None:
        return
    for key in settings.allKeys():
        if key.endswith("/header"):
            settings.remove(key)
    settings.setValue("format", STATE_FORMAT)


def default_columns(entity: EntityInfo) -> tuple[str, ...]:
    """Every column in table order, but those that are hidden until asked for: a secret
    (a hash) and Records Desk's bookkeeping (deleted, version)."""
    return tuple(name for name in entity.column_names if name not in hidden_by_default(entity))


def hidden_by_default(entity: EntityInfo) -> frozenset[str]:
    """The columns a window leaves out until they are asked for from Columns."""
    return frozenset(
        column.name for column in entity.columns if column.hidden_by_default or column.internal
    )


class WindowState:
    """What the windows of one database remember between runs, by kind of record.

    Our own schema's kinds are kept at the top level (as every earlier run kept them);
    another program's database keeps its tables' under a scope of its own (``scoped``),
    so that its ``users`` table never takes the layout of ours."""

    def __init__(self, settings: QSettings | None = None, scope: str = "") -> None:
        self._settings = settings or state_settings()
        self._scope = scope

    def scoped(self, scope: str) -> WindowState:
        """The same store, keeping each kind's state under ``scope`` ("" for ours)."""
        return WindowState(self._settings, scope)

    def _key(self, entity: str, what: str) -> str:
        return f"{self._scope}{entity}/{what}"

    def geometry(self, entity: str) -> QByteArray | None:
        return self._bytes(self._key(entity, "geometry"))

    def set_geometry(self, entity: str, geometry: QByteArray) -> None:
        self._settings.setValue(self._key(entity, "geometry"), geometry)

    def widths(self, entity: str) -> QByteArray | None:
        """The header's state once the user sized a column (None: widths from the rows).
        Not the "header" key older runs wrote at every close, chosen or not: widths from
        then give way once to widths from the content."""
        return self._bytes(self._key(entity, "widths"))

    def set_widths(self, entity: str, state: QByteArray) -> None:
        self._settings.setValue(self._key(entity, "widths"), state)

    def columns(self, entity: str) -> tuple[str, ...] | None:
        """The visible columns in their order, or None when never saved."""
        value = self._settings.value(self._key(entity, "columns"))
        if value is None:
            return None
        return tuple(name for name in str(value).split(",") if name)

    def set_columns(self, entity: EntityInfo, columns: tuple[str, ...]) -> None:
        """Save the visible columns, with the columns hidden by default as they are now:
        a column hidden by default later was never asked for in this layout."""
        self._settings.setValue(self._key(entity.name, "columns"), ",".join(columns))
        hidden = ",".join(sorted(hidden_by_default(entity)))
        self._settings.setValue(self._key(entity.name, "hidden_by_default"), hidden)

    def _hidden_when_saved(self, entity: EntityInfo) -> frozenset[str]:
        value = self._settings.value(self._key(entity.name, "hidden_by_default"))
        if value is None:
            # Saved before this was kept, when only secrets were hidden until asked for.
            return frozenset(column.name for column in entity.columns if column.hidden_by_default)
        return frozenset(name for name in str(value).split(",") if name)

    def sort(self, entity: str) -> tuple[SortKey, ...]:
        value = self._settings.value(self._key(entity, "sort"), "")
        keys = []
        for part in str(value or "").split(","):
            name, _, direction = part.partition(":")
            if name:
                keys.append(SortKey(name, descending=direction == "desc"))
        return tuple(keys)

    def set_sort(self, entity: str, sort: tuple[SortKey, ...]) -> None:
        text = ",".join(f"{key.column}:{'desc' if key.descending else 'asc'}" for key in sort)
        self._settings.setValue(self._key(entity, "sort"), text)

    def known_sort(self, entity: EntityInfo) -> tuple[SortKey, ...]:
        """The saved sort of ``entity``, less keys of columns it no longer has."""
        names = set(entity.column_names)
        return tuple(key for key in self.sort(entity.name) if key.column in names)

    def known_columns(self, entity: EntityInfo) -> tuple[str, ...]:
        """The saved visible columns of ``entity`` that it still has, in their order; its
        default ones when none were saved. A column hidden by default since the layout was
        saved (deleted, version) stays hidden: the layout showed it only because it was
        shown then to everyone, not because it was asked for."""
        saved = self.columns(entity.name)
        if saved is None:
            return default_columns(entity)
        names = set(entity.column_names)
        newly_hidden = hidden_by_default(entity) - self._hidden_when_saved(entity)
        kept = (name for name in saved if name in names and name not in newly_hidden)
        return tuple(dict.fromkeys(kept))

    def trash_column(self, entity: str) -> str | None:
        """The column the user chose as this table's trash (another program's), if any."""
        value = self._settings.value(self._key(entity, "trash_column"))
        return str(value) if value else None

    def set_trash_column(self, entity: str, column: str | None) -> None:
        self._settings.setValue(self._key(entity, "trash_column"), column or "")

    def sync(self) -> None:
        self._settings.sync()

    def _bytes(self, key: str) -> QByteArray | None:
        value = self._settings.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None
