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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from app.changes import ChangeKind, note
from app.core.database import Database
from app.repositories.rows import Row, RowWriter
from app.services.catalog import Catalog, ColumnKind, EntityInfo, catalog_of
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
    # More rows than were read (a cascade past MAX_UNDO_ROWS): ``count`` is a floor.
    at_least: bool = False

    @property
    def text(self) -> str:
        rows = f"{self.count:,} {'row' if self.count == 1 else 'rows'} of {self.entity}"
        if self.at_least:
            rows = f"at least {rows}"
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
    """What a delete took away, to put back: ``chosen`` the rows the user chose, whole;
    ``rows`` every row that went as (entity, row), parents before children (the chosen
    ones and those their foreign keys cascaded to); ``cleared`` the rows whose reference
    the database emptied, as (entity, row as it was, the columns emptied). ``complete``
    is False when more went than an undo keeps (MAX_UNDO_ROWS)."""

    entity: str
    chosen: tuple[Row, ...]
    rows: tuple[tuple[str, Row], ...]
    cleared: tuple[tuple[str, Row, tuple[str, ...]], ...] = ()
    complete: bool = True


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
    expected: Mapping[str, Any] | None,
    values: Mapping[str, Any],
    *,
    as_read: bool = False,
    token: str | None = None,
) -> Row:
    """Set ``values`` on the row ``key`` names, only if it still holds ``expected`` (the
    row as the form read it): an EditConflictError when someone changed it meanwhile, a
    NotFoundError when it is gone. The row as stored after. ``as_read``: the values were
    read from this database (an undo gives them back), written as they are rather than
    checked as typed."""
    known, info = _writable(database, entity)
    if expected is None:
        raise ValidationError(
            f"{_named(info, key)} is saved against the row as read: read it first."
        )
    table = known.repository(entity).table
    if as_read:
        checked = {name: value for name, value in values.items() if _settable(info, name)}
    else:
        checked = checked_row_values(info, table, values, creating=False)
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
            if checked:
                note(session, entity, ChangeKind.CHANGED, [key_of(info, row)])
            return row


def check_values(database: Database, entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` for rows of ``entity`` as their columns hold them, or FieldValuesError
    naming each field that breaks a rule: a bulk edit's check before anything runs."""
    known, info = _writable(database, entity)
    return checked_row_values(info, known.repository(entity).table, values, creating=False)


async def update_many(
    database: Database,
    entity: str,
    changes: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    *,
    as_read: bool = False,
    token: str | None = None,
) -> list[Row]:
    """Each (row as read, values to set on it) of ``changes`` in one transaction, all or
    none: a row changed or gone meanwhile stops it all (EditConflictError). The rows as
    stored after. ``as_read``: the values were read from this database (an undo)."""
    known, info = _writable(database, entity)
    if len(changes) > MAX_DELETE_ROWS:
        raise ValidationError(
            f"At most {MAX_DELETE_ROWS:,} rows are changed at once; select fewer."
        )
    table = known.repository(entity).table
    checked = [
        (
            row,
            {name: value for name, value in values.items() if _settable(info, name)}
            if as_read
            else checked_row_values(info, table, values, creating=False),
        )
        for row, values in changes
    ]
    with once(database, token):
        async with unit_of_work(database, write=True) as session:
            writer = RowWriter(session, known.repository(entity))
            after = []
            for row, values in checked:
                await _check_references(session, known, info, values)
                with _refusals(info):
                    changed = await writer.update(writer.key_of(row), row, values)
                if changed is None:
                    raise EditConflictError(
                        f"{_named(info, key_of(info, row))} changed or was deleted meanwhile: "
                        "nothing was saved. Look again, then change them."
                    )
                after.append(changed)
            note(session, entity, ChangeKind.CHANGED, [key_of(info, row) for row in after])
            return after


def _settable(info: EntityInfo, name: str) -> bool:
    column = info.column(name)  # a readable error for a name the table lacks
    return not column.managed and name not in info.key


async def move_to_trash(
    database: Database,
    entity: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    restore: bool = False,
    token: str | None = None,
) -> list[Row]:
    """Mark ``rows`` (whole, as read) as in the table's trash — its soft-delete column set
    to now — or out of it (``restore``: emptied), all or none, each only if it still
    holds what was read. The rows as stored after."""
    known, info = _writable(database, entity)
    column = info.soft_delete
    if column is None:
        raise ValidationError(f"{info.label} has no trash: its rows are deleted for good.")
    value = None if restore else _now_for(info, column)
    with once(database, token):
        async with unit_of_work(database, write=True) as session:
            writer = RowWriter(session, known.repository(entity))
            after = []
            for row in rows:
                changed = await writer.update(writer.key_of(row), row, {column: value})
                if changed is None:
                    raise EditConflictError(
                        f"{_named(info, key_of(info, row))} changed or was deleted meanwhile: "
                        f"nothing was {'restored' if restore else 'moved to the trash'}."
                    )
                after.append(changed)
            kind = ChangeKind.ADDED if restore else ChangeKind.REMOVED
            note(session, entity, kind, [key_of(info, row) for row in after])
            return after


def _now_for(info: EntityInfo, column: str) -> Any:
    """Now, as the trash column holds it: a date, a moment in UTC, or a UTC wall time
    for a timestamp without a zone (to the second, as SQLite's CURRENT_TIMESTAMP)."""
    kind = info.column(column).kind
    now = datetime.now(UTC).replace(microsecond=0)
    if kind is ColumnKind.DATE:
        return now.date()
    return now if kind is ColumnKind.DATETIME else now.replace(tzinfo=None)


async def delete_plan(database: Database, entity: str, keys: Sequence[Any]) -> DeletePlan:
    """How many of the rows ``keys`` name are there, and what the database's foreign
    keys would do to the rows referring to them, at every depth: the confirmation's
    words."""
    known, info = _writable(database, entity)
    async with unit_of_work(database) as session:
        writer = RowWriter(session, known.repository(entity))
        rows = await writer.rows([_key_tuple(key) for key in keys])
        reach = await _reach(session, known, info, rows)
    return DeletePlan(entity, len(rows), reach.consequences())


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
            still = await writer.count_holding(rows)
            if still != len(rows):
                raise EditConflictError(
                    f"{len(rows) - still:,} of the {len(rows):,} rows changed or were deleted "
                    "meanwhile: nothing was deleted. Look again, then delete."
                )
            reach = await _reach(session, known, info, rows)
            refusal = " ".join(c.text for c in reach.consequences() if c.action in _KEEPS)
            if refusal:
                raise ValidationError(f"Nothing was deleted: {refusal}")
            with _refusals(info, deleting=True):
                await writer.delete_keys([writer.key_of(row) for row in rows])
            removed = RemovedRows(
                entity,
                tuple(dict(row) for row in rows),
                reach.in_order(),
                tuple(reach.cleared),
                reach.complete,
            )
            _note_removed(session, known, removed)
            return removed


async def put_back(
    database: Database, removed: RemovedRows, *, token: str | None = None
) -> RemovedRows:
    """Insert again the rows a delete took away, with their keys, and give back the
    references it emptied: the undo of ``delete``, all or none. Refused in words when a
    key was taken by another row meanwhile, when the delete took more than an undo keeps,
    or when the database makes the keys itself and takes none given."""
    known = catalog_of(database)
    if not removed.complete:
        raise ValidationError(
            f"That delete took more than {MAX_UNDO_ROWS:,} rows with it: it cannot be undone."
        )
    with once(database, token):
        async with unit_of_work(database, write=True) as session:
            for entity, row in removed.rows:
                info = known.entity(entity)
                generated = [name for name in info.key if info.column(name).managed]
                if generated:
                    raise ValidationError(
                        f"{entity} numbers its rows itself ({', '.join(generated)} is generated "
                        "always): a deleted row cannot come back with its key."
                    )
                writer = RowWriter(session, known.repository(entity))
                if info.key and await writer.row(writer.key_of(row)) is not None:
                    raise ConflictError(
                        f"{_named(info, key_of(info, row))} was added again meanwhile, so "
                        "the delete cannot be undone."
                    )
                settable = {
                    name: value for name, value in row.items() if not info.column(name).managed
                }
                with _refusals(info):
                    await writer.insert(settable)
            given_back: list[tuple[str, Row]] = []
            for entity, row, columns in removed.cleared:
                info = known.entity(entity)
                writer = RowWriter(session, known.repository(entity))
                # Only where the reference is still as the delete left it.
                emptied = {name: None for name in columns}
                back = {name: row[name] for name in columns}
                if info.key and await writer.update(writer.key_of(row), emptied, back):
                    given_back.append((entity, row))
            for entity in dict.fromkeys(entity for entity, _row in removed.rows):
                info = known.entity(entity)
                keys = [key_of(info, row) for name, row in removed.rows if name == entity]
                note(session, entity, ChangeKind.ADDED, keys if info.key else None)
            for entity, row in given_back:
                note(session, entity, ChangeKind.CHANGED, [key_of(known.entity(entity), row)])
            return removed


# -- the foreign keys' consequences ------------------------------------------------------------


@dataclass
class _Reach:
    """The rows a delete takes with it, read one foreign key at a time to any depth:
    ``taken`` by (entity, identity) with the depth they were reached at, ``cleared`` the
    rows a SET NULL or SET DEFAULT changes, ``counts`` per foreign key (entity, its
    columns, its action), ``parents`` which tables cascade into which."""

    taken: dict[tuple[str, Any], tuple[int, Row]] = field(default_factory=dict)
    cleared: list[tuple[str, Row, tuple[str, ...]]] = field(default_factory=list)
    counts: dict[tuple[str, tuple[str, ...], str], int] = field(default_factory=dict)
    parents: dict[str, set[str]] = field(default_factory=dict)
    complete: bool = True
    read: int = 0

    def consequences(self) -> tuple[Consequence, ...]:
        return tuple(
            Consequence(entity, columns, action, count, at_least=not self.complete)
            for (entity, columns, action), count in self.counts.items()
            if count
        )

    def in_order(self) -> tuple[tuple[str, Row], ...]:
        """The rows taken, each after the rows it refers to: tables by their place in the
        cascade (a parent table before its children), then by depth (a row of a table
        referring to itself after its parent row)."""
        ranks: dict[str, int] = {}

        def rank(table: str, seen: frozenset[str] = frozenset()) -> int:
            if table not in ranks:
                above = [p for p in self.parents.get(table, ()) if p != table and p not in seen]
                ranks[table] = 1 + max((rank(p, seen | {table}) for p in above), default=-1)
            return ranks[table]

        ordered = sorted(
            enumerate(self.taken.items()),
            key=lambda item: (rank(item[1][0][0]), item[1][1][0], item[0]),
        )
        return tuple((entity, row) for _index, ((entity, _id), (_depth, row)) in ordered)


def _identity(info: EntityInfo, row: Mapping[str, Any]) -> Any:
    """What tells a row from the others: its key, or every value where it has none."""
    if info.key:
        return tuple(row[name] for name in info.key)
    return tuple(sorted((name, repr(value)) for name, value in row.items()))


async def _reach(
    session: AsyncSession, known: Catalog, info: EntityInfo, rows: Sequence[Mapping[str, Any]]
) -> _Reach:
    """Follow every foreign key that refers to ``rows`` (by the key, or by a unique
    column), through CASCADE to any depth, each row counted once; past MAX_UNDO_ROWS read
    the walk stops and says it is incomplete."""
    reach = _Reach()
    for row in rows:
        reach.taken[(info.name, _identity(info, row))] = (0, dict(row))
    frontier: list[tuple[EntityInfo, list[Row], int]] = [(info, [dict(r) for r in rows], 0)]
    while frontier and reach.complete:
        parent, parent_rows, depth = frontier.pop(0)
        for relation in (*parent.relations, *parent.dependents):
            child = known.entity(relation.entity)
            held = relation.target_columns or parent.key
            values = list(
                dict.fromkeys(
                    values
                    for row in parent_rows
                    if None not in (values := tuple(row[name] for name in held))
                )
            )
            if not values:
                continue
            writer = RowWriter(session, known.repository(relation.entity))
            found = await writer.rows_referring(relation.key_columns, values)
            reach.read += len(found)
            if reach.read > MAX_UNDO_ROWS:
                reach.complete = False
            action = relation.on_delete or "NO ACTION"
            counted = (relation.entity, relation.key_columns, action)
            fresh: list[Row] = []
            for row in found:
                identity = (relation.entity, _identity(child, row))
                if identity in reach.taken:
                    continue  # deleted already on another path
                reach.counts[counted] = reach.counts.get(counted, 0) + 1
                if action == "CASCADE":
                    reach.taken[identity] = (depth + 1, row)
                    fresh.append(row)
                elif action in _CLEARS:
                    reach.cleared.append((relation.entity, row, relation.key_columns))
            if action == "CASCADE" and found:
                # Put back after this parent, even when reached first another way.
                reach.parents.setdefault(relation.entity, set()).add(parent.name)
            if action == "CASCADE" and fresh:
                frontier.append((child, fresh, depth + 1))
            if not reach.complete:
                break
    # A row emptied on one path and deleted on another is deleted.
    reach.cleared = [
        entry
        for entry in reach.cleared
        if (entry[0], _identity(known.entity(entry[0]), entry[1])) not in reach.taken
    ]
    return reach


def _note_removed(session: AsyncSession, known: Catalog, removed: RemovedRows) -> None:
    for entity in dict.fromkeys(entity for entity, _row in removed.rows):
        info = known.entity(entity)
        keys = [key_of(info, row) for name, row in removed.rows if name == entity]
        note(session, entity, ChangeKind.REMOVED, keys if info.key else None)
    for entity, row, _columns in removed.cleared:
        info = known.entity(entity)
        note(session, entity, ChangeKind.CHANGED, [key_of(info, row)] if info.key else None)
    if not removed.complete:
        # Not every cascaded row was read: the kinds reached move as a whole.
        for relation in known.entity(removed.entity).relations:
            note(session, relation.entity, ChangeKind.REMOVED, None)


# -- checks and refusals ----------------------------------------------------------------------


def _writable(database: Database, entity: str) -> tuple[Catalog, EntityInfo]:
    known = catalog_of(database)
    info = known.entity(entity)
    if known.ours:
        # Our records go to the trash, with their versions and the ledger kept.
        raise ValidationError(f"{info.label} are moved to the trash, never deleted for good.")
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
def _refusals(info: EntityInfo, *, deleting: bool = False) -> Iterator[None]:
    """The database's refusal of a write, in words and at the field it is about: a
    CHECK named by its constraint, a unique or NOT NULL column by its name, a trigger's
    own words, a missing privilege."""
    try:
        yield
    except sa_exc.IntegrityError as error:
        raise _refusal(info, error, deleting=deleting) from error
    except sa_exc.DBAPIError as error:
        refused = _server_refusal(info, error)
        if refused is None:
            raise
        raise refused from error


# PostgreSQL's refusals of a write that are the data's or the user's, not our bug.
_SERVER_REFUSALS = {
    "42501": "The database does not let this user change {table} (permission denied).",
    "22003": "A number is too large for its column.",
    "22001": "A text is too long for its column.",
    "40001": "Another change to the same rows got there first: try again.",
    "40P01": "Another change to the same rows got there first: try again.",
    "55P03": "The rows are locked by another change: try again in a moment.",
}


def _server_refusal(info: EntityInfo, error: sa_exc.DBAPIError) -> RecordsDeskError | None:
    cause = error.orig.__cause__ if error.orig is not None else None
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(cause, "sqlstate", None)
    if sqlstate == "P0001":  # a trigger's RAISE EXCEPTION: its own words
        message = getattr(cause, "message", None) or str(error.orig)
        return ValidationError(f"The database refuses it: {message}")
    if sqlstate in _SERVER_REFUSALS:
        return ValidationError(_SERVER_REFUSALS[sqlstate].format(table=info.name))
    return None


def _refusal(
    info: EntityInfo, error: sa_exc.IntegrityError, *, deleting: bool = False
) -> RecordsDeskError:
    detail = str(error.orig)
    cause = error.orig.__cause__ if error.orig is not None else None
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(cause, "sqlstate", None)
    constraint = str(getattr(cause, "constraint_name", None) or "")
    if deleting and (sqlstate == "23503" or "FOREIGN KEY constraint failed" in detail):
        return ValidationError(
            "Nothing was deleted: other rows still refer to these (the database refuses "
            "the delete while they do)."
        )
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
        if str(described) == "The change breaks a rule of the database.":
            # A trigger's RAISE(ABORT, …) on SQLite: its own words say which.
            return ValidationError(f"The database refuses it: {detail}")
    return described


def _after(text: str, marker: str) -> str:
    return text.split(marker, 1)[1].strip() if marker in text else ""
