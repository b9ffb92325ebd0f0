"""Work that lost its reader stops in the database: a cancelled statement ends at the
server (PostgreSQL backend cancel, SQLite interrupt) and its connection goes back clean —
not shielded to run to its end, and never left idle in a transaction."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from app.core.database import Database

# Statements that would run for minutes: only a cancel in the database ends them soon.
ENDLESS = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(600)",
}
# Bounds a broken test only: a cancelled statement ends in milliseconds.
WAIT_S = 20


async def start_endless(database: Database) -> asyncio.Task[None]:
    started = asyncio.Event()

    async def endless() -> None:
        async with database.get_session() as session:
            await session.execute(text("SELECT 1"))
            started.set()
            await session.execute(text(ENDLESS[database.dialect_name]))

    task = asyncio.ensure_future(endless())
    await started.wait()
    await asyncio.sleep(0.05)  # let the endless statement reach the database
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

    async def quick() -> None:
        async with database.get_session() as session:
            await session.execute(text("SELECT 1"))
            await asyncio.sleep(10)  # cancelled here, between statements

    task = asyncio.ensure_future(quick())
    await asyncio.sleep(0.05)
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
