"""What kind of value a column holds, as one object per kind.

A kind knows what the application needs of its values below the windows: which SQL types
it covers (``kind_of_type``), how a value typed by a user or read from a settings file is
checked and turned into the column's Python value (``coerce``), whether it is a number an
analyst can total, and whether it can be ordered. ui/column_looks.py is its twin for the
windows (display, width, alignment, which filter editor). A new column type is a new kind
here and a look there; nothing else dispatches on SQL types.

The kinds are singletons, reached as ``ColumnKind.TEXT`` and so on, so ``column.kind is
ColumnKind.MONEY`` reads as it always did.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Interval,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Time,
    Uuid,
)
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.elements import KeyedColumnElement
from sqlalchemy.types import NullType, TypeDecorator, TypeEngine

from app.models.types import InvalidValueError, Money, UTCDateTime, stored_as_is, to_money


class Kind:
    """One kind of column value. Subclasses say what differs."""

    name: ClassVar[str]
    # How a refusal names a value of this kind: "not a valid whole number".
    described: ClassVar[str] = "value"
    # Totals, averages and number ranges apply.
    numeric: ClassVar[bool] = False
    # Values compare with < and >: a range filter, a sort, a keyset.
    ordered: ClassVar[bool] = True
    # The database has min() and max() of them (PostgreSQL has none of a boolean or a
    # UUID, though it sorts both).
    extremes: ClassVar[bool] = True
    # What the database holds is text the search box can look in.
    text: ClassVar[bool] = False

    @property
    def value(self) -> str:
        """The kind's name (as the enum it replaces spelled it: settings and tooltips)."""
        return self.name

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"ColumnKind.{self.name.upper()}"

    def coerce(self, value: Any, column_type: TypeEngine[Any]) -> Any:
        """``value`` as the column's Python value; a refusal in words (InvalidValueError)
        when it is not one. Text is read as a user typed it."""
        try:
            return self._coerce(value, column_type)
        except InvalidValueError:
            raise
        except (TypeError, ValueError, ArithmeticError):
            raise InvalidValueError(
                f"{shortened(repr(value))} is not a valid {self.described}."
            ) from None

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> Any:
        return value


class IntegerKind(Kind):
    name = "integer"
    described = "whole number"
    numeric = True

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> int:
        return to_integer(value, integer_bounds(column_type))


class DecimalKind(Kind):
    """An exact number of any precision and scale (NUMERIC, DECIMAL): never a float."""

    name = "decimal"
    described = "number"
    numeric = True

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> Decimal:
        if isinstance(value, bool):
            raise InvalidValueError("a true/false value is not a number")
        try:
            number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(value) from None
        if not number.is_finite():
            raise ValueError(value)
        return number


class RealKind(Kind):
    """A floating-point number (REAL, DOUBLE PRECISION, FLOAT)."""

    name = "real"
    described = "number"
    numeric = True

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> float:
        if isinstance(value, bool):
            raise InvalidValueError("a true/false value is not a number")
        return float(value.strip() if isinstance(value, str) else value)


class MoneyKind(Kind):
    """Our exact amounts: cents on SQLite, NUMERIC(14, 2) on PostgreSQL."""

    name = "money"
    described = "amount"
    numeric = True

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> Decimal:
        return to_money(value)


class TextKind(Kind):
    name = "text"
    described = "text"
    text = True

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> str:
        if not isinstance(value, str):
            raise InvalidValueError("expected text")
        refusal = unstorable_text(value)
        if refusal is not None:
            raise InvalidValueError(refusal)
        return value


class BooleanKind(Kind):
    name = "boolean"
    described = "yes/no"
    extremes = False

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> bool:
        return to_bool(value)


class ChoiceKind(Kind):
    """One of a fixed list (an Enum column)."""

    name = "choice"
    described = "choice"

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> Any:
        python_type = column_type.python_type
        if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
            try:
                return python_type(value)
            except ValueError:
                choices = ", ".join(str(member.value) for member in python_type)
                raise InvalidValueError(
                    f"{shortened(repr(value))} is not a valid choice ({choices})."
                ) from None
        return TEXT._coerce(value, column_type)


class ReferenceKind(Kind):
    """A foreign key: the key of a record of another kind, checked as that key's type."""

    name = "reference"
    described = "record"

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> Any:
        return kind_of_type(column_type).coerce(value, column_type)


class DateTimeKind(Kind):
    """A moment in time (our UTC times; TIMESTAMP WITH TIME ZONE): shown in local time."""

    name = "datetime"
    described = "date and time"

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> datetime:
        return to_datetime(value)


class TimestampKind(Kind):
    """A date and time without a zone: shown as stored, never shifted."""

    name = "timestamp"
    described = "date and time"

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> datetime:
        if isinstance(value, datetime):
            # A moment with a zone (a period's local midnights) as its wall time there:
            # the column holds wall times, compared as they are.
            return value.replace(tzinfo=None)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            return datetime.fromisoformat(value.strip()).replace(tzinfo=None)
        raise TypeError(value)


class DateKind(Kind):
    name = "date"
    described = "date"

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            return date.fromisoformat(value.strip())
        raise TypeError(value)


class TimeKind(Kind):
    name = "time"
    described = "time of day"

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> time:
        if isinstance(value, time):
            return value
        if isinstance(value, str):
            return time.fromisoformat(value.strip())
        raise TypeError(value)


class IntervalKind(Kind):
    name = "interval"
    described = "duration"

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> timedelta:
        if isinstance(value, timedelta):
            return value
        if isinstance(value, str):
            return parse_duration(value)
        raise TypeError(value)


class UuidKind(Kind):
    name = "uuid"
    described = "UUID"
    extremes = False

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> Any:
        parsed = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value).strip())
        as_uuid = getattr(column_type, "as_uuid", True)
        return parsed if as_uuid else str(parsed)


class JsonKind(Kind):
    """JSON or JSONB: a compact preview in the grid, the whole document in the record."""

    name = "json"
    described = "JSON value"
    ordered = False
    extremes = False


class BlobKind(Kind):
    """Bytes (BLOB, BYTEA): a size and a hex preview in the grid; base64 in an export."""

    name = "blob"
    described = "bytes"
    extremes = False


class ArrayKind(Kind):
    """A PostgreSQL array: shown as its items between braces."""

    name = "array"
    described = "list"
    extremes = False


class UnknownKind(Kind):
    """A type Records Desk does not know, or a SQLite column without one: each value is
    shown as what it is (a number, text, bytes), read-only, never an error."""

    name = "unknown"
    described = "value"

    def _coerce(self, value: Any, column_type: TypeEngine[Any]) -> Any:
        if isinstance(value, str):
            return TEXT._coerce(value, column_type)
        return value


TEXT = TextKind()


class ColumnKind:
    """Every kind, by name: ``ColumnKind.MONEY`` is the money kind."""

    INTEGER: ClassVar[Kind] = IntegerKind()
    DECIMAL: ClassVar[Kind] = DecimalKind()
    REAL: ClassVar[Kind] = RealKind()
    TEXT: ClassVar[Kind] = TEXT
    MONEY: ClassVar[Kind] = MoneyKind()
    DATETIME: ClassVar[Kind] = DateTimeKind()
    TIMESTAMP: ClassVar[Kind] = TimestampKind()
    DATE: ClassVar[Kind] = DateKind()
    TIME: ClassVar[Kind] = TimeKind()
    INTERVAL: ClassVar[Kind] = IntervalKind()
    BOOLEAN: ClassVar[Kind] = BooleanKind()
    CHOICE: ClassVar[Kind] = ChoiceKind()
    REFERENCE: ClassVar[Kind] = ReferenceKind()
    UUID: ClassVar[Kind] = UuidKind()
    JSON: ClassVar[Kind] = JsonKind()
    BLOB: ClassVar[Kind] = BlobKind()
    ARRAY: ClassVar[Kind] = ArrayKind()
    UNKNOWN: ClassVar[Kind] = UnknownKind()

    @classmethod
    def all(cls) -> tuple[Kind, ...]:
        return tuple(value for value in vars(cls).values() if isinstance(value, Kind))


# Interval and PostgreSQL's INTERVAL share this base; naming the dialect's class would
# import the PostgreSQL dialect into every start on SQLite (24 ms).
_INTERVALS: type[TypeEngine[Any]] = getattr(sqltypes, "_AbstractInterval", Interval)

# SQL types to kinds, the first that matches wins: the decorated types of our own schema
# before the plain ones they are made of, the narrow before the wide (Float is a Numeric,
# Enum a String).
_KINDS_BY_TYPE: tuple[tuple[type[TypeEngine[Any]], Kind], ...] = (
    (Money, ColumnKind.MONEY),
    (UTCDateTime, ColumnKind.DATETIME),
    (Boolean, ColumnKind.BOOLEAN),
    (Enum, ColumnKind.CHOICE),
    (Integer, ColumnKind.INTEGER),
    (Float, ColumnKind.REAL),
    (Numeric, ColumnKind.DECIMAL),
    (Date, ColumnKind.DATE),
    (Time, ColumnKind.TIME),
    (_INTERVALS, ColumnKind.INTERVAL),
    (Uuid, ColumnKind.UUID),
    (JSON, ColumnKind.JSON),
    (LargeBinary, ColumnKind.BLOB),
    (ARRAY, ColumnKind.ARRAY),
    (String, ColumnKind.TEXT),
    (NullType, ColumnKind.UNKNOWN),
)


def kind_of_type(column_type: TypeEngine[Any]) -> Kind:
    """The kind of a column of this SQL type (UNKNOWN when it is none we know)."""
    if isinstance(column_type, DateTime):
        return ColumnKind.DATETIME if column_type.timezone else ColumnKind.TIMESTAMP
    for sql_type, kind in _KINDS_BY_TYPE:
        if isinstance(column_type, sql_type):
            return kind
    if isinstance(column_type, TypeDecorator):
        return kind_of_type(column_type.impl_instance)
    return ColumnKind.UNKNOWN


def comparable(column_type: TypeEngine[Any]) -> bool:
    """Whether the database compares and orders values of this type (to sort, group,
    count distinct values): not JSON, nor a PostgreSQL type this code does not know
    (xml, point have no order). Another program's SQLite values always compare."""
    if stored_as_is(column_type):
        return True
    if isinstance(column_type, NullType):
        return False
    if isinstance(column_type, ARRAY):
        # A list compares as its items do (none of a type this code does not know).
        return comparable(column_type.item_type)
    return kind_of_type(column_type).ordered


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
        shown = shortened(written) if written else grouped(value)
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


def coerce_value(column: KeyedColumnElement[Any], value: Any) -> Any:
    """Check a filter value against the column's type; text is parsed as a user typed it.

    Every value is refused in words (an InvalidValueError) unless both engines can hold it
    in this column: an integer beyond the column's range, a date outside Python's years
    1–9999 in UTC, text with a NUL."""
    try:
        return column_value(column, value)
    except InvalidValueError as error:
        raise InvalidValueError(f"{column.key}: {error}") from None


def column_value(column: KeyedColumnElement[Any], value: Any) -> Any:
    """``coerce_value`` without the column's name in its refusal: what a form shows beside
    the field. In another program's SQLite column, text and bytes are taken as they are
    (the column holds whatever it was given, and a value read from it must find itself
    again; SQLite's affinity makes a number of typed digits); other values are checked by
    the column's kind."""
    if stored_as_is(column.type) and isinstance(value, str | bytes):
        return TEXT._coerce(value, column.type) if isinstance(value, str) else value
    return kind_of_type(column.type).coerce(value, column.type)


def to_integer(value: Any, bounds: IntegerBounds) -> int:
    if isinstance(value, bool):
        raise InvalidValueError("a true/false value is not a number")
    if isinstance(value, str):
        text = value.strip()
        unsigned = text[1:] if text.startswith(("+", "-")) else text
        if len(unsigned.lstrip("0")) > MAX_DIGITS and unsigned.isdigit():
            raise beyond_every_bound(text.startswith("-"), text, bounds)
        number = int(text)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        if value.adjusted() >= MAX_DIGITS:
            raise beyond_every_bound(value < 0, str(value), bounds)
        number = int(value)
    else:
        raise TypeError(value)
    refusal = bounds.refusal(number)
    if refusal is not None:
        raise InvalidValueError(refusal)
    return number


def beyond_every_bound(negative: bool, written: str, bounds: IntegerBounds) -> InvalidValueError:
    """The refusal of a number too long to write out in a message (or for int() to read)."""
    stand_in = -(10**MAX_DIGITS) if negative else 10**MAX_DIGITS
    return InvalidValueError(bounds.refusal(stand_in, written=written) or written)


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "1", "y"}:
        return True
    if text in {"false", "no", "0", "n"}:
        return False
    raise ValueError(value)


def to_datetime(value: Any) -> datetime:
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
            f"{shortened(str(value))} is outside the dates Records Desk can store "
            f"({EARLIEST.date().isoformat()} to {LATEST.date().isoformat()} UTC)"
        ) from None
    return moment


def shortened(text: str, limit: int = 30) -> str:
    """Text a user gave, short enough to quote in a message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


_DURATION = re.compile(
    r"^\s*(?:(?P<days>-?\d+)\s*days?,?\s*)?"
    r"(?:(?P<hours>-?\d+):(?P<minutes>\d{1,2})(?::(?P<seconds>\d{1,2}(?:\.\d+)?))?)?\s*$"
)


def parse_duration(text: str) -> timedelta:
    """A duration as PostgreSQL and Python print one: ``3 days, 4:05:06`` or ``4:05``."""
    match = _DURATION.match(text)
    if match is None or not any(match.groupdict().values()):
        raise ValueError(text)
    parts = {name: float(part) for name, part in match.groupdict().items() if part}
    return timedelta(**parts)
