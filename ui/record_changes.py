"""The one adapter from the change feed to Qt: every figure on screen that shows records
(a browse window's rows, its totals, a frequency table, the Insights window, the main
window's counts) connects to ``changed`` once and follows every commit, whoever made it.
Nothing in ui/ announces a change by hand: the services publish what they committed."""

from __future__ import annotations

import weakref

from PySide6.QtCore import QObject, Signal

from app.changes import ChangeSet
from app.workspace import Desk


class RecordChanges(QObject):
    # What one commit changed (an app.changes.ChangeSet), right after the commit.
    changed = Signal(object)

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        # A bound method, not a closure: the feed holds this adapter as long as the desk.
        desk.changes.subscribe(self._relay)

    def _relay(self, changes: ChangeSet) -> None:
        self.changed.emit(changes)


_ADAPTERS: weakref.WeakKeyDictionary[Desk, RecordChanges] = weakref.WeakKeyDictionary()


def record_changes(desk: Desk) -> RecordChanges:
    """The adapter of ``desk`` (of whichever workspace is open on it, across switches)."""
    adapter = _ADAPTERS.get(desk)
    if adapter is None:
        adapter = _ADAPTERS[desk] = RecordChanges(desk)
    return adapter
