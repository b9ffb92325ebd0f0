"""Columns as a CSV export writes them, computed by the database.

Formatting a million rows value by value in Python is what makes an export slow (and
holds the GIL long enough to freeze a window), so the database does it: dates become
ISO 8601 in UTC with their offset, money exact decimals from its stored form, booleans
``true``/``false``, and text that a spreadsheet would run as a formula gets a leading
apostrophe. PostgreSQL's COPY then adds the CSV quoting itself; on SQLite each row comes
out as one finished line (see ``sqlite_line``), and only a block of lines with something
to quote is finished in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Enum,
    String,
    Text,
    case,
    cast,
    func,
    literal,
    not_,
    or_,
)

from app.models.types import Money, UTCDateTime
from app.query import Column

# The first characters that make a spreadsheet read a cell as a formula (OWASP, CSV
# injection): such a text cell is written with an apostrophe in front, shown as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_GUARD = "'"


def is_text(column: Column) -> bool:
    """Text the user wrote: the only kind of value that can need quoting or a guard."""
    return isinstance(column.type, String) and not isinstance(column.type, Enum)


def formatted(column: Column, dialect: str, *, formula_protection: bool) -> ColumnElement[Any]:
    """``column`` as the export writes it, before CSV quoting; NULL stays NULL."""
    column_type = column.type
    if isinstance(column_type, Money):
        if dialect == "sqlite":
            return _cents_as_decimal(column)
        return column  # NUMERIC(14, 2) prints as 1234.50 already
    if isinstance(column_type, UTCDateTime):
        if dialect == "sqlite":
            # Stored as UTC text, "2026-06-18 00:24:00.017914".
            return func.replace(column, " ", "T").op("||")(literal("+00:00"))
        # Printed in the session's time zone, which the export sets to UTC: "…+00".
        return func.replace(cast(column, Text), " ", "T").op("||")(literal(":00"))
    if isinstance(column_type, Boolean):
        return case((column, literal("true")), (not_(column), literal("false")))
    if formula_protection and is_text(column):
        if dialect == "sqlite":
            starts_a_formula = func.substr(column, 1, 1).in_(FORMULA_STARTS)
        else:
            # ascii() of the first character: cheaper than cutting it off with left().
            starts_a_formula = func.ascii(column).in_([ord(start) for start in FORMULA_STARTS])
        return case((starts_a_formula, literal(FORMULA_GUARD).op("||")(column)), else_=column)
    return column


def _cents_as_decimal(cents: Column) -> ColumnElement[Any]:
    """Whole cents (SQLite's money) as "-1234.05", by integer arithmetic: never a float."""
    whole = func.abs(cents) / 100
    hundredths = func.substr(literal("0").op("||")(func.abs(cents) % 100), -2)
    sign = case((cents < 0, literal("-")), else_=literal(""))
    return sign.op("||")(whole).op("||")(literal(".")).op("||")(hundredths)


def sqlite_line(
    columns: Sequence[Column],
    *,
    delimiter: str,
    empty_text: str,
    formula_protection: bool,
) -> ColumnElement[str]:
    """One CSV line per row (no line ending), right whenever no value holds a delimiter,
    a quote or a line break: the caller checks a block of lines for those in one pass
    and finishes a block that has any from the values themselves (``formatted``).

    NULL is written as ``empty_text``; an empty text and one equal to ``empty_text``
    are quoted, so they read back as themselves (as PostgreSQL's COPY does).
    """
    fields: list[ColumnElement[Any]] = []
    for column in columns:
        value = formatted(column, "sqlite", formula_protection=formula_protection)
        if is_text(column) or isinstance(column.type, Enum):
            fields.append(
                case(
                    (column.is_(None), literal(empty_text)),
                    (
                        or_(column == "", column == literal(empty_text)),
                        literal('"').op("||")(value).op("||")(literal('"')),
                    ),
                    else_=value,
                )
            )
        else:
            fields.append(func.coalesce(value, literal(empty_text)))
    line = fields[0]
    for field in fields[1:]:
        line = line.op("||")(literal(delimiter)).op("||")(field)
    return line


def lines_are_finished(text: str, rows: int, fields: int, delimiter: str) -> bool:
    """Whether ``text`` (``rows`` lines from ``sqlite_line`` joined by "\\n") needs no
    quoting: no value in it holds a quote, a carriage return, a line feed or the
    delimiter. A few scans in C over the whole block, never a loop over its values."""
    return (
        '"' not in text
        and "\r" not in text
        and text.count("\n") == rows - 1
        and text.count(delimiter) == rows * (fields - 1)
    )
