"""The main window: the kinds of record, and which database is open."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QListWidget, QMainWindow, QMessageBox, QWidget

from app.services.catalog import EntityInfo

APP_TITLE = "Records Desk"


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(
        self, database_name: str, entities: list[EntityInfo], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{APP_TITLE} — {database_name}")
        self.resize(900, 600)

        self.entity_list = QListWidget(self)
        self.entity_list.setAccessibleName("Records")
        self.entity_list.addItems([entity.label for entity in entities])
        self.entity_list.setCurrentRow(0)
        self.setCentralWidget(self.entity_list)

        self.database_label = QLabel(f"Connected to {database_name}")
        self.database_label.setAccessibleName("Database")
        self.statusBar().addPermanentWidget(self.database_label)

        file_menu = self.menuBar().addMenu("&File")
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.quit_action)

        help_menu = self.menuBar().addMenu("&Help")
        about_action = QAction("&About Records Desk", self)
        about_action.triggered.connect(self.on_about_action_triggered)
        help_menu.addAction(about_action)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        super().closeEvent(event)
        if event.isAccepted():
            self.closed.emit()

    def on_about_action_triggered(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_TITLE}",
            f"{APP_TITLE}: browse, search and export the records of an application database.",
        )
