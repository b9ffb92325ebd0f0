"""Filling in and saving record forms the way a user does, for the form and outage tests."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtWidgets import QDialog

from ui.dialogs.record_form import RecordFormDialog
from ui.widgets.field_editors import LineEditor, ParagraphEditor


def type_into(form: RecordFormDialog | QDialog, name: str, text: str) -> None:
    editor = form.editors[name]  # type: ignore[union-attr]
    if isinstance(editor, ParagraphEditor):  # PostgreSQL's text: any length, any lines
        editor.text.setPlainText(text)
        return
    assert isinstance(editor, LineEditor)
    editor.line.setText(text)
    editor.line.textEdited.emit(text)


async def saved_or_refused(form: RecordFormDialog) -> tuple[str, Any]:
    """Press Ctrl+S and wait for the outcome."""
    done: asyncio.Future[tuple[str, Any]] = asyncio.get_running_loop().create_future()

    def outcome(kind: str, detail: Any) -> None:
        if not done.done():
            done.set_result((kind, detail))

    form.saved.connect(lambda record: outcome("saved", record))
    form.refused.connect(lambda text: outcome("refused", text))
    form.save()
    return await asyncio.wait_for(done, 10)
