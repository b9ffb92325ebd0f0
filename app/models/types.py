"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import BigInteger, DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType, TypeDecorator, TypeEngine

MONEY_PRECISION = 14
MONEY_SCALE = 2
_CENT = Decimal("0.01")


class InvalidValueError(ValueError):
    """A value a user gave does not fit its column; the message says why in words."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in time, stored in UTC and always read back timezone-aware.

    SQLite has no time zones and hands back naive values; this type makes both engines
    answer with aware datetimes in UTC, and refuses naive ones going in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise InvalidValueError(f"naive datetime {value!r}: give a timezone-aware value")
        converted = value.astimezone(UTC)
        return converted.replace(tzinfo=None) if dialect.name == "sqlite" else converted

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        return datetime


def to_money(value: Any) -> Decimal:
    """Exact money from a Decimal, int or text; floats are refused, cents must be whole."""
    if isinstance(value, float | bool):
        raise InvalidValueError("money must be a Decimal, an integer or text, never a float")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidValueError(f"{_shortened(repr(value))} is not an amount of money") from None
    if not amount.is_finite():
        raise InvalidValueError(f"{value!r} is not an amount of money")
    # The size first: quantize() cannot give cents of a number with more than 28 digits.
    limit = Decimal(10) ** (MONEY_PRECISION - MONEY_SCALE)
    if amount.copy_abs() >= limit:  # copy_abs: abs() overflows on 1e999999999
        raise InvalidValueError(f"{_shortened(value)} is too large for an amount of money")
    if amount != amount.quantize(_CENT):
        raise InvalidValueError(f"{_shortened(value)} has more than {MONEY_SCALE} decimal places")
    return amount.quantize(_CENT)


def _shortened(value: Any, limit: int = 30) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Money(TypeDecorator[Decimal]):
    """An exact amount with two decimal places.

    PostgreSQL stores NUMERIC(14, 2). SQLite has no exact decimal type (NUMERIC affinity
    turns values into floats), so there the column holds whole cents as an INTEGER: sums,
    comparisons and CHECK constraints stay exact on both engines.
    """

    impl = Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = to_money(value)
        if dialect.name == "sqlite":
            return int(amount.scaleb(MONEY_SCALE))
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-MONEY_SCALE)
        return Decimal(value).quantize(_CENT)

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


class ascii_lower(FunctionElement[str]):  # noqa: N801 (a SQL function, named like one)
    """``lower(text)`` folding A–Z only, the same on both engines: SQLite's lower() knows no
    other letters, and PostgreSQL's folds every letter its locale knows unless asked for
    the C collation's rules. Used where both engines must agree on what "the same ignoring
    case" means (a unique email)."""

    type = String()
    name = "ascii_lower"
    inherit_cache = True


@compiles(ascii_lower)
def _compile_ascii_lower(element: ascii_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(ascii_lower, "postgresql")
def _compile_ascii_lower_postgresql(element: ascii_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f'lower({compiler.process(element.clauses, **kw)} COLLATE "C")'


class StoredAsIs(TypeDecorator[Any]):
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
        if isinstance(value, Decimal | uuid.UUID | timedelta):
            return str(value)
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        return value

    @property
    def python_type(self) -> type[Any]:
        return self.impl_instance.python_type


def stored_as_is(column_type: TypeEngine[Any]) -> bool:
    """Whether a column of this type holds whatever another program stored (SQLite): a
    value of any storage class, to be written as what it is."""
    return isinstance(column_type, StoredAsIs)
