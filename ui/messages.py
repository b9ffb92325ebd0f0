"""Warning boxes and dialogs that never block the event loop (opened, not exec()'d)."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QDialog, QMessageBox, QWidget


def warning_box(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    """A warning with OK, named for screen readers by its title; the caller opens it and,
    without a parent, keeps it referenced until it finishes (DESIGN.md, Known traps)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setAccessibleName(title)
    return box


async def show_message(parent: QWidget | None, title: str, text: str) -> None:
    """A warning box, awaited until the user dismisses it."""
    await finished(warning_box(parent, title, text))


async def finished(dialog: QDialog) -> int:
    """Open ``dialog`` (window-modal at most, no nested event loop) and await its result."""
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_dialog_finished(result: int) -> None:
        if not done.done():
            done.set_result(result)

    dialog.finished.connect(on_dialog_finished)
    dialog.open()
    return await done
