"""Which local files can be opened as a database, said in words before anything opens them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.services.connection import sqlite_file_problem


def test_a_sqlite_database_and_an_empty_file_can_be_opened(tmp_path: Path) -> None:
    database = tmp_path / "shop.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE t (x)")
    connection.close()
    empty = tmp_path / "new.db"
    empty.touch()

    assert sqlite_file_problem(database) is None
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
