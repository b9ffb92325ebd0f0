"""What the benchmarks share: a seeded database per engine, size and layout (made once,
reused after), progress on stderr, the process's memory, and summary statistics."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import platformdirs
from sqlalchemy.engine import URL

from app.config import sqlite_url
from app.core.database import Database
from app.services import migrations
from app.services.seeding import TABLE_COLUMNS, SeedOptions, seed_demo_data
from tests import postgres

ENGINES = ("sqlite", "postgresql")
# A bench database records that its seeding finished, and for how many users, in this table.
MARKER_TABLE = "records_desk_bench"


@dataclass(frozen=True)
class SeedLayout:
    """What a bench database holds besides its users, and where it is kept."""

    marker: str  # the version of what it holds; a database marked otherwise is seeded again
    sqlite_stem: str  # the SQLite file is "<stem>-<users>.db" in the cache folder
    postgres_prefix: str  # the PostgreSQL database is "<prefix><users>"
    options: Callable[[int], SeedOptions]
    tables: tuple[str, ...]  # what it fills (PostgreSQL's VACUUM ANALYZE after seeding)


# Users alone: what browsing and exporting users need (fast to seed).
USERS_ONLY = SeedLayout(
    "users-only/1",
    "browse",
    "records_desk_bench_",
    lambda users: SeedOptions(
        users=users,
        posts_per_user=0,
        orders_per_user=0,
        accounts_per_user=0,
        transfers_per_account=0,
    ),
    ("users",),
)
# Every kind of record, at the seeder's own averages per user (posts, orders and their
# items, accounts and transfers): what aggregates over orders, posts and accounts need.
FULL = SeedLayout(
    "full/1",
    "full",
    "records_desk_bench_full_",
    lambda users: SeedOptions(users=users),
    tuple(TABLE_COLUMNS),
)
# The version of what a users-only bench database holds.
SEED_LAYOUT = USERS_ONLY.marker


def log(message: str) -> None:
    """Progress for the person running the benchmark: stderr, never stdout."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def emit(result: dict[str, Any]) -> None:
    """The benchmark's one line of output."""
    print(json.dumps(result, indent=2), flush=True)


def cache_dir() -> Path:
    return platformdirs.user_cache_path("records-desk") / "bench"


# -- memory and statistics -------------------------------------------------------------------


def rss_mb() -> float:
    """Resident memory of this process, in MiB (Linux: /proc/self/statm)."""
    fields = Path("/proc/self/statm").read_text(encoding="ascii").split()
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 2)


def best(values: Sequence[float]) -> float:
    return round(min(values), 2)


# -- bench databases -------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchDatabase:
    engine: str
    users: int
    url: URL  # for the app (SQLAlchemy, async driver)
    layout: SeedLayout = USERS_ONLY

    @property
    def sqlite_path(self) -> Path:
        assert self.engine == "sqlite"
        assert self.url.database is not None
        return Path(self.url.database)

    @property
    def dsn(self) -> str:
        """For asyncpg itself (PostgreSQL only)."""
        return native_dsn(self.url)


def native_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def bench_database(engine: str, users: int, layout: SeedLayout = USERS_ONLY) -> BenchDatabase:
    if engine == "sqlite":
        path = cache_dir() / f"{layout.sqlite_stem}-{users}.db"
        return BenchDatabase(engine, users, sqlite_url(path), layout)
    if engine == "postgresql":
        url = postgres.server_url().set(
            drivername="postgresql+asyncpg", database=f"{layout.postgres_prefix}{users}"
        )
        return BenchDatabase(engine, users, url, layout)
    raise ValueError(f"unknown engine {engine!r}")


async def prepare(
    engine: str, users: int, *, reseed: bool = False, layout: SeedLayout = USERS_ONLY
) -> BenchDatabase:
    """A database on ``engine`` holding ``users`` seeded users (and, by ``layout``, what
    they own): the one seeded before when its marker says it is complete, otherwise made
    afresh."""
    bench = bench_database(engine, users, layout)
    if not reseed and await _seeded(bench):
        log(f"reusing {_describe(bench)} ({users:,} users)")
        database = Database(bench.url)
        try:
            await migrations.upgrade(database)  # a no-op unless the code has a newer schema
        finally:
            await database.dispose()
        return bench
    await _recreate(bench)
    await _seed(bench)
    return bench


def _describe(bench: BenchDatabase) -> str:
    if bench.engine == "sqlite":
        return f"SQLite file {bench.sqlite_path}"
    return f"PostgreSQL database {bench.url.database}"


async def _seeded(bench: BenchDatabase) -> bool:
    """Whether the marker names this size and layout and the users table agrees."""
    marker = f"SELECT users, layout FROM {MARKER_TABLE}"  # noqa: S608
    count = "SELECT count(*) FROM users"
    if bench.engine == "sqlite":
        if not bench.sqlite_path.exists():
            return False
        connection = sqlite3.connect(bench.sqlite_path)
        try:
            row = connection.execute(marker).fetchone()
            users = connection.execute(count).fetchone()[0] if row is not None else None
        except sqlite3.DatabaseError:
            return False
        finally:
            connection.close()
    else:
        if not await _postgres_database_exists(bench):
            return False
        pg = await asyncpg.connect(bench.dsn, timeout=10)
        try:
            row = await pg.fetchrow(marker)
            users = await pg.fetchval(count) if row is not None else None
        except asyncpg.PostgresError:
            return False
        finally:
            await pg.close()
    expected = (bench.users, bench.layout.marker)
    return row is not None and tuple(row) == expected and users == bench.users


async def _postgres_database_exists(bench: BenchDatabase) -> bool:
    admin = await asyncpg.connect(native_dsn(postgres.server_url()), timeout=10)
    try:
        found = await admin.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", bench.url.database
        )
    finally:
        await admin.close()
    return found is not None


async def _recreate(bench: BenchDatabase) -> None:
    """An empty database in the bench's place, whatever was there (a half-seeded one)."""
    if bench.engine == "sqlite":
        _remove_sqlite_files(bench.sqlite_path)
        log(f"creating {_describe(bench)}")
        return
    admin = await asyncpg.connect(native_dsn(postgres.server_url()), timeout=10)
    try:
        name = bench.url.database
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    log(f"created {_describe(bench)}")


def _remove_sqlite_files(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def _seed(bench: BenchDatabase) -> None:
    database = Database(bench.url)
    try:
        await migrations.upgrade(database)
        options = bench.layout.options(bench.users)
        started = time.perf_counter()
        step = max(bench.users // 10, 1)
        reported = [0]

        def progress(done: int, total: int) -> None:
            if done - reported[0] >= step or done == total:
                reported[0] = done
                elapsed = time.perf_counter() - started
                log(f"seeded {done:,} of {total:,} users ({elapsed:.0f} s)")

        log(f"seeding {bench.users:,} users into {_describe(bench)}")
        await seed_demo_data(database, options, progress)
    finally:
        await database.dispose()
    log("updating planner statistics")
    if bench.engine == "sqlite":
        connection = sqlite3.connect(bench.sqlite_path, isolation_level=None)
        try:
            connection.execute("ANALYZE")
            _mark_sqlite(connection, bench.users, bench.layout.marker)
        finally:
            connection.close()
    else:
        pg = await asyncpg.connect(bench.dsn, timeout=10)
        try:
            # VACUUM also flushes the GIN pending lists, so the trigram indexes are used.
            await pg.execute(f"VACUUM ANALYZE {', '.join(bench.layout.tables)}")
            await pg.execute(f"CREATE TABLE {MARKER_TABLE} (users integer, layout text)")
            await pg.execute(
                f"INSERT INTO {MARKER_TABLE} VALUES ($1, $2)",  # noqa: S608
                bench.users,
                bench.layout.marker,
            )
        finally:
            await pg.close()
    log(f"{_describe(bench)} is ready")


def _mark_sqlite(connection: sqlite3.Connection, users: int, marker: str = SEED_LAYOUT) -> None:
    connection.execute(f"CREATE TABLE {MARKER_TABLE} (users integer, layout text)")
    connection.execute(
        f"INSERT INTO {MARKER_TABLE} VALUES (?, ?)",  # noqa: S608
        (users, marker),
    )


def prepare_blocking(
    engine: str, users: int, *, reseed: bool = False, layout: SeedLayout = USERS_ONLY
) -> BenchDatabase:
    """``prepare`` on its own event loop, before any Qt loop exists."""
    return asyncio.run(prepare(engine, users, reseed=reseed, layout=layout))


# -- another program's table ------------------------------------------------------------------

# The foreign bench table: the bench's live users as another program would keep them,
# keyed by text, with no index of ours (so a search scans, as on any foreign table).
FOREIGN_TABLE = "person"
FOREIGN_MARKER = "person/1"


async def prepare_foreign(bench: BenchDatabase) -> URL:
    """Another program's database holding ``FOREIGN_TABLE``, made once from ``bench`` (a
    SQLite file beside it, or a PostgreSQL database of its own) and reused after."""
    if bench.engine == "sqlite":
        path = bench.sqlite_path.with_name(f"foreign-{bench.users}.db")
        if not _foreign_sqlite_ready(path, bench.users):
            _remove_sqlite_files(path)
            log(f"making another program's table from {_describe(bench)}")
            _make_foreign_sqlite(path, bench.sqlite_path, bench.users)
        return sqlite_url(path)
    name = f"records_desk_bench_foreign_{bench.users}"
    url = bench.url.set(database=name)
    if not await _foreign_postgres_ready(url, bench.users):
        log(f"making another program's table from {_describe(bench)}")
        await _make_foreign_postgres(bench, url)
    return url


_FOREIGN_COLUMNS = (
    "person_key text PRIMARY KEY, name text NOT NULL, email text NOT NULL, "
    "signed_up {moment}, active boolean NOT NULL"
)


def _foreign_sqlite_ready(path: Path, users: int) -> bool:
    if not path.exists():
        return False
    connection = sqlite3.connect(path)
    try:
        row = connection.execute(f"SELECT users, layout FROM {MARKER_TABLE}").fetchone()  # noqa: S608
    except sqlite3.DatabaseError:
        return False
    finally:
        connection.close()
    return bool(row == (users, FOREIGN_MARKER))


def _make_foreign_sqlite(path: Path, source: Path, users: int) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("ATTACH DATABASE ? AS bench", (str(source),))
        columns = _FOREIGN_COLUMNS.format(moment="DATETIME").replace("boolean", "BOOLEAN")
        connection.execute(f"CREATE TABLE {FOREIGN_TABLE} ({columns})")
        connection.execute(
            f"INSERT INTO {FOREIGN_TABLE} SELECT 'p-' || printf('%08d', id), name, email, "  # noqa: S608
            "created_at, is_active FROM bench.users WHERE deleted_at IS NULL ORDER BY id"
        )
        connection.execute("DETACH DATABASE bench")
        connection.execute("ANALYZE")
        _mark_sqlite(connection, users, FOREIGN_MARKER)
    finally:
        connection.close()


async def _foreign_postgres_ready(url: URL, users: int) -> bool:
    try:
        pg = await asyncpg.connect(native_dsn(url), timeout=10)
    except asyncpg.InvalidCatalogNameError:
        return False
    try:
        row = await pg.fetchrow(f"SELECT users, layout FROM {MARKER_TABLE}")  # noqa: S608
    except asyncpg.PostgresError:
        return False
    finally:
        await pg.close()
    return row is not None and tuple(row) == (users, FOREIGN_MARKER)


async def _make_foreign_postgres(bench: BenchDatabase, url: URL) -> None:
    admin = await asyncpg.connect(native_dsn(postgres.server_url()), timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{url.database}"')
    finally:
        await admin.close()
    source = await asyncpg.connect(bench.dsn, timeout=10)
    target = await asyncpg.connect(native_dsn(url), timeout=10)
    try:
        columns = _FOREIGN_COLUMNS.format(moment="timestamptz")
        await target.execute(f"CREATE TABLE {FOREIGN_TABLE} ({columns})")
        rows = await source.fetch(
            "SELECT 'p-' || lpad(id::text, 8, '0'), name, email, created_at, is_active "
            "FROM users WHERE deleted_at IS NULL ORDER BY id"
        )
        await target.copy_records_to_table(FOREIGN_TABLE, records=rows)
        await target.execute(f"VACUUM ANALYZE {FOREIGN_TABLE}")
        await target.execute(f"CREATE TABLE {MARKER_TABLE} (users integer, layout text)")
        await target.execute(
            f"INSERT INTO {MARKER_TABLE} VALUES ($1, $2)",  # noqa: S608
            bench.users,
            FOREIGN_MARKER,
        )
    finally:
        await source.close()
        await target.close()
