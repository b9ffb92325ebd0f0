"""The async engine and the sessions every unit of work runs in.

One ``Database`` per connected database: an engine, ``async_session_maker`` for readers and
``get_session`` for one short unit of work that commits on success and rolls back on error.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import aiosqlite
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from app.changes import ChangeFeed
from app.config import describe_url
from app.core import redaction

if TYPE_CHECKING:
    from app.services.catalog import Catalog

log = logging.getLogger(__name__)

T = TypeVar("T")

# SQLite waits this long for another writer before giving up with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5_000
# Bounds a dead socket mid-query; pool_pre_ping only heals connections at checkout.
POSTGRES_COMMAND_TIMEOUT_S = 60
POSTGRES_CONNECT_TIMEOUT_S = 10
# Execution option read by the SQLite "begin" hook: writers take the write lock up front.
SQLITE_BEGIN_OPTION = "records_desk_sqlite_begin"
# The SQLite function every connection has for bytes as base64 text, the one form bytes
# take in every export (SQLite has no base64 of its own; PostgreSQL's encode() serves).
BASE64_FUNCTION = "records_desk_base64"


def base64_text(value: object) -> object:
    """``BASE64_FUNCTION``: bytes as base64 text; any other value as it is."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


# Types of file system where SQLite's WAL (shared memory between processes) does not work.
_NETWORK_FILE_SYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "fuse.sshfs", "afs", "ncpfs", "davfs"}
)


class Database:
    """An engine and its session factories for one database URL."""

    def __init__(
        self,
        url: URL,
        *,
        echo: bool = False,
        read_only: bool = False,
        connect_timeout_s: float = POSTGRES_CONNECT_TIMEOUT_S,
        edits_foreign: bool = False,
    ) -> None:
        self.url = url
        # Enforced by the database itself as well (see create_engine), so that no code path
        # of ours can write to a connection the user marked read-only.
        self.read_only = read_only
        # Another program's database found here is edited rather than opened read-only
        # (the connection's choice): never migrated, and on SQLite its journal mode is
        # left as that program set it.
        self.edits_foreign = edits_foreign and not read_only
        self.connect_timeout_s = connect_timeout_s
        # What the user should know about this database (services.connection sets them).
        self.notices: tuple[str, ...] = ()
        # Every commit's changes, for every reader of this database (app.changes).
        self.changes = ChangeFeed()
        # What it holds (app.services.catalog): None for our own schema, whose catalog is
        # built from our models; another program's is reflected when it opens.
        self.catalog: Catalog | None = None
        self.engine = create_engine(
            url,
            echo=echo,
            read_only=read_only,
            connect_timeout_s=connect_timeout_s,
            keep_journal=self.edits_foreign,
        )
        self.async_session_maker = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False, autoflush=False
        )
        self._writer_session_maker = async_sessionmaker(
            self.engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"}),
            class_=AsyncSession,
            expire_on_commit=False,
            autoflush=False,
        )

    @property
    def dialect_name(self) -> str:
        return self.url.get_backend_name()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect_name == "sqlite"

    @property
    def display_name(self) -> str:
        return describe_url(self.url)

    @asynccontextmanager
    async def get_session(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """One unit of work: commit when the block succeeds, roll back when it raises.

        ``write=True`` makes SQLite take its write lock when the transaction begins: a
        deferred transaction that upgrades to a writer fails at once with "database is
        locked", busy timeout or not.
        """
        maker = self._writer_session_maker if write else self.async_session_maker
        session = maker()
        try:
            yield session
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                # Cancelled while the block ran, without a pause for the cancel to land
                # (Cancel pressed while a statement was in the database): it is not too
                # late, so nothing is written.
                raise asyncio.CancelledError
            await _commit(session, keep_if_cancelled=write)
        except AbandonedCleanup:
            raise  # the session is still busy ending: no rollback or close beside it
        except BaseException:
            cancelled: asyncio.CancelledError | None = None
            for ending in (session.rollback, session.close):
                try:
                    await finish_despite_cancel(ending())
                except AbandonedCleanup:
                    raise
                except asyncio.CancelledError as error:
                    cancelled = cancelled or error  # cancelled meanwhile: end, then say so
                except Exception:
                    # The failure being raised says more than its rollback's.
                    log.debug("Ending a failed unit of work failed too", exc_info=True)
            if cancelled is not None:
                raise cancelled from None
            raise
        await finish_despite_cancel(session.close())

    async def dispose(self) -> None:
        await self.engine.dispose()


# After a cancel, the cleanup under way (commit, rollback, return to the pool) gets this
# long to end by itself before the cancel goes on without it.
CLEANUP_TIMEOUT_S = 10.0
# Cleanups that outlived their timeout, kept referenced until they end.
_LEFT_RUNNING: set[asyncio.Future[Any]] = set()


async def finish_despite_cancel(cleanup: Awaitable[Any]) -> None:
    """Run ``cleanup`` to its end even when the task awaiting it is cancelled meanwhile,
    then pass the cancel on. A rollback cut short by a cancel leaves its connection half
    reset: SQLAlchemy logs "Exception during reset" and throws the connection away (and on
    SQLite the cancel would interrupt the rollback itself).

    Uncancelled, it is simply awaited. Once cancelled, it gets CLEANUP_TIMEOUT_S more, so
    that a server gone silent cannot hold a cancelled task for ever; then it is left to end
    by itself and raises ``AbandonedCleanup`` (a CancelledError), so that nothing else is
    done with a session whose cleanup still runs."""
    task = asyncio.ensure_future(cleanup)
    try:
        # asyncio.wait, unlike awaiting the task, leaves it running when we are cancelled.
        await asyncio.wait({task})
    except asyncio.CancelledError:
        done, _ = await _wait_uncancellable(task, CLEANUP_TIMEOUT_S)
        if not done:
            log.warning(
                "A cleanup took over %s s after a cancel; left to end by itself.", CLEANUP_TIMEOUT_S
            )
            _LEFT_RUNNING.add(task)
            task.add_done_callback(_LEFT_RUNNING.discard)
            task.add_done_callback(_retrieve)
            raise AbandonedCleanup from None
        _retrieve(task)
        raise
    task.result()


async def _commit(session: AsyncSession, *, keep_if_cancelled: bool) -> None:
    """Commit, to its end even when a cancel arrives meanwhile: a commit cut short would
    only spoil the connection (it also returns it to the pool, reset). For a write
    (``keep_if_cancelled``), a cancel that came while the commit was on its way came too
    late: once the commit has succeeded the work is done, and saying "cancelled" would be
    untrue (a window would say nothing was written while everything was), so the cancel
    is taken back and the call returns. A read's cancel goes on: nobody wants its rows."""
    committing = asyncio.ensure_future(session.commit())
    try:
        await asyncio.wait({committing})
    except asyncio.CancelledError:
        done, _ = await _wait_uncancellable(committing, CLEANUP_TIMEOUT_S)
        if not done:
            _LEFT_RUNNING.add(committing)
            committing.add_done_callback(_LEFT_RUNNING.discard)
            committing.add_done_callback(_retrieve)
            raise AbandonedCleanup from None
        if committing.exception() is not None or not keep_if_cancelled:
            _retrieve(committing)
            raise
        current = asyncio.current_task()
        while current is not None and current.cancelling():
            current.uncancel()
        return
    committing.result()


class AbandonedCleanup(asyncio.CancelledError):
    """A cancelled unit of work whose cleanup was left running (finish_despite_cancel)."""


async def _wait_uncancellable(
    task: asyncio.Future[Any], limit_s: float
) -> tuple[set[asyncio.Future[Any]], set[asyncio.Future[Any]]]:
    """asyncio.wait for ``task`` up to ``limit_s`` seconds, riding out further cancels."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not task.done() and (remaining := deadline - loop.time()) > 0:
        try:
            await asyncio.wait({task}, timeout=remaining)
        except asyncio.CancelledError:
            continue
    return ({task}, set()) if task.done() else (set(), {task})


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Read a cleanup's failure nobody waits for any more, so it is logged, not lost."""
    if not task.cancelled() and task.exception() is not None:
        log.debug("A cleanup after a cancel failed", exc_info=task.exception())


def create_engine(
    url: URL,
    *,
    echo: bool = False,
    null_pool: bool = False,
    read_only: bool = False,
    connect_timeout_s: float = POSTGRES_CONNECT_TIMEOUT_S,
    keep_journal: bool = False,
) -> AsyncEngine:
    """The engine for ``url``; ``null_pool`` for one-off work such as a migration run.
    ``read_only`` makes the database itself refuse every write (SQLite's query_only,
    PostgreSQL's default_transaction_read_only); ``keep_journal`` leaves a SQLite file's
    journal mode as it is (another program's file, edited)."""
    # Every connection goes through here, so every password in use is known to the logs.
    redaction.hide(url.password)
    pooling: dict[str, Any] = {"poolclass": NullPool} if null_pool else {"pool_pre_ping": True}
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(
            url,
            echo=echo,
            async_creator=_sqlite_connector(url.database or "", read_only=read_only),
            **pooling,
        )
        _install_sqlite_hooks(
            engine, Path(url.database or ""), read_only=read_only, keep_journal=keep_journal
        )
        return engine
    if not null_pool:
        pooling.update(pool_size=5, max_overflow=10, pool_timeout=connect_timeout_s)
    server_settings = {"application_name": "Records Desk"}
    if read_only:
        server_settings["default_transaction_read_only"] = "on"
    return create_async_engine(
        url,
        echo=echo,
        connect_args={
            "timeout": connect_timeout_s,
            "command_timeout": POSTGRES_COMMAND_TIMEOUT_S,
            "server_settings": server_settings,
            # How SQLAlchemy's asyncpg dialect opens a connection (what its async_creator
            # sets), here with every argument it derived from the URL.
            "async_creator_fn": _connect_postgres,
        },
        **pooling,
    )


async def _connect_postgres(*args: Any, **kwargs: Any) -> Any:
    """asyncpg.connect, never cut short: a connect cancelled midway (a count superseded by
    a refresh while its connection opens) leaves asyncpg's SSL negotiation with a future
    nobody awaits, whose "unexpected connection_lost()" would be reported as our bug when
    it is collected. So the cancel is passed on at once, and the connect ends by itself in
    the background (within its own timeout); the connection it made goes straight back."""
    import asyncpg  # here: a start on a local file never loads it

    connecting = asyncio.ensure_future(asyncpg.connect(*args, **kwargs))
    try:
        return await asyncio.shield(connecting)
    except asyncio.CancelledError:
        _LEFT_RUNNING.add(connecting)
        connecting.add_done_callback(_LEFT_RUNNING.discard)
        connecting.add_done_callback(_close_unwanted)
        raise


async def cleanups_left_running() -> None:
    """Wait until every cleanup left to end by itself has ended (a cancelled connect's
    connection closed, a rollback that outlived its cancel): before a disposal that wants
    nothing of ours left on the server, and for tests that count connections."""
    while _LEFT_RUNNING:
        await asyncio.wait(set(_LEFT_RUNNING))


def _close_unwanted(connecting: asyncio.Future[Any]) -> None:
    """Close the connection a cancelled connect made after all (its failure is logged)."""
    if connecting.cancelled():
        return
    error = connecting.exception()
    if error is not None:
        log.debug("A cancelled connect failed by itself", exc_info=error)
        return
    closing = asyncio.ensure_future(connecting.result().close(timeout=CLEANUP_TIMEOUT_S))
    _LEFT_RUNNING.add(closing)
    closing.add_done_callback(_LEFT_RUNNING.discard)
    closing.add_done_callback(_retrieve)


def _sqlite_connector(
    path: str, *, read_only: bool = False
) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    async def connect() -> aiosqlite.Connection:
        connection = InterruptibleConnection(
            partial(_sqlite_connect, path, read_only=read_only), iter_chunk_size=64
        )
        thread = connection._thread
        thread.daemon = True  # as SQLAlchemy's own connector does: never hold the process open
        try:
            return await connection
        except BaseException:
            # aiosqlite stops the worker of a failed connect without waiting for it; the
            # thread would then report to a closed event loop, traceback and all.
            if thread.is_alive():
                await asyncio.to_thread(thread.join)
            raise

    return connect


def _sqlite_connect(path: str, *, read_only: bool) -> sqlite3.Connection:
    """A connection to the file at ``path``. Read-only, a file with a rollback journal
    (most programs' files) is opened so (``mode=ro``): ``query_only`` alone would still
    roll back a crashed program's hot journal into it. A write-ahead-log file is opened
    as usual, ``query_only`` refusing every write of ours: ``mode=ro`` would leave an
    empty log and shared memory beside it (only the last connection to close removes
    them)."""
    timeout = SQLITE_BUSY_TIMEOUT_MS / 1000
    a_file = bool(path) and path != ":memory:" and not path.startswith("file:")
    if read_only and a_file and not _write_ahead_logged(Path(path)):
        uri = f"{Path(path).absolute().as_uri()}?mode=ro"
        try:
            return sqlite3.connect(uri, uri=True, timeout=timeout)
        except sqlite3.OperationalError:
            log.info("%s cannot be opened with mode=ro; opening it query_only", path)
    return sqlite3.connect(path, timeout=timeout)


def _write_ahead_logged(path: Path) -> bool:
    """Whether the SQLite file at ``path`` is in WAL mode (byte 18 of its header is 2)."""
    try:
        with path.open("rb") as file:
            header = file.read(19)
    except OSError:
        return False
    return len(header) == 19 and header[18] == 2


class InterruptibleConnection(aiosqlite.Connection):
    """An aiosqlite connection whose statement stops when the task awaiting it is cancelled.

    aiosqlite runs each call in its worker thread and only stops waiting when cancelled: the
    statement itself runs on (a superseded count over a million rows), and the rollback that
    returns the connection to the pool queues behind it. ``sqlite3.Connection.interrupt()``
    is safe to call from any thread and makes the running statement fail at once; SQLite
    clears the flag when the next statement starts, so a late interrupt harms nothing.
    """

    # The one future of stopping the worker: SQLAlchemy may close a connection it
    # invalidates and then force it shut as well (a task cancelled twice), and a second
    # stop request would wait for a worker that has already gone.
    _stopping: asyncio.Future[Any] | None = None

    def stop(self) -> asyncio.Future[Any] | None:
        if self._stopping is None:
            self._stopping = super().stop()
        return self._stopping

    async def run_in_worker(self, function: Callable[[sqlite3.Connection], T]) -> T:
        """``function(connection)`` in the worker thread, with the sqlite3 connection:
        work too long to hand back row by row (an export). It is interrupted like any
        statement when the awaiting task is cancelled, or by ``interrupt()``."""
        result: T = await self._execute(function, self._connection)
        return result

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        except asyncio.CancelledError:
            if self._connection is not None:
                self._connection.interrupt()
            raise


def _install_sqlite_hooks(
    engine: AsyncEngine, path: Path, *, read_only: bool, keep_journal: bool = False
) -> None:
    network_fs = network_file_system(path)
    if network_fs is not None:
        log.warning(
            "%s is on a network file system (%s), where SQLite's WAL mode does not work; "
            "using a rollback journal instead. Several writers may see 'database is locked'.",
            path,
            network_fs,
        )
    journal_mode = "DELETE" if network_fs else "WAL"

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to the "begin" hook below: the driver's own implicit
        # BEGIN breaks SAVEPOINT and cannot be made IMMEDIATE.
        dbapi_connection.isolation_level = None
        try:
            cursor = dbapi_connection.cursor()
            if not read_only and not keep_journal:
                # Switching the journal writes the file's header: never into a file the
                # user opened read-only, nor into another program's.
                cursor.execute(f"PRAGMA journal_mode={journal_mode}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            dbapi_connection.create_function(BASE64_FUNCTION, 1, base64_text, deterministic=True)
            if read_only:
                cursor.execute("PRAGMA query_only=ON")
            cursor.close()
        except Exception:
            # The pool never saw this connection; left open, its worker thread outlives
            # the event loop (a file that is not a database fails right here).
            dbapi_connection.close()
            raise

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def sqlite_fts5_tokenizer_available(connection: Connection, tokenizer: str) -> bool:
    """Whether this SQLite can make FTS5 tables that use ``tokenizer``.

    The trigram tokenizer arrived in SQLite 3.34.0, and a build may leave FTS5 out
    altogether: try it on a throwaway table in the temp schema, inside a savepoint so the
    caller's transaction goes on either way."""
    try:
        with connection.begin_nested():
            connection.exec_driver_sql(
                "CREATE VIRTUAL TABLE temp.records_desk_tokenizer_probe "
                f"USING fts5(x, tokenize='{tokenizer}')"
            )
            connection.exec_driver_sql("DROP TABLE temp.records_desk_tokenizer_probe")
    except exc.OperationalError as error:
        message = str(error.orig)
        if message.startswith(("no such tokenizer", "no such module")):
            return False
        raise
    return True


def network_file_system(path: Path) -> str | None:
    """The type of network file system holding ``path``, or None (also when unknown)."""
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    target = path.absolute()
    best: tuple[int, str] | None = None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point, fs_type = fields[1].replace("\\040", " "), fields[2]
        if target.is_relative_to(mount_point) and (best is None or len(mount_point) > best[0]):
            best = (len(mount_point), fs_type)
    if best is not None and best[1] in _NETWORK_FILE_SYSTEMS:
        return best[1]
    return None
