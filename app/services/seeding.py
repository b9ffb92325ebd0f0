"""Realistic demo data in bulk: users with profiles, posts, orders, items and accounts.

For trying the app out and for benchmarks, so it must make a million users in minutes.
That rules out ORM objects: rows are generated as plain tuples, already in the form the
driver stores (integer cents and naive-UTC text on SQLite, Decimal and aware datetimes on
PostgreSQL), and go in through the raw driver connection: ``executemany`` on SQLite,
binary ``COPY`` on PostgreSQL.

Ids are assigned here, counting on from each table's current ``max(id)``, so child rows
name their parents without ``RETURNING`` and seeding a seeded database appends to it. One
transaction per batch of users keeps memory and transactions bounded; while it runs the
batch holds the tables against other writers (SQLite's write lock; ``LOCK TABLE`` on
PostgreSQL), so no one else can take the ids it hands out.

Every row keeps the schema's rules and the app's bookkeeping: live rows are at version 1
with ``updated_at == created_at``; a soft-deleted row looks like one the app deleted, with
``deleted_at == updated_at`` and version 2. An order's total is the exact sum of its live
items, and every account's balance is its opening balance plus its transfers in, minus its
transfers out (app/services/ledger.py), never below zero.
"""

from __future__ import annotations

import math
import random
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from app.changes import ChangeKind, note
from app.core.database import Database
from app.models import Base, OrderStatus
from app.models.types import utcnow
from app.services.errors import (
    ValidationError,
    describe_integrity_error,
    refuse_if_read_only,
)
from app.services.unit_of_work import unit_of_work

Row = tuple[Any, ...]

# Every table, parents before children (the order they are filled in), with its columns in
# the order the generated tuples hold them; a test checks they are exactly the table's.
_BOOKKEEPING = ("created_at", "updated_at", "deleted_at", "version")
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("id", "email", "name", "hashed_password", "is_active", *_BOOKKEEPING),
    "profiles": ("id", "user_id", "bio", "avatar_url", *_BOOKKEEPING),
    "posts": ("id", "title", "content", "author_id", *_BOOKKEEPING),
    "orders": ("id", "user_id", "status", "total", *_BOOKKEEPING),
    "order_items": ("id", "order_id", "product", "quantity", "unit_price", *_BOOKKEEPING),
    "accounts": ("id", "owner_id", "name", "balance", "opening_balance", *_BOOKKEEPING),
    "transfers": (
        "id",
        "from_account_id",
        "to_account_id",
        "amount",
        "transferred_at",
        *_BOOKKEEPING,
    ),
}
_TABLES: dict[str, Table] = {name: Base.metadata.tables[name] for name in TABLE_COLUMNS}

# Ids are PostgreSQL INTEGER (SERIAL) columns.
MAX_ID = 2**31 - 1
MAX_USERS = 10_000_000
# A batch bigger than this many expected rows would hold too much memory at once.
MAX_ROWS_PER_BATCH = 5_000_000
# Data spans this long before ``now``.
HISTORY = timedelta(days=730)

_EPOCH_NAIVE = datetime(1970, 1, 1)  # SQLite stores naive UTC
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DAY_US = 86_400_000_000


@dataclass(frozen=True)
class SeedOptions:
    """How much to make. The per-user (per-order, per-account) numbers are averages: each
    user's own count varies between 0 and twice the average (items: 1 to twice the average
    minus one), and ``deleted_fraction`` of the rows of every table but transfers (the
    ledger's history) land in the trash.

    The same ``random_seed`` (and ``batch_users``) makes the same rows; give ``now`` too for
    the same timestamps, which otherwise end at the moment the seeding starts.
    """

    users: int = 1_000
    posts_per_user: float = 2.0
    orders_per_user: float = 1.0
    items_per_order: float = 3.0
    accounts_per_user: float = 1.0
    transfers_per_account: float = 1.0
    deleted_fraction: float = 0.01
    random_seed: int = 0
    batch_users: int = 10_000
    now: datetime | None = None


# What Load demo data adds to an empty database: every kind of record, enough to scroll,
# search and filter, in batches small enough for its progress to move and for Cancel to
# stop it within one batch (those before it are kept).
DEMO_DATA = SeedOptions(users=1_000, batch_users=100)


@dataclass(frozen=True)
class SeedReport:
    counts: dict[str, int]  # table name -> rows inserted
    seconds: float


async def seed_demo_data(
    database: Database,
    options: SeedOptions,
    progress: Callable[[int, int], None] | None = None,
) -> SeedReport:
    """Insert demo data, one transaction per ``options.batch_users`` users.

    ``progress(users_done, users_total)`` is called after each committed batch. Bad options
    raise ValidationError; a database that cannot be used raises DatabaseUnavailableError.
    When a batch fails, the batches before it stay committed.
    """
    validate_options(options)
    refuse_if_read_only(database)
    started = time.perf_counter()
    now = options.now if options.now is not None else utcnow()
    generator = _Generator(options, now, sqlite=database.is_sqlite)
    counts = dict.fromkeys(TABLE_COLUMNS, 0)
    done = 0
    while done < options.users:
        batch = min(options.batch_users, options.users - done)
        async with unit_of_work(database, write=True) as session:
            inserted = await _seed_batch(session, database.is_sqlite, generator, batch)
            for table, count in inserted.items():
                note(session, table, ChangeKind.ADDED, count=count)
        for table, count in inserted.items():
            counts[table] += count
        done += batch
        if progress is not None:
            progress(done, options.users)
    return SeedReport(counts=counts, seconds=time.perf_counter() - started)


@dataclass(frozen=True)
class Bounds:
    """The values one SeedOptions field accepts, from ``low`` to ``high`` inclusive."""

    low: float
    high: float
    whole: bool = False

    def describe(self) -> str:
        """'a whole number from 0 to 10,000,000', 'a number from 0 to 1'."""
        kind = "a whole number" if self.whole else "a number"
        return f"{kind} from {_plain(self.low)} to {_plain(self.high)}"

    def accepts(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.whole and not isinstance(value, int):
            return False
        return math.isfinite(value) and self.low <= value <= self.high


def _plain(number: float) -> str:
    return f"{int(number):,}" if number == int(number) else f"{number:g}"


# What each numeric field of SeedOptions accepts: validate_options checks these, and the
# command line offers exactly these (its --help and its refusals are made from them).
OPTION_BOUNDS: dict[str, Bounds] = {
    "users": Bounds(0, MAX_USERS, whole=True),
    "posts_per_user": Bounds(0, 1_000),
    "orders_per_user": Bounds(0, 1_000),
    "items_per_order": Bounds(1, 100),
    "accounts_per_user": Bounds(0, 100),
    "transfers_per_account": Bounds(0, 1_000),
    "deleted_fraction": Bounds(0, 1),
    "batch_users": Bounds(1, 1_000_000, whole=True),
}


def validate_options(options: SeedOptions) -> None:
    """Raise ValidationError, in words, for options that are negative, absurd or not
    numbers at all."""
    for name, bounds in OPTION_BOUNDS.items():
        value = getattr(options, name)
        if not bounds.accepts(value):
            raise ValidationError(f"{name} must be {bounds.describe()}, not {value!r}.")
    if isinstance(options.random_seed, bool) or not isinstance(options.random_seed, int):
        raise ValidationError(
            f"The random seed must be a whole number, not {options.random_seed!r}."
        )
    if options.now is not None and (
        not isinstance(options.now, datetime) or options.now.tzinfo is None
    ):
        raise ValidationError(f"now must be a timezone-aware datetime, not {options.now!r}.")
    per_user = _expected_rows_per_user(options)
    for table, rows in per_user.items():
        if options.users * rows > MAX_ID // 2:
            raise ValidationError(
                f"{options.users:,} users would make about {options.users * rows:,.0f} "
                f"{table.replace('_', ' ')}; that is more than a table can number. "
                "Ask for fewer users or fewer rows per user."
            )
    batch_rows = options.batch_users * sum(per_user.values())
    if batch_rows > MAX_ROWS_PER_BATCH:
        raise ValidationError(
            f"A batch of {options.batch_users:,} users would hold about {batch_rows:,.0f} "
            f"rows in memory; lower batch_users so a batch stays under "
            f"{MAX_ROWS_PER_BATCH:,} rows."
        )


def with_batch_that_fits(options: SeedOptions) -> SeedOptions:
    """``options`` with ``batch_users`` lowered as far as needed for a batch to stay under
    ``MAX_ROWS_PER_BATCH`` rows: for callers that leave the batch size to the seeder."""
    rows_per_user = sum(_expected_rows_per_user(options).values())
    fitting = max(1, int(MAX_ROWS_PER_BATCH // rows_per_user))
    return replace(options, batch_users=min(options.batch_users, fitting))


def _expected_rows_per_user(options: SeedOptions) -> dict[str, float]:
    orders = options.orders_per_user
    accounts = options.accounts_per_user
    return {
        "users": 1.0,
        "profiles": _PROFILE_SHARE,
        "posts": options.posts_per_user,
        "orders": orders,
        "order_items": orders * options.items_per_order,
        "accounts": accounts,
        "transfers": accounts * options.transfers_per_account,
    }


# -- one batch -----------------------------------------------------------------------------


async def _seed_batch(
    session: AsyncSession, is_sqlite: bool, generator: _Generator, users: int
) -> dict[str, int]:
    if not is_sqlite:
        # Other writers wait until this batch commits: the ids below are ours alone.
        # (This statement also opens the transaction the COPYs run in: SQLAlchemy's
        # asyncpg adapter begins it lazily, on its first statement.)
        names = ", ".join(TABLE_COLUMNS)
        await session.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
    # On SQLite the writer session's BEGIN IMMEDIATE already holds the write lock.
    first_ids = {}
    for table in TABLE_COLUMNS:
        result = await session.execute(select(func.max(_TABLES[table].c.id)))
        first_ids[table] = (result.scalar_one() or 0) + 1
    rows = generator.batch(first_ids, users)
    for table, table_rows in rows.items():
        if first_ids[table] + len(table_rows) - 1 > MAX_ID:
            raise ValidationError(
                f"The {table.replace('_', ' ')} table has no ids left for "
                f"{len(table_rows):,} more rows."
            )

    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    for table, table_rows in rows.items():
        if table_rows:
            await _insert(driver, is_sqlite, table, table_rows)
    if not is_sqlite:
        for table, table_rows in rows.items():
            if table_rows:
                column = _TABLES[table].c.id
                await session.execute(
                    select(
                        func.setval(
                            func.pg_get_serial_sequence(table, "id"),
                            select(func.max(column)).scalar_subquery(),
                        )
                    )
                )
    return {table: len(table_rows) for table, table_rows in rows.items()}


async def _insert(driver: Any, is_sqlite: bool, table: str, rows: Sequence[Row]) -> None:
    columns = TABLE_COLUMNS[table]
    names = ", ".join(columns)
    if is_sqlite:
        placeholders = ", ".join("?" * len(columns))
        statement = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608
    else:
        statement = f"COPY {table} ({names}) FROM STDIN (FORMAT binary)"  # what asyncpg sends
    if is_sqlite:
        try:
            cursor = await driver.executemany(statement, rows)
            await cursor.close()
        except sqlite3.IntegrityError as error:
            # The raw driver's errors are not wrapped by SQLAlchemy: wrap them as it would,
            # so they are worded like every other broken rule (say, an email already taken).
            statement_error = sa_exc.IntegrityError(statement, None, error)
            raise describe_integrity_error(statement_error) from error
        return
    import asyncpg  # only here: a start on SQLite never loads the PostgreSQL driver

    try:
        await driver.copy_records_to_table(table, records=rows, columns=list(columns))
    except asyncpg.exceptions.IntegrityConstraintViolationError as error:
        # SQLAlchemy's asyncpg adapter keeps the asyncpg error, which names the constraint,
        # as the cause of its own; describe_integrity_error looks for it there.
        adapted = _DriverIntegrityError(str(error))
        adapted.__cause__ = error
        raise describe_integrity_error(sa_exc.IntegrityError(statement, None, adapted)) from error


class _DriverIntegrityError(Exception):
    """An asyncpg integrity error dressed as SQLAlchemy's adapter would dress it."""


# -- generating rows -----------------------------------------------------------------------

_PROFILE_SHARE = 0.9
_BIO_SHARE = 0.7
_AVATAR_SHARE = 0.6
_ACTIVE_SHARE = 0.93

_FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Ana", "Anders", "Aisha", "Ben", "Bruno", "Chen", "Chloé",
    "Dario", "David", "Elena", "Emma", "Erik", "Farah", "Fatima", "Gabriel", "Grace",
    "Hana", "Hugo", "Ines", "Ivan", "James", "Jonas", "José", "Julia", "Kenji", "Lars",
    "Laura", "Leila", "Liam", "Lucía", "Maria", "Mateo", "Mei", "Mohammed", "Nadia",
    "Noah", "Olga", "Omar", "Priya", "Rafael", "Rosa", "Sara", "Sofia", "Tariq", "Tomás",
    "Wei", "Yusuf", "Zoë",
)  # fmt: skip
_LAST_NAMES = (
    "Andersen", "Bauer", "Brown", "Chen", "Costa", "Dubois", "Fernández", "Fischer",
    "Garcia", "Hansen", "Hoffmann", "Ivanova", "Jensen", "Johnson", "Kim", "Kowalski",
    "Kumar", "Lambert", "Larsen", "Lee", "Lopez", "Martin", "Meyer", "Moreau", "Müller",
    "Nakamura", "Nguyen", "Novak", "O'Brien", "Okafor", "Patel", "Petrov", "Rossi",
    "Santos", "Schmidt", "Silva", "Smith", "Sato", "Suzuki", "Tanaka", "Taylor",
    "Van Dijk", "Wagner", "Walker", "Wang", "Weber", "Williams", "Wilson", "Yamamoto",
    "Zhang",
)  # fmt: skip
_TITLE_OPENERS = (
    "Notes on", "Thoughts on", "A guide to", "Getting started with", "Why I love",
    "Ten tips for", "Lessons from", "The trouble with", "Rethinking", "A week of",
    "Questions about", "Field report:", "How we fixed", "In praise of", "Beyond",
)  # fmt: skip
_TOPICS = (
    "gardening", "sourdough", "remote work", "city cycling", "night trains", "old maps",
    "tea", "small databases", "board games", "bookbinding", "mountain huts", "jazz",
    "houseplants", "public libraries", "kayaking", "home repairs", "budget travel",
    "pottery", "street food", "open source", "vintage cameras", "birdwatching",
    "meal planning", "running", "learning Spanish", "woodworking", "photography",
    "spreadsheets", "minimalism", "chess", "astronomy", "knitting", "coffee",
    "vegetable soup", "train stations", "rainy days", "bicycles", "the seaside",
    "winter hikes", "paper notebooks",
)  # fmt: skip
_TITLE_ENDINGS = (
    "", "", "", "", " (part 2)", " in practice", " for beginners", " on a budget",
    " revisited", ": what I learned", " this year", " with friends",
)  # fmt: skip
_WORDS = (
    "the", "a", "small", "quiet", "bright", "old", "new", "simple", "careful", "busy",
    "morning", "evening", "garden", "kitchen", "market", "river", "street", "window",
    "friend", "neighbour", "recipe", "journey", "project", "weekend", "habit", "idea",
    "book", "letter", "map", "bridge", "station", "village", "harbour", "forest",
    "walks", "builds", "finds", "keeps", "makes", "shares", "brings", "starts", "tries",
    "always", "often", "slowly", "together", "again", "later", "today", "here",
    "with", "after", "before", "around", "without", "under", "over", "near",
)  # fmt: skip
_BIO_PARTS = (
    "Coffee first, questions later.", "Amateur baker and professional worrier.",
    "I write about small things.", "Runner, reader, occasional gardener.",
    "Working on it.", "Based somewhere with good trains.", "Collector of old maps.",
    "Data wrangler by day.", "Learning to play the cello.", "Ask me about tea.",
    "Parent of two and one very loud cat.", "Here for the recipes.",
    "Weekend carpenter.", "Still looking for the perfect notebook.",
)  # fmt: skip
_PRODUCT_ADJECTIVES = (
    "Compact", "Deluxe", "Eco", "Ergonomic", "Handmade", "Heavy-duty", "Lightweight",
    "Organic", "Portable", "Premium", "Rustic", "Smart", "Vintage", "Waterproof",
    "Wireless", "Classic",
)  # fmt: skip
_PRODUCT_MATERIALS = (
    "Bamboo", "Ceramic", "Cotton", "Glass", "Leather", "Linen", "Oak", "Steel",
    "Wool", "Copper", "Recycled", "Walnut",
)  # fmt: skip
_PRODUCT_NOUNS = (
    ("Backpack", 4500), ("Bowl", 1200), ("Chair", 8900), ("Desk Lamp", 3900),
    ("Headphones", 7900), ("Kettle", 3400), ("Mug", 900), ("Notebook", 600),
    ("Pan", 2900), ("Pillow", 1900), ("Scarf", 2400), ("Teapot", 2600),
    ("Umbrella", 1800), ("Wallet", 3100), ("Water Bottle", 1500), ("Keyboard", 6900),
    ("Blanket", 5200), ("Cutting Board", 2200), ("Plant Pot", 1300), ("Watch", 12900),
)  # fmt: skip
_ACCOUNT_NAMES = (
    "Checking", "Checking", "Checking", "Savings", "Savings", "Holiday fund",
    "Emergency fund", "Household", "Business", "Joint account", "Rainy day",
)  # fmt: skip
# Most order lines are for one piece.
_QUANTITIES = (1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 4, 5)
_HASH_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
# Orders younger than this many days are still on their way.
_PENDING_DAYS = 2
_SHIPPING_DAYS = 7
_CANCELLED_SHARE = 0.08


def _email_part(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(character for character in ascii_name.lower() if character.isalnum())


class _Generator:
    """Rows for one batch of users at a time, from one random stream for the whole run.

    Times are whole microseconds since the epoch while generating, and go through ``stamp``
    and ``money`` into the form the engine's driver takes.
    """

    def __init__(self, options: SeedOptions, now: datetime, *, sqlite: bool) -> None:
        self.options = options
        self.rng = random.Random(options.random_seed)
        self.now_us = (now.astimezone(UTC) - _EPOCH_UTC) // _MICROSECOND
        self.history_us = HISTORY // _MICROSECOND
        self.sqlite = sqlite
        self.stamp: Callable[[int], Any] = _sqlite_stamp if sqlite else _postgres_stamp
        self.money: Callable[[int], Any] = int if sqlite else _decimal
        self.flag: Callable[[bool], Any] = int if sqlite else bool
        self.names = [
            (f"{first} {last}", f"{_email_part(first)}.{_email_part(last)}")
            for first in _FIRST_NAMES
            for last in _LAST_NAMES
        ]
        rng = self.rng
        self.passwords = ["$2b$12$" + "".join(rng.choices(_HASH_ALPHABET, k=53)) for _ in range(64)]
        self.titles = [
            f"{opener} {topic}{ending}"
            for opener in _TITLE_OPENERS
            for topic in _TOPICS
            for ending in _TITLE_ENDINGS
        ]
        # A post's text comes from this pool; a small run needs no more than its posts (a
        # smoke test's thirty users spent most of their seeding time writing 4,096).
        wanted = math.ceil(options.users * options.posts_per_user)
        self.contents = [self._paragraph(rng) for _ in range(min(4096, max(16, wanted)))]
        self.bios = [" ".join(rng.sample(_BIO_PARTS, k=rng.randint(1, 3))) for _ in range(512)]
        self.products: list[tuple[str, int, Any]] = []
        for adjective in _PRODUCT_ADJECTIVES:
            for material in _PRODUCT_MATERIALS:
                for noun, base_cents in _PRODUCT_NOUNS:
                    # A price near the noun's usual one, ending in 9 like a shop's.
                    cents = int(base_cents * rng.uniform(0.6, 1.8)) // 100 * 100 + 99
                    self.products.append(
                        (f"{adjective} {material} {noun}", cents, self.money(cents))
                    )
        self.statuses = (
            OrderStatus.PENDING.value,
            OrderStatus.PROCESSING.value,
            OrderStatus.SHIPPED.value,
            OrderStatus.DELIVERED.value,
            OrderStatus.CANCELLED.value,
        )

    @staticmethod
    def _paragraph(rng: random.Random) -> str:
        sentences = []
        for _ in range(rng.randint(1, 5)):
            words = rng.choices(_WORDS, k=rng.randint(5, 14))
            sentences.append(" ".join(words).capitalize() + ".")
        return " ".join(sentences)

    def batch(self, first_ids: Mapping[str, int], users: int) -> dict[str, list[Row]]:
        """The rows of ``users`` users and everything they own, ids from ``first_ids``."""
        options = self.options
        rnd = self.rng.random
        stamp = self.stamp
        money = self.money
        flag = self.flag
        now = self.now_us
        history = self.history_us
        deleted_share = options.deleted_fraction
        names, passwords, titles, contents, bios = (
            self.names,
            self.passwords,
            self.titles,
            self.contents,
            self.bios,
        )
        products, statuses = self.products, self.statuses
        pending, processing, shipped, delivered, cancelled = statuses
        # Counts vary from 0 to twice the average; the random part of the rounding keeps
        # the average exact for fractional averages too.
        post_span = 2 * options.posts_per_user
        order_span = 2 * options.orders_per_user
        item_span = 2 * (options.items_per_order - 1)
        account_span = 2 * options.accounts_per_user
        transfer_span = 2 * options.transfers_per_account
        true, false = flag(True), flag(False)

        def bookkeeping(created: int, created_value: Any) -> Row:
            """created_at, updated_at, deleted_at, version: some rows are in the trash."""
            if rnd() < deleted_share:
                deleted = stamp(created + int(rnd() * (now - created)))
                return (created_value, deleted, deleted, 2)
            return (created_value, created_value, None, 1)

        users_rows: list[Row] = []
        profiles: list[Row] = []
        posts: list[Row] = []
        orders: list[Row] = []
        items: list[Row] = []
        accounts: list[Row] = []
        account_times: list[int] = []
        user_id = first_ids["users"]
        profile_id = first_ids["profiles"]
        post_id = first_ids["posts"]
        order_id = first_ids["orders"]
        item_id = first_ids["order_items"]
        account_id = first_ids["accounts"]
        first_account_id = account_id

        for _ in range(users):
            joined = now - int(rnd() * history)
            joined_value = stamp(joined)
            name, email_name = names[int(rnd() * len(names))]
            users_rows.append(
                (
                    user_id,
                    f"{email_name}{user_id}@example.org",
                    name,
                    passwords[int(rnd() * 64)],
                    true if rnd() < _ACTIVE_SHARE else false,
                    *bookkeeping(joined, joined_value),
                )
            )
            if rnd() < _PROFILE_SHARE:
                bio = bios[int(rnd() * len(bios))] if rnd() < _BIO_SHARE else None
                avatar = (
                    f"https://avatars.example.org/{user_id}.png" if rnd() < _AVATAR_SHARE else None
                )
                profiles.append(
                    (profile_id, user_id, bio, avatar, *bookkeeping(joined, joined_value))
                )
                profile_id += 1

            for _ in range(int(post_span * rnd() + rnd())):
                created = joined + int(rnd() * (now - joined))
                posts.append(
                    (
                        post_id,
                        titles[int(rnd() * len(titles))],
                        contents[int(rnd() * len(contents))],
                        user_id,
                        *bookkeeping(created, stamp(created)),
                    )
                )
                post_id += 1

            for _ in range(int(order_span * rnd() + rnd())):
                created = joined + int(rnd() * (now - joined))
                created_value = stamp(created)
                age = now - created
                if age < _PENDING_DAYS * _DAY_US:
                    status = pending if rnd() < 0.5 else processing
                elif age < _SHIPPING_DAYS * _DAY_US:
                    status = processing if rnd() < 0.3 else shipped
                else:
                    status = cancelled if rnd() < _CANCELLED_SHARE else delivered
                total = 0
                for _ in range(1 + int(item_span * rnd() + rnd())):
                    product, cents, price = products[int(rnd() * len(products))]
                    quantity = _QUANTITIES[int(rnd() * len(_QUANTITIES))]
                    kept = bookkeeping(created, created_value)
                    if kept[2] is None:  # an item in the trash is not in the total
                        total += quantity * cents
                    items.append((item_id, order_id, product, quantity, price, *kept))
                    item_id += 1
                orders.append(
                    (order_id, user_id, status, money(total), *bookkeeping(created, created_value))
                )
                order_id += 1

            for _ in range(int(account_span * rnd() + rnd())):
                created = joined + int(rnd() * (now - joined))
                # Mostly modest opening balances, a few large ones; whole cents.
                opening = int(rnd() ** 3 * 2_500_000)
                accounts.append(
                    (
                        account_id,
                        user_id,
                        _ACCOUNT_NAMES[int(rnd() * len(_ACCOUNT_NAMES))],
                        opening,
                        *bookkeeping(created, stamp(created)),
                    )
                )
                account_times.append(created)
                account_id += 1
            user_id += 1

        transfers: list[Row] = []
        transfer_id = first_ids["transfers"]
        # Each account's balance in cents as the transfers move it: one never sends more
        # than it holds, so no balance ends below zero.
        balances = [account[3] for account in accounts]
        others = len(account_times) - 1
        if others > 0:
            for source, source_time in enumerate(account_times):
                for _ in range(int(transfer_span * rnd() + rnd())):
                    target = int(rnd() * others)
                    if target >= source:
                        target += 1  # any account of the batch but the source itself
                    opened = max(source_time, account_times[target])
                    moment = opened + int(rnd() * (now - opened))
                    moment_value = stamp(moment)
                    amount = min(1 + int(rnd() ** 2 * 250_000), balances[source])
                    if amount <= 0:
                        continue
                    balances[source] -= amount
                    balances[target] += amount
                    # The ledger's history never goes to the trash (app/services/ledger.py);
                    # the draw a row's trash chance takes is made all the same, so the
                    # other rows of a seed stay as they were.
                    rnd()
                    transfers.append(
                        (
                            transfer_id,
                            first_account_id + source,
                            first_account_id + target,
                            money(amount),
                            moment_value,
                            moment_value,
                            moment_value,
                            None,
                            1,
                        )
                    )
                    transfer_id += 1

        accounts = [
            (account[0], account[1], account[2], money(balance), money(account[3]), *account[4:])
            for account, balance in zip(accounts, balances, strict=True)
        ]
        return {
            "users": users_rows,
            "profiles": profiles,
            "posts": posts,
            "orders": orders,
            "order_items": items,
            "accounts": accounts,
            "transfers": transfers,
        }


def _sqlite_stamp(microseconds: int) -> str:
    """SQLAlchemy's SQLite DATETIME text for a naive UTC moment (always with microseconds,
    so the text sorts and compares like the moments)."""
    moment = _EPOCH_NAIVE + timedelta(microseconds=microseconds)
    return moment.isoformat(" ", "microseconds")


def _postgres_stamp(microseconds: int) -> datetime:
    return _EPOCH_UTC + timedelta(microseconds=microseconds)


def _decimal(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)
