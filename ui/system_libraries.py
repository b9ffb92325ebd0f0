"""Before Qt starts on Linux: are the system libraries its X11 platform plugin needs there?

Without them Qt prints "Could not load the Qt platform plugin xcb" to a terminal nobody
sees and aborts, and a double-clicked app simply never appears. Asked first, the app can
name the packages to install, in the log, on stderr and in a desktop dialog where one of
the usual tools is there to show it. Loading a library that is present costs microseconds.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping

from app.desktop import SHOWN_ON_STDERR
from ui.display import platform_order

log = logging.getLogger(__name__)

# The libraries Qt's xcb plugin and QtGui link to that minimal installs often lack, with
# the Debian/Ubuntu package of each (the README's list).
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}


def xcb_will_be_used(environ: Mapping[str, str] | None = None) -> bool:
    """True when Qt is going to open its windows through X11 on Linux."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return False
    # The first plugin Qt tries: Wayland in a Wayland session from source (the bundle has none).
    return platform_order(env, frozen=bool(getattr(sys, "frozen", False)))[:1] == ["xcb"]


def missing_packages() -> list[str]:
    """The packages whose libraries cannot be loaded, in the README's order."""
    missing = []
    for library, package in XCB_LIBRARIES.items():
        try:
            ctypes.CDLL(library)
        except OSError:
            missing.append(package)
    return missing


def explanation(packages: list[str]) -> str:
    return (
        "Records Desk cannot open its window: this system lacks libraries that Qt needs to "
        f"show windows ({', '.join(packages)}). On Debian or Ubuntu, install them with:\n\n"
        f"    sudo apt install {' '.join(packages)}\n\n"
        "Other systems name these packages alike (xcb-util-cursor, libxkbcommon-x11…)."
    )


def tell(text: str) -> None:
    """On stderr, in the log, and in a dialog if a desktop tool for one is installed."""
    print(text, file=sys.stderr)
    log.error("%s", text, extra=SHOWN_ON_STDERR)
    for tool, arguments in (
        ("zenity", ["--error", "--no-wrap", "--title=Records Desk", f"--text={text}"]),
        ("kdialog", ["--title", "Records Desk", "--error", text]),
        ("xmessage", ["-center", text]),
    ):
        path = shutil.which(tool)
        if path is None:
            continue
        try:
            subprocess.run([path, *arguments], check=False, timeout=600)
        except (OSError, subprocess.SubprocessError):
            continue
        return
