"""``records-desk --smoke-test``: proof that a build starts, migrates and shows rows.

In a throwaway folder (settings, data and log alike) it starts the GUI through the same
``run_session`` as a user's first start: the local database made and migrated, the main
window shown with its notice of an empty database. It then runs that notice's Load demo
data (thirty users), opens one browse window per kind and waits until each shows its
first rows. It prints one JSON object — ``startup_ms`` (process start to the main window
painted) and ``first_rows_ms`` (process start to the first browse window's rows painted)
among others — and exits 0; any error, warning, timeout, missing notice or window without
rows makes it exit 1 with ``"problems"`` saying what. CI runs the packaged executable so.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import (
    QEvent,
    QMessageLogContext,
    QObject,
    QtMsgType,
    qInstallMessageHandler,
    qVersion,
)
from PySide6.QtWidgets import QApplication, QWidget

from app import __version__
from app.desktop import (
    configure_logging,
    is_frozen,
    keyring_problem,
    load_settings,
    stop_logging,
    use_folders_under,
)
from app.services import migrations
from app.services.errors import RecordsDeskError
from app.services.seeding import SeedOptions
from ui.display import display_problem
from ui.main import install_exception_hooks, run_session, start_qt
from ui.main_window import MainWindow

# Imported when the browse windows open, as the app does: the phases then measure the
# imports of a real start, from source as from the bundle.
if TYPE_CHECKING:
    from app.services.records import RecordService
    from ui.browse_window import BrowseWindow

# What the smoke test's Load demo data adds: every kind of record, in one quick batch.
SMOKE_DATA = SeedOptions(users=30, batch_users=30, deleted_fraction=0)
SMOKE_PASSWORD = "smoke test password"
# Where the JSON goes when the process has no stdout (a windowed build on Windows).
REPORT_FILE_NAME = "smoke-test.json"
# Generous for a slow CI machine; a healthy run takes about a second.
TIMEOUT_S = 60.0
# A window that failed still closes within this, its work ended.
CLOSE_TIMEOUT_S = 10.0
# Qt says these on a headless run (offscreen has no window manager); they are not faults.
HARMLESS_QT_MESSAGES = ("This plugin does not support propagateSizeHints",)


class Problems:
    """Everything that went wrong, from any source: the run fails if this is not empty."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append(line)


def run_smoke_test(first_line_ran: float) -> int:
    """The smoke test's exit code. ``first_line_ran`` (a ``time.perf_counter()`` value) is
    the start of the clock where the OS does not say when the process started."""
    process_started, clock = process_start(first_line_ran)
    # Where the time before the first window goes, for whoever makes startup faster.
    phases = {
        "python_started_ms": round((first_line_ran - process_started) * 1000, 1),
        "imported_ms": _ms_since(process_started),
    }
    no_display = display_problem()
    if no_display is not None:
        # Qt would abort in its constructor, before any JSON: the report says why instead.
        return print_report({"ok": False, "problems": [no_display]})
    root = Path(tempfile.mkdtemp(prefix="records-desk-smoke-"))
    use_folders_under(root)
    problems = Problems()
    collector: logging.Handler | None = None
    try:
        configure_logging()
        collector = watch_logging(problems)
        previous_handler = qInstallMessageHandler(qt_message_watcher(problems))
        loop = start_qt()
        phases["qt_started_ms"] = _ms_since(process_started)
        if QApplication.windowIcon().isNull():
            problems.add("the application icon did not load (resources/icons missing?)")
        if not migrations.empty_database_script().is_file():
            # Not fatal to a user (the migrations make the database instead) but slower.
            problems.add(f"there is no {migrations.empty_database_script()}")
        report = install_exception_hooks(loop)
        try:
            with loop:
                result = loop.run_until_complete(smoke(process_started, problems))
                result["clock"] = clock
                result["phases"] = phases | result.get("phases", {})
        finally:
            qInstallMessageHandler(previous_handler)
        if report.count:
            problems.add(f"{report.count} unexpected error(s); see the log")
    except Exception as error:  # the smoke test reports every failure, ours included
        logging.getLogger(__name__).exception("smoke test failed")
        problems.add(f"{type(error).__name__}: {error}")
        result = {}
    finally:
        # The run's windows, collected here on the GUI thread rather than by whichever
        # thread allocates next (ui/collector.py) when it runs in-process (the tests).
        gc.collect()
        use_folders_under(None)
        if collector is not None:
            logging.getLogger().removeHandler(collector)
            logging.captureWarnings(False)
        stop_logging()
    result["ok"] = not problems.lines
    result["problems"] = problems.lines
    if problems.lines:
        result["kept_folder"] = str(root)  # its log says more
    else:
        shutil.rmtree(root, ignore_errors=True)
    return print_report(result)


def print_report(result: dict[str, Any]) -> int:
    """Print the smoke test's JSON; its exit code."""
    text = json.dumps(result)
    if sys.stdout is not None:
        print(text, flush=True)
    else:  # a windowed build on Windows has no stdout: the JSON goes beside the program
        Path(sys.executable).with_name(REPORT_FILE_NAME).write_text(text, encoding="utf-8")
    return 0 if result["ok"] else 1


async def smoke(process_started: float, problems: Problems) -> dict[str, Any]:
    result: dict[str, Any] = {
        "phases": {},
        "version": __version__,
        "frozen": is_frozen(),
        "platform": QApplication.platformName(),
        "qt": qVersion(),
        "python": platform.python_version(),
    }

    def since_start() -> float:
        return _ms_since(process_started)

    settings = load_settings(environ={})
    alembic_loaded_before = "alembic" in sys.modules  # by whoever runs this in-process
    opened: asyncio.Future[MainWindow] = asyncio.get_running_loop().create_future()
    # The user's own start: the local database made and migrated, the main window shown.
    session = asyncio.ensure_future(run_session(settings, on_opened=opened.set_result))
    try:
        async with asyncio.timeout(TIMEOUT_S):
            window = await _first_of(opened, session)
            result["phases"]["main_window_made_ms"] = since_start()
            await painted(window)
            result["startup_ms"] = since_start()
            if "alembic" in sys.modules and not alembic_loaded_before:
                # The new database was migrated rather than made from its script: a first
                # start a quarter of a second slower than it should be.
                problems.add("the first start loaded Alembic, not the empty-database script")
            # What a first start offers, and its Load demo data (a little of it).
            await until((window.counts_loaded,), window.load_demo_action.isEnabled)
            result["phases"]["counts_ms"] = since_start()
            if not window.empty_panel.isVisible():
                problems.add("the empty database's notice did not show")
            began = time.perf_counter()
            message = await window.load_demo_data(SMOKE_DATA)
            result["demo_data_ms"] = _ms_since(began)
            if not message.startswith(f"Added {SMOKE_DATA.users} users"):
                problems.add(f"Load demo data said: {message}")
            rows: dict[str, int] = {}
            for index, entity in enumerate(window.entities):
                browser = window.open_browser(entity.name)
                if index == 0:
                    result["phases"]["first_window_made_ms"] = since_start()
                rows[entity.name] = await first_rows(browser)
                if index == 0:
                    result["first_rows_ms"] = since_start()
                if rows[entity.name] == 0:
                    problems.add(f"the {entity.label} window shows no rows")
            result["all_windows_ms"] = since_start()
            result["rows_shown"] = rows
            await save_a_record(window.desk.records, problems)
            result["keyring"] = check_keyring(problems)
            window.close()
            code = await session
            if code != 0:
                problems.add(f"the session ended with exit code {code}")
    except TimeoutError:
        problems.add(f"timed out after {TIMEOUT_S:.0f} s")
    finally:
        await wind_up(session, opened)
    return result


async def save_a_record(records: RecordService, problems: Problems) -> None:
    """What a record form does on Save, password hash included (its library is loaded only
    then: a bundle missing it would fail here, not in a user's first form)."""
    try:
        user = await records.create(
            "users", {"email": "smoke@example.org", "name": "Smoke Test"}, password=SMOKE_PASSWORD
        )
    except RecordsDeskError as error:
        problems.add(f"saving a new user failed: {error}")
        return
    from app.services.passwords import password_matches

    if not password_matches(user["hashed_password"], SMOKE_PASSWORD):
        problems.add("a saved password does not verify against its hash")


def check_keyring(problems: Problems) -> str:
    """Whether passwords can go to the system keyring here: a machine without one is
    fine (passwords then last a run), a bundle without the keyring library, or on Linux
    without the Secret Service client that stands in for SecretStorage, is not."""
    if sys.platform.startswith("linux"):
        try:
            importlib.import_module("app.core.secret_service")
        except ImportError as error:
            problems.add(f"the bundle lacks the Secret Service client: {error}")
    problem = keyring_problem()
    if problem is not None and "could not be loaded" in problem:
        problems.add(f"the bundle lacks the keyring library: {problem}")
    return problem or "usable"


async def wind_up(session: asyncio.Future[int], opened: asyncio.Future[MainWindow]) -> None:
    """After a failure too, the session ends as the app's does: its window closes and its
    work ends before the loop does (a task left behind would hold up the next session)."""
    if session.done():
        return
    if opened.done() and shiboken6.isValid(opened.result()):
        opened.result().close()
    _, pending = await asyncio.wait({session}, timeout=CLOSE_TIMEOUT_S)
    if pending:
        session.cancel()
        await asyncio.wait({session})


async def _first_of(opened: asyncio.Future[MainWindow], session: asyncio.Future[int]) -> MainWindow:
    waiting: list[asyncio.Future[Any]] = [opened, session]
    done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    if opened in done:
        return opened.result()
    raise RuntimeError(f"the main window never opened (exit code {session.result()})")


async def painted(widget: QWidget) -> None:
    """Until ``widget`` is next painted on screen (an update is asked for at once)."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    class Watcher(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.Paint and not done.done():
                done.set_result(None)
            return False

    watcher = Watcher(widget)
    widget.installEventFilter(watcher)
    try:
        widget.update()
        await done
    finally:
        widget.removeEventFilter(watcher)


async def first_rows(window: BrowseWindow) -> int:
    """Until the window's first rows are loaded and painted; how many rows it has (0 when
    its count says the view is empty)."""
    from ui.record_table_model import CountState

    model = window.model
    assert model is not None

    def settled() -> bool:
        if model.error is not None:
            raise RuntimeError(f"the {window.entity.label} window failed: {model.error}")
        if model.rowCount():
            return model.is_loaded(0)
        return model.count_state is CountState.EXACT

    await until(
        (model.rows_loaded, model.count_changed, model.load_failed, model.modelReset), settled
    )
    if model.rowCount():
        await painted(window.table.viewport())
    return model.rowCount()


async def until(signals: tuple[Any, ...], condition: Callable[[], bool]) -> None:
    """Until ``condition()`` holds, checking it now and after each emission of ``signals``."""
    changed = asyncio.Event()
    for signal in signals:
        signal.connect(changed.set)
    try:
        while not condition():
            changed.clear()
            await changed.wait()
    finally:
        for signal in signals:
            signal.disconnect(changed.set)


def watch_logging(problems: Problems) -> logging.Handler:
    """A warning or error logged anywhere (Python warnings included) is a problem."""

    class Collector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.name == __name__:
                return  # the smoke test's own report of a problem it has added already
            problems.add(f"log {record.levelname.lower()}: {record.getMessage()}")

    collector = Collector(logging.WARNING)
    # Every warning, once per place: Python hides deprecations and unclosed resources
    # by default, which are exactly what a packaging slip shows as.
    warnings.simplefilter("default")
    logging.captureWarnings(True)
    logging.getLogger().addHandler(collector)
    return collector


def qt_message_watcher(
    problems: Problems,
) -> Callable[[QtMsgType, QMessageLogContext, str], None]:
    """Qt's warnings are problems too (and still reach stderr, as without a handler)."""

    def handle(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
        if kind == QtMsgType.QtDebugMsg or kind == QtMsgType.QtInfoMsg:
            return
        if message.startswith(HARMLESS_QT_MESSAGES):
            return
        problems.add(f"Qt: {message}")
        print(f"qt: {message}", file=sys.stderr)

    return handle


def _ms_since(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 1)


def process_start(first_line_ran: float) -> tuple[float, str]:
    """When this process started, as a ``time.perf_counter()`` value, and how that is
    known: "proc" (Linux's own record, to the 10 ms of a clock tick) or "interpreter"
    (the first line of ours that ran, which misses the interpreter's own start)."""
    now = time.perf_counter()
    try:
        stat = Path(f"/proc/{os.getpid()}/stat").read_text()
        # The command name (field 2) is in parentheses and may hold spaces.
        fields = stat.rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22, starttime: clock ticks since boot
        started = ticks / os.sysconf("SC_CLK_TCK")
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started
        return now - age, "proc"
    except (OSError, ValueError, IndexError, AttributeError):
        return first_line_ran, "interpreter"
