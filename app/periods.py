"""Periods of calendar days relative to today ("Last 7 days"), as filters on dates: ranges
of timezone-aware local midnights, the lower end included and the upper end excluded, so
a day is exactly the rows from its midnight up to the next one. A filter bar offers them;
a saved view keeps a period by its name, so it stays relative (app/saved_views.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from app.query import Range


def local_midnight(day: date) -> datetime:
    """The first moment of ``day`` in the user's time zone, timezone-aware."""
    return datetime.combine(day, time()).astimezone()


def _month_start(day: date, months_later: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + months_later
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """A named span of calendar days relative to today: [first, end)."""

    name: str
    days: Callable[[date], tuple[date, date]]

    def range_for(self, column: str, on: date) -> Range:
        first, end = self.days(on)
        return Range(column, local_midnight(first), local_midnight(end), high_inclusive=False)


DAY = timedelta(days=1)
PERIODS: tuple[Period, ...] = (
    Period("Today", lambda on: (on, on + DAY)),
    Period("Yesterday", lambda on: (on - DAY, on)),
    # Calendar days including today, as the date pickers show them.
    Period("Last 7 days", lambda on: (on - 6 * DAY, on + DAY)),
    Period("Last 30 days", lambda on: (on - 29 * DAY, on + DAY)),
    Period("This month", lambda on: (_month_start(on), _month_start(on, 1))),
    Period("Last month", lambda on: (_month_start(on, -1), _month_start(on))),
    Period("This year", lambda on: (date(on.year, 1, 1), date(on.year + 1, 1, 1))),
)


def period_named(name: str) -> Period | None:
    """The period of that name (as a saved view writes it), any case."""
    return next((p for p in PERIODS if p.name.lower() == name.strip().lower()), None)
