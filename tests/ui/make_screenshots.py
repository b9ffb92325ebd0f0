"""Render the README screenshots from the real widgets, offscreen.

uv run python -m tests.ui.make_screenshots
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.services.catalog import entities
from ui.main_window import MainWindow

SCREENSHOTS = Path(__file__).resolve().parents[2] / "resources" / "screenshots"


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication(sys.argv)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    window = MainWindow("SQLite file ~/.local/share/records-desk/records.db", entities())
    window.resize(720, 420)
    window.show()
    app.processEvents()
    window.grab().save(str(SCREENSHOTS / "main-window.png"))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
