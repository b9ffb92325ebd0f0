"""The insights benchmark: the Insights aggregates over a fully seeded database, each a
background task on a qasync loop, the way the Insights window and a totals footer run them.

    uv run python -m tests.perf insights --engine sqlite --rows 1000000

The database holds ``--rows`` users and everything the seeder gives them at its own
averages (posts, orders and their items, accounts, transfers): about ten rows per user.
Each aggregate of ``app.services.insights`` and each report of
``app.services.insight_reports`` is spawned as a task on the loop (``ui.tasks.spawn``) and
awaited, while a 2 ms QTimer notes the longest gap between its ticks: the longest time the
window could not have repainted or taken input. One untimed warm-up round runs every
aggregate once (reported as ``cold_ms``); then ``--repeat`` timed rounds, in a rotated
order, each aggregate's median reported as ``<aggregate>_ms``.

Last, the cancel: the slowest aggregate (or ``--cancel-target``) is started and cancelled
after ``--cancel-after-ms``; ``cancel_ms`` is the time from the cancel until its task has
ended, and a quick count through the same pool right after shows the pool still works (on
PostgreSQL, the server is asked whether the cancelled statement still runs).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse
import asyncio
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from typing import Any

import asyncpg
import PySide6
import qasync
from PySide6.QtWidgets import QApplication
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from app.core.database import Database
from app.query import Equals, QuerySpec, Range
from app.services import insight_reports, insights
from app.services.insight_reports import Report
from app.services.insights import Description, Frequencies, Grouping, Totals
from app.services.seeding import TABLE_COLUMNS
from tests.perf.common import FULL, BenchDatabase, best, emit, log, median, ms, prepare_blocking
from tests.perf.heartbeat import HEARTBEAT_MS, Heartbeat
from ui.collector import MainThreadCollector
from ui.main import freeze_startup_objects
from ui.tasks import spawn

# Bounds one aggregate (or one cancel) on a broken scenario; a healthy one ends sooner.
WAIT_TIMEOUT_S = 600
MAX_STALL_BUDGET_MS = 30
# posts_per_author lists the authors with more than this many posts (the seeder gives a
# user 0 to 4, two on average: a few percent of them have four).
MORE_THAN_POSTS = 3
# users_who_posted_since looks back this far from the newest post.
RECENT_DAYS = 30
# The quick count that shows the pool works after a cancel: the first users by id.
POOL_CHECK_USERS = 1_000

# A cancel's outcome when the task had ended before the cancel came.
FINISHED_FIRST = "finished first"

Aggregate = Callable[[Database], Coroutine[Any, Any, Any]]


class BenchError(Exception):
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="users to seed (with their orders, posts…)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds (and cancels)")
    parser.add_argument(
        "--reseed", action="store_true", help="seed again even if a seeded database exists"
    )
    parser.add_argument(
        "--cancel-after-ms", type=float, default=50.0, help="how long the cancelled task runs"
    )
    parser.add_argument(
        "--cancel-target",
        default="slowest",
        help="the aggregate to cancel: one of the names reported, or 'slowest' (by median)",
    )


def run(arguments: argparse.Namespace) -> int:
    if arguments.rows < 1 or arguments.repeat < 1:
        raise SystemExit("--rows and --repeat must be at least 1")
    bench = prepare_blocking(arguments.engine, arguments.rows, reseed=arguments.reseed, layout=FULL)
    facts = database_facts(bench)
    log(
        "tables: " + ", ".join(f"{table} {count:,}" for table, count in facts["table_rows"].items())
    )
    newest_post = facts["newest_post"]
    if newest_post is None:
        raise BenchError("the bench database has no live posts")
    since = newest_post - timedelta(days=RECENT_DAYS)
    facts["posted_since"] = since.isoformat(sep=" ", timespec="seconds")
    facts["newest_post"] = newest_post.isoformat(sep=" ", timespec="seconds")
    work = aggregates(since)
    if arguments.cancel_target != "slowest" and arguments.cancel_target not in work:
        raise SystemExit(f"--cancel-target must be 'slowest' or one of: {', '.join(work)}")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        scenario = Scenario(
            bench,
            work,
            arguments.repeat,
            cancel_after=arguments.cancel_after_ms / 1000,
            cancel_target=arguments.cancel_target,
        )
        result = loop.run_until_complete(scenario.run())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()
    emit(report(bench, arguments.repeat, facts, result))
    return 0


# -- what is timed ---------------------------------------------------------------------------


def aggregates(since: datetime) -> dict[str, Aggregate]:
    """Every aggregate, by the name its figure is reported under (``<name>_ms``)."""
    everything = QuerySpec()
    delivered = QuerySpec(filters=(Equals("status", "delivered"),))
    reports = insight_reports
    return {
        "totals_orders": lambda db: insights.totals(db, "orders", everything),
        "totals_order_items": lambda db: insights.totals(db, "order_items", everything),
        "totals_orders_filtered": lambda db: insights.totals(db, "orders", delivered),
        "frequency_status": lambda db: insights.frequencies(db, "orders", everything, "status"),
        "frequency_users_by_month": lambda db: insights.frequencies(
            db, "users", everything, "created_at", Grouping.MONTH
        ),
        "frequency_balance": lambda db: insights.frequencies(db, "accounts", everything, "balance"),
        "describe_order_total": lambda db: insights.describe(db, "orders", everything, "total"),
        "describe_user_name": lambda db: insights.describe(db, "users", everything, "name"),
        "report_orders_by_status": lambda db: reports.orders_by_status(db, {}),
        "report_users_by_activity": lambda db: reports.users_by_activity(db, {}),
        "report_posts_per_author": lambda db: reports.posts_per_author(
            db, {}, more_than=MORE_THAN_POSTS
        ),
        "report_users_who_posted_since": lambda db: reports.users_who_posted_since(db, {}, since),
        "report_orders_per_month": lambda db: reports.orders_per_month(db, {}),
        "report_balance_distribution": lambda db: reports.balance_distribution(db, {}),
    }


def answer(result: Any) -> dict[str, Any]:
    """What an aggregate answered, in brief: the report shows it did the whole work."""
    if isinstance(result, Totals):
        return {"rows": result.rows, **{c.column: str(c.sum) for c in result.columns}}
    if isinstance(result, Frequencies):
        return {"rows": result.rows, "groups": result.groups, "listed": len(result.items)}
    if isinstance(result, Description):
        summary: dict[str, Any] = {"rows": result.rows, "distinct": result.distinct}
        if result.median is not None:
            summary["median"] = str(result.median)
        return summary
    if isinstance(result, Report):
        return {"rows": len(result.rows), "cut": result.cut}
    return {"type": type(result).__name__}


# -- the database before the loop starts -----------------------------------------------------


def database_facts(bench: BenchDatabase) -> dict[str, Any]:
    """Rows per table (live ones too) and the newest live post."""
    tables = tuple(TABLE_COLUMNS)
    counts = [f"SELECT count(*) FROM {table}" for table in tables]  # noqa: S608
    live = [f"{count} WHERE deleted_at IS NULL" for count in counts]
    if bench.engine == "sqlite":
        connection = sqlite3.connect(bench.sqlite_path)
        try:
            totals = [int(connection.execute(sql).fetchone()[0]) for sql in counts]
            lives = [int(connection.execute(sql).fetchone()[0]) for sql in live]
            stored = connection.execute(_NEWEST_POST).fetchone()[0]
            first_users = int(connection.execute(_FIRST_USERS).fetchone()[0])
            server = sqlite3.sqlite_version
        finally:
            connection.close()
        # Naive UTC text, "2026-06-18 00:24:00.017914".
        newest_post = None if stored is None else datetime.fromisoformat(stored).replace(tzinfo=UTC)
    else:
        totals, lives, newest_post, first_users, server = asyncio.run(
            _postgres_facts(bench, counts, live)
        )
    return {
        "table_rows": dict(zip(tables, totals, strict=True)),
        "live_rows": dict(zip(tables, lives, strict=True)),
        "newest_post": newest_post,
        "pool_check_rows": first_users,
        "database": server,
    }


_NEWEST_POST = "SELECT max(created_at) FROM posts WHERE deleted_at IS NULL"
# What the pool check after a cancel must count.
_FIRST_USERS = f"SELECT count(*) FROM users WHERE deleted_at IS NULL AND id <= {POOL_CHECK_USERS}"  # noqa: S608


async def _postgres_facts(
    bench: BenchDatabase, counts: list[str], live: list[str]
) -> tuple[list[int], list[int], datetime | None, int, str]:
    connection = await asyncpg.connect(bench.dsn, timeout=10)
    try:
        totals = [int(await connection.fetchval(sql)) for sql in counts]
        lives = [int(await connection.fetchval(sql)) for sql in live]
        newest = await connection.fetchval(_NEWEST_POST)
        first_users = int(await connection.fetchval(_FIRST_USERS))
        server = str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()
    return totals, lives, newest, first_users, server


# -- the event loop's heartbeat --------------------------------------------------------------


# -- the scenario ----------------------------------------------------------------------------


@dataclass
class Samples:
    """One aggregate's timed runs: durations, longest gaps and the CPU in them."""

    seconds: list[float] = field(default_factory=list)
    stalls: list[float] = field(default_factory=list)
    stall_cpu: list[float] = field(default_factory=list)
    ticks: list[int] = field(default_factory=list)


@dataclass
class Cancel:
    target: str
    ran_s: float  # from the start until the cancel
    seconds: float  # from the cancel until the task had ended
    outcome: str  # "cancelled", "finished first" or the error it ended with
    stall: float
    stall_cpu: float
    checked_out_after: int | None  # connections still out of the pool once it ended
    pool_check_s: float
    pool_check_rows: int
    server_still_running: int | None  # PostgreSQL: our other statements still active


class Scenario:
    def __init__(
        self,
        bench: BenchDatabase,
        work: dict[str, Aggregate],
        repeat: int,
        *,
        cancel_after: float,
        cancel_target: str,
    ) -> None:
        self.bench = bench
        self.work = work
        self.repeat = repeat
        self.cancel_after = cancel_after
        self.cancel_target = cancel_target
        self.heartbeat = Heartbeat()
        self.samples: dict[str, Samples] = {name: Samples() for name in work}
        self.cold: dict[str, float] = {}
        self.cold_stalls: dict[str, float] = {}
        self.cold_stall_cpu: dict[str, float] = {}
        self.answers: dict[str, dict[str, Any]] = {}
        self.cancels: list[Cancel] = []

    async def run(self) -> dict[str, Any]:
        # As ui.main.run_session does once the main window is up.
        freeze_startup_objects()
        database = Database(self.bench.url)
        collector = MainThreadCollector()
        collector.start()
        self.heartbeat.start()
        try:
            log("warm-up round (untimed, reported as cold_ms)")
            for name, aggregate in self.work.items():
                seconds, stall, cpu, _ticks, result = await self.timed(database, name, aggregate)
                self.cold[name] = seconds
                self.cold_stalls[name] = stall
                self.cold_stall_cpu[name] = cpu
                self.answers[name] = answer(result)
                log(f"  {name}: {ms(seconds)} ms, longest gap {ms(stall)} ms")
            names = list(self.work)
            for number in range(self.repeat):
                log(f"round {number + 1} of {self.repeat}")
                # Rotated each round: no aggregate always runs right after the same other one.
                shift = number % len(names)
                for name in names[shift:] + names[:shift]:
                    seconds, stall, cpu, ticks, _ = await self.timed(
                        database, name, self.work[name]
                    )
                    samples = self.samples[name]
                    samples.seconds.append(seconds)
                    samples.stalls.append(stall)
                    samples.stall_cpu.append(cpu)
                    samples.ticks.append(ticks)
                    log(f"  {name}: {ms(seconds)} ms, longest gap {ms(stall)} ms")
            target = self.cancel_target
            if target == "slowest":
                target = max(names, key=lambda name: statistics.median(self.samples[name].seconds))
            for number in range(self.repeat):
                cancel = await self.cancel_once(database, target)
                self.cancels.append(cancel)
                log(
                    f"cancel {number + 1} of {self.repeat} ({target} after "
                    f"{ms(cancel.ran_s)} ms): {cancel.outcome} in {ms(cancel.seconds)} ms, "
                    f"pool check {ms(cancel.pool_check_s)} ms"
                )
        finally:
            self.heartbeat.stop()
            collector.stop()
            await database.dispose()
        return {
            "samples": self.samples,
            "cold": self.cold,
            "cold_stalls": self.cold_stalls,
            "cold_stall_cpu": self.cold_stall_cpu,
            "answers": self.answers,
            "cancels": self.cancels,
        }

    async def timed(
        self, database: Database, name: str, aggregate: Aggregate
    ) -> tuple[float, float, float, int, Any]:
        """One aggregate as a spawned task, awaited: its time from the spawn until its
        answer is back here, and the longest heartbeat gap meanwhile."""
        await self.heartbeat.next_tick()
        self.heartbeat.reset()
        started = time.perf_counter()
        task = spawn(aggregate(database), name=f"insights {name}", awaited=True)
        done, _ = await asyncio.wait({task}, timeout=WAIT_TIMEOUT_S)
        if not done:
            task.cancel()
            await asyncio.wait({task})
            raise BenchError(f"{name} took over {WAIT_TIMEOUT_S} s")
        result = task.result()
        seconds = time.perf_counter() - started
        stall, cpu = self.heartbeat.longest()
        return seconds, stall, cpu, self.heartbeat.ticks, result

    async def cancel_once(self, database: Database, name: str) -> Cancel:
        """``name`` started, cancelled after ``cancel_after``, waited for; then a quick
        count through the same pool."""
        await self.heartbeat.next_tick()
        self.heartbeat.reset()
        started = time.perf_counter()
        task = spawn(self.work[name](database), name=f"insights {name} (cancelled)", awaited=True)
        await asyncio.sleep(self.cancel_after)
        cancelled_at = time.perf_counter()
        finished_first = task.done()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=WAIT_TIMEOUT_S)
        ended = time.perf_counter()
        if not done:
            raise BenchError(f"cancelled {name} had not ended after {WAIT_TIMEOUT_S} s")
        stall, stall_cpu = self.heartbeat.longest()
        if finished_first:
            outcome = FINISHED_FIRST
        elif task.cancelled():
            outcome = "cancelled"
        else:
            error = task.exception()
            outcome = "finished" if error is None else f"{type(error).__name__}: {error}"
        pool = database.engine.pool
        checked_out = pool.checkedout() if isinstance(pool, QueuePool) else None
        check_started = time.perf_counter()
        check = spawn(
            insights.totals(
                database, "users", QuerySpec(filters=(Range("id", high=POOL_CHECK_USERS),)), ()
            ),
            name="insights pool check",
            awaited=True,
        )
        rows = (await check).rows
        pool_check = time.perf_counter() - check_started
        still_running = None
        if not database.is_sqlite:
            still_running = await spawn(
                _active_statements(database), name="insights server check", awaited=True
            )
        return Cancel(
            name,
            cancelled_at - started,
            ended - cancelled_at,
            outcome,
            stall,
            stall_cpu,
            checked_out,
            pool_check,
            rows,
            still_running,
        )


async def _active_statements(database: Database) -> int:
    """Statements of this database other than this one that the server is running."""
    async with database.get_session() as session:
        found = await session.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'active' AND pid <> pg_backend_pid()"
            )
        )
        return int(found.scalar_one())


# -- the report ------------------------------------------------------------------------------


def report(
    bench: BenchDatabase, repeat: int, facts: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any]:
    samples: dict[str, Samples] = result["samples"]
    cancels: list[Cancel] = result["cancels"]
    out: dict[str, Any] = {
        "benchmark": "insights",
        "engine": bench.engine,
        "rows": bench.users,
        "table_rows": facts["table_rows"],
        "live_rows": facts["live_rows"],
        "repeat": repeat,
    }
    for name, runs in samples.items():
        out[f"{name}_ms"] = median([ms(seconds) for seconds in runs.seconds])
    stalls = {name: max(ms(stall) for stall in runs.stalls) for name, runs in samples.items()}
    cancel_stalls = [ms(cancel.stall) for cancel in cancels]
    out["max_stall_ms"] = max([*stalls.values(), *cancel_stalls])
    # A target that ended before its cancel came says nothing about cancelling.
    cancel_seconds = [ms(cancel.seconds) for cancel in cancels]
    cut_short = [ms(c.seconds) for c in cancels if c.outcome != FINISHED_FIRST]
    out["cancel_ms"] = median(cut_short) if cut_short else None
    out["cancel"] = {
        "target": cancels[0].target,
        "after_ms": median([ms(cancel.ran_s) for cancel in cancels]),
        "samples_ms": cancel_seconds,
        "max_ms": max(cut_short) if cut_short else None,
        "outcomes": [cancel.outcome for cancel in cancels],
        "stall_ms": cancel_stalls,
        "pool_checked_out_after": [cancel.checked_out_after for cancel in cancels],
        "pool_check_ms": [ms(cancel.pool_check_s) for cancel in cancels],
        "pool_check_rows": [cancel.pool_check_rows for cancel in cancels],
        "pool_usable": all(
            cancel.pool_check_rows == facts["pool_check_rows"] for cancel in cancels
        ),
        "server_still_running": [cancel.server_still_running for cancel in cancels],
    }
    out["best_ms"] = {
        name: best([ms(seconds) for seconds in runs.seconds]) for name, runs in samples.items()
    }
    out["cold_ms"] = {name: ms(seconds) for name, seconds in result["cold"].items()}
    out["stall_by_aggregate_ms"] = stalls
    out["stall_cpu_by_aggregate_ms"] = {
        name: ms(max(zip(runs.stalls, runs.stall_cpu, strict=True))[1])
        for name, runs in samples.items()
    }
    out["cold_stall_by_aggregate_ms"] = {
        name: ms(stall) for name, stall in result["cold_stalls"].items()
    }
    out["cold_stall_cpu_by_aggregate_ms"] = {
        name: ms(cpu) for name, cpu in result["cold_stall_cpu"].items()
    }
    out["answers"] = result["answers"]
    out["posts_more_than"] = MORE_THAN_POSTS
    out["posted_since"] = facts["posted_since"]
    out["newest_post"] = facts["newest_post"]
    out["heartbeat_ms"] = HEARTBEAT_MS
    out["budgets"] = {"max_stall_ms": MAX_STALL_BUDGET_MS}
    out["within_budget"] = {"max_stall_ms": out["max_stall_ms"] <= MAX_STALL_BUDGET_MS}
    out["environment"] = {
        "python": platform.python_version(),
        "pyside6": PySide6.__version__,
        "qasync": version("qasync"),
        "sqlalchemy": version("sqlalchemy"),
        "driver": f"aiosqlite {version('aiosqlite')}"
        if bench.engine == "sqlite"
        else f"asyncpg {version('asyncpg')}",
        "database": facts["database"],
        "qpa": QApplication.platformName(),
        "cpus": os.cpu_count(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "gc_frozen": True,
    }
    return out
