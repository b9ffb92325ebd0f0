"""How each kind of column looks in the windows: the twin of app/column_kinds.py.

One ``Look`` per kind: its width before any row arrives, its alignment, how a value reads
in a cell (``display_text``) and which filter editor a filter on it opens. A new column
type is a kind there and a look here; no other file of the windows dispatches on kinds
for these.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QLocale, Qt

from app.column_kinds import Kind
from app.services.catalog import ColumnInfo, ColumnKind
from ui.formatting import format_datetime, format_money, with_locale_separators
from ui.preferences import DateStyle

# How much of a JSON document or a list a cell shows; the record window shows all of it.
PREVIEW_CHARS = 200
# How many bytes of a BLOB a cell shows in hex, after its size.
HEX_PREVIEW_BYTES = 16


class FilterEditor(StrEnum):
    """Which editor a column's filter opens (ui/widgets/filter_editors.py makes it)."""

    PERIOD = "period"
    NUMBERS = "numbers"
    CHOICE = "choice"
    YES_NO = "yes-no"
    RECORD = "record"
    PRESENCE = "presence"


Show = Callable[[Any, QLocale | None, DateStyle | None], str]


def _as_text(value: Any, _locale: QLocale | None, _style: DateStyle | None) -> str:
    if isinstance(value, str):
        # One line per cell: a post's paragraphs would otherwise stretch the row.
        return value if "\n" not in value else value.replace("\r\n", " ⏎ ").replace("\n", " ⏎ ")
    if isinstance(value, bytes):
        return _bytes(value)
    return str(value)


def _moment(value: Any, locale: QLocale | None, style: DateStyle | None) -> str:
    if isinstance(value, datetime):
        return format_datetime(value, locale, style)
    return _as_text(value, locale, style)


def _as_stored_moment(value: Any, locale: QLocale | None, style: DateStyle | None) -> str:
    """A date and time without a zone, shown as stored: never moved to the local zone."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return _as_text(value, locale, style)


def _money(value: Any, locale: QLocale | None, style: DateStyle | None) -> str:
    if isinstance(value, Decimal):
        return format_money(value, locale)
    return _as_text(value, locale, style)


def _exact_number(value: Any, locale: QLocale | None, style: DateStyle | None) -> str:
    """A NUMERIC's own digits (never through a float) with the locale's decimal point,
    ungrouped as whole numbers are."""
    if isinstance(value, Decimal) and value.is_finite():
        return with_locale_separators(f"{value:f}", locale)
    if isinstance(value, float):
        return with_locale_separators(repr(value), locale)
    return _as_text(value, locale, style)


def _yes_no(value: Any, _locale: QLocale | None, _style: DateStyle | None) -> str:
    if isinstance(value, bool | int):
        return "Yes" if value else "No"
    return str(value)  # another program's text in a yes/no column: shown as it is


def _duration(value: Any, locale: QLocale | None, style: DateStyle | None) -> str:
    if isinstance(value, timedelta):
        return str(value)
    return _as_text(value, locale, style)


def _json(value: Any, locale: QLocale | None, style: DateStyle | None) -> str:
    if isinstance(value, str):
        return _cut(value.replace("\n", " "))
    try:
        return _cut(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))
    except (TypeError, ValueError):
        return _cut(str(value))


def _array(value: Any, locale: QLocale | None, style: DateStyle | None) -> str:
    if isinstance(value, list | tuple):
        return _cut("{" + ", ".join("NULL" if item is None else str(item) for item in value) + "}")
    return _as_text(value, locale, style)


def _blob(value: Any, locale: QLocale | None, style: DateStyle | None) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return _bytes(bytes(value))
    return _as_text(value, locale, style)  # SQLite: whatever another program stored


def _bytes(value: bytes) -> str:
    """``12 bytes · 48 65 6c 6c …``: the size and the first bytes in hex."""
    size = "1 byte" if len(value) == 1 else f"{len(value):,} bytes"
    shown = value[:HEX_PREVIEW_BYTES].hex(" ")
    return f"{size} · {shown}" + (" …" if len(value) > HEX_PREVIEW_BYTES else "")


def _cut(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


@dataclass(frozen=True)
class Look:
    # Characters wide until the first rows arrive (a header never measures every row).
    width: int
    show: Show = _as_text
    right_aligned: bool = False
    filter_editor: FilterEditor = FilterEditor.PRESENCE
    # What the value part of a nullable column's filter is called next to "Is empty".
    matching: str = "Has a value"


LOOKS: dict[Kind, Look] = {
    ColumnKind.INTEGER: Look(8, _as_text, True, FilterEditor.NUMBERS, "In a range"),
    ColumnKind.DECIMAL: Look(12, _exact_number, True, FilterEditor.NUMBERS, "In a range"),
    ColumnKind.REAL: Look(12, _exact_number, True, FilterEditor.NUMBERS, "In a range"),
    ColumnKind.MONEY: Look(14, _money, True, FilterEditor.NUMBERS, "In a range"),
    ColumnKind.TEXT: Look(24),
    ColumnKind.DATETIME: Look(21, _moment, False, FilterEditor.PERIOD, "In a period"),
    ColumnKind.TIMESTAMP: Look(21, _as_stored_moment, False, FilterEditor.PERIOD, "In a period"),
    ColumnKind.DATE: Look(12, _as_stored_moment, False, FilterEditor.PERIOD, "In a period"),
    ColumnKind.TIME: Look(10, _as_stored_moment),
    ColumnKind.INTERVAL: Look(14, _duration, True),
    ColumnKind.BOOLEAN: Look(7, _yes_no, False, FilterEditor.YES_NO, "Yes or no"),
    ColumnKind.CHOICE: Look(12, _as_text, False, FilterEditor.CHOICE, "One of"),
    ColumnKind.REFERENCE: Look(9, _as_text, False, FilterEditor.RECORD, "A record"),
    ColumnKind.UUID: Look(36),
    ColumnKind.JSON: Look(30, _json),
    ColumnKind.BLOB: Look(24, _blob),
    ColumnKind.ARRAY: Look(20, _array),
    ColumnKind.UNKNOWN: Look(16),
}


def look_of(kind: Kind) -> Look:
    return LOOKS[kind]


def display_text(
    column: ColumnInfo, value: Any, locale: QLocale | None = None, style: DateStyle | None = None
) -> str:
    """How ``value`` reads in a cell of ``column``: "" for NULL."""
    if value is None:
        return ""
    return LOOKS[column.kind].show(value, locale, style)


def alignment(column: ColumnInfo) -> Qt.AlignmentFlag:
    horizontal = (
        Qt.AlignmentFlag.AlignRight
        if LOOKS[column.kind].right_aligned
        else Qt.AlignmentFlag.AlignLeft
    )
    return horizontal | Qt.AlignmentFlag.AlignVCenter
