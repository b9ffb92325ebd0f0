"""Opening the chosen database, for the GUI and the command line alike."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from app.config import Settings, SettingsSource
from app.core.database import Database
from app.services.errors import DatabaseUnavailableError, not_ours


def open_database(settings: Settings, *, echo: bool = False) -> Database:
    """The Database for the chosen settings; the default local file's folder is created."""
    path = settings.sqlite_path
    if path is not None and settings.source is SettingsSource.DEFAULT:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnavailableError(
                f"Cannot create the folder {path.parent} for the local database: {error.strerror}."
            ) from None
    return Database(settings.database_url, echo=echo)


# The first 16 bytes of every SQLite 3 database file (sqlite.org/fileformat.html).
SQLITE_HEADER = b"SQLite format 3\x00"


def sqlite_file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be opened as a local database, in words; None when it can (a
    SQLite file, or an empty file: SQLite makes a new database in it)."""
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return f"{path} does not exist."
    except IsADirectoryError:
        return f"{path} is a folder, not a database file."
    except PermissionError:
        return f"{path} cannot be read: permission denied."
    except OSError as error:
        return f"{path} cannot be read: {error.strerror}."
    if header and header != SQLITE_HEADER:
        return f"{path} is not a SQLite database."
    if not header:
        return None
    # Read-only, before any engine opens it: even switching its journal mode would write
    # into another program's file.
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as connection:
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = sorted(name for (name,) in rows)
    except sqlite3.DatabaseError as error:
        return f"{path} cannot be read as a SQLite database: {error}."
    if tables and "alembic_version" not in tables:
        return not_ours(str(path), tables)
    return None


__all__ = ["Database", "open_database", "sqlite_file_problem"]
