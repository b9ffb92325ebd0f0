"""What kinds of record there are, their columns, and how they relate — described in plain
data, so the UI can generate its columns, filters and relation menus without SQLAlchemy."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Enum, Integer, String
from sqlalchemy.sql.schema import Column as SAColumn

from app.models.types import Money, UTCDateTime
from app.query import IntegerBounds, integer_bounds
from app.repositories import REPOSITORIES
from app.services.errors import ValidationError


class ColumnKind(StrEnum):
    INTEGER = "integer"
    TEXT = "text"
    MONEY = "money"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    REFERENCE = "reference"


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    label: str
    kind: ColumnKind
    nullable: bool = False
    choices: tuple[str, ...] = ()
    # For a REFERENCE: the entity whose id this column holds.
    references: str | None = None
    # Left out of a window's columns until asked for (from Columns): secrets, even hashed.
    hidden_by_default: bool = False
    # For a whole-number column (INTEGER, REFERENCE): the numbers it can hold.
    bounds: IntegerBounds | None = None


@dataclass(frozen=True)
class Relation:
    """The records of ``entity`` whose ``column`` holds this record's id."""

    label: str
    entity: str
    column: str


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
}
_SINGULAR = {"order_items": "Order item", "users": "User", "accounts": "Account"}
# (entity, column) pairs no window shows unasked: a password hash is a secret to an analyst.
_HIDDEN_BY_DEFAULT = frozenset({("users", "hashed_password")})
_TITLE_COLUMNS = {
    "users": ("name", "email"),
    "profiles": ("user_id",),
    "posts": ("title",),
    "orders": ("status", "total"),
    "order_items": ("product", "quantity"),
    "accounts": ("name", "balance"),
    "transfers": ("amount",),
}


def entities() -> list[EntityInfo]:
    """The kinds of record, in the order the main window lists them."""
    return list(_CATALOG.values())


def entity(name: str) -> EntityInfo:
    try:
        return _CATALOG[name]
    except KeyError:
        known = ", ".join(_CATALOG)
        raise ValidationError(f"There are no {name!r} records; choose one of {known}.") from None


def label_of(name: str) -> str:
    return _LABELS.get(name, name.replace("_", " ").capitalize())


def _column_kind(column: SAColumn[Any]) -> tuple[ColumnKind, tuple[str, ...], str | None]:
    if column.foreign_keys:
        (foreign_key,) = column.foreign_keys
        return ColumnKind.REFERENCE, (), foreign_key.column.table.name
    column_type = column.type
    if isinstance(column_type, Money):
        return ColumnKind.MONEY, (), None
    if isinstance(column_type, UTCDateTime):
        return ColumnKind.DATETIME, (), None
    if isinstance(column_type, Boolean):
        return ColumnKind.BOOLEAN, (), None
    if isinstance(column_type, Enum):
        return ColumnKind.CHOICE, tuple(column_type.enums), None
    if isinstance(column_type, Integer):
        return ColumnKind.INTEGER, (), None
    if isinstance(column_type, String):
        return ColumnKind.TEXT, (), None
    raise TypeError(f"no column kind for {column!r}")  # a new column type needs a kind


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
        for column in table.columns:
            kind, choices, references = _column_kind(column)  # type: ignore[arg-type]
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
        )
    return catalog


_CATALOG = _build()
