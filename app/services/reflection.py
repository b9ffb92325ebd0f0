"""The catalog of another program's database, read from its schema when it opens.

Our own schema has models (exact money in cents, UTC times, soft delete, versions) and is
recognised by its migration table; any other database is described from what it says of
itself: its tables and views (every schema the user can read on PostgreSQL), their
columns and types, primary keys of any type, unique columns and foreign keys. The windows
then browse it as they browse ours, read-only.

On SQLite a declared type is only a hint: another program may keep ``2026-01-01T10:00Z``
or ``yesterday`` in a DATETIME column. Such columns are read as stored (``StoredAsIs``), so
a value is shown as what it is and never fails a page.
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    Column,
    Enum,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    inspect,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.engine.reflection import ObjectKind
from sqlalchemy.types import NullType, TypeEngine

from app.column_kinds import ColumnKind, Kind, integer_bounds, kind_of_type
from app.core.database import Database
from app.models.types import StoredAsIs
from app.services.catalog import Catalog, ColumnInfo, EntityInfo, Link, Relation
from app.services.errors import translate_errors

# Where a PostgreSQL server keeps its own tables, not a program's.
_SYSTEM_SCHEMAS = ("information_schema", "pg_")
# Text columns whose name says they name the row, in the order they are preferred.
_TITLE_NAMES = ("name", "title", "label", "code", "description")
# What a SQLite table without a key is paged by (see _Shape.by_rowid).
ROWID = "rowid"


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
    if connection.dialect.name == "sqlite":
        shapes = _sqlite_shapes(connection)
    else:
        shapes = _postgres_shapes(connection)
    shapes.sort(key=lambda shape: (shape.schema is not None, shape.name))
    metadata = MetaData()

    def table_of(info: EntityInfo) -> Table:
        return by_name[info.name].table_in(metadata)

    by_name = {shape.name: shape for shape in shapes}
    catalog = Catalog(_describe(shapes), ours=False, tables=table_of)
    return Reflected(catalog, time.perf_counter() - started)


@dataclass
class _Shape:
    """What the schema says of one table or view, before any SQLAlchemy Table is made of
    it (a thousand of those cost more than reading the schema): a Table is made when a
    window first reads the rows (``table_in``)."""

    table_name: str
    schema: str | None  # None: the default schema (or SQLite)
    view: bool
    # (name, type, nullable, unique on its own), in the table's order.
    columns: list[tuple[str, TypeEngine[Any], bool, bool]]
    key: tuple[str, ...]
    # (columns, table referred to, its columns), one per foreign key.
    references: list[tuple[tuple[str, ...], str, tuple[str, ...]]]
    table: Table | None = None
    # Paged by SQLite's rowid, which the key names though no column of the program does.
    by_rowid: bool = False

    @property
    def name(self) -> str:
        """The name a window and the command line use: ``schema.table`` outside the
        default schema, the bare table name inside it."""
        return self.table_name if self.schema is None else f"{self.schema}.{self.table_name}"

    def table_in(self, metadata: MetaData) -> Table:
        if self.table is None:
            table = Table(
                self.table_name,
                metadata,
                *(
                    Column(name, column_type, nullable=nullable, autoincrement=False)
                    for name, column_type, nullable, _unique in self.columns
                ),
                schema=self.schema,
            )
            if self.key and not self.by_rowid:
                table.append_constraint(PrimaryKeyConstraint(*self.key))
            if self.by_rowid:
                table.append_column(Column(ROWID, Integer, info={ROWID: True}))
            self.table = table
        return self.table


def _postgres_shapes(connection: Connection) -> list[_Shape]:
    """Each schema's tables and views from SQLAlchemy's bulk reflection queries (a few per
    schema, whatever the number of tables), without making a Table of each: that is
    done when a window first reads one (``_Shape.table_in``)."""
    inspector = inspect(connection)
    default = inspector.default_schema_name
    shapes = []
    for schema in _readable_schemas(connection, default):
        named = None if schema == default else schema
        views = set(inspector.get_view_names(schema=schema))
        views.update(inspector.get_materialized_view_names(schema=schema))
        with warnings.catch_warnings():
            # A type SQLAlchemy does not know (tsvector, point) is read as NullType:
            # shown as stored, never an error.
            warnings.simplefilter("ignore", sa_exc.SAWarning)
            every = ObjectKind.ANY
            columns = inspector.get_multi_columns(schema=named, kind=every)
            keys = inspector.get_multi_pk_constraint(schema=named, kind=every)
            foreign_keys = inspector.get_multi_foreign_keys(schema=named, kind=every)
            uniques = inspector.get_multi_unique_constraints(schema=named, kind=every)
            indexes = inspector.get_multi_indexes(schema=named, kind=every)
        for (_schema, name), found in columns.items():
            where = (_schema, name)
            primary = keys.get(where)
            unique = {
                constraint["column_names"][0]
                for constraint in uniques.get(where, [])
                if len(constraint["column_names"]) == 1
            }
            unique.update(
                str(index["column_names"][0])
                for index in indexes.get(where, [])
                if index["unique"] and len(index["column_names"]) == 1
            )
            references = []
            for reference in foreign_keys.get(where, []):
                target_schema = reference["referred_schema"]
                target = reference["referred_table"]
                if target_schema is not None and target_schema != default:
                    target = f"{target_schema}.{target}"
                references.append(
                    (
                        tuple(reference["constrained_columns"]),
                        target,
                        tuple(reference["referred_columns"]),
                    )
                )
            shapes.append(
                _Shape(
                    table_name=name,
                    schema=named,
                    view=name in views,
                    columns=[
                        (
                            column["name"],
                            column["type"],
                            bool(column["nullable"]),
                            column["name"] in unique,
                        )
                        for column in found
                    ],
                    key=tuple(primary["constrained_columns"]) if primary else (),
                    references=references,
                )
            )
    return shapes


def _sqlite_shapes(connection: Connection) -> list[_Shape]:
    """The file's tables and views from four queries over its catalog, whatever their
    number (SQLAlchemy's reflection asks several per table: seconds for a thousand)."""
    objects = connection.exec_driver_sql(
        "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    ).all()
    columns: dict[str, list[tuple[str, str, bool, int]]] = {name: [] for name, _ in objects}
    for table, name, declared, not_null, key_place in connection.exec_driver_sql(
        'SELECT m.name, p.name, p.type, p."notnull", p.pk '
        "FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
        "WHERE m.type IN ('table', 'view') ORDER BY m.name, p.cid"
    ):
        if table in columns:
            columns[table].append((name, declared or "", bool(not_null), int(key_place)))
    references: dict[str, dict[int, list[tuple[str, str, str | None]]]] = {}
    for table, number, target, source, target_column in connection.exec_driver_sql(
        'SELECT m.name, f.id, f."table", f."from", f."to" '
        "FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f "
        "WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq"
    ):
        references.setdefault(table, {}).setdefault(number, []).append(
            (target, source, target_column)
        )
    unique = {
        (table, column)
        for table, column in connection.exec_driver_sql(
            "SELECT m.name, i.name FROM sqlite_master AS m, pragma_index_list(m.name) AS l, "
            "pragma_index_info(l.name) AS i WHERE m.type = 'table' AND l.\"unique\" "
            "AND (SELECT count(*) FROM pragma_index_info(l.name)) = 1"
        )
    }
    known: dict[str, type[TypeEngine[Any]]] = getattr(connection.dialect, "ischema_names", {})
    keys = {
        name: tuple(
            entry[0]
            for entry in sorted(
                (entry for entry in columns[name] if entry[3] > 0), key=lambda entry: entry[3]
            )
        )
        for name, _kind in objects
    }
    shapes = []
    for name, kind in objects:
        linked = []
        for parts in references.get(name, {}).values():
            target = parts[0][0]
            if target not in columns:
                continue  # a reference to a table that is not there (SQLite allows it)
            named = [part[2] for part in parts]
            wanted = (
                tuple(column for column in named if column is not None)
                if None not in named
                else keys[target]
            )
            if len(wanted) == len(parts):
                linked.append((tuple(part[1] for part in parts), target, wanted))
        view = kind == "view"
        # A table without a key pages by its rowid: every such table has one (only
        # WITHOUT ROWID tables lack it, and they must have a key). One with a column of
        # that name of its own pages by OFFSET instead.
        by_rowid = not view and not keys[name] and all(c[0] != ROWID for c in columns[name])
        shapes.append(
            _Shape(
                table_name=name,
                schema=None,
                view=view,
                # A key column is taken for NOT NULL, as every other engine (and SQLite's
                # own WITHOUT ROWID and INTEGER keys) has it: a NULL key is a SQLite bug
                # kept for old files, and ordering by a nullable column (NULLS LAST)
                # makes SQLite sort the whole table instead of walking the key's index.
                columns=[
                    (
                        column,
                        _sqlite_type(declared, known),
                        not not_null and not place,
                        (name, column) in unique,
                    )
                    for column, declared, not_null, place in columns[name]
                ],
                key=(ROWID,) if by_rowid else keys[name],
                references=linked,
                by_rowid=by_rowid,
            )
        )
    return shapes


def _sqlite_type(declared: str, known: dict[str, type[TypeEngine[Any]]]) -> TypeEngine[Any]:
    """The type a declaration names, every value read as stored (``StoredAsIs``): SQLite
    keeps what it is given, so a DATETIME may hold "yesterday" and a TEXT column bytes.
    The declared type still makes the column's kind. A declaration that is no SQL type
    of SQLite's list (proj.db's INTEGER_OR_TEXT, holding 1024 and 'RGNC'), or none at
    all, is of no one kind: each value is shown as what it is."""
    name = declared.split("(")[0].strip().upper()
    found = known.get(name)
    if found is None:
        return StoredAsIs(NullType())
    column_type = found()
    if isinstance(column_type, String):
        size = re.search(r"\(\s*(\d+)", declared)
        if size:
            column_type = found(int(size.group(1)))  # type: ignore[call-arg]
    return StoredAsIs(column_type)


def _readable_schemas(connection: Connection, default: str | None) -> list[str]:
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


def _describe(shapes: list[_Shape]) -> list[EntityInfo]:
    keys = {shape.name: shape.key for shape in shapes}
    relations: dict[str, list[Relation]] = {shape.name: [] for shape in shapes}
    references: dict[tuple[str, str], str] = {}
    links: dict[str, list[Link]] = {shape.name: [] for shape in shapes}
    for shape in shapes:
        for source, target, target_columns in shape.references:
            if target not in keys or set(keys[target]) != set(target_columns):
                continue  # naming a unique column rather than the key: shown as its value
            # The referring columns in the order of the target's key.
            ordered = tuple(source[target_columns.index(name)] for name in keys[target])
            label = f"{shape.name} ({', '.join(ordered)})"
            if len(ordered) == 1:
                references[(shape.name, ordered[0])] = target
                relations[target].append(Relation(label, shape.name, ordered[0]))
            else:
                links[shape.name].append(Link(f"{target} ({', '.join(ordered)})", ordered, target))
                relations[target].append(Relation(label, shape.name, ordered[0], ordered))
    described = []
    for shape in shapes:
        name = shape.name
        identifiers = set(shape.key) | {
            column for source, _target, _columns in shape.references for column in source
        }
        columns = tuple(
            replace(
                _column(column, column_type, nullable, unique, references.get((name, column))),
                identifier=column in identifiers,
            )
            for column, column_type, nullable, unique in shape.columns
        )
        if shape.by_rowid:
            # Not the program's column: there to page by, shown when asked for.
            columns = (
                *columns,
                ColumnInfo(
                    name=ROWID,
                    label=ROWID,
                    kind=ColumnKind.INTEGER,
                    internal=True,
                    identifier=True,
                    unique=True,
                ),
            )
        described.append(
            EntityInfo(
                name=name,
                label=name,
                singular=name,
                columns=columns,
                searchable=tuple(column.name for column in columns if column.kind.text),
                title_columns=_title_columns(columns, shape.key),
                relations=tuple(relations[name]),
                read_only_reason=(
                    f"{name} is a view: its rows are read, not edited."
                    if shape.view
                    else f"{name} belongs to another program's database, open read-only."
                ),
                key=shape.key,
                soft_delete=None,
                version=None,
                schema=shape.schema,
                view=shape.view,
                table=shape.table,
                links=tuple(links[name]),
            )
        )
    return described


def _column(
    name: str, column_type: TypeEngine[Any], nullable: bool, unique: bool, references: str | None
) -> ColumnInfo:
    stored_kind = kind_of_type(column_type)
    kind: Kind = ColumnKind.REFERENCE if references is not None else stored_kind
    return ColumnInfo(
        name=name,
        label=name,
        kind=kind,
        nullable=nullable,
        choices=tuple(column_type.enums) if isinstance(column_type, Enum) else (),
        references=references,
        bounds=integer_bounds(column_type) if stored_kind is ColumnKind.INTEGER else None,
        length=getattr(column_type, "length", None) if stored_kind is ColumnKind.TEXT else None,
        multiline=isinstance(column_type, Text),
        unique=unique,
    )


def _title_columns(columns: tuple[ColumnInfo, ...], key: tuple[str, ...]) -> tuple[str, ...]:
    """A column that evidently names a row: a unique text column, or one called name,
    title, label, code or description; none when nothing is evident."""
    text_columns = [
        column for column in columns if column.kind is ColumnKind.TEXT and column.name not in key
    ]
    for column in text_columns:
        if column.unique:
            return (column.name,)
    lowered = {column.name.lower(): column.name for column in text_columns}
    for wanted in _TITLE_NAMES:
        if wanted in lowered:
            return (lowered[wanted],)
    return ()


# -- SQLite: declared types are hints --------------------------------------------------------


__all__ = ["Reflected", "reflect", "reflect_catalog"]
