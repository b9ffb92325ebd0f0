"""Help → About: what Records Desk is, which database it is connected to, what it runs on and
where its log is — to read, to copy into a bug report, or to open in the file manager."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.desktop import PRODUCT_NAME, SUMMARY, make_private_folder, redact
from ui.environment import qt_environment_lines

TITLE = f"About {PRODUCT_NAME}"
SELECTABLE = (
    Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
)


def open_folder(folder: Path) -> bool:
    """Show ``folder`` in the desktop's file manager; False when nothing could open it.

    Looked up at call time, so tests replace it and launch no file manager."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class AboutDialog(QDialog):
    def __init__(self, database_name: str, log_folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log_folder = log_folder
        # Settings.display_name never holds a password; redacted all the same, in case a
        # caller one day passes something else (belt and braces).
        self.database_name = redact(database_name)
        environment = qt_environment_lines()
        self.heading, *self.environment = environment
        self.setWindowTitle(TITLE)
        self.setAccessibleName(TITLE)

        heading = QLabel(self.heading)
        heading.setAccessibleName("Version")
        font = heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.4)
        heading.setFont(font)
        heading.setTextInteractionFlags(SELECTABLE)
        summary = QLabel(SUMMARY)
        summary.setWordWrap(True)

        self.database_label = self._fact(self.database_name, "Database")
        self.environment_label = self._fact("\n".join(self.environment), "Runs on")
        self.log_folder_label = self._fact(str(log_folder), "Log folder")
        facts = QFormLayout()
        facts.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        facts.addRow("Database:", self.database_label)
        facts.addRow("Runs on:", self.environment_label)
        facts.addRow("Log folder:", self.log_folder_label)

        # What the buttons did, or why they could not: never a traceback.
        self.status_label = QLabel("")
        self.status_label.setAccessibleName("Status")
        self.status_label.setWordWrap(True)

        buttons = QDialogButtonBox(self)
        # Action buttons leave the dialog open; only Close (the reject role, as Esc) closes it.
        self.open_folder_button = self._button(buttons, "Open log folder")
        self.open_folder_button.clicked.connect(self.on_open_folder_button_clicked)
        self.copy_button = self._button(buttons, "Copy")
        self.copy_button.clicked.connect(self.on_copy_button_clicked)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.setAccessibleName(self.close_button.text().replace("&", ""))
        buttons.rejected.connect(self.reject)
        self.close_button.setDefault(True)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(summary)
        layout.addSpacing(self.fontMetrics().height() // 2)
        layout.addLayout(facts)
        layout.addWidget(self.status_label)
        layout.addWidget(buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 70)

    def _fact(self, text: str, name: str) -> QLabel:
        label = QLabel(text)
        label.setAccessibleName(name)
        label.setTextFormat(Qt.TextFormat.PlainText)  # a file name may look like markup
        label.setTextInteractionFlags(SELECTABLE)
        label.setWordWrap(True)
        return label

    def _button(self, buttons: QDialogButtonBox, label: str) -> QPushButton:
        button = buttons.addButton(label, QDialogButtonBox.ButtonRole.ActionRole)
        button.setAccessibleName(label)
        button.setAutoDefault(False)
        return button

    def about_text(self) -> str:
        """The facts the dialog shows, as plain text for a bug report."""
        return redact(
            "\n".join(
                [
                    self.heading,
                    SUMMARY,
                    f"Database: {self.database_name}",
                    *self.environment,
                    f"Log folder: {self.log_folder}",
                ]
            )
        )

    def on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.about_text())
        self.status_label.setText("Copied to the clipboard.")

    def on_open_folder_button_clicked(self) -> None:
        # Nothing is logged before the first message, so the folder may not exist yet.
        try:
            make_private_folder(self.log_folder)  # 0700, as the log makes it
        except OSError as error:
            self.status_label.setText(
                f"The log folder cannot be created: {error.strerror or error}."
            )
            return
        if open_folder(self.log_folder):
            self.status_label.setText("")
        else:
            # No file opener here (a server, a minimal desktop): the path goes where the
            # user can paste it into whatever they use instead.
            QGuiApplication.clipboard().setText(str(self.log_folder))
            self.status_label.setText(
                f"No file manager could open the log folder. Its path is copied to the "
                f"clipboard: {self.log_folder}"
            )
