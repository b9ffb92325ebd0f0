"""Answer the dialogs a piece of code opens and awaits (through ``ui.messages.finished``),
the moment each opens: no test waits on time for a window to appear. Also: wait for a
dialog however it is opened, and stop a scenario at the first error its loop meets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QLineEdit

from ui import messages

D = TypeVar("D", bound=QDialog)


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


class DialogWatch(QObject, Generic[D]):
    """Sees the first dialog of a kind shown from now on, however it was opened (``open()``,
    ``exec()`` or a static function): make it before the click that opens one."""

    def __init__(self, kind: type[D]) -> None:
        super().__init__()
        self.kind = kind
        self._shown: asyncio.Future[D] = asyncio.get_running_loop().create_future()
        app = QApplication.instance()
        assert app is not None
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if (
            event.type() == QEvent.Type.Show
            and isinstance(watched, self.kind)
            and not self._shown.done()
        ):
            self._shown.set_result(watched)
        return False

    async def shown(self) -> D:
        try:
            return await self._shown
        finally:
            app = QApplication.instance()
            if app is not None:
                app.removeEventFilter(self)


@contextmanager
def loop_errors_recorded(loop: asyncio.AbstractEventLoop) -> Iterator[list[str]]:
    """The errors the loop meets meanwhile, for the test to assert there were none.

    A dialog's nested event loop run inside a task makes every other task that tries to
    resume fail with "Cannot enter into task …" and be lost, which would hang the test:
    so an error closes every open dialog (ending any nested loop) and runs the lost step
    again afterwards, and the test goes on to fail on what it checks."""
    errors: list[str] = []

    def on_error(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        errors.append(f"{context.get('message')}: {context.get('exception')!r}")
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog) and widget.isVisible():
                widget.reject()
        handle = context.get("handle")
        # asyncio has no public way to run a failed callback again.
        callback = getattr(handle, "_callback", None)
        if callback is not None and len(errors) < MAX_RETRIED_STEPS:
            loop.call_soon(callback, *getattr(handle, "_args", ()))
        else:
            loop.stop()

    previous = loop.get_exception_handler()
    loop.set_exception_handler(on_error)
    try:
        yield errors
    finally:
        loop.set_exception_handler(previous)


# Lost steps run again by loop_errors_recorded before it gives up and stops the loop.
MAX_RETRIED_STEPS = 1_000


def choose_file(dialog: QFileDialog, path: Path) -> None:
    """Answer an open file dialog as a user does: type the name, press Save. (selectFile
    leaves alone the name field of a dialog on screen once it has the focus.)"""
    name_field = dialog.findChild(QLineEdit, "fileNameEdit")
    assert name_field is not None, "not Qt's own file dialog"
    name_field.setText(str(path))
    dialog.accept()
