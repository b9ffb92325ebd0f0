"""A packaged first start copies the bundle's empty database instead of migrating: the copy
is the migrations' own result, used only when it matches this code and this SQLite, never
over an existing file, and its absence leaves the migrations to do the work."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import sqlite_url
from app.core.database import Database
from app.services import migrations
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
def made_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What build.spec puts in the bundle, made the same way."""
    return migrations.make_empty_database_template(tmp_path_factory.mktemp("made"))


@pytest.fixture(autouse=True)
def scripts_read_again() -> Iterator[None]:
    """The migrations' folder is read once per process: a test's bundle must not stay it."""
    migrations.script_directory.cache_clear()
    yield
    migrations.script_directory.cache_clear()


def unpacked_bundle(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``root`` as the folder a frozen app runs from: its migrations, and resources/."""
    (root / "resources").mkdir(parents=True)
    (root / "alembic").symlink_to(PROJECT_ROOT / "alembic", target_is_directory=True)
    monkeypatch.setattr(migrations, "install_dir", lambda: root)
    return root / "resources"


@pytest.fixture
def bundle(tmp_path: Path, made_template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An unpacked bundle holding the template where a frozen app looks for it."""
    resources = unpacked_bundle(tmp_path / "bundle", monkeypatch)
    shutil.copyfile(made_template, resources / made_template.name)
    return resources.parent


def no_migrations(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the migrations ran")

    monkeypatch.setattr(migrations, "upgrade", refuse)


async def prepared(path: Path) -> migrations.SchemaState:
    database = Database(sqlite_url(path))
    try:
        return await migrations.prepare_for_use(database)
    finally:
        await database.dispose()


def test_the_template_is_the_migrations_result_named_for_revision_and_sqlite(
    made_template: Path, tmp_path: Path
) -> None:
    migrated = tmp_path / "migrated.db"
    database = Database(sqlite_url(migrated))

    async def migrate() -> None:
        try:
            await migrations.upgrade(database)
        finally:
            await database.dispose()

    asyncio.run(migrate())

    assert made_template.name == (
        f"empty-database-{migrations.HEAD_REVISION}-sqlite-{sqlite3.sqlite_version}.sqlite"
    )
    assert revision_of(made_template) == [migrations.HEAD_REVISION]
    assert schema_of(made_template) == schema_of(migrated)
    # Closed cleanly: nothing of it is left in a write-ahead log a copy would miss.
    assert not made_template.with_name(made_template.name + "-wal").exists()


async def test_a_first_start_copies_the_template_and_runs_no_migration(
    bundle: Path, made_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_migrations(monkeypatch)
    path = tmp_path / "data" / "records.db"
    path.parent.mkdir()

    state = await prepared(path)

    assert state.up_to_date
    assert schema_of(path) == schema_of(made_template)
    assert sorted(os.listdir(path.parent)) == ["records.db"]  # no staging file left


async def test_the_copy_is_a_working_database_with_its_search_index(
    bundle: Path, tmp_path: Path
) -> None:
    path = tmp_path / "records.db"
    await prepared(path)
    await seeded(path, users=5)

    assert rows_of(path, "SELECT count(*) FROM users") == [(5,)]
    # The search index's triggers came with the copy.
    assert rows_of(path, "SELECT count(*) FROM users_fts WHERE users_fts MATCH 'example'") == [(5,)]


async def test_an_existing_file_is_never_replaced(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "records.db"
    await prepared(path)
    await seeded(path, users=3)

    assert migrations.start_from_template(path) is False
    await prepared(path)

    assert rows_of(path, "SELECT count(*) FROM users") == [(3,)]


def test_a_file_made_meanwhile_by_another_start_is_kept(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "records.db"
    real_link = os.link

    def another_start_first(source: str, target: str) -> None:
        Path(target).write_bytes(b"")  # the other start's file, made between check and link
        real_link(source, target)

    monkeypatch.setattr(os, "link", another_start_first)

    assert migrations.start_from_template(path) is False
    assert path.read_bytes() == b""
    assert sorted(os.listdir(tmp_path)) == ["bundle", "records.db"]


async def test_without_hard_links_the_migrations_make_the_database(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(_source: str, _target: str) -> None:
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr(os, "link", unsupported)
    path = tmp_path / "records.db"

    state = await prepared(path)

    assert state.up_to_date
    assert revision_of(path) == [migrations.HEAD_REVISION]
    assert sorted(os.listdir(tmp_path)) == ["bundle", "records.db"]


@pytest.mark.parametrize(
    "name",
    [
        "empty-database-0123456789ab-sqlite-{sqlite}.sqlite",  # another revision's
        "empty-database-{head}-sqlite-3.0.0.sqlite",  # another SQLite's
    ],
)
async def test_a_template_of_another_revision_or_sqlite_is_not_used(
    name: str, made_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = unpacked_bundle(tmp_path / "bundle", monkeypatch)
    stale = resources / name.format(sqlite=sqlite3.sqlite_version, head=migrations.HEAD_REVISION)
    shutil.copyfile(made_template, stale)
    no_migrations(monkeypatch)
    path = tmp_path / "records.db"

    with pytest.raises(AssertionError, match="the migrations ran"):
        await prepared(path)


async def test_from_source_there_is_no_template_and_the_migrations_run(tmp_path: Path) -> None:
    assert not migrations.empty_database_template().exists()
    path = tmp_path / "records.db"

    assert migrations.start_from_template(path) is False
    state = await prepared(path)

    assert state.up_to_date
    assert revision_of(path) == [migrations.HEAD_REVISION]
