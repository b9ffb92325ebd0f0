"""How values read in the tables: dates in the user's locale and time zone, money exact."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QDateTime, QLocale, Qt

from app.services.catalog import ColumnInfo, ColumnKind

RIGHT_ALIGNED = frozenset({ColumnKind.INTEGER, ColumnKind.MONEY})


def display_text(column: ColumnInfo, value: Any, locale: QLocale | None = None) -> str:
    if value is None:
        return ""
    kind = column.kind
    if kind is ColumnKind.DATETIME and isinstance(value, datetime):
        return format_datetime(value, locale)
    if kind is ColumnKind.MONEY and isinstance(value, Decimal):
        return format_money(value, locale)
    if kind is ColumnKind.BOOLEAN:
        return "Yes" if value else "No"
    if isinstance(value, str):
        # One line per cell: a post's paragraphs would otherwise stretch the row.
        return value if "\n" not in value else value.replace("\r\n", " ⏎ ").replace("\n", " ⏎ ")
    return str(value)


def format_datetime(value: datetime, locale: QLocale | None = None) -> str:
    moment = QDateTime.fromMSecsSinceEpoch(round(value.timestamp() * 1000))  # local time
    return (locale or QLocale()).toString(moment, QLocale.FormatType.ShortFormat)


def format_money(value: Decimal, locale: QLocale | None = None) -> str:
    """Exact: the Decimal's own digits with the locale's separators, never via a float."""
    return with_locale_separators(f"{value:,.2f}", locale)


def with_locale_separators(text: str, locale: QLocale | None = None) -> str:
    """Python's ``,``/``.`` number text with the locale's group separator and point."""
    used = locale or QLocale()
    return (
        text.replace(",", "\0")
        .replace(".", used.decimalPoint())
        .replace("\0", used.groupSeparator())
    )


def plain_text(value: Any) -> str:
    """A value as copied to the clipboard: machine-readable, no locale, no grouping."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def alignment(column: ColumnInfo) -> Qt.AlignmentFlag:
    horizontal = (
        Qt.AlignmentFlag.AlignRight if column.kind in RIGHT_ALIGNED else Qt.AlignmentFlag.AlignLeft
    )
    return horizontal | Qt.AlignmentFlag.AlignVCenter
