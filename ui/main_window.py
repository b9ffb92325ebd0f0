"""The main window: the kinds of record with their counts, and the door to browse windows."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.core.logs import log_file
from app.query import QuerySpec
from app.services.catalog import EntityInfo, entities
from app.services.errors import RecordsDeskError
from app.services.records import RecordService
from ui.browse_window import BrowseWindow
from ui.dialogs.about_dialog import AboutDialog
from ui.preferences import DateStyle, display_preferences
from ui.tasks import finish_pending, spawn
from ui.window_state import WindowState

APP_TITLE = "Records Desk"
# Queries still running when the window closes get this long to end cleanly.
FINISH_TIMEOUT_S = 3.0


class MainWindow(QMainWindow):
    closed = Signal()
    # entity name, once its count is exact
    count_loaded = Signal(str)

    def __init__(
        self,
        database_name: str,
        records: RecordService,
        window_state: WindowState | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.database_name = database_name
        self.records = records
        self.window_state = window_state or WindowState()
        self.entities: list[EntityInfo] = entities()
        self.browse_windows: list[BrowseWindow] = []
        self._count_task: asyncio.Task[None] | None = None
        self._shutdown: asyncio.Task[None] | None = None
        self.setWindowTitle(f"{APP_TITLE} — {database_name}")
        self.resize(520, 420)

        self.entity_table = QTableWidget(len(self.entities), 2, self)
        self.entity_table.setAccessibleName("Records")
        self.entity_table.setHorizontalHeaderLabels(["Records", "Count"])
        self.entity_table.verticalHeader().hide()
        self.entity_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.entity_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.entity_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.entity_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(1, self.fontMetrics().averageCharWidth() * 18)
        self._count_items: list[QTableWidgetItem] = []
        for row, entity in enumerate(self.entities):
            self.entity_table.setItem(row, 0, QTableWidgetItem(entity.label))
            count = QTableWidgetItem("…")
            count.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.entity_table.setItem(row, 1, count)
            self._count_items.append(count)
        self.entity_table.selectRow(0)
        self.entity_table.doubleClicked.connect(self.on_entity_table_double_clicked)
        self.setCentralWidget(self.entity_table)

        self.database_label = QLabel(f"Connected to {database_name}")
        self.database_label.setAccessibleName("Database")
        self.statusBar().addPermanentWidget(self.database_label)

        self.open_action = QAction("&Open", self)
        self.open_action.setShortcuts(
            [QKeySequence(QKeySequence.StandardKey.Open), QKeySequence(Qt.Key.Key_Return)]
        )
        self.open_action.triggered.connect(self.on_open_action_triggered)
        self.refresh_action = QAction("&Refresh counts", self)
        self.refresh_action.setShortcut(QKeySequence.StandardKey.Refresh)
        self.refresh_action.triggered.connect(self.refresh_counts)
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.refresh_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        view_menu = self.menuBar().addMenu("&View")
        self.system_dates_action = QAction("Dates in system format", self)
        self.system_dates_action.setCheckable(True)
        self.system_dates_action.setChecked(display_preferences().date_style is DateStyle.SYSTEM)
        self.system_dates_action.toggled.connect(self.on_system_dates_action_toggled)
        display_preferences().changed.connect(self.on_display_preferences_changed)
        view_menu.addAction(self.system_dates_action)
        self.addAction(self.open_action)
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main")
        toolbar.setMovable(False)
        toolbar.addAction(self.open_action)
        toolbar.addAction(self.refresh_action)

        help_menu = self.menuBar().addMenu("&Help")
        about_action = QAction("&About Records Desk", self)
        about_action.triggered.connect(self.on_about_action_triggered)
        help_menu.addAction(about_action)

        self.refresh_counts()

    # -- counts ------------------------------------------------------------------------------

    def refresh_counts(self) -> None:
        if self._count_task is not None and not self._count_task.done():
            self._count_task.cancel()
        self._count_task = spawn(self._load_counts(), name="entity counts")

    async def _load_counts(self) -> None:
        locale = QLocale()
        spec = QuerySpec()
        for item, entity in zip(self._count_items, self.entities, strict=True):
            try:
                estimate = await self.records.estimate_count(entity.name, spec)
                if estimate is not None:
                    item.setText(f"about {locale.toString(estimate)}")
            except RecordsDeskError:
                pass  # the exact count below reports the problem
        failed = False
        for item, entity in zip(self._count_items, self.entities, strict=True):
            try:
                count = await self.records.count(entity.name, spec)
            except RecordsDeskError as error:
                item.setText("?")
                item.setToolTip(str(error))
                if not failed:  # one message for the lot: the same cause, most likely
                    self.statusBar().showMessage(f"{error} Use Refresh counts to try again.")
                failed = True
                continue
            item.setText(locale.toString(count))
            item.setToolTip("")
            self.count_loaded.emit(entity.name)
        if not failed:
            self.statusBar().clearMessage()  # an earlier failure is over

    def count_text(self, entity_name: str) -> str:
        """What the Count column says for ``entity_name``."""
        row = next(row for row, e in enumerate(self.entities) if e.name == entity_name)
        return self._count_items[row].text()

    # -- browse windows ----------------------------------------------------------------------

    def open_browser(self, entity_name: str, spec: QuerySpec | None = None) -> BrowseWindow:
        """A new browse window with its own search state; several may show the same kind."""
        entity = next(e for e in self.entities if e.name == entity_name)
        window = BrowseWindow(self.records, entity, self.window_state, spec=spec)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.closed.connect(lambda: self._forget(window))
        self.browse_windows.append(window)
        window.show()
        return window

    def _forget(self, window: BrowseWindow) -> None:
        if window in self.browse_windows:
            self.browse_windows.remove(window)

    def on_entity_table_double_clicked(self, *_: Any) -> None:
        self.on_open_action_triggered()

    def on_open_action_triggered(self) -> None:
        row = self.entity_table.currentRow()
        if 0 <= row < len(self.entities):
            self.open_browser(self.entities[row].name)

    # -- display -----------------------------------------------------------------------------

    def on_system_dates_action_toggled(self, checked: bool) -> None:
        display_preferences().set_date_style(DateStyle.SYSTEM if checked else DateStyle.ISO)

    def on_display_preferences_changed(self) -> None:
        self.system_dates_action.setChecked(display_preferences().date_style is DateStyle.SYSTEM)

    # -- closing -----------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Closing ends the session: the browse windows close, and the window goes once the
        work still in flight has ended and the engine is disposed.

        qasync's ``asyncClose`` would run that coroutine inside this handler by spinning
        ``processEvents()``; when ``close()`` is called from a coroutine (a test, a future
        switch of database) the spun loop can never step another task ("Cannot enter into
        task … while another task is being executed") and spins forever. So the first close
        is refused, the shutdown runs as a task, and the shutdown closes the window again."""
        if self._shutdown is None:
            for window in list(self.browse_windows):
                window.close()
            if self._count_task is not None and not self._count_task.done():
                self._count_task.cancel()
            self._shutdown = spawn(self._shut_down(), name="close the main window")
            self._shutdown.add_done_callback(self.on_shutdown_done)
        if not self._shutdown.done():
            event.ignore()
            return
        super().closeEvent(event)
        if event.isAccepted():
            self.closed.emit()

    async def _shut_down(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FINISH_TIMEOUT_S):
                await finish_pending()
        await self.records.database.dispose()

    def on_shutdown_done(self, _task: asyncio.Task[None]) -> None:
        self.close()

    def on_about_action_triggered(self) -> None:
        # Parented, so it lives while open; deleted on close, so a second About makes a fresh one.
        dialog = AboutDialog(self.database_name, log_file().parent, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
