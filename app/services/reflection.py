"""The catalog of another program's database, read from its schema when it opens.

Our own schema has models (exact money in cents, UTC times, soft delete, versions) and is
recognised by its migration table; any other database is described from what it says of
itself: its tables and views (every schema the user can read on PostgreSQL), their
columns and types, primary keys of any type, unique columns and foreign keys. The windows
then browse it as they browse ours, read-only.

On SQLite a declared type is only a hint: another program may keep ``2026-01-01T10:00Z``
or ``yesterday`` in a DATETIME column. Such columns are read as stored (``_AsStored``), so
a value is shown as what it is and never fails a page.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace
from datetime import date, datetime
from datetime import time as time_of_day
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import NullType, TypeDecorator, TypeEngine

from app.column_kinds import ColumnKind, Kind, integer_bounds, kind_of_type
from app.core.database import Database
from app.services.catalog import Catalog, ColumnInfo, EntityInfo, Relation
from app.services.errors import translate_errors

# Where a PostgreSQL server keeps its own tables, not a program's.
_SYSTEM_SCHEMAS = ("information_schema", "pg_")
# Text columns whose name says they name the row, in the order they are preferred.
_TITLE_NAMES = ("name", "title", "label", "code", "description")


@dataclass(frozen=True)
class Reflected:
    """A reflected catalog and how long reading the schema took."""

    catalog: Catalog
    seconds: float


async def reflect_catalog(database: Database) -> Catalog:
    """The catalog of what ``database`` holds, read from its schema (read-only)."""
    with translate_errors(database.url):
        async with database.engine.connect() as connection:
            found: Reflected = await connection.run_sync(reflect)
    return found.catalog


def reflect(connection: Connection) -> Reflected:
    """Read the schema over ``connection``: every table and view it can read."""
    started = time.perf_counter()
    inspector = inspect(connection)
    sqlite = connection.dialect.name == "sqlite"
    default = None if sqlite else inspector.default_schema_name
    schemas: list[str | None] = [None] if sqlite else _readable_schemas(connection, default)
    metadata = MetaData()
    views: set[tuple[str | None, str]] = set()
    for schema in schemas:
        views.update((schema, name) for name in inspector.get_view_names(schema=schema))
        with warnings.catch_warnings():
            # A type SQLAlchemy does not know (SQLite's INTEGER_OR_TEXT, PostgreSQL's
            # tsvector) is read as NullType: shown as stored, never an error.
            warnings.simplefilter("ignore", sa_exc.SAWarning)
            metadata.reflect(connection, schema=None if schema == default else schema, views=True)
    tables = sorted(
        (table for table in metadata.tables.values() if not _internal(table, sqlite)),
        key=lambda table: (table.schema != default and table.schema is not None, _name(table)),
    )
    if sqlite:
        for table in tables:
            _read_as_stored(table)
            if not table.primary_key.columns and (None, table.name) not in views:
                _key_by_rowid(table)
    kinds = _describe(tables, views, default)
    catalog = Catalog(kinds, ours=False)
    return Reflected(catalog, time.perf_counter() - started)


def _readable_schemas(connection: Connection, default: str | None) -> list[str | None]:
    """The schemas whose tables the user may read: usage granted, not the server's own."""
    rows = connection.execute(
        text(
            "SELECT nspname FROM pg_namespace "
            "WHERE has_schema_privilege(oid, 'USAGE') ORDER BY nspname"
        )
    )
    names = [name for (name,) in rows if not name.startswith(_SYSTEM_SCHEMAS)]
    names.sort(key=lambda name: name != default)
    return list(names)


def _internal(table: Table, sqlite: bool) -> bool:
    """SQLite's own bookkeeping (sqlite_sequence, sqlite_stat1): not the program's data."""
    return sqlite and table.name.startswith("sqlite_")


def _name(table: Table) -> str:
    """The name a window and the command line use: ``schema.table`` outside the default
    schema, the bare table name inside it."""
    return table.name if table.schema is None else f"{table.schema}.{table.name}"


def _describe(
    tables: list[Table], views: set[tuple[str | None, str]], default: str | None
) -> list[EntityInfo]:
    by_table = {table: _name(table) for table in tables}
    keys = {table: tuple(column.key for column in table.primary_key.columns) for table in tables}
    relations: dict[str, list[Relation]] = {name: [] for name in by_table.values()}
    references: dict[tuple[str, str], str] = {}
    for table in tables:
        for constraint in table.foreign_key_constraints:
            target = constraint.referred_table
            if target not in by_table or len(constraint.columns) != 1:
                continue  # a composite reference is shown as its values, for now
            (column,) = constraint.columns
            (element,) = constraint.elements
            if keys[target] != (element.column.key,):
                continue  # naming a unique column rather than the key: shown as its value
            references[(by_table[table], column.key)] = by_table[target]
            relations[by_table[target]].append(
                Relation(
                    label=f"{by_table[table]} ({column.key})",
                    entity=by_table[table],
                    column=column.key,
                )
            )
    described = []
    for table in tables:
        name = by_table[table]
        identifiers = set(keys[table]) | {
            column.key
            for constraint in table.foreign_key_constraints
            for column in constraint.columns
        }
        is_view = (None if table.schema == default else table.schema, table.name) in views
        columns = tuple(
            replace(
                _column(column, references.get((name, column.key))),
                identifier=column.key in identifiers,
            )
            for column in table.columns
        )
        if ROWID in table.c and table.c[ROWID].info.get(ROWID):
            # Not the program's column: there to page by, shown when asked for.
            columns = tuple(
                replace(column, internal=True) if column.name == ROWID else column
                for column in columns
            )
        key = keys[table]
        if not key and ROWID in table.c and table.c[ROWID].info.get(ROWID):
            key = (ROWID,)
        described.append(
            EntityInfo(
                name=name,
                label=name,
                singular=name,
                columns=columns,
                searchable=tuple(column.name for column in columns if column.kind.text),
                title_columns=_title_columns(table, columns, key),
                relations=tuple(relations[name]),
                read_only_reason=(
                    f"{name} is a view: its rows are read, not edited."
                    if is_view
                    else f"{name} belongs to another program's database, open read-only."
                ),
                key=key,
                soft_delete=None,
                version=None,
                schema=None if table.schema == default else table.schema,
                view=is_view,
                table=table,
            )
        )
    return described


def _column(column: Any, references: str | None) -> ColumnInfo:
    column_type = column.type
    kind: Kind = ColumnKind.REFERENCE if references is not None else kind_of_type(column_type)
    stored_kind = kind_of_type(column_type)
    return ColumnInfo(
        name=column.key,
        label=column.key,
        kind=kind,
        nullable=bool(column.nullable),
        choices=tuple(column_type.enums) if isinstance(column_type, Enum) else (),
        references=references,
        bounds=integer_bounds(column_type) if stored_kind is ColumnKind.INTEGER else None,
        length=getattr(column_type, "length", None) if stored_kind is ColumnKind.TEXT else None,
        multiline=isinstance(column_type, Text),
        unique=bool(column.unique),
    )


def _title_columns(
    table: Table, columns: tuple[ColumnInfo, ...], key: tuple[str, ...]
) -> tuple[str, ...]:
    """A column that evidently names a row: a unique text column, or one called name,
    title, label, code or description; none when nothing is evident."""
    text_columns = [column.name for column in columns if column.kind is ColumnKind.TEXT]
    unique = {
        constraint.columns.keys()[0]
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint) and len(constraint.columns) == 1
    }
    unique.update(
        index.columns.keys()[0]
        for index in table.indexes
        if index.unique and len(index.columns) == 1
    )
    unique.update(column.name for column in columns if column.unique)
    for name in text_columns:
        if name in unique and name not in key:
            return (name,)
    lowered = {name.lower(): name for name in text_columns if name not in key}
    for wanted in _TITLE_NAMES:
        if wanted in lowered:
            return (lowered[wanted],)
    return ()


# -- SQLite: a table without a key is paged by its rowid ----------------------------------

ROWID = "rowid"


def _key_by_rowid(table: Table) -> None:
    """Give a SQLite table without a primary key its ``rowid`` as one: every such table
    has it (only WITHOUT ROWID tables lack it, and they must have a key), so its rows
    page by keyset like any other's. A table with a column of that name of its own pages
    by OFFSET instead."""
    if ROWID in table.c:
        return
    table.append_column(Column(ROWID, Integer, info={ROWID: True}))


# -- SQLite: declared types are hints --------------------------------------------------------


class _AsStored(TypeDecorator[Any]):
    """A column of another program's SQLite file, read as stored: a DATETIME holding
    ``2026-01-01T10:00:00Z`` (or any text at all) comes back as that text, a BOOLEAN as
    its 0 or 1, a NUMERIC as the number SQLite kept. The declared type is kept
    (``impl_instance``), so the column's kind is still a date, a yes/no, a number: it
    decides the filters and how the value is shown."""

    impl = NullType
    cache_ok = True

    def __init__(self, declared: TypeEngine[Any]) -> None:
        super().__init__()
        self.impl = declared  # type: ignore[assignment]

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return NullType()

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        # As SQLite would compare them with what such a program writes: ISO text for
        # moments, 0/1 for yes/no, text for exact numbers (the column's affinity reads it).
        if isinstance(value, datetime):
            return value.isoformat(sep=" ")
        if isinstance(value, date | time_of_day):
            return value.isoformat()
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, Decimal):
            return str(value)
        return value

    @property
    def python_type(self) -> type[Any]:
        return self.impl_instance.python_type


# Declared types whose values SQLAlchemy would convert on reading, and fail on a value
# another program stored in another form.
_CONVERTED = (Date, DateTime, Time, Boolean, Numeric)


def _read_as_stored(table: Table) -> None:
    for column in table.columns:
        if isinstance(column.type, _CONVERTED) and not isinstance(column.type, String):
            column.type = _AsStored(column.type)


__all__ = ["Reflected", "reflect", "reflect_catalog"]
