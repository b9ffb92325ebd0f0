"""Answer the dialogs a piece of code opens and awaits (through ``ui.messages.finished``),
the moment each opens: no test waits on time for a window to appear."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog

from ui import messages


def answer_dialogs(
    monkeypatch: pytest.MonkeyPatch, module: object, *answers: Callable[[QDialog], None]
) -> list[QDialog]:
    """Each dialog ``module`` awaits gets the next of ``answers`` on the loop's next turn
    after it opens; returns the dialogs seen, in order."""
    seen: list[QDialog] = []
    pending = list(answers)

    async def finished(dialog: QDialog) -> int:
        seen.append(dialog)
        if pending:
            answer = pending.pop(0)
            QTimer.singleShot(0, lambda: answer(dialog))
        return await messages.finished(dialog)

    monkeypatch.setattr(module, "finished", finished)
    return seen
