"""Which database Records Desk opens, and where its files live.

The choice is made in this order: ``--database-url`` on the command line, the
``RECORDS_DESK_DATABASE_URL`` environment variable, the current saved connection in the
settings file of the user config folder (app.connections), and finally a local SQLite file in
the user data folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote

import platformdirs
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from app.connections import SavedConnection

APP_NAME = "records-desk"
ENV_DATABASE_URL = "RECORDS_DESK_DATABASE_URL"
SETTINGS_FILE_NAME = "settings.json"
DEFAULT_DATABASE_FILE_NAME = "records.db"

# The async drivers the app ships with; plain dialect names are mapped onto them.
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


class SettingsError(ValueError):
    """A settings value the user gave cannot be used; the message says why in words."""


class SettingsSource(StrEnum):
    COMMAND_LINE = "command line"
    ENVIRONMENT = "environment"
    SETTINGS_FILE = "settings file"
    DEFAULT = "default"


# Set by use_folders_under(): every folder of the user's below one root (the smoke test's
# throwaway folder), on every OS alike; None means the OS's own places (platformdirs).
_folders_root: Path | None = None


def use_folders_under(root: Path | None) -> None:
    """Keep settings, data and logs under ``root`` (config/, data/, log/) from now on, or
    in the user's own folders again with None."""
    global _folders_root
    _folders_root = root


def config_dir() -> Path:
    if _folders_root is not None:
        return _folders_root / "config"
    return platformdirs.user_config_path(APP_NAME, appauthor=False)


def state_dir() -> Path:
    """Where the session's journal is kept (what to restore after a crash)."""
    if _folders_root is not None:
        return _folders_root / "state"
    return platformdirs.user_state_path(APP_NAME, appauthor=False)


def data_dir() -> Path:
    if _folders_root is not None:
        return _folders_root / "data"
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def log_dir() -> Path:
    if _folders_root is not None:
        return _folders_root / "log"
    return platformdirs.user_log_path(APP_NAME, appauthor=False)


def settings_file() -> Path:
    return config_dir() / SETTINGS_FILE_NAME


def default_database_url() -> URL:
    return sqlite_url(data_dir() / DEFAULT_DATABASE_FILE_NAME)


def sqlite_url(path: Path) -> URL:
    return URL.create("sqlite+aiosqlite", database=str(path))


def postgresql_url(
    *,
    host: str,
    database: str,
    username: str | None = None,
    password: str | None = None,
    port: int | None = None,
) -> URL:
    if port is not None and not MIN_PORT <= port <= MAX_PORT:
        raise SettingsError(_BAD_PORT)
    # URL.create keeps '@', '#' or '/' in a password intact; string formatting would not.
    return URL.create(
        "postgresql+asyncpg",
        username=username or None,
        password=password or None,
        host=host,
        port=port,
        database=database,
    )


MIN_PORT, MAX_PORT = 1, 65_535

# Said instead of echoing anything of a URL that cannot be read unambiguously: the part that
# looks like a host or a database name may well be the end of a password.
UNREADABLE_URL = (
    "The database URL cannot be read. In a user name, password or database name, write "
    "each @ # % / ? : as a percent-escape: @ is %40, # is %23, % is %25, / is %2F, ? is %3F "
    "and : is %3A (postgresql://me:Rz%40%237@db.example.org:5432/shop, for example)."
)
_BAD_PORT = f"The port in the database URL must be a whole number from {MIN_PORT} to {MAX_PORT}."

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+]*)://(.*)", re.DOTALL)
# A '%' that does not start a two-digit escape: a literal '%' the user meant as such.
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# What a host may hold before unquoting: a name or address, or a percent-encoded socket folder.
_HOST = re.compile(r"[A-Za-z0-9._~%-]*")
_IPV6 = re.compile(r"\[[0-9A-Fa-f:.]+\]")
_SIGNED_DIGITS = re.compile(r"-?[0-9]+")


def parse_database_url(text: str) -> URL:
    """Turn what a user typed into a URL for one of the supported async drivers.

    A PostgreSQL URL is read strictly: where a character could belong to the password or to
    what follows it, the URL is refused in words that echo none of it.
    """
    stripped = text.strip()
    if not stripped:
        raise SettingsError("The database URL is empty.")
    match = _SCHEME.fullmatch(stripped)
    if match is None:
        raise SettingsError(
            "The database URL is not valid; expected sqlite:///path/to/file.db "
            "or postgresql://user@host:port/database."
        )
    scheme, rest = match.groups()
    # The scheme is letters, digits and '+' only, so naming it cannot reveal a secret.
    backend, _, driver = scheme.partition("+")
    if backend not in _ASYNC_DRIVERS:
        raise SettingsError(f"Records Desk opens SQLite or PostgreSQL databases, not {backend!r}.")
    wanted = _ASYNC_DRIVERS[backend]
    if scheme not in (backend, wanted):
        raise SettingsError(
            f"The driver {driver!r} is not supported; use {backend}:// or {wanted}://."
        )
    if backend == "sqlite":
        return _sqlite_from_text(stripped, wanted)
    return _postgresql_from_text(rest)


def _sqlite_from_text(text: str, drivername: str) -> URL:
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise SettingsError(
            "The database URL is not valid; expected sqlite:///path/to/file.db."
        ) from None
    if not url.database or url.database == ":memory:":
        raise SettingsError("A SQLite database URL needs a file path: sqlite:///path/to/file.db.")
    # os.path.expanduser leaves an unknown user's ~name as it is (Path.expanduser raises).
    path = Path(os.path.expanduser(url.database)).absolute()
    return url.set(drivername=drivername, database=str(path))


def _postgresql_from_text(rest: str) -> URL:
    """user:password@host:port/database?query, split the way RFC 3986 splits it.

    SQLAlchemy's own parser guesses where an unencoded '@' or '/' ends a password (and
    guesses differently from asyncpg and libpq); this refuses whatever it would have to guess.
    """
    if "#" in rest or _LONE_PERCENT.search(rest):
        raise SettingsError(UNREADABLE_URL)
    end = next((index for index, char in enumerate(rest) if char in "/?"), len(rest))
    authority, tail = rest[:end], rest[end:]
    # A second '@', or one after the host, means a password (or name) holds an '@' or '/'.
    if authority.count("@") > 1 or "@" in tail:
        raise SettingsError(UNREADABLE_URL)
    userinfo, at, host_and_port = authority.rpartition("@")
    username, colon, password = userinfo.partition(":") if at else ("", "", "")
    host, port = _host_and_port(host_and_port)
    path, _, query = tail.partition("?")
    database = path.removeprefix("/")
    if "/" in database:
        raise SettingsError(UNREADABLE_URL)
    if not database:
        raise SettingsError("A PostgreSQL database URL needs a database name after the host.")
    options: dict[str, str | list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        previous = options.get(key)
        if previous is None:
            options[key] = value
        else:
            options[key] = [*([previous] if isinstance(previous, str) else previous), value]
    return URL.create(
        "postgresql+asyncpg",
        username=unquote(username) or None,
        password=unquote(password) if colon and password else None,
        host=unquote(host) or None,
        port=port,
        database=unquote(database),
        query=options,
    )


def _host_and_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        close = text.find("]") + 1
        host, after = text[:close], text[close:]
        if not close or not _IPV6.fullmatch(host) or (after and not after.startswith(":")):
            raise SettingsError(UNREADABLE_URL)
        host, port_text = host[1:-1], after[1:]
    else:
        host, _, port_text = text.partition(":")
        if not _HOST.fullmatch(host):
            raise SettingsError(UNREADABLE_URL)
    if not port_text:
        return host, None
    if not _SIGNED_DIGITS.fullmatch(port_text):
        # Not a number at all: most likely the middle of a password with a '/' or '?' in it.
        raise SettingsError(UNREADABLE_URL)
    port = int(port_text)
    if not MIN_PORT <= port <= MAX_PORT:
        raise SettingsError(_BAD_PORT)
    return host, port


def describe_url(url: URL) -> str:
    """A name for the database that is safe to show or log: never the password."""
    if url.get_backend_name() == "sqlite":
        return f"SQLite file {url.database}"
    # URL.set() ignores None, so the password is left out by rebuilding the URL.
    without_password = URL.create(
        url.drivername, username=url.username, host=url.host, port=url.port, database=url.database
    )
    shown = without_password.render_as_string(hide_password=False)
    return f"PostgreSQL {shown.split('://', 1)[1]}"


@dataclass(frozen=True)
class Settings:
    database_url: URL
    source: SettingsSource
    # The saved connection chosen (settings file, or the Connections dialog), if one was.
    connection: SavedConnection | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        return Path(self.database_url.database or "") if self.is_sqlite else None

    @property
    def display_name(self) -> str:
        return describe_url(self.database_url)

    @property
    def read_only(self) -> bool:
        return self.connection is not None and self.connection.read_only

    @property
    def allow_editing(self) -> bool:
        """Whether another program's database behind these settings may be written (the
        connection's choice; without one it opens read-only)."""
        return (
            self.connection is not None
            and self.connection.allow_editing
            and not self.connection.read_only
        )

    @property
    def password_missing(self) -> bool:
        """A saved server connection that wants a password not known yet this run."""
        return (
            self.connection is not None
            and self.connection.needs_password
            and not self.database_url.password
        )


def load_settings(
    cli_database_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve the database to open; raises SettingsError with a readable reason."""
    env = os.environ if environ is None else environ
    if cli_database_url is not None:
        return Settings(parse_database_url(cli_database_url), SettingsSource.COMMAND_LINE)
    if env.get(ENV_DATABASE_URL):
        try:
            url = parse_database_url(env[ENV_DATABASE_URL])
        except SettingsError as error:
            raise SettingsError(f"{ENV_DATABASE_URL}: {error}") from None
        return Settings(url, SettingsSource.ENVIRONMENT)
    from app.connections import LOCAL_CONNECTION_ID, load_connections

    saved = load_connections()
    connection = saved.current_connection
    source = (
        SettingsSource.DEFAULT
        if connection.id == LOCAL_CONNECTION_ID
        and connection.path == str(default_database_url().database)
        else SettingsSource.SETTINGS_FILE
    )
    return settings_for(connection, source)


def settings_for(
    connection: SavedConnection, source: SettingsSource = SettingsSource.SETTINGS_FILE
) -> Settings:
    """Settings that open the saved ``connection``, with its password where one is known."""
    from app.core.credentials import credentials

    password = credentials().get(connection.id) if connection.needs_password else None
    return Settings(connection.url(password), source, connection)
