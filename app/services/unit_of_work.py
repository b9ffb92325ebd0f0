"""One short session per service call, with errors translated at the boundary and what it
changed published after the commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from app.changes import noted
from app.core.database import Database
from app.services.errors import refuse_if_read_only, translate_errors


@asynccontextmanager
async def unit_of_work(database: Database, *, write: bool = False) -> AsyncIterator[AsyncSession]:
    """A session that commits when the block succeeds and rolls back when it raises; a
    failure the user caused or can fix leaves as a RecordsDeskError; a write to a read-only
    connection is refused before anything is sent. What the block noted (app.changes.note)
    goes to the database's change feed once the commit is done, never before or without it."""
    if write:
        refuse_if_read_only(database)
    with translate_errors(database.url):
        async with database.get_session(write=write) as session:
            yield session
            changes = noted(session)
    if changes is not None:
        database.changes.publish(changes)
