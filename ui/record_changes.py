"""The one adapter from the change feed to Qt: every figure on screen that shows records
(a browse window's rows, its totals, a frequency table, the Insights window, the main
window's counts) connects to ``changed`` once and follows every commit, whoever made it.
Nothing in ui/ announces a change by hand: the services publish what they committed."""

from __future__ import annotations

import weakref

from PySide6.QtCore import QObject, Signal

from app.changes import ChangeSet
from app.services.records import RecordService


class RecordChanges(QObject):
    # What one commit changed (an app.changes.ChangeSet), right after the commit.
    changed = Signal(object)

    def __init__(self, records: RecordService) -> None:
        super().__init__()
        # A bound method, not a closure: the feed holds this adapter as long as the service.
        records.changes.subscribe(self._relay)

    def _relay(self, changes: ChangeSet) -> None:
        self.changed.emit(changes)


_ADAPTERS: weakref.WeakKeyDictionary[RecordService, RecordChanges] = weakref.WeakKeyDictionary()


def record_changes(records: RecordService) -> RecordChanges:
    """The adapter of ``records`` (of whichever database it works on, across switches)."""
    adapter = _ADAPTERS.get(records)
    if adapter is None:
        adapter = _ADAPTERS[records] = RecordChanges(records)
    return adapter
