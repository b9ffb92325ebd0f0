"""Which local files can be opened as a database, said in words before anything opens them."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from app.config import Settings, SettingsSource, default_database_url, settings_for
from app.connections import file_connection
from app.services.connection import another_programs_file, open_database, sqlite_file_problem


def test_a_sqlite_database_and_an_empty_file_can_be_opened(tmp_path: Path) -> None:
    database = tmp_path / "shop.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    connection.close()
    blank = tmp_path / "blank.db"
    with sqlite3.connect(blank) as connection:
        connection.execute("CREATE TABLE scratch (x)")
        connection.execute("DROP TABLE scratch")  # a database file with no tables in it
    connection.close()
    empty = tmp_path / "new.db"
    empty.touch()

    assert sqlite_file_problem(database) is None
    assert sqlite_file_problem(blank) is None
    assert sqlite_file_problem(empty) is None  # SQLite makes a new database in it


def test_each_file_that_cannot_be_a_database_gets_its_own_reason(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("SQLite format 2 — not quite", encoding="utf-8")
    short = tmp_path / "short.db"
    short.write_bytes(b"SQLite")

    assert (
        sqlite_file_problem(tmp_path / "missing.db") == f"{tmp_path / 'missing.db'} does not exist."
    )
    assert sqlite_file_problem(tmp_path) == f"{tmp_path} is a folder, not a database file."
    assert sqlite_file_problem(text) == f"{text} is not a SQLite database."
    assert sqlite_file_problem(short) == f"{short} is not a SQLite database."


def test_an_unreadable_file_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked.db"
    locked.write_bytes(b"")

    def refused(self: Path, *args: object, **kwargs: object) -> None:
        # As open() fails for a file without read permission (root reads every file, so
        # chmod cannot show it where the tests run as root).
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refused)

    assert sqlite_file_problem(locked) == f"{locked} cannot be read: permission denied."


def test_another_programs_database_is_known_before_anything_opens_it(tmp_path: Path) -> None:
    """It opens read-only (issue 24); telling it from ours reads the file read-only."""
    places = tmp_path / "places.sqlite"
    with sqlite3.connect(places) as connection:
        connection.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY)")
    connection.close()
    before = places.read_bytes()
    ours = tmp_path / "ours.db"
    with sqlite3.connect(ours) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    connection.close()

    assert sqlite_file_problem(places) is None
    assert another_programs_file(places)
    assert places.read_bytes() == before  # read only: not even its journal mode changed
    assert sqlite_file_problem(ours) is None
    assert not another_programs_file(ours)


def test_a_damaged_database_file_says_so(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)

    problem = sqlite_file_problem(damaged)

    assert problem is not None
    assert problem.startswith(f"{damaged} cannot be read as a SQLite database: ")


async def test_the_local_database_folder_made_here_is_private() -> None:
    """It holds the user's records: only the user may enter it."""
    folder = default_database_url().database
    assert folder is not None
    assert not Path(folder).parent.exists()

    database = open_database(Settings(default_database_url(), SettingsSource.DEFAULT))
    await database.dispose()

    assert stat.S_IMODE(Path(folder).parent.stat().st_mode) == 0o700


def test_another_programs_alembic_does_not_make_its_file_ours(tmp_path: Path) -> None:
    """A program that uses Alembic too: its revision beside tables of its own opens
    read-only (issue 24) before anything is written, not even the journal mode."""
    shop = tmp_path / "shop.db"
    with sqlite3.connect(shop) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        connection.execute("INSERT INTO alembic_version VALUES ('1a2b3c')")
        connection.execute("CREATE TABLE carts (id INTEGER PRIMARY KEY)")
    connection.close()
    before = shop.read_bytes()

    assert another_programs_file(shop)
    database = open_database(settings_for(file_connection(shop)))
    assert database.read_only
    assert shop.read_bytes() == before
