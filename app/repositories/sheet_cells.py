"""Rows of a worksheet as the database writes them: the XML of each row's cells.

Handing a million rows of values to a workbook library cell by cell costs a minute or more
in Python; the database writes each row's cells in the time it takes to write a CSV
line (as the CSV export lets it, app/repositories/export_columns.py). Each row comes out
as the ``<c>`` elements of SpreadsheetML's ``sheetData``, typed: numbers as numbers,
money as its exact decimal with the money style, booleans, date-times as Excel's serial
day numbers (in UTC or in a named zone) with the date style, and text as an inline string
(escaped, so nothing in it is ever read as markup or a formula). A date column's text
that is no date at all is written as text. NULL writes no cell.

Each cell's reference holds ``ROW_MARK`` where its row number goes: the writer puts the
number in (``<`` never appears unescaped in a value, so the mark cannot come from data).
What SQL cannot do cheaply is left to the writer, which finds it in a block of rows in one
pass: control characters and ``_xHHHH_`` sequences to escape, text longer than a cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Enum,
    Integer,
    Numeric,
    String,
    Text,
    case,
    cast,
    func,
    literal,
    not_,
)
from sqlalchemy import extract as sql_extract

from app.column_kinds import ColumnKind, kind_of_type
from app.core.database import BASE64_FUNCTION
from app.models.types import Money, UTCDateTime, stored_as_is
from app.query import Column
from app.repositories.export_columns import _cents_as_decimal

ROW_MARK = "<@"
# Excel's day 0 is 1899-12-30: its serial number of the Unix epoch, and as a Julian day.
UNIX_EPOCH_SERIAL = 25569
JULIAN_DAY_OF_SERIAL_0 = 2415018.5


@dataclass(frozen=True)
class SheetStyles:
    """The workbook's style (xf) indices the cells refer to."""

    money: int
    moment: int
    day: int


def column_letters(position: int) -> str:
    """Excel's name of the column at ``position`` (0 is "A", 26 is "AA")."""
    letters = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def row_cells(
    columns: Sequence[Column], dialect: str, styles: SheetStyles, time_zone: str
) -> ColumnElement[str]:
    """One row's cells, every column of ``columns`` in order, as one text."""
    cells = [
        _cell(column, column_letters(position), dialect, styles, time_zone)
        for position, column in enumerate(columns)
    ]
    row = cells[0]
    for cell in cells[1:]:
        row = row.op("||")(cell)
    return row


def _cell(
    column: Column, letters: str, dialect: str, styles: SheetStyles, time_zone: str
) -> ColumnElement[str]:
    reference = f'<c r="{letters}{ROW_MARK}"'
    column_type = column.type
    kind = kind_of_type(column_type)
    cell: ColumnElement[Any]
    wall_time = kind in (ColumnKind.TIMESTAMP, ColumnKind.DATE)
    style = styles.day if kind is ColumnKind.DATE else styles.moment
    if dialect == "sqlite" and stored_as_is(column_type):
        # Another program's SQLite value, of whatever storage class it has: a number
        # cell for a number, base64 text for bytes, text for the rest — and, in a date
        # column, a date cell for text that reads as one.
        stored = func.typeof(column)
        number = _wrapped(f"{reference}><v>", cast(column, Text), "</v></c>")
        whens: list[tuple[Any, Any]] = [
            (stored.in_(("integer", "real")), number),
            (stored == "blob", _text_cell(getattr(func, BASE64_FUNCTION)(column), reference)),
        ]
        if wall_time:
            days = cast(func.julianday(column) - literal(JULIAN_DAY_OF_SERIAL_0), Text)
            whens.append(
                (
                    func.julianday(column).is_not(None),
                    _wrapped(f'{reference} s="{style}"><v>', days, "</v></c>"),
                )
            )
        whens.append((stored == "text", _text_cell(column, reference)))
        cell = case(*whens)
    elif wall_time and dialect != "sqlite":
        # A date, or a date and time without a zone: its wall time as it is stored.
        seconds = cast(sql_extract("epoch", column), Numeric)
        days = cast(func.round(seconds / 86400 + UNIX_EPOCH_SERIAL, 10), Text)
        cell = _wrapped(f'{reference} s="{style}"><v>', days, "</v></c>")
    elif isinstance(column_type, Money):
        number = _cents_as_decimal(column, ".") if dialect == "sqlite" else cast(column, Text)
        cell = _wrapped(f'{reference} s="{styles.money}"><v>', number, "</v></c>")
        cell = _number_or_text(column, cell, reference, dialect, ("integer",))
    elif isinstance(column_type, UTCDateTime) or kind is ColumnKind.DATETIME:
        serial = _serial(column, dialect, time_zone)
        cell = _wrapped(f'{reference} s="{styles.moment}"><v>', serial, "</v></c>")
        if dialect == "sqlite":
            # Text another program stored that no date function reads: shown as it is.
            cell = func.coalesce(cell, _text_cell(column, reference))
    elif isinstance(column_type, Boolean):
        flag = case((column, literal("1")), (not_(column), literal("0")))
        cell = _wrapped(f'{reference} t="b"><v>', flag, "</v></c>")
    elif isinstance(column_type, Integer):
        cell = _wrapped(f"{reference}><v>", cast(column, Text), "</v></c>")
        cell = _number_or_text(column, cell, reference, dialect, ("integer", "real"))
    elif isinstance(column_type, (String, Enum)):
        cell = _text_cell(column, reference)
    elif kind.numeric:
        # A NUMERIC or a float: a number cell, but NaN and the infinities, which no
        # spreadsheet number holds, as their text.
        digits = cast(column, Text)
        number = _wrapped(f"{reference}><v>", digits, "</v></c>")
        cell = case(
            (digits.in_(("NaN", "Infinity", "-Infinity")), _text_cell(column, reference)),
            else_=number,
        )
    elif kind is ColumnKind.BLOB:
        base64 = func.translate(func.encode(column, "base64"), "\n", "")
        cell = _text_cell(base64, reference)
    else:
        # A date, a time, an interval, a UUID, JSON, an array…: the database's own text.
        cell = _text_cell(column, reference)
    # "||" with NULL is NULL: a missing value writes no cell.
    return func.coalesce(cell, literal("")) if column.nullable else cell


def _number_or_text(
    column: Column,
    cell: ColumnElement[str],
    reference: str,
    dialect: str,
    kinds: tuple[str, ...],
) -> ColumnElement[str]:
    """``cell`` where SQLite holds a number there; another program's text (SQLite keeps
    what it is given) as a text cell, never inside a number's <v>; NULL as NULL."""
    if dialect != "sqlite":
        return cell
    stored = func.typeof(column)
    return case(
        (stored.in_(kinds), cell),
        (column.is_not(None), _text_cell(column, reference)),
    )


def _wrapped(before: str, value: ColumnElement[Any], after: str) -> ColumnElement[str]:
    return literal(before).op("||")(value).op("||")(literal(after))


def _text_cell(column: ColumnElement[Any], reference: str) -> ColumnElement[str]:
    text: ColumnElement[Any] = cast(column, Text)
    for character, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = func.replace(text, character, entity)
    # Whitespace kept as it is everywhere: Excel drops leading and trailing spaces without.
    return _wrapped(
        f'{reference} t="inlineStr"><is><t xml:space="preserve">', text, "</t></is></c>"
    )


def _serial(column: Column, dialect: str, time_zone: str) -> ColumnElement[Any]:
    """The moment as Excel's serial day number of its wall time in ``time_zone`` ("UTC", or
    "localtime" for this computer's zone, which SQLite knows by that name)."""
    if dialect == "sqlite":
        # SQLite reads our UTC text and another program's "…Z" or "…+02:00" alike.
        days = (
            func.julianday(column, time_zone)
            if time_zone == "localtime"
            else func.julianday(column)
        )
        return cast(days - literal(JULIAN_DAY_OF_SERIAL_0), Text)
    wall = column.op("AT TIME ZONE")(literal(time_zone))
    seconds = cast(sql_extract("epoch", wall), Numeric)
    return cast(func.round(seconds / 86400 + UNIX_EPOCH_SERIAL, 10), Text)
