"""Columns as a CSV export writes them, computed by the database.

Formatting a million rows value by value in Python is what makes an export slow (and
holds the GIL long enough to freeze a window), so the database does it: dates become
ISO 8601 in UTC with their offset (or, for a spreadsheet, its plain local form in a named
zone), money exact decimals from its stored form (with a decimal comma where the reader's
locale wants one), booleans ``true``/``false``, and text that a spreadsheet would run as a
formula gets a leading apostrophe. PostgreSQL's COPY then adds the CSV quoting itself; on
SQLite each row comes out as one finished line (see ``sqlite_line``), and only a block of
lines with something to quote is finished in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Enum,
    Float,
    Integer,
    LargeBinary,
    String,
    Text,
    case,
    cast,
    func,
    literal,
    not_,
    type_coerce,
)

from app.column_kinds import ColumnKind, kind_of_type
from app.core.database import BASE64_FUNCTION
from app.models.types import Money, UTCDateTime, stored_as_is
from app.query import Column

# The first characters that make a spreadsheet read a cell as a formula: OWASP's CSV
# injection list (= + - @ TAB CR LF) and ASVS 5.0 V1.2.10's NUL (Calc drops a leading NUL
# and runs the formula after it), and the full-width forms an Asian-language Excel may take
# for = + - @. Such a text cell is written with an apostrophe in front, shown as text.
FORMULA_STARTS = (
    *("=", "+", "-", "@", "\t", "\r", "\n", "\0"),
    *("\uff1d", "\uff0b", "\uff0d", "\uff20"),  # full-width = + - @
)
FORMULA_GUARD = "'"
# A value holding any of these is quoted whichever the delimiter: a reader that splits on
# all three separators (Calc's import dialog does by default) still sees one field.
SEPARATORS = (",", ";", "\t")
MUST_QUOTE = (*SEPARATORS, '"', "\r", "\n")
# NUL is written as the symbol for it: PostgreSQL cannot hold one (both engines' files must
# agree), spreadsheets drop it silently and C programs end the text there; a visible mark
# says something was there.
NUL_SHOWN = "\u2400"
# The SQLite function the export registers on its connection for dates in a named zone:
# SQLite knows no zones but UTC and the process's own.
ZONE_TIME_FUNCTION = "records_desk_zone_time"


@dataclass(frozen=True)
class ValueForms:
    """How values are written: ``decimal_point`` in money; ``time_zone`` "" for exact
    RFC 3339 in UTC with the offset, else a zone name for "2026-01-01 11:00:00" there (what
    spreadsheets read as a date); and whether text that starts a formula is guarded."""

    formula_protection: bool = True
    decimal_point: str = "."
    time_zone: str = ""


def is_text(column: Column) -> bool:
    """Text the user wrote, or a value another program stored as it liked (SQLite): the
    values that can need quoting or a guard."""
    column_type = column.type
    if stored_as_is(column_type):
        return True
    return isinstance(column_type, String) and not isinstance(column_type, Enum)


def _as_text(column: Column, dialect: str) -> ColumnElement[Any]:
    """Any column as text: bytes as base64 (the one rule for bytes in every export),
    another program's SQLite value of any storage class as it reads."""
    if dialect == "sqlite":
        if stored_as_is(column.type) or isinstance(column.type, LargeBinary):
            return case(
                (func.typeof(column) == "blob", getattr(func, BASE64_FUNCTION)(column)),
                else_=cast(column, Text),
            )
        return cast(column, Text)
    if isinstance(column.type, LargeBinary):
        return func.translate(func.encode(column, "base64"), "\n", "")
    return cast(column, Text)


def formatted(column: Column, dialect: str, forms: ValueForms) -> ColumnElement[Any]:
    """``column`` as the export writes it, before CSV quoting; NULL stays NULL."""
    column_type = column.type
    if isinstance(column_type, Money):
        if dialect == "sqlite":
            return _cents_as_decimal(column, forms.decimal_point)
        if forms.decimal_point == ".":
            return column  # NUMERIC(14, 2) prints as 1234.50 already
        return func.replace(cast(column, Text), ".", forms.decimal_point)
    kind = kind_of_type(column_type)
    if isinstance(column_type, UTCDateTime) or (
        dialect != "sqlite" and kind is ColumnKind.DATETIME
    ):
        if forms.time_zone:
            return _zone_time(column, dialect, forms.time_zone)
        # RFC 3339, ISO 8601's profile for timestamps, with the space it allows for "T"
        # (as PostgreSQL prints them, and spreadsheets read them): swapping in a "T"
        # costs a third of the export's time on the server.
        if dialect == "sqlite":
            return _sqlite_utc_text(column)
        # Printed in the session's time zone, which the export sets to UTC: "…+00".
        return cast(column, Text).op("||")(literal(":00"))
    if dialect == "sqlite" and stored_as_is(column_type):
        return _as_stored(column, forms)
    if isinstance(column_type, Boolean):
        return case((column, literal("true")), (not_(column), literal("false")))
    if kind.numeric and not isinstance(column_type, Integer):
        # A NUMERIC or REAL: its own digits, with the reader's decimal point.
        if forms.decimal_point == ".":
            return column
        return func.replace(cast(column, Text), ".", forms.decimal_point)
    if kind is ColumnKind.BLOB:
        return _as_text(column, dialect)
    textual = is_text(column) or kind in (ColumnKind.JSON, ColumnKind.ARRAY, ColumnKind.UNKNOWN)
    if not textual:
        return column  # a date, a time, a UUID…: as the database prints it
    if not isinstance(column_type, String):
        column = type_coerce(_as_text(column, dialect), Text)  # type: ignore[assignment]
    if forms.formula_protection:
        return _guarded(column, dialect)
    return column


def _guarded(column: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """Text with the formula guard in front where it starts a formula."""
    guarded = literal(FORMULA_GUARD).op("||")(column)
    if dialect == "sqlite":
        # The ASCII starts sort below "A", the full-width ones at U+FF00 and above
        # (SQLite compares bytes): most text is passed by two comparisons, without
        # cutting off its first character. substr() reads text only up to a NUL, so a
        # leading one is found by comparing: only NUL sorts below U+0001.
        return case(
            ((column >= "A") & (column < "\uff00"), column),
            (func.substr(column, 1, 1).in_(FORMULA_STARTS), guarded),
            ((column < "\x01") & (column != ""), guarded),
            else_=column,
        )
    # ascii() of the first character: cheaper than cutting it off with left(). Not
    # NUL: PostgreSQL's text cannot hold one, and ascii('') is 0.
    starts_a_formula = func.ascii(column).in_(
        [ord(start) for start in FORMULA_STARTS if start != "\0"]
    )
    return case((starts_a_formula, guarded), else_=column)


def _as_stored(column: Column, forms: ValueForms) -> ColumnElement[Any]:
    """A value another program stored in SQLite as it liked, written as what it is: a
    number as its digits (with the reader's decimal point), bytes as base64, text as
    text (guarded where it starts a formula)."""
    stored = func.typeof(column)
    text = type_coerce(column, Text)
    # A REAL in 15 digits where they read back as the same number, else in 17: exact,
    # and as short as SQLite can say it (its own text for a REAL stops at 15).
    short, long = func.printf("%!.15g", column), func.printf("%!.17g", column)
    real: ColumnElement[Any] = case((cast(short, Float) == column, short), else_=long)
    if forms.decimal_point != ".":
        real = func.replace(real, ".", forms.decimal_point)
    return case(
        (stored == "text", _guarded(text, "sqlite") if forms.formula_protection else text),
        (stored == "integer", cast(column, Text)),
        (stored == "real", real),
        (stored == "blob", getattr(func, BASE64_FUNCTION)(column)),
        else_=literal(None),
    )


def _sqlite_utc_text(stored: Column) -> ColumnElement[str]:
    """SQLite's stored UTC text as RFC 3339 with its offset, "2026-06-18 00:24:00.017914+00:00".

    Our own rows hold UTC without an offset and only need it added. Another program may
    have written "2026-01-01T10:00:00Z" or "…+02:00": SQLite's date functions read those
    as the instant they denote (as the record window does) and give it in UTC, to the
    second; the fraction is kept from the text, as an offset is whole minutes. Text that
    is no date at all is written as it is."""
    column = type_coerce(stored, Text)  # its text, not a datetime to bind patterns as
    zone_length = case(
        (column.op("GLOB")("*[+-][0-9][0-9]:[0-9][0-9]"), 6),
        (column.op("GLOB")("*[Zz]"), 1),
        else_=0,
    )
    fraction = case(
        (
            func.substr(column, 20, 1) == ".",
            func.substr(column, 20, func.length(column) - 19 - zone_length),
        ),
        else_="",
    )
    converted = func.strftime("%Y-%m-%d %H:%M:%S", column).op("||")(fraction)
    read = func.coalesce(converted.op("||")(literal("+00:00")), column)
    # Our own text is 19 or 26 characters ending in a digit; at those lengths another
    # program's forms are the same with a "T" (RFC 3339's own separator, so adding the
    # offset is as right) or end in "Z". Told apart by one length() (a CASE on its value
    # computes it once) and a look at the last character: two fifths of the time of
    # checking the space too, a third of a pattern's.
    as_is = column.op("||")(literal("+00:00"))
    last_is_digit = func.substr(column, 26).between("0", "9")
    return case(
        {19: as_is, 26: case((last_is_digit, as_is), else_=read)},
        value=func.length(column),
        else_=read,
    )


def _zone_time(column: Column, dialect: str, zone: str) -> ColumnElement[str]:
    """The moment as "2026-01-01 11:00:00", local time in ``zone``: the form Excel and
    Calc read as a date and time (neither reads an offset), to the second."""
    if dialect == "sqlite":
        return getattr(func, ZONE_TIME_FUNCTION)(column, zone)  # type: ignore[no-any-return]
    # Printed in the session's time zone, which the export sets to ``zone``.
    return func.to_char(column, "YYYY-MM-DD HH24:MI:SS")


def zone_time(stored: str | None, zone: str) -> str | None:
    """``ZONE_TIME_FUNCTION``: SQLite's stored text (UTC unless it says otherwise, as the
    record window reads it) as local time in ``zone``; text that is no date as it is."""
    if stored is None:
        return None
    try:
        moment = datetime.fromisoformat(stored)
    except ValueError:
        return stored
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return local_time(moment, zone)


def local_time(moment: datetime, zone: str) -> str:
    """An aware ``moment`` as "2026-01-01 11:00:00" in ``zone``, to the second."""
    return moment.astimezone(_zone(zone)).replace(tzinfo=None).isoformat(" ", "seconds")


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _cents_as_decimal(cents: Column, decimal_point: str) -> ColumnElement[Any]:
    """Whole cents (SQLite's money) as "-1234.05", by integer arithmetic: never a float."""
    sign = case((cents < 0, literal("-")), else_=literal(""))
    # Arguments of one printf, not a chain of "||": that binds tighter than "/" and "%".
    # A plain "/" of two integers: SQLAlchemy's "//" is FLOOR(), which old SQLite lacks.
    whole = func.abs(cents).op("/")(literal(100))
    return func.printf(f"%s%d{decimal_point}%02d", sign, whole, func.abs(cents) % 100)


# SQLite's limit on the arguments of a function (SQLITE_MAX_FUNCTION_ARG), less the pattern.
_PRINTF_ARGUMENTS = 127


def sqlite_line(
    columns: Sequence[Column],
    *,
    delimiter: str,
    empty_text: str,
    forms: ValueForms,
) -> ColumnElement[str]:
    """One CSV line per row (no line ending), right whenever no value holds a separator,
    a quote, a line break or a NUL: the caller checks a block of lines for those in one
    pass and finishes a block that has any from the values themselves (``formatted``).

    NULL is written as ``empty_text``, and a text equal to it is quoted, so that it reads
    back as itself (as PostgreSQL's COPY does): with the default, an empty text is \"\".

    The other values go through printf, which builds the line in one buffer; text is
    joined to it with "||", which keeps a NUL (printf's %s stops at one) for the caller
    to find, where asking each value whether it holds one costs a scan of it.
    """
    parts: list[ColumnElement[Any]] = []
    pattern: list[str] = []
    arguments: list[ColumnElement[Any]] = []

    def printed() -> None:
        if arguments:
            parts.append(func.printf("".join(pattern), *arguments))
        elif pattern:
            parts.append(literal("".join(pattern)))
        pattern.clear()
        arguments.clear()

    for position, column in enumerate(columns):
        if position:
            pattern.append(delimiter.replace("%", "%%"))
        value = formatted(column, "sqlite", forms)
        quoted = literal('"').op("||")(value).op("||")(literal('"'))
        if is_text(column) or isinstance(column.type, Enum):
            printed()
            # "||" with NULL is NULL: a missing text is written as the text for none.
            whens: list[tuple[Any, Any]] = [(column == literal(empty_text), quoted)]
            if column.nullable:
                whens.insert(0, (column.is_(None), literal(empty_text)))
            parts.append(case(*whens, else_=value))
            continue
        if len(arguments) == _PRINTF_ARGUMENTS:
            printed()
        if empty_text:
            # As COPY does: any value that reads like the text for no value is quoted.
            value = case(
                (value.is_(None), literal(empty_text)),
                (value == literal(empty_text), quoted),
                else_=value,
            )
        # printf's %s writes NULL as nothing, as the default empty_text wants.
        pattern.append("%s")
        arguments.append(value)
    printed()
    line = parts[0]
    for part in parts[1:]:
        line = line.op("||")(part)
    return line


def lines_are_finished(text: str, rows: int, fields: int, delimiter: str, line_ending: str) -> bool:
    """Whether ``text`` (``rows`` lines from ``sqlite_line`` joined by ``line_ending``)
    needs no quoting: no value in it holds a quote, a carriage return, a line feed, a NUL
    (written as NUL_SHOWN) or any of the three separators. A few scans in C over the whole
    block, never a loop over its values."""
    breaks = rows - 1
    return (
        '"' not in text
        and "\0" not in text
        and text.count("\n") == breaks
        and text.count("\r") == (breaks if line_ending == "\r\n" else 0)
        and text.count(delimiter) == rows * (fields - 1)
        and not any(other in text for other in SEPARATORS if other != delimiter)
    )
