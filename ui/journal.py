"""No work lost: the open browse windows (their views, scroll positions, current cells) and
every record form holding unsaved changes (its typed values and the version, or the row,
it started from) are written to a journal in the user's state folder a moment after each
change — whole or not at all, readable by the user alone.

A clean quit marks the journal so, and the next start reopens its windows (a preference).
Otherwise the last session ended by a crash, a kill or a power cut, and the next start
offers the list to Restore or Discard. A restored form saves against the same stale-edit
check as before, so a record changed meanwhile opens the merge view. A journal that
cannot be read is set aside and said, never a crash. No password is ever in it: the one
password a form can hold is not a field.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import threading
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox

from app.desktop import write_private
from app.saved_views import from_text, to_text
from ui.dialogs.record_form import RecordFormDialog, record_name
from ui.main_window import journal_file
from ui.messages import finished
from ui.preferences import reopen_windows
from ui.selection import cell_blocks, row_ranges
from ui.tasks import spawn
from ui.view_files import connection_name, saved_view_of, view_to_show

if TYPE_CHECKING:
    from ui.browse_window import BrowseWindow
    from ui.main_window import MainWindow

log = logging.getLogger(__name__)

FORMAT = 1
# A change is written this long after it (well within the second the issue allows).
WRITE_DELAY_MS = 300
# How long a restored form may take to read its record.
LOAD_TIMEOUT_S = 30
# Columns of another program's table whose values never go into the journal (a save's
# check then leaves them out): what is named like a secret.
_SECRET = re.compile(r"pass(word|wd)?|secret|token|api_?key|salt|hash", re.IGNORECASE)
# Blocks of selected rows kept per window (a selection of scattered rows is not a plan).
MAX_SELECTED_BLOCKS = 100


def journal_path(database_name: str) -> Path:
    """Where the journal of that database is (app.desktop.state_dir)."""
    return journal_file(database_name)


class Journal(QObject):
    """The journal of one main window's session."""

    def __init__(self, main: MainWindow) -> None:
        super().__init__(main)
        self.main = main
        self._forms: list[RecordFormDialog] = []
        self._stopped = False
        # The text waiting to be written, and the task writing it.
        self._pending: tuple[int, Path, str] | None = None
        self._writer: asyncio.Task[None] | None = None
        # Snapshots are numbered as they are made; the file holds the latest stored.
        self._made = 0
        self._stored = 0
        self._lock = threading.Lock()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(WRITE_DELAY_MS)
        self._timer.timeout.connect(self.write)

    @property
    def path(self) -> Path:
        """The journal of the database open now (it changes with a switch)."""
        return journal_path(self.main.desk.workspace.database.display_name)

    # -- following the windows ----------------------------------------------------------------

    def watch_window(self, window: BrowseWindow) -> None:
        window.view_changed.connect(self.changed)
        window.closed.connect(self.changed)
        window.table.verticalScrollBar().valueChanged.connect(self.changed)
        window.editing.form_opened.connect(self.watch_form)
        self.changed()

    def watch_form(self, form: object) -> None:
        if not isinstance(form, RecordFormDialog):
            return
        self._forms.append(form)
        for editor in form.editors.values():
            editor.changed.connect(self.changed)
        form.finished.connect(self.changed)
        form.loaded.connect(self.changed)

    def changed(self, *_: object) -> None:
        # Not restarted by each change: typing without a pause is still written within
        # WRITE_DELAY_MS of its first key.
        if not self._stopped and not self._timer.isActive():
            self._timer.start()

    # -- writing ------------------------------------------------------------------------------

    def snapshot(self, *, clean: bool = False) -> dict[str, Any]:
        main = self.main
        windows = []
        for window in list(main.browse_windows):
            if not shiboken6.isValid(window) or window.model is None:
                continue
            table = window.table
            current = table.currentIndex()
            windows.append(
                {
                    "view": json.loads(
                        to_text(saved_view_of(window, connection_name(main.look), widths=False))
                    ),
                    "top": max(table.rowAt(0), 0),
                    "current": [current.row(), current.column()] if current.isValid() else None,
                    "selection": [list(block) for block in row_ranges(cell_blocks(table))][
                        :MAX_SELECTED_BLOCKS
                    ],
                }
            )
        self._forms = [form for form in self._forms if shiboken6.isValid(form)]
        forms = [entry for form in self._forms if (entry := _form_entry(form)) is not None]
        return {
            "format": FORMAT,
            "clean": clean,
            "database": main.desk.workspace.database.display_name,
            "windows": windows,
            "forms": forms,
        }

    def write(self, *, clean: bool = False) -> None:
        """Write the journal now: the state read here, the file written in a worker thread
        (an fsync must not hold the window), one write at a time, the latest last."""
        self._timer.stop()
        if not self.main.connected:
            return
        self._pending = self._numbered(clean=clean)
        if self._writer is None or self._writer.done():
            self._writer = spawn(self._write_pending(), name="write the session journal")

    def flush(self, *, clean: bool = False) -> None:
        """Write the journal now, here (at a clean quit: no loop turn is left for it); a
        write under way in the worker cannot land after it (numbered, under one lock)."""
        self._timer.stop()
        self._pending = None
        if self.main.connected:
            self._store(self._numbered(clean=clean))

    async def _write_pending(self) -> None:
        while self._pending is not None:
            numbered, self._pending = self._pending, None
            await asyncio.to_thread(self._store, numbered)

    def _numbered(self, *, clean: bool) -> tuple[int, Path, str]:
        self._made += 1
        text = json.dumps(self.snapshot(clean=clean), ensure_ascii=False, indent=1)
        return self._made, self.path, text

    def _store(self, numbered: tuple[int, Path, str]) -> None:
        """Never raising: a disk that refuses is logged (the session goes on). A snapshot
        older than one written already is dropped."""
        number, path, text = numbered
        with self._lock:
            if number <= self._stored:
                return
            try:
                write_private(path, text.encode("utf-8"))
            except OSError as error:
                log.warning("The session journal could not be written: %s", error)
                return
            self._stored = number

    def close(self) -> None:
        """A clean quit: written once more, marked clean, and nothing after (the windows
        closing now are not the user's change)."""
        self.flush(clean=True)
        self._stopped = True

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

    # -- restoring ----------------------------------------------------------------------------

    def read(self) -> dict[str, Any] | None:
        """The last session's journal; None when there is none, or it was set aside
        because it cannot be read (the banner says so)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            self._set_aside(str(error))
            return None
        try:
            document = json.loads(text)
        except ValueError:
            self._set_aside("it is not JSON")
            return None
        if not isinstance(document, dict) or not isinstance(document.get("windows"), list):
            self._set_aside("it is not a journal of Records Desk")
            return None
        if not isinstance(document.get("format"), int) or document["format"] > FORMAT:
            self._set_aside("a newer Records Desk wrote it")
            return None
        forms = document.get("forms", [])
        entries = [*document["windows"], *(forms if isinstance(forms, list) else [None])]
        if not all(isinstance(entry, dict) for entry in entries):
            self._set_aside("it is damaged")
            return None
        return document

    def _set_aside(self, why: str) -> None:
        kept = self.path.with_name(f"{self.path.stem}.unreadable-{uuid.uuid4().hex[:8]}.json")
        try:
            self.path.replace(kept)
        except OSError:
            kept = self.path
        self.main.banner.say(
            f"The last session's journal could not be read ({why}); it is kept as {kept}."
        )
        return None

    async def offer(self) -> str:
        """At start: reopen the windows a clean quit left (if the preference says so), or
        offer what a crash left to Restore or Discard. What happened, in words."""
        document = self.read()
        if document is None:
            return ""
        if document.get("database") != self.main.desk.workspace.database.display_name:
            return ""  # another database's session: kept until this one writes its own
        windows, forms = document.get("windows") or [], document.get("forms") or []
        if not windows and not forms:
            return ""
        if document.get("clean") and not forms:
            if not reopen_windows():
                return ""
            await self.restore(windows, [])
            return f"Reopened {len(windows)} window{'s' if len(windows) != 1 else ''}."
        if not await self._ask(windows, forms):
            self.discard()
            return "Discarded the last session's windows and forms."
        await self.restore(windows, forms)
        return "Restored the last session."

    async def _ask(self, windows: list[Any], forms: list[Any]) -> bool:
        lines = [f"• {_window_title(window)}" for window in windows]
        lines += [f"• {_form_title(form)}, not saved" for form in forms]
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Restore the last session?",
            "Records Desk did not close properly last time. Restore what was open?",
            QMessageBox.StandardButton.NoButton,
            self.main,
        )
        box.setInformativeText("\n".join(lines[:20]) + ("\n…" if len(lines) > 20 else ""))
        box.setAccessibleName("Restore the last session?")
        restore = box.addButton("&Restore", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("&Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(restore)
        self.main.message = box
        await finished(box)
        return box.clickedButton() is restore

    async def restore(self, windows: list[Any], forms: list[Any]) -> None:
        """Open the windows and forms the journal names, on the database open now; what
        no longer applies is left out (and a window says what)."""
        known = self.main.desk.workspace.catalog
        opened: dict[str, BrowseWindow] = {}
        for entry in windows:
            try:
                self.main.apply_remembered_trash(str(entry["view"]["table"]))
                view = from_text(json.dumps(entry["view"]), known)
                window = self.main.open_browser(view.saved.view.entity)
                window.set_view(view_to_show(view, window))
                window.use_widths(view.saved.widths)
                window.restore_position(
                    entry.get("top") or 0, entry.get("current"), entry.get("selection") or ()
                )
                if view.dropped:
                    window.tell("Left out: " + "; ".join(view.dropped) + ".", 15000)
            except Exception as error:
                log.warning("A window of the journal was not restored: %r", error, exc_info=True)
                continue
            opened.setdefault(window.entity.name, window)
        for entry in forms:
            try:
                await self._restore_form(entry, opened)
            except Exception as error:
                log.warning("A form of the journal was not restored: %r", error, exc_info=True)

    async def _restore_form(self, entry: dict[str, Any], opened: dict[str, BrowseWindow]) -> None:
        table = str(entry["table"])
        if table not in self.main.desk.workspace.catalog:
            return
        window = opened.get(table) or self.main.open_browser(table)
        opened[table] = window
        key = _decoded(entry.get("key"))
        form = window.editing.open_form(key)
        if not isinstance(form, RecordFormDialog):
            return
        values = {name: _decoded(value) for name, value in entry.get("values", {}).items()}
        if key is not None:
            await _loaded(form)
        form.restore_unsaved(
            values,
            version=entry.get("version"),
            expected_row=_decoded(entry.get("expected_row")),
        )


async def _loaded(form: RecordFormDialog) -> None:
    """Wait until the form has read its record (or said why it could not)."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def settled(*_: object) -> None:
        if not done.done():
            done.set_result(None)

    form.loaded.connect(settled)
    form.refused.connect(settled)
    form.finished.connect(settled)
    form.destroyed.connect(settled)
    await asyncio.wait_for(done, LOAD_TIMEOUT_S)


def _form_entry(form: RecordFormDialog) -> dict[str, Any] | None:
    """A form holding unsaved changes, as the journal keeps it (None: nothing unsaved).
    Nothing named like a secret is kept, nor a value of a type JSON cannot give back."""
    if form.isHidden() or not form.changed:
        return None
    unsaved = {name: v for name, v in form.unsaved().items() if not _SECRET.search(name)}
    if not unsaved:
        return None
    expected = None
    if form.expected_row is not None:
        expected = {
            name: _encoded(value)
            for name, value in form.expected_row.items()
            if not _SECRET.search(name) and _keeps(value)
        }
    return {
        "table": form.entity.name,
        "key": _encoded(form.record_id),
        "values": {name: _encoded(value) for name, value in unsaved.items()},
        "version": form.version,
        "expected_row": expected,
    }


def _keeps(value: Any) -> bool:
    """Whether ``_decoded(_encoded(value))`` is ``value`` again."""
    encoded = _encoded(value)
    return not (isinstance(encoded, str) and not isinstance(value, str))


def _window_title(entry: dict[str, Any]) -> str:
    view = entry.get("view")
    if not isinstance(view, dict):
        return "a window"
    table = view.get("table", "?")
    parts = []
    if view.get("search"):
        parts.append(f"search {view['search']!r}")
    if isinstance(view.get("filters"), list) and view["filters"]:
        parts.append(f"{len(view['filters'])} filter{'s' if len(view['filters']) > 1 else ''}")
    return f"{table}" + (f" ({', '.join(parts)})" if parts else "")


def _form_title(entry: dict[str, Any]) -> str:
    key = _decoded(entry.get("key"))
    table = entry.get("table", "?")
    return f"new row of {table}" if key is None else f"{table} {record_name(key)}"


# -- values of any type, as JSON keeps them ----------------------------------------------------


def _encoded(value: Any) -> Any:
    """``value`` as JSON holds it, marked with its type where JSON has none."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return {"$": "decimal", "v": str(value)}
    if isinstance(value, datetime):
        return {"$": "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {"$": "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {"$": "time", "v": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$": "timedelta", "v": value.total_seconds()}
    if isinstance(value, uuid.UUID):
        return {"$": "uuid", "v": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$": "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, tuple):
        return {"$": "tuple", "v": [_encoded(part) for part in value]}
    if isinstance(value, list):
        return [_encoded(part) for part in value]
    if isinstance(value, dict):
        return {"$": "dict", "v": {str(k): _encoded(v) for k, v in value.items()}}
    return str(value)


def _decoded(value: Any) -> Any:
    if isinstance(value, list):
        return [_decoded(part) for part in value]
    if not isinstance(value, dict):
        return value
    kind, inner = value.get("$"), value.get("v")
    readers: dict[str, Any] = {
        "decimal": Decimal,
        "datetime": datetime.fromisoformat,
        "date": date.fromisoformat,
        "time": time.fromisoformat,
        "timedelta": lambda seconds: timedelta(seconds=seconds),
        "uuid": uuid.UUID,
        "bytes": base64.b64decode,
        "tuple": lambda parts: tuple(_decoded(part) for part in parts),
        "dict": lambda items: {k: _decoded(v) for k, v in items.items()},
    }
    if kind not in readers:
        return value
    try:
        return readers[str(kind)](inner)
    except (ArithmeticError, ValueError, TypeError, AttributeError):
        raise ValueError(f"a damaged {kind} in the journal") from None
