"""Starting the GUI: QApplication, the qasync loop, one exception hook, then the window."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

import qasync
from PySide6.QtWidgets import QApplication

from app.desktop import SHOWN_ON_STDERR, Settings, log_file
from app.workspace import Desk
from ui import system_libraries
from ui.collector import MainThreadCollector
from ui.connecting import open_connection, unopened
from ui.dialogs.error_report import ErrorReport
from ui.display import display_problem
from ui.icons import app_icon
from ui.main_window import APP_TITLE, MainWindow
from ui.tasks import spawn

log = logging.getLogger(__name__)


def run_gui(settings: Settings, *, verbose: bool = False, notice: str = "") -> int:
    """Run Records Desk until its last window closes; the process exit code. ``notice``:
    what the window must say at once (a settings file that could not be read)."""
    if not can_start_qt():
        return 1
    loop = start_qt()
    install_exception_hooks(loop)
    with loop:
        return int(loop.run_until_complete(run_session(settings, verbose=verbose, notice=notice)))


def can_start_qt() -> bool:
    """Whether QApplication can be made here; if not, the user has been told why. Qt
    aborts inside its constructor without a display or its X11 libraries, so this asks
    first."""
    no_display = display_problem()
    if no_display is not None:
        # Over SSH or in a service there is no desktop for a dialog either: one line.
        print(no_display, file=sys.stderr)
        log.error("%s", no_display, extra=SHOWN_ON_STDERR)
        return False
    if system_libraries.xcb_will_be_used():
        missing = system_libraries.missing_packages()
        if missing:
            system_libraries.tell(system_libraries.explanation(missing))
            return False
    return True


def start_qt() -> qasync.QEventLoop:
    """The QApplication (with its name and icon) and the qasync loop on it, made current."""
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_TITLE)
    app.setOrganizationName("Records Desk")
    # Linux desktops match the window to resources/records-desk.desktop by this name.
    app.setDesktopFileName("records-desk")
    app.setWindowIcon(app_icon())
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    return loop


async def run_session(
    settings: Settings,
    *,
    verbose: bool = False,
    on_opened: Callable[[MainWindow], None] | None = None,
    notice: str = "",
) -> int:
    """Open the database (upgrading a local file), show the window, wait for it to close;
    the window disposes the engine as it closes (MainWindow.closeEvent).

    A database that cannot be opened does not end the run: the window opens all the same,
    says why in a banner and shows the Connections dialog. Switching connection happens
    inside the window (MainWindow.switch_to)."""
    # The session, not Qt, decides when the app ends: the main window still disposes the
    # engine after the last browse window closes, on a loop that is still running.
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    collector: MainThreadCollector | None = None
    try:
        opened = await open_connection(settings, verbose=verbose)
        workspace = opened.workspace or unopened(settings)
        if notice:
            workspace.database.notices = (notice, *workspace.database.notices)
        window = MainWindow(
            settings.display_name,
            Desk(workspace),
            settings=opened.settings,
            problem=" ".join(part for part in (notice, opened.problem) if part),
            verbose=verbose,
        )
        closed = asyncio.Event()
        window.closed.connect(closed.set)
        window.show()
        freeze_startup_objects()
        collector = MainThreadCollector(app)
        collector.start()
        if opened.problem:
            log.warning("Could not open the database at start: %s", opened.problem)
            window.show_connections()
        if on_opened is not None:
            on_opened(window)
        elif opened.workspace is not None:
            # What the last session left open (or lost to a crash) comes back first.
            spawn(window.restore_session(), name="restore the last session")
        await closed.wait()
        return 0
    finally:
        if collector is not None:
            collector.stop()
            collector.deleteLater()
        gc.enable()  # if startup had it off (app.__main__) and never got as far as a window


def freeze_startup_objects() -> None:
    """Take what startup created (modules, SQLAlchemy's mappers and caches, Qt wrappers)
    out of the garbage collector's sight. A full collection over them holds the window for
    50–75 ms (measured by the browse benchmark); frozen, collections only walk what the
    session itself makes. No collection first: it would cost the first window those same
    50–75 ms, to free the few cycles startup leaves (Python's documented pattern is the same:
    collector off early, freeze, collector on: here ui.collector, on the GUI thread)."""
    gc.freeze()


def install_exception_hooks(loop: asyncio.AbstractEventLoop) -> ErrorReport:
    """Our bugs are logged with their traceback (to the log file: the console drops records
    that carry one) and reported in one dialog that stays until dismissed."""
    report = ErrorReport(APP_TITLE, log_file())

    def on_error(
        error_type: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        summary = "".join(traceback.format_exception_only(error_type, error)).strip()
        log.error("Unexpected error: %s", summary, exc_info=(error_type, error, tb))
        report.add(summary, "".join(traceback.format_exception(error_type, error, tb)))

    def on_loop_exception(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if error is None:
            log.error("Event loop: %s", context.get("message"))
            return
        on_error(type(error), error, error.__traceback__)

    sys.excepthook = on_error
    loop.set_exception_handler(on_loop_exception)
    return report
