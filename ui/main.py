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

from app.config import Settings, SettingsError, save_database_url
from app.core.logs import log_file
from app.services import migrations
from app.services.connection import Database, open_database
from app.services.errors import RecordsDeskError
from app.services.records import RecordService
from ui import system_libraries
from ui.dialogs.error_report import ErrorReport
from ui.icons import app_icon
from ui.main_window import APP_TITLE, MainWindow
from ui.messages import show_message
from ui.progress import Progress, with_progress

log = logging.getLogger(__name__)


def run_gui(settings: Settings, *, verbose: bool = False) -> int:
    """Run Records Desk until its last window closes; the process exit code."""
    if system_libraries.xcb_will_be_used():
        missing = system_libraries.missing_packages()
        if missing:
            system_libraries.tell(system_libraries.explanation(missing))
            return 1
    loop = start_qt()
    install_exception_hooks(loop)
    with loop:
        return int(loop.run_until_complete(run_session(settings, verbose=verbose)))


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
) -> int:
    """Open the database (upgrading a local file), show the window, wait for it to close;
    the window disposes the engine as it closes (MainWindow.closeEvent).

    Open another database… in the window closes it and opens the chosen one in its place,
    remembered for the next start; one that cannot be opened is explained and the one
    before it opened again."""
    # The session, not Qt, decides when the app ends: the main window still disposes the
    # engine after the last browse window closes, on a loop that is still running.
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    frozen = False
    current, previous = settings, None
    try:
        while True:
            database = await open_prepared(current, verbose=verbose)
            if database is None:
                if previous is None:
                    return 1
                current, previous = previous, None
                continue
            window = MainWindow(current.display_name, RecordService(database))
            if previous is not None:
                remember(current, window)
            chosen: list[Settings] = []
            closed = asyncio.Event()
            window.closed.connect(closed.set)
            window.database_chosen.connect(chosen.append)
            window.show()
            if not frozen:
                freeze_startup_objects()
                frozen = True
            if on_opened is not None:
                on_opened(window)
            await closed.wait()
            if not chosen:
                return 0
            current, previous = chosen[-1], current
    finally:
        gc.enable()  # if startup had it off (app.__main__) and never got as far as a window


def remember(settings: Settings, window: MainWindow) -> None:
    """The database just chosen is the one the next start opens; if that cannot be
    written down, the window says so and carries on."""
    try:
        save_database_url(settings.database_url)
    except (SettingsError, OSError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        log.warning("Could not remember the database chosen: %s", reason)
        window.statusBar().showMessage(
            f"The next start will not open this database by itself: {reason}"
        )


async def open_prepared(settings: Settings, *, verbose: bool = False) -> Database | None:
    """The database, opened and ready (a local file upgraded first, with progress); None
    when it cannot be used, after a message that says why."""
    database: Database | None = None
    try:
        database = open_database(settings, echo=verbose)
        progress = Progress(f"Opening {settings.display_name}…", APP_TITLE)
        prepared = await with_progress(
            migrations.prepare_for_use(database, waiting=progress.say), progress
        )
    except RecordsDeskError as error:
        await show_message(None, "Cannot open the database", str(error))
        prepared = False
    except Exception as error:
        # Our bug: logged and reported like any other (install_exception_hooks); the
        # session goes on with the database before this one, if there was one.
        sys.excepthook(type(error), error, error.__traceback__)
        prepared = False
    if prepared:
        return database
    if database is not None:
        await database.dispose()
    return None


def freeze_startup_objects() -> None:
    """Take what startup created (modules, SQLAlchemy's mappers and caches, Qt wrappers)
    out of the garbage collector's sight. A full collection over them holds the window for
    50–75 ms (measured by the browse benchmark); frozen, collections only walk what the
    session itself makes. No collection first: it would cost the first window those same
    50–75 ms, to free the few cycles startup leaves (Python's documented pattern is the same:
    collector off early, freeze, collector on)."""
    gc.freeze()
    gc.enable()  # if startup had it off (app.__main__)


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
