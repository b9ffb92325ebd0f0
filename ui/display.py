"""Before Qt starts on Linux: will the platform plugin Qt picks find a display to open on?

Without one, Qt's constructor aborts the process (exit 134), after advising packages that
are installed, and no line of ours reaches stderr or the log. Asked first, the app says
in one line what is missing and what to do, and exits 1. Nothing here imports Qt: it runs
before QApplication exists, in the source run and the bundle alike.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

# Qt's own default on Linux when nothing in the environment says otherwise.
QT_DEFAULT_PLATFORM = "xcb"

XAnswers = Callable[[str], bool | None]
WaylandAnswers = Callable[[Mapping[str, str]], bool]


def platform_order(environ: Mapping[str, str], *, frozen: bool) -> list[str]:
    """The platform plugins Qt tries, first to last, as Qt 6.5+ orders them
    (QGuiApplicationPrivate::createPlatformIntegration): QT_QPA_PLATFORM wins outright;
    otherwise X11 when DISPLAY is set, Wayland ahead of it in a Wayland session, and X11
    last in any case. Each one that fails to start gives way to the next."""
    explicit = environ.get("QT_QPA_PLATFORM", "")
    if explicit:
        names = [entry.split(":")[0] for entry in explicit.split(";") if entry]
    else:
        names = ["xcb"] if "DISPLAY" in environ else []
        if "WAYLAND_DISPLAY" in environ or environ.get("XDG_SESSION_TYPE") == "wayland":
            names.insert(0, "wayland")
        if QT_DEFAULT_PLATFORM not in names:
            names.append(QT_DEFAULT_PLATFORM)
    if frozen:
        # The bundle carries no Wayland plugin (build.spec), so Qt skips to the next one.
        names = [name for name in names if not name.startswith("wayland")]
    return names


def display_problem(
    environ: Mapping[str, str] | None = None,
    *,
    system: str | None = None,
    frozen: bool | None = None,
    x_answers: XAnswers | None = None,
    wayland_answers: WaylandAnswers | None = None,
) -> str | None:
    """The one line to show when no platform Qt will try has its display; None when one
    has, when one needs none (offscreen, minimal, …) or on macOS and Windows."""
    env = os.environ if environ is None else environ
    if not (sys.platform if system is None else system).startswith("linux"):
        return None  # Cocoa and Windows always have their desktop
    is_frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    x_answers = x_answers or x_server_answers
    wayland_answers = wayland_answers or wayland_socket_exists
    reasons: list[str] = []
    for name in platform_order(env, frozen=is_frozen):
        if name == "xcb":
            reason = _x_reason(env, x_answers)
        elif name.startswith("wayland"):
            reason = None if wayland_answers(env) else _wayland_reason(env)
        else:
            return None  # offscreen, minimal, vnc, eglfs…: no X11 or Wayland display to need
        if reason is None:
            return None
        reasons.append(reason)
    if not reasons:
        return None  # no plugin at all is not a missing display; Qt says which it lacks
    return (
        f"Records Desk cannot open its window: there is no display ({'; '.join(reasons)}). "
        "Start it in a desktop session, or over SSH with X forwarding (ssh -X), "
        "or set QT_QPA_PLATFORM=offscreen to run it without a screen (the smoke test)."
    )


def _x_reason(environ: Mapping[str, str], answers: XAnswers) -> str | None:
    display = environ.get("DISPLAY", "")
    if not display:
        return "DISPLAY is not set"
    # A DISPLAY left over from an ended SSH or desktop session (tmux, screen) aborts Qt too.
    if answers(display) is False:
        return f"the X display {display} does not answer"
    return None


def _wayland_reason(environ: Mapping[str, str]) -> str:
    if not environ.get("WAYLAND_DISPLAY"):
        return "WAYLAND_DISPLAY is not set and there is no Wayland compositor"
    return f"the Wayland display {environ['WAYLAND_DISPLAY']} does not answer"


def x_server_answers(display: str) -> bool | None:
    """Whether the X server at ``display`` lets us connect, asked as Qt's plugin asks it
    (libxcb: the address, the Xauthority cookie); None when libxcb cannot be loaded, which
    the library check (ui.system_libraries) reports instead."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return None
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    # Never NULL: a failed connect returns a connection object that holds the error.
    connection = xcb.xcb_connect(os.fsencode(display), None)
    try:
        return bool(xcb.xcb_connection_has_error(connection) == 0)
    finally:
        xcb.xcb_disconnect(connection)


def wayland_socket_exists(environ: Mapping[str, str]) -> bool:
    """Where libwayland-client will connect: an inherited socket (WAYLAND_SOCKET), or
    WAYLAND_DISPLAY (default wayland-0) as a path or a name in XDG_RUNTIME_DIR."""
    if environ.get("WAYLAND_SOCKET"):
        return True
    name = environ.get("WAYLAND_DISPLAY") or "wayland-0"
    if os.path.isabs(name):
        return Path(name).is_socket()
    runtime_dir = environ.get("XDG_RUNTIME_DIR", "")
    return bool(runtime_dir) and (Path(runtime_dir) / name).is_socket()
