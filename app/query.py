"""The query specification for browsing: one description of "the rows I am looking at".

The UI, the CSV export and the command line all describe a result set with a ``QuerySpec``
(search text, typed filters, sort, deleted rows) and a page request (offset or keyset);
the repositories turn it into SQL. Filters are small dataclasses that turn themselves into
a condition on a column, after checking the value fits the column's type.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, String, and_, false, or_
from sqlalchemy.sql.elements import KeyedColumnElement

from app.models.types import InvalidValueError, to_money

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
        if isinstance(column.type, String):
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
        if isinstance(column.type, String):
            missing = or_(column.is_(None), column == "")
        else:
            missing = column.is_(None)
        return missing if self.empty else ~missing


Filter = Equals | OneOf | Range | IsEmpty


@dataclass(frozen=True)
class QuerySpec:
    """What an analyst is looking at: everything except which page of it."""

    search: str = ""
    filters: tuple[Filter, ...] = ()
    sort: tuple[SortKey, ...] = ()
    deleted: DeletedRows = DeletedRows.EXCLUDE

    def order(self) -> tuple[SortKey, ...]:
        """The complete order of the rows, and so the columns of a row's sort key: each
        sort column once, ending at the id, which breaks ties (nothing after the id can
        change the order). The tie-breaker follows the last key's direction, so one index
        serves the whole order. The one statement of this rule: the repositories sort by
        it, and the browse model takes keyset keys from its rows by it."""
        keys: list[SortKey] = []
        for key in self.sort:
            if any(key.column == seen.column for seen in keys):
                continue
            keys.append(key)
            if key.column == "id":
                return tuple(keys)
        keys.append(SortKey("id", keys[-1].descending if keys else False))
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


def sort_key_of(spec: QuerySpec, columns: tuple[str, ...], row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The sort key of ``row`` (whose values are in the order of ``columns``) under
    ``spec``: what After/Before take to continue from that row."""
    return tuple(row[columns.index(key.column)] for key in spec.order())


def coerce_value(column: Column, value: Any) -> Any:
    """Check a filter value against the column's type; text is parsed as a user typed it."""
    python_type = column.type.python_type
    name = column.key
    try:
        if python_type is bool:
            return _to_bool(value)
        if python_type is int:
            if isinstance(value, bool):
                raise InvalidValueError("a true/false value is not a number")
            return int(value)
        if python_type is Decimal:
            return to_money(value)
        if python_type is datetime:
            return _to_datetime(value)
        if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
            return python_type(value)
        if python_type is str:
            if not isinstance(value, str):
                raise InvalidValueError("expected text")
            return value
    except InvalidValueError as error:
        raise InvalidValueError(f"{name}: {error}") from None
    except (TypeError, ValueError):
        raise InvalidValueError(
            f"{name}: {value!r} is not a valid {_type_description(python_type)}."
        ) from None
    raise InvalidValueError(f"{name}: cannot filter on this column")  # pragma: no cover


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "1", "y"}:
        return True
    if text in {"false", "no", "0", "n"}:
        return False
    raise ValueError(value)


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value.strip())
    else:
        raise TypeError(value)
    # A time without a zone is the user's local time, as a date picker shows it.
    return moment if moment.tzinfo is not None else moment.astimezone()


def _type_description(python_type: Any) -> str:
    names = {int: "whole number", Decimal: "amount", datetime: "date and time", bool: "yes/no"}
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        return "choice (" + ", ".join(str(member.value) for member in python_type) + ")"
    return names.get(python_type, "value")
