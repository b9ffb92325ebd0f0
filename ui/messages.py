"""Warning boxes and dialogs that never block the event loop (opened, not exec()'d)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget


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


def save_file_dialog(
    parent: QWidget, title: str, start: Path, kinds: str, *, confirm_overwrite: bool = True
) -> QFileDialog:
    """A Save As dialog named for screen readers, window-modal, starting at ``start`` (a
    folder, or a file name to propose); open it with ``chosen_file`` or ``open()``, never
    ``exec()`` nor the static QFileDialog functions, which run a nested event loop
    (DESIGN.md, Known traps)."""
    dialog = QFileDialog(parent, title, str(start), kinds)
    dialog.setAccessibleName(title)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    dialog.setOption(QFileDialog.Option.DontConfirmOverwrite, not confirm_overwrite)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    return dialog


async def chosen_file(dialog: QFileDialog) -> Path | None:
    """Open ``dialog`` (no nested event loop) and await the file chosen: None when it was
    cancelled, or went with its window (Qt says nothing else when a parent takes its
    dialogs with it)."""
    choice = _FileChoice(dialog, asyncio.get_running_loop().create_future())
    dialog.finished.connect(choice.on_dialog_finished)
    dialog.destroyed.connect(choice.on_dialog_destroyed)
    dialog.open()
    return await choice.chosen


class _FileChoice:
    """The listener of one file dialog: bound methods, not two closures of one function on
    one sender (DESIGN.md, Known traps: PySide closures)."""

    def __init__(self, dialog: QFileDialog, chosen: asyncio.Future[Path | None]) -> None:
        self.dialog = dialog
        self.chosen = chosen

    def on_dialog_finished(self, result: int) -> None:
        if self.chosen.done():
            return
        files = self.dialog.selectedFiles() if result == QDialog.DialogCode.Accepted else []
        self.chosen.set_result(Path(files[0]) if files else None)

    def on_dialog_destroyed(self, *_: object) -> None:
        if not self.chosen.done():
            self.chosen.set_result(None)
