"""Editing another program's tables: create, update and delete rows by their key, with no
version column and no trash to lean on.

- **A stale edit is caught by the values**: an update or a delete names the row as the
  user read it, and changes it only if the row still holds every one of those values
  (``RowWriter.holds``). Zero rows matched is an EditConflictError: the form merges.
- **A delete is a real one**, after ``delete_plan`` has counted what the database's own
  foreign keys would cascade, clear or refuse. What it took away (the rows whole, those
  cascaded with them, the references cleared) comes back as ``RemovedRows``, which
  ``put_back`` re-inserts: the undo, refused in words if a key was taken meanwhile.
- **Each call is one transaction** (unit_of_work), once per intent (``token``), and what
  it committed is published on the database's change feed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from app.changes import ChangeKind, note
from app.core.database import Database
from app.repositories.rows import Row, RowWriter
from app.services.catalog import Catalog, EntityInfo, catalog_of
from app.services.errors import (
    ConflictError,
    EditConflictError,
    FieldValuesError,
    NotFoundError,
    RecordsDeskError,
    ValidationError,
    describe_integrity_error,
)
from app.services.intents import once
from app.services.reflection import mentions
from app.services.unit_of_work import unit_of_work
from app.services.validation import checked_row_values

# Cascades followed this deep (a table referring to itself would go on for ever).
MAX_CASCADE_DEPTH = 8
# A delete keeps at most this many rows (its own and cascaded ones) to put back on undo.
MAX_UNDO_ROWS = 10_000
# Rows deleted in one go from a selection.
MAX_DELETE_ROWS = 10_000

_KEEPS = ("RESTRICT", "NO ACTION")
_CLEARS = ("SET NULL", "SET DEFAULT")


def key_of(info: EntityInfo, row: Mapping[str, Any]) -> Any:
    """The key a window names a row by: its value, or a tuple for a key of several."""
    values = tuple(row[name] for name in info.key)
    return values[0] if len(values) == 1 else values


def _key_tuple(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


def _named(info: EntityInfo, key: Any) -> str:
    """``orders 12`` or ``pairs (3, 'x')``: a row named in a message."""
    shown = ", ".join(str(part) for part in _key_tuple(key))
    return f"{info.singular} {shown}" if len(info.key) == 1 else f"{info.singular} ({shown})"


@dataclass(frozen=True)
class Consequence:
    """What deleting the chosen rows does to the rows of ``entity`` whose ``columns``
    refer to them: ``action`` is the foreign key's (CASCADE, SET NULL, SET DEFAULT,
    RESTRICT, NO ACTION), ``count`` how many rows."""

    entity: str
    columns: tuple[str, ...]
    action: str
    count: int

    @property
    def text(self) -> str:
        rows = f"{self.count:,} {'row' if self.count == 1 else 'rows'} of {self.entity}"
        by = ", ".join(self.columns)
        if self.action == "CASCADE":
            return f"{rows} ({by}) will be deleted with them."
        if self.action in _CLEARS:
            what = "emptied" if self.action == "SET NULL" else "set to its default"
            return f"{rows} will have {by} {what}."
        refer = "refers" if self.count == 1 else "refer"
        return f"{rows} {refer} to them ({by}): the database refuses the delete while they do."


@dataclass(frozen=True)
class DeletePlan:
    """What a delete of ``count`` rows of ``entity`` comes to, before it runs."""

    entity: str
    count: int
    consequences: tuple[Consequence, ...]

    @property
    def refusal(self) -> str:
        """Why the database would refuse it, in words ("" when it would not)."""
        return " ".join(c.text for c in self.consequences if c.action in _KEEPS)


@dataclass(frozen=True)
class RemovedRows:
    """What a delete took away, to put back: ``rows`` whole as (entity, row), the ones
    chosen first and cascaded ones after, parents before children; ``cleared`` the rows
    whose reference the database emptied, as they were. ``complete`` is False when more
    went than an undo keeps (MAX_UNDO_ROWS)."""

    entity: str
    rows: tuple[tuple[str, Row], ...]
    cleared: tuple[tuple[str, Row], ...] = ()
    complete: bool = True

    @property
    def chosen(self) -> list[Row]:
        return [row for entity, row in self.rows if entity == self.entity]


async def get(database: Database, entity: str, key: Any) -> Row:
    known = catalog_of(database)
    info = known.entity(entity)
    async with unit_of_work(database) as session:
        found = await known.repository(entity)(session).row_by_key(_key_tuple(key))
    if found is None:
        raise NotFoundError(f"{_named(info, key)} does not exist (deleted meanwhile?).")
    return found


async def create(
    database: Database, entity: str, values: Mapping[str, Any], *, token: str | None = None
) -> Row:
    """A new row from what a form holds (checked first: a FieldValuesError names each
    field that breaks a rule); the row as stored, with the key the database gave it."""
    known, info = _writable(database, entity)
    checked = checked_row_values(info, known.repository(entity).table, values, creating=True)
    with once(database, token):
        async with unit_of_work(database, write=True) as session:
            await _check_references(session, known, info, checked)
            with _refusals(info):
                row = await RowWriter(session, known.repository(entity)).insert(checked)
            note(session, entity, ChangeKind.ADDED, [key_of(info, row)])
            return row


async def update(
    database: Database,
    entity: str,
    key: Any,
    expected: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    token: str | None = None,
) -> Row:
    """Set ``values`` on the row ``key`` names, only if it still holds ``expected`` (the
    row as the form read it): an EditConflictError when someone changed it meanwhile, a
    NotFoundError when it is gone. The row as stored after."""
    known, info = _writable(database, entity)
    checked = checked_row_values(info, known.repository(entity).table, values, creating=False)
    with once(database, token):
        async with unit_of_work(database, write=True) as session:
            await _check_references(session, known, info, checked)
            writer = RowWriter(session, known.repository(entity))
            with _refusals(info):
                row = await writer.update(_key_tuple(key), expected, checked)
            if row is None:
                if await writer.row(_key_tuple(key)) is None:
                    raise NotFoundError(f"{_named(info, key)} was deleted meanwhile.")
                raise EditConflictError(
                    f"Someone else changed {_named(info, key)} after you opened it: nothing "
                    "was saved."
                )
            note(session, entity, ChangeKind.CHANGED, [key_of(info, row)])
            return row


async def delete_plan(database: Database, entity: str, keys: Sequence[Any]) -> DeletePlan:
    """How many of the rows ``keys`` name are there, and what the database's foreign
    keys would do to the rows referring to them: the confirmation's words."""
    known, info = _writable(database, entity)
    async with unit_of_work(database) as session:
        writer = RowWriter(session, known.repository(entity))
        chosen = writer.table.c
        selected = select(*(chosen[name] for name in info.key)).where(
            _any_key(writer, [_key_tuple(key) for key in keys])
        )
        count = await session.scalar(select(func.count()).select_from(selected.subquery()))
        consequences = [
            Consequence(level.entity, level.columns, level.action, number)
            for level in _levels(session, known, entity, selected)
            if (number := await _count(session, level)) > 0
        ]
    return DeletePlan(entity, int(count or 0), tuple(consequences))


async def delete(
    database: Database, entity: str, rows: Sequence[Mapping[str, Any]], *, token: str | None = None
) -> RemovedRows:
    """Delete ``rows`` (whole, as the user saw them), all or none: a row changed or gone
    meanwhile stops it (EditConflictError), as does a foreign key refusing it (in words,
    nothing half done). What went, to put back with ``put_back``."""
    known, info = _writable(database, entity)
    if len(rows) > MAX_DELETE_ROWS:
        raise ValidationError(
            f"At most {MAX_DELETE_ROWS:,} rows are deleted at once; select fewer."
        )
    with once(database, token):
        async with unit_of_work(database, write=True) as session:
            writer = RowWriter(session, known.repository(entity))
            keys = [writer.key_of(row) for row in rows]
            selected = select(*(writer.table.c[name] for name in info.key)).where(
                _any_key(writer, keys)
            )
            removed = await _capture(session, known, info, rows, selected)
            with _refusals(info):
                deleted = await writer.delete(rows)
            if deleted != len(rows):
                raise EditConflictError(
                    f"{len(rows) - deleted:,} of the {len(rows):,} rows changed or were deleted "
                    "meanwhile: nothing was deleted. Look again, then delete."
                )
            _note_removed(session, known, removed)
            return removed


async def put_back(
    database: Database, removed: RemovedRows, *, token: str | None = None
) -> RemovedRows:
    """Insert again the rows a delete took away, with their keys, and give back the
    references it cleared: the undo of ``delete``, all or none. Refused in words when a
    key was taken by another row meanwhile, or when the delete took more than an undo
    keeps."""
    known = catalog_of(database)
    if not removed.complete:
        raise ValidationError(
            f"That delete took more than {MAX_UNDO_ROWS:,} rows with it: it cannot be undone."
        )
    with once(database, token):
        async with unit_of_work(database, write=True) as session:
            for entity, row in removed.rows:
                info = known.entity(entity)
                writer = RowWriter(session, known.repository(entity))
                if await writer.row(writer.key_of(row)) is not None:
                    raise ConflictError(
                        f"{_named(info, key_of(info, row))} was added again meanwhile, so "
                        "the delete cannot be undone."
                    )
                settable = {
                    name: value
                    for name, value in row.items()
                    if not info.column(name).managed or name in info.key
                }
                with _refusals(info):
                    await writer.insert(settable)
            for entity, row in removed.cleared:
                info = known.entity(entity)
                writer = RowWriter(session, known.repository(entity))
                given = {
                    name: value for name, value in row.items() if not info.column(name).managed
                }
                await writer.update(writer.key_of(row), {}, given)
            for entity in dict.fromkeys(entity for entity, _row in removed.rows):
                info = known.entity(entity)
                keys = [key_of(info, row) for name, row in removed.rows if name == entity]
                note(session, entity, ChangeKind.ADDED, keys)
            for entity, row in removed.cleared:
                info = known.entity(entity)
                note(session, entity, ChangeKind.CHANGED, [key_of(info, row)])
            return removed


# -- the foreign keys' consequences ------------------------------------------------------------


@dataclass(frozen=True)
class _Level:
    """Rows of ``entity`` whose ``columns`` refer to rows deleted (at some depth):
    ``writer`` reads them, ``condition`` selects them."""

    entity: str
    columns: tuple[str, ...]
    action: str
    writer: RowWriter
    condition: Any
    depth: int


def _levels(
    session: AsyncSession, known: Catalog, entity: str, selected: Select[Any]
) -> list[_Level]:
    """Every foreign key reaching the rows ``selected`` (their key columns) picks out,
    and through CASCADE the rows that go with them, top down."""
    levels: list[_Level] = []
    pending: list[tuple[str, Select[Any], int]] = [(entity, selected, 0)]
    while pending:
        parent, chosen, depth = pending.pop(0)
        for relation in known.entity(parent).relations:
            child = known.entity(relation.entity)
            writer = RowWriter(session, known.repository(relation.entity))
            condition = writer.within(relation.key_columns, chosen)
            action = relation.on_delete or "NO ACTION"
            levels.append(
                _Level(relation.entity, relation.key_columns, action, writer, condition, depth)
            )
            if action == "CASCADE" and child.key and depth < MAX_CASCADE_DEPTH:
                keys = select(*(writer.table.c[name] for name in child.key)).where(condition)
                pending.append((relation.entity, keys, depth + 1))
    return levels


async def _count(session: AsyncSession, level: _Level) -> int:
    statement = select(func.count()).select_from(level.writer.table).where(level.condition)
    return int(await session.scalar(statement) or 0)


async def _capture(
    session: AsyncSession,
    known: Catalog,
    info: EntityInfo,
    rows: Sequence[Mapping[str, Any]],
    selected: Select[Any],
) -> RemovedRows:
    """What deleting ``rows`` takes away, read before it does: refused in words where a
    foreign key keeps them."""
    taken: list[tuple[str, Row]] = [(info.name, dict(row)) for row in rows]
    cleared: list[tuple[str, Row]] = []
    complete = True
    for level in _levels(session, known, info.name, selected):
        number = await _count(session, level)
        if not number:
            continue
        consequence = Consequence(level.entity, level.columns, level.action, number)
        if level.action in _KEEPS:
            raise ValidationError(f"Nothing was deleted: {consequence.text}")
        if len(taken) + len(cleared) + number > MAX_UNDO_ROWS:
            complete = False
            continue
        found = [
            dict(row._mapping)
            for row in await session.execute(select(*level.writer.table.c).where(level.condition))
        ]
        (taken if level.action == "CASCADE" else cleared).extend(
            (level.entity, row) for row in found
        )
    return RemovedRows(info.name, tuple(taken), tuple(cleared), complete)


def _note_removed(session: AsyncSession, known: Catalog, removed: RemovedRows) -> None:
    for entity in dict.fromkeys(entity for entity, _row in removed.rows):
        info = known.entity(entity)
        keys = [key_of(info, row) for name, row in removed.rows if name == entity]
        note(session, entity, ChangeKind.REMOVED, keys if info.key else None)
    for entity, row in removed.cleared:
        info = known.entity(entity)
        note(session, entity, ChangeKind.CHANGED, [key_of(info, row)] if info.key else None)
    if not removed.complete:
        # Not every cascaded row was read: the kinds reached move as a whole.
        for relation in known.entity(removed.entity).relations:
            note(session, relation.entity, ChangeKind.REMOVED, None)


def _any_key(writer: RowWriter, keys: Sequence[tuple[Any, ...]]) -> Any:
    if not keys:
        return false()
    return or_(*(writer.matches_key(key) for key in keys))


# -- checks and refusals ----------------------------------------------------------------------


def _writable(database: Database, entity: str) -> tuple[Catalog, EntityInfo]:
    known = catalog_of(database)
    info = known.entity(entity)
    if info.read_only_reason:
        raise ValidationError(info.read_only_reason)
    return known, info


async def _check_references(
    session: AsyncSession, known: Catalog, info: EntityInfo, values: Mapping[str, Any]
) -> None:
    """Each row a reference names is there (said at its field, before the database's
    own refusal, which names no column on SQLite)."""
    errors: dict[str, str] = {}
    for column in info.columns:
        target = values.get(column.name)
        if column.references is None or target is None:
            continue
        found = await known.repository(column.references)(session).row_by_key((target,))
        if found is None:
            errors[column.name] = f"There is no {column.references} {target}."
    if errors:
        raise FieldValuesError(errors, {column.name: column.label for column in info.columns})


@contextmanager
def _refusals(info: EntityInfo) -> Iterator[None]:
    """The database's refusal of a write, in words and at the field it is about: a
    CHECK named by its constraint, a unique or NOT NULL column by its name."""
    try:
        yield
    except sa_exc.IntegrityError as error:
        raise _refusal(info, error) from error


def _refusal(info: EntityInfo, error: sa_exc.IntegrityError) -> RecordsDeskError:
    detail = str(error.orig)
    cause = error.orig.__cause__ if error.orig is not None else None
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(cause, "sqlstate", None)
    constraint = str(getattr(cause, "constraint_name", None) or "")
    if sqlstate == "23514" or "CHECK constraint failed" in detail:
        named = constraint or _after(detail, "CHECK constraint failed: ")
        condition = next(
            (text for name, text in info.checks if named in (name, text.strip())), named
        )
        columns = [column.name for column in info.columns if mentions(condition, column.name)]
        rule = f"{named!r}" if named and named != condition else f"({condition})"
        return ValidationError(
            f"The database refuses this value: it breaks the rule {rule}.",
            field=columns[0] if len(columns) == 1 else None,
        )
    described = describe_integrity_error(error)
    if described.field is None:
        # PostgreSQL's detail names the column: Key (code)=(x) already exists.
        found = re.search(r"Key \((\w+)\)=", str(getattr(cause, "detail", "") or ""))
        if found and found.group(1) in info.column_names:
            return type(described)(str(described), field=found.group(1))
    return described


def _after(text: str, marker: str) -> str:
    return text.split(marker, 1)[1].strip() if marker in text else ""
