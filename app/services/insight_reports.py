"""The Insights window's reports: the seed's aggregate questions (GROUP BY, HAVING, a
subquery, a join over order items) answered by the database, each over the view of the
kind it counts when the analyst has one open (its search, filters and trash), else over
all live records.

A report is a small table of plain values (labels as text, counts as int, money as
Decimal) with the column its chart draws; the window shows it, the chart draws it and
the CSV export writes it as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from itertools import pairwise
from typing import Any

from sqlalchemy import Select, func, select, type_coerce

from app.core.database import Database
from app.models import Order, OrderItem, Post, User
from app.models.types import Money
from app.query import QuerySpec
from app.repositories import REPOSITORIES
from app.services import insights
from app.services.errors import ValidationError
from app.services.insights import Grouping, ValueRange
from app.services.unit_of_work import unit_of_work

# Rows a report lists; a longer answer says it was cut (the table is for reading).
REPORT_ROWS = 1_000
MONEY = Decimal("0.01")

# The views a report follows, by kind of record: what the analyst's windows show.
Views = Mapping[str, QuerySpec]


@dataclass(frozen=True)
class Report:
    title: str
    headings: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    # The column of ``rows`` the chart draws a bar of, beside the label in column 0.
    chart_column: int
    # The kinds of record whose views the report followed (the window names them).
    follows: tuple[str, ...]
    # More rows than REPORT_ROWS matched: the table shows the first ones (the newest of a
    # time series).
    cut: bool = False
    # The rows are periods, oldest first: what must be cut keeps the newest, the end a
    # reader of a time series looks at.
    time_series: bool = False


async def _viewed(
    database: Database, statement: Select[Any], views: Views, *kinds: str
) -> list[Any]:
    """Run ``statement`` kept to the views of ``kinds`` (each one's trash left out unless
    its view says otherwise)."""
    async with unit_of_work(database) as session:
        for kind in kinds:
            repository = REPOSITORIES[kind](session)
            statement = await repository.viewed(statement, views.get(kind, QuerySpec()))
        return list((await session.execute(statement)).all())


def _followed(views: Views, *kinds: str) -> tuple[str, ...]:
    return tuple(kind for kind in kinds if kind in views)


def _cut(rows: list[Any]) -> tuple[list[Any], bool]:
    return rows[:REPORT_ROWS], len(rows) > REPORT_ROWS


def _money(value: Any) -> Decimal:
    return Decimal(0).quantize(MONEY) if value is None else Decimal(value).quantize(MONEY)


async def orders_by_status(database: Database, views: Views) -> Report:
    status = Order.__table__.c.status
    count = func.count().label("orders")
    statement = (
        select(status, count, func.sum(Order.__table__.c.total))
        .select_from(Order)
        .group_by(status)
        .order_by(count.desc(), status)
    )
    rows = await _viewed(database, statement, views, "orders")
    return Report(
        "Orders by status",
        ("Status", "Orders", "Value"),
        tuple((_text(row[0]), int(row[1]), _money(row[2])) for row in rows),
        chart_column=1,
        follows=_followed(views, "orders"),
    )


async def users_by_activity(database: Database, views: Views) -> Report:
    active = User.__table__.c.is_active
    statement = select(active, func.count()).select_from(User).group_by(active)
    counts = {
        bool(row[0]): int(row[1]) for row in await _viewed(database, statement, views, "users")
    }
    return Report(
        "Active and inactive users",
        ("Users", "Count"),
        (("Active", counts.get(True, 0)), ("Inactive", counts.get(False, 0))),
        chart_column=1,
        follows=_followed(views, "users"),
    )


async def posts_per_author(database: Database, views: Views, more_than: int = 0) -> Report:
    """Authors with more than ``more_than`` posts (GROUP BY … HAVING), most posts first."""
    if more_than < 0:
        raise ValidationError("The number of posts must be 0 or more.")
    users, posts = User.__table__, Post.__table__
    async with unit_of_work(database) as session:
        # The posts grouped by author first: only the authors past the threshold are
        # joined to their users, not every post.
        per_author = (
            await REPOSITORIES["posts"](session).viewed(
                select(posts.c.author_id, func.count().label("posts"))
                .select_from(posts)
                .group_by(posts.c.author_id)
                .having(func.count() > more_than),
                views.get("posts", QuerySpec()),
            )
        ).subquery("per_author")
        statement = await REPOSITORIES["users"](session).viewed(
            select(users.c.name, users.c.email, per_author.c.posts)
            .select_from(users.join(per_author, per_author.c.author_id == users.c.id))
            .order_by(per_author.c.posts.desc(), users.c.id)
            .limit(REPORT_ROWS + 1),
            views.get("users", QuerySpec()),
        )
        rows, cut = _cut(list((await session.execute(statement)).all()))
    return Report(
        f"Authors with more than {more_than:,} {'post' if more_than == 1 else 'posts'}",
        ("Author", "Email", "Posts"),
        tuple((row[0], row[1], int(row[2])) for row in rows),
        chart_column=2,
        follows=_followed(views, "posts", "users"),
        cut=cut,
    )


async def users_who_posted_since(database: Database, views: Views, since: datetime) -> Report:
    """Users with a post created at or after ``since`` (a subquery of posts), with how
    many and their latest; most posts first."""
    if since.tzinfo is None:
        raise ValidationError("Give the date with its time zone.")
    users, posts = User.__table__, Post.__table__
    async with unit_of_work(database) as session:
        recent = await REPOSITORIES["posts"](session).viewed(
            select(posts.c.author_id, func.count().label("posts"), func.max(posts.c.created_at))
            .select_from(posts)
            .where(posts.c.created_at >= since)
            .group_by(posts.c.author_id),
            views.get("posts", QuerySpec()),
        )
        recent_posts = recent.subquery("recent")
        statement = await REPOSITORIES["users"](session).viewed(
            select(users.c.name, users.c.email, recent_posts.c.posts, recent_posts.c[2])
            .select_from(users.join(recent_posts, recent_posts.c.author_id == users.c.id))
            .order_by(recent_posts.c.posts.desc(), users.c.id)
            .limit(REPORT_ROWS + 1),
            views.get("users", QuerySpec()),
        )
        rows, cut = _cut(list((await session.execute(statement)).all()))
    return Report(
        f"Users who posted since {since.date().isoformat()}",
        ("User", "Email", "Posts since", "Latest post"),
        tuple((row[0], row[1], int(row[2]), _moment(row[3])) for row in rows),
        chart_column=2,
        follows=_followed(views, "posts", "users"),
        cut=cut,
    )


async def orders_per_month(database: Database, views: Views) -> Report:
    """Orders and what their items add up to, per month the order was placed (UTC): a
    join over the order items, money summed exactly."""
    orders, items = Order.__table__, OrderItem.__table__
    async with unit_of_work(database) as session:
        month = insights.group_key(orders.c.created_at, Grouping.MONTH, session, []).label("month")
        # Each order's items added up first: the orders then join one row each, and
        # need no DISTINCT to be counted once.
        per_order = (
            select(
                items.c.order_id,
                func.sum(type_coerce(items.c.quantity * items.c.unit_price, Money())).label(
                    "value"
                ),
            )
            .where(items.c.deleted_at.is_(None))
            .group_by(items.c.order_id)
            .subquery("per_order")
        )
        statement = await REPOSITORIES["orders"](session).viewed(
            select(month, func.count(), func.sum(per_order.c.value))
            .select_from(orders.outerjoin(per_order, per_order.c.order_id == orders.c.id))
            .group_by(month)
            # Newest first so that a cut keeps the newest months; shown oldest first.
            .order_by(month.desc())
            .limit(REPORT_ROWS + 1),
            views.get("orders", QuerySpec()),
        )
        rows, cut = _cut(list((await session.execute(statement)).all()))
    return Report(
        "Orders and order value per month",
        ("Month", "Orders", "Value"),
        tuple((str(row[0]), int(row[1]), _money(row[2])) for row in reversed(rows)),
        chart_column=2,
        follows=_followed(views, "orders"),
        cut=cut,
        time_series=True,
    )


async def balance_distribution(
    database: Database, views: Views, number: Callable[[Decimal], str] = str
) -> Report:
    """Accounts by balance, in round ranges from the lowest balance to the highest; the
    ranges' ends written by ``number`` (the window passes its locale's money format)."""
    table = await insights.frequencies(
        database,
        "accounts",
        views.get("accounts", QuerySpec()),
        "balance",
        Grouping.RANGE,
        top=insights.RANGE_BUCKETS * 3,
    )
    # Every range from the lowest balance to the highest, the empty ones too: a bar chart
    # with gaps left out would misdraw the distribution.
    counts = {
        item.value.low: item.count for item in table.items if isinstance(item.value, ValueRange)
    }
    ends = table.boundaries
    ranges = [
        (ValueRange(low, high, last=place == len(ends) - 2), counts.get(low, 0))
        for place, (low, high) in enumerate(pairwise(ends))
    ]
    return Report(
        "Balance distribution of accounts",
        ("Balance", "Accounts"),
        tuple((range_text(value, number), count) for value, count in ranges),
        chart_column=1,
        follows=_followed(views, "accounts"),
    )


def range_text(value: ValueRange, number: Callable[[Decimal], str] = str) -> str:
    """``0.00 to under 20.00``; the last range takes its upper end: ``140.00 to 160.00``."""
    return f"{number(value.low)} to {'' if value.last else 'under '}{number(value.high)}"


def _text(value: Any) -> str:
    return str(value.value if isinstance(value, Enum) else value)


def _moment(value: Any) -> str:
    return value.isoformat(sep=" ", timespec="minutes") if isinstance(value, datetime) else ""
