"""Aggregates over what a browse window shows: totals, frequency tables and a column's
description, each computed by the database over the whole view (its search, filters and
deleted rows), never by adding up loaded cells.

Money stays exact: the database sums whole cents (SQLite) or NUMERIC (PostgreSQL) and the
answer is a Decimal; an average or a median is divided here, in Decimal. A frequency
table is one grouped statement that also counts the rows and groups of the whole view;
every group carries the filter that shows exactly its rows (the drill-down).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    case,
    cast,
    distinct,
    func,
    literal,
    null,
    select,
    type_coerce,
)
from sqlalchemy import String as SAString
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import Database
from app.query import Equals, Filter, IsEmpty, KeyRange, QuerySpec, Range, coerce_value
from app.repositories.base import TableRepository
from app.repositories.export_columns import is_text
from app.services import catalog
from app.services.catalog import Catalog, ColumnInfo, ColumnKind, catalog_of
from app.services.errors import ValidationError
from app.services.records import repository_for, title_of
from app.services.unit_of_work import unit_of_work

# Groups a frequency table lists one by one; the rest of the view is folded into "other".
TOP_GROUPS = 50
# About this many ranges for numbers and money: a bar each, readable at a glance.
RANGE_BUCKETS = 10


class Grouping(StrEnum):
    VALUE = "value"
    DAY = "day"
    MONTH = "month"
    YEAR = "year"
    RANGE = "range"


def groupings(column: ColumnInfo) -> tuple[Grouping, ...]:
    """How a frequency table can group this column, the default first."""
    if column.kind is ColumnKind.DATETIME:
        return (Grouping.MONTH, Grouping.DAY, Grouping.YEAR)
    if column.kind.numeric and not column.managed and not column.identifier:
        return (Grouping.RANGE, Grouping.VALUE)
    return (Grouping.VALUE,)


def totals_columns(info: catalog.EntityInfo) -> tuple[str, ...]:
    """The columns a totals footer adds up: amounts and quantities, not ids or versions."""
    return tuple(
        column.name
        for column in info.columns
        if column.kind.numeric and not column.managed and not column.identifier
    )


# -- totals ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnTotals:
    column: str
    values: int  # rows with a value (not NULL)
    sum: Decimal | None
    minimum: Decimal | None
    maximum: Decimal | None

    @property
    def average(self) -> Decimal | None:
        return None if self.sum is None or not self.values else self.sum / self.values


@dataclass(frozen=True)
class Totals:
    rows: int
    columns: tuple[ColumnTotals, ...] = ()

    def of(self, column: str) -> ColumnTotals:
        return next(totals for totals in self.columns if totals.column == column)


async def totals(
    database: Database,
    entity: str,
    spec: QuerySpec,
    columns: Sequence[str] | None = None,
    ranges: Sequence[KeyRange] = (),
) -> Totals:
    """The row count of the view (of its ``ranges`` when given: a selection) and, for each
    of ``columns`` (by default ``totals_columns``), sum, minimum and maximum, in one
    statement."""
    info = catalog_of(database).entity(entity)
    names = totals_columns(info) if columns is None else tuple(columns)
    for name in names:
        if not info.column(name).kind.numeric:
            raise ValidationError(f"{info.column(name).label} is not a number to add up.")
    repository_class = repository_for(database, entity)
    figures: list[ColumnElement[Any]] = [func.count()]
    for name in names:
        column = repository_class.column(name)
        figures += [func.count(column), func.sum(column), func.min(column), func.max(column)]
    async with unit_of_work(database) as session:
        repository = repository_class(session)
        statement = await repository.viewed(
            select(*figures).select_from(repository_class.table), spec, ranges
        )
        row = (await session.execute(statement)).one()
    found = [
        ColumnTotals(
            name,
            int(row[1 + 4 * place]),
            _decimal(row[2 + 4 * place]),
            _decimal(row[3 + 4 * place]),
            _decimal(row[4 + 4 * place]),
        )
        for place, name in enumerate(names)
    ]
    return Totals(int(row[0]), tuple(found))


def _decimal(value: Any) -> Decimal | None:
    """An exact figure from what the database answered (a float by its shortest
    spelling); None for nothing, or for text another program kept in a number column
    (SQLite), which no sum or extreme can be made of."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


# -- frequency tables ------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueRange:
    """Numbers from ``low`` up to ``high``: ``high`` itself only in the last range."""

    low: Decimal
    high: Decimal
    last: bool = False


@dataclass(frozen=True)
class Frequency:
    """One group: its value (a column's value; a day, month or year as the date it starts
    on; a ValueRange; None for no value), how many rows hold it, and the filter that shows
    exactly those rows. ``title`` names a referenced record."""

    value: Any
    count: int
    filter: Filter
    title: str = ""


@dataclass(frozen=True)
class Frequencies:
    entity: str
    column: str
    grouping: Grouping
    rows: int  # in the whole view
    groups: int  # distinct groups in the whole view
    items: tuple[Frequency, ...]  # most frequent first, at most TOP_GROUPS
    # For ranges: their ends, lowest first (a range no row falls in is in no item).
    boundaries: tuple[Decimal, ...] = ()

    @property
    def other(self) -> int:
        """Rows of the groups beyond ``items``: the long tail."""
        return self.rows - sum(item.count for item in self.items)

    def percent(self, count: int) -> Decimal:
        return Decimal(0) if not self.rows else Decimal(count * 100) / self.rows


async def frequencies(
    database: Database,
    entity: str,
    spec: QuerySpec,
    column: str,
    grouping: Grouping | None = None,
    *,
    top: int = TOP_GROUPS,
) -> Frequencies:
    """How often each value (day, month, year or range) of ``column`` occurs in the view."""
    info = catalog_of(database).entity(entity)
    column_info = info.column(column)
    allowed = groupings(column_info)
    grouping = grouping or allowed[0]
    if grouping not in allowed:
        raise ValidationError(f"{column_info.label} cannot be grouped by {grouping.value}.")
    repository_class = repository_for(database, entity)
    table_column = _grouped(column_info, repository_class.column(column))
    async with unit_of_work(database) as session:
        await one_snapshot(session)
        repository = repository_class(session)
        boundaries: list[Decimal] = []
        if grouping is Grouping.RANGE:
            low_high = await session.execute(
                await repository.viewed(
                    select(func.min(table_column), func.max(table_column)).select_from(
                        repository_class.table
                    ),
                    spec,
                )
            )
            low, high = low_high.one()
            low_number, high_number = _decimal(low), _decimal(high)
            if low_number is not None and high_number is not None:
                boundaries = range_boundaries(
                    low_number, high_number, whole=column_info.kind is ColumnKind.INTEGER
                )
            elif low is not None:
                # Text among the numbers (another program's SQLite keeps what it is
                # given): no range holds it, so the values are counted one by one.
                grouping = Grouping.VALUE
        key = group_key(table_column, grouping, session, boundaries).label("records_desk_key")
        count = func.count().label("records_desk_count")
        statement = (
            select(
                key,
                count,
                func.sum(func.count()).over().label("records_desk_rows"),
                func.count().over().label("records_desk_groups"),
            )
            .select_from(repository_class.table)
            .group_by(key)
            .order_by(count.desc(), key.asc().nulls_last())
            .limit(top)
        )
        rows = (await session.execute(await repository.viewed(statement, spec))).all()
        items = [
            Frequency(value, int(row[1]), _drill_down(column, grouping, value))
            for row in rows
            for value in [group_value(row[0], grouping, boundaries)]
        ]
        if column_info.kind is ColumnKind.REFERENCE and column_info.references is not None:
            items = await _with_titles(session, catalog_of(database), column_info.references, items)
    total = int(rows[0][2]) if rows else 0
    groups = int(rows[0][3]) if rows else 0
    return Frequencies(entity, column, grouping, total, groups, tuple(items), tuple(boundaries))


def _grouped(column_info: ColumnInfo, column: Any) -> Any:
    """``column`` as values that can be told apart: its text where the database has no
    equality for its type (PostgreSQL's json, point, xml)."""
    if column_info.sortable:
        return column
    return type_coerce(cast(column, Text), Text).label(column.key)


async def one_snapshot(session: AsyncSession) -> None:
    """Let every statement of this unit of work read the same snapshot: on PostgreSQL
    (READ COMMITTED by default) a row committed between a range's bounds and its counts
    would be counted outside every range. SQLite's read transaction is one snapshot
    already."""
    if session.bind.dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def range_boundaries(low: Decimal, high: Decimal, *, whole: bool) -> list[Decimal]:
    """Round boundaries (steps of 1, 2 or 5 times a power of ten) from at or below ``low``
    to above ``high``: about RANGE_BUCKETS ranges, each holding at least one whole number
    for whole numbers."""
    span = high - low
    step = Decimal(1) if whole else Decimal("0.01")
    if span > 0:
        rough = span / RANGE_BUCKETS
        power = Decimal(10) ** (rough.adjusted())
        step = max(step, next(power * m for m in (1, 2, 5, 10) if power * m >= rough))
    first = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    boundaries = [first]
    while boundaries[-1] <= high:
        boundaries.append(boundaries[-1] + step)
    if len(boundaries) > 2 and boundaries[-2] == high:
        boundaries.pop()  # the last range takes its upper end: no range of the maximum alone
    if whole:
        return [boundary.quantize(Decimal(1)) for boundary in boundaries]
    return [boundary.quantize(Decimal("0.01")) for boundary in boundaries]


def group_key(
    column: Any, grouping: Grouping, session: AsyncSession, boundaries: list[Decimal]
) -> ColumnElement[Any]:
    """What rows of one group share: the value (empty text as no value), its day, month
    or year in UTC as text ("2026-06-18"), or the number of its range in ``boundaries``."""
    if grouping is Grouping.VALUE:
        if is_text(column):
            # Empty text and no text are one group, as the "is empty" filter has them.
            return case((column == "", null()), else_=column)
        return column  # type: ignore[no-any-return]
    if grouping is Grouping.RANGE:
        whens: list[tuple[Any, Any]] = [(column.is_(None), null())]
        whole = column.type.python_type is int
        for place, boundary in enumerate(boundaries[1:-1]):
            bound = int(boundary) if whole else boundary
            whens.append((column < literal(bound, type_=column.type), literal(place)))
        return case(*whens, else_=literal(len(boundaries) - 2))
    width = {Grouping.DAY: 10, Grouping.MONTH: 7, Grouping.YEAR: 4}[grouping]
    if session.bind.dialect.name == "sqlite":
        # Stored as UTC text, "2026-06-18 00:24:00.017914".
        return func.substr(column, 1, width, type_=SAString())
    pattern = {10: "YYYY-MM-DD", 7: "YYYY-MM", 4: "YYYY"}[width]
    return func.to_char(func.timezone("UTC", column), pattern, type_=SAString())


def group_value(key: Any, grouping: Grouping, boundaries: list[Decimal]) -> Any:
    if key is None:
        return None
    if grouping is Grouping.VALUE:
        return key.value if isinstance(key, Enum) else key
    if grouping is Grouping.RANGE:
        place = int(key)
        return ValueRange(
            boundaries[place], boundaries[place + 1], last=place == len(boundaries) - 2
        )
    parts = [int(part) for part in str(key).split("-")]
    return date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)


def _drill_down(column: str, grouping: Grouping, value: Any) -> Filter:
    """The filter that shows exactly the rows of one group."""
    if value is None:
        return IsEmpty(column)
    if isinstance(value, ValueRange):
        return Range(column, value.low, value.high, high_inclusive=value.last)
    if isinstance(value, date) and grouping is not Grouping.VALUE:
        start = datetime(value.year, value.month, value.day, tzinfo=UTC)
        end: datetime | None
        try:
            if grouping is Grouping.DAY:
                end = start + timedelta(days=1)
            elif grouping is Grouping.MONTH:
                end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
            else:
                end = start.replace(year=start.year + 1)
        except (OverflowError, ValueError):  # the last day, month or year of 9999
            end = None
        return Range(column, start, end, high_inclusive=False)
    return Equals(column, value)


async def _with_titles(
    session: AsyncSession, known: Catalog, entity: str, items: list[Frequency]
) -> list[Frequency]:
    info = known.entity(entity)
    columns = (*info.key[:1], *info.title_columns)
    ids = [item.value for item in items if item.value is not None]
    found = await known.repository(entity)(session).values_by_id(ids, info.title_columns)
    return [
        item
        if item.value is None or item.value not in found
        else Frequency(
            item.value,
            item.count,
            item.filter,
            title_of(info, columns, (item.value, *found[item.value])),
        )
        for item in items
    ]


# -- describe --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Description:
    """A column over the view: rows, empty ones (NULL, or blank text), distinct values,
    the smallest and largest, and for numbers their sum, mean and median."""

    column: str
    rows: int
    empty: int
    distinct: int
    minimum: Any
    maximum: Any
    sum: Decimal | None = None
    mean: Decimal | None = None
    median: Decimal | None = None


async def describe(database: Database, entity: str, spec: QuerySpec, column: str) -> Description:
    info = catalog_of(database).entity(entity)
    column_info = info.column(column)
    repository_class = repository_for(database, entity)
    table_column = _grouped(column_info, repository_class.column(column))
    text = is_text(table_column)
    value = case((table_column == "", null()), else_=table_column) if text else table_column
    figures: list[ColumnElement[Any]] = [
        func.count(),
        func.count(value),
        func.count(distinct(value)),
    ]
    ordered = column_info.kind.extremes
    choices = column_info.choices if column_info.kind is ColumnKind.CHOICE else ()
    if choices:
        # A status is smallest or largest in its own order (pending … cancelled), not the
        # alphabet's: the extremes are those of each value's place in the list.
        # Compared as text: a PostgreSQL enum has no "=" with a bound text.
        place = case(
            {choice: index for index, choice in enumerate(choices)}, value=cast(value, Text)
        )
        figures += [func.min(place), func.max(place)]
    elif ordered:
        figures += [func.min(value), func.max(value)]
    numbers = column_info.kind.numeric
    if numbers:
        figures.append(func.sum(table_column))
    async with unit_of_work(database) as session:
        await one_snapshot(session)
        repository = repository_class(session)
        select_from = select(*figures).select_from(repository_class.table)
        row = (await session.execute(await repository.viewed(select_from, spec))).one()
        rows, present, distinct_values = int(row[0]), int(row[1]), int(row[2])
        minimum = maximum = None
        if choices:
            minimum, maximum = (None if part is None else choices[int(part)] for part in row[3:5])
        elif ordered:
            minimum, maximum = (_plain(part) for part in row[3:5])
        if not numbers:
            return Description(column, rows, rows - present, distinct_values, minimum, maximum)
        total = _decimal(row[5])
        median = await _median(session, repository, table_column, spec, present)
    mean = None if total is None or not present else total / present
    return Description(
        column, rows, rows - present, distinct_values, minimum, maximum, total, mean, median
    )


async def _median(
    session: AsyncSession, repository: TableRepository, column: Any, spec: QuerySpec, n: int
) -> Decimal | None:
    """The middle value (the mean of the two middle ones for an even count), read by
    position in the sorted values: exact on both engines, where PostgreSQL's
    percentile_cont would go through floating point and SQLite has none."""
    if not n:
        return None
    statement = (
        select(column)
        .select_from(repository.table)
        .where(column.is_not(None))
        .order_by(column)
        .offset((n - 1) // 2)
        .limit(2 - n % 2)
    )
    middle = [
        Decimal(value)
        for value in (await session.scalars(await repository.viewed(statement, spec)))
    ]
    return sum(middle, Decimal(0)) / len(middle)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


# -- drill-down ------------------------------------------------------------------------------


def drill_down(known: Catalog, spec: QuerySpec, entity: str, group: Filter) -> QuerySpec:
    """The view narrowed to the rows of one group of its frequency table, with one filter
    per column (as a window's filter bar holds them): a group's range meets the column's
    range already in force; any other group lies inside the column's filter already."""
    column = known.repository(entity).column(group.column)
    current = next((f for f in spec.filters if f.column == group.column), None)
    combined: Filter = group
    if isinstance(group, Range) and isinstance(current, Range):
        combined = _overlap(column, current, group)
    elif isinstance(group, Range) and isinstance(current, Equals):
        combined = current  # one value inside the range: its rows are the group's
    kept = tuple(f for f in spec.filters if f.column != group.column)
    return replace(spec, filters=(*kept, combined))


def _overlap(column: Any, first: Range, second: Range) -> Range:
    def bound(value: Any) -> Any:
        return None if value is None else coerce_value(column, value)

    lows = [bound(r.low) for r in (first, second) if r.low is not None]
    highs = [(bound(r.high), r.high_inclusive) for r in (first, second) if r.high is not None]
    high, inclusive = min(highs, key=lambda end: (end[0], end[1])) if highs else (None, True)
    return Range(first.column, max(lows) if lows else None, high, high_inclusive=inclusive)
