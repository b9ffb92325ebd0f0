"""The values inside filters, as people type and read them.

Numbers are parsed the way the user's locale writes them and come out exact (``int`` for whole
numbers, ``Decimal`` for money; never ``float``). Date periods ("Last 7 days") become ranges of
timezone-aware local midnights, the lower end included and the upper end excluded, so a day
is exactly the rows from its midnight up to the next one. ``describe`` writes the words a
filter chip shows ("Status: pending, shipped", "Created: last 7 days").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QDate, QLocale

from app.periods import DAY as DAY
from app.periods import PERIODS as PERIODS
from app.periods import Period as Period
from app.periods import local_midnight as local_midnight
from app.query import BIGINT, MAX_DIGITS, Equals, Filter, IntegerBounds, IsEmpty, OneOf, Range
from app.services.catalog import ColumnInfo, ColumnKind, Kind
from ui.formatting import count_text, format_datetime, format_money
from ui.preferences import DateStyle, display_preferences

# Labels a caller knows for filter values, e.g. {("author_id", 5): "#5 Ada Lovelace"}.
ValueLabels = Mapping[tuple[str, object], str]

# Money columns are NUMERIC(14, 2): twelve digits before the decimal point.
MONEY_LIMIT = Decimal(10) ** 12
MONEY_DECIMALS = 2
_CENT = Decimal(1).scaleb(-MONEY_DECIMALS)
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
# Digits with separators of some locale or other (Swiss "1'234", "1\u2019234"): a number,
# even if not written this locale's way.
_DIGITS_AND_SEPARATORS = re.compile(r"[+\-\u2212]?[\d.,'\u2019]*\d[\d.,'\u2019]*")


class InvalidNumberError(ValueError):
    """Text that is not a number of the column's kind; ``str()`` says why, for the user."""


def today() -> date:
    """The user's current local date (tests replace this to pin the calendar)."""
    return date.today()


def as_local(value: Any) -> datetime | None:
    """A range end as a local aware datetime; naive values and dates are local already
    (as ``app.query.coerce_value`` reads them)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone()
    if isinstance(value, date):
        return local_midnight(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).astimezone()
        except ValueError:
            return None
    return None


def days_range(column: str, first: date | None, last: date | None) -> Range:
    """Whole days from ``first`` through ``last`` (either may be open)."""
    return Range(
        column,
        local_midnight(first) if first is not None else None,
        local_midnight(last + DAY) if last is not None else None,
        high_inclusive=False,
    )


def matching_period(filter_: Range, on: date) -> Period | None:
    low, high = as_local(filter_.low), as_local(filter_.high)
    if filter_.high_inclusive or low is None or high is None:
        return None
    for period in PERIODS:
        first, end = period.days(on)
        if low == local_midnight(first) and high == local_midnight(end):
            return period
    return None


def whole_days(filter_: Range) -> tuple[date | None, date | None] | None:
    """(first, last) day when the range is whole local days (what the date pickers make)."""
    low, high = as_local(filter_.low), as_local(filter_.high)
    if (filter_.low is not None and low is None) or (filter_.high is not None and high is None):
        return None
    if low is None and high is None:
        return None
    if low is not None and low != local_midnight(low.date()):
        return None
    if high is not None and (filter_.high_inclusive or high != local_midnight(high.date())):
        return None
    return (
        low.date() if low is not None else None,
        high.date() - DAY if high is not None else None,
    )


# -- numbers ------------------------------------------------------------------------------


def _decimal_points(locale: QLocale) -> list[str]:
    points = [locale.decimalPoint()]
    if "." not in points and locale.groupSeparator() != ".":
        points.append(".")  # what people type on a numeric keypad, whatever the locale
    return points


def _split_number(text: str, locale: QLocale) -> tuple[str, str, str | None] | None:
    """(sign, whole digits, decimal digits or None without a point) of a number as written
    in ``locale``; None when it is not a number."""
    cleaned = _SPACES.sub("", text).replace("\u2212", "-")
    group = _SPACES.sub("", locale.groupSeparator())
    # A grouped number starts with a digit other than 0: "1.000" is a thousand in German,
    # but "0.001" is a decimal typed the English way, not 1 (refused, never reread).
    whole = rf"[1-9]\d{{0,2}}(?:{re.escape(group)}\d{{3}})+|\d+" if group else r"\d+"
    points = "|".join(re.escape(point) for point in _decimal_points(locale))
    match = re.fullmatch(rf"([+-]?)({whole})?(?:(?:{points})(\d*))?", cleaned)
    if match is None:
        return None
    sign, digits, decimals = match.group(1), match.group(2) or "", match.group(3)
    if not digits and not decimals:
        return None
    if group:
        digits = digits.replace(group, "")
    return sign, digits or "0", decimals


def parse_integer(text: str, locale: QLocale, bounds: IntegerBounds | None = None) -> int | None:
    """A whole number as the user typed it, within ``bounds`` (the column's, from the
    catalog; by default the widest integer column's); None when the text is blank."""
    if not text.strip():
        return None
    parts = _split_number(text, locale)
    if parts is None:
        raise InvalidNumberError(f"“{text.strip()}” is not a whole number.")
    sign, digits, decimals = parts
    if decimals is not None:
        raise InvalidNumberError(f"“{text.strip()}” is not a whole number.")
    written = ""
    if len(digits.lstrip("0")) > MAX_DIGITS:
        # Beyond every bound, and too long to read as a number (or to show whole).
        value = int(sign + "1" + "0" * MAX_DIGITS)
        written = text.strip()
    else:
        value = int(sign + digits)
    refusal = (bounds or BIGINT).refusal(
        value, lambda number: format_integer(number, locale), written
    )
    if refusal is not None:
        raise InvalidNumberError(f"{refusal}.")
    return value


def parse_money(text: str, locale: QLocale) -> Decimal | None:
    """An exact amount as the user typed it, with at most two decimals; None when blank."""
    if not text.strip():
        return None
    parts = _split_number(text, locale)
    if parts is None:
        raise InvalidNumberError(f"“{text.strip()}” is not an amount{_how_to_write(text, locale)}.")
    sign, digits, decimals = parts
    decimals = decimals or ""
    if len(decimals) > MONEY_DECIMALS:
        raise InvalidNumberError(f"“{text.strip()}” has more than {MONEY_DECIMALS} decimal places.")
    amount = Decimal(f"{sign}{digits}.{decimals or '0'}").quantize(_CENT)
    if abs(amount) >= MONEY_LIMIT:
        raise InvalidNumberError(f"{format_money(amount, locale)} is too large.")
    return amount


def parse_number(text: str, locale: QLocale) -> Decimal | None:
    """Any number as the user typed it (a NUMERIC of any scale, a REAL), kept exact as
    typed; None when blank."""
    if not text.strip():
        return None
    parts = _split_number(text, locale)
    if parts is None:
        raise InvalidNumberError(f"“{text.strip()}” is not a number{_how_to_write(text, locale)}.")
    sign, digits, decimals = parts
    return Decimal(f"{sign}{digits}.{decimals}" if decimals else f"{sign}{digits}")


def _how_to_write(text: str, locale: QLocale) -> str:
    """How this locale writes an amount, for the refusal of digits written another
    locale's way (the separators swapped: "0.001" typed in German); "" for other text."""
    if not _DIGITS_AND_SEPARATORS.fullmatch(_SPACES.sub("", text)):
        return ""
    group = locale.groupSeparator()
    example = "1234" + locale.decimalPoint() + "56"
    if group.strip():
        return f" (write amounts like {example} or 1{group}234{locale.decimalPoint()}56)"
    return f" (write amounts like {example})"


def format_integer(value: int, locale: QLocale) -> str:
    return count_text(value, locale)


def editable_number(value: Any, kind: Kind, locale: QLocale) -> str:
    """A number as the user would type it back: no grouping, the locale's decimal point."""
    if (
        kind is ColumnKind.MONEY
        and isinstance(value, Decimal | int)
        and not isinstance(value, bool)
    ):
        return f"{Decimal(value):.{MONEY_DECIMALS}f}".replace(".", locale.decimalPoint())
    if isinstance(value, Decimal | float):
        return str(value).replace(".", locale.decimalPoint())
    return str(value)


# -- dates --------------------------------------------------------------------------------


def date_format(locale: QLocale) -> str:
    """How dates read in filters, as in the grid (View > Dates in system format): ISO 8601,
    or the locale's short date format with a four-digit year (11/26/2025, not 11/26/25)."""
    if display_preferences().date_style is DateStyle.ISO:
        return "yyyy-MM-dd"
    pattern = locale.dateFormat(QLocale.FormatType.ShortFormat)
    return pattern if "yyyy" in pattern else pattern.replace("yy", "yyyy")


def format_date(day: date, locale: QLocale) -> str:
    return locale.toString(QDate(day.year, day.month, day.day), date_format(locale))


def format_moment(moment: datetime, locale: QLocale) -> str:
    """A moment in the user's time zone, to the minute, as the grid shows it."""
    return format_datetime(moment, locale)


def _days_text(first: date | None, last: date | None, locale: QLocale) -> str:
    if first is not None and last is not None:
        if first == last:
            return format_date(first, locale)
        return f"{format_date(first, locale)} – {format_date(last, locale)}"
    if first is not None:
        return f"from {format_date(first, locale)}"
    assert last is not None
    return f"until {format_date(last, locale)}"


def describe_period(filter_: Range, locale: QLocale, on: date) -> str:
    period = matching_period(filter_, on)
    if period is not None:
        return period.name.lower()
    days = whole_days(filter_)
    if days is not None:
        return _days_text(*days, locale)
    low, high = as_local(filter_.low), as_local(filter_.high)
    low_text = format_moment(low, locale) if low is not None else str(filter_.low)
    high_text = format_moment(high, locale) if high is not None else str(filter_.high)
    if filter_.low is not None and filter_.high is not None:
        return f"{low_text} – {high_text}"
    if filter_.low is not None:
        return f"from {low_text}"
    return f"until {high_text}" if filter_.high_inclusive else f"before {high_text}"


# -- chip text ----------------------------------------------------------------------------


def reference_text(value: object, label: str | None) -> str:
    """``#12 Ada Lovelace``: a record as pickers name it (the label may carry the id)."""
    if not label:
        return f"#{value}"
    prefix = f"#{value}"
    return label if label == prefix or label.startswith(prefix + " ") else f"{prefix} {label}"


def value_text(column: ColumnInfo, value: Any, labels: ValueLabels, locale: QLocale) -> str:
    label = _label_for(labels, column.name, value)
    if column.kind is ColumnKind.REFERENCE:
        return reference_text(value, label)
    if label:
        return label
    if isinstance(value, bool):
        return "yes" if value else "no"
    if column.kind is ColumnKind.MONEY and isinstance(value, Decimal | int):
        return format_money(Decimal(value), locale)
    if isinstance(value, int):
        return format_integer(value, locale)
    if isinstance(value, datetime):
        return format_moment(value, locale)
    return str(value)


def _label_for(labels: ValueLabels, column: str, value: object) -> str | None:
    try:
        return labels.get((column, value))
    except TypeError:  # an unhashable value has no label
        return None


def describe_value(
    column: ColumnInfo, filter_: Filter, labels: ValueLabels, locale: QLocale, on: date
) -> str:
    """The part of a chip after the column label: "pending, shipped", "last 7 days"."""
    if isinstance(filter_, Equals):
        return value_text(column, filter_.value, labels, locale)
    if isinstance(filter_, OneOf):
        if not filter_.values:
            return "none"
        return ", ".join(value_text(column, value, labels, locale) for value in filter_.values)
    if isinstance(filter_, IsEmpty):
        return "is empty" if filter_.empty else "has a value"
    if column.kind is ColumnKind.DATETIME:
        return describe_period(filter_, locale, on)
    low = value_text(column, filter_.low, labels, locale)
    high = value_text(column, filter_.high, labels, locale)
    less = "≤" if filter_.high_inclusive else "<"
    if filter_.low is not None and filter_.high is not None:
        if filter_.low == filter_.high and filter_.high_inclusive:
            return low
        return f"{low} – {high}" if filter_.high_inclusive else f"≥ {low}, < {high}"
    if filter_.low is not None:
        return f"≥ {low}"
    return f"{less} {high}"


def describe(
    column: ColumnInfo, filter_: Filter, labels: ValueLabels, locale: QLocale, on: date
) -> str:
    """The chip text: "Status: pending, shipped", "Balance: 10.00 – 500.00"."""
    return f"{column.label}: {describe_value(column, filter_, labels, locale, on)}"


def explain(
    column: ColumnInfo, filter_: Filter, labels: ValueLabels, locale: QLocale, on: date
) -> str:
    """The chip tooltip: its text, and for a named period the days it covers."""
    text = describe(column, filter_, labels, locale, on)
    if isinstance(filter_, Range) and matching_period(filter_, on) is not None:
        days = whole_days(filter_)
        if days is not None:
            text += f" ({_days_text(*days, locale)})"
    return text
