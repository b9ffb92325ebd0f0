"""The report of our own bugs: one dialog that stays until dismissed, says where the log is,
and offers the details to copy — with every password masked."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.core.redaction import redact

# A burst of errors (one failing paint after another) keeps the first few in full; the
# count still covers them all, and the log has every one.
MAX_DETAILED = 5


class ErrorReport:
    """Errors that arrive while the dialog is open join it rather than open another."""

    def __init__(self, title: str, log_path: Path) -> None:
        self.title = title
        self.log_path = log_path
        self.box: QMessageBox | None = None
        self.count = 0
        self._first_summary = ""
        self._details: list[str] = []

    def add(self, summary: str, details: str) -> None:
        """Report one error: ``summary`` is its one line, ``details`` its traceback."""
        if self.box is None:
            self.box = self._new_box()
            self.count = 0
            self._first_summary = redact(summary)
            self._details = []
        self.count += 1
        if len(self._details) < MAX_DETAILED:
            self._details.append(redact(details).rstrip())
        box = self.box
        box.setText(
            "Something went wrong inside Records Desk."
            if self.count == 1
            else f"Something went wrong inside Records Desk ({self.count} errors)."
        )
        box.setInformativeText(self._where(self._first_summary))
        box.setDetailedText(self._detailed_text())
        # Shown once: a burst updates the open box rather than raising it again and again.
        if not box.isVisible():
            box.show()

    def _new_box(self) -> QMessageBox:
        # No parent: the report must outlive whichever window failed. Referenced here until
        # dismissed, as an unreferenced box would be deleted at once (DESIGN.md, Known traps).
        box = QMessageBox(QMessageBox.Icon.Critical, self.title, "", QMessageBox.StandardButton.Ok)
        box.setAccessibleName("Unexpected error")
        # Not modal: the user may keep working, and copy the details meanwhile.
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self.on_box_finished)
        return box

    def on_box_finished(self, _result: int) -> None:
        self.box = None

    def _where(self, summary: str) -> str:
        if self.log_path.exists():
            return f"{summary}\n\nThe details were written to the log:\n{self.log_path}"
        return f"{summary}\n\nThe log {self.log_path} could not be written; see the details."

    def _detailed_text(self) -> str:
        text = "\n\n".join(self._details)
        left_out = self.count - len(self._details)
        if left_out:
            text += f"\n\n… and {left_out} more, all in the log."
        return text
