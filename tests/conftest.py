"""Fixtures shared by every test: isolated folders, and databases on both engines."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from app.config import ENV_DATABASE_URL, sqlite_url
from app.core.credentials import Credentials, use_credentials
from app.core.database import Database
from app.core.logs import stop_logging
from app.models import Base
from app.services import migrations
from tests import postgres
from tests.keyrings import MemoryKeyring

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


@pytest.fixture(autouse=True)
def isolated_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Config, data and log folders under tmp_path: no test touches the user's own."""
    for variable, folder in [
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ]:
        monkeypatch.setenv(variable, str(tmp_path / folder))
    monkeypatch.delenv(ENV_DATABASE_URL, raising=False)


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """A keyring in memory for every test (the machine's own is never touched)."""
    keyring = MemoryKeyring()
    use_credentials(Credentials(keyring))
    yield keyring
    use_credentials(None)


@pytest.fixture(autouse=True)
def restored_logging() -> Iterator[None]:
    """A test that runs main() in-process leaves no handler writing to its captured stderr."""
    root = logging.getLogger()
    level = root.level
    yield
    stop_logging()
    root.setLevel(level)


@pytest.fixture(scope="session")
def postgres_available() -> None:
    reason = postgres.reachable()
    if reason is None:
        return
    if postgres.postgres_required():
        pytest.fail(f"{postgres.REQUIRE_ENV}=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def new_postgres_database(postgres_available: None) -> Iterator[Callable[..., URL]]:
    """A factory of empty PostgreSQL databases (``make(locale="C")`` for a locale of its
    own), all dropped when the run ends."""
    created: list[URL] = []

    def make(*, locale: str | None = None) -> URL:
        url = postgres.create_database(locale=locale)
        created.append(url)
        return url

    yield make
    for url in created:
        postgres.drop_database(url)


@pytest.fixture(scope="session")
def migrated_postgres_url(new_postgres_database: Callable[..., URL]) -> URL:
    url = new_postgres_database()
    _run(_upgrade(url))
    return url


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "records.db"
    _run(_upgrade(sqlite_url(path)))
    return path


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_database_url(engine_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> URL:
    """A database with no schema at all, on the engine under test."""
    if engine_name == "sqlite":
        return sqlite_url(tmp_path / "empty.db")
    make: Callable[[], URL] = request.getfixturevalue("new_postgres_database")
    return make()


@pytest.fixture
def database_url(engine_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> URL:
    """A database at the head revision with no rows, on the engine under test."""
    if engine_name == "sqlite":
        template: Path = request.getfixturevalue("migrated_sqlite_template")
        path = tmp_path / "records.db"
        shutil.copyfile(template, path)
        return sqlite_url(path)
    url: URL = request.getfixturevalue("migrated_postgres_url")
    _run(_truncate(url))
    return url


@pytest.fixture
async def database(database_url: URL) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


@pytest.fixture
async def sqlite_database(
    migrated_sqlite_template: Path, tmp_path: Path
) -> AsyncIterator[Database]:
    """For what only SQLite has (file locks, its storage format): a migrated, empty file."""
    path = tmp_path / "sqlite-only.db"
    shutil.copyfile(migrated_sqlite_template, path)
    db = Database(sqlite_url(path))
    yield db
    await db.dispose()


async def _upgrade(url: URL) -> None:
    db = Database(url)
    try:
        await migrations.upgrade(db)
    finally:
        await db.dispose()


async def _truncate(url: URL) -> None:
    db = Database(url)
    try:
        tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
        async with db.get_session(write=True) as session:
            await session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await db.dispose()


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coroutine)
