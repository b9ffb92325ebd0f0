"""Writing rows of another program's table by their key, each write guarded by the values
the caller read: a row someone changed meanwhile is not written (zero rows match).

Our own kinds have models, versions and a trash (BaseRepository); a reflected table has a
key and its values, nothing more. Rows travel as plain dicts of column values as the
driver read them, and are bound back exactly so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.column_kinds import ColumnKind, comparable, kind_of_type
from app.query import Column
from app.repositories.base import IDS_PER_STATEMENT, TableRepository

Row = dict[str, Any]
# Rows compared whole per statement: each brings a condition per column.
_ROWS_PER_STATEMENT = 100


class RowWriter:
    """Inserts, guarded updates and deletes of ``repository``'s table, in ``session``
    (flushed by the statements themselves; the caller's unit of work commits)."""

    def __init__(self, session: AsyncSession, repository: type[TableRepository]) -> None:
        self.session = session
        self.repository = repository
        self.table = repository.table
        self.key = repository.key

    def key_of(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(row[name] for name in self.key)

    def matches_key(self, key: Sequence[Any]) -> ColumnElement[bool]:
        return and_(
            *(
                _same(self.repository.column(name), value)
                for name, value in zip(self.key, key, strict=True)
            )
        )

    def holds(self, expected: Mapping[str, Any]) -> ColumnElement[bool]:
        """The row still holds every value of ``expected`` the database can compare as it
        was read. Left out: a type it has no equality for (point, xml), and PostgreSQL's
        interval, which its driver reads in days (a year as 365 of them, where the server
        counts 360): it would never find itself again. JSON compares as jsonb."""
        postgres = self.session.bind.dialect.name == "postgresql"
        conditions = []
        for column in self.table.c:
            if column.key not in expected:
                continue
            kind = kind_of_type(column.type)
            value = expected[column.key]
            if postgres and kind is ColumnKind.JSON:
                # Here only: the PostgreSQL dialect stays out of a start on SQLite.
                from sqlalchemy.dialects.postgresql import JSONB

                conditions.append(
                    cast(column, JSONB) == bindparam(None, value, type_=JSONB)
                    if value is not None
                    else column.is_(None)
                )
            elif comparable(column.type) and not (postgres and kind is ColumnKind.INTERVAL):
                conditions.append(_same(column, value))
        return and_(true(), *conditions)

    async def count_holding(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """How many of ``rows`` are there still as they were read, locked against other
        writers until the transaction ends (PostgreSQL; SQLite's write lock is held)."""
        held = 0
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start : start + _ROWS_PER_STATEMENT]
            matching = or_(*(and_(self.matches_key(self.key_of(r)), self.holds(r)) for r in chunk))
            statement = select(*(self.table.c[name] for name in self.key)).where(matching)
            if self.session.bind.dialect.name == "postgresql":
                statement = statement.with_for_update()
            held += len((await self.session.execute(statement)).all())
        return held

    async def delete_keys(self, keys: Sequence[Sequence[Any]]) -> None:
        """Delete the rows these keys name (a chunk a statement: a row another one's
        cascade took already is simply not there)."""
        for start in range(0, len(keys), IDS_PER_STATEMENT):
            chunk = keys[start : start + IDS_PER_STATEMENT]
            await self.session.execute(
                delete(self.table).where(or_(*(self.matches_key(key) for key in chunk)))
            )

    async def rows_referring(
        self, columns: Sequence[str], values: Sequence[tuple[Any, ...]]
    ) -> list[Row]:
        """The rows whose ``columns`` hold one of ``values`` (a foreign key's rows)."""
        referring = [self.repository.column(name) for name in columns]
        found: list[Row] = []
        step = max(1, IDS_PER_STATEMENT // len(referring))
        for start in range(0, len(values), step):
            chunk = values[start : start + step]
            condition: ColumnElement[bool]
            if len(referring) == 1:
                condition = referring[0].in_([value[0] for value in chunk])
            else:
                condition = or_(
                    *(
                        and_(*(_same(c, v) for c, v in zip(referring, value, strict=True)))
                        for value in chunk
                    )
                )
            result = await self.session.execute(select(*self.table.c).where(condition))
            found.extend(dict(row._mapping) for row in result)
        return found

    async def insert(self, values: Mapping[str, Any]) -> Row:
        """A new row of ``values`` (the rest left to the database's defaults); the row as
        stored, with its generated key."""
        statement = insert(self.table).values(dict(values))
        if self.session.bind.dialect.insert_returning:
            result = await self.session.execute(statement.returning(*self.table.c))
            return dict(result.one()._mapping)
        # An SQLite older than 3.35 has no RETURNING: the row is found by its rowid.
        await self.session.execute(statement)
        last = literal_column("rowid") == func.last_insert_rowid()
        found = await self.session.execute(select(*self.table.c).where(last))
        return dict(found.one()._mapping)

    async def update(
        self, key: Sequence[Any], expected: Mapping[str, Any], changes: Mapping[str, Any]
    ) -> Row | None:
        """Set ``changes`` on the row ``key`` names if it still holds ``expected``; the
        row as stored after, or None when no row matched (changed, or gone)."""
        if not changes:
            # Nothing to set: the row as it is, if it is still as read.
            found = await self.session.execute(
                select(*self.table.c).where(self.matches_key(key), self.holds(expected))
            )
            first = found.first()
            return None if first is None else dict(first._mapping)
        statement = (
            update(self.table)
            .where(self.matches_key(key), self.holds(expected))
            .values(dict(changes))
        )
        result = await self.session.execute(statement)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        new_key = [changes.get(name, part) for name, part in zip(self.key, key, strict=True)]
        return await self.row(new_key)

    async def row(self, key: Sequence[Any]) -> Row | None:
        found = await self.session.execute(select(*self.table.c).where(self.matches_key(key)))
        first = found.first()
        return None if first is None else dict(first._mapping)

    async def rows(self, keys: Sequence[Sequence[Any]]) -> list[Row]:
        """The rows these keys name, whole (the ones still there), in no set order."""
        found: list[Row] = []
        for start in range(0, len(keys), IDS_PER_STATEMENT):
            chunk = keys[start : start + IDS_PER_STATEMENT]
            statement = select(*self.table.c).where(or_(*(self.matches_key(k) for k in chunk)))
            found.extend(dict(row._mapping) for row in await self.session.execute(statement))
        return found


def _same(column: Column, value: Any) -> ColumnElement[bool]:
    if value is None:
        return column.is_(None)
    return column == bindparam(None, value, type_=column.type)
