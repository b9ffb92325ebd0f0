"""Undo and redo of this run's saves, trashes and restores, every window's alike.

Each step names the versions its records had right after it, and undoing or redoing it
names them again: a record someone else changed since is never overwritten (the service
refuses it, and the record's form opens to merge by hand instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.services import catalog
from app.services.errors import EditConflictError, NotFoundError
from app.services.intents import new_token
from app.services.records import Record, RecordService
from app.services.row_edits import RemovedRows, key_of
from ui.formatting import count_text

# The most steps kept: older ones are forgotten (they stay in the database, of course).
MAX_STEPS = 100


@dataclass(frozen=True)
class Step:
    """One change: ``kind`` is "create", "update", "trash" or "restore"; ``versions``
    holds each record's version right after the change (after its undo, once undone)."""

    kind: str
    entity: str
    versions: dict[int, int]
    # For an update: the changed fields' values before and after.
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    # For a trash or a restore: whether related records went (or came back) with them.
    with_related: bool = False
    # For a trash of a selection the database made (more rows than were loaded): the
    # moment it stamped them with, which its undo restores by; once undone, the moment
    # they came back at, which its redo trashes by; and how many the last move moved.
    moment: datetime | None = None
    restored_at: datetime | None = None
    count: int = 0
    # Another program's table (no version, no trash): ``row`` is the row as the last
    # move left it, which the next one expects to find (a create, an update); ``removed``
    # what a delete took away, which its undo puts back. ``what`` names the rows.
    foreign: bool = False
    row: Record | None = None
    # A move to the trash or out of it, or one field set in many rows: the rows as the
    # last move left them; for the field, the rows before it and right after it.
    rows: tuple[Record, ...] = ()
    earlier: tuple[Record, ...] = ()
    later: tuple[Record, ...] = ()
    removed: RemovedRows | None = None
    what: str = ""

    @property
    def text(self) -> str:
        if self.foreign:
            verb = {
                "create": "creation of",
                "update": "edit of",
                "trash": "trash of",
                "restore": "restore of",
                "bulk": "change of",
            }.get(self.kind, "delete of")
            return f"{verb} {self.what}"
        info = catalog.entity(self.entity)
        ids = sorted(self.versions)
        if len(ids) == 1:
            what = f"{info.singular} #{ids[0]}"
        else:
            what = f"{count_text(max(len(ids), self.count))} {info.label.lower()}"
        verb = {"create": "creation of", "update": "edit of", "trash": "trash of"}.get(
            self.kind, "restore of"
        )
        return f"{verb} {what}"


class UndoHistory(QObject):
    # What can be undone or redone changed (the menus rename their actions).
    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.done: list[Step] = []
        self.undone: list[Step] = []
        self.busy = False
        # The last undo or redo someone else's change stopped: (entity, id, the values
        # the fields were expected to hold, the values it wanted to give them).
        self.last_conflict: tuple[str, int, dict[str, Any], dict[str, Any]] | None = None
        # The version each record touched here was left at by this history's last change.
        self._known: dict[tuple[str, int], int] = {}

    def push(self, step: Step) -> None:
        self._remember(step)
        self.done.append(step)
        del self.done[:-MAX_STEPS]
        self.undone.clear()
        self.changed.emit()

    def _remember(self, step: Step) -> None:
        self.remember(step.entity, step.versions)

    def remember(self, entity: str, versions: dict[int, int]) -> None:
        """Records this run changed outside the history (a new password): their new
        versions are this run's own, not someone else's change."""
        for rid, version in versions.items():
            self._known[(entity, rid)] = version

    def clear(self) -> None:
        """Forget every step (another database: its records are others)."""
        self._known.clear()
        self.done.clear()
        self.undone.clear()
        self.changed.emit()

    def undo_text(self) -> str:
        return f"Undo {self.done[-1].text}" if self.done else "Undo"

    def redo_text(self) -> str:
        return f"Redo {self.undone[-1].text}" if self.undone else "Redo"

    async def undo(self, records: RecordService) -> str:
        """Undo the last step; returns what was done, in words. RecordsDeskError when the
        database refuses (the step stays to try again)."""
        return await self._move(records, self.done, self.undone, undo=True)

    async def redo(self, records: RecordService) -> str:
        return await self._move(records, self.undone, self.done, undo=False)

    async def _move(
        self, records: RecordService, source: list[Step], target: list[Step], *, undo: bool
    ) -> str:
        if not source or self.busy:
            return ""
        # Each record must still be at the version this history last left it at: one that
        # someone else changed since is refused by the service, not overwritten.
        original = source[-1]
        step = replace(
            original,
            versions={
                rid: self._known.get((original.entity, rid), version)
                for rid, version in original.versions.items()
            },
        )
        self.busy = True
        self.last_conflict = None  # only this move's conflict opens a form
        self.changed.emit()
        try:
            moved = await _apply(records, step, undo=undo, history=self)
        except NotFoundError as error:
            # The record is gone for good (deleted outside the app): this step can never
            # run again, and keeping it would block every step before it. Said once.
            if original in source:
                source.remove(original)
            self.busy = False
            self.changed.emit()
            return f"{error} The {'undo' if undo else 'redo'} of its {step.text} was dropped."
        finally:
            self.busy = False
        source.pop()
        target.append(moved)
        self._remember(moved)
        self.changed.emit()
        return f"{'Undid' if undo else 'Redid'} {step.text}."


async def _apply(
    records: RecordService,
    step: Step,
    *,
    undo: bool,
    history: UndoHistory,
) -> Step:
    """Undo (or redo) ``step`` against the versions it names; the step as it is after.
    One token per move: the service runs it once, whatever else
    arrives meanwhile."""
    token = new_token()
    entity = step.entity
    if step.foreign:
        return await _apply_to_rows(records, step, undo=undo, history=history, token=token)
    if step.moment is not None:
        # A selection the database trashed by its view (its rows were never all known
        # here): back by the moment it was stamped with, and again to the trash by the
        # moment they came back at; those changed since in between stay as they are.
        if undo:
            counts, restored_at = await records.restore_trashed_at(entity, step.moment, token=token)
            return replace(step, restored_at=restored_at, count=counts.get(entity, 0))
        assert step.restored_at is not None
        counts, moment = await records.trash_restored_at(
            entity, step.restored_at, with_related=step.with_related, token=token
        )
        return replace(step, moment=moment, restored_at=None, count=counts.get(entity, 0))
    removing = (step.kind in ("create", "restore")) == undo  # the records leave the views
    if step.kind == "update":
        (record_id,) = step.versions
        wanted, expected = (step.before, step.after) if undo else (step.after, step.before)
        try:
            record = await records.update(
                entity, record_id, wanted, expected_version=step.versions[record_id], token=token
            )
        except EditConflictError:
            history.last_conflict = (entity, record_id, expected, wanted)
            raise
        return replace(step, versions={record_id: int(record["version"])})
    if removing:
        await records.trash(
            entity,
            step.versions,
            with_related=step.with_related and step.kind != "create",
            token=token,
        )
    else:
        await records.restore_many(entity, step.versions, token=token)
    return replace(step, versions={rid: version + 1 for rid, version in step.versions.items()})


async def _apply_to_rows(
    records: RecordService, step: Step, *, undo: bool, history: UndoHistory, token: str
) -> Step:
    """Undo (or redo) a step on another program's table, each guarded by the rows as the
    step left them: a row someone changed since is not overwritten."""
    entity = step.entity
    info = records.catalog.entity(entity)
    if step.kind == "update":
        assert step.row is not None
        wanted, expected = (step.before, step.after) if undo else (step.after, step.before)
        key = key_of(info, step.row)
        try:
            # The values were read from the database: written back as they were.
            row = await records.update(
                entity, key, wanted, expected_row=step.row, as_read=True, token=token
            )
        except EditConflictError:
            history.last_conflict = (entity, key, expected, wanted)
            raise
        return replace(step, row=row)
    if step.kind == "bulk":
        # Each row's field back to what it held before (or to what the change set), each
        # only if the row is still as the last move left it.
        (name,) = step.before
        targets = step.earlier if undo else step.later
        changes = [
            (now, {name: target[name]}) for now, target in zip(step.rows, targets, strict=True)
        ]
        moved = await records.update_rows(entity, changes, as_read=True, token=token)
        return replace(step, rows=tuple(moved))
    if step.kind in ("trash", "restore"):
        # Out of the trash again (or back in), each row only if still as the step left it.
        restore = (step.kind == "trash") == undo
        moved = await records.trash_rows(entity, step.rows, restore=restore, token=token)
        return replace(step, rows=tuple(moved))
    # A create is undone by deleting its row, a delete by putting its rows back.
    removing = (step.kind == "create") == undo
    if removing:
        chosen: Sequence[Record] = (
            [step.row] if step.row is not None else step.removed.chosen if step.removed else []
        )
        removed = await records.delete_rows(entity, chosen, token=token)
        return replace(step, removed=removed, row=None)
    assert step.removed is not None
    await records.put_back(step.removed, token=token)
    back = step.removed.chosen
    return replace(step, row=back[0] if step.kind == "create" else None)


_current: UndoHistory | None = None


def undo_history() -> UndoHistory:
    global _current
    if _current is None:
        _current = UndoHistory()
    return _current
