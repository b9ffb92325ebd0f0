"""No display to open on is one line on stderr and in the log and exit code 1, decided
before QApplication is made: Qt itself would abort in its constructor (exit 134)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from app.config import load_settings
from app.core.logs import log_file
from ui import main as ui_main
from ui import smoke_test
from ui.display import display_problem, platform_order

LIVE_X = ":0"  # the X display the probe below answers for; any other does not answer
WAYLAND = "wayland-1"  # likewise the one Wayland compositor running
# What the command runs without. XDG_SESSION_TYPE and WAYLAND_SOCKET too: on a Wayland
# desktop either lets Qt find the compositor by itself, and the window would open.
DISPLAY_VARIABLES = {
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "WAYLAND_SOCKET",
    "QT_QPA_PLATFORM",
    "XDG_SESSION_TYPE",
}


def x_answers(display: str) -> bool:
    return display == LIVE_X


def wayland_answers(environ: Mapping[str, str]) -> bool:
    return environ.get("WAYLAND_DISPLAY") == WAYLAND


def problem(environment: dict[str, str], *, system: str = "linux", frozen: bool = False) -> str:
    return (
        display_problem(
            environment,
            system=system,
            frozen=frozen,
            x_answers=x_answers,
            wayland_answers=wayland_answers,
        )
        or ""
    )


@pytest.mark.parametrize(
    ("environment", "frozen", "expected"),
    [
        ({}, False, ["xcb"]),
        ({"DISPLAY": ":0"}, False, ["xcb"]),
        ({"WAYLAND_DISPLAY": WAYLAND}, False, ["wayland", "xcb"]),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": WAYLAND}, False, ["wayland", "xcb"]),
        ({"XDG_SESSION_TYPE": "wayland"}, False, ["wayland", "xcb"]),
        ({"WAYLAND_DISPLAY": WAYLAND}, True, ["xcb"]),  # the bundle carries no Wayland
        ({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, False, ["offscreen"]),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, False, ["wayland", "xcb"]),
        ({"QT_QPA_PLATFORM": "xcb:nograb", "WAYLAND_DISPLAY": WAYLAND}, False, ["xcb"]),
        ({"QT_QPA_PLATFORM": "", "DISPLAY": ":0"}, False, ["xcb"]),  # empty is unset to Qt
    ],
)
def test_the_platforms_qt_tries_in_its_order(
    environment: dict[str, str], frozen: bool, expected: list[str]
) -> None:
    assert platform_order(environment, frozen=frozen) == expected


@pytest.mark.parametrize(
    "environment",
    [
        {"DISPLAY": LIVE_X},
        {"WAYLAND_DISPLAY": WAYLAND},  # Wayland without X
        {"WAYLAND_DISPLAY": WAYLAND, "DISPLAY": ":9"},  # Wayland first; the stale X unused
        {"WAYLAND_DISPLAY": "wayland-9", "DISPLAY": LIVE_X},  # X takes over from Wayland
        {"QT_QPA_PLATFORM": "offscreen"},
        {"QT_QPA_PLATFORM": "minimal"},
        {"QT_QPA_PLATFORM": "xcb", "DISPLAY": LIVE_X},
        {"QT_QPA_PLATFORM": "wayland", "WAYLAND_DISPLAY": WAYLAND},
        {"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": LIVE_X},
        {"QT_QPA_PLATFORM": "eglfs"},  # not ours to judge: Qt says what it lacks
    ],
)
def test_a_platform_with_its_display_or_none_needed_starts(environment: dict[str, str]) -> None:
    assert problem(environment) == ""


@pytest.mark.parametrize(
    ("environment", "frozen", "reason"),
    [
        ({}, False, "DISPLAY is not set"),
        ({"DISPLAY": ""}, False, "DISPLAY is not set"),
        ({"DISPLAY": ":9"}, False, "the X display :9 does not answer"),  # a stale DISPLAY
        ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": WAYLAND}, False, "DISPLAY is not set"),
        ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": LIVE_X}, False, "WAYLAND_DISPLAY is not set"),
        (
            {"QT_QPA_PLATFORM": "wayland", "WAYLAND_DISPLAY": "wayland-9"},
            False,
            "the Wayland display wayland-9 does not answer",
        ),
        ({"XDG_SESSION_TYPE": "wayland"}, False, "WAYLAND_DISPLAY is not set"),
        ({"WAYLAND_DISPLAY": WAYLAND}, True, "DISPLAY is not set"),  # X11 only in the bundle
    ],
)
def test_no_display_for_any_platform_qt_tries_is_said_in_one_line(
    environment: dict[str, str], frozen: bool, reason: str
) -> None:
    line = problem(environment, frozen=frozen)

    assert line.startswith("Records Desk cannot open its window: there is no display")
    assert reason in line
    assert "QT_QPA_PLATFORM=offscreen" in line
    assert "ssh -X" in line
    assert "\n" not in line


def test_both_reasons_are_named_when_wayland_and_x_both_fail() -> None:
    line = problem({"WAYLAND_DISPLAY": "wayland-9", "DISPLAY": ":9"})

    assert "the Wayland display wayland-9 does not answer; the X display :9 does not" in line


@pytest.mark.parametrize("system", ["darwin", "win32"])
def test_macos_and_windows_need_no_display(system: str) -> None:
    assert problem({}, system=system) == ""


def test_no_display_stops_the_start_before_qt(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(ui_main, "display_problem", lambda: "no display, in one line")
    started: list[bool] = []
    monkeypatch.setattr(ui_main, "start_qt", lambda: started.append(True))

    with caplog.at_level(logging.ERROR):
        code = ui_main.run_gui(load_settings())

    assert code == 1
    assert started == []
    assert capsys.readouterr().err == "no display, in one line\n"
    assert caplog.messages == ["no display, in one line"]


def test_the_smoke_test_reports_no_display_in_its_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(smoke_test, "display_problem", lambda: "no display, in one line")
    monkeypatch.setattr(smoke_test, "start_qt", lambda: pytest.fail("Qt was started"))

    assert smoke_test.run_smoke_test(0.0) == 1
    assert '"problems": ["no display, in one line"]' in capsys.readouterr().out


def test_the_command_without_a_display_exits_1_with_one_line_and_logs_it(
    tmp_path: Path,
) -> None:
    environment = {
        name: value for name, value in os.environ.items() if name not in DISPLAY_VARIABLES
    }
    # Nor a default wayland-0 socket to find; the log folder is the test's (conftest).
    environment["XDG_RUNTIME_DIR"] = str(tmp_path / "runtime")
    program = Path(sys.executable).with_name("records-desk")
    command = [str(program)] if program.exists() else [sys.executable, "-m", "app"]

    finished = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=120, check=False
    )

    assert finished.returncode == 1, finished.stderr
    (line,) = finished.stderr.splitlines()
    assert line.startswith("Records Desk cannot open its window: there is no display")
    assert "DISPLAY is not set" in line
    assert "Traceback" not in finished.stderr
    assert "Aborted" not in finished.stderr
    assert finished.stdout == ""
    log_text = log_file().read_text(encoding="utf-8")
    assert f"ERROR [ui.main] {line}" in log_text
