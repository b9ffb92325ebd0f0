"""What a database with no records shows: it says so and offers demo data or another
database, so a first start needs no terminal to show the app at work."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QLocale, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.catalog import entities

EMPTY_TITLE = "This database has no records yet."
EMPTY_TEXT = (
    "Load demo data to try Records Desk on a thousand made-up users with their profiles, "
    "posts, orders and accounts, or open another database."
)
SQLITE_FILTER = "SQLite databases (*.db *.sqlite *.sqlite3 *.db3);;All files (*)"


class EmptyDatabasePanel(QFrame):
    """A notice above the list of kinds, with one button per way forward. The buttons
    trigger the window's actions, so the menu, the shortcut and the panel do one thing."""

    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyDatabase")
        self.setAccessibleName("Empty database")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        title = QLabel(EMPTY_TITLE, self)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        text = QLabel(EMPTY_TEXT, self)
        text.setWordWrap(True)
        buttons = QHBoxLayout()
        self.buttons: list[QPushButton] = []
        for action in actions:
            label = action.text().replace("&", "")
            button = QPushButton(label, self)
            button.setAccessibleName(label)
            button.setIcon(action.icon())
            button.clicked.connect(action.trigger)
            # The panel is only shown while its actions can run; a disabled action (demo
            # data being added) disables its button too.
            action.changed.connect(lambda b=button, a=action: _follow(b, a))
            buttons.addWidget(button)
            self.buttons.append(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addLayout(buttons)
        if self.buttons:
            self.buttons[0].setDefault(True)


def _follow(button: QPushButton, action: QAction) -> None:
    button.setEnabled(action.isEnabled())
    button.setIcon(action.icon())


# What to do once the demo data is in, said with the sentence that says it is.
DEMO_DATA_NEXT = (
    "Double-click a kind to browse it; a few of each are in the trash (In the trash "
    "column), as deleted records would be. Help → Getting started shows what to try."
)


def demo_data_summary(counts: Mapping[str, int]) -> str:
    """'Added 1,000 users, 812 profiles, … as demo data.' in the catalog's words."""
    locale = QLocale()
    labels = {entity.name: entity.label.lower() for entity in entities()}
    parts = [
        f"{locale.toString(count)} {labels.get(table, table.replace('_', ' '))}"
        for table, count in counts.items()
        if count
    ]
    if not parts:
        return "No demo data was added."
    return f"Added {', '.join(parts)} as demo data."


def database_file_dialog(parent: QWidget, folder: Path) -> QFileDialog:
    """A non-blocking dialog for an existing SQLite file (its fileSelected says which)."""
    dialog = QFileDialog(parent, "Open another database", str(folder), SQLITE_FILTER)
    dialog.setAccessibleName("Open another database")
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return dialog
