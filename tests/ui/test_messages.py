"""Dialogs awaited without a nested event loop (ui.messages): what a Save As dialog gives
back, whichever way it ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import shiboken6
from PySide6.QtWidgets import QFileDialog, QWidget
from pytestqt.qtbot import QtBot

from tests.ui.answering import choose_file
from ui.messages import chosen_file, save_file_dialog


def test_a_save_dialog_gives_the_file_chosen_or_none(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    async def scenario() -> None:
        window = QWidget()
        qtbot.addWidget(window)
        window.show()
        proposed = tmp_path / "report.csv"
        dialog = save_file_dialog(window, "Export the table", proposed, "CSV files (*.csv)")
        assert dialog.accessibleName() == "Export the table"
        assert dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave
        assert dialog.selectedFiles() == [str(proposed)]

        choosing = asyncio.ensure_future(chosen_file(dialog))
        await asyncio.sleep(0)  # a loop turn: the dialog is open, and the loop runs on
        assert dialog.isVisible()
        choose_file(dialog, tmp_path / "other.csv")
        assert await choosing == tmp_path / "other.csv"

        choosing = asyncio.ensure_future(chosen_file(dialog))
        await asyncio.sleep(0)
        dialog.reject()
        assert await choosing is None

        # A window closing takes its dialogs with it, and Qt then says only "destroyed".
        choosing = asyncio.ensure_future(chosen_file(dialog))
        await asyncio.sleep(0)
        shiboken6.delete(window)
        assert await choosing is None

    qt_loop.run_until_complete(scenario())
