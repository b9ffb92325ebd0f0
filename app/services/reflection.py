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

import contextlib
import re
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

from app.column_kinds import ColumnKind, Kind, comparable, integer_bounds, kind_of_type
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


async def reflect_catalog(database: Database) -> Catalog:
    """The catalog of what ``database`` holds, read from its schema (read-only)."""
    with translate_errors(database.url):
        async with database.engine.connect() as connection:
            return await connection.run_sync(reflect)


def reflect(connection: Connection) -> Catalog:
    """Read the schema over ``connection``: every table and view it can read."""
    if connection.dialect.name == "sqlite":
        shapes = _sqlite_shapes(connection)
    else:
        shapes = _postgres_shapes(connection)
    shapes.sort(key=lambda shape: (shape.schema is not None, shape.name))
    metadata = MetaData()

    def table_of(info: EntityInfo) -> Table:
        return by_name[info.name].table_in(metadata)

    by_name = {shape.name: shape for shape in shapes}
    return Catalog(_describe(shapes), ours=False, tables=table_of)


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
                # Never NULL: paged by it as by any key (a nullable one would be ordered
                # NULLS LAST, which walks the whole table for every page).
                table.append_column(Column(ROWID, Integer, nullable=False, info={ROWID: True}))
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
        # What the user may not read is not listed: counting it would only be refused.
        readable = set(
            connection.execute(
                text(
                    "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n "
                    "ON n.oid = c.relnamespace WHERE n.nspname = :schema "
                    "AND has_table_privilege(c.oid, 'SELECT')"
                ),
                {"schema": schema},
            ).scalars()
        )
        for (_schema, name), found in columns.items():
            if name not in readable:
                continue
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
    listed = connection.exec_driver_sql(
        "SELECT name, type, sql FROM sqlite_master WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    ).all()
    sql = {name: text for name, _kind, text in listed}
    columns = _sqlite_columns(connection, [name for name, _kind, _sql in listed])
    # A view over a dropped table, a virtual table whose module this SQLite lacks: what
    # cannot be described is left out, never the whole file refused.
    objects = [(name, kind) for name, kind, _sql in listed if name in columns]
    tables = [name for name, kind in objects if kind == "table"]
    references: dict[str, dict[int, list[tuple[str, str, str | None]]]] = {}
    for table, number, target, source, target_column in _per_table(
        connection,
        'SELECT m.name, f.id, f."table", f."from", f."to" '
        "FROM {tables} AS m, pragma_foreign_key_list(m.name) AS f ORDER BY m.name, f.id, f.seq",
        tables,
    ):
        references.setdefault(table, {}).setdefault(number, []).append(
            (target, source, target_column)
        )
    unique = {
        (table, column)
        for table, column in _per_table(
            connection,
            "SELECT m.name, i.name FROM {tables} AS m, pragma_index_list(m.name) AS l, "
            'pragma_index_info(l.name) AS i WHERE l."unique" '
            "AND (SELECT count(*) FROM pragma_index_info(l.name)) = 1",
            tables,
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
        null_in_key = not view and _null_in_key(
            connection, name, columns[name], sql.get(name) or ""
        )
        # A table without a key (or whose key holds a NULL) pages by its rowid: every such
        # table has one (only WITHOUT ROWID tables lack it, and they must have a key). One
        # with a column of that name of its own pages by OFFSET instead.
        by_rowid = (
            not view
            and (not keys[name] or null_in_key)
            and all(c[0].lower() not in ("rowid", "_rowid_", "oid") for c in columns[name])
        )
        key = (ROWID,) if by_rowid else () if null_in_key else keys[name]
        shapes.append(
            _Shape(
                table_name=name,
                schema=None,
                view=view,
                columns=[
                    (
                        column,
                        _sqlite_type(declared, known),
                        not not_null and (not place or null_in_key),
                        (name, column) in unique,
                    )
                    for column, declared, not_null, place in columns[name]
                ],
                key=key,
                references=linked,
                by_rowid=by_rowid,
            )
        )
    return shapes


_TABLE_INFO = (
    'SELECT m.name, p.name, p.type, p."notnull", p.pk '
    "FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
    "WHERE m.type IN ('table', 'view') ORDER BY m.name, p.cid"
)


def _sqlite_columns(
    connection: Connection, names: list[str]
) -> dict[str, list[tuple[str, str, bool, int]]]:
    """Each object's columns (name, declared type, NOT NULL, place in the key), in one
    query; object by object where that query fails on one (a view over a dropped
    table), leaving out the ones that fail."""
    found: dict[str, list[tuple[str, str, bool, int]]] = {name: [] for name in names}
    try:
        rows = connection.exec_driver_sql(_TABLE_INFO).all()
    except sa_exc.DBAPIError:
        rows = []
        for name in names:
            try:
                described = connection.exec_driver_sql(
                    'SELECT ?, name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid',
                    (name, name),
                ).all()
            except sa_exc.DBAPIError:
                del found[name]
                continue
            rows.extend(described)
    for table, name, declared, not_null, key_place in rows:
        if table in found:
            found[table].append((name, declared or "", bool(not_null), int(key_place)))
    return found


def _per_table(connection: Connection, sql: str, tables: list[str]) -> list[Any]:
    """``sql`` over every table at once (``{tables}`` a list of their names), or table by
    table where that fails on one, leaving out the ones that fail."""
    every = "(SELECT name FROM sqlite_master WHERE type = 'table')"
    try:
        return list(connection.exec_driver_sql(sql.format(tables=every)).all())
    except sa_exc.DBAPIError:
        rows: list[Any] = []
        for table in tables:
            with contextlib.suppress(sa_exc.DBAPIError):
                one = connection.exec_driver_sql(sql.format(tables="(SELECT ? AS name)"), (table,))
                rows.extend(one.all())
        return rows


def _null_in_key(
    connection: Connection, table: str, columns: list[tuple[str, str, bool, int]], sql: str
) -> bool:
    """Whether the key of ``table`` holds a NULL: SQLite keeps one in a key column it does
    not declare NOT NULL (but never in an INTEGER PRIMARY KEY or a WITHOUT ROWID table).
    Such a key names no row, and the table pages by its rowid instead; a key without one
    is ordered plainly, walking its index (NULLS LAST would sort the whole table). One
    look, through the key's own index."""
    keyed = [entry for entry in columns if entry[3] > 0]
    maybe = [entry[0] for entry in keyed if not entry[2]]
    if not maybe or "WITHOUT ROWID" in sql.upper():
        return False
    if len(keyed) == 1 and keyed[0][1].strip().upper() == "INTEGER":
        return False  # the rowid itself
    quoted = table.replace('"', '""')
    missing = " OR ".join(f'"{name.replace(chr(34), chr(34) * 2)}" IS NULL' for name in maybe)
    found = connection.exec_driver_sql(
        f'SELECT EXISTS (SELECT 1 FROM "{quoted}" WHERE {missing})'  # noqa: S608
    ).scalar()
    return bool(found)


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
        sortable=comparable(column_type),
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


__all__ = ["reflect", "reflect_catalog"]
