"""Exports written from values rather than text: the rows of a request read in one
snapshot as typed values (int, Decimal money, aware UTC datetimes, bool, str) and handed
in batches to a writer that runs in a worker thread (JSON Lines).

The CSV and XLSX exports let the database format their text (app/services/export.py,
export_xlsx.py); JSON Lines takes the values themselves, so here SQLAlchemy reads them
with the models' types (exact money, UTC times, timestamps another program stored with
``Z`` or an offset read as the instant they denote). Reading the next batch overlaps
with writing the one before, the writer never runs on the GUI thread, and memory stays
flat: one batch in hand, one in the writer. The file is the CSV export's
(``export._Destination``): atomic, never replacing what the app does not own, removed on
a cancel or a failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.database import Database
from app.repositories.base import TableRepository
from app.services.catalog import ColumnInfo, catalog_of
from app.services.errors import translate_errors
from app.services.export import (
    ExportProgress,
    ExportRequest,
    ExportResult,
    _Destination,
    _file_error,
    checked_columns,
)
from app.services.records import repository_for

# Rows read and written per step: the rows of one step are read and turned into values on
# the window's thread, so a step must be short (measured: 2,000 rows paused the window up to
# 45 ms on SQLite, 500 rows 23 ms, at the same speed); the hops between threads stay few.
ROWS_PER_BATCH = 500

# Rows a writer's thread formats before it hands the interpreter back for a moment: a
# thread formatting rows in Python otherwise keeps the lock the window's thread needs for
# most of a batch (measured with a 10 ms heartbeat: 34 ms pauses, 14 ms with this).
ROWS_BETWEEN_TURNS = 50

T = TypeVar("T")


def in_turns(rows: Sequence[T]) -> Iterator[Sequence[T]]:
    """``rows`` in slices of ROWS_BETWEEN_TURNS, the interpreter given up between them so
    that the window's thread gets its turn (``time.sleep(0)`` releases the lock)."""
    for start in range(0, len(rows), ROWS_BETWEEN_TURNS):
        if start:
            time.sleep(0)
        yield rows[start : start + ROWS_BETWEEN_TURNS]


class Stream(Protocol):
    """Where a writer puts its bytes: the export's file, written by its own thread."""

    def write(self, data: bytes) -> int: ...


class RowWriter(Protocol):
    """What turns typed rows into a file. Every method runs in a worker thread, one call
    at a time, in this order: ``begin``, ``write`` per batch, ``end``."""

    def begin(self, columns: Sequence[ColumnInfo], stream: Stream) -> None: ...

    def write(self, rows: Sequence[Sequence[Any]]) -> None: ...

    def end(self) -> None: ...


# Given how many rows the snapshot holds, the writer of them; raises ValidationError to
# refuse before the file is opened (a sheet limit the user chose not to go past).
MakeWriter = Callable[[int], RowWriter]


async def export_typed(
    database: Database,
    request: ExportRequest,
    make_writer: MakeWriter,
    target: Path | BinaryIO,
    progress: ExportProgress | None = None,
) -> ExportResult:
    """Write the rows of ``request`` with the writer ``make_writer`` makes, to ``target``.
    Raises ValidationError (nothing written), ExportError for a file that cannot be
    written, DatabaseUnavailableError; a cancelled export leaves ``target`` untouched."""
    progress = progress or ExportProgress()
    repository_class = repository_for(database, request.view.entity)
    names = checked_columns(database, request)
    info = catalog_of(database).entity(request.view.entity)
    columns = [info.column(name) for name in names]
    started = time.monotonic()
    with translate_errors(database.url):
        async with _snapshot(database) as connection:
            view = await counted_view(connection, repository_class, request)
            progress.total = view.total
            statement = view.statement([repository_class.column(name) for name in names])
            writer = make_writer(view.total)
            async with _Destination(target) as destination:
                try:
                    await _write_rows(connection, statement, writer, columns, destination, progress)
                except OSError as error:  # the writer's own files (a full disk)
                    raise _file_error(error, destination.path) from None
                await destination.publish()
    progress.bytes = destination.bytes
    return ExportResult(
        rows=progress.rows,
        bytes=destination.bytes,
        path=destination.path,
        seconds=time.monotonic() - started,
    )


async def _write_rows(
    connection: AsyncConnection,
    statement: Select[Any],
    writer: RowWriter,
    columns: Sequence[ColumnInfo],
    destination: _Destination,
    progress: ExportProgress,
) -> None:
    """Read the rows batch by batch, each batch written in a worker thread while the next
    is read. A cancel lands between batches: a fetch or a write under way ends first
    (interrupted halfway, a fetch leaves its cursor unusable and its close fails)."""
    await _in_thread(writer.begin, columns, _DestinationStream(destination))
    result = await connection.stream(statement)
    writing: asyncio.Future[None] | None = None
    try:
        while batch := await _finish(asyncio.ensure_future(result.fetchmany(ROWS_PER_BATCH))):
            if writing is not None:
                await _finish(writing)
            rows = [tuple(row) for row in batch]
            writing = asyncio.ensure_future(asyncio.to_thread(writer.write, rows))
            progress.rows += len(rows)
            progress.bytes = destination.bytes
        if writing is not None:
            await _finish(writing)
            writing = None
    finally:
        await result.close()
        if writing is not None:
            # Cancelled or failed while a batch was being written: let the thread finish
            # it before the file is removed under it.
            await asyncio.wait([writing])
    await _in_thread(writer.end)


@dataclass(frozen=True)
class CountedView:
    """The rows of a request in a snapshot: how many, and the statement that reads them."""

    repository: TableRepository
    request: ExportRequest
    use_index: bool
    total: int

    def statement(self, columns: Sequence[ColumnElement[Any]]) -> Select[Any]:
        """``columns`` of every row, in the view's order."""
        return self.repository.export_statement(
            self.request.view.spec, columns, use_index=self.use_index, ranges=self.request.ranges
        )


async def counted_view(
    connection: AsyncConnection,
    repository_class: type[TableRepository],
    request: ExportRequest,
) -> CountedView:
    """The rows of ``request`` as ``connection``'s snapshot holds them, counted."""
    repository = repository_class(AsyncSession(bind=connection))
    spec = request.view.spec
    use_index = await repository.search_uses_index(spec.search)
    count = repository.count_statement(spec, use_index=use_index, ranges=request.ranges)
    total = int((await connection.execute(count)).scalar_one())
    return CountedView(repository, request, use_index, total)


@asynccontextmanager
async def _snapshot(database: Database) -> AsyncIterator[AsyncConnection]:
    """A connection in one read-only transaction that sees one state of the database from
    the count to the last row: REPEATABLE READ on PostgreSQL, a read transaction on SQLite
    (which keeps its snapshot from its first read to its end)."""
    async with database.engine.connect() as plain:
        connection = plain
        if not database.is_sqlite:
            connection = await plain.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        async with connection.begin():
            yield connection


async def _in_thread(call: Callable[..., None], *arguments: Any) -> None:
    await _finish(asyncio.ensure_future(asyncio.to_thread(call, *arguments)))


async def _finish(job: asyncio.Future[T]) -> T:
    """Wait for a step (a fetch, or a writer's call in its thread); a cancel waits for the
    step to end, since neither can be stopped halfway, and is then passed on."""
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:
        await asyncio.wait([job])
        raise


class _DestinationStream:
    """The export's file as the binary stream a writer library expects: what it writes
    goes to the destination's writer thread. Not seekable, so a ZIP is written with data
    descriptors (as it would be to a pipe)."""

    def __init__(self, destination: _Destination) -> None:
        self._destination = destination

    def write(self, data: bytes) -> int:
        self._destination.write(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass  # the destination is closed (and published, or removed) by its owner

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        raise OSError("not seekable")
