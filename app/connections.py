"""Saved connections: the databases a user keeps, in the settings file, without passwords.

The settings file holds a JSON object: ``connections`` (a list), ``current`` (the id of the
one the next start opens) and ``recent_files``. An older file's ``database_url`` is turned
into a saved connection the first time it is read, its password moved to the keyring.

A file that cannot be read (not UTF-8, not JSON, nested too deeply, too big) is a
SettingsError and is never written over. Two running copies may save at once: each save
takes a lock, reads the file again and merges its own changes into what the other wrote.
"""

from __future__ import annotations

import json
import logging
import re
import stat
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
from app.core.files import locked, write_private

log = logging.getLogger(__name__)

DEFAULT_PORT = 5432
DEFAULT_CONNECT_TIMEOUT_S = 10
MIN_CONNECT_TIMEOUT_S, MAX_CONNECT_TIMEOUT_S = 1, 300
MAX_RECENT_FILES = 8
# The settings file's format, written in it: a file without one is older (format 0: a
# bare database_url, or connections as the first Connections dialog wrote them) and is
# read as it always was; one of a newer format is refused in words, never written over.
SETTINGS_FORMAT = 1
MAX_NAME_CHARS = 100
# A settings file holds a few kilobytes; a larger one is not ours, and is not read into memory.
MAX_SETTINGS_BYTES = 1_000_000
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
    # Another program's database (not our schema) may be edited: off, it opens read-only.
    allow_editing: bool = False

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
        if self.allow_editing:
            document["allow_editing"] = True
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
                allow_editing=document.get("allow_editing", False) is True,
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
    # What the settings file held when this list was read, shared by every list made from
    # it: a save tells the changes made here from another running copy's by comparing.
    known: KnownFile = field(default_factory=lambda: KnownFile(), compare=False, repr=False)

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
    _check_format(path, document)
    if "connections" not in document:
        legacy = document.get("database_url")
        if legacy is None:
            return _known(SavedConnections())
        return _migrate_legacy(path, document, legacy)
    return _known(_connections_in(path, document))


class KnownFile:
    """The settings file as a line of lists made from one list knows it: what was read
    (nothing for a list made in memory), then what each save from that line asked for.
    Shared along the line (``replace`` keeps it) and brought up to date by
    ``save_connections``, so that the second save of a dialog kept open (which removes a
    connection its first save added) is not taken for a copy that never saw the first."""

    def __init__(self, connections: SavedConnections | None = None) -> None:
        self.connections = connections


def _known(saved: SavedConnections) -> SavedConnections:
    return replace(saved, known=KnownFile(saved))


def _connections_in(path: Path, document: dict[str, Any]) -> SavedConnections:
    if "connections" not in document:
        return SavedConnections()
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
    """Write the saved connections (never a password), keeping whatever else the file holds
    and whatever another running copy saved since ``saved`` was read (``merged``)."""
    path = path or settings_file()
    with locked(path):
        document = read_document(path)
        _check_format(path, document)
        # A list the file holds but that cannot be read is refused, never written over.
        written = merged(saved, _connections_in(path, document))
        document.pop("database_url", None)
        document["connections"] = [c.to_json() for c in written.connections]
        document["current"] = written.current
        document["recent_files"] = list(written.recent_files)
        document["format"] = SETTINGS_FORMAT
        write_private(path, _encoded(document))
    # What this line asked for, not what was written: a connection another copy added
    # meanwhile stays one this line never saw, and so never removed.
    saved.known.connections = saved
    return path


def merged(ours: SavedConnections, theirs: SavedConnections) -> SavedConnections:
    """``theirs`` (the file now) with the changes made in ``ours`` since it was read
    (``ours.known``): a connection added, edited or removed here wins; one added, edited
    or removed by another copy meanwhile and untouched here is kept as that copy left it.
    A list made in memory (read from nothing) counts all of its connections as changes."""
    base = ours.known.connections
    before = {c.id: c for c in base.connections} if base is not None else {}
    now = {c.id: c for c in theirs.connections}
    here = {c.id for c in ours.connections}
    connections: list[SavedConnection] = []
    for connection in ours.connections:
        if before.get(connection.id) != connection:
            connections.append(connection)  # added or changed here
        elif connection.id in now:
            connections.append(now[connection.id])  # as the other copy has it
    connections += [c for c in theirs.connections if c.id not in before and c.id not in here]
    if not connections:
        connections = [local_connection()]
    ids = {c.id for c in connections}
    # Removing the current connection here picks another by itself: not a choice to keep
    # over one the other copy made.
    chosen_here = base is None or (ours.current != base.current and base.current in here)
    current = ours.current if chosen_here else theirs.current
    if current not in ids:
        current = ours.current if ours.current in ids else connections[0].id
    if base is not None and ours.recent_files == base.recent_files:
        recent = theirs.recent_files
    else:
        forgotten = set(base.recent_files) if base is not None else set()
        recent = ours.recent_files + tuple(
            p for p in theirs.recent_files if p not in ours.recent_files and p not in forgotten
        )
    return SavedConnections(tuple(connections), current, recent[:MAX_RECENT_FILES])


def _check_format(path: Path, document: dict[str, Any]) -> None:
    found = document.get("format", 0)
    if not isinstance(found, int) or isinstance(found, bool):
        raise SettingsError(f"{path}: 'format' must be a whole number.")
    if found > SETTINGS_FORMAT:
        raise SettingsError(
            f"{path} was written by a newer Records Desk (format {found}): update Records "
            "Desk to use it; it is left as it is."
        )


def _encoded(document: dict[str, Any]) -> bytes:
    try:
        return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # A path that is not valid Unicode (a Linux file name in another encoding) has no
        # UTF-8 form; JSON's escapes keep it, and the file stays UTF-8.
        return json.dumps(document, indent=2).encode("ascii")


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
    return _known(saved)


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
    """The JSON object the settings file holds ({} when there is none), or a SettingsError
    in words: the file is left as it is for the user to fix."""
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            raise SettingsError(f"The settings file {path} is not a file; move it away.")
        if status.st_size > MAX_SETTINGS_BYTES:
            raise SettingsError(_too_big(path))
        with path.open("rb") as file:
            data = file.read(MAX_SETTINGS_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise SettingsError(f"Cannot read the settings file {path}: {error.strerror}.") from None
    if len(data) > MAX_SETTINGS_BYTES:  # it grew since it was looked at
        raise SettingsError(_too_big(path))
    try:
        # utf-8-sig: a byte order mark, as some Windows editors add, is not an error.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SettingsError(
            f"The settings file {path} is not UTF-8 text (byte {error.start + 1} is not); "
            "fix or delete it."
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise SettingsError(
            f"The settings file {path} is not valid JSON (line {error.lineno}); fix or delete it."
        ) from None
    except RecursionError:
        raise SettingsError(
            f"The settings file {path} is nested too deeply to be settings; fix or delete it."
        ) from None
    except ValueError:  # a number of thousands of digits, which int() refuses
        raise SettingsError(
            f"The settings file {path} holds a number too long to read; fix or delete it."
        ) from None
    if not isinstance(document, dict):
        raise SettingsError(f"The settings file {path} must hold a JSON object.")
    return document


def _too_big(path: Path) -> str:
    megabytes = MAX_SETTINGS_BYTES // 1_000_000
    return (
        f"The settings file {path} is larger than {megabytes} MB, far more than settings "
        "take; move it away or delete it."
    )
