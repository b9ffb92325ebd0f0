"""The report of our own bugs: one window that stays until dismissed, says that Records Desk
carries on and where the log is, shows the details when asked and copies a whole report for a
bug tracker — with every password masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.desktop import redact
from ui.environment import qt_environment_lines

# A burst of errors (one failing paint after another) keeps the first few in full; the
# count still covers them all, and the log has every one.
MAX_DETAILED = 5
# The details pane, in characters and lines of the fixed font.
DETAILS_COLUMNS, DETAILS_LINES = 90, 16
SHOW_DETAILS, HIDE_DETAILS = "Show details", "Hide details"
CARRIES_ON = "Records Desk carries on: its windows can still be used."


@dataclass(frozen=True)
class ReportedError:
    at: datetime
    summary: str  # redacted, as every text kept here
    details: str


class ErrorReportDialog(QDialog):
    """The window of an ErrorReport: a message, the details behind Show details (no
    traceback reaches a user's eyes unasked), Copy report and Close. Its buttons other than
    Close leave it open."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName("Unexpected error")

        icon = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_MessageBoxIconSize, None, self)
        icon.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(size)
        )
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.headline = QLabel()
        self.headline.setAccessibleName("Error")
        font = self.headline.font()
        font.setBold(True)
        self.headline.setFont(font)
        self.headline.setWordWrap(True)  # "(12 errors)" arrives after the window is sized
        self.message = QLabel()
        self.message.setAccessibleName("Message")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        text = QVBoxLayout()
        text.addWidget(self.headline)
        text.addWidget(self.message)
        text.addStretch(1)  # a wrapped message sized a line too tall stays at the top
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addLayout(text, 1)

        self.details = QPlainTextEdit()
        self.details.setAccessibleName("Details")
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        # Tracebacks line up in a fixed font; room for a typical frame line, and a dozen lines.
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.details.setFont(fixed)
        metrics = self.details.fontMetrics()
        self.details.setMinimumSize(
            metrics.averageCharWidth() * DETAILS_COLUMNS, metrics.lineSpacing() * DETAILS_LINES
        )
        self.details.hide()
        self.status_label = QLabel("")
        self.status_label.setAccessibleName("Status")
        self.status_label.hide()  # until there is something to say

        buttons = QDialogButtonBox(self)
        self.details_button = self._button(buttons, SHOW_DETAILS)
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self.on_details_button_toggled)
        self.copy_button = self._button(buttons, "Copy report")
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.setAccessibleName(self.close_button.text().replace("&", ""))
        self.close_button.setDefault(True)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.details, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 80)

    def _button(self, buttons: QDialogButtonBox, label: str) -> QPushButton:
        button = buttons.addButton(label, QDialogButtonBox.ButtonRole.ActionRole)
        button.setAccessibleName(label)
        button.setAutoDefault(False)
        return button

    def on_details_button_toggled(self, shown: bool) -> None:
        label = HIDE_DETAILS if shown else SHOW_DETAILS
        self.details_button.setText(label)
        self.details_button.setAccessibleName(label)
        self.details.setVisible(shown)
        self.adjustSize()


class ErrorReport:
    """Errors that arrive while the window is open join it rather than open another."""

    def __init__(self, title: str, log_path: Path) -> None:
        self.title = title
        self.log_path = log_path
        self.box: ErrorReportDialog | None = None
        self.count = 0
        self._errors: list[ReportedError] = []

    def add(self, summary: str, details: str) -> None:
        """Report one error: ``summary`` is its one line, ``details`` its traceback."""
        if self.box is None:
            self.box = self._new_box()
            self.count = 0
            self._errors = []
        self.count += 1
        if len(self._errors) < MAX_DETAILED:
            self._errors.append(
                ReportedError(
                    datetime.now().astimezone(), redact(summary), redact(details).rstrip()
                )
            )
        box = self.box
        box.headline.setText(
            "Something went wrong inside Records Desk."
            if self.count == 1
            else f"Something went wrong inside Records Desk ({self.count} errors)."
        )
        box.message.setText(self._where(self._errors[0].summary))
        box.details.setPlainText(self.detailed_text())
        # Shown once: a burst updates the open window rather than raising it again and again.
        if not box.isVisible():
            box.show()

    def _new_box(self) -> ErrorReportDialog:
        # No parent: the report must outlive whichever window failed. Referenced here until
        # dismissed, as an unreferenced dialog would be deleted at once (DESIGN.md, Known traps).
        box = ErrorReportDialog(self.title)
        # Not modal: the user may keep working, and copy the details meanwhile.
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self.on_box_finished)
        box.copy_button.clicked.connect(self.on_copy_button_clicked)
        return box

    def on_box_finished(self, _result: int) -> None:
        self.box = None

    def on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.report_text())
        if self.box is not None:
            self.box.status_label.setText("The report is on the clipboard.")
            self.box.status_label.show()

    def _where(self, summary: str) -> str:
        if self.log_path.exists():
            return f"{summary}\n\n{CARRIES_ON} The details are in the log:\n{self.log_path}"
        return (
            f"{summary}\n\n{CARRIES_ON} The details are only here, under {SHOW_DETAILS}: "
            f"the log could not be written to\n{self.log_path}"
        )

    def detailed_text(self) -> str:
        """The tracebacks of the first MAX_DETAILED errors, and how many more there were."""
        text = "\n\n".join(error.details for error in self._errors)
        return text + self._left_out()

    def report_text(self) -> str:
        """A whole report in plain text for a bug tracker: the environment, the time, each
        error's summary and traceback (the first MAX_DETAILED) and where the log is."""
        written = "" if self.log_path.exists() else " (could not be written)"
        lines = [
            f"{self.title} error report, {_when(datetime.now().astimezone())}",
            *qt_environment_lines(),
            f"Log file: {self.log_path}{written}",
            f"Errors: {self.count}",
        ]
        for number, error in enumerate(self._errors, start=1):
            lines += ["", f"Error {number} at {_when(error.at)}: {error.summary}", error.details]
        # Each part was redacted when it arrived; the whole once more, belt and braces.
        return redact("\n".join(lines) + self._left_out())

    def _left_out(self) -> str:
        left_out = self.count - len(self._errors)
        return f"\n\n… and {left_out} more, all in the log." if left_out else ""


def _when(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="seconds")
