"""The export benchmark: every live user to CSV through ``app.services.export``.

    uv run python -m tests.perf export --engine sqlite --rows 1000000 --repeat 3

Each round (``--repeat`` of them, after one untimed warm-up round) runs, interleaved:

- the native tool for the same rows and columns: ``sqlite3 -csv -header`` or psql's
  ``\\copy (SELECT …) TO … CSV HEADER``, a process of its own, as a user would run it;
- our export on a plain asyncio loop, as the command line runs it (``asyncio.run``), with
  the default CsvOptions (CR LF, formula protection) and again with LF line endings;
- the same export spawned as a task on the qasync loop of a QApplication (as ui/ does with
  ``ui.tasks.spawn``) while a 10 ms QTimer notes every gap between its ticks: the longest
  gap is the longest time the window could not have repainted or taken input;
- a tenth of the rows (a filter on the id), to show that memory does not grow with them.

Besides wall time, the CPU time of our process and of the native tool's are reported: on
a noisy machine they wobble less (for PostgreSQL they leave out the server's share).

Every file goes to a temporary folder and is deleted once its lines are counted: ours
must have exactly as many lines as the native tool's. Memory is the process's peak RSS
during an export over its RSS before (Linux: /proc/self/clear_refs resets the peak).

    uv run python -m tests.perf export --engine postgresql --format xlsx --rows 1000000

``--format xlsx`` or ``jsonl`` times the Excel workbook or the JSON Lines export
(``app.services.export_formats.export``, default options) instead. No native tool writes
them, so each round runs, interleaved: our CSV export of the same rows (default
CsvOptions) as the yardstick, the format's export on a plain loop, and the same as a task
on the qasync loop with the heartbeat. The report gives each one's seconds, rows/s, CPU
seconds and peak RSS growth, and the format's time over the CSV export's. Rows are
checked in every file: lines for CSV and JSON Lines; for a workbook each sheet's
dimension (the used range XlsxWriter writes at its top: cheap at a million rows), and on
the warm-up round the rows openpyxl reads back (read-only mode, every sheet; slow).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse
import asyncio
import gc
import platform
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import PySide6
import qasync
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.core.database import Database
from app.query import QuerySpec, Range, ViewState
from app.services import catalog
from app.services.export import (
    CsvOptions,
    ExportProgress,
    ExportRequest,
    ExportResult,
    export_csv,
)
from app.services.export_formats import ExportFormat, ExportOptions, export
from tests.perf.common import BenchDatabase, emit, log, ms, prepare_blocking, rss_mb
from ui.main import freeze_startup_objects
from ui.tasks import spawn

ENTITY = "users"
# The heartbeat's period: a gap much longer than this is the event loop being held.
HEARTBEAT_MS = 10
# The native tools get this long before the benchmark gives up on them.
NATIVE_TIMEOUT_S = 600
# Exports a tenth of the rows too: the memory an export needs must not grow with them.
SMALL_FRACTION = 10
RATIO_BUDGETS = {"sqlite": 0.5, "postgresql": 0.8}
MAX_STALL_BUDGET_MS = 30
# A workbook or JSON Lines file beside our CSV export of the same rows: at most this many
# times its time, and at most this much peak RSS growth (JSON Lines: no budget but stalls).
FORMAT_BUDGETS: dict[ExportFormat, tuple[float, float]] = {ExportFormat.XLSX: (4.0, 100.0)}
_READ_CHUNK = 1 << 20
# A worksheet's used range, near the top of its XML: <dimension ref="A1:H1000001"/>.
_DIMENSION = re.compile(rb'<dimension ref="[A-Z]+(\d+)(?::[A-Z]+(\d+))?"')
_SHEET_XML = re.compile(r"xl/worksheets/sheet\d+\.xml")
# Bytes of a sheet's XML read to find its dimension: it comes right after the root element.
_DIMENSION_BYTES = 4096

T = TypeVar("T")


class BenchError(Exception):
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000, help="users to seed")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds")
    parser.add_argument(
        "--reseed", action="store_true", help="seed again even if a seeded database exists"
    )
    parser.add_argument("--no-lf", action="store_true", help="skip the export with LF line endings")
    parser.add_argument(
        "--format",
        choices=[kind.value for kind in ExportFormat],
        default=ExportFormat.CSV.value,
        help="the file type: csv against the native tool; xlsx or jsonl against our csv",
    )


def run(arguments: argparse.Namespace) -> int:
    if arguments.rows < 1 or arguments.repeat < 1:
        raise SystemExit("--rows and --repeat must be at least 1")
    bench = prepare_blocking(arguments.engine, arguments.rows, reseed=arguments.reseed)
    # What a browse window shows.
    columns = ExportRequest(ViewState(ENTITY)).columns(catalog.entity(ENTITY))
    kind = ExportFormat(arguments.format)
    if kind is not ExportFormat.CSV:
        return run_format(bench, columns, kind, arguments.repeat)
    native = NativeTool.for_bench(bench, columns)
    results = Results()
    with qasync_loop() as gui_loop:
        heartbeat = Heartbeat()
        with tempfile.TemporaryDirectory(prefix="records-desk-export-bench-") as folder:
            rounds = Rounds(bench, columns, native, Path(folder), gui_loop, heartbeat, results)
            rounds.run(arguments.repeat, lf=not arguments.no_lf)
    emit(report(bench, columns, native, arguments.repeat, results))
    return 0


def run_format(
    bench: BenchDatabase, columns: tuple[str, ...], kind: ExportFormat, repeat: int
) -> int:
    results = FormatResults()
    with qasync_loop() as gui_loop:
        heartbeat = Heartbeat()
        with tempfile.TemporaryDirectory(prefix="records-desk-export-bench-") as folder:
            rounds = FormatRounds(bench, columns, kind, Path(folder), gui_loop, heartbeat, results)
            rounds.run(repeat)
    emit(format_report(bench, columns, kind, repeat, results))
    return 0


@contextmanager
def qasync_loop() -> Iterator[qasync.QEventLoop]:
    """The QApplication's qasync loop, as the app runs one; closed after."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    gui_loop = qasync.QEventLoop(app)
    try:
        yield gui_loop
    finally:
        asyncio.set_event_loop(gui_loop)
        gui_loop.run_until_complete(gui_loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        gui_loop.close()


# -- the native tools ------------------------------------------------------------------------


@dataclass(frozen=True)
class NativeTool:
    """The command that writes the same rows and columns, and what it is."""

    name: str
    command: Callable[[Path], list[str]]
    stdout_to_file: bool
    environment: dict[str, str]
    version: str

    @staticmethod
    def for_bench(bench: BenchDatabase, columns: Sequence[str]) -> NativeTool:
        sql = (
            f"SELECT {', '.join(columns)} FROM {ENTITY} "  # noqa: S608
            "WHERE deleted_at IS NULL ORDER BY id"
        )
        if bench.engine == "sqlite":
            sqlite = _tool("sqlite3")
            database = str(bench.sqlite_path)
            return NativeTool(
                "sqlite3 -csv -header",
                lambda _out: [sqlite, "-batch", "-csv", "-header", database, sql],
                stdout_to_file=True,
                environment=dict(os.environ),
                version=_tool_version([sqlite, "-version"]),
            )
        psql = _tool("psql")
        url = bench.url
        environment = dict(os.environ, PGCONNECT_TIMEOUT="10")
        if url.password is not None:
            environment["PGPASSWORD"] = str(url.password)
        connection = [
            f"--host={url.host or '127.0.0.1'}",
            f"--port={url.port or 5432}",
            f"--username={url.username or 'postgres'}",
            f"--dbname={url.database}",
        ]

        def command(out: Path) -> list[str]:
            path = str(out).replace("'", "''")
            copy = f"\\copy ({sql}) to '{path}' csv header"
            return [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", *connection, "-c", copy]

        return NativeTool(
            "psql \\copy … csv header",
            command,
            stdout_to_file=False,
            environment=environment,
            version=_tool_version([psql, "--version"]),
        )

    def export(self, out: Path) -> tuple[float, float]:
        """Seconds from starting the tool until it has exited, its file written, and the
        CPU seconds the tool used (its own process: a server's work is not in it)."""
        cpu_before = _children_cpu()
        started = time.perf_counter()
        if self.stdout_to_file:
            with out.open("wb") as stream:
                completed = subprocess.run(
                    self.command(out),
                    stdout=stream,
                    stderr=subprocess.PIPE,
                    env=self.environment,
                    timeout=NATIVE_TIMEOUT_S,
                    check=False,
                )
        else:
            completed = subprocess.run(
                self.command(out),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=self.environment,
                timeout=NATIVE_TIMEOUT_S,
                check=False,
            )
        seconds = time.perf_counter() - started
        cpu = _children_cpu() - cpu_before
        if completed.returncode != 0:
            message = completed.stderr.decode(errors="replace").strip()
            raise BenchError(f"{self.name} failed ({completed.returncode}): {message}")
        return seconds, cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BenchError(f"{name} is not on the PATH; the benchmark compares against it")
    return found


def _tool_version(command: list[str]) -> str:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    return completed.stdout.strip()


def count_lines(path: Path) -> int:
    """Line feeds in the file (a CR LF is one), read in chunks: memory stays flat."""
    lines = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_READ_CHUNK):
            lines += chunk.count(b"\n")
    return lines


# -- memory ----------------------------------------------------------------------------------


def reset_peak_rss() -> bool:
    """Make the kernel's peak RSS of this process (VmHWM) start again from now."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise BenchError("no VmHWM in /proc/self/status")


@dataclass(frozen=True)
class Memory:
    before_mb: float
    peak_mb: float  # NaN where the peak cannot be reset
    after_mb: float

    @property
    def peak_growth_mb(self) -> float:
        return self.peak_mb - self.before_mb

    @property
    def kept_mb(self) -> float:
        return self.after_mb - self.before_mb


# -- the event loop's heartbeat --------------------------------------------------------------


class Heartbeat:
    """A QTimer ticking every HEARTBEAT_MS that notes each gap between its ticks (and the
    main thread's CPU time in the longest: work on the loop, or waiting for the GIL)."""

    def __init__(self) -> None:
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._longest_cpu = 0.0
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()

    def start(self) -> None:
        self.gaps = []
        self._longest_cpu = 0.0
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self._timer.start()

    def stop(self) -> None:
        """Stops ticking; the gap still open counts (the export may end inside one)."""
        self._tick()
        self._timer.stop()

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        gap = now - self._last
        if not self.gaps or gap > max(self.gaps):
            self._longest_cpu = cpu - self._last_cpu
        self.gaps.append(gap)
        self._last, self._last_cpu = now, cpu

    @property
    def longest_cpu(self) -> float:
        return self._longest_cpu


# -- the rounds ------------------------------------------------------------------------------


@dataclass
class Export:
    """One export of ours: its time, what it wrote, and the memory it took."""

    seconds: float
    cpu_seconds: float  # this process, every thread: the client's share of the work
    rows: int
    bytes: int
    lines: int
    memory: Memory


@dataclass
class GuiExport:
    seconds: float
    rows: int
    lines: int
    gaps: list[float]
    longest_cpu: float


@dataclass
class Results:
    native_seconds: list[float] = field(default_factory=list)
    native_cpu_seconds: list[float] = field(default_factory=list)
    native_bytes: int = 0
    native_lines: list[int] = field(default_factory=list)
    ours: list[Export] = field(default_factory=list)
    ours_lf: list[Export] = field(default_factory=list)
    small: list[Export] = field(default_factory=list)
    gui: list[GuiExport] = field(default_factory=list)
    live_rows: int = 0
    small_live_rows: int = 0
    peak_resettable: bool = True
    cold: dict[str, float] = field(default_factory=dict)
    cold_memory_mb: float = float("nan")
    cold_max_stall: float = float("nan")


class Rounds:
    def __init__(
        self,
        bench: BenchDatabase,
        columns: tuple[str, ...],
        native: NativeTool,
        folder: Path,
        gui_loop: qasync.QEventLoop,
        heartbeat: Heartbeat,
        results: Results,
    ) -> None:
        self.bench = bench
        self.columns = columns
        self.native = native
        self.folder = folder
        self.gui_loop = gui_loop
        self.heartbeat = heartbeat
        self.results = results
        self.view = ViewState(ENTITY, QuerySpec(), columns)
        small_spec = QuerySpec(filters=(Range("id", high=bench.users // SMALL_FRACTION),))
        self.small_view = ViewState(ENTITY, small_spec, columns)

    def run(self, repeat: int, *, lf: bool) -> None:
        results = self.results
        results.live_rows = live_rows(self.bench)
        results.small_live_rows = live_rows(self.bench, up_to_id=self.bench.users // SMALL_FRACTION)
        log(f"{results.live_rows:,} live users of {self.bench.users:,}; columns {self.columns}")
        log("warm-up round (untimed, reported as *_cold_seconds)")
        results.cold["native"] = self.native_once(keep=False)
        first = self.ours_once(self.view, CsvOptions(), "ours")
        results.cold["ours"] = first.seconds
        results.cold_memory_mb = first.memory.peak_growth_mb
        first_gui = self.gui_once()
        results.cold["gui"] = first_gui.seconds
        results.cold_max_stall = max(first_gui.gaps)
        # The app freezes what startup made before its first window (ui.main); from here
        # on a full collection walks only what the exports themselves make.
        freeze_startup_objects()
        steps: list[tuple[str, Callable[[], object]]] = [
            ("native", lambda: self.native_once(keep=True)),
            ("ours", lambda: results.ours.append(self.ours_once(self.view, CsvOptions(), "ours"))),
            ("gui", lambda: results.gui.append(self.gui_once())),
        ]
        if lf:
            lf_options = CsvOptions(line_ending="\n")
            steps.append(
                (
                    "ours LF",
                    lambda: results.ours_lf.append(self.ours_once(self.view, lf_options, "LF")),
                )
            )
        steps.append(
            (
                "a tenth",
                lambda: results.small.append(
                    self.ours_once(self.small_view, CsvOptions(), "a tenth")
                ),
            )
        )
        for number in range(repeat):
            # Rotated each round: no step always runs right after the same other one.
            order = steps[number % len(steps) :] + steps[: number % len(steps)]
            for name, step in order:
                log(f"round {number + 1} of {repeat}: {name}")
                step()

    def native_once(self, *, keep: bool) -> float:
        out = self.folder / "native.csv"
        try:
            seconds, cpu = self.native.export(out)
            if keep:
                self.results.native_seconds.append(seconds)
                self.results.native_cpu_seconds.append(cpu)
                self.results.native_lines.append(count_lines(out))
                self.results.native_bytes = out.stat().st_size
        finally:
            out.unlink(missing_ok=True)
        log(f"  {self.native.name}: {seconds:.2f} s (CPU {cpu:.2f} s)")
        return seconds

    def ours_once(self, view: ViewState, options: CsvOptions, label: str) -> Export:
        """Our export on a fresh loop and engine, as ``records-desk export`` runs it."""
        out = self.folder / "ours.csv"
        try:
            gc.collect()
            before = rss_mb()
            self.results.peak_resettable = reset_peak_rss() and self.results.peak_resettable
            seconds, cpu, result_rows, result_bytes = asyncio.run(self._export(view, options, out))
            peak = peak_rss_mb() if self.results.peak_resettable else float("nan")
            gc.collect()
            after = rss_mb()
            lines = count_lines(out)
            size = out.stat().st_size
            if size != result_bytes:
                raise BenchError(f"the export says {result_bytes} bytes, the file has {size}")
        finally:
            out.unlink(missing_ok=True)
        log(
            f"  {label}: {seconds:.2f} s (CPU {cpu:.2f} s), {result_rows:,} rows, "
            f"peak RSS +{peak - before:.1f} MiB"
        )
        return Export(seconds, cpu, result_rows, result_bytes, lines, Memory(before, peak, after))

    async def _export(
        self, view: ViewState, options: CsvOptions, out: Path
    ) -> tuple[float, float, int, int]:
        database = Database(self.bench.url)
        try:
            started, cpu = time.perf_counter(), time.process_time()
            result = await export_csv(database, ExportRequest(view), options, out, ExportProgress())
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            await database.dispose()
        return seconds, cpu, result.rows, result.bytes

    def gui_once(self) -> GuiExport:
        """The export as the window runs it: a spawned task on the qasync loop, the
        heartbeat ticking meanwhile."""
        out = self.folder / "gui.csv"
        asyncio.set_event_loop(self.gui_loop)
        try:
            seconds, rows = self.gui_loop.run_until_complete(self._gui_export(out))
            lines = count_lines(out)
        finally:
            asyncio.set_event_loop(None)
            out.unlink(missing_ok=True)
        gaps = list(self.heartbeat.gaps)
        log(f"  on the qasync loop: {seconds:.2f} s, longest gap {ms(max(gaps))} ms")
        return GuiExport(seconds, rows, lines, gaps, self.heartbeat.longest_cpu)

    async def _gui_export(self, out: Path) -> tuple[float, int]:
        database = Database(self.bench.url)
        try:
            progress = ExportProgress()
            self.heartbeat.start()
            started = time.perf_counter()
            task = spawn(
                export_csv(database, ExportRequest(self.view), CsvOptions(), out, progress),
                name="export users",
            )
            try:
                result = await task
            finally:
                self.heartbeat.stop()
            seconds = time.perf_counter() - started
        finally:
            await database.dispose()
        return seconds, result.rows


def live_rows(bench: BenchDatabase, *, up_to_id: int | None = None) -> int:
    sql = "SELECT count(*) FROM users WHERE deleted_at IS NULL"
    if up_to_id is not None:
        sql += f" AND id <= {int(up_to_id)}"
    if bench.engine == "sqlite":
        connection = sqlite3.connect(bench.sqlite_path)
        try:
            return int(connection.execute(sql).fetchone()[0])
        finally:
            connection.close()
    return int(asyncio.run(_postgres_value(bench.dsn, sql)))


async def _postgres_value(dsn: str, sql: str) -> Any:
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


def _server_version(bench: BenchDatabase) -> str:
    if bench.engine == "sqlite":
        return sqlite3.sqlite_version
    return str(asyncio.run(_postgres_value(bench.dsn, "SHOW server_version")))


# -- other formats: a workbook or JSON Lines beside our CSV ------------------------------------


@dataclass
class FormatExport:
    """One export of ours in some format: its time, what it wrote, the rows in the file,
    the memory it took and, on the qasync loop, the heartbeat's gaps."""

    seconds: float
    cpu_seconds: float  # this process, every thread: the writer's thread is in it
    rows: int  # as the export reports them
    bytes: int
    file_rows: int  # counted in the file, header left out
    memory: Memory
    gaps: list[float] = field(default_factory=list)
    longest_cpu: float = 0.0


@dataclass
class FormatResults:
    csv: list[FormatExport] = field(default_factory=list)
    plain: list[FormatExport] = field(default_factory=list)
    gui: list[FormatExport] = field(default_factory=list)
    live_rows: int = 0
    peak_resettable: bool = True
    cold: dict[str, FormatExport] = field(default_factory=dict)
    # The warm-up workbook's rows as openpyxl reads them back, and how long that took.
    read_back_rows: int | None = None
    read_back_seconds: float = float("nan")


class FormatRounds:
    """Rounds of the chosen format's export, on a plain loop and on the qasync loop, each
    beside our CSV export of the same rows."""

    def __init__(
        self,
        bench: BenchDatabase,
        columns: tuple[str, ...],
        kind: ExportFormat,
        folder: Path,
        gui_loop: qasync.QEventLoop,
        heartbeat: Heartbeat,
        results: FormatResults,
    ) -> None:
        self.bench = bench
        self.kind = kind
        self.folder = folder
        self.gui_loop = gui_loop
        self.heartbeat = heartbeat
        self.results = results
        self.request = ExportRequest(ViewState(ENTITY, QuerySpec(), columns))
        self.options = ExportOptions(format=kind)
        self.csv_options = ExportOptions(format=ExportFormat.CSV)  # default CsvOptions

    def run(self, repeat: int) -> None:
        results = self.results
        results.live_rows = live_rows(self.bench)
        log(f"{results.live_rows:,} live users of {self.bench.users:,}; format {self.kind}")
        log("warm-up round (untimed, reported as cold_*)")
        results.cold["csv"] = self.plain_once(self.csv_options, "csv")
        # A workbook is read back once, in full: too slow for every round at a million rows.
        read_back = self.kind is ExportFormat.XLSX
        results.cold["plain"] = self.plain_once(self.options, str(self.kind), read_back=read_back)
        results.cold["gui"] = self.gui_once()
        # As the CSV rounds do (and the app before its first window): later collections
        # walk only what the exports make.
        freeze_startup_objects()
        steps: list[tuple[str, Callable[[], object]]] = [
            ("csv", lambda: results.csv.append(self.plain_once(self.csv_options, "csv"))),
            (
                str(self.kind),
                lambda: results.plain.append(self.plain_once(self.options, str(self.kind))),
            ),
            (f"{self.kind} on qasync", lambda: results.gui.append(self.gui_once())),
        ]
        for number in range(repeat):
            # Rotated each round: no step always runs right after the same other one.
            order = steps[number % len(steps) :] + steps[: number % len(steps)]
            for name, step in order:
                log(f"round {number + 1} of {repeat}: {name}")
                step()

    def plain_once(
        self, options: ExportOptions, label: str, *, read_back: bool = False
    ) -> FormatExport:
        """The export on a fresh loop and engine, as ``records-desk export`` runs it."""
        out = self.folder / f"plain{options.format.suffix}"
        try:
            (seconds, cpu, result), memory = self._with_memory(
                lambda: asyncio.run(self._timed(options, out, None))
            )
            file_rows = self._file_rows(options.format, out, result, read_back=read_back)
        finally:
            out.unlink(missing_ok=True)
        log(
            f"  {label}: {seconds:.2f} s (CPU {cpu:.2f} s), {result.rows:,} rows, "
            f"peak RSS +{memory.peak_growth_mb:.1f} MiB"
        )
        return FormatExport(seconds, cpu, result.rows, result.bytes, file_rows, memory)

    def gui_once(self) -> FormatExport:
        """The export as the window runs it: a spawned task on the qasync loop, the
        heartbeat ticking meanwhile."""
        out = self.folder / f"gui{self.kind.suffix}"
        asyncio.set_event_loop(self.gui_loop)
        try:
            (seconds, cpu, result), memory = self._with_memory(
                lambda: self.gui_loop.run_until_complete(
                    self._timed(self.options, out, self.heartbeat)
                )
            )
            file_rows = self._file_rows(self.kind, out, result, read_back=False)
        finally:
            asyncio.set_event_loop(None)
            out.unlink(missing_ok=True)
        gaps = list(self.heartbeat.gaps)
        log(
            f"  {self.kind} on the qasync loop: {seconds:.2f} s (CPU {cpu:.2f} s), "
            f"longest gap {ms(max(gaps))} ms, peak RSS +{memory.peak_growth_mb:.1f} MiB"
        )
        return FormatExport(
            seconds,
            cpu,
            result.rows,
            result.bytes,
            file_rows,
            memory,
            gaps,
            self.heartbeat.longest_cpu,
        )

    def _with_memory(self, call: Callable[[], T]) -> tuple[T, Memory]:
        """``call()`` and the memory it took: peak RSS over RSS before, RSS after."""
        gc.collect()
        before = rss_mb()
        self.results.peak_resettable = reset_peak_rss() and self.results.peak_resettable
        value = call()
        peak = peak_rss_mb() if self.results.peak_resettable else float("nan")
        gc.collect()
        return value, Memory(before, peak, rss_mb())

    async def _timed(
        self, options: ExportOptions, out: Path, heartbeat: Heartbeat | None
    ) -> tuple[float, float, ExportResult]:
        """Seconds and CPU seconds of one export, its engine's start and end left out; with
        a heartbeat, spawned as a task as ui/ does, the heartbeat ticking meanwhile."""
        database = Database(self.bench.url)
        try:
            if heartbeat is not None:
                heartbeat.start()
            started, cpu = time.perf_counter(), time.process_time()
            try:
                work = export(database, self.request, options, out, ExportProgress())
                if heartbeat is None:
                    result = await work
                else:
                    result = await spawn(work, name=f"export users to {options.format}")
            finally:
                if heartbeat is not None:
                    heartbeat.stop()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            await database.dispose()
        return seconds, cpu, result

    def _file_rows(
        self, kind: ExportFormat, out: Path, result: ExportResult, *, read_back: bool
    ) -> int:
        size = out.stat().st_size
        if size != result.bytes:
            raise BenchError(f"the export says {result.bytes} bytes, the file has {size}")
        if read_back:
            started = time.perf_counter()
            self.results.read_back_rows = read_back_rows(kind, out)
            self.results.read_back_seconds = time.perf_counter() - started
            log(
                f"  read back: {self.results.read_back_rows:,} rows "
                f"({self.results.read_back_seconds:.1f} s)"
            )
        return file_rows(kind, out)


def file_rows(kind: ExportFormat, out: Path) -> int:
    """The data rows in an exported file, found cheaply: lines (less the CSV's header), or
    what a workbook's sheets say their used ranges are."""
    if kind is ExportFormat.CSV:
        return count_lines(out) - 1
    if kind is ExportFormat.JSONL:
        return count_lines(out)
    return workbook_dimension_rows(out)


def read_back_rows(kind: ExportFormat, out: Path) -> int:
    """The data rows openpyxl finds in a workbook: every row parsed, so slow (a million
    take the better part of a minute)."""
    if kind is not ExportFormat.XLSX:
        raise ValueError(f"only a workbook is read back, not {kind}")
    # Imported here: the CSV benchmark's process stays as it was, openpyxl not in it.
    import openpyxl

    workbook = openpyxl.load_workbook(out, read_only=True)
    try:
        return sum(
            sum(1 for _ in sheet.iter_rows(values_only=True)) - 1  # less the header
            for sheet in workbook.worksheets
        )
    finally:
        workbook.close()


def workbook_dimension_rows(out: Path) -> int:
    """The data rows of every sheet by its ``<dimension>``: only each sheet's first bytes
    are inflated. XlsxWriter writes the range its cells used, header included."""
    rows = 0
    with zipfile.ZipFile(out) as archive:
        sheets = [name for name in archive.namelist() if _SHEET_XML.fullmatch(name)]
        if not sheets:
            raise BenchError(f"{out.name} holds no worksheet")
        for name in sheets:
            with archive.open(name) as stream:
                found = _DIMENSION.search(stream.read(_DIMENSION_BYTES))
            if found is None:
                raise BenchError(f"{name} in {out.name} has no dimension")
            last = int(found.group(2) or found.group(1))
            rows += last - 1  # the header's row
    return rows


# -- the report ------------------------------------------------------------------------------


def _round(value: float, digits: int = 3) -> float:
    return round(value, digits)


def _seconds(values: Sequence[float]) -> tuple[float, float]:
    return _round(statistics.median(values)), _round(min(values))


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def report(
    bench: BenchDatabase,
    columns: tuple[str, ...],
    native: NativeTool,
    repeat: int,
    results: Results,
) -> dict[str, Any]:
    ours_median, ours_best = _seconds([export.seconds for export in results.ours])
    native_median, native_best = _seconds(results.native_seconds)
    gui_median, gui_best = _seconds([export.seconds for export in results.gui])
    first = results.ours[0]
    expected_lines = results.live_rows + 1  # the header
    our_lines = {export.lines for export in (*results.ours, *results.ours_lf)}
    our_lines |= {export.lines for export in results.gui}
    rows_match = our_lines == {expected_lines} and set(results.native_lines) == {expected_lines}
    rows_match = rows_match and all(
        export.rows == results.live_rows for export in (*results.ours, *results.ours_lf)
    )
    small_match = all(export.rows == results.small_live_rows for export in results.small)
    gaps = [gap for export in results.gui for gap in export.gaps]
    longest = max(results.gui, key=lambda export: max(export.gaps))
    out: dict[str, Any] = {
        "benchmark": "export",
        "engine": bench.engine,
        "rows": bench.users,
        "live_rows": results.live_rows,
        "repeat": repeat,
        "columns": list(columns),
        "options": "CsvOptions() defaults: comma, header, CR LF, formula protection, no BOM",
        "seconds": ours_median,
        "best_seconds": ours_best,
        "native_seconds": native_median,
        "native_best_seconds": native_best,
        "ratio_vs_native": _round(native_median / ours_median),
        "ratio_vs_native_best": _round(native_best / ours_best),
        "rows_per_second": round(results.live_rows / ours_median),
        "native_rows_per_second": round(results.live_rows / native_median),
        "client_cpu_seconds": _round(statistics.median([e.cpu_seconds for e in results.ours])),
        "native_client_cpu_seconds": _round(statistics.median(results.native_cpu_seconds)),
    }
    if results.ours_lf:
        lf_median, lf_best = _seconds([export.seconds for export in results.ours_lf])
        out.update(
            seconds_lf=lf_median,
            best_seconds_lf=lf_best,
            ratio_vs_native_lf=_round(native_median / lf_median),
            bytes_lf=results.ours_lf[0].bytes,
        )
    out.update(
        gui_seconds=gui_median,
        gui_best_seconds=gui_best,
        max_stall_ms=ms(max(gaps)),
        max_stall_cpu_ms=ms(longest.longest_cpu),
        stall_median_ms=ms(statistics.median(gaps)),
        stall_p99_ms=ms(_percentile(gaps, 0.99)),
        stall_max_by_run_ms=[ms(max(export.gaps)) for export in results.gui],
        cold_max_stall_ms=ms(results.cold_max_stall),
        gaps_over_30_ms=sum(1 for gap in gaps if gap > MAX_STALL_BUDGET_MS / 1000),
        ticks=len(gaps),
        ticks_expected=round(sum(export.seconds for export in results.gui) * 1000 / HEARTBEAT_MS),
        heartbeat_ms=HEARTBEAT_MS,
    )
    peak = [export.memory.peak_growth_mb for export in results.ours]
    small_peak = [export.memory.peak_growth_mb for export in results.small]
    out.update(
        memory_mb=round(statistics.median(peak), 1),
        memory_max_mb=round(max(peak), 1),
        memory_first_mb=round(results.cold_memory_mb, 1),
        memory_kept_mb=round(statistics.median([e.memory.kept_mb for e in results.ours]), 1),
        memory_small_mb=round(statistics.median(small_peak), 1),
        small_rows=results.small_live_rows,
        small_rows_match=small_match,
        small_seconds=_round(statistics.median([export.seconds for export in results.small])),
        memory_measure="peak RSS during the export (VmHWM reset) minus RSS before"
        if results.peak_resettable
        else "unavailable: /proc/self/clear_refs not writable",
        rss_before_mb=round(first.memory.before_mb, 1),
        bytes=first.bytes,
        native_bytes=results.native_bytes,
        lines=first.lines,
        native_lines=results.native_lines[0],
        rows_match=rows_match,
        samples={
            "seconds": [_round(export.seconds) for export in results.ours],
            "native_seconds": [_round(seconds) for seconds in results.native_seconds],
            "seconds_lf": [_round(export.seconds) for export in results.ours_lf],
            "gui_seconds": [_round(export.seconds) for export in results.gui],
            "memory_mb": [round(value, 1) for value in peak],
            "memory_small_mb": [round(value, 1) for value in small_peak],
        },
        cold_seconds={name: _round(value) for name, value in results.cold.items()},
    )
    ratio_budget = RATIO_BUDGETS[bench.engine]
    out["budgets"] = {
        "ratio_vs_native_at_least": ratio_budget,
        "max_stall_ms_at_most": MAX_STALL_BUDGET_MS,
    }
    out["within_budget"] = {
        "ratio_vs_native": out["ratio_vs_native"] >= ratio_budget,
        "max_stall_ms": out["max_stall_ms"] <= MAX_STALL_BUDGET_MS,
        "rows_match": rows_match,
    }
    out["environment"] = _environment(bench, f"{native.name} ({native.version})")
    return out


def _environment(bench: BenchDatabase, native_tool: str) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "pyside6": PySide6.__version__,
        "qasync": version("qasync"),
        "sqlalchemy": version("sqlalchemy"),
        "driver": f"aiosqlite {version('aiosqlite')}"
        if bench.engine == "sqlite"
        else f"asyncpg {version('asyncpg')}",
        "database": _server_version(bench),
        "native_tool": native_tool,
        "qpa": QApplication.platformName(),
        "cpus": os.cpu_count(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "gc_frozen": True,
        "output_folder": tempfile.gettempdir(),
    }


def _median(exports: Sequence[FormatExport], value: Callable[[FormatExport], float]) -> float:
    return statistics.median([value(export) for export in exports])


def format_report(
    bench: BenchDatabase,
    columns: tuple[str, ...],
    kind: ExportFormat,
    repeat: int,
    results: FormatResults,
) -> dict[str, Any]:
    live = results.live_rows
    csv, plain, gui = results.csv, results.plain, results.gui
    seconds, best = _seconds([export.seconds for export in plain])
    csv_seconds, csv_best = _seconds([export.seconds for export in csv])
    gui_seconds, gui_best = _seconds([export.seconds for export in gui])
    cold = results.cold
    everything = [*csv, *plain, *gui, *cold.values()]
    rows_match = all(e.rows == live and e.file_rows == live for e in everything)
    rows_match = rows_match and results.read_back_rows in (None, live)
    gaps = [gap for export in gui for gap in export.gaps]
    longest = max(gui, key=lambda export: max(export.gaps))
    memory = [export.memory.peak_growth_mb for export in plain]
    gui_memory = [export.memory.peak_growth_mb for export in gui]
    out: dict[str, Any] = {
        "benchmark": "export",
        "format": str(kind),
        "engine": bench.engine,
        "rows": bench.users,
        "live_rows": live,
        "repeat": repeat,
        "columns": list(columns),
        "options": f"ExportOptions(format={kind.value!r}) defaults; "
        "reference: our CSV with CsvOptions() defaults",
        "native_tool": f"skipped: no native tool writes {kind.value}; "
        "the yardstick is our CSV export of the same rows in the same round",
        "seconds": seconds,
        "best_seconds": best,
        "rows_per_second": round(live / seconds),
        "cpu_seconds": _round(_median(plain, lambda e: e.cpu_seconds)),
        "microseconds_per_row": round(seconds / live * 1e6, 2),
        "csv_seconds": csv_seconds,
        "csv_best_seconds": csv_best,
        "csv_rows_per_second": round(live / csv_seconds),
        "csv_cpu_seconds": _round(_median(csv, lambda e: e.cpu_seconds)),
        # The format's time over our CSV's: above 1 is slower.
        "ratio_vs_csv": _round(seconds / csv_seconds),
        "ratio_vs_csv_best": _round(best / csv_best),
        "ratio_vs_csv_by_round": [
            _round(ours.seconds / reference.seconds)
            for ours, reference in zip(plain, csv, strict=True)
        ],
        "cpu_ratio_vs_csv": _round(
            _median(plain, lambda e: e.cpu_seconds) / _median(csv, lambda e: e.cpu_seconds)
        ),
        "gui_seconds": gui_seconds,
        "gui_best_seconds": gui_best,
        "gui_rows_per_second": round(live / gui_seconds),
        "gui_cpu_seconds": _round(_median(gui, lambda e: e.cpu_seconds)),
        "gui_ratio_vs_csv": _round(gui_seconds / csv_seconds),
        "max_stall_ms": ms(max(gaps)),
        "max_stall_cpu_ms": ms(longest.longest_cpu),
        "stall_median_ms": ms(statistics.median(gaps)),
        "stall_p99_ms": ms(_percentile(gaps, 0.99)),
        "stall_max_by_run_ms": [ms(max(export.gaps)) for export in gui],
        "cold_max_stall_ms": ms(max(cold["gui"].gaps)),
        "gaps_over_30_ms": sum(1 for gap in gaps if gap > MAX_STALL_BUDGET_MS / 1000),
        "ticks": len(gaps),
        "ticks_expected": round(sum(export.seconds for export in gui) * 1000 / HEARTBEAT_MS),
        "heartbeat_ms": HEARTBEAT_MS,
        "memory_mb": round(statistics.median(memory), 1),
        "memory_max_mb": round(max(memory), 1),
        "gui_memory_mb": round(statistics.median(gui_memory), 1),
        "gui_memory_max_mb": round(max(gui_memory), 1),
        "csv_memory_mb": round(_median(csv, lambda e: e.memory.peak_growth_mb), 1),
        "memory_first_mb": round(cold["plain"].memory.peak_growth_mb, 1),
        "memory_kept_mb": round(_median(plain, lambda e: e.memory.kept_mb), 1),
        "memory_measure": "peak RSS during the export (VmHWM reset) minus RSS before"
        if results.peak_resettable
        else "unavailable: /proc/self/clear_refs not writable",
        "rss_before_mb": round(plain[0].memory.before_mb, 1),
        "bytes": plain[0].bytes,
        "csv_bytes": csv[0].bytes,
        "file_rows": plain[0].file_rows,
        "rows_counted_by": _counted_by(kind),
        "read_back_rows": results.read_back_rows,
        "read_back_seconds": None  # JSON has no NaN
        if results.read_back_rows is None
        else _round(results.read_back_seconds, 1),
        "rows_match": rows_match,
        "samples": {
            "seconds": [_round(export.seconds) for export in plain],
            "csv_seconds": [_round(export.seconds) for export in csv],
            "gui_seconds": [_round(export.seconds) for export in gui],
            "memory_mb": [round(value, 1) for value in memory],
            "gui_memory_mb": [round(value, 1) for value in gui_memory],
        },
        "cold_seconds": {name: _round(export.seconds) for name, export in cold.items()},
    }
    out["budgets"], out["within_budget"] = _format_budgets(kind, out, rows_match)
    out["environment"] = _environment(bench, out["native_tool"])
    return out


def _counted_by(kind: ExportFormat) -> str:
    if kind is ExportFormat.XLSX:
        return (
            "each round: every sheet's <dimension> less its header; warm-up round also: "
            "openpyxl read-only, rows of every sheet less its header (read_back_rows)"
        )
    return "lines (one per row), every round"


def _format_budgets(
    kind: ExportFormat, out: dict[str, Any], rows_match: bool
) -> tuple[dict[str, float], dict[str, bool]]:
    """The budgets for ``kind`` and whether the report keeps them (reported, never
    asserted: a noisy machine must not fail a run). Memory is the larger peak of the
    plain and the qasync runs."""
    budgets: dict[str, float] = {"max_stall_ms_at_most": MAX_STALL_BUDGET_MS}
    within = {"max_stall_ms": out["max_stall_ms"] <= MAX_STALL_BUDGET_MS}
    if kind in FORMAT_BUDGETS:
        ratio, memory = FORMAT_BUDGETS[kind]
        budgets.update(ratio_vs_csv_at_most=ratio, memory_mb_at_most=memory)
        within.update(
            ratio_vs_csv=out["ratio_vs_csv"] <= ratio,
            memory_mb=max(out["memory_max_mb"], out["gui_memory_max_mb"]) <= memory,
        )
    within["rows_match"] = rows_match
    return budgets, within
