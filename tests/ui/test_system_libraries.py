"""A Linux system without the libraries Qt's X11 plugin needs gets the packages named, in
words and a dialog where it can show one, instead of Qt aborting where nobody sees it."""

from __future__ import annotations

import ctypes
import logging
import shutil
import subprocess
import sys
from typing import Any

import pytest

from app.config import load_settings
from ui import main as ui_main
from ui import system_libraries


@pytest.mark.parametrize(
    ("environment", "frozen", "expected"),
    [
        ({}, False, True),
        ({"QT_QPA_PLATFORM": "xcb"}, False, True),
        ({"QT_QPA_PLATFORM": "offscreen"}, False, False),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, False, False),
        ({"WAYLAND_DISPLAY": "wayland-0"}, False, False),  # Qt's Wayland plugin from source
        ({"WAYLAND_DISPLAY": "wayland-0"}, True, True),  # the bundle carries no Wayland
    ],
)
def test_the_check_runs_where_qt_will_use_x11(
    environment: dict[str, str], frozen: bool, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(sys, "frozen", frozen, raising=False)

    assert system_libraries.xcb_will_be_used(environment) is expected


def test_libraries_that_cannot_be_loaded_name_their_packages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    absent = {"libxcb-cursor.so.0", "libxkbcommon-x11.so.0"}

    def cdll(name: str, *args: Any, **kwargs: Any) -> Any:
        # Every other library "loads", whatever this machine has installed.
        if name in absent:
            raise OSError(f"{name}: cannot open shared object file")
        return object()

    monkeypatch.setattr(ctypes, "CDLL", cdll)

    assert system_libraries.missing_packages() == ["libxcb-cursor0", "libxkbcommon-x11-0"]


def test_a_missing_library_stops_the_start_with_the_command_that_installs_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(system_libraries, "xcb_will_be_used", lambda: True)
    monkeypatch.setattr(system_libraries, "missing_packages", lambda: ["libxcb-cursor0"])
    shown: list[list[str]] = []

    def which(tool: str) -> str | None:
        return f"/usr/bin/{tool}" if tool == "zenity" else None  # the first tool it tries

    def run(arguments: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        shown.append(arguments)
        return subprocess.CompletedProcess(arguments, 0)

    monkeypatch.setattr(shutil, "which", which)
    monkeypatch.setattr(subprocess, "run", run)
    started: list[bool] = []

    def start_qt() -> None:
        started.append(True)

    monkeypatch.setattr(ui_main, "start_qt", start_qt)

    with caplog.at_level(logging.ERROR):
        code = ui_main.run_gui(load_settings())

    assert code == 1
    assert started == []  # Qt was never asked, so it never aborted
    stderr = capsys.readouterr().err
    assert "sudo apt install libxcb-cursor0" in stderr
    assert "Records Desk cannot open its window" in caplog.text
    ((tool, *arguments),) = shown
    assert tool == "/usr/bin/zenity"
    assert any("sudo apt install libxcb-cursor0" in argument for argument in arguments)
