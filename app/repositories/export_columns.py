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
        # RFC 3339, ISO 8601's profile for timestamps, with the space it allows for "T"
        # (as PostgreSQL prints them, and spreadsheets read them): swapping in a "T"
        # costs a third of the export's time on the server.
        if dialect == "sqlite":
            # Stored as UTC text, "2026-06-18 00:24:00.017914".
            return column.op("||")(literal("+00:00"))
        # Printed in the session's time zone, which the export sets to UTC: "…+00".
        return cast(column, Text).op("||")(literal(":00"))
    if isinstance(column_type, Boolean):
        return case((column, literal("true")), (not_(column), literal("false")))
    if formula_protection and is_text(column):
        guarded = literal(FORMULA_GUARD).op("||")(column)
        if dialect == "sqlite":
            # Every formula start sorts below "A" (SQLite compares bytes): most text is
            # passed by one comparison, without cutting off its first character.
            return case(
                (column >= "A", column),
                (func.substr(column, 1, 1).in_(FORMULA_STARTS), guarded),
                else_=column,
            )
        # ascii() of the first character: cheaper than cutting it off with left().
        starts_a_formula = func.ascii(column).in_([ord(start) for start in FORMULA_STARTS])
        return case((starts_a_formula, guarded), else_=column)
    return column


def _cents_as_decimal(cents: Column) -> ColumnElement[Any]:
    """Whole cents (SQLite's money) as "-1234.05", by integer arithmetic: never a float."""
    sign = case((cents < 0, literal("-")), else_=literal(""))
    # Arguments of one printf, not a chain of "||": that binds tighter than "/" and "%".
    # A plain "/" of two integers: SQLAlchemy's "//" is FLOOR(), which old SQLite lacks.
    whole = func.abs(cents).op("/")(literal(100))
    return func.printf("%s%d.%02d", sign, whole, func.abs(cents) % 100)


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

    NULL is written as ``empty_text``, and a text equal to it is quoted, so that it reads
    back as itself (as PostgreSQL's COPY does): with the default, an empty text is \"\".
    """
    fields: list[ColumnElement[Any]] = []
    for column in columns:
        value = formatted(column, "sqlite", formula_protection=formula_protection)
        # printf's %s writes NULL as nothing: only another text for it needs a CASE.
        missing = literal(empty_text) if column.nullable and empty_text else None
        if is_text(column) or isinstance(column.type, Enum):
            quoted = literal('"').op("||")(value).op("||")(literal('"'))
            whens: list[tuple[Any, Any]] = [(column == literal(empty_text), quoted)]
            if missing is not None:
                whens.insert(0, (column.is_(None), missing))
            fields.append(case(*whens, else_=value))
        elif empty_text:
            # As COPY does: any value that reads like the text for no value is quoted.
            quoted = literal('"').op("||")(value).op("||")(literal('"'))
            fields.append(
                case(
                    (value.is_(None), literal(empty_text)),
                    (value == literal(empty_text), quoted),
                    else_=value,
                )
            )
        else:
            fields.append(value)
    if len(fields) < _PRINTF_ARGUMENTS:
        # One printf builds the line in one buffer; a chain of "||" copies it per field.
        pattern = delimiter.join(["%s"] * len(fields))
        return func.printf(pattern, *fields)
    line = fields[0]
    for field in fields[1:]:
        line = line.op("||")(literal(delimiter)).op("||")(func.coalesce(field, ""))
    return line


# SQLite's limit on the arguments of a function (SQLITE_MAX_FUNCTION_ARG), less the pattern.
_PRINTF_ARGUMENTS = 127


def lines_are_finished(text: str, rows: int, fields: int, delimiter: str, line_ending: str) -> bool:
    """Whether ``text`` (``rows`` lines from ``sqlite_line`` joined by ``line_ending``)
    needs no quoting: no value in it holds a quote, a carriage return, a line feed or the
    delimiter. A few scans in C over the whole block, never a loop over its values."""
    breaks = rows - 1
    return (
        '"' not in text
        and text.count("\n") == breaks
        and text.count("\r") == (breaks if line_ending == "\r\n" else 0)
        and text.count(delimiter) == rows * (fields - 1)
    )
