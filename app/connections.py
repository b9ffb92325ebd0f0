"""Saved connections: the databases a user keeps, in the settings file, without passwords.

The settings file holds a JSON object: ``connections`` (a list), ``current`` (the id of the
one the next start opens) and ``recent_files``. An older file's ``database_url`` is turned
into a saved connection the first time it is read, its password moved to the keyring.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from app.config import (
    MAX_PORT,
    MIN_PORT,
    SettingsError,
    default_database_url,
    describe_url,
    parse_database_url,
    settings_file,
    sqlite_url,
)
from app.core.credentials import credentials

log = logging.getLogger(__name__)

DEFAULT_PORT = 5432
DEFAULT_CONNECT_TIMEOUT_S = 10
MIN_CONNECT_TIMEOUT_S, MAX_CONNECT_TIMEOUT_S = 1, 300
MAX_RECENT_FILES = 8
MAX_NAME_CHARS = 100
# The id of the connection to the local database in the user data folder.
LOCAL_CONNECTION_ID = "local"
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class ConnectionKind(StrEnum):
    FILE = "file"
    SERVER = "server"


class SslMode(StrEnum):
    """libpq's sslmode values, which asyncpg's ``ssl`` option takes as they are."""

    DISABLE = "disable"
    PREFER = "prefer"
    REQUIRE = "require"
    VERIFY_CA = "verify-ca"
    VERIFY_FULL = "verify-full"


class PasswordStorage(StrEnum):
    KEYRING = "keyring"  # saved in the system keyring (in memory only where there is none)
    ASK = "ask"  # asked for once per run, kept in memory only
    NONE = "none"  # the server needs none (trust, peer or certificate authentication)


@dataclass(frozen=True)
class SavedConnection:
    id: str
    name: str
    kind: ConnectionKind
    path: str = ""
    host: str = ""
    port: int = DEFAULT_PORT
    database: str = ""
    user: str = ""
    ssl_mode: SslMode = SslMode.PREFER
    connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S
    password_storage: PasswordStorage = PasswordStorage.KEYRING
    # "#rrggbb" shown in every window of this connection, or "" for none.
    colour: str = ""
    read_only: bool = False

    @property
    def is_file(self) -> bool:
        return self.kind is ConnectionKind.FILE

    @property
    def needs_password(self) -> bool:
        return not self.is_file and self.password_storage is not PasswordStorage.NONE

    def url(self, password: str | None = None) -> URL:
        """The database URL; the password only where one is given."""
        if self.is_file:
            return sqlite_url(Path(self.path))
        query: dict[str, str] = {}
        if self.ssl_mode is not SslMode.PREFER:
            query["ssl"] = self.ssl_mode.value
        return URL.create(
            "postgresql+asyncpg",
            username=self.user or None,
            password=password or None,
            host=self.host,
            port=self.port,
            database=self.database,
            query=query,
        )

    @property
    def description(self) -> str:
        """Where it leads, safe to show: never a password."""
        return describe_url(self.url())

    def problems(self) -> dict[str, str]:
        """What is wrong with it, by field; empty when it can be saved."""
        found: dict[str, str] = {}
        if not self.name.strip():
            found["name"] = "Give the connection a name."
        elif len(self.name) > MAX_NAME_CHARS:
            found["name"] = f"A name has at most {MAX_NAME_CHARS} characters."
        if self.colour and not _COLOUR.fullmatch(self.colour):
            found["colour"] = "A colour is written #rrggbb."
        if self.is_file:
            if not self.path.strip():
                found["path"] = "Choose the database file."
            elif "\x00" in self.path:
                found["path"] = "A file path cannot hold a NUL character."
            return found
        if not self.host.strip():
            found["host"] = "Give the server's host name or address."
        elif any(char.isspace() or char in "/@?#" for char in self.host.strip("[]")):
            found["host"] = "A host name holds no spaces and none of / @ ? #."
        if not MIN_PORT <= self.port <= MAX_PORT:
            found["port"] = f"The port is a whole number from {MIN_PORT} to {MAX_PORT}."
        if not self.database.strip():
            found["database"] = "Give the name of the database on the server."
        if not MIN_CONNECT_TIMEOUT_S <= self.connect_timeout_s <= MAX_CONNECT_TIMEOUT_S:
            found["connect_timeout_s"] = (
                f"The timeout is from {MIN_CONNECT_TIMEOUT_S} to {MAX_CONNECT_TIMEOUT_S} seconds."
            )
        for name in ("host", "database", "user"):
            if "\x00" in getattr(self, name):
                found[name] = "This cannot hold a NUL character."
        return found

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"id": self.id, "name": self.name, "kind": self.kind.value}
        if self.is_file:
            document["path"] = self.path
        else:
            document.update(
                host=self.host,
                port=self.port,
                database=self.database,
                user=self.user,
                ssl_mode=self.ssl_mode.value,
                connect_timeout_s=self.connect_timeout_s,
                password=self.password_storage.value,
            )
        document.update(colour=self.colour, read_only=self.read_only)
        return document

    @classmethod
    def from_json(cls, document: Any) -> SavedConnection:
        """One saved connection, or a SettingsError saying what is wrong with it."""
        if not isinstance(document, dict):
            raise SettingsError("each saved connection must be a JSON object")
        try:
            connection = cls(
                id=_text(document, "id"),
                name=_text(document, "name"),
                kind=ConnectionKind(_text(document, "kind")),
                path=_text(document, "path", ""),
                host=_text(document, "host", ""),
                port=_whole(document, "port", DEFAULT_PORT),
                database=_text(document, "database", ""),
                user=_text(document, "user", ""),
                ssl_mode=SslMode(_text(document, "ssl_mode", SslMode.PREFER.value)),
                connect_timeout_s=_whole(document, "connect_timeout_s", DEFAULT_CONNECT_TIMEOUT_S),
                password_storage=PasswordStorage(
                    _text(document, "password", PasswordStorage.KEYRING.value)
                ),
                colour=_text(document, "colour", ""),
                read_only=document.get("read_only", False) is True,
            )
        except ValueError as error:
            if isinstance(error, SettingsError):
                raise
            raise SettingsError(f"a saved connection has an unknown value ({error})") from None
        problems = connection.problems()
        if problems or not connection.id:
            what = "; ".join(problems.values()) or "it has no id"
            raise SettingsError(f"the saved connection {connection.name!r} is not valid: {what}")
        return connection


def _text(document: dict[str, Any], key: str, default: str | None = None) -> str:
    value = document.get(key, default)
    if not isinstance(value, str):
        raise SettingsError(f"'{key}' of a saved connection must be text")
    return value


def _whole(document: dict[str, Any], key: str, default: int) -> int:
    value = document.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"'{key}' of a saved connection must be a whole number")
    return value


def new_connection_id() -> str:
    return uuid.uuid4().hex


def local_connection() -> SavedConnection:
    """The local database in the user data folder: there on every machine."""
    return SavedConnection(
        id=LOCAL_CONNECTION_ID,
        name="Local database",
        kind=ConnectionKind.FILE,
        path=str(default_database_url().database),
    )


def file_connection(path: Path, *, name: str | None = None) -> SavedConnection:
    return SavedConnection(
        id=new_connection_id(), name=name or path.name, kind=ConnectionKind.FILE, path=str(path)
    )


@dataclass(frozen=True)
class SavedConnections:
    """Every saved connection (the local one first), the current one, and recent files."""

    connections: tuple[SavedConnection, ...] = field(default_factory=lambda: (local_connection(),))
    current: str = LOCAL_CONNECTION_ID
    recent_files: tuple[str, ...] = ()

    def find(self, connection_id: str) -> SavedConnection | None:
        return next((c for c in self.connections if c.id == connection_id), None)

    @property
    def current_connection(self) -> SavedConnection:
        return self.find(self.current) or self.connections[0]

    def name_taken(self, name: str, *, by_other_than: str) -> bool:
        wanted = name.strip().casefold()
        return any(
            c.name.strip().casefold() == wanted and c.id != by_other_than for c in self.connections
        )

    def with_connection(self, connection: SavedConnection) -> SavedConnections:
        """This list with ``connection`` added, or in place of the one with its id."""
        if self.find(connection.id) is None:
            return replace(self, connections=(*self.connections, connection))
        return replace(
            self,
            connections=tuple(connection if c.id == connection.id else c for c in self.connections),
        )

    def without(self, connection_id: str) -> SavedConnections:
        kept = tuple(c for c in self.connections if c.id != connection_id)
        if not kept:
            kept = (local_connection(),)
        current = self.current if any(c.id == self.current for c in kept) else kept[0].id
        return replace(self, connections=kept, current=current)

    def chosen(self, connection: SavedConnection) -> SavedConnections:
        """``connection`` saved and current; a file one also heads the recent files."""
        result = replace(self.with_connection(connection), current=connection.id)
        if connection.is_file:
            result = result.with_recent_file(connection.path)
        return result

    def with_recent_file(self, path: str) -> SavedConnections:
        recent = (path, *(p for p in self.recent_files if p != path))[:MAX_RECENT_FILES]
        return replace(self, recent_files=recent)

    def for_file(self, path: Path) -> SavedConnection:
        """The saved connection to the file ``path``, or a new one named after it."""
        wanted = str(path)
        found = next((c for c in self.connections if c.is_file and c.path == wanted), None)
        if found is not None:
            return found
        name, number = path.name, 2
        while self.name_taken(name, by_other_than=""):
            name, number = f"{path.name} ({number})", number + 1
        return file_connection(path, name=name)


def load_connections(path: Path | None = None) -> SavedConnections:
    """The saved connections; an older file's ``database_url`` becomes one (and the file is
    rewritten without it, the password moved to the keyring). A SettingsError when the file
    cannot be read."""
    path = path or settings_file()
    document = read_document(path)
    if "connections" not in document:
        legacy = document.get("database_url")
        if legacy is None:
            return SavedConnections()
        return _migrate_legacy(path, document, legacy)
    listed = document["connections"]
    if not isinstance(listed, list):
        raise SettingsError(f"{path}: 'connections' must be a list.")
    try:
        connections = tuple(SavedConnection.from_json(item) for item in listed)
    except SettingsError as error:
        raise SettingsError(f"{path}: {error}.") from None
    if len({c.id for c in connections}) != len(connections):
        raise SettingsError(f"{path}: two saved connections have the same id.")
    if not connections:
        connections = (local_connection(),)
    current = document.get("current")
    recent = document.get("recent_files", [])
    if not isinstance(recent, list) or not all(isinstance(p, str) for p in recent):
        raise SettingsError(f"{path}: 'recent_files' must be a list of file paths.")
    if not isinstance(current, str) or not any(c.id == current for c in connections):
        current = connections[0].id
    return SavedConnections(connections, current, tuple(recent[:MAX_RECENT_FILES]))


def save_connections(saved: SavedConnections, path: Path | None = None) -> Path:
    """Write the saved connections (never a password), keeping whatever else the file holds."""
    path = path or settings_file()
    document = read_document(path)
    document.pop("database_url", None)
    document["connections"] = [c.to_json() for c in saved.connections]
    document["current"] = saved.current
    document["recent_files"] = list(saved.recent_files)
    write_private(path, json.dumps(document, indent=2, ensure_ascii=False))
    return path


def _migrate_legacy(path: Path, document: dict[str, Any], legacy: Any) -> SavedConnections:
    if not isinstance(legacy, str):
        raise SettingsError(f"{path}: 'database_url' must be text.")
    try:
        url = parse_database_url(legacy)
    except SettingsError as error:
        raise SettingsError(f"{path}: {error}") from None
    connection = connection_from_url(url)
    if url.password:
        why_not = credentials().remember(connection.id, url.password, in_keyring=True)
        if why_not is not None:
            # Kept in memory for this run, asked for on later ones.
            connection = replace(connection, password_storage=PasswordStorage.ASK)
            log.warning("The saved password is kept for this run only: %s.", why_not)
    elif not connection.is_file:
        connection = replace(connection, password_storage=PasswordStorage.NONE)
    saved = SavedConnections().chosen(connection)
    try:
        save_connections(saved, path)
    except OSError as error:
        log.warning("Could not rewrite %s without its password: %s", path, error.strerror)
    return saved


def connection_from_url(url: URL, *, name: str | None = None) -> SavedConnection:
    """A saved connection (with a new id) that opens ``url``; its password is not kept."""
    if url.get_backend_name() == "sqlite":
        return file_connection(Path(url.database or ""), name=name)
    ssl = url.query.get("ssl") or url.query.get("sslmode") or SslMode.PREFER.value
    try:
        ssl_mode = SslMode(ssl if isinstance(ssl, str) else ssl[0])
    except ValueError:
        ssl_mode = SslMode.PREFER
    return SavedConnection(
        id=new_connection_id(),
        name=name or f"{url.database} on {url.host or 'localhost'}",
        kind=ConnectionKind.SERVER,
        host=url.host or "localhost",
        port=url.port or DEFAULT_PORT,
        database=url.database or "",
        user=url.username or "",
        ssl_mode=ssl_mode,
    )


def read_document(path: Path) -> dict[str, Any]:
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


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole (through a temporary file), readable by the user
    alone from the first byte: a file made readable and chmod'ed afterwards can be read in
    between."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    temporary.replace(path)
