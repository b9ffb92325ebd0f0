"""Schema migrations from inside the app: upgrade, downgrade, and the startup check.

The app hands Alembic an open connection (Alembic's "connection sharing" recipe), so the
same env.py serves both the ``alembic`` command and Records Desk.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection

from alembic import command
from app.core.database import Database
from app.repositories import search
from app.services.errors import DatabaseOutdatedError, DatabaseTooNewError, translate_errors


def install_dir() -> Path:
    """Where alembic/ lives: the project folder, or the unpacked bundle when frozen."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) if bundle else Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(install_dir() / "alembic"))
    return config


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str
    known: bool

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


async def schema_state(database: Database) -> SchemaState:
    with translate_errors(database.url):
        async with database.engine.connect() as connection:
            return await connection.run_sync(_schema_state)


async def upgrade(database: Database, revision: str = "head") -> SchemaState:
    """Bring the schema to ``revision``; a database newer than the code is refused."""
    state = await schema_state(database)
    if not state.known:
        raise _too_new(database, state)
    await _run(database, lambda config: command.upgrade(config, revision))
    return await schema_state(database)


async def downgrade(database: Database, revision: str) -> SchemaState:
    await _run(database, lambda config: command.downgrade(config, revision))
    return await schema_state(database)


async def prepare_for_use(database: Database) -> SchemaState:
    """What the app does before opening a window on a database.

    A local SQLite file is upgraded to head. A server is left as it is — it may be shared —
    and must already be at head: ``records-desk migrate`` upgrades it.
    """
    state = await schema_state(database)
    if not state.known:
        raise _too_new(database, state)
    if state.up_to_date:
        return state
    if database.is_sqlite:
        return await upgrade(database)
    raise DatabaseOutdatedError(
        f"{database.display_name} has an older schema than this Records Desk "
        f"(revision {state.current or 'none'}, expected {state.head}). "
        "Run `records-desk migrate` against it first."
    )


def _too_new(database: Database, state: SchemaState) -> DatabaseTooNewError:
    return DatabaseTooNewError(
        f"{database.display_name} was upgraded by a newer Records Desk "
        f"(schema revision {state.current}). Update Records Desk to open it."
    )


def _schema_state(connection: Connection) -> SchemaState:
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None, "the alembic/versions folder has no revisions"
    current = MigrationContext.configure(connection).get_current_revision()
    try:
        known = current is None or script.get_revision(current) is not None
    except CommandError:
        known = False
    return SchemaState(current=current, head=head, known=known)


async def _run(database: Database, operation: Callable[[Config], None]) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        operation(config)

    with translate_errors(database.url):
        async with database.engine.begin() as connection:
            await connection.run_sync(run)
    # The search looks up which of its index tables exist once per database.
    search.forget(database.url)
