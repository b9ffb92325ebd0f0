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
import functools
import re
import warnings
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import (
    Column,
    Enum,
    FetchedValue,
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

# Nullable timestamps named so are offered as a table's trash (the user confirms it).
_TRASH_NAMES = (
    "deleted_at",
    "deleted_on",
    "deleted",
    "date_deleted",
    "deletion_date",
    "removed_at",
    "trashed_at",
    "archived_at",
)
# Where a PostgreSQL server keeps its own tables, not a program's.
_SYSTEM_SCHEMAS = ("information_schema", "pg_")
# Text columns whose name says they name the row, in the order they are preferred.
_TITLE_NAMES = ("name", "title", "label", "code", "description")
# What a SQLite table without a key is paged by (see _Shape.by_rowid).
ROWID = "rowid"


async def reflect_catalog(database: Database) -> Catalog:
    """The catalog of what ``database`` holds, read from its schema (read-only), its
    tables editable where the connection allows editing it."""
    with translate_errors(database.url):
        async with database.engine.connect() as connection:
            read = functools.partial(reflect, editable=database.edits_foreign)
            return await connection.run_sync(read)


def reflect(connection: Connection, *, editable: bool = False) -> Catalog:
    """Read the schema over ``connection``: every table and view it can read. With
    ``editable``, each table with a key can be edited (views and tables without one stay
    read-only, saying why)."""
    if connection.dialect.name == "sqlite":
        shapes = _sqlite_shapes(connection)
    else:
        shapes = _postgres_shapes(connection)
    shapes.sort(key=lambda shape: (shape.schema is not None, shape.name))
    metadata = MetaData()

    def table_of(info: EntityInfo) -> Table:
        return by_name[info.name].table_in(metadata)

    by_name = {shape.name: shape for shape in shapes}
    return Catalog(_describe(shapes, editable=editable), ours=False, tables=table_of)


class _ColumnShape(NamedTuple):
    name: str
    type: TypeEngine[Any]
    nullable: bool
    # No other row holds the same value (a unique constraint or index of its own).
    unique: bool
    # The database gives it a value when an insert leaves it out (a default, an identity
    # or serial column, SQLite's INTEGER PRIMARY KEY).
    has_default: bool = False
    # Computed by the database (GENERATED ALWAYS, an identity ALWAYS): never written.
    generated: bool = False


class _Reference(NamedTuple):
    """A foreign key: ``columns`` hold ``target_columns`` of ``target``; ``on_delete``
    is what deleting a referenced row does to the rows holding it (CASCADE, SET NULL,
    SET DEFAULT, RESTRICT or NO ACTION) and ``name`` the constraint's name, if any."""

    columns: tuple[str, ...]
    target: str
    target_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"
    name: str = ""


@dataclass
class _Shape:
    """What the schema says of one table or view, before any SQLAlchemy Table is made of
    it (a thousand of those cost more than reading the schema): a Table is made when a
    window first reads the rows (``table_in``)."""

    table_name: str
    schema: str | None  # None: the default schema (or SQLite)
    view: bool
    # In the table's order.
    columns: list[_ColumnShape]
    key: tuple[str, ...]
    references: list[_Reference]
    table: Table | None = None
    # Paged by SQLite's rowid, which the key names though no column of the program does.
    by_rowid: bool = False
    # The CHECK constraints: (name, or "" when it has none; the condition's SQL).
    checks: list[tuple[str, str]] = field(default_factory=list)
    # The user may change its rows (PostgreSQL's UPDATE privilege; a SQLite file opened
    # for writing always).
    may_change: bool = True

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
                    Column(
                        column.name,
                        column.type,
                        # Filled by the database when an insert leaves it out.
                        *((FetchedValue(),) if column.has_default or column.generated else ()),
                        nullable=column.nullable,
                        autoincrement=False,
                    )
                    for column in self.columns
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
            checks = inspector.get_multi_check_constraints(schema=named, kind=every)
        # What the user may not read is not listed: counting it would only be refused.
        privileges: dict[str, bool] = {
            name: bool(may)
            for name, may in connection.execute(
                text(
                    "SELECT c.relname, has_table_privilege(c.oid, 'UPDATE') "
                    "FROM pg_class AS c JOIN pg_namespace AS n "
                    "ON n.oid = c.relnamespace WHERE n.nspname = :schema "
                    "AND has_table_privilege(c.oid, 'SELECT')"
                ),
                {"schema": schema},
            ).all()
        }
        readable = set(privileges)
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
                    _Reference(
                        tuple(reference["constrained_columns"]),
                        target,
                        tuple(reference["referred_columns"]),
                        str(reference.get("options", {}).get("ondelete") or "NO ACTION").upper(),
                        str(reference.get("name") or ""),
                    )
                )
            shapes.append(
                _Shape(
                    table_name=name,
                    schema=named,
                    view=name in views,
                    columns=[
                        _postgres_column(column, column["name"] in unique) for column in found
                    ],
                    key=tuple(primary["constrained_columns"]) if primary else (),
                    references=references,
                    checks=[
                        (str(check.get("name") or ""), str(check["sqltext"]))
                        for check in checks.get(where, [])
                    ],
                    may_change=bool(privileges.get(name)),
                )
            )
    return shapes


def _postgres_column(column: Any, unique: bool) -> _ColumnShape:
    """One column as SQLAlchemy's reflection describes it (a ReflectedColumn)."""
    identity: dict[str, Any] = dict(column.get("identity") or {})
    return _ColumnShape(
        column["name"],
        column["type"],
        bool(column["nullable"]),
        unique,
        # A default, a serial's nextval() or an identity: the database numbers a new row.
        has_default=column.get("default") is not None or bool(identity),
        generated=bool(column.get("computed")) or identity.get("always") is True,
    )


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
    on_delete: dict[tuple[str, int], str] = {}
    for table, number, target, source, target_column, action in _per_table(
        connection,
        'SELECT m.name, f.id, f."table", f."from", f."to", f.on_delete '
        "FROM {tables} AS m, pragma_foreign_key_list(m.name) AS f ORDER BY m.name, f.id, f.seq",
        tables,
    ):
        references.setdefault(table, {}).setdefault(number, []).append(
            (target, source, target_column)
        )
        on_delete[(table, number)] = str(action or "NO ACTION").upper()
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
        for number, parts in references.get(name, {}).items():
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
                linked.append(
                    _Reference(
                        tuple(part[1] for part in parts),
                        target,
                        wanted,
                        on_delete.get((name, number), "NO ACTION"),
                    )
                )
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
        table_sql = sql.get(name) or ""
        # An INTEGER PRIMARY KEY is the rowid itself: SQLite numbers a new row.
        keyed = [entry for entry in columns[name] if entry[3] > 0]
        rowid_alias = (
            len(keyed) == 1
            and keyed[0][1].strip().upper() == "INTEGER"
            and "WITHOUT ROWID" not in table_sql.upper()
        )
        shapes.append(
            _Shape(
                table_name=name,
                schema=None,
                view=view,
                columns=[
                    _ColumnShape(
                        column,
                        _sqlite_type(declared, known),
                        not not_null and (not place or null_in_key),
                        (name, column) in unique,
                        has_default=has_default or (rowid_alias and place > 0),
                    )
                    for column, declared, not_null, place, has_default in columns[name]
                ],
                key=key,
                references=linked,
                by_rowid=by_rowid,
                checks=_sqlite_checks(table_sql),
            )
        )
    return shapes


_TABLE_INFO = (
    'SELECT m.name, p.name, p.type, p."notnull", p.pk, p.dflt_value IS NOT NULL '
    "FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
    "WHERE m.type IN ('table', 'view') ORDER BY m.name, p.cid"
)


def _sqlite_columns(
    connection: Connection, names: list[str]
) -> dict[str, list[tuple[str, str, bool, int, bool]]]:
    """Each object's columns (name, declared type, NOT NULL, place in the key, whether
    it has a default), in one query; object by object where that query fails on one (a
    view over a dropped table), leaving out the ones that fail."""
    found: dict[str, list[tuple[str, str, bool, int, bool]]] = {name: [] for name in names}
    try:
        rows = connection.exec_driver_sql(_TABLE_INFO).all()
    except sa_exc.DBAPIError:
        rows = []
        for name in names:
            try:
                described = connection.exec_driver_sql(
                    'SELECT ?, name, type, "notnull", pk, dflt_value IS NOT NULL '
                    "FROM pragma_table_info(?) ORDER BY cid",
                    (name, name),
                ).all()
            except sa_exc.DBAPIError:
                del found[name]
                continue
            rows.extend(described)
    for table, name, declared, not_null, key_place, has_default in rows:
        if table in found:
            found[table].append(
                (name, declared or "", bool(not_null), int(key_place), bool(has_default))
            )
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
    connection: Connection, table: str, columns: list[tuple[str, str, bool, int, bool]], sql: str
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


def _describe(shapes: list[_Shape], *, editable: bool) -> list[EntityInfo]:
    keys = {shape.name: shape.key for shape in shapes}
    relations: dict[str, list[Relation]] = {shape.name: [] for shape in shapes}
    dependents: dict[str, list[Relation]] = {shape.name: [] for shape in shapes}
    references: dict[tuple[str, str], str] = {}
    links: dict[str, list[Link]] = {shape.name: [] for shape in shapes}
    for shape in shapes:
        for reference in shape.references:
            source, target, target_columns = reference[:3]
            if target not in keys:
                continue
            if set(keys[target]) != set(target_columns):
                # Naming a unique column rather than the key: shown as its value, and
                # counted by a delete of the rows it names.
                label = f"{shape.name} ({', '.join(source)})"
                dependents[target].append(
                    Relation(
                        label,
                        shape.name,
                        source[0],
                        source if len(source) > 1 else (),
                        on_delete=reference.on_delete,
                        target_columns=target_columns,
                    )
                )
                continue
            # The referring columns in the order of the target's key.
            ordered = tuple(source[target_columns.index(name)] for name in keys[target])
            label = f"{shape.name} ({', '.join(ordered)})"
            several = ordered if len(ordered) > 1 else ()
            relations[target].append(
                Relation(label, shape.name, ordered[0], several, on_delete=reference.on_delete)
            )
            if len(ordered) == 1:
                references[(shape.name, ordered[0])] = target
            else:
                links[shape.name].append(Link(f"{target} ({', '.join(ordered)})", ordered, target))
    described = []
    for shape in shapes:
        name = shape.name
        identifiers = set(shape.key) | {
            column for reference in shape.references for column in reference.columns
        }
        rules = _column_rules(shape)
        columns = tuple(
            replace(
                _column(column, references.get((name, column.name)), rules.get(column.name, [])),
                identifier=column.name in identifiers,
                fixed=column.name in shape.key,
            )
            for column in shape.columns
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
                    managed=True,
                ),
            )
        if shape.view:
            reason = f"{name} is a view: its rows are read, not edited."
        elif not editable:
            reason = (
                f"{name} belongs to another program's database, open read-only (editing it "
                "is allowed per connection, in File → Connections…)."
            )
        elif shape.by_rowid or not shape.key:
            reason = f"{name} has no key naming each row: its rows are read, not edited."
        elif not shape.may_change:
            reason = f"The database does not let this user change {name}: it is read-only."
        else:
            reason = ""
        described.append(
            EntityInfo(
                name=name,
                label=name,
                singular=name,
                columns=columns,
                searchable=tuple(column.name for column in columns if column.kind.text),
                title_columns=_title_columns(columns, shape.key),
                relations=tuple(relations[name]),
                read_only_reason=reason,
                key=shape.key,
                soft_delete=None,
                version=None,
                schema=shape.schema,
                view=shape.view,
                table=shape.table,
                links=tuple(links[name]),
                checks=tuple(shape.checks),
                dependents=tuple(dependents[name]),
                trash_candidate=_trash_candidate(columns) if not reason else None,
            )
        )
    return described


# Kinds a form edits as typed text or a choice; bytes, arrays and unknown types are
# shown, never written (their text would not be the value).
_NOT_EDITED = {
    ColumnKind.BLOB: "Bytes are shown here, not edited.",
    ColumnKind.ARRAY: "Lists are shown here, not edited.",
    ColumnKind.UNKNOWN: "Of a type Records Desk does not know: shown, not edited.",
}


def _column(column: _ColumnShape, references: str | None, rules: list[str]) -> ColumnInfo:
    column_type = column.type
    stored_kind = kind_of_type(column_type)
    kind: Kind = ColumnKind.REFERENCE if references is not None else stored_kind
    minimum = _minimum(column.name, rules)
    return ColumnInfo(
        sortable=comparable(column_type),
        name=column.name,
        label=column.name,
        kind=kind,
        nullable=column.nullable,
        choices=tuple(column_type.enums) if isinstance(column_type, Enum) else (),
        references=references,
        bounds=integer_bounds(column_type) if stored_kind is ColumnKind.INTEGER else None,
        length=getattr(column_type, "length", None) if stored_kind is ColumnKind.TEXT else None,
        multiline=isinstance(column_type, Text),
        unique=column.unique,
        required=not column.nullable and not column.has_default and not column.generated,
        managed=column.generated,
        derived=_NOT_EDITED.get(stored_kind, "") if not column.generated else "",
        database_default=column.has_default or column.generated,
        rules=tuple(rules),
        minimum=minimum[0] if minimum else None,
        minimum_exclusive=minimum[1] if minimum else False,
    )


def _trash_candidate(columns: tuple[ColumnInfo, ...]) -> str | None:
    """A nullable date or timestamp named like a trash marker, if the table has one."""
    moments = (ColumnKind.DATETIME, ColumnKind.TIMESTAMP, ColumnKind.DATE)
    by_name = {c.name.lower(): c for c in columns if c.nullable and c.kind in moments}
    found = next((by_name[name] for name in _TRASH_NAMES if name in by_name), None)
    return found.name if found is not None else None


def _column_rules(shape: _Shape) -> dict[str, list[str]]:
    """The CHECK conditions about one column only, by column: the field rules a form
    shows beside it (a condition over several columns is the database's to apply)."""
    names = [column.name for column in shape.columns]
    rules: dict[str, list[str]] = {}
    for _name, condition in shape.checks:
        named = [name for name in names if mentions(condition, name)]
        if len(named) == 1:
            rules.setdefault(named[0], []).append(condition)
    return rules


def mentions(condition: str, column: str) -> bool:
    """Whether the SQL ``condition`` names ``column`` (bare or quoted)."""
    pattern = rf'(?<![\w"]){re.escape(column)}(?![\w"])|"{re.escape(column)}"'
    return re.search(pattern, condition, flags=re.IGNORECASE) is not None


# "price >= 0", PostgreSQL's "(price >= (0)::numeric)", "qty > 0".
_MINIMUM = re.compile(
    r"^\(*\s*\"?(\w+)\"?\s*(>=|>)\s*\(*\s*(-?\d+(?:\.\d+)?)\s*\)*(?:::[\w ]+)?\s*\)*$"
)


def _minimum(column: str, rules: list[str]) -> tuple[Decimal, bool] | None:
    """The smallest value a rule allows (and whether only above it), where one says so
    plainly: what the form checks before the database does."""
    for rule in rules:
        match = _MINIMUM.match(rule.strip())
        if match and match.group(1).lower() == column.lower():
            return Decimal(match.group(3)), match.group(2) == ">"
    return None


def _sqlite_checks(sql: str) -> list[tuple[str, str]]:
    """The CHECK constraints of a SQLite table, from its CREATE TABLE statement: (name,
    or "" when unnamed; the condition), read by matching parentheses outside quotes."""
    found: list[tuple[str, str]] = []
    for match in re.finditer(
        r'(?:CONSTRAINT\s+("[^"]+"|\w+)\s+)?CHECK\s*\(', sql, flags=re.IGNORECASE
    ):
        depth, position, quote = 1, match.end(), ""
        while position < len(sql) and depth:
            char = sql[position]
            if quote:
                if char == quote:
                    quote = ""
            elif char in "'\"`[":
                quote = "]" if char == "[" else char
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            position += 1
        if depth == 0:
            name = (match.group(1) or "").strip('"')
            found.append((name, sql[match.end() : position - 1].strip()))
    return found


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


__all__ = ["mentions", "reflect", "reflect_catalog"]
