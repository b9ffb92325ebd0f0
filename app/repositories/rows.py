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
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.column_kinds import comparable
from app.query import Column
from app.repositories.base import IDS_PER_STATEMENT, TableRepository

Row = dict[str, Any]


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
        """The row still holds every value of ``expected`` the database can compare (a
        JSON document or a type it cannot order is left out of the comparison)."""
        conditions = [
            _same(column, expected[column.key])
            for column in self.table.c
            if column.key in expected and comparable(column.type)
        ]
        return and_(true(), *conditions)

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

    async def delete(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Delete each of ``rows`` (full rows as read) if it still holds what was read;
        how many were deleted."""
        deleted = 0
        for row in rows:
            statement = delete(self.table).where(
                self.matches_key(self.key_of(row)), self.holds(row)
            )
            result = await self.session.execute(statement)
            deleted += int(result.rowcount)  # type: ignore[attr-defined]
        return deleted

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

    async def rows_in(self, columns: Sequence[str], selected: Select[Any]) -> list[Row]:
        """The rows whose ``columns`` hold a row of ``selected`` (a foreign key's rows)."""
        return [
            dict(row._mapping)
            for row in await self.session.execute(
                select(*self.table.c).where(self.within(columns, selected))
            )
        ]

    def within(self, columns: Sequence[str], selected: Select[Any]) -> ColumnElement[bool]:
        """``columns`` hold the values of one row of ``selected`` (as many columns)."""
        referring = [self.repository.column(name) for name in columns]
        if len(referring) == 1:
            return referring[0].in_(selected.scalar_subquery())
        return tuple_(*referring).in_(selected)


def _same(column: Column, value: Any) -> ColumnElement[bool]:
    if value is None:
        return column.is_(None)
    return column == bindparam(None, value, type_=column.type)
