"""The browse benchmark: a real BrowseWindow on ``users``, offscreen, on a qasync loop.

    uv run python -m tests.perf browse --engine sqlite --rows 1000000

Measures what DESIGN.md budgets (first rows, jumps to the middle and the end, the first
page of a search, the longest event-loop stall, memory after scrolling top to bottom) and,
in the same run, what the raw driver needs for the comparable queries. Every timed phase
runs ``--repeat`` times in a fresh window (median and best reported), after one untimed
warm-up window whose figures are reported as ``*_cold_ms``.

With ``--foreign`` the same scenario then runs on another program's table in the same
run: the bench's live users copied into a table keyed by text (``person_key``), with no
index of ours, in a database without our migrations (opened read-only, its catalog
reflected as any foreign database's), and the report holds both and their ratios.

"Rows shown" means every row in the table's viewport is loaded and the viewport has been
painted once since; a stall is the longest gap between the ticks of a 2 ms QTimer.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse
import asyncio
import gc
import math
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import PySide6
import qasync
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSettings, Qt, QTimer, SignalInstance
from PySide6.QtWidgets import QAbstractItemView, QApplication, QWidget

from app.core.database import Database
from app.query import Page as ResultPage
from app.query import PageRequest, QuerySpec
from app.repositories.search import SearchTerm, glob_pattern, postgres_regex
from app.services import catalog, migrations
from app.services.catalog import EntityInfo
from app.services.records import RecordService
from app.workspace import Desk, Workspace
from tests.perf.common import (
    FOREIGN_TABLE,
    BenchDatabase,
    best,
    emit,
    log,
    median,
    ms,
    prepare_blocking,
    prepare_foreign,
    rss_mb,
)
from tests.perf.heartbeat import Heartbeat
from ui.browse_window import BrowseWindow
from ui.collector import MainThreadCollector
from ui.main import freeze_startup_objects
from ui.record_table_model import ANCHOR_STRIDE, PAGE_SIZE, CountState, RecordTableModel
from ui.window_state import WindowState

WINDOW_SIZE = (1000, 700)
# Bounds a wait on a broken scenario; a healthy one ends as soon as its signal comes.
WAIT_TIMEOUT_S = 120
ENTITY = "users"
BUDGETS = {
    "first_rows_ms": 50,
    "jump_middle_ms": 50,
    "jump_end_ms": 50,
    "search_first_page_ms": 50,
    "max_stall_ms": 30,
    "scroll_memory_mb": 50,
}
# Seeded emails read "first.last{id}@example.org": a surname followed by the first digits
# of an id matches a few dozen users (see rare_terms); every user matches "example".
_SURNAMES = ("hansen", "garcia", "patel", "nguyen", "kowalski", "rossi", "tanaka", "weber")
_COMMON_TERMS = ("example", "xample.o", "ample.org", "exampl", "mple.or", "example.org")


class BenchError(Exception):
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000, help="users to seed")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each phase")
    parser.add_argument(
        "--reseed", action="store_true", help="seed again even if a seeded database exists"
    )
    parser.add_argument(
        "--no-scroll", action="store_true", help="skip the top-to-bottom scroll (memory)"
    )
    parser.add_argument(
        "--foreign",
        action="store_true",
        help="also browse another program's copy of the users, keyed by text",
    )


def run(arguments: argparse.Namespace) -> int:
    if arguments.rows < 1 or arguments.repeat < 1:
        raise SystemExit("--rows and --repeat must be at least 1")
    bench = prepare_blocking(arguments.engine, arguments.rows, reseed=arguments.reseed)
    log("measuring the raw driver")
    native = measure_native(bench, arguments.repeat)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with tempfile.TemporaryDirectory() as folder:
            state = WindowState(
                QSettings(str(Path(folder) / "state.ini"), QSettings.Format.IniFormat)
            )
            scenario = Scenario(
                Database(bench.url),
                catalog.entity(ENTITY),
                bench,
                state,
                arguments.repeat,
                scroll=not arguments.no_scroll,
            )
            result = loop.run_until_complete(scenario.run())
            ours = report(bench, arguments.repeat, native, result)
            if arguments.foreign:
                database = loop.run_until_complete(foreign_database(bench))
                entity = catalog.catalog_of(database).entity(FOREIGN_TABLE)
                log(f"another program's {FOREIGN_TABLE}, keyed by {', '.join(entity.key)}")
                scenario = Scenario(database, entity, bench, state, arguments.repeat, scroll=False)
                result = loop.run_until_complete(scenario.run())
                theirs = report(bench, arguments.repeat, {}, result)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()
    if not arguments.foreign:
        emit(ours)
        return 0
    emit(
        {
            "benchmark": "browse --foreign",
            "engine": bench.engine,
            "rows": bench.users,
            "ours": ours,
            "foreign": theirs,
            # Another program's table against ours in the same run: 1.0 is as fast.
            "ratio_to_ours": {
                key: round(theirs[key] / ours[key], 2)
                for key in (*BUDGETS, "jump_first_deep_ms")
                if isinstance(ours.get(key), int | float)
                and isinstance(theirs.get(key), int | float)
                and ours[key]
            },
        }
    )
    return 0


async def foreign_database(bench: BenchDatabase) -> Database:
    """Another program's copy of the bench's users, opened as the app opens one."""
    database = Database(await prepare_foreign(bench), read_only=True)
    await migrations.prepare_for_use(database)
    return database


# -- the raw driver ----------------------------------------------------------------------------


def rare_terms(rows: int, count: int) -> list[str]:
    """Terms of a surname and an id prefix: about ``1.1 * 10**k`` ids start with a k-digit
    prefix (3-9 first), one in fifty of them with that surname — a few dozen users."""
    digits = max(1, math.floor(math.log10(max(rows, 10))) - 3)
    terms = []
    for number in range(count):
        prefix = "".join(str(3 + (number + position) % 7) for position in range(digits))
        terms.append(f"{_SURNAMES[number % len(_SURNAMES)]}{prefix}")
    return terms


def common_terms(count: int) -> list[str]:
    return [_COMMON_TERMS[number % len(_COMMON_TERMS)] for number in range(count)]


def measure_native(bench: BenchDatabase, repeat: int) -> dict[str, float]:
    """The comparable queries through the raw driver, outside the app (median of ``repeat``,
    after one untimed run of each)."""
    term = rare_terms(bench.users, 1)[0]  # the first rare term the app searches for
    if bench.engine == "sqlite":
        return _native_sqlite(bench.sqlite_path, term, repeat)
    return asyncio.run(_native_postgres(bench.dsn, term, repeat))


_LIVE = "SELECT * FROM users WHERE deleted_at IS NULL"
# What the app asks SQLite for a rare term: the trigram table's ids, the GLOB test kept.
_SQLITE_SEARCH = (
    f"{_LIVE} AND id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ?) "  # noqa: S608
    f"AND (name GLOB ? OR email GLOB ?) ORDER BY id LIMIT {PAGE_SIZE}"
)
_COMMON = "example"


def _native_sqlite(path: Path, term: str, repeat: int) -> dict[str, float]:
    connection = sqlite3.connect(path)
    try:
        count = connection.execute("SELECT count(*) FROM users WHERE deleted_at IS NULL")

        def timed(sql: str, *parameters: Any) -> float:
            samples = []
            for attempt in range(repeat + 1):
                started = time.perf_counter()
                connection.execute(sql, parameters).fetchall()
                if attempt:
                    samples.append(time.perf_counter() - started)
            return median([ms(sample) for sample in samples])

        live = int(count.fetchone()[0])
        middle_id = connection.execute(
            f"SELECT id FROM users WHERE deleted_at IS NULL ORDER BY id LIMIT 1 OFFSET {live // 2}"  # noqa: S608
        ).fetchone()[0]
        glob = glob_pattern(term)
        fts = SearchTerm.typed(term).fts_query(("name", "email"))
        return {
            "native_count_ms": timed("SELECT count(*) FROM users WHERE deleted_at IS NULL"),
            "native_first_page_ms": timed(f"{_LIVE} ORDER BY id LIMIT {PAGE_SIZE}"),
            "native_offset_middle_ms": timed(
                f"{_LIVE} ORDER BY id LIMIT {PAGE_SIZE} OFFSET {live // 2}"
            ),
            "native_offset_end_ms": timed(
                f"{_LIVE} ORDER BY id LIMIT {PAGE_SIZE} OFFSET {max(live - PAGE_SIZE, 0)}"
            ),
            "native_keyset_ms": timed(
                f"{_LIVE} AND id > ? ORDER BY id LIMIT {PAGE_SIZE}", middle_id
            ),
            "native_last_page_ms": timed(f"{_LIVE} ORDER BY id DESC LIMIT {PAGE_SIZE}"),
            "native_search_ms": timed(_SQLITE_SEARCH, fts, glob, glob),
            "native_search_common_ms": timed(
                f"{_LIVE} AND (name GLOB ? OR email GLOB ?) ORDER BY id LIMIT {PAGE_SIZE}",
                glob_pattern(_COMMON),
                glob_pattern(_COMMON),
            ),
        }
    finally:
        connection.close()


async def _native_postgres(dsn: str, term: str, repeat: int) -> dict[str, float]:
    connection = await asyncpg.connect(dsn, timeout=10)
    try:

        async def timed(sql: str, *parameters: Any) -> float:
            samples = []
            for attempt in range(repeat + 1):
                started = time.perf_counter()
                await connection.fetch(sql, *parameters)
                if attempt:
                    samples.append(time.perf_counter() - started)
            return median([ms(sample) for sample in samples])

        live = int(await connection.fetchval("SELECT count(*) FROM users WHERE deleted_at IS NULL"))
        middle_id = await connection.fetchval(
            f"SELECT id FROM users WHERE deleted_at IS NULL ORDER BY id LIMIT 1 OFFSET {live // 2}"  # noqa: S608
        )
        return {
            "native_count_ms": await timed("SELECT count(*) FROM users WHERE deleted_at IS NULL"),
            "native_first_page_ms": await timed(f"{_LIVE} ORDER BY id LIMIT {PAGE_SIZE}"),
            "native_offset_middle_ms": await timed(
                f"{_LIVE} ORDER BY id LIMIT {PAGE_SIZE} OFFSET {live // 2}"
            ),
            "native_offset_end_ms": await timed(
                f"{_LIVE} ORDER BY id LIMIT {PAGE_SIZE} OFFSET {max(live - PAGE_SIZE, 0)}"
            ),
            "native_keyset_ms": await timed(
                f"{_LIVE} AND id > $1 ORDER BY id LIMIT {PAGE_SIZE}", middle_id
            ),
            "native_last_page_ms": await timed(f"{_LIVE} ORDER BY id DESC LIMIT {PAGE_SIZE}"),
            # Literal patterns, as the app sends them (a generic plan cannot see the term).
            "native_search_ms": await timed(
                f"{_LIVE} AND (name ~ '{postgres_regex(term)}' "
                f"OR email ~ '{postgres_regex(term)}') ORDER BY id LIMIT {PAGE_SIZE}"
            ),
            "native_search_common_ms": await timed(
                f"{_LIVE} AND (name ~ '{postgres_regex(_COMMON)}' "
                f"OR email ~ '{postgres_regex(_COMMON)}') ORDER BY id LIMIT {PAGE_SIZE}"
            ),
        }
    finally:
        await connection.close()


# -- the event loop's heartbeat and the service calls ----------------------------------------


@dataclass
class BrowseCall:
    request: str
    rows: int
    seconds: float


class TimedRecordService(RecordService):
    """The app's own service, noting how long each page query takes (from the call until
    its rows are plain tuples), to tell the database's time from the window's."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.calls: list[BrowseCall] = []

    async def browse(
        self, entity: str, spec: QuerySpec, page: PageRequest, *, preview: int | None = None
    ) -> ResultPage:
        started = time.perf_counter()
        result = await super().browse(entity, spec, page, preview=preview)
        kind = type(page).__name__
        if getattr(page, "key", None) is not None:
            kind += "(key)"
        if getattr(page, "skip", 0) or getattr(page, "offset", 0):
            kind += f"+{getattr(page, 'skip', 0) or getattr(page, 'offset', 0)}"
        self.calls.append(BrowseCall(kind, len(result.rows), time.perf_counter() - started))
        return result


# -- the scenario ------------------------------------------------------------------------------


@dataclass
class Phase:
    """One timed step: its durations, stalls and the page queries it made, per run."""

    seconds: list[float] = field(default_factory=list)
    stalls: list[float] = field(default_factory=list)
    stall_cpu: list[float] = field(default_factory=list)  # main thread's, in the longest gap
    query_seconds: list[float] = field(default_factory=list)
    requests: list[list[str]] = field(default_factory=list)


class Scenario:
    def __init__(
        self,
        database: Database,
        entity: EntityInfo,
        bench: BenchDatabase,
        state: WindowState,
        repeat: int,
        *,
        scroll: bool,
    ) -> None:
        self.bench = bench
        self.state = state
        self.repeat = repeat
        self.scroll = scroll
        self.entity = entity
        self.heartbeat = Heartbeat()
        self.database = database
        self.records = TimedRecordService(self.database)
        self.desk = Desk(Workspace(self.database, records=self.records))
        self.phases: dict[str, Phase] = {}
        self.cold: dict[str, float] = {}
        self.facts: dict[str, Any] = {}
        self._calls_from = 0

    async def run(self) -> dict[str, Any]:
        # As ui.main.run_session does once the main window is up.
        freeze_startup_objects()
        self.facts["gc_frozen"] = True
        collector = MainThreadCollector()
        collector.start()
        self.heartbeat.start()
        try:
            log("warm-up window (reported as *_cold_ms)")
            await self.session(rare_terms(self.bench.users, self.repeat + 1)[-1], "example.o", None)
            rare = rare_terms(self.bench.users, self.repeat)
            common = common_terms(self.repeat)
            for number in range(self.repeat):
                log(f"run {number + 1} of {self.repeat}")
                await self.session(rare[number], common[number], self.phases)
            self.facts["search_terms"] = rare
            self.facts["search_common_terms"] = common
            if self.scroll:
                await self.scroll_through()
        finally:
            self.heartbeat.stop()
            collector.stop()
            await drain()
            await self.database.dispose()
        return {"phases": self.phases, "cold": self.cold, "facts": self.facts}

    @contextmanager
    def timing(self, name: str, phases: dict[str, Phase] | None) -> Iterator[None]:
        """Times the block into ``phases[name]`` (``self.cold`` when None): its duration,
        the longest heartbeat gap in it and the page queries it made."""
        self._calls_from = len(self.records.calls)
        self.heartbeat.reset()
        started = time.perf_counter()
        yield
        elapsed = time.perf_counter() - started
        stall, stall_cpu = self.heartbeat.longest()
        calls = self.records.calls[self._calls_from :]
        if phases is None:
            self.cold[name] = elapsed
            self.cold[f"{name}_stall"] = stall
            return
        phase = phases.setdefault(name, Phase())
        phase.seconds.append(elapsed)
        phase.stalls.append(stall)
        phase.stall_cpu.append(stall_cpu)
        phase.query_seconds.append(sum(call.seconds for call in calls))
        phase.requests.append([f"{call.request}:{call.rows}" for call in calls])

    def note(self, name: str, seconds: float, phases: dict[str, Phase] | None) -> None:
        if phases is None:
            self.cold[name] = seconds
        else:
            phases.setdefault(name, Phase()).seconds.append(seconds)

    async def session(
        self, rare_term: str, common_term: str, phases: dict[str, Phase] | None
    ) -> None:
        """One window through every timed phase: open, count, jump to the middle and to
        the end, a rare search, a common one; then closed, its work drained."""
        counted = Moments()
        with self.timing("first_rows", phases):
            opened = time.perf_counter()
            window = BrowseWindow(self.desk, self.entity, self.state)
            window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            model = window.model
            assert model is not None
            counted.watch(model)
            paints = PaintCounter(window.table.viewport())
            window.resize(*WINDOW_SIZE)
            window.show()
            shown = time.perf_counter()
            await rows_shown(window, paints, "the first rows")
        self.note("window_open", shown - opened, phases)
        self.facts.setdefault("visible_rows_in_window", visible_rows(window)[1] + 1)

        await settled(model, "the exact count")
        self.note("count", counted.exact_at - opened, phases)
        live = model.rowCount()
        self.facts["live_rows"] = live

        # Anchors are made when a deep jump first needs them: that jump reads its rows
        # with an OFFSET meanwhile, and the jumps after it start from a kept key.
        with self.timing("jump_first_deep", phases):
            jumped = time.perf_counter()
            window.table.scrollTo(
                model.index(live // 4, 0), QAbstractItemView.ScrollHint.PositionAtTop
            )
            await rows_shown(window, paints, "rows a quarter down")
        await anchored(model, "the anchors")
        self.note("anchors", counted.anchors_at - jumped, phases)
        self.facts["anchors"] = model.anchor_count

        middle = live // 2
        with self.timing("jump_middle", phases):
            window.table.scrollTo(
                model.index(middle, 0), QAbstractItemView.ScrollHint.PositionAtTop
            )
            await rows_shown(window, paints, "rows in the middle")
        if visible_rows(window)[0] != middle:
            raise BenchError(f"the jump showed row {visible_rows(window)[0]}, not {middle}")

        with self.timing("jump_end", phases):
            window.table.scrollToBottom()
            await rows_shown(window, paints, "the last rows")
        if visible_rows(window)[1] != live - 1:
            raise BenchError(f"the end shows row {visible_rows(window)[1]}, not {live - 1}")

        for name, term in (
            ("search_first_page", rare_term),
            ("search_common_first_page", common_term),
        ):
            window.search_box.setText(term)
            counted = Moments()
            counted.watch(model)
            with self.timing(name, phases):
                searched = time.perf_counter()
                window.on_search_committed()
                await rows_shown(window, paints, f"the first page of {term!r}")
            await settled(model, f"the count of {term!r}")
            self.note(f"{name}_count", counted.exact_at - searched, phases)
            self.facts.setdefault(f"{name}_matches", {})[term] = model.rowCount()
        window.close()
        await drain()

    async def scroll_through(self) -> None:
        """Top to bottom in steps of PAGE_SIZE rows, each waiting for its rows (and for one
        heartbeat, so that one step's paint and the next step's are not counted as one
        stall): the memory this leaves behind, and the longest stall on the way."""
        log("scrolling top to bottom")
        window = BrowseWindow(self.desk, self.entity, self.state)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        model = window.model
        assert model is not None
        paints = PaintCounter(window.table.viewport())
        window.resize(*WINDOW_SIZE)
        window.show()
        await rows_shown(window, paints, "the first rows")
        await settled(model, "the exact count")
        await drain_others()
        gc.collect()
        before = rss_mb()
        bar = window.table.verticalScrollBar()
        per_item = window.table.verticalScrollMode() is QAbstractItemView.ScrollMode.ScrollPerItem
        step = (
            PAGE_SIZE
            if per_item
            else PAGE_SIZE * window.table.verticalHeader().defaultSectionSize()
        )
        steps = 0
        phases = self.phases
        with self.timing("scroll", phases):
            value = 0
            while True:
                bar.setValue(min(value, bar.maximum()))
                await rows_shown(window, paints, f"rows at scroll position {bar.value()}")
                await self.heartbeat.next_tick()
                steps += 1
                if bar.value() >= bar.maximum():
                    break
                value += step
        gc.collect()
        after = rss_mb()
        self.facts.update(
            scroll_steps=steps,
            scroll_rss_before_mb=round(before, 1),
            scroll_rss_after_mb=round(after, 1),
            scroll_memory_mb=round(after - before, 1),
            scroll_cached_pages=model.cached_page_count(),
            scroll_page_queries=len(self.records.calls) - self._calls_from,
        )
        window.close()
        await drain()


class Moments:
    """When a model's count became exact and its anchors arrived."""

    def __init__(self) -> None:
        self.exact_at = math.nan
        self.anchors_at = math.nan

    def watch(self, model: RecordTableModel) -> None:
        def on_count_changed() -> None:
            now = time.perf_counter()
            if model.count_state is CountState.EXACT and math.isnan(self.exact_at):
                self.exact_at = now
            if anchors_ready(model) and math.isnan(self.anchors_at):
                self.anchors_at = now

        model.count_changed.connect(on_count_changed)


def anchors_ready(model: RecordTableModel) -> bool:
    if model.count_state is not CountState.EXACT:
        return False
    count = model.total_rows if model.total_rows is not None else model.rowCount()
    return count <= ANCHOR_STRIDE or model.anchor_count == count // ANCHOR_STRIDE


def visible_rows(window: BrowseWindow) -> tuple[int, int]:
    """The first and last row the table shows (-1, -1 when it shows none)."""
    table = window.table
    count = table.model().rowCount()
    if count == 0:
        return -1, -1
    first = max(table.rowAt(0), 0)
    last = table.rowAt(table.viewport().height() - 1)
    return first, count - 1 if last < 0 else last


def shows_its_rows(window: BrowseWindow) -> bool:
    model = window.model
    assert model is not None
    if model.error is not None:
        raise BenchError(f"loading failed: {model.error}")
    first, last = visible_rows(window)
    if first < 0:
        return model.count_state is CountState.EXACT
    return all(model.is_loaded(row) for row in range(first, last + 1, PAGE_SIZE)) and (
        model.is_loaded(last)
    )


class PaintCounter(QObject):
    """Counts the paint events of a widget (the table's viewport)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


async def rows_shown(window: BrowseWindow, paints: PaintCounter, what: str) -> None:
    """Until every row the table shows is loaded and painted. The view's own paint asks
    for the rows; when they arrive, the paint their dataChanged schedules ends the wait,
    and if none has run by the time the wait ends, one is forced (synchronously): the
    paint is inside the measured time exactly once."""
    model = window.model
    assert model is not None
    ready_after = [paints.count]

    def ready() -> bool:
        if shows_its_rows(window):
            ready_after[0] = paints.count
            return True
        return False

    await until(
        ready,
        (model.rows_loaded, model.count_changed, model.load_failed, model.modelReset),
        what,
    )
    if paints.count == ready_after[0]:
        window.table.viewport().repaint()


async def settled(model: RecordTableModel, what: str) -> None:
    exact = CountState.EXACT
    await until(lambda: model.count_state is exact, (model.count_changed, model.load_failed), what)


async def anchored(model: RecordTableModel, what: str) -> None:
    await until(lambda: anchors_ready(model), (model.count_changed, model.load_failed), what)


class Watchdog:
    """Bounds every wait with one re-armed QTimer. (``asyncio.wait_for`` would not do: on
    qasync a cancelled ``call_later`` keeps its handle and Qt timer until it would have
    fired, so thousands of waits would pile up in the memory being measured.)"""

    def __init__(self) -> None:
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(WAIT_TIMEOUT_S * 1000)
        self._timer.timeout.connect(self._expire)
        self._waiting: tuple[asyncio.Future[None], str] | None = None

    async def wait(self, future: asyncio.Future[None], what: str) -> None:
        self._waiting = (future, what)
        self._timer.start()
        try:
            await future
        finally:
            self._timer.stop()
            self._waiting = None

    def _expire(self) -> None:
        if self._waiting is not None and not self._waiting[0].done():
            future, what = self._waiting
            future.set_exception(BenchError(f"waited {WAIT_TIMEOUT_S} s for {what}"))


_WATCHDOG: list[Watchdog] = []


async def until(
    condition: Callable[[], bool], signals: tuple[SignalInstance, ...], what: str
) -> None:
    """Wait until ``condition()`` holds, checking it now and after each of ``signals``."""
    if condition():
        return
    arrived: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def check(*_: object) -> None:
        if arrived.done():
            return
        try:
            if condition():
                arrived.set_result(None)
        except BenchError as error:
            arrived.set_exception(error)

    if not _WATCHDOG:
        _WATCHDOG.append(Watchdog())
    for signal in signals:
        signal.connect(check)
    try:
        await _WATCHDOG[0].wait(arrived, what)
    finally:
        for signal in signals:
            signal.disconnect(check)


async def drain_others() -> None:
    """Let every other task on the loop finish: queries still under way (a count or the
    anchors a closed window no longer waits for) must not slow the next phase."""
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    if pending:
        await asyncio.wait(pending, timeout=WAIT_TIMEOUT_S)


async def drain() -> None:
    await drain_others()
    # The closed window's deferred deletes, now rather than at some later tick.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    await drain_others()


# -- the report ------------------------------------------------------------------------------


def report(
    bench: BenchDatabase, repeat: int, native: dict[str, float], result: dict[str, Any]
) -> dict[str, Any]:
    phases: dict[str, Phase] = result["phases"]
    cold: dict[str, float] = result["cold"]
    facts: dict[str, Any] = result["facts"]
    out: dict[str, Any] = {
        "benchmark": "browse",
        "engine": bench.engine,
        "rows": bench.users,
        "live_rows": facts.get("live_rows"),
        "repeat": repeat,
    }
    timed = [
        "first_rows",
        "window_open",
        "count",
        "jump_first_deep",
        "anchors",
        "jump_middle",
        "jump_end",
        "search_first_page",
        "search_first_page_count",
        "search_common_first_page",
        "search_common_first_page_count",
    ]
    for name in timed:
        samples = [ms(seconds) for seconds in phases[name].seconds]
        out[f"{name}_ms"] = median(samples)
        out[f"{name}_best_ms"] = best(samples)
        if name in cold:
            out[f"{name}_cold_ms"] = ms(cold[name])
    stalls = {
        name: round(max(ms(stall) for stall in phase.stalls), 2)
        for name, phase in phases.items()
        if phase.stalls
    }
    out["max_stall_ms"] = max(stalls.values())
    out["stall_by_phase_ms"] = stalls
    out["stall_cpu_by_phase_ms"] = {
        name: ms(max(zip(phase.stalls, phase.stall_cpu, strict=True))[1])
        for name, phase in phases.items()
        if phase.stalls
    }
    out["stall_median_by_phase_ms"] = {
        name: median([ms(stall) for stall in phase.stalls])
        for name, phase in phases.items()
        if phase.stalls and name != "scroll"
    }
    out["cold_stall_by_phase_ms"] = {
        name.removesuffix("_stall"): ms(value)
        for name, value in cold.items()
        if name.endswith("_stall")
    }
    if "scroll" in phases:
        out["scroll_memory_mb"] = facts["scroll_memory_mb"]
        out["scroll_steps"] = facts["scroll_steps"]
        out["scroll_seconds"] = round(phases["scroll"].seconds[0], 2)
        out["scroll_ms_per_step"] = round(
            phases["scroll"].seconds[0] * 1000 / facts["scroll_steps"], 2
        )
        out["scroll_query_ms_per_step"] = round(
            phases["scroll"].query_seconds[0] * 1000 / facts["scroll_steps"], 2
        )
        for key in ("scroll_rss_before_mb", "scroll_rss_after_mb", "scroll_cached_pages"):
            out[key] = facts[key]
    out.update(native)
    out["app_query_ms"] = {
        name: median([ms(seconds) for seconds in phase.query_seconds])
        for name, phase in phases.items()
        if phase.query_seconds and name != "scroll"
    }
    out["page_requests"] = {
        name: phase.requests[-1]
        for name, phase in phases.items()
        if phase.requests and name != "scroll"
    }
    out["search_terms"] = facts.get("search_terms")
    out["search_matches"] = facts.get("search_first_page_matches")
    out["search_common_terms"] = facts.get("search_common_terms")
    out["anchors"] = facts.get("anchors")
    out["visible_rows_in_window"] = facts.get("visible_rows_in_window")
    out["window_px"] = list(WINDOW_SIZE)
    out["page_size"] = PAGE_SIZE
    out["budgets"] = dict(BUDGETS)
    out["within_budget"] = {
        key: out[key] <= limit for key, limit in BUDGETS.items() if out.get(key) is not None
    }
    out["environment"] = {
        "python": platform.python_version(),
        "pyside6": PySide6.__version__,
        "qpa": QApplication.platformName(),
        "cpus": os.cpu_count(),
        "gc_frozen": facts.get("gc_frozen"),
    }
    return out
