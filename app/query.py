"""The query specification for browsing: one description of "the rows I am looking at".

The UI, the CSV export and the command line all describe a result set with a ``QuerySpec``
(search text, typed filters, sort, deleted rows) and a page request (offset or keyset);
the repositories turn it into SQL. Filters are small dataclasses that turn themselves into
a condition on a column, after checking the value fits the column's type.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, SmallInteger, String, and_, false, or_
from sqlalchemy.sql.elements import KeyedColumnElement
from sqlalchemy.types import TypeEngine

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


def sort_key_of(spec: QuerySpec, columns: tuple[str, ...], row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The sort key of ``row`` (whose values are in the order of ``columns``) under
    ``spec``: what After/Before take to continue from that row."""
    return tuple(row[columns.index(key.column)] for key in spec.order())


@dataclass(frozen=True)
class IntegerBounds:
    """The whole numbers a column can hold (PostgreSQL's limits, which are SQLite's too
    once a value must survive a move between the engines)."""

    minimum: int
    maximum: int

    def refusal(
        self, value: int, grouped: Callable[[int], str] = "{:,}".format, written: str = ""
    ) -> str | None:
        """Why a column with these bounds cannot hold ``value``, in words; None when it can.
        ``grouped`` writes a number for the reader; ``written`` is the value as typed, when
        that was too long to be read as a number at all."""
        shown = _shortened(written) if written else grouped(value)
        if value > self.maximum:
            return f"{shown} is too large (at most {grouped(self.maximum)})"
        if value < self.minimum:
            return f"{shown} is too small (at least {grouped(self.minimum)})"
        return None


SMALLINT = IntegerBounds(-(2**15), 2**15 - 1)
INTEGER = IntegerBounds(-(2**31), 2**31 - 1)
BIGINT = IntegerBounds(-(2**63), 2**63 - 1)
# More digits than any integer column holds; int() refuses text over 4,300 digits anyway.
MAX_DIGITS = 40
# Python's datetimes, in UTC (both engines hold a wider range; the values must round-trip).
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def integer_bounds(column_type: TypeEngine[Any]) -> IntegerBounds:
    """What an integer column of this type holds on PostgreSQL (SQLite holds 64 bits in
    any integer column: the narrower limit is the one both engines keep)."""
    if isinstance(column_type, BigInteger):
        return BIGINT
    if isinstance(column_type, SmallInteger):
        return SMALLINT
    return INTEGER


def unstorable_text(text: str) -> str | None:
    """Why no text column can hold ``text``, in words; None when it can.

    PostgreSQL's text cannot hold NUL, and SQLite's functions read text only up to one;
    an unpaired surrogate has no UTF-8 form. (Text from Qt or a file is never such a
    string; one made in Python can be.)"""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "text cannot contain the NUL character"
    return "text cannot contain an unpaired surrogate"


def coerce_value(column: Column, value: Any) -> Any:
    """Check a filter value against the column's type; text is parsed as a user typed it.

    Every value is refused in words (an InvalidValueError) unless both engines can hold it
    in this column: an integer beyond the column's range, a date outside Python's years
    1–9999 in UTC, text with a NUL."""
    try:
        return column_value(column, value)
    except InvalidValueError as error:
        raise InvalidValueError(f"{column.key}: {error}") from None


def column_value(column: Column, value: Any) -> Any:
    """``coerce_value`` without the column's name in its refusal: what a form shows beside
    the field."""
    python_type = column.type.python_type
    try:
        if python_type is bool:
            return _to_bool(value)
        if python_type is int:
            return _to_integer(value, integer_bounds(column.type))
        if python_type is Decimal:
            return to_money(value)
        if python_type is datetime:
            return _to_datetime(value)
        if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
            return python_type(value)
        if python_type is str:
            return _to_text(value)
    except InvalidValueError:
        raise
    except (TypeError, ValueError, ArithmeticError):
        shown = _shortened(repr(value))
        raise InvalidValueError(
            f"{shown} is not a valid {_type_description(python_type)}."
        ) from None
    raise InvalidValueError("this column takes no value")  # pragma: no cover


def _to_integer(value: Any, bounds: IntegerBounds) -> int:
    if isinstance(value, bool):
        raise InvalidValueError("a true/false value is not a number")
    if isinstance(value, str):
        text = value.strip()
        unsigned = text[1:] if text.startswith(("+", "-")) else text
        if len(unsigned.lstrip("0")) > MAX_DIGITS and unsigned.isdigit():
            raise _beyond_every_bound(text.startswith("-"), text, bounds)
        number = int(text)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        if value.adjusted() >= MAX_DIGITS:
            raise _beyond_every_bound(value < 0, str(value), bounds)
        number = int(value)
    else:
        raise TypeError(value)
    refusal = bounds.refusal(number)
    if refusal is not None:
        raise InvalidValueError(refusal)
    return number


def _beyond_every_bound(negative: bool, written: str, bounds: IntegerBounds) -> InvalidValueError:
    """The refusal of a number too long to write out in a message (or for int() to read)."""
    stand_in = -(10**MAX_DIGITS) if negative else 10**MAX_DIGITS
    return InvalidValueError(bounds.refusal(stand_in, written=written) or written)


def _to_text(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValueError("expected text")
    refusal = unstorable_text(value)
    if refusal is not None:
        raise InvalidValueError(refusal)
    return value


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
    try:
        # A time without a zone is the user's local time, as a date picker shows it.
        moment = moment if moment.tzinfo is not None else moment.astimezone()
        moment.astimezone(UTC)  # stored in UTC: years 1 and 9999 may not get there
    except (OverflowError, ValueError):
        raise InvalidValueError(
            f"{_shortened(str(value))} is outside the dates Records Desk can store "
            f"({EARLIEST.date().isoformat()} to {LATEST.date().isoformat()} UTC)"
        ) from None
    return moment


def _shortened(text: str, limit: int = 30) -> str:
    """Text a user gave, short enough to quote in a message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _type_description(python_type: Any) -> str:
    names = {int: "whole number", Decimal: "amount", datetime: "date and time", bool: "yes/no"}
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        return "choice (" + ", ".join(str(member.value) for member in python_type) + ")"
    return names.get(python_type, "value")
