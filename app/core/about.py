"""What Records Desk is and what it runs on, in lines a person can read or paste into a bug
report. No Qt here: the UI adds the Qt and PySide6 versions it knows (``libraries``)."""

from __future__ import annotations

import platform
import sys
from collections.abc import Mapping

from app import __version__

PRODUCT_NAME = "Records Desk"
SUMMARY = "Browse, search, edit and export the records of an application database."


def is_frozen() -> bool:
    """True inside a PyInstaller bundle, which sets ``sys.frozen``."""
    return bool(getattr(sys, "frozen", False))


def environment_lines(libraries: Mapping[str, str] | None = None) -> list[str]:
    """``Records Desk 0.1.0``, ``Python 3.11.7``, then ``Qt 6.11.3`` and the like for each of
    ``libraries`` (name → version), ``OS: …`` and ``Frozen: yes|no``."""
    return [
        f"{PRODUCT_NAME} {__version__}",
        f"Python {platform.python_version()}",
        *(f"{name} {library_version}" for name, library_version in (libraries or {}).items()),
        f"OS: {platform.platform()}",
        f"Frozen: {'yes' if is_frozen() else 'no'}",
    ]
