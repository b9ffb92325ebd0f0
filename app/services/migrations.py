"""Schema migrations from inside the app: upgrade, downgrade, and the startup check.

The app hands Alembic an open connection (Alembic's "connection sharing" recipe), so the
same env.py serves both the ``alembic`` command and Records Desk.

One migration at a time per database, across processes: a second ``records-desk migrate``
(or a window opening a file being upgraded) waits for the first, says that it waits, and
then finds the schema where the first left it. The lock is the database's own: SQLite's
write lock (``BEGIN IMMEDIATE``), a PostgreSQL advisory lock held by the transaction.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.database import SQLITE_BEGIN_OPTION, SQLITE_BUSY_TIMEOUT_MS, Database
from app.core.files import create_private
from app.repositories import search
from app.services import empty_database
from app.services.errors import (
    DatabaseOutdatedError,
    DatabaseTooNewError,
    DatabaseUnavailableError,
    ForeignDatabaseError,
    ValidationError,
    not_ours,
    translate_errors,
)

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

# The newest revision in alembic/versions (a test keeps the two equal). A start on a
# database already there reads its revision with one query and never loads Alembic, which
# costs a start about 90 ms of imports; only an upgrade (or the CLI) does.
HEAD_REVISION = "7b1d9e2f4c60"

# pg_advisory_xact_lock key of "a Records Desk migration runs": any fixed number that no
# other advisory lock of ours uses. Advisory locks are per database, as is the migration.
POSTGRES_MIGRATION_LOCK = 0x5245_4344_4D49_4752  # "RECDMIGR"
# How often a waiting migration tries the lock again; a cancelled wait ends within this.
LOCK_RETRY_S = 0.2
# Revision ids are hex; shorter prefixes than this are too easily a typo that matches.
MIN_REVISION_PREFIX = 4

Waiting = Callable[[str], None]


def install_dir() -> Path:
    """Where alembic/ lives: the project folder, or the unpacked bundle when frozen."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) if bundle else Path(__file__).resolve().parents[2]


def empty_database_script() -> Path:
    """The script a first start runs to make the local database (app/services/empty_database.py)."""
    return empty_database.script_path(install_dir())


def start_from_script(path: Path) -> bool:
    """Make the local database ``path``, which does not exist yet, from the empty database's
    script: a first start then loads no Alembic and runs no revision (about a quarter of a
    second of a first start). False, with nothing changed, when that cannot be done: the
    migrations make the database then."""
    return empty_database.make_from_script(path, empty_database_script(), HEAD_REVISION)


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(install_dir() / "alembic"))
    return config


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str
    known: bool
    # With no revision recorded: the tables already there (another program's database).
    other_tables: tuple[str, ...] = ()
    # The copy prepare_for_use made of a local file before upgrading it.
    backup: Path | None = None

    @property
    def behind(self) -> bool:
        return self.known and not self.up_to_date

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


async def schema_state(database: Database) -> SchemaState:
    with translate_errors(database.url):
        async with database.engine.connect() as connection:
            return await connection.run_sync(_schema_state)


@dataclass(frozen=True)
class Upgrade:
    """The schema before and after an upgrade, both read while holding the migration lock."""

    before: SchemaState
    after: SchemaState


@functools.cache
def script_directory() -> ScriptDirectory:
    """The migrations this code carries, read once: they cannot change while it runs."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def resolve_revision(revision: str) -> str:
    """The revision id that ``revision`` names: ``head``, or a revision id or a prefix of one
    (at least four characters, and matching only one). Else a ValidationError in words."""
    script = script_directory()
    if revision == "head":
        head = script.get_current_head()
        assert head is not None, "the alembic/versions folder has no revisions"
        return head
    known = [script_revision.revision for script_revision in script.walk_revisions()]
    matches = [known_id for known_id in known if revision and known_id.startswith(revision)]
    choices = ", ".join(reversed(known))
    if matches and len(revision) < MIN_REVISION_PREFIX:
        raise ValidationError(
            f"Give at least {MIN_REVISION_PREFIX} characters of a schema revision, "
            f"not {revision!r} ({choices})."
        )
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ValidationError(
            f"{revision!r} is the start of more than one schema revision; give more of it "
            f"({choices})."
        )
    raise ValidationError(
        f"There is no schema revision {revision!r}; use head or one of {choices}."
    )


async def upgrade(
    database: Database, revision: str = "head", *, waiting: Waiting | None = None
) -> SchemaState:
    """Bring the schema to ``revision``; a database newer than the code is refused.

    Waits for a migration of the same database running elsewhere; ``waiting`` is told so.
    """
    return (await upgrade_with_report(database, revision, waiting=waiting)).after


async def upgrade_with_report(
    database: Database, revision: str = "head", *, waiting: Waiting | None = None
) -> Upgrade:
    """``upgrade``, telling also what the schema was once this migration had its turn."""
    target = resolve_revision(revision)
    async with _migration_lock(database, waiting) as connection:
        before = await connection.run_sync(_schema_state)
        if before.other_tables:
            raise _foreign(database, before)
        if not before.known:
            raise _too_new(database, before)
        await connection.run_sync(_alembic, lambda config: _command().upgrade(config, target))
        after = await connection.run_sync(_schema_state)
    return Upgrade(before=before, after=after)


async def downgrade(
    database: Database, revision: str, *, waiting: Waiting | None = None
) -> SchemaState:
    async with _migration_lock(database, waiting) as connection:
        await connection.run_sync(_alembic, lambda config: _command().downgrade(config, revision))
        return await connection.run_sync(_schema_state)


async def prepare_for_use(database: Database, *, waiting: Waiting | None = None) -> SchemaState:
    """What the app does before opening a window on a database.

    A local SQLite file is upgraded to head (after any migration of it running elsewhere,
    which ``waiting`` hears about); one that already holds data is first backed up beside
    itself, and ``waiting`` is told where. A server is left as it is — it may be shared —
    and must already be at head: ``records-desk migrate`` (or the app, once the user
    agrees) upgrades it. A read-only connection is never upgraded: one behind the code is
    returned as it is, to be browsed meanwhile. Another program's database is refused
    (ForeignDatabaseError) unless the connection is read-only: then it is described from
    its own schema (``Database.catalog``, app/services/reflection.py) and nothing is
    written to it.
    """
    local_file = _local_file(database)
    if local_file is not None and not database.read_only and not database.edits_foreign:
        await asyncio.to_thread(start_from_script, local_file)
    state = await schema_state(database)
    if state.other_tables:
        # Upgrading would write forty tables of ours into another program's database: a
        # file or a server alike. Read-only (or with editing allowed), it is browsed as
        # its schema describes it.
        if not database.read_only and not database.edits_foreign:
            raise _foreign(database, state)
        from app.services.reflection import reflect_catalog

        database.catalog = await reflect_catalog(database)
        if database.edits_foreign:
            notice = (
                f"{database.display_name} is another program's database, open for editing: "
                "each save changes only the fields edited, and only if nobody changed the "
                "row meanwhile. Nothing else in it is changed."
            )
        else:
            notice = (
                f"{database.display_name} is another program's database: it is open "
                "read-only, and nothing in it is changed. Allow editing it in File → "
                "Connections…."
            )
        database.notices = (*database.notices, notice)
        return state
    if not state.known:
        raise _too_new(database, state)
    if state.up_to_date:
        return state
    if database.read_only:
        if state.current is None:
            raise DatabaseOutdatedError(
                f"{database.display_name} holds no Records Desk tables yet, and the connection "
                "is read-only, so they cannot be made."
            )
        return state
    if local_file is not None:
        if state.current is not None:
            backup = await asyncio.to_thread(back_up, local_file, state.current)
            log.info("backed up %s to %s before upgrading it", local_file, backup)
            if waiting is not None:
                waiting(f"backed up to {backup.name}; upgrading the schema")
            upgraded = await upgrade(database, waiting=waiting)
            return dataclasses.replace(upgraded, backup=backup)
        return await upgrade(database, waiting=waiting)
    raise DatabaseOutdatedError(
        f"{database.display_name} has an older schema than this Records Desk "
        f"(revision {state.current or 'none'}, expected {state.head}). "
        "Run `records-desk migrate` against it first."
    )


def back_up(path: Path, revision: str) -> Path:
    """A consistent copy of the SQLite file ``path`` beside it, named for its revision and
    the moment (SQLite's online backup: safe while another program has it open)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    suffix = path.suffix or ".db"
    target = path.with_name(f"{path.stem}.backup-{revision}-{stamp}{suffix}")
    number = 2
    try:
        while True:
            try:
                # The user's records: readable by the user alone from the first byte, and
                # made here (O_EXCL), never a file that happens to have the name already.
                create_private(target)
                break
            except FileExistsError:
                target = path.with_name(f"{path.stem}.backup-{revision}-{stamp}-{number}{suffix}")
                number += 1
    except OSError as error:
        raise DatabaseUnavailableError(
            f"{path} was not upgraded: a backup of it could not be made beside it "
            f"({error.strerror or error})."
        ) from None
    try:
        with (
            closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as source,
            closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)
    except (sqlite3.Error, OSError) as error:
        target.unlink(missing_ok=True)
        raise DatabaseUnavailableError(
            f"{path} was not upgraded: a backup of it could not be made beside it ({error})."
        ) from None
    return target


def _local_file(database: Database) -> Path | None:
    """The file of a local database (None for a server or an in-memory database)."""
    name = database.url.database
    if not database.is_sqlite or not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def _foreign(database: Database, state: SchemaState) -> ForeignDatabaseError:
    return ForeignDatabaseError(
        not_ours(database.display_name, state.other_tables, server=not database.is_sqlite)
    )


def _too_new(database: Database, state: SchemaState) -> DatabaseTooNewError:
    return DatabaseTooNewError(
        f"{database.display_name} was upgraded by a newer Records Desk "
        f"(schema revision {state.current}). Update Records Desk to open it."
    )


def _schema_state(connection: Connection) -> SchemaState:
    recorded = _recorded_revisions(connection)
    if recorded == [HEAD_REVISION]:
        return SchemaState(current=HEAD_REVISION, head=HEAD_REVISION, known=True)
    from alembic.runtime.migration import MigrationContext
    from alembic.util.exc import CommandError

    script = script_directory()
    head = script.get_current_head()
    assert head is not None, "the alembic/versions folder has no revisions"
    current = MigrationContext.configure(connection).get_current_revision()
    try:
        known = current is None or script.get_revision(current) is not None
    except CommandError:
        known = False
    other: tuple[str, ...] = ()
    if current is None or not known:
        other = _other_programs_tables(connection, current)
    return SchemaState(current=current, head=head, known=known, other_tables=other)


# Where a PostgreSQL server keeps its own tables, not a program's.
_SYSTEM_SCHEMAS = ("information_schema", "pg_")


def _other_programs_tables(connection: Connection, current: str | None) -> tuple[str, ...]:
    """The tables that make a database without a revision of ours another program's: all
    of them, in every schema (ours would be written beside them). None for an empty
    database, or one of ours downgraded to its base (an empty alembic_version)."""
    from app.models import Base

    inspector = inspect(connection)
    if connection.dialect.name == "sqlite":
        names = list(inspector.get_table_names())
    else:
        default = inspector.default_schema_name
        names = [
            table if schema == default else f"{schema}.{table}"
            for schema in inspector.get_schema_names()
            if not schema.startswith(_SYSTEM_SCHEMAS)
            for table in inspector.get_table_names(schema=schema)
        ]
    if current is None:
        ours = "alembic_version" in names
    else:
        # A revision this code does not know: a newer Records Desk's database holds our
        # tables; another program's may well use Alembic too.
        ours = not set(Base.metadata.tables).isdisjoint(names)
    return () if ours else tuple(sorted(names))


def _command() -> ModuleType:
    from alembic import command

    return command


def _recorded_revisions(connection: Connection) -> list[str]:
    """What alembic_version holds (none when the table is not there), read as Alembic
    reads it, without Alembic."""
    if not inspect(connection).has_table("alembic_version"):
        return []
    rows = connection.execute(text("SELECT version_num FROM alembic_version"))
    return [str(row[0]) for row in rows]


def _alembic(connection: Connection, operation: Callable[[Config], None]) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    operation(config)


@asynccontextmanager
async def _migration_lock(
    database: Database, waiting: Waiting | None
) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that holds the database's migration lock; committed
    when the block succeeds. Tries without blocking, and between tries sleeps on the event
    loop, so a wait can be cancelled (the GUI's progress window) and is reported once."""
    announced = False
    with translate_errors(database.url):
        while True:
            async with database.engine.connect() as connection:
                if await connection.run_sync(_try_lock, database.is_sqlite):
                    try:
                        yield connection
                    except BaseException:
                        await connection.rollback()
                        raise
                    await connection.commit()
                    # The search looks up which of its index tables exist once per database.
                    search.forget(database.url)
                    return
            if not announced:
                announced = True
                message = f"waiting for another migration of {database.display_name} to finish"
                if database.is_sqlite:
                    message += " (or another program to stop writing to it)"
                log.info("%s", message)
                if waiting is not None:
                    waiting(message)
            await asyncio.sleep(LOCK_RETRY_S)


def _try_lock(connection: Connection, is_sqlite: bool) -> bool:
    """Begin the connection's transaction holding the migration lock, or False (with no
    transaction) when someone else holds it."""
    if is_sqlite:
        return _try_sqlite_write_lock(connection)
    transaction = connection.begin()
    if connection.scalar(select(func.pg_try_advisory_xact_lock(POSTGRES_MIGRATION_LOCK))):
        return True
    transaction.rollback()
    return False


def _try_sqlite_write_lock(connection: Connection) -> bool:
    # The busy timeout would make BEGIN IMMEDIATE wait in the driver's thread, where the
    # wait can be neither reported nor cancelled: try once, and wait in _migration_lock.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute("PRAGMA busy_timeout = 0")
    try:
        connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        connection.begin()
    except sa_exc.OperationalError as error:
        if "database is locked" not in str(error) and "database is busy" not in str(error):
            raise
        # This Connection is unusable after a failed begin; the caller discards it.
        return False
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
    return True
