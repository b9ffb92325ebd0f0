"""What a database's writes changed, published once per commit to whoever listens.

Every service notes what it writes in its unit of work (``note``); the unit of work
publishes the lot to its database's feed after the commit, and only then (a rollback
publishes nothing). So every reader — a browse window, a total, a frequency table, a count —
subscribes once and follows every change, whoever made it: a form, undo, the command line,
a test. Nothing here knows Qt; ui/ turns the feed into signals through one adapter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)

# Where a session keeps the changes noted in its unit of work until the commit.
_SESSION_KEY = "records_desk.changes"


class ChangeKind(StrEnum):
    # Records joined the live rows of their kind (created, restored from the trash).
    ADDED = "added"
    # Records left the live rows (moved to the trash, deleted).
    REMOVED = "removed"
    # Records changed in place and stay where they are.
    CHANGED = "changed"


@dataclass(frozen=True)
class Change:
    """Records of one kind that one commit added, removed or changed. ``ids`` names them
    where the writer knows them cheaply (None: ``count`` records, which ones not said)."""

    entity: str
    kind: ChangeKind
    count: int
    ids: frozenset[Any] | None = None


@dataclass(frozen=True)
class ChangeSet:
    """Everything one commit changed."""

    changes: tuple[Change, ...]

    @property
    def entities(self) -> frozenset[str]:
        return frozenset(change.entity for change in self.changes)

    def moved(self, entity: str) -> bool:
        """Whether records of ``entity`` joined or left the live rows (a view's row count
        and places change, not only some rows' values)."""
        return any(
            change.entity == entity and change.kind is not ChangeKind.CHANGED
            for change in self.changes
        )

    def changed_ids(self, entity: str) -> frozenset[Any] | None:
        """The ids of ``entity`` changed in place, or None when some are not named (a
        reader then reloads what it shows)."""
        ids: set[Any] = set()
        for change in self.changes:
            if change.entity != entity or change.kind is not ChangeKind.CHANGED:
                continue
            if change.ids is None:
                return None
            ids.update(change.ids)
        return frozenset(ids)


Listener = Callable[[ChangeSet], None]


class ChangeFeed:
    """The changes committed to one database, in commit order. Listeners run on the
    publisher's loop right after the commit; one that fails is reported as a bug through
    the loop's exception handler and the others still hear of the change."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Hear every change from now on; the returned function stops that."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, changes: ChangeSet) -> None:
        for listener in list(self._listeners):
            try:
                listener(changes)
            except Exception as error:
                _report(error)


def _report(error: Exception) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        log.error("A change listener failed", exc_info=error)
        return
    loop.call_exception_handler({"message": "A change listener failed", "exception": error})


def note(
    session: Any,
    entity: str,
    kind: ChangeKind,
    ids: Iterable[Any] | None = None,
    *,
    count: int | None = None,
) -> None:
    """Record in ``session`` (an AsyncSession of a unit of work) that its commit will have
    changed these records; published by the unit of work after the commit."""
    named = frozenset(ids) if ids is not None else None
    number = count if count is not None else len(named or ())
    if number == 0 and not named:
        return
    session.info.setdefault(_SESSION_KEY, []).append(Change(entity, kind, number, named))


def noted(session: Any) -> ChangeSet | None:
    """What ``session`` will have changed once committed (None: nothing), merged per kind
    of record and of change, in the order first noted."""
    pending: list[Change] = session.info.pop(_SESSION_KEY, [])
    if not pending:
        return None
    merged: dict[tuple[str, ChangeKind], Change] = {}
    for change in pending:
        key = (change.entity, change.kind)
        before = merged.get(key)
        if before is None:
            merged[key] = change
            continue
        ids = before.ids | change.ids if before.ids is not None and change.ids is not None else None
        count = len(ids) if ids is not None else before.count + change.count
        merged[key] = Change(change.entity, change.kind, count, ids)
    for (entity, kind), change in list(merged.items()):
        # A record made in this commit and then changed in it (an order given its total)
        # is new to every reader: only its arrival is said.
        added = merged.get((entity, ChangeKind.ADDED))
        if kind is ChangeKind.CHANGED and added is not None and added.ids and change.ids:
            rest = change.ids - added.ids
            if rest:
                merged[(entity, kind)] = Change(entity, kind, len(rest), rest)
            else:
                del merged[(entity, kind)]
    return ChangeSet(tuple(merged.values()))
