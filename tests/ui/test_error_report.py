"""Our bugs are reported in one dialog that stays until dismissed, says where the log is and
offers the details without a password, while the traceback goes to the log file and not to
stderr (issue 6, item 4)."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from app.core.logs import configure_logging, log_file
from ui.dialogs.error_report import MAX_DETAILED, ErrorReport
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


def error_boxes() -> list[QMessageBox]:
    return [
        widget
        for widget in QApplication.topLevelWidgets()
        if isinstance(widget, QMessageBox) and widget.isVisible()
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
    assert box.text() == "Something went wrong inside Records Desk."
    assert str(log_file()) in box.informativeText()
    assert "RuntimeError: cannot reach postgresql://me:***@127.0.0.1/shop" in (
        box.informativeText()
    )
    details = box.detailedText()
    assert "Traceback" in details
    assert "connect_to_the_shop" in details
    everything = box.text() + box.informativeText() + details
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
    assert box.text() == f"Something went wrong inside Records Desk ({MAX_DETAILED + 3} errors)."
    assert box.detailedText().count("Traceback") == MAX_DETAILED
    assert box.detailedText().endswith("… and 3 more, all in the log.")

    # Dismissed, it is gone; the next error opens a dialog of its own.
    box.button(QMessageBox.StandardButton.Ok).click()
    assert hooks.box is None
    raise_through_excepthook()
    (again,) = error_boxes()
    assert again.text() == "Something went wrong inside Records Desk."


def test_without_a_log_file_the_dialog_says_so(qtbot: QtBot) -> None:
    report = ErrorReport("Records Desk", log_file())  # configure_logging never ran
    report.add("ValueError: odd", "Traceback (most recent call last):\nValueError: odd")
    assert report.box is not None
    qtbot.addWidget(report.box)
    assert "could not be written" in report.box.informativeText()
    assert "ValueError: odd" in report.box.detailedText()
