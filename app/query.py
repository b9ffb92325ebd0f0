"""The query specification for browsing: one description of "the rows I am looking at".

The UI, the CSV export and the command line all describe a result set with a ``QuerySpec``
(search text, typed filters, sort, deleted rows) and a page request (offset or keyset);
the repositories turn it into SQL. Filters are small dataclasses that turn themselves into
a condition on a column, after checking the value fits the column's type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, String, Text, and_, cast, false, or_
from sqlalchemy.sql.elements import KeyedColumnElement

# The value rules moved to the column kinds; their old names here stay for the callers.
from app.column_kinds import (
    BIGINT,
    INTEGER,
    MAX_DIGITS,
    SMALLINT,
    ColumnKind,
    IntegerBounds,
    coerce_value,
    column_value,
    comparable,
    integer_bounds,
    kind_of_type,
    unstorable_text,
)
from app.models.types import InvalidValueError

Column = KeyedColumnElement[Any]


class DeletedRows(StrEnum):
    EXCLUDE = "exclude"
    INCLUDE = "include"
    ONLY = "only"


@dataclass(frozen=True)
class SortKey:
    column: str
    descending: bool = False


@dataclass(frozen=True)
class Equals:
    """The column equals a value; on a boolean column this is the true/false filter, on a
    foreign key the "related record" filter."""

    column: str
    value: Any

    def condition(self, column: Column) -> ColumnElement[bool]:
        if not comparable(column.type):
            # JSON, point, xml: no "=" of their own; their text is the same or not.
            return cast(column, Text) == str(self.value)
        matches: ColumnElement[bool] = column == coerce_value(column, self.value)
        return matches


@dataclass(frozen=True)
class OneOf:
    column: str
    values: tuple[Any, ...]

    def condition(self, column: Column) -> ColumnElement[bool]:
        if not self.values:
            return false()
        return column.in_([coerce_value(column, value) for value in self.values])


@dataclass(frozen=True)
class Range:
    """low <= column <= high (or < high); either end may be open."""

    column: str
    low: Any = None
    high: Any = None
    high_inclusive: bool = True

    def condition(self, column: Column) -> ColumnElement[bool]:
        if self.low is None and self.high is None:
            raise InvalidValueError(f"The range filter on {self.column!r} has neither end.")
        if _is_text(column):
            raise InvalidValueError(f"{self.column!r} is text; a range needs numbers or dates.")
        parts: list[ColumnElement[bool]] = []
        if self.low is not None:
            parts.append(column >= coerce_value(column, self.low))
        if self.high is not None:
            high = coerce_value(column, self.high)
            parts.append(column <= high if self.high_inclusive else column < high)
        return and_(*parts)


@dataclass(frozen=True)
class IsEmpty:
    """The column has no value (NULL, or empty text); ``empty=False`` asks for a value."""

    column: str
    empty: bool = True

    def condition(self, column: Column) -> ColumnElement[bool]:
        missing = or_(column.is_(None), column == "") if _is_text(column) else column.is_(None)
        return missing if self.empty else ~missing


Filter = Equals | OneOf | Range | IsEmpty


def _is_text(column: Column) -> bool:
    """Text, or a choice of texts: our String columns and another program's text columns,
    which SQLite reads as stored."""
    return isinstance(column.type, String) or kind_of_type(column.type) is ColumnKind.TEXT


@dataclass(frozen=True)
class QuerySpec:
    """What an analyst is looking at: everything except which page of it."""

    search: str = ""
    filters: tuple[Filter, ...] = ()
    sort: tuple[SortKey, ...] = ()
    deleted: DeletedRows = DeletedRows.EXCLUDE

    def order(self, key: Sequence[str] = ("id",)) -> tuple[SortKey, ...]:
        """The complete order of the rows, and so the columns of a row's sort key: each
        sort column once, ending at the table's ``key`` (its primary key columns), which
        breaks ties (nothing after the key can change the order). The tie-breaker follows
        the last key's direction, so one index serves the whole order. The one statement
        of this rule: the repositories sort by it, and the browse model takes keyset keys
        from its rows by it."""
        keys: list[SortKey] = []
        for sort_key in self.sort:
            if any(sort_key.column == seen.column for seen in keys):
                continue
            keys.append(sort_key)
        chosen = {sort_key.column for sort_key in keys}
        if not key:
            return tuple(keys)  # a view: no key ends its order (see TableRepository)
        if set(key) <= chosen:
            # Every key column is sorted on already: the order is complete at the last.
            last = max(index for index, sort_key in enumerate(keys) if sort_key.column in key)
            return tuple(keys[: last + 1])
        direction = keys[-1].descending if keys else False
        keys.extend(SortKey(name, direction) for name in key if name not in chosen)
        return tuple(keys)


@dataclass(frozen=True)
class ViewState:
    """What a browse window shows: its rows (the query) and its columns, the visible ones
    in on-screen order. One immutable value that the window, its table model, the saved
    layout, copy and export all read; a change makes a new one."""

    entity: str
    spec: QuerySpec = QuerySpec()
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeyRange:
    """Rows of a result from the row whose sort key is ``first`` to the one whose key is
    ``last``, both included: a block of selected rows, however many, in two keys."""

    first: tuple[Any, ...]
    last: tuple[Any, ...]


@dataclass(frozen=True)
class OffsetPage:
    offset: int
    limit: int


@dataclass(frozen=True)
class After:
    """The rows that follow the row whose sort key is ``key`` (the first rows when None).

    A sort key is the row's values of the sort columns followed by its id. ``skip`` passes
    over that many rows first: from a known key near the wanted row, a short OFFSET.
    """

    key: tuple[Any, ...] | None
    limit: int
    skip: int = 0


@dataclass(frozen=True)
class Before:
    """The rows that precede ``key`` (the last rows when None), still in sort order."""

    key: tuple[Any, ...] | None
    limit: int


PageRequest = OffsetPage | After | Before


@dataclass(frozen=True)
class Page:
    """Plain rows for the UI, export and CLI: no ORM objects cross the service boundary."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


def sort_key_of(
    spec: QuerySpec, key: Sequence[str], columns: tuple[str, ...], row: tuple[Any, ...]
) -> tuple[Any, ...]:
    """The sort key of ``row`` (whose values are in the order of ``columns``) under
    ``spec`` over a table keyed by ``key``: what After/Before take to continue from
    that row."""
    return tuple(row[columns.index(sort_key.column)] for sort_key in spec.order(key))


__all__ = [
    "BIGINT",
    "INTEGER",
    "MAX_DIGITS",
    "SMALLINT",
    "After",
    "Before",
    "Column",
    "DeletedRows",
    "Equals",
    "Filter",
    "IntegerBounds",
    "IsEmpty",
    "KeyRange",
    "OffsetPage",
    "OneOf",
    "Page",
    "PageRequest",
    "QuerySpec",
    "Range",
    "SortKey",
    "ViewState",
    "coerce_value",
    "column_value",
    "integer_bounds",
    "sort_key_of",
    "unstorable_text",
]
