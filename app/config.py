"""Which database Records Desk opens, and where its files live.

The choice is made in this order: ``--database-url`` on the command line, the
``RECORDS_DESK_DATABASE_URL`` environment variable, the saved settings file in the user
config folder, and finally a local SQLite file in the user data folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

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


def config_dir() -> Path:
    return platformdirs.user_config_path(APP_NAME, appauthor=False)


def data_dir() -> Path:
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


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
    # URL.create keeps '@', '#' or '/' in a password intact; string formatting would not.
    return URL.create(
        "postgresql+asyncpg",
        username=username or None,
        password=password or None,
        host=host,
        port=port,
        database=database,
    )


def parse_database_url(text: str) -> URL:
    """Turn what a user typed into a URL for one of the supported async drivers."""
    stripped = text.strip()
    if not stripped:
        raise SettingsError("The database URL is empty.")
    try:
        url = make_url(stripped)
    except (ArgumentError, ValueError):
        raise SettingsError(
            "The database URL is not valid; expected sqlite:///path/to/file.db "
            "or postgresql://user@host:port/database."
        ) from None
    backend = url.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise SettingsError(f"Records Desk opens SQLite or PostgreSQL databases, not {backend!r}.")
    wanted = _ASYNC_DRIVERS[backend]
    if url.drivername not in (backend, wanted):
        raise SettingsError(
            f"The driver {url.get_driver_name()!r} is not supported; "
            f"use {backend}:// or {wanted}://."
        )
    url = url.set(drivername=wanted)
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise SettingsError(
                "A SQLite database URL needs a file path: sqlite:///path/to/file.db."
            )
        url = url.set(database=str(Path(url.database).expanduser().absolute()))
    elif not url.database:
        raise SettingsError("A PostgreSQL database URL needs a database name after the host.")
    return url


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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        return Path(self.database_url.database or "") if self.is_sqlite else None

    @property
    def display_name(self) -> str:
        return describe_url(self.database_url)


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
    saved = _read_saved_url()
    if saved is not None:
        return Settings(saved, SettingsSource.SETTINGS_FILE)
    return Settings(default_database_url(), SettingsSource.DEFAULT)


def save_database_url(url: URL) -> Path:
    """Remember the database choice; the file is private because it may hold a password."""
    path = settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    document = _read_document(path)
    document["database_url"] = url.render_as_string(hide_password=False)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2), encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(path)
    return path


def _read_saved_url() -> URL | None:
    path = settings_file()
    document = _read_document(path)
    value = document.get("database_url")
    if value is None:
        return None
    if not isinstance(value, str):
        raise SettingsError(f"{path}: 'database_url' must be text.")
    try:
        return parse_database_url(value)
    except SettingsError as error:
        raise SettingsError(f"{path}: {error}") from None


def _read_document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise SettingsError(f"Cannot read the settings file {path}: {error.strerror}.") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise SettingsError(
            f"The settings file {path} is not valid JSON (line {error.lineno}); fix or delete it."
        ) from None
    if not isinstance(document, dict):
        raise SettingsError(f"The settings file {path} must hold a JSON object.")
    return document
