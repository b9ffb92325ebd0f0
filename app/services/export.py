"""Export what a browse window shows (or the command line asks for) to a CSV file.

Exactly the rows of the view — its search, filters, sort and deleted rows, or only the
selected blocks of it — with its columns in order, read in one transaction so the count
shown while writing is the number of rows written. The database formats the values
(``app.repositories.export_columns``): PostgreSQL streams the finished CSV through COPY;
SQLite hands over one line per row in its own worker thread, where the file is written,
so neither engine formats a million rows on the GUI thread.

A file is written under a temporary name beside the chosen one and moved into place only
when complete: a cancel, a full disk, a lost server or a crash leave the chosen path as it
was. What the app does not own is never replaced (``export_target``): a FIFO, a device or
standard output is written straight into; a symlink is followed, and its file replaced with
its mode and owner kept; a folder, socket or disk device is refused in words.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import queue
import re
import secrets
import sqlite3
import stat
import threading
import time
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, TypeVar

import tzlocal
from sqlalchemy import select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from app.core.database import Database, InterruptibleConnection
from app.models.types import InvalidValueError
from app.query import DeletedRows, Equals, KeyRange, ViewState
from app.repositories.base import IDS_PER_STATEMENT, TableRepository
from app.repositories.export_columns import (
    FORMULA_GUARD,
    MUST_QUOTE,
    NUL_SHOWN,
    SEPARATORS,
    ZONE_TIME_FUNCTION,
    ValueForms,
    formatted,
    lines_are_finished,
    local_time,
    sqlite_line,
    zone_time,
)
from app.repositories.export_columns import (
    FORMULA_STARTS as FORMULA_STARTS,
)
from app.services.catalog import OURS, Catalog, EntityInfo, catalog_of
from app.services.errors import RecordsDeskError, ValidationError, translate_errors
from app.services.records import repository_for

log = logging.getLogger(__name__)

T = TypeVar("T")

DELIMITERS = {",": "Comma", ";": "Semicolon", "\t": "Tab"}
LINE_ENDINGS = {"\r\n": "Windows (CR LF)", "\n": "Unix (LF)"}
DECIMAL_POINTS = {".": "Point (1234.56)", ",": "Comma (1234,56)"}
UTF8_BOM = b"\xef\xbb\xbf"
# Longer than anyone types for "no value"; keeps a pasted paragraph out of every cell.
MAX_EMPTY_TEXT = 20
# Separate blocks of selected rows (ctrl-click runs) one export takes: each is a term of
# the WHERE clause, and SQLite's expression tree stops at a depth of 1,000.
MAX_SELECTION_BLOCKS = 200
# Lines per fetch on SQLite: one block of text per fetch keeps every call into C short
# (the GIL is never held long enough to stall the window) and the Python work per row tiny.
SQLITE_LINES_PER_FETCH = 1_000
# A COPY is one statement however long it runs; the connection's command timeout (meant
# for one page) would cut a large export off. Cancel is the way to stop one.
POSTGRES_EXPORT_TIMEOUT_S = 24 * 3600.0
# Blocks waiting for the writer thread: enough to ride out a slow disk for a moment,
# few enough that memory stays flat whatever the number of rows.
_QUEUED_WRITES = 64
# The size a block of lines aims at (SQLite): long texts mean fewer lines per block.
_BLOCK_BYTES = 1 << 20
# The writer flushes to the disk after this much: the final fsync then has little left.
_SYNC_EVERY_BYTES = 16 << 20
_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9]+)?")


class ExportError(RecordsDeskError):
    """The file cannot be written (a folder that is missing or read-only, a full disk)."""


@dataclass(frozen=True)
class CsvOptions:
    """How the file is written. The defaults follow RFC 4180 and are spreadsheet-safe."""

    delimiter: str = ","
    header: bool = True
    bom: bool = False
    line_ending: str = "\r\n"
    empty_text: str = ""
    formula_protection: bool = True
    # "," where the reader's locale writes 1234,56 (the Excel preset's choice).
    decimal_point: str = "."
    # "": date-times exact, RFC 3339 in UTC with the offset, for programs. A zone name:
    # "2026-01-01 11:00:00" in that zone, what Excel and Calc read as a date.
    time_zone: str = ""

    def validated(self) -> CsvOptions:
        if self.delimiter not in DELIMITERS:
            raise ValidationError("The delimiter must be a comma, a semicolon or a tab.")
        if self.line_ending not in LINE_ENDINGS:
            raise ValidationError("Lines must end with CR LF or with LF.")
        if self.decimal_point not in DECIMAL_POINTS:
            raise ValidationError("The decimal separator must be a point or a comma.")
        if self.time_zone and not _is_time_zone(self.time_zone):
            raise ValidationError(f"{self.time_zone!r} is not a time zone this computer knows.")
        text = self.empty_text
        if len(text) > MAX_EMPTY_TEXT:
            raise ValidationError(
                f"The text for empty values can have at most {MAX_EMPTY_TEXT} characters."
            )
        # Written unquoted, so it must need no quotes for any reader.
        if any(character in text for character in (*MUST_QUOTE, "\0")):
            raise ValidationError(
                "The text for empty values cannot hold a comma, a semicolon, a tab, a "
                "double quote or a line break: it would be read back as something else."
            )
        if self.formula_protection and text.startswith(FORMULA_STARTS):
            raise ValidationError(
                "The text for empty values cannot start with = + - @ or a tab: a "
                "spreadsheet would run it as a formula."
            )
        return self

    def forms(self) -> ValueForms:
        return ValueForms(self.formula_protection, self.decimal_point, self.time_zone)


def _is_time_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_time_zone() -> str:
    """The name of this computer's time zone ("Europe/Berlin"), the one the Excel preset
    writes dates in: from TZ, else from the zone file /etc/localtime links to, else as
    tzlocal finds it (Windows' zone settings, macOS's); "UTC" when it has none a name can
    be found for. The window and the command line both ask here, so both write the same
    bytes."""
    name = os.environ.get("TZ", "").removeprefix(":")
    if not name:
        real = os.path.realpath("/etc/localtime")
        for folder in zoneinfo.TZPATH:
            if real.startswith(folder.rstrip("/") + "/"):
                name = real[len(folder.rstrip("/")) + 1 :]
                break
    if not name:
        try:
            name = tzlocal.get_localzone_name() or ""
        except (LookupError, OSError, ValueError):  # tzlocal's ways of not knowing
            name = ""
    return name if name and _is_time_zone(name) else "UTC"


def excel_options(
    decimal_point: str, time_zone: str, options: CsvOptions = CsvOptions()
) -> CsvOptions:
    """What Excel (and Calc) open by double-click and read as numbers and dates: a BOM (or
    it guesses the wrong encoding), CR LF, the locale's decimal separator and its list
    separator (a semicolon where the decimal separator is a comma, as Windows has it),
    and date-times as local time in ``time_zone`` without an offset (neither reads one)."""
    comma = decimal_point == ","
    return replace(
        options,
        delimiter=";" if comma else ",",
        decimal_point="," if comma else ".",
        time_zone=time_zone,
        bom=True,
        line_ending="\r\n",
        header=True,
    )


@dataclass(frozen=True)
class ExportRequest:
    """The rows and columns to write: the ``view``; with ``ranges``, only those blocks of
    it (a selection); with ``all_columns``, every column rather than the visible ones."""

    view: ViewState
    ranges: tuple[KeyRange, ...] = ()
    all_columns: bool = False

    def columns(self, info: EntityInfo) -> tuple[str, ...]:
        """The columns in the order they are written (``info``: the view's kind); refuses
        unknown ones in words."""
        for name in self.view.columns:
            info.column(name)
        if self.all_columns:
            # A secret (the password hash) only when the window shows it.
            return tuple(
                column.name
                for column in info.columns
                if not column.hidden_by_default or column.name in self.view.columns
            )
        if self.view.columns:
            return self.view.columns
        return tuple(column.name for column in info.columns if not column.hidden_by_default)


@dataclass
class ExportProgress:
    """How far an export is; written by the export (from its worker thread on SQLite),
    read by whoever shows it. ``total`` is None until the rows are counted."""

    rows: int = 0
    total: int | None = None
    bytes: int = 0
    started: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class ExportResult:
    rows: int
    bytes: int
    path: Path | None  # None when written to a stream (standard output)
    seconds: float
    # What the end message adds, in sentences: texts cut to fit a cell, further sheets.
    notes: tuple[str, ...] = ()


def proposed_file_name(view: ViewState, today: date, known: Catalog | None = None) -> str:
    """``users-2026-12-02.csv``; a related view says whose: ``orders-of-user-12-….csv``.
    ``known``: the catalog of the database the view is of (ours when not given)."""
    known = known or OURS
    info = known.entity(view.entity)
    name = _file_name_part(view.entity)
    for filter_ in view.spec.filters:
        if not isinstance(filter_, Equals):
            continue
        column = info.column(filter_.column)
        if column.references is not None and str(filter_.value).isascii():
            owner = known.entity(column.references).singular.lower().replace(" ", "-")
            name += f"-of-{_file_name_part(owner)}-{_file_name_part(str(filter_.value))}"
            break
    if view.spec.deleted is DeletedRows.ONLY:
        name += "-trash"
    return f"{name}-{today.isoformat()}.csv"


def _file_name_part(text: str) -> str:
    """``text`` as part of a file name on every system: another program's table names and
    keys may hold "/", ":" or spaces."""
    return re.sub(r"[^\w.-]+", "-", text.replace("_", "-"), flags=re.ASCII).strip("-.") or "rows"


def header_line(columns: Sequence[str], options: CsvOptions) -> str:
    return options.delimiter.join(csv_field(name, options) for name in columns)


def csv_field(value: object, options: CsvOptions) -> str:
    """One value as a CSV field, quoted where a reader splitting on any of the three
    separators needs it, and where PostgreSQL's COPY quotes it: also a text equal to the
    one for empty values. A NUL is written as the symbol for it (``NUL_SHOWN``)."""
    if value is None:
        return options.empty_text
    text = str(value).replace("\0", NUL_SHOWN)
    if text == options.empty_text or any(character in text for character in MUST_QUOTE):
        return '"' + text.replace('"', '""') + '"'
    return text


async def export_csv(
    database: Database,
    request: ExportRequest,
    options: CsvOptions,
    target: Path | BinaryIO,
    progress: ExportProgress | None = None,
) -> ExportResult:
    """Write the rows of ``request`` to ``target`` (a file path, or a binary stream such
    as standard output). Raises ValidationError for what cannot be exported as asked
    (before anything is written), ExportError for a file that cannot be written, and
    DatabaseUnavailableError; a cancelled export leaves ``target`` untouched."""
    options = options.validated()
    progress = progress or ExportProgress()
    repository_class = repository_for(database, request.view.entity)
    columns = checked_columns(database, request)
    started = time.monotonic()
    with translate_errors(database.url):
        async with _Destination(target) as destination:
            if options.bom:
                destination.write(UTF8_BOM)
            if options.header:
                destination.write((header_line(columns, options) + options.line_ending).encode())
            if database.is_sqlite:
                rows = await _export_sqlite(
                    database, repository_class, request, columns, options, destination, progress
                )
            else:
                rows = await _export_postgres(
                    database, repository_class, request, columns, options, destination, progress
                )
            await destination.publish()
    progress.rows = rows
    return ExportResult(
        rows=rows,
        bytes=destination.bytes,
        path=destination.path,
        seconds=time.monotonic() - started,
    )


async def export_table(
    headings: Sequence[str],
    rows: Sequence[Sequence[Any]],
    options: CsvOptions,
    target: Path | BinaryIO,
) -> ExportResult:
    """Write a small table already in memory (an insight's answer) the way ``export_csv``
    writes rows: the same quoting, formula guard, text for empty values and safe file."""
    options = options.validated()
    started = time.monotonic()
    async with _Destination(target) as destination:
        if options.bom:
            destination.write(UTF8_BOM)
        lines = [header_line(headings, options)] if options.header else []
        lines += [
            options.delimiter.join(
                csv_field(_table_value(value, options), options) for value in row
            )
            for row in rows
        ]
        destination.write("".join(line + options.line_ending for line in lines).encode())
        await destination.publish()
    return ExportResult(len(rows), destination.bytes, destination.path, time.monotonic() - started)


def _table_value(value: object, options: CsvOptions) -> object:
    """Text a spreadsheet would run as a formula gets the guard, as the database adds it
    to exported rows (``export_columns.formatted``); numbers are numbers, with the decimal
    separator asked for, and date-times in the zone asked for."""
    if options.formula_protection and isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return FORMULA_GUARD + value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | float):
        return str(value).replace(".", options.decimal_point)
    if isinstance(value, datetime) and value.tzinfo is not None and options.time_zone:
        return local_time(value, options.time_zone)
    return value


def check_selection_blocks(blocks: int) -> None:
    """Refuse more separate blocks of several selected rows than one export takes."""
    if blocks > MAX_SELECTION_BLOCKS:
        raise ValidationError(
            f"An export takes at most {MAX_SELECTION_BLOCKS} separate blocks of selected "
            "rows; select fewer, larger blocks, or export all rows."
        )


def checked_columns(database: Database, request: ExportRequest) -> tuple[str, ...]:
    """The columns ``request`` writes, once all of it is known to be exportable: a
    ValidationError in words (an unknown column, a bad filter, a stale selection) before
    any file is made, whatever the file type."""
    repository_class = repository_for(database, request.view.entity)
    columns = request.columns(catalog_of(database).entity(request.view.entity))
    if not columns:
        raise ValidationError("Choose at least one column to export.")
    try:
        _check_request(repository_class, request)
    except InvalidValueError as error:
        raise ValidationError(str(error)) from None
    return columns


def _check_request(repository_class: type[TableRepository], request: ExportRequest) -> None:
    """Refuse a bad filter, sort or selection before any file is made."""
    spec = request.view.spec
    for filter_ in spec.filters:
        filter_.condition(repository_class.column(filter_.column))
    repository_class.sort_keys(spec)
    check_selection_blocks(sum(1 for block in request.ranges if block.first != block.last))
    width = len(spec.order(repository_class.key))
    if any(len(block.first) != width or len(block.last) != width for block in request.ranges):
        raise ValidationError("The selection no longer matches the sort order; select again.")


# -- SQLite: lines made by the database, written in the connection's worker thread ---------


async def _export_sqlite(
    database: Database,
    repository_class: type[TableRepository],
    request: ExportRequest,
    columns: Sequence[str],
    options: CsvOptions,
    destination: _Destination,
    progress: ExportProgress,
) -> int:
    spec = request.view.spec
    table_columns = [repository_class.column(name) for name in columns]
    async with database.engine.connect() as connection, connection.begin():
        # BEGIN (deferred): the snapshot is taken by the first row and kept to the last.
        repository = repository_class(AsyncSession(bind=connection))
        use_index = await repository.search_uses_index(spec.search)
        dialect = connection.dialect
        count_sql = driver_sql(
            repository.count_statement(spec, use_index=use_index, ranges=request.ranges),
            dialect,
        )
        line = sqlite_line(
            table_columns,
            delimiter=options.delimiter,
            empty_text=options.empty_text,
            forms=options.forms(),
        )
        values = [formatted(column, "sqlite", options.forms()) for column in table_columns]
        by_id: _ValuesById | None = None
        if len(repository_class.key) == 1:
            # A block whose lines need quoting reads its rows' values again, by key.
            id_column = repository_class.column(repository_class.key[0])
            by_id = _ValuesById(select(id_column, *values), id_column, dialect)
            beside_line: list[Any] = [id_column]
        else:
            # No one column names a row (a view, a key of several columns): the values
            # come with each line, to quote from when a block needs it.
            beside_line = values
        lines_sql = driver_sql(
            repository.export_statement(
                spec, [line, *beside_line], use_index=use_index, ranges=request.ranges
            ),
            dialect,
        )
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, InterruptibleConnection)
        writer = _SqliteWriter(lines_sql, by_id, len(columns), options, destination)
        writer.progress = progress
        counting = asyncio.ensure_future(_count_beside(database, count_sql))
        counting.add_done_callback(lambda task: _take_total(task, progress))
        try:
            written = await run_stoppable(driver, writer.run, writer.stop)
            # A scan of what was just written, begun with it: the last figures the
            # progress shows are whole.
            await asyncio.wait([counting])
        finally:
            if not counting.done():
                counting.cancel()
            await asyncio.wait([counting])
        if not counting.cancelled() and counting.exception() is not None:
            # The count only feeds the progress bar: the rows are written all the same.
            log.warning("counting the exported rows failed", exc_info=counting.exception())
        return written


async def _count_beside(database: Database, count_sql: tuple[str, list[Any]]) -> int:
    """The progress bar's total, counted on a second connection while the first writes
    rows (on a second core): the rows never wait for it. SQLite shares no snapshot
    between connections, so a write committed between the two first reads makes it a
    little off; the bar takes what it is given."""
    async with database.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, InterruptibleConnection)
        return await run_stoppable(
            driver, lambda sqlite: int(sqlite.execute(*count_sql).fetchone()[0])
        )


async def run_stoppable(
    driver: InterruptibleConnection,
    work: Callable[[sqlite3.Connection], T],
    stop: threading.Event | None = None,
) -> T:
    """``work`` in the SQLite connection's worker thread. A cancel sets ``stop`` (which a
    loop over rows checks), interrupts the statement under way and waits for the worker to
    end: nothing may write to a file once it is removed."""
    job = asyncio.ensure_future(driver.run_in_worker(work))
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:
        if stop is not None:
            stop.set()
        await driver.interrupt()
        await asyncio.wait([job])
        raise


class _ValuesById:
    """The formatted values of some rows by id: for a block of lines that needs quoting."""

    def __init__(self, statement: Select[Any], id_column: Any, dialect: Dialect) -> None:
        self._statement = statement
        self._id_column = id_column
        self._dialect = dialect

    def sql(self, ids: Sequence[Any]) -> tuple[str, list[Any]]:
        return driver_sql(self._statement.where(self._id_column.in_(list(ids))), self._dialect)


class _SqliteWriter:
    """The export's loop, run in the SQLite connection's worker thread."""

    def __init__(
        self,
        lines_sql: tuple[str, list[Any]],
        by_id: _ValuesById | None,
        fields: int,
        options: CsvOptions,
        destination: _Destination,
    ) -> None:
        self.lines_sql = lines_sql
        self.by_id = by_id
        self.fields = fields
        self.options = options
        self.destination = destination
        self.progress = ExportProgress()
        self.stop = threading.Event()

    def run(self, connection: sqlite3.Connection) -> int:
        connection.create_function(ZONE_TIME_FUNCTION, 2, zone_time, deterministic=True)
        try:
            return self._run(connection)
        finally:
            connection.create_function(ZONE_TIME_FUNCTION, 2, None)

    def _run(self, connection: sqlite3.Connection) -> int:
        options = self.options
        ending = options.line_ending
        cursor = connection.execute(*self.lines_sql)
        written = 0
        size = SQLITE_LINES_PER_FETCH
        try:
            while not self.stop.is_set():
                rows = cursor.fetchmany(size)
                if not rows:
                    break
                text = ending.join([row[0] for row in rows])
                if lines_are_finished(text, len(rows), self.fields, options.delimiter, ending):
                    text += ending
                else:
                    text = self._finished(connection, rows)
                self.destination.write(text.encode())
                written += len(rows)
                self.progress.rows = written
                self.progress.bytes = self.destination.bytes
                # Long texts: fewer lines per block, so that a block (and the writer's
                # queue of them) stays around a megabyte whatever the values hold.
                size = max(1, min(SQLITE_LINES_PER_FETCH, len(rows) * _BLOCK_BYTES // len(text)))
        except sqlite3.OperationalError:
            if self.stop.is_set():  # the interrupt of a cancel
                raise asyncio.CancelledError from None
            raise
        finally:
            # Ends the statement: SQLite clears a pending interrupt only once no statement
            # runs, and would otherwise fail the rollback that follows.
            cursor.close()
        if self.stop.is_set():
            raise asyncio.CancelledError
        return written

    def _finished(self, connection: sqlite3.Connection, rows: list[Any]) -> str:
        """The lines of these rows, quoted value by value (same snapshot, same values):
        read again by key, or taken from beside each line where no column is a key."""
        options = self.options
        ending = options.line_ending
        delimiter = options.delimiter
        if self.by_id is None:
            return "".join(
                delimiter.join([csv_field(value, options) for value in row[1:]]) + ending
                for row in rows
            )
        ids = [row[1] for row in rows]
        found: dict[Any, tuple[Any, ...]] = {}
        # Old SQLite builds take at most 999 bound values per statement.
        for start in range(0, len(ids), IDS_PER_STATEMENT):
            chunk = ids[start : start + IDS_PER_STATEMENT]
            found.update((row[0], row[1:]) for row in connection.execute(*self.by_id.sql(chunk)))
        return "".join(
            delimiter.join([csv_field(value, options) for value in found[record_id]]) + ending
            for record_id in ids
        )


# -- PostgreSQL: COPY in a repeatable-read snapshot, counted beside it ----------------------


async def _export_postgres(
    database: Database,
    repository_class: type[TableRepository],
    request: ExportRequest,
    columns: Sequence[str],
    options: CsvOptions,
    destination: _Destination,
    progress: ExportProgress,
) -> int:
    spec = request.view.spec
    values = [
        formatted(repository_class.column(name), "postgresql", options.forms()).label(
            f"c{position}"
        )
        for position, name in enumerate(columns)
    ]
    async with database.engine.connect() as plain:
        connection = await plain.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        async with connection.begin():
            # Dates print in the session's zone: UTC, so "+00" is always the offset; or
            # the zone asked for, where they are written without one.
            await connection.execute(
                text("SELECT set_config('TimeZone', :zone, true)"),
                {"zone": options.time_zone or "UTC"},
            )
            await connection.exec_driver_sql("SET LOCAL DateStyle = 'ISO'")
            repository = repository_class(AsyncSession(bind=connection))
            use_index = await repository.search_uses_index(spec.search)
            snapshot = str(
                (await connection.exec_driver_sql("SELECT pg_export_snapshot()")).scalar_one()
            )
            count_statement = repository.count_statement(
                spec, use_index=use_index, ranges=request.ranges
            )
            counting = asyncio.ensure_future(
                _count_in_snapshot(database, snapshot, count_statement)
            )
            counting.add_done_callback(lambda task: _take_total(task, progress))
            sql, arguments = driver_sql(
                repository.export_statement(
                    spec, values, use_index=use_index, ranges=request.ranges
                ),
                connection.dialect,
            )
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            sink = _CopySink(destination, options, progress)
            try:
                status = await driver.copy_from_query(
                    sql,
                    *arguments,
                    output=sink.write,
                    format="csv",
                    delimiter=options.delimiter,
                    null=options.empty_text,
                    encoding="utf8",
                    timeout=POSTGRES_EXPORT_TIMEOUT_S,
                )
                await sink.finish()
                await asyncio.wait([counting])  # its failure is looked at below
            except BaseException:
                # After an aborted COPY, asyncpg waits for the server to confirm the cancel;
                # when the COPY had already ended there it never does, and the rollback
                # would hang for the command timeout. Drop the connection instead.
                await connection.invalidate()
                raise
            finally:
                if not counting.done():
                    counting.cancel()
                await asyncio.wait([counting])
    rows = int(str(status).rsplit(" ", 1)[-1])
    if not counting.cancelled() and counting.exception() is None:
        if counting.result() != rows:  # one snapshot: only a bug could make them differ
            log.error("export wrote %d rows of a result counted as %d", rows, counting.result())
    else:
        # The count only feeds the progress bar: the rows are written all the same.
        log.warning("counting the exported rows failed", exc_info=counting.exception())
    return rows


async def _count_in_snapshot(database: Database, snapshot: str, statement: Select[Any]) -> int:
    """Count on a second connection that shares the export's snapshot: the exact number
    of the rows the COPY writes, without making it wait for a count first."""
    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
    async with database.engine.connect() as plain:
        connection = await plain.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        async with connection.begin():
            await connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            sql, arguments = driver_sql(statement, connection.dialect)
            raw = await connection.get_raw_connection()
            assert raw.driver_connection is not None
            # The COPY's timeout, not a page's: the count reads the same rows.
            counted = await raw.driver_connection.fetchval(
                sql, *arguments, timeout=POSTGRES_EXPORT_TIMEOUT_S
            )
            return int(counted)


def _take_total(task: asyncio.Task[int], progress: ExportProgress) -> None:
    if not task.cancelled() and task.exception() is None:
        progress.total = task.result()


class _CopySink:
    """Receives COPY's output and writes it, quoted where COPY does not quote and with CR
    LF line ends when asked for.

    COPY quotes a value holding the delimiter, a quote or a line break, not one holding
    the other two separators ("x;=2+2" with commas): those fields are quoted here. It ends
    lines with LF; only the LFs outside quotes end a row, inside a quoted value an LF is
    data and stays as it is. Both need whole rows, so the end of a chunk that is not the end
    of a row waits for the next chunk."""

    def __init__(self, destination: _Destination, options: CsvOptions, progress: ExportProgress):
        self._destination = destination
        self._crlf = options.line_ending == "\r\n"
        self._progress = progress
        self._others = [other.encode() for other in SEPARATORS if other != options.delimiter]
        delimiter = re.escape(options.delimiter.encode())
        others = b"".join(re.escape(other) for other in self._others)
        # A quoted field (skipped whole), or an unquoted one holding another separator.
        unquoted = rb'[^"\n' + delimiter + rb"]*"
        self._field = re.compile(rb'"(?:[^"]|"")*"|' + unquoted + b"[" + others + b"]" + unquoted)
        self._pending = b""

    async def write(self, data: bytes) -> None:
        data = self._pending + data
        end = _end_of_rows(data)
        self._pending = data[end:]
        await self._write_rows(data[:end])

    async def finish(self) -> None:
        """Write what is left (COPY ends with a row's end: nothing, unless a bug)."""
        rows, self._pending = self._pending, b""
        await self._write_rows(rows)

    async def _write_rows(self, data: bytes) -> None:
        if not data:
            return
        if any(other in data for other in self._others):
            data = self._field.sub(_quoted_field, data)
        if self._crlf:
            data = _with_crlf(data)
        await self._destination.write_soon(data)
        progress = self._progress
        # Only for the progress bar: a line break inside a value counts as a row here.
        progress.rows = min(progress.rows + data.count(b"\n"), progress.total or 2**63)
        progress.bytes = self._destination.bytes


def _quoted_field(found: re.Match[bytes]) -> bytes:
    field = found.group()
    return field if field.startswith(b'"') else b'"' + field + b'"'


def _end_of_rows(data: bytes) -> int:
    """Where the last whole row in ``data`` (which starts at a row) ends: after the last
    LF outside quotes, found by the number of quotes before it being even."""
    end = data.rfind(b"\n")
    while end >= 0 and data.count(b'"', 0, end) % 2:
        # Inside a quoted value: the row ends before that value's opening quote.
        end = data.rfind(b"\n", 0, data.rfind(b'"', 0, end))
    return end + 1


def _with_crlf(rows: bytes) -> bytes:
    """``rows`` (whole rows) with CR LF for each LF that ends a row. A doubled quote inside
    a value toggles twice and changes nothing."""
    if b'"' not in rows:
        return rows.replace(b"\n", b"\r\n")
    parts = rows.split(b'"')
    for index in range(0, len(parts), 2):  # outside quotes
        parts[index] = parts[index].replace(b"\n", b"\r\n")
    return b'"'.join(parts)


# -- shared --------------------------------------------------------------------------------


def driver_sql(statement: Select[Any], dialect: Dialect) -> tuple[str, list[Any]]:
    """``statement`` as SQL text for the driver itself, with its parameters converted as
    SQLAlchemy converts them (money to cents on SQLite, dates to UTC text)."""
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    parameters = compiled.construct_params()
    # The converters SQLAlchemy applies when it executes (private, pinned by a test).
    processors: dict[str, Any] = dict(compiled._bind_processors)
    names = compiled.positiontup or []
    return str(compiled), [
        processors[name](parameters[name]) if name in processors else parameters[name]
        for name in names
    ]


# Names under these folders belong to the system (/dev/stdout, /dev/fd/3, /proc/self/fd/1):
# whatever they lead to is a file some process has open, written where it is, never replaced.
_SYSTEM_FOLDERS = (Path("/dev"), Path("/proc"))
_OPEN_FLAGS = os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class ExportTarget:
    """Where an export to a path goes, decided before anything is written.

    ``in_place``: written straight into (a FIFO, a device, a system name such as
    /dev/stdout), never replaced or renamed onto. Otherwise ``real`` (the path with its
    symlinks followed: the link stays a link) is replaced whole by a new file made beside
    it, which takes the mode and owner of ``existing``, the file it replaces, if any."""

    path: Path
    real: Path
    in_place: bool
    existing: os.stat_result | None


def export_target(path: Path) -> ExportTarget:
    """The target an export to ``path`` writes, or an ExportError saying in one line why
    there is none: a folder, a socket or block device, a read-only file, a missing folder."""
    try:
        status: os.stat_result | None = os.stat(path)  # through any symlinks
    except FileNotFoundError:
        status = None
    except OSError as error:  # a loop of links, a file where a folder should be
        raise _file_error(error, path) from None
    if status is None:
        # A new file, or a link to a file not made yet: the link's file is the one made.
        real = Path(os.path.realpath(path))
        if not real.parent.is_dir():
            raise ExportError(f"The folder {real.parent} does not exist.")
        return ExportTarget(path, real, in_place=False, existing=None)
    mode = status.st_mode
    if stat.S_ISDIR(mode):
        raise ExportError(f"{path} is a folder; choose a file name for the export.")
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        return ExportTarget(path, path, in_place=True, existing=status)
    if not stat.S_ISREG(mode):
        what = "a socket" if stat.S_ISSOCK(mode) else "a disk device" if stat.S_ISBLK(mode) else ""
        raise ExportError(
            f"{path} is {what or 'a special file'}, not a file; choose a file name for the export."
        )
    absolute = Path(os.path.abspath(path))
    if any(absolute.is_relative_to(folder) for folder in _SYSTEM_FOLDERS):
        # /dev/stdout redirected to a file: the file the shell holds open, written there.
        return ExportTarget(path, path, in_place=True, existing=status)
    real = Path(os.path.realpath(path))
    if not os.access(real, os.W_OK):
        raise ExportError(f"{path} is read-only; choose another file or make it writable.")
    return ExportTarget(path, real, in_place=False, existing=status)


class _Destination:
    """Where the export's bytes go (``ExportTarget``): a FIFO, a device or a stream,
    written straight into; otherwise a temporary file beside the real target, moved onto it
    by ``publish`` and removed instead when the export fails or is cancelled.

    A thread of its own does the writing (and flushes to the disk as it goes), so the
    formatting never waits for the disk and the GUI thread never blocks in write()."""

    def __init__(self, target: Path | BinaryIO) -> None:
        self.bytes = 0
        self.path: Path | None = None
        self._target: ExportTarget | None = None
        self._stream: BinaryIO | None = None
        # A stream opened here (a FIFO, a device) is closed here: its reader sees the end.
        self._opened_here = False
        self._temporary: Path | None = None
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED_WRITES)
        self._writer: threading.Thread | None = None
        self._failure: Exception | None = None
        if isinstance(target, Path):
            self.path = target
        else:
            self._stream = target

    async def __aenter__(self) -> _Destination:
        if self.path is not None:
            self._target = export_target(self.path)
            if self._target.in_place:
                await self._open_in_place(self._target)
            else:
                self._open_temporary(self._target)
        self._writer = threading.Thread(target=self._write_all, name="csv-writer", daemon=True)
        self._writer.start()
        return self

    async def _open_in_place(self, target: ExportTarget) -> None:
        """Open a FIFO or device for writing, in a thread: a FIFO's open waits for its
        reader, which must not stall the window (and a cancel must end the wait)."""
        assert target.existing is not None
        flags = _OPEN_FLAGS
        if stat.S_ISREG(target.existing.st_mode):
            flags |= os.O_APPEND  # what was there stays: only a shell's `>` empties it
        opening = asyncio.ensure_future(asyncio.to_thread(os.open, target.path, flags))
        try:
            descriptor = await asyncio.shield(opening)
        except asyncio.CancelledError:
            _end_waiting_open(target.path, opening)
            raise
        except OSError as error:
            raise _file_error(error, target.path) from error
        kind = stat.S_IFMT(os.fstat(descriptor).st_mode)
        if kind != stat.S_IFMT(target.existing.st_mode):
            os.close(descriptor)  # swapped for something else since it was looked at
            raise ExportError(f"{target.path} changed while the export began; try again.")
        self._stream = os.fdopen(descriptor, "wb", buffering=0)
        self._opened_here = True

    def _open_temporary(self, target: ExportTarget) -> None:
        real = target.real
        temporary = real.parent / f".{real.name}.{secrets.token_hex(4)}.part"
        # A new file: 0o666 less the umask, as any new file. A replacement: private until
        # it takes the mode of the file it replaces, just before the rename.
        mode = 0o666 if target.existing is None else 0o600
        try:
            # O_EXCL: never someone else's file.
            descriptor = os.open(temporary, _OPEN_FLAGS | os.O_CREAT | os.O_EXCL, mode)
        except OSError as error:
            raise _file_error(error, target.path) from error
        self._temporary = temporary
        self._stream = os.fdopen(descriptor, "wb", buffering=0)
        self._opened_here = True

    def write(self, data: bytes) -> None:
        """Queue ``data``; raises the writer's error, if it met one, at the next call."""
        if self._failure is not None:
            raise _file_error(self._failure, self.path)
        self._queue.put(data)
        self.bytes += len(data)

    async def write_soon(self, data: bytes) -> None:
        """``write`` for a coroutine on the event loop: when the disk lags behind, wait
        for it without blocking the loop (and so hold back the COPY stream)."""
        try:
            if self._failure is None:
                self._queue.put_nowait(data)
                self.bytes += len(data)
                return
        except queue.Full:
            await asyncio.to_thread(self._queue.put, data)
            self.bytes += len(data)
            return
        raise _file_error(self._failure, self.path)

    def _write_all(self) -> None:
        stream = self._stream
        assert stream is not None
        unsynced = 0
        while (data := self._queue.get()) is not None:
            if self._failure is not None:
                continue  # drain: the exporter learns of the failure at its next write
            try:
                stream.write(data)
                unsynced += len(data)
                if self._temporary is not None and unsynced >= _SYNC_EVERY_BYTES:
                    # Bit by bit while the rows are formatted, not all at the end.
                    _sync_data(stream.fileno())
                    unsynced = 0
            except Exception as error:  # kept, or the queue would never be drained again
                self._failure = error

    def _finish_writing(self) -> None:
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None

    async def publish(self) -> None:
        """Wait for the writer, flush to the disk and move the file into place: in a
        thread, as the last blocks and the fsync can take a while on a slow disk."""
        await asyncio.to_thread(self._publish)

    def _publish(self) -> None:
        self._finish_writing()
        if self._failure is not None:
            raise _file_error(self._failure, self.path)
        assert self._stream is not None
        try:
            self._stream.flush()
            if self._temporary is None:
                if self._opened_here:
                    self._opened_here = False
                    self._stream.close()
                return
            assert self._target is not None
            descriptor = self._stream.fileno()
            if self._target.existing is not None:
                _take_mode_and_owner(descriptor, self._target.existing)
            # On the disk before the rename: after a crash, the old file or the whole
            # new one, never a short one.
            os.fsync(descriptor)
            self._stream.close()
            _check_still_a_file(self._target)
            os.replace(self._temporary, self._target.real)
        except OSError as error:
            raise _file_error(error, self.path) from error
        self._temporary = None

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Shielded: a second cancel must not leave the temporary file behind.
        await asyncio.shield(asyncio.to_thread(self._discard))

    def _discard(self) -> None:
        self._finish_writing()
        if self._opened_here:
            try:
                assert self._stream is not None
                self._stream.close()
            except OSError:
                pass  # a full disk fails the flush on close too; the file goes anyway
        if self._temporary is None:
            return
        try:
            self._temporary.unlink()
        except FileNotFoundError:
            pass
        except OSError as unlink_error:
            log.warning("could not remove %s: %s", self._temporary, unlink_error)


def _end_waiting_open(path: Path, opening: asyncio.Future[int]) -> None:
    """A cancelled export may still wait in a thread to open a FIFO no one reads: be its
    reader for a moment so the open returns (a thread cannot be stopped otherwise), then
    close both ends."""
    reader: int | None = None
    # An error: not a FIFO after all, and its open does not wait.
    if not opening.done():
        with contextlib.suppress(OSError):
            reader = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))

    def close(opened: asyncio.Future[int]) -> None:
        if not opened.cancelled() and opened.exception() is None:
            os.close(opened.result())
        if reader is not None:
            os.close(reader)

    opening.add_done_callback(close)


def _take_mode_and_owner(descriptor: int, existing: os.stat_result) -> None:
    """Give the new file the owner and mode of the one it replaces (0600 stays 0600)."""
    own = os.fstat(descriptor)
    if hasattr(os, "fchown") and (own.st_uid, own.st_gid) != (existing.st_uid, existing.st_gid):
        try:
            os.fchown(descriptor, existing.st_uid, existing.st_gid)
        except PermissionError:
            # Only root gives a file away; a group of one's own is still allowed.
            with contextlib.suppress(PermissionError):
                os.fchown(descriptor, -1, existing.st_gid)
    # After the chown, which clears the set-id bits.
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, stat.S_IMODE(existing.st_mode))


def _check_still_a_file(target: ExportTarget) -> None:
    """Refuse to rename onto something put at the target while the rows were written."""
    try:
        now = os.lstat(target.real)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(now.st_mode):
        raise ExportError(
            f"{target.path} was replaced by something that is not a file during the export; "
            "it was left as it is."
        )


def _sync_data(descriptor: int) -> None:
    # fdatasync is POSIX but not macOS's or Windows': fsync does the same and a bit more.
    getattr(os, "fdatasync", os.fsync)(descriptor)


def _file_error(error: Exception, path: Path | None) -> Exception:
    """An OSError in words; anything else (our bug) as it is."""
    if not isinstance(error, OSError):
        return error
    where = str(path) if path is not None else "the output"
    folder = str(path.parent) if path is not None else "the output"
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return ExportError(f"There is not enough space on the disk for {where}.")
    if error.errno in (errno.EACCES, errno.EPERM):
        return ExportError(f"Records Desk may not write to {folder}; choose another folder.")
    if error.errno == errno.EROFS:
        return ExportError(f"{folder} is on a read-only disk; choose another folder.")
    if error.errno == errno.ENOENT:
        return ExportError(f"The folder {folder} does not exist.")
    if error.errno == errno.EPIPE:
        return ExportError("The program reading the export stopped reading.")
    return ExportError(f"Cannot write {where}: {error.strerror or error}.")
