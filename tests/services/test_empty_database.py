"""A first start makes the local database by running resources/empty-database.sql instead of
the migrations: the script is the migrations' own result (regenerated, never hand-edited),
used only at this code's revision, never over an existing file, and when it cannot be used
the migrations do the work."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import sqlite_url
from app.core.database import Database
from app.services import empty_database, migrations
from app.services.seeding import SeedOptions, seed_demo_data

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def schema_of(path: Path) -> list[tuple[object, ...]]:
    return rows_of(
        path, "SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name"
    )


def rows_of(path: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute(query).fetchall()
    connection.close()
    return rows


def revision_of(path: Path) -> list[str]:
    return [str(row[0]) for row in rows_of(path, "SELECT version_num FROM alembic_version")]


async def seeded(path: Path, *, users: int) -> None:
    database = Database(sqlite_url(path))
    try:
        await seed_demo_data(database, SeedOptions(users=users, batch_users=users))
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new SQLite file the migrations brought to head."""
    path = tmp_path_factory.mktemp("migrated") / "migrated.db"
    database = Database(sqlite_url(path))

    async def migrate() -> None:
        try:
            await migrations.upgrade(database)
        finally:
            await database.dispose()

    asyncio.run(migrate())
    return path


@pytest.fixture(autouse=True)
def scripts_read_again() -> Iterator[None]:
    """The migrations' folder is read once per process: a test's install folder must not stay it."""
    migrations.script_directory.cache_clear()
    yield
    migrations.script_directory.cache_clear()


def no_migrations(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the migrations ran")

    monkeypatch.setattr(migrations, "upgrade", refuse)


def install_dir_with(script: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``root`` as the folder the app runs from, its empty-database script being ``script``."""
    (root / "resources").mkdir(parents=True)
    (root / "alembic").symlink_to(PROJECT_ROOT / "alembic", target_is_directory=True)
    empty_database.script_path(root).write_text(script, encoding="utf-8")
    monkeypatch.setattr(migrations, "install_dir", lambda: root)


async def prepared(path: Path) -> migrations.SchemaState:
    database = Database(sqlite_url(path))
    try:
        return await migrations.prepare_for_use(database)
    finally:
        await database.dispose()


def test_the_script_is_the_migrations_result(migrated: Path) -> None:
    committed = migrations.empty_database_script().read_text(encoding="utf-8")

    assert committed == empty_database.script_of(migrated), (
        "resources/empty-database.sql is not what the migrations make: "
        "run `uv run python -m app.services.empty_database` and commit the result"
    )
    assert empty_database.revision_of(committed) == migrations.HEAD_REVISION


async def test_a_first_start_runs_the_script_and_no_migration(
    migrated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_migrations(monkeypatch)
    path = tmp_path / "data" / "records.db"
    path.parent.mkdir()

    state = await prepared(path)

    assert state.up_to_date
    assert schema_of(path) == schema_of(migrated)
    assert revision_of(path) == [migrations.HEAD_REVISION]
    assert rows_of(path, "SELECT k, v FROM users_fts_config") == rows_of(
        migrated, "SELECT k, v FROM users_fts_config"
    )
    assert sorted(os.listdir(path.parent)) == ["records.db"]  # no staging file left


async def test_the_new_database_works_with_its_search_index(tmp_path: Path) -> None:
    path = tmp_path / "records.db"
    await prepared(path)
    await seeded(path, users=5)

    assert rows_of(path, "SELECT count(*) FROM users") == [(5,)]
    # The search index's triggers came with the script.
    assert rows_of(path, "SELECT count(*) FROM users_fts WHERE users_fts MATCH 'example'") == [(5,)]


async def test_an_existing_file_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "records.db"
    await prepared(path)
    await seeded(path, users=3)

    assert migrations.start_from_script(path) is False
    await prepared(path)

    assert rows_of(path, "SELECT count(*) FROM users") == [(3,)]


def test_a_file_made_meanwhile_by_another_start_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "records.db"
    real_link = os.link

    def another_start_first(source: str, target: str) -> None:
        Path(target).write_bytes(b"")  # the other start's file, made between check and link
        real_link(source, target)

    monkeypatch.setattr(os, "link", another_start_first)

    assert migrations.start_from_script(path) is False
    assert path.read_bytes() == b""
    assert sorted(os.listdir(tmp_path)) == ["records.db"]


async def test_without_hard_links_the_migrations_make_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(_source: str, _target: str) -> None:
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr(os, "link", unsupported)
    path = tmp_path / "records.db"

    state = await prepared(path)

    assert state.up_to_date
    assert revision_of(path) == [migrations.HEAD_REVISION]
    assert sorted(os.listdir(tmp_path)) == ["records.db"]


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(
            "BEGIN; CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY);\n"
            "INSERT INTO alembic_version (version_num) VALUES ('0123456789ab');\nCOMMIT;\n",
            id="another revision",
        ),
        pytest.param("", id="empty"),
    ],
)
async def test_a_script_of_another_revision_is_not_run(
    script: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_dir_with(script, tmp_path / "app", monkeypatch)
    path = tmp_path / "records.db"

    assert migrations.start_from_script(path) is False
    assert not path.exists()
    state = await prepared(path)

    assert state.up_to_date  # by the migrations
    assert revision_of(path) == [migrations.HEAD_REVISION]


async def test_a_script_that_fails_leaves_nothing_and_the_migrations_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = (
        "BEGIN;\nCREATE TABLE half_made (id INTEGER);\nTHIS IS NOT SQL;\n"
        f"INSERT INTO alembic_version (version_num) VALUES ('{migrations.HEAD_REVISION}');\n"
        "COMMIT;\n"
    )
    install_dir_with(broken, tmp_path / "app", monkeypatch)
    path = tmp_path / "records.db"

    assert migrations.start_from_script(path) is False
    assert sorted(os.listdir(tmp_path)) == ["app"]
    await prepared(path)

    assert revision_of(path) == [migrations.HEAD_REVISION]
    assert ("table", "half_made", "CREATE TABLE half_made (id INTEGER)") not in schema_of(path)


def test_a_missing_script_leaves_the_migrations_to_make_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migrations, "install_dir", lambda: tmp_path / "nowhere")

    assert migrations.start_from_script(tmp_path / "records.db") is False
    assert sorted(os.listdir(tmp_path)) == []
