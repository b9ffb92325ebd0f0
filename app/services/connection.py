"""Opening the chosen database, for the GUI and the command line alike."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

from app.config import Settings, SettingsSource
from app.core.database import POSTGRES_CONNECT_TIMEOUT_S, Database, network_file_system
from app.core.files import make_private_folder
from app.services import migrations
from app.services.errors import DatabaseUnavailableError, translate_errors


def open_database(settings: Settings, *, echo: bool = False, read_only: bool = False) -> Database:
    """The Database for the chosen settings (nothing is connected yet): the default local
    file's folder is created; a saved file that is missing or not a database is refused in
    words; a file that cannot be written opens read-only, as does everything with
    ``read_only``, and another program's database unless the connection allows editing
    it. ``Database.notices`` says what
    the user should know about it (read-only by its permissions, on a network drive)."""
    settings = home_expanded(settings)
    path = settings.sqlite_path
    notices: list[str] = []
    read_only = read_only or settings.read_only
    # A server's schema is known once connected: editing another program's is allowed or not.
    edits_foreign = path is None and settings.allow_editing
    if path is not None:
        if settings.source is SettingsSource.DEFAULT:
            try:
                # The user's records: a folder only the user can enter.
                make_private_folder(path.parent)
            except OSError as error:
                raise DatabaseUnavailableError(
                    f"Cannot create the folder {path.parent} for the local database: "
                    f"{error.strerror}."
                ) from None
        elif settings.connection is not None:
            if not path.exists():
                raise DatabaseUnavailableError(
                    f"{path} does not exist: it may have been moved, renamed or deleted. "
                    "Choose the file again in File → Connections…, or make a new database "
                    "there with New…."
                )
            problem = sqlite_file_problem(path)
            if problem is not None:
                raise DatabaseUnavailableError(problem)
        if not read_only and path.exists() and another_programs_file(path):
            # Never migrated: browsed as its own schema describes it, and written only
            # where the user turned editing on for the connection.
            edits_foreign = settings.allow_editing
            read_only = not edits_foreign
        if not read_only and path.exists() and not writable(path):
            read_only = True
            notices.append(
                f"{path} cannot be written (its permissions, or its folder's, do not allow "
                "it): it is open read-only."
            )
        file_system = network_file_system(path)
        if file_system is not None:
            notices.append(
                f"{path} is on a network drive ({file_system}), where SQLite cannot share the "
                "file safely with other programs: it is opened without write-ahead logging, "
                "and several writers may have to wait for each other."
            )
    timeout = (
        settings.connection.connect_timeout_s
        if settings.connection is not None
        else POSTGRES_CONNECT_TIMEOUT_S
    )
    database = Database(
        settings.database_url,
        echo=echo,
        read_only=read_only,
        connect_timeout_s=timeout,
        edits_foreign=edits_foreign,
    )
    database.notices = tuple(notices)
    return database


def expanded_path(typed: str | Path) -> Path:
    """A file path as the user typed it, with ``~`` (or ``~user``) as the shell reads it;
    an unknown user's ``~name`` stays as it is, to be reported missing in words."""
    return Path(os.path.expanduser(typed))


def home_expanded(settings: Settings) -> Settings:
    """``settings`` opening the file they name with ``~`` expanded: a path typed in the
    Connections dialog or written in settings.json by hand (``--database-url`` comes
    expanded)."""
    path = settings.sqlite_path
    if path is None or not str(path).startswith("~"):
        return settings
    expanded = settings.database_url.set(database=str(expanded_path(path)))
    return replace(settings, database_url=expanded)


def writable(path: Path) -> bool:
    """Whether SQLite can write ``path``: the file, and its folder for the journal files."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


@dataclass(frozen=True)
class ConnectionReport:
    """What Test connection found: the server's version and the schema's state."""

    server: str
    schema: migrations.SchemaState | None  # None: a local file that does not exist yet

    @property
    def summary(self) -> str:
        state = self.schema
        if state is None:
            return "The file does not exist yet: Records Desk makes a new database there."
        if state.other_tables:
            count = len(state.other_tables)
            schema = (
                f"it holds another program's tables ({count:,}): they open read-only, as they are."
            )
        elif not state.known:
            schema = (
                f"its schema is newer than this Records Desk (revision {state.current}): "
                "update Records Desk to open it."
            )
        elif state.up_to_date:
            schema = "its schema is current."
        elif state.current is None:
            schema = "it is empty: Records Desk makes its tables when it opens it."
        else:
            schema = (
                f"its schema is behind (revision {state.current}; this Records Desk expects "
                f"{state.head}): it is upgraded when opened."
            )
        return f"Connected to {self.server}: {schema}"


async def check_connection(settings: Settings) -> ConnectionReport:
    """Connect once, within the connection's timeout, and report the server and schema;
    a DatabaseUnavailableError in words when that fails."""
    settings = home_expanded(settings)
    path = settings.sqlite_path
    if path is not None and not path.exists():
        if settings.connection is not None and settings.source is not SettingsSource.DEFAULT:
            open_database(settings)  # raises: a saved file that has gone
        return ConnectionReport(f"SQLite {sqlite3.sqlite_version}", None)
    database = open_database(settings)
    timeout = database.connect_timeout_s
    try:
        async with asyncio.timeout(timeout + 2):
            with translate_errors(database.url):
                async with database.engine.connect() as connection:
                    info = connection.dialect.server_version_info or ()
            schema = await migrations.schema_state(database)
    except TimeoutError:
        raise DatabaseUnavailableError(
            f"{database.display_name} did not answer within {timeout:g} seconds."
        ) from None
    finally:
        await database.dispose()
    version = ".".join(str(part) for part in info if isinstance(part, int))
    server = f"SQLite {version}" if database.is_sqlite else f"PostgreSQL {version}"
    return ConnectionReport(server, schema)


# The first 16 bytes of every SQLite 3 database file (sqlite.org/fileformat.html).
SQLITE_HEADER = b"SQLite format 3\x00"


def sqlite_file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be opened as a local database, in words; None when it can (a
    SQLite file, or an empty file: SQLite makes a new database in it)."""
    path = expanded_path(path).absolute()  # as_uri() below takes absolute paths only
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
    try:
        _tables_of(path)
    except sqlite3.DatabaseError as error:
        if "locked" in str(error) or "busy" in str(error):
            return f"{path} is busy: another program is writing to it. Try again in a moment."
        return f"{path} cannot be read as a SQLite database: {error}."
    return None


def another_programs_file(path: Path) -> bool:
    """Whether the SQLite file ``path`` holds another program's tables: tables, and no
    migrations of ours — none at all, or another program's own Alembic revision beside
    no table of ours. It opens read-only before anything (even a journal mode) is
    written to it. False when it cannot be read (said elsewhere)."""
    try:
        tables = _tables_of(expanded_path(path).absolute())
    except sqlite3.DatabaseError:
        return False
    if "alembic_version" not in tables:
        return bool(tables)
    from app.models import Base

    return set(tables) - {"alembic_version"} != set() and set(tables).isdisjoint(
        Base.metadata.tables
    )


def _tables_of(path: Path) -> list[str]:
    # Read-only, before any engine opens it: even switching its journal mode would write
    # into another program's file.
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return sorted(name for (name,) in rows)


__all__ = [
    "ConnectionReport",
    "Database",
    "another_programs_file",
    "check_connection",
    "expanded_path",
    "open_database",
    "sqlite_file_problem",
]
