"""``records-desk --smoke-test``: a run that starts, migrates and shows rows prints its
timings and exits 0; any error, warning or window without rows makes it exit 1."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMessageLogContext, QtMsgType
from PySide6.QtWidgets import QApplication

from app.config import config_dir
from ui import smoke_test, tasks
from ui.browse_window import BrowseWindow

KINDS = ["users", "profiles", "posts", "orders", "order_items", "accounts", "transfers"]


def test_a_healthy_run_prints_its_timings_and_exits_0(tmp_path: Path) -> None:
    environment = os.environ | {"QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "app", "--smoke-test"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )

    assert result.stderr == ""
    assert result.returncode == 0
    (line,) = result.stdout.splitlines()
    report = json.loads(line)
    assert report["ok"] is True
    assert report["problems"] == []
    assert 0 < report["startup_ms"] <= report["first_rows_ms"] <= report["all_windows_ms"]
    assert report["demo_data_ms"] > 0  # the empty database's Load demo data ran
    assert report["clock"] == "proc"  # Linux says when the process started
    assert list(report["rows_shown"]) == KINDS
    assert all(rows > 0 for rows in report["rows_shown"].values())
    assert report["platform"] == "offscreen"
    assert report["frozen"] is False
    assert list(tmp_path.iterdir()) == []  # its throwaway folder is gone
    # The user's own folders were never touched (the test's XDG folders stand in for them).
    assert not config_dir().exists()


def test_a_window_that_fails_makes_the_run_fail_and_say_why(
    qapp: QApplication,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    async def failing(window: BrowseWindow) -> int:
        raise RuntimeError(f"the {window.entity.label} window failed: server went away")

    monkeypatch.setattr(smoke_test, "first_rows", failing)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # the run installs its own
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    code = smoke_test.run_smoke_test(0.0)
    asyncio.set_event_loop(None)  # the run closed its loop

    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["ok"] is False
    assert report["problems"] == ["RuntimeError: the Users window failed: server went away"]
    # Kept for whoever reads why, with the traceback in its log.
    kept = Path(report["kept_folder"])
    assert kept.parent == tmp_path
    assert "server went away" in (kept / "log" / "records-desk.log").read_text(encoding="utf-8")
    assert not config_dir().exists()
    # Its window closed and its work ended: nothing left to hold up the next session.
    assert [task for task in tasks._RUNNING if not task.done()] == []


@pytest.mark.parametrize(
    ("kind", "message", "problem"),
    [
        (QtMsgType.QtWarningMsg, "QPainter::begin: Paint device returned engine == 0", True),
        (QtMsgType.QtCriticalMsg, "a critical one", True),
        (QtMsgType.QtWarningMsg, "This plugin does not support propagateSizeHints()", False),
        (QtMsgType.QtDebugMsg, "debugging chatter", False),
        (QtMsgType.QtInfoMsg, "information", False),
    ],
)
def test_qt_warnings_are_problems_except_the_headless_platforms_own(
    kind: QtMsgType, message: str, problem: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    problems = smoke_test.Problems()

    smoke_test.qt_message_watcher(problems)(kind, QMessageLogContext(), message)

    assert problems.lines == ([f"Qt: {message}"] if problem else [])
    assert (capsys.readouterr().err != "") is problem  # still on stderr, as without a handler


def test_warnings_logged_anywhere_are_problems() -> None:
    import logging

    problems = smoke_test.Problems()
    smoke_test.watch_logging(problems)
    root = logging.getLogger()
    collector: Any = root.handlers[-1]
    try:
        logging.getLogger("sqlalchemy.pool").warning("connection %s was invalidated", 3)
        logging.getLogger("app").info("fine")
        logging.getLogger("py.warnings").warning("UserWarning: old API")  # captureWarnings
        logging.getLogger("ui.smoke_test").error("its own report of a problem it has")
    finally:
        root.removeHandler(collector)
        logging.captureWarnings(False)

    assert problems.lines == [
        "log warning: connection 3 was invalidated",
        "log warning: UserWarning: old API",
    ]


def test_the_process_start_comes_from_the_os_where_it_says() -> None:
    import time

    started, clock = smoke_test.process_start(time.perf_counter())

    assert clock == "proc"
    # This test process started before the test did, and not before the machine booted.
    assert started < time.perf_counter()
    assert time.perf_counter() - started < time.clock_gettime(time.CLOCK_BOOTTIME)
