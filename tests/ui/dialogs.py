"""Dialogs a test makes without a window to own them."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
import shiboken6
from PySide6.QtWidgets import QDialog


@pytest.fixture(name="dialogs")
def dialogs_fixture() -> Iterator[list[QDialog]]:
    """Dialogs a test made, closed and deleted when it ends, on this thread, and its other
    garbage collected here too. Left to the collector, a dialog with no parent that a
    reference cycle keeps (its signals' closures, a frame an exception holds) is destroyed
    in whichever thread the collector next runs — a SQLite worker — and Qt warns there
    that "Timers cannot be stopped from another thread" (see test_export_dialog.py)."""
    made: list[QDialog] = []
    yield made
    for dialog in made:
        if shiboken6.isValid(dialog):
            dialog.close()
            shiboken6.delete(dialog)
    made.clear()
    gc.collect()
