"""What this run changed in the database, announced to every window: a browse window
showing an affected kind brings its rows up to date, the main window its counts."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from PySide6.QtCore import QObject, Signal


class RecordChanges(QObject):
    # Records of a kind changed in place: (entity, ids). Rows stay where they are.
    updated = Signal(str, object)
    # Records joined or left the kinds named (created, trashed, restored): {entity: count}.
    moved = Signal(object)

    def announce_update(self, entity: str, ids: Collection[int]) -> None:
        self.updated.emit(entity, frozenset(ids))

    def announce_moves(self, counts: Mapping[str, int]) -> None:
        moved = {entity: count for entity, count in counts.items() if count}
        if moved:
            self.moved.emit(moved)


_current: RecordChanges | None = None


def record_changes() -> RecordChanges:
    global _current
    if _current is None:
        _current = RecordChanges()
    return _current
