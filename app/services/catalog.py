"""What kinds of record there are, their columns, and how they relate — described in plain
data, so the UI can generate its columns, filters and relation menus without SQLAlchemy."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Enum, FromClause, Integer, String, Table, Text
from sqlalchemy.sql.schema import Column as SAColumn

from app.column_kinds import ColumnKind as ColumnKind
from app.column_kinds import Kind as Kind
from app.column_kinds import kind_of_type
from app.core.database import Database
from app.query import IntegerBounds, integer_bounds
from app.repositories import REPOSITORIES
from app.repositories.base import MANAGED_COLUMNS, TableRepository
from app.services.errors import ValidationError


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    label: str
    kind: Kind
    nullable: bool = False
    choices: tuple[str, ...] = ()
    # For a REFERENCE: the entity whose id this column holds.
    references: str | None = None
    # Left out of a window's columns until asked for (from Columns): secrets, even hashed.
    hidden_by_default: bool = False
    # For a whole-number column (INTEGER, REFERENCE): the numbers it can hold.
    bounds: IntegerBounds | None = None
    # Kept by Records Desk (id, timestamps, version, deleted): shown, never edited.
    managed: bool = False
    # Records Desk's own bookkeeping (when a record went to the trash, how often it was
    # saved): left out of a window's columns until asked for from Columns, as a secret is,
    # but no secret — the record shows it and an export of all columns writes it.
    internal: bool = False
    # A new record needs a value: no default, and NULL or (for text) blank is refused.
    required: bool = False
    # What a new record holds when the form leaves the field alone (None: nothing).
    default: Any = None
    # For TEXT: the most characters the column holds (None: no limit), and whether it is
    # meant for paragraphs rather than one line.
    length: int | None = None
    multiline: bool = False
    # For TEXT with a shape: "email" or "url".
    text_format: str = ""
    # For INTEGER and MONEY: the smallest value the schema's CHECK allows, and whether the
    # value must be greater than it (``> 0``) rather than at least it (``>= 0``).
    minimum: Decimal | None = None
    minimum_exclusive: bool = False
    # No two records hold the same value (deleted ones included).
    unique: bool = False
    # Set through its own dialog and never shown in a form: a password's hash.
    secret: bool = False
    # Kept by the data layer from other records (why, in words; "" when not): a balance
    # moves only with a transfer, an order's total is the sum of its items.
    derived: str = ""
    # Given when the record is created and never changed after: an account's opening balance.
    fixed: bool = False
    # Part of the row's key or of a reference to another row (a code, not a quantity):
    # never added up, whatever its type.
    identifier: bool = False
    # The database can sort and group by it (PostgreSQL cannot by json, xml or point).
    sortable: bool = True
    # Another program's column the database fills when a new row leaves it out (a
    # default, an identity or serial key, a generated value): a form's blank is left out.
    database_default: bool = False
    # The CHECK conditions of another program's table about this column alone, as the
    # database states them: shown beside the field.
    rules: tuple[str, ...] = ()

    @property
    def editable(self) -> bool:
        return not self.managed and not self.secret and not self.derived


@dataclass(frozen=True)
class Relation:
    """The records of ``entity`` whose ``column`` holds this record's id (whose
    ``columns`` hold its key, for a key of several columns)."""

    label: str
    entity: str
    column: str
    columns: tuple[str, ...] = ()
    # What deleting this record does to the related ones, as the database's foreign key
    # says (another program's: CASCADE, SET NULL, SET DEFAULT, RESTRICT, NO ACTION).
    on_delete: str = ""
    # The columns of this record the related ones hold, where not its key (a foreign key
    # to a unique column: one of ``EntityInfo.dependents``).
    target_columns: tuple[str, ...] = ()

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The related records' columns that hold this record's key, in its key's order."""
        return self.columns or (self.column,)


@dataclass(frozen=True)
class Link:
    """A reference by several columns (``columns``, in the order of ``target``'s key) to
    the record of ``target`` whose key they hold: another program's composite foreign key.
    A reference by one column is that column's ``ColumnInfo.references``."""

    label: str
    columns: tuple[str, ...]
    target: str


@dataclass(frozen=True)
class EntityInfo:
    name: str
    label: str
    singular: str
    columns: tuple[ColumnInfo, ...]
    searchable: tuple[str, ...]
    # Shown to name a record in pickers and titles, after its id.
    title_columns: tuple[str, ...]
    relations: tuple[Relation, ...]
    # Why the record dialog cannot create or edit this kind ("" when it can): a transfer
    # is written by Transfer funds, which moves the balances with it.
    read_only_reason: str = ""
    # The columns whose values name one row (a primary key of any type, one column or
    # several); () when nothing does (a view, a table without a key).
    key: tuple[str, ...] = ("id",)
    # The nullable timestamp that marks a row as in the trash, and the column counting
    # its saves for conflict checks: ours have both; another program's tables neither.
    soft_delete: str | None = "deleted_at"
    version: str | None = "version"
    # The PostgreSQL schema the table is in (None: the default one, or SQLite).
    schema: str | None = None
    # A view rather than a table.
    view: bool = False
    # The table the repositories query (a SQLAlchemy Table; none of the windows' business).
    table: Any = field(default=None, compare=False, repr=False)
    # References by several columns (a column holding part of one follows it).
    links: tuple[Link, ...] = ()
    # Another program's CHECK constraints: (name, "" when it has none; the condition).
    checks: tuple[tuple[str, str], ...] = ()
    # Foreign keys to one of its unique columns rather than its key: not followed from a
    # window, but a delete counts (and cascades) through them as through ``relations``.
    dependents: tuple[Relation, ...] = ()
    # Another program's nullable timestamp named like a trash marker (deleted_at…): used
    # as ``soft_delete`` only once the user confirms it for this table.
    trash_candidate: str | None = None

    def link_of(self, column: str) -> Link | None:
        """The reference by several columns that ``column`` is part of, if any."""
        return next((link for link in self.links if column in link.columns), None)

    def column(self, name: str) -> ColumnInfo:
        for column in self.columns:
            if column.name == name:
                return column
        raise ValidationError(f"{self.label} have no column {name!r}.")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


_LABELS = {
    "id": "ID",
    "is_active": "Active",
    "author_id": "Author",
    "user_id": "User",
    "owner_id": "Owner",
    "order_id": "Order",
    "from_account_id": "From account",
    "to_account_id": "To account",
    "avatar_url": "Avatar URL",
    "created_at": "Created",
    "updated_at": "Updated",
    "deleted_at": "Deleted",
    "transferred_at": "Transferred",
    "unit_price": "Unit price",
    "opening_balance": "Opening balance",
}
_SINGULAR = {"order_items": "Order item", "users": "User", "accounts": "Account"}
# (entity, column) pairs no window shows unasked: a password hash is a secret to an analyst.
_HIDDEN_BY_DEFAULT = frozenset({("users", "hashed_password")})
# Bookkeeping columns of every kind a grid leaves out unasked: outside the trash view
# deleted_at is always empty (the trash view says when in each row's tooltip), and version
# only counts saves for conflict checks. updated_at stays: when a record last changed is
# an analyst's question too, and the one column to sort by for recent edits.
_INTERNAL = frozenset({"deleted_at", "version"})
# Columns set through their own dialog (Set password…), never typed into a form.
_SECRET = frozenset({("users", "hashed_password")})
_DERIVED = {
    ("accounts", "balance"): "A balance changes only with Transfer funds.",
    ("orders", "total"): "An order's total is the sum of its items.",
}
_FIXED = frozenset({("accounts", "opening_balance")})
_READ_ONLY = {
    "transfers": "Transfers are made with Transfer funds, which moves the balances with them.",
}
_TITLE_COLUMNS = {
    "users": ("name", "email"),
    "profiles": ("user_id",),
    "posts": ("title",),
    "orders": ("status", "total"),
    "order_items": ("product", "quantity"),
    "accounts": ("name", "balance"),
    "transfers": ("amount",),
}


class Catalog:
    """What one open database holds: its kinds of record, by name, in the order the main
    window lists them. Ours is built from our models; another program's database gets
    one reflected from its schema when it opens (app/services/reflection.py)."""

    def __init__(
        self,
        kinds: Iterable[EntityInfo],
        *,
        ours: bool,
        repositories: Mapping[str, type[TableRepository]] | None = None,
        tables: Callable[[EntityInfo], Table] | None = None,
    ) -> None:
        """``tables`` makes the Table of a kind described without one (a reflected
        SQLite file's: made when first read, not for each of a thousand at open)."""
        self._kinds = {info.name: info for info in kinds}
        # Our own schema (recognised by its migrations), with its models' rules.
        self.ours = ours
        self._repositories = dict(repositories or {})
        self._tables = tables

    def repository(self, name: str) -> type[TableRepository]:
        """The repository class reading ``name``'s table (made on first use for a
        reflected one)."""
        found = self._repositories.get(name)
        if found is None:
            info = self.entity(name)
            table = info.table
            if table is None:
                assert self._tables is not None, f"{name} was described without a table"
                table = self._tables(info)
            found = TableRepository.for_table(
                table, key=info.key, soft_delete=info.soft_delete, searchable=info.searchable
            )
            self._repositories[name] = found
        return found

    def entities(self) -> list[EntityInfo]:
        return list(self._kinds.values())

    def entity(self, name: str) -> EntityInfo:
        try:
            return self._kinds[name]
        except KeyError:
            known = ", ".join(list(self._kinds)[:10])
            more = "…" if len(self._kinds) > 10 else ""
            raise ValidationError(
                f"There are no {name!r} records; choose one of {known}{more}."
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def use_trash(self, name: str, column: str | None) -> EntityInfo:
        """Another program's table with its ``trash_candidate`` column used as the trash
        (a row whose column is set is in it), or no longer (None): the kind as it is now.
        Nothing in the database changes; windows opened from now on read it so."""
        info = self.entity(name)
        if self.ours or column not in (None, info.trash_candidate):
            raise ValidationError(f"{info.label} has no column {column!r} to use as a trash.")
        columns = tuple(
            replace(c, internal=c.name == column, managed=c.name == column)
            if c.name == (column or info.soft_delete)
            else c
            for c in info.columns
        )
        changed = replace(info, soft_delete=column, columns=columns)
        self._kinds[name] = changed
        self._repositories.pop(name, None)  # made again, filtering by the column
        return changed


def entities() -> list[EntityInfo]:
    """Our kinds of record, in the order the main window lists them."""
    return OURS.entities()


def entity(name: str) -> EntityInfo:
    """One of our kinds of record (a database's own are ``Workspace.catalog``'s)."""
    return OURS.entity(name)


def label_of(name: str) -> str:
    return _LABELS.get(name, name.replace("_", " ").capitalize())


def _column_kind(column: SAColumn[Any]) -> tuple[Kind, tuple[str, ...], str | None]:
    if column.foreign_keys:
        (foreign_key,) = column.foreign_keys
        return ColumnKind.REFERENCE, (), foreign_key.column.table.name
    column_type = column.type
    choices = tuple(column_type.enums) if isinstance(column_type, Enum) else ()
    return kind_of_type(column_type), choices, None


# CHECK constraints the form can apply itself: "column >= 0", "column > 0", "column <> ''".
_MINIMUM_CHECK = re.compile(r"^\s*(\w+)\s*(>=|>)\s*(-?\d+(?:\.\d+)?)\s*$")
_NOT_EMPTY_CHECK = re.compile(r"^\s*(\w+)\s*<>\s*''\s*$")


def _checks(table: FromClause) -> tuple[dict[str, tuple[Decimal, bool]], set[str]]:
    """The minimums (value, exclusive) and the not-empty text columns the CHECKs name."""
    minimums: dict[str, tuple[Decimal, bool]] = {}
    not_empty: set[str] = set()
    for constraint in getattr(table, "constraints", ()):
        if not isinstance(constraint, CheckConstraint):
            continue
        sql = str(constraint.sqltext)
        if match := _MINIMUM_CHECK.match(sql):
            minimums[match.group(1)] = (Decimal(match.group(3)), match.group(2) == ">")
        elif match := _NOT_EMPTY_CHECK.match(sql):
            not_empty.add(match.group(1))
    return minimums, not_empty


def _default_of(column: SAColumn[Any]) -> Any:
    """The Python default a new record gets, as the form shows it (None when there is none
    or it is computed, like a timestamp's now())."""
    default = column.default
    if default is None or not getattr(default, "is_scalar", False):
        return None
    value = default.arg  # type: ignore[attr-defined]
    return value.value if isinstance(value, enum.Enum) else value


def _text_format(name: str) -> str:
    if name == "email":
        return "email"
    if name.endswith("_url"):
        return "url"
    return ""


def _build() -> dict[str, EntityInfo]:
    tables = {name: repository.model.__table__ for name, repository in REPOSITORIES.items()}
    relations: dict[str, list[Relation]] = {name: [] for name in tables}
    for name, table in tables.items():
        foreign_keys = [column for column in table.columns if column.foreign_keys]
        for column in foreign_keys:
            target = next(iter(column.foreign_keys)).column.table.name
            several = sum(
                1
                for other in foreign_keys
                if next(iter(other.foreign_keys)).column.table.name == target
            )
            label = label_of(name)
            if column.unique:  # one-to-one: a user's profile, not profiles
                label = label.removesuffix("s")
            if several > 1:
                label = f"{label} ({label_of(column.name).lower()})"
            relations[target].append(Relation(label=label, entity=name, column=column.name))
    catalog: dict[str, EntityInfo] = {}
    for name, table in tables.items():
        columns = []
        minimums, not_empty = _checks(table)
        for column in table.columns:
            kind, choices, references = _column_kind(column)  # type: ignore[arg-type]
            managed = column.key in MANAGED_COLUMNS
            default = _default_of(column)  # type: ignore[arg-type]
            has_default = column.default is not None or column.server_default is not None
            minimum = minimums.get(column.key)
            columns.append(
                ColumnInfo(
                    name=column.key,
                    label=label_of(column.key),
                    kind=kind,
                    nullable=bool(column.nullable),
                    choices=choices,
                    references=references,
                    hidden_by_default=(name, column.key) in _HIDDEN_BY_DEFAULT,
                    bounds=integer_bounds(column.type)
                    if isinstance(column.type, Integer)
                    else None,
                    managed=managed,
                    internal=column.key in _INTERNAL,
                    required=not managed
                    and not column.nullable
                    and (not has_default or column.key in not_empty),
                    default=default,
                    length=column.type.length if isinstance(column.type, String) else None,
                    multiline=isinstance(column.type, Text),
                    text_format=_text_format(column.key) if kind is ColumnKind.TEXT else "",
                    minimum=minimum[0] if minimum else None,
                    minimum_exclusive=minimum[1] if minimum else False,
                    unique=bool(column.unique),
                    secret=(name, column.key) in _SECRET,
                    derived=_DERIVED.get((name, column.key), ""),
                    fixed=(name, column.key) in _FIXED,
                )
            )
        label = label_of(name)
        catalog[name] = EntityInfo(
            name=name,
            label=label,
            singular=_SINGULAR.get(name, label.removesuffix("s")),
            columns=tuple(columns),
            searchable=REPOSITORIES[name].searchable,
            title_columns=_TITLE_COLUMNS[name],
            relations=tuple(relations[name]),
            read_only_reason=_READ_ONLY.get(name, ""),
            table=table,
        )
    return catalog


OURS = Catalog(_build().values(), ours=True, repositories=REPOSITORIES)


def catalog_of(database: Database) -> Catalog:
    """What ``database`` holds: the catalog reflected when it opened, or ours."""
    return database.catalog if database.catalog is not None else OURS
