"""How values read in the tables and on the clipboard: dates in the user's time zone in the
style they chose, money exact."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from PySide6.QtCore import QDate, QDateTime, QLocale, QTime, QTimeZone

from ui.preferences import DateStyle, display_preferences

_CENT = Decimal("0.01")


def format_datetime(
    value: datetime, locale: QLocale | None = None, style: DateStyle | None = None
) -> str:
    """A moment in the user's time zone, to the minute, in ``style`` (by default the one the
    user chose): ``2025-02-03 10:51``, or the locale's short format."""
    local = local_moment(value)
    if (style or display_preferences().date_style) is DateStyle.ISO:
        # Not strftime: its %Y does not pad years before 1000 on every platform.
        return local.replace(tzinfo=None).isoformat(sep=" ", timespec="minutes")
    offset = local.utcoffset()
    zone = QTimeZone.fromSecondsAheadOfUtc(int(offset.total_seconds()) if offset else 0)
    # Built from the local fields with their own offset, so Qt prints exactly the wall
    # time that the copied text names, whatever Qt thinks the local zone is.
    moment = QDateTime(
        QDate(local.year, local.month, local.day), QTime(local.hour, local.minute), zone
    )
    return (locale or QLocale()).toString(moment, QLocale.FormatType.ShortFormat)


def local_moment(value: datetime) -> datetime:
    """``value`` in the user's time zone with its UTC offset: what is shown and what is
    copied both start from here, so they always name the same local time."""
    try:
        return value.astimezone()
    except (OverflowError, OSError):  # year 1 or 9999 moved past the calendar's edge
        return value


def format_money(value: Decimal, locale: QLocale | None = None) -> str:
    """Exact: the Decimal's own digits with the locale's separators, never via a float."""
    return with_locale_separators(f"{value:,.2f}", locale)


def number_text(value: Decimal, two_places: bool, locale: QLocale | None = None) -> str:
    """Exact digits with the locale's separators: money (and averages) to the cent, whole
    numbers whole; never through a float."""
    if two_places:
        # Half up, as a spreadsheet rounds: an average of 2.625 reads 2.63.
        return format_money(value.quantize(_CENT, rounding=ROUND_HALF_UP), locale)
    return with_locale_separators(f"{value:,}", locale)


def count_text(value: int, locale: QLocale | None = None) -> str:
    """A whole number (a count, an id, a length) as every figure on screen writes it."""
    return with_locale_separators(f"{value:,}", locale)


def with_locale_separators(text: str, locale: QLocale | None = None) -> str:
    """Python's ``,``/``.`` number text with the locale's group separator and point — or
    none where the locale leaves groups out (C), as QLocale.toString does for counts: one
    rule for every number on screen."""
    used = locale or QLocale()
    omitted = used.numberOptions() & QLocale.NumberOption.OmitGroupSeparator
    group = "" if omitted else used.groupSeparator()
    return text.replace(",", "\0").replace(".", used.decimalPoint()).replace("\0", group)


def plain_text(value: Any) -> str:
    """A value as copied to the clipboard: machine-readable, no locale, no grouping. A moment
    is the local time shown, to the second, with its UTC offset (``2025-02-03 10:51:23+01:00``):
    it matches the cell and still means one instant wherever it is pasted."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_moment(value).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
