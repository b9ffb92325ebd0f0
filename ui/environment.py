"""The environment lines of app.core.about with what only the UI knows: the Qt and PySide6
versions in use (Qt's own may differ from the one PySide6 was built against)."""

from __future__ import annotations

import PySide6
from PySide6.QtCore import qVersion

from app.desktop import environment_lines


def qt_environment_lines() -> list[str]:
    """``Records Desk 0.1.0``, ``Python …``, ``Qt …``, ``PySide6 …``, ``OS: …``, ``Frozen: …``."""
    return environment_lines({"Qt": qVersion(), "PySide6": PySide6.__version__})
