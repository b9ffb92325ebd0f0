"""Index or scan: a SQLite without the trigram tokenizer, and what the search remembers
about each database (per database, never per process: DESIGN.md rule 17)."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Connection

from app.config import sqlite_url
from app.core import database as database_module
from app.core.database import Database
from app.query import After, OffsetPage, QuerySpec
from app.repositories import UserRepository
from app.repositories import search as search_module
from app.services import migrations
from tests.repositories.factories import ids_of, make_user


@pytest.fixture
def old_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    """This SQLite answers as one older than 3.34 would: no trigram tokenizer."""

    def unavailable(connection: Connection, tokenizer: str) -> bool:
        return False

    monkeypatch.setattr(database_module, "sqlite_fts5_tokenizer_available", unavailable)


@pytest.fixture
async def fresh_sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(sqlite_url(tmp_path / "fresh.db"))
    yield database
    await database.dispose()


@pytest.fixture
def statements(fresh_sqlite: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = fresh_sqlite.engine.sync_engine
    event.listen(engine, "before_cursor_execute", remember)
    yield seen
    event.remove(engine, "before_cursor_execute", remember)


async def test_without_the_trigram_tokenizer_the_migration_warns_and_searching_scans(
    old_sqlite: None,
    fresh_sqlite: Database,
    statements: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        state = await migrations.upgrade(fresh_sqlite)
    assert state.up_to_date
    assert any("no FTS5 trigram tokenizer" in record.getMessage() for record in caplog.records)

    async with fresh_sqlite.get_session(write=True) as session:
        found = await session.execute(
            text("SELECT name FROM sqlite_master WHERE name LIKE '%fts%'")
        )
        assert found.scalars().all() == []
        ada = await make_user(session, name="Ada Lovelace", email="ada@analytical.org")
        await make_user(session, name="Grace Hopper", email="grace@navy.mil")

    statements.clear()
    async with fresh_sqlite.get_session() as session:
        repository = UserRepository(session)
        assert not await repository.search_uses_index("lovelace")
        spec = QuerySpec(search="LOVELACE")
        assert await ids_of(repository, spec) == [ada.id]
        assert [row.id for row in await repository.browse(spec, After(None, 10))] == [ada.id]
        assert await repository.anchors(spec, 1) == [(ada.id,)]
        assert [user.id for user in await repository.search("analytical")] == [ada.id]
    # Which index tables exist is looked up once for the database, not per search.
    assert sum("sqlite_master" in statement for statement in statements) == 1
    assert not any("_fts" in statement for statement in statements)

    # A later upgrade (the schema changed) looks again.
    await migrations.upgrade(fresh_sqlite)
    statements.clear()
    async with fresh_sqlite.get_session() as session:
        assert await ids_of(UserRepository(session), QuerySpec(search="hopper")) != []
    assert sum("sqlite_master" in statement for statement in statements) == 1


async def test_the_tokenizer_probe_asks_sqlite_itself(fresh_sqlite: Database) -> None:
    async with fresh_sqlite.engine.begin() as connection:
        assert await connection.run_sync(database_module.sqlite_fts5_tokenizer_available, "trigram")
        assert not await connection.run_sync(
            database_module.sqlite_fts5_tokenizer_available, "no_such_tokenizer"
        )
        # The savepoint kept the transaction usable, and nothing was left behind.
        tables = await connection.execute(text("SELECT name FROM sqlite_temp_master"))
        assert tables.scalars().all() == []


@pytest.fixture
def two_sqlite_files(tmp_path: Path, migrated_sqlite_template: Path) -> list[Path]:
    paths = [tmp_path / "common.db", tmp_path / "rare.db"]
    for path in paths:
        shutil.copyfile(migrated_sqlite_template, path)
    return paths


async def test_what_the_density_probe_learns_is_kept_per_database(
    two_sqlite_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same term is common in one database and rare in another; a cache per process
    answered the second with the first's verdict."""
    monkeypatch.setattr(search_module, "DENSE_MATCHES", 3)
    answers = []
    for path, namesakes in zip(two_sqlite_files, (5, 1), strict=True):
        database = Database(sqlite_url(path))
        try:
            async with database.get_session(write=True) as session:
                for _ in range(namesakes):
                    await make_user(session, name="Ada Lovelace")
            async with database.get_session() as session:
                repository = UserRepository(session)
                answers.append(await repository.search_uses_index("lovelace"))
                rows = await repository.browse(QuerySpec(search="lovelace"), OffsetPage(0, 10))
                assert len(rows) == namesakes
        finally:
            await database.dispose()
    assert answers == [False, True]


async def test_the_first_search_builds_the_fold_table_off_the_event_loop(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building it takes 15–60 ms: longer than the longest stall the window may have."""
    built_in: list[threading.Thread] = []
    build = search_module._build_fold_classes

    def recorded() -> dict[str, frozenset[str]]:
        built_in.append(threading.current_thread())
        return build()

    monkeypatch.setattr(search_module, "_classes", None)
    monkeypatch.setattr(search_module, "_build_fold_classes", recorded)
    async with sqlite_database.get_session() as session:
        await UserRepository(session).browse(QuerySpec(search="é"), OffsetPage(0, 10))
    assert len(built_in) == 1
    assert built_in[0] is not threading.main_thread()
