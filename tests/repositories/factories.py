"""Small builders for test records: every field has a sensible default, any can be overridden.

Each builder goes through the repository (so the rows look exactly like the application's
own) and flushes; nothing commits, the ``database.get_session`` block does that.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Table, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Account, Base, Order, OrderStatus, Post, Profile, Transfer, User
from app.query import After, Before, OffsetPage, Page, QuerySpec, sort_key_of
from app.repositories import (
    AccountRepository,
    BaseRepository,
    OrderRepository,
    PostRepository,
    ProfileRepository,
    TransferRepository,
    UserRepository,
)

_numbers = itertools.count(1)


def _tag() -> str:
    """A fresh tag made of letters only, so a search for digits never hits a default value."""
    number, letters = next(_numbers), ""
    while number:
        number, digit = divmod(number, 26)
        letters = "abcdefghijklmnopqrstuvwxyz"[digit] + letters
    return letters


def moment(day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A fixed, timezone-aware moment in March 2024 (UTC)."""
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC)


async def make_user(session: AsyncSession, **overrides: Any) -> User:
    tag = _tag()
    values: dict[str, Any] = {
        "name": f"user {tag}",
        "email": f"user.{tag}@example.com",
        "hashed_password": "not-a-real-hash",
    }
    values.update(overrides)
    return await UserRepository(session).create(**values)


async def make_profile(
    session: AsyncSession, user: User | None = None, **overrides: Any
) -> Profile:
    owner = user or await make_user(session)
    values: dict[str, Any] = {"user_id": owner.id, "bio": None, "avatar_url": None}
    values.update(overrides)
    return await ProfileRepository(session).create(**values)


async def make_post(session: AsyncSession, author: User | None = None, **overrides: Any) -> Post:
    writer = author or await make_user(session)
    values: dict[str, Any] = {"title": f"post {_tag()}", "author_id": writer.id}
    values.update(overrides)
    return await PostRepository(session).create(**values)


async def make_order(session: AsyncSession, user: User | None = None, **overrides: Any) -> Order:
    buyer = user or await make_user(session)
    values: dict[str, Any] = {
        "user_id": buyer.id,
        "status": OrderStatus.PENDING,
        "total": Decimal("0.00"),
    }
    values.update(overrides)
    return await OrderRepository(session).create(**values)


async def make_account(
    session: AsyncSession, owner: User | None = None, **overrides: Any
) -> Account:
    holder = owner or await make_user(session)
    values: dict[str, Any] = {
        "owner_id": holder.id,
        "name": f"account {_tag()}",
        "balance": Decimal("100.00"),
    }
    values.update(overrides)
    return await AccountRepository(session).create(**values)


async def make_transfer(
    session: AsyncSession, source: Account, target: Account, **overrides: Any
) -> Transfer:
    values: dict[str, Any] = {
        "from_account_id": source.id,
        "to_account_id": target.id,
        "amount": Decimal("1.00"),
    }
    values.update(overrides)
    return await TransferRepository(session).create(**values)


async def force(session: AsyncSession, instance: Base, **values: Any) -> None:
    """Set columns the repositories refuse to set (created_at, deleted_at...), for setup only.

    A plain table UPDATE, so the version does not move; the instance is reloaded.
    """
    table = type(instance).__table__
    assert isinstance(table, Table)
    await session.execute(update(table).where(table.c.id == instance.id).values(**values))
    await session.refresh(instance)


# -- browsing helpers ------------------------------------------------------------------------


async def browse_all(
    repository: BaseRepository[Any], spec: QuerySpec, limit: int = 1000
) -> list[Row[Any]]:
    """The whole result in one offset page."""
    return list(await repository.browse(spec, OffsetPage(0, limit)))


async def ids_of(repository: BaseRepository[Any], spec: QuerySpec) -> list[int]:
    """The ids browse returns, in order; also checks that ``count`` agrees with browse."""
    rows = await browse_all(repository, spec)
    assert await repository.count(spec) == len(rows)
    return [row.id for row in rows]


def page_of(repository: BaseRepository[Any], spec: QuerySpec, rows: Sequence[Row[Any]]) -> Page:
    """The Page the record service would build from these rows."""
    return Page(columns=repository.column_names(), rows=[tuple(row) for row in rows])


def key_of(
    repository: BaseRepository[Any], spec: QuerySpec, row: tuple[Any, ...]
) -> tuple[Any, ...]:
    """The row's sort key, as the browse model takes it (app.query.sort_key_of)."""
    return sort_key_of(spec, repository.key, repository.column_names(), row)


async def walk_forward(
    repository: BaseRepository[Any], spec: QuerySpec, size: int
) -> list[tuple[Any, ...]]:
    """Every row, fetched with After pages: each page starts after the last row's key."""
    total = await repository.count(spec)
    rows: list[tuple[Any, ...]] = []
    key = None
    for _ in range(total + 2):  # more pages than that would mean the walk is stuck
        page = page_of(repository, spec, await repository.browse(spec, After(key, size)))
        rows.extend(page.rows)
        if len(page.rows) < size:
            return rows
        key = key_of(repository, spec, page.rows[-1])
    raise AssertionError(f"the After walk did not end after {total + 2} pages")


async def walk_backward(
    repository: BaseRepository[Any], spec: QuerySpec, size: int
) -> list[tuple[Any, ...]]:
    """Every row, fetched from the end with Before pages; returned in sort order."""
    total = await repository.count(spec)
    pages: list[list[tuple[Any, ...]]] = []
    key = None
    for _ in range(total + 2):
        page = page_of(repository, spec, await repository.browse(spec, Before(key, size)))
        pages.append(page.rows)
        if len(page.rows) < size:
            return [row for rows in reversed(pages) for row in rows]
        key = key_of(repository, spec, page.rows[0])
    raise AssertionError(f"the Before walk did not end after {total + 2} pages")
