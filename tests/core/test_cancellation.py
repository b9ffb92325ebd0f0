"""Work that lost its reader stops in the database: a cancelled statement ends at the
server (PostgreSQL backend cancel, SQLite interrupt) and its connection goes back clean —
not shielded to run to its end, and never left idle in a transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import Database
from app.services.records import RecordService

# Statements that would run for minutes: only a cancel in the database ends them soon.
# SQLite's calls records_desk_started() as it begins (see run_endless).
ENDLESS = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT records_desk_started() UNION ALL "
    "SELECT x + 1 FROM c) SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(600)",
}
# Bounds a broken test only: a cancelled statement ends in milliseconds.
WAIT_S = 20
# How often the PostgreSQL server is asked whether the statement runs (a condition, not a pause).
POLL_S = 0.01


async def run_endless(session: AsyncSession, started: asyncio.Event) -> None:
    """Run the endless statement; ``started`` is set once the database is running it —
    not merely once it was sent: a cancel that comes before has nothing to stop."""
    connection = await session.connection()
    dialect = connection.dialect.name
    watcher: asyncio.Task[None] | None = None
    if dialect == "sqlite":
        loop = asyncio.get_running_loop()

        def mark_started() -> int:  # called in the driver's thread by SQLite itself
            loop.call_soon_threadsafe(started.set)
            return 1

        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.create_function("records_desk_started", 0, mark_started)
    else:
        watcher = asyncio.ensure_future(_watch_for_endless(connection.engine.url, started))
    try:
        await session.execute(text(ENDLESS[dialect]))
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


async def _watch_for_endless(url: Any, started: asyncio.Event) -> None:
    watcher = Database(url)
    try:
        async with asyncio.timeout(WAIT_S):
            while not started.is_set():
                async with watcher.get_session() as session:
                    running = await session.execute(
                        text(
                            "SELECT 1 FROM pg_stat_activity WHERE state = 'active' "
                            "AND query = :query"
                        ),
                        {"query": ENDLESS["postgresql"]},
                    )
                    if running.first() is not None:
                        started.set()
                        return
                await asyncio.sleep(POLL_S)
    finally:
        await watcher.dispose()


async def start_endless(database: Database) -> asyncio.Task[None]:
    started = asyncio.Event()

    async def endless() -> None:
        async with database.get_session() as session:
            await run_endless(session, started)

    task = asyncio.ensure_future(endless())
    await asyncio.wait_for(started.wait(), WAIT_S)
    return task


async def other_backends(database: Database) -> list[tuple[str, str]]:
    """(state, query) of this database's other PostgreSQL sessions."""
    async with database.get_session() as session:
        result = await session.execute(
            text(
                "SELECT state, query FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        return [(str(state), str(query)) for state, query in result]


async def test_a_cancelled_statement_stops_in_the_database(database: Database) -> None:
    task = await start_endless(database)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=WAIT_S)
    assert task in done, "the cancelled statement kept its task waiting"
    assert task.cancelled()
    if database.dialect_name == "postgresql":
        for _ in range(100):  # the server notices the cancel request at once; allow a beat
            busy = [q for state, q in await other_backends(database) if state != "idle"]
            if not busy:
                break
            await asyncio.sleep(0.05)
        assert busy == []
        states = {state for state, _ in await other_backends(database)}
        assert "idle in transaction" not in states


async def test_the_connection_of_a_cancelled_statement_is_usable_again(
    database: Database,
) -> None:
    for _ in range(3):
        task = await start_endless(database)
        task.cancel()
        await asyncio.wait({task}, timeout=WAIT_S)
        assert task.done()
    async with database.get_session() as session:
        assert (await session.execute(text("SELECT 41 + 1"))).scalar_one() == 42
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
async def test_a_late_interrupt_does_not_break_the_next_statement(
    database: Database, engine_name: str
) -> None:
    """SQLite clears an interrupt when the next statement starts: cancelling a task whose
    statement had already finished must not fail the following one."""

    between_statements = asyncio.Event()

    async def quick() -> None:
        async with database.get_session() as session:
            await session.execute(text("SELECT 1"))
            between_statements.set()
            await asyncio.Event().wait()  # cancelled here

    task = asyncio.ensure_future(quick())
    await asyncio.wait_for(between_statements.wait(), WAIT_S)
    task.cancel()
    await asyncio.wait({task}, timeout=WAIT_S)
    async with database.get_session() as session:
        assert (await session.execute(text("SELECT 2"))).scalar_one() == 2


async def test_a_statement_cancelled_twice_still_returns_its_connection(
    database: Database,
) -> None:
    """A window closing cancels its work, and the app closing cancels what is left: the
    second cancel lands in the cleanup of the first and must not leave it waiting."""
    task = await start_endless(database)
    task.cancel()
    await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=WAIT_S)
    assert task in done
    await database.engine.dispose()  # would wait for a connection stuck closing
    async with database.get_session() as session:
        assert (await session.execute(text("SELECT 3"))).scalar_one() == 3


@pytest.mark.parametrize("ending", ["commit", "failure"])
async def test_a_cancel_during_the_sessions_end_lets_it_finish_and_pool_the_connection(
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    ending: str,
) -> None:
    """A window closing cancels a count whose query has just ended: the cancel can land
    while its session commits (or, after a failure, rolls back) and the pool resets the
    connection with a rollback of the driver's. That must still finish, or SQLAlchemy logs
    "Exception during reset or similar" and drops the connection (seen in the smoke test)."""
    async with database.get_session() as session:  # the pool's connection, made first:
        await session.execute(text("SELECT 1"))  # connecting does a rollback of its own
    outer: list[asyncio.Task[Any]] = []
    dialect = database.engine.sync_engine.dialect
    do_rollback = dialect.do_rollback

    def rollback_while_cancelled(connection: Any) -> None:
        outer[0].cancel()  # lands in the driver's rollback, the next thing awaited
        do_rollback(connection)

    monkeypatch.setattr(dialect, "do_rollback", rollback_while_cancelled)

    async def read() -> None:
        async with database.get_session() as session:
            await session.execute(text("SELECT count(*) FROM users"))
            if ending == "failure":
                raise LookupError("the caller's own failure, after the query")

    task = asyncio.ensure_future(read())
    outer.append(task)
    with pytest.raises(asyncio.CancelledError):
        await task

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    pool: Any = database.engine.pool  # a QueuePool, which counts what it holds
    assert (pool.checkedout(), pool.checkedin()) == (0, 1)  # back in the pool, not dropped


async def test_a_slow_cleanup_that_nobody_cancels_is_simply_awaited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.core import database as database_module

    monkeypatch.setattr(database_module, "CLEANUP_TIMEOUT_S", 0.0)
    release = asyncio.Event()
    ended: list[bool] = []

    async def slow_commit() -> str:
        await release.wait()
        ended.append(True)
        return "committed"

    waiting = asyncio.ensure_future(database_module.finish_despite_cancel(slow_commit()))
    await asyncio.wait({waiting}, timeout=0.05)  # a bound only: it must still be waiting
    assert not waiting.done()  # the limit counts from a cancel, not from the start
    release.set()
    await waiting
    assert ended == [True]


async def test_a_cleanup_that_outlasts_its_time_after_a_cancel_is_left_to_end_by_itself(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from app.core import database as database_module

    monkeypatch.setattr(database_module, "CLEANUP_TIMEOUT_S", 0.01)
    started, release = asyncio.Event(), asyncio.Event()
    ended: list[bool] = []

    async def stuck_rollback() -> None:
        started.set()
        await release.wait()  # a server gone silent
        ended.append(True)

    waiting = asyncio.ensure_future(database_module.finish_despite_cancel(stuck_rollback()))
    await started.wait()
    waiting.cancel()
    with pytest.raises(database_module.AbandonedCleanup):
        await waiting
    assert "left to end by itself" in caplog.text
    assert len(database_module._LEFT_RUNNING) == 1  # still referenced, still running
    release.set()
    (left,) = database_module._LEFT_RUNNING
    await asyncio.wait({left})
    assert ended == [True]
    assert not database_module._LEFT_RUNNING


async def test_a_cancel_that_lands_while_a_write_commits_comes_too_late(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancel pressed just as a save commits: the commit ends, so the save is done — the
    call returns its result and the change is published, rather than say "cancelled" of a
    row that was written (a window would tell the user nothing happened)."""
    records = RecordService(database)
    outer: list[asyncio.Task[Any]] = []
    dialect = database.engine.sync_engine.dialect
    do_commit = dialect.do_commit

    def commit_while_cancelled(connection: Any) -> None:
        if outer:
            outer[0].cancel()  # lands in the driver's commit, the next thing awaited
        do_commit(connection)

    monkeypatch.setattr(dialect, "do_commit", commit_while_cancelled)
    heard: list[Any] = []
    database.changes.subscribe(heard.append)
    task = asyncio.ensure_future(
        records.create(
            "users", {"email": "late@example.org", "name": "Late"}, password="long enough"
        )
    )
    outer.append(task)
    created = await task
    assert not task.cancelled()
    assert (await records.get("users", created["id"]))["email"] == "late@example.org"
    assert [changes.entities for changes in heard] == [{"users"}]
