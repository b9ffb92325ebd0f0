"""Our bugs are reported in one window that stays until dismissed, says that the app carries on
and where the log is, and offers the details and a whole report to copy without a password,
while the traceback goes to the log file and not to stderr (issue 6, item 4)."""

from __future__ import annotations

import asyncio
import gc
import logging
import platform
import sys
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt, qVersion
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

import app
from app.core.logs import configure_logging, log_file
from ui.dialogs.error_report import MAX_DETAILED, ErrorReport, ErrorReportDialog
from ui.main import install_exception_hooks
from ui.tasks import spawn

SECRET = "Secret#99%x"


@pytest.fixture
def hooks(
    qt_loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ErrorReport]:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    report = install_exception_hooks(qt_loop)
    yield report
    if report.box is not None:
        report.box.close()


@pytest.fixture
def app_logging() -> Iterator[None]:
    """The app's own logging set-up, taken down again after the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging()
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def connect_to_the_shop() -> None:
    raise RuntimeError(f"cannot reach postgresql://me:{SECRET}@127.0.0.1/shop")


async def failing_work() -> None:
    connect_to_the_shop()


def error_boxes() -> list[ErrorReportDialog]:
    return [
        widget
        for widget in QApplication.topLevelWidgets()
        if isinstance(widget, ErrorReportDialog) and widget.isVisible()
    ]


def raise_through_excepthook() -> None:
    try:
        connect_to_the_shop()
    except RuntimeError:
        sys.excepthook(*sys.exc_info())


@pytest.mark.usefixtures("app_logging")
def test_a_bug_is_reported_in_a_dialog_that_stays_with_the_log_and_no_secret(
    qt_loop: asyncio.AbstractEventLoop,
    hooks: ErrorReport,
    qtbot: QtBot,
    capfd: pytest.CaptureFixture[str],
) -> None:
    async def scenario() -> None:
        task = spawn(failing_work(), name="failing work")
        await asyncio.wait({task})
        await asyncio.sleep(0)  # the done callback reports on the next turn

    qt_loop.run_until_complete(scenario())
    gc.collect()  # an unreferenced box would be gone now

    (box,) = error_boxes()
    assert box is hooks.box
    assert box.accessibleName() == "Unexpected error"
    assert box.headline.text() == "Something went wrong inside Records Desk."
    message = box.message.text()
    assert str(log_file()) in message
    assert "RuntimeError: cannot reach postgresql://me:***@127.0.0.1/shop" in message
    assert "Records Desk carries on: its windows can still be used." in message
    # No traceback reaches a user's eyes unasked.
    assert not box.details.isVisible()
    box.details_button.click()
    assert box.details.isVisible()
    assert box.details_button.accessibleName() == box.details_button.text() == "Hide details"
    details = box.details.toPlainText()
    assert "Traceback" in details
    assert "connect_to_the_shop" in details
    everything = box.headline.text() + message + details
    assert "Secret" not in everything
    assert "99%x" not in everything

    logged = log_file().read_text(encoding="utf-8")
    assert "Traceback" in logged
    assert "connect_to_the_shop" in logged
    assert "Secret" not in logged
    printed = capfd.readouterr().err
    assert "Traceback" not in printed
    assert "Secret" not in printed


def test_a_burst_of_errors_is_one_dialog_that_counts_them(
    qt_loop: asyncio.AbstractEventLoop, hooks: ErrorReport, qtbot: QtBot
) -> None:
    for _ in range(MAX_DETAILED + 3):
        raise_through_excepthook()

    (box,) = error_boxes()
    assert box.headline.text() == (
        f"Something went wrong inside Records Desk ({MAX_DETAILED + 3} errors)."
    )
    assert box.details.toPlainText().count("Traceback") == MAX_DETAILED
    assert box.details.toPlainText().endswith("… and 3 more, all in the log.")

    # Dismissed, it is gone; the next error opens a dialog of its own.
    box.close_button.click()
    assert hooks.box is None
    raise_through_excepthook()
    (again,) = error_boxes()
    assert again.headline.text() == "Something went wrong inside Records Desk."


def test_without_a_log_file_the_dialog_says_so(qtbot: QtBot) -> None:
    report = ErrorReport("Records Desk", log_file())  # configure_logging never ran
    report.add("ValueError: odd", "Traceback (most recent call last):\nValueError: odd")
    assert report.box is not None
    qtbot.addWidget(report.box)
    assert "could not be written" in report.box.message.text()
    assert "ValueError: odd" in report.box.details.toPlainText()


def fail_with_a_connect_string() -> None:
    raise ConnectionError(
        "cannot open postgresql://u:s3cr3t@host/db nor postgresql://u@host/db?password=s3cr3t"
    )


@pytest.mark.usefixtures("app_logging")
def test_copy_report_gives_the_environment_the_traceback_and_the_log_without_secrets(
    hooks: ErrorReport, qtbot: QtBot
) -> None:
    try:
        fail_with_a_connect_string()
    except ConnectionError:
        sys.excepthook(*sys.exc_info())
    (box,) = error_boxes()
    QApplication.clipboard().clear()

    box.copy_button.click()

    report = QApplication.clipboard().text()
    lines = report.splitlines()
    assert lines[0].startswith("Records Desk error report, ")
    assert f"Records Desk {app.__version__}" in lines
    assert f"Python {platform.python_version()}" in lines
    assert f"Qt {qVersion()}" in lines
    assert f"OS: {platform.platform()}" in lines
    assert f"Log file: {log_file()}" in lines
    assert "Errors: 1" in lines
    assert any(
        line.startswith("Error 1 at ")
        and line.endswith(
            "ConnectionError: cannot open "
            "postgresql://u:***@host/db nor postgresql://u@host/db?password=***"
        )
        for line in lines
    )
    assert "Traceback (most recent call last):" in report
    assert "fail_with_a_connect_string" in report
    assert "s3cr3t" not in report
    # Copying leaves the window open, and says it worked.
    assert box.isVisible()
    assert hooks.box is box
    assert box.status_label.text() == "The report is on the clipboard."


def test_the_report_of_a_burst_is_one_window_with_the_first_errors_in_full(
    hooks: ErrorReport, qtbot: QtBot
) -> None:
    for _ in range(MAX_DETAILED + 3):
        raise_through_excepthook()

    (box,) = error_boxes()
    box.copy_button.click()

    report = QApplication.clipboard().text()
    assert f"Errors: {MAX_DETAILED + 3}" in report.splitlines()
    assert report.count("Traceback") == MAX_DETAILED
    assert report.endswith("… and 3 more, all in the log.")
    assert "(could not be written)" in report  # this test set up no logging
    assert "Secret" not in report
    assert error_boxes() == [box]


def test_escape_dismisses_the_report(hooks: ErrorReport, qtbot: QtBot) -> None:
    raise_through_excepthook()
    (box,) = error_boxes()

    with qtbot.waitSignal(box.finished):
        QTest.keyClick(box, Qt.Key.Key_Escape)

    assert hooks.box is None
    assert error_boxes() == []
