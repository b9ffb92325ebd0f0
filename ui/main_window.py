"""The main window: the kinds of record with their counts, and the door to browse windows."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QLocale, QMimeData, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.changes import ChangeSet
from app.connections import load_connections, save_connections
from app.desktop import Settings, SettingsError, log_file, settings_for, state_dir
from app.query import DeletedRows, QuerySpec
from app.services.catalog import EntityInfo
from app.services.connection import sqlite_file_problem
from app.services.errors import RecordsDeskError
from app.services.seeding import DEMO_DATA, SeedOptions
from app.workspace import Desk, Workspace
from ui.connecting import Opened, open_connection
from ui.connection_look import Banner, ConnectionBadge, ConnectionLook
from ui.first_run import (
    DEMO_DATA_NEXT,
    EmptyDatabasePanel,
    database_file_dialog,
    demo_data_summary,
)
from ui.icons import set_action_icon
from ui.messages import finished, warning_box
from ui.preferences import DateStyle, display_preferences, reopen_windows, set_reopen_windows
from ui.progress import Progress, with_progress
from ui.record_changes import record_changes
from ui.tasks import async_slot, finish_pending, spawn
from ui.undo import undo_history
from ui.widgets.elided_label import ElidedLabel
from ui.window_state import WindowState


def journal_file(database_name: str) -> Path:
    """The session journal of the database called ``database_name`` (its display name,
    never a password) in app.desktop.state_dir: one per database, so a session on another
    never writes over what a crash left of this one's. ui/journal.py writes it."""
    digest = hashlib.sha256(database_name.encode("utf-8")).hexdigest()[:16]
    return state_dir() / f"journal-{digest}.json"


# The first window needs none of these: each is imported when first opened, which keeps
# about a tenth of a second of importing (compiling, without bytecode) out of every start.
if TYPE_CHECKING:
    from ui.browse_window import BrowseWindow
    from ui.dialogs.connections_dialog import ConnectionsDialog
    from ui.dialogs.getting_started import GettingStartedDialog
    from ui.dialogs.shortcuts_dialog import ShortcutsDialog
    from ui.insights_window import InsightsWindow
    from ui.journal import Journal

APP_TITLE = "Records Desk"
# The main window's place and size in the window state, beside each kind's browse window.
MAIN_WINDOW_STATE_KEY = "main-window"
# Queries still running when the window closes get this long to end cleanly.
FINISH_TIMEOUT_S = 3.0


def state_scope(workspace: Workspace) -> str:
    """Where the windows of ``workspace``'s database keep their layouts (WindowState):
    ours at the top, each other program's database under a name of its own (a digest of
    where it is, which holds no password)."""
    if workspace.catalog.ours:
        return ""
    where = workspace.database.display_name.encode()
    return f"databases/{hashlib.sha256(where).hexdigest()[:16]}/"


class MainWindow(QMainWindow):
    closed = Signal()
    # entity name, once its count is exact
    count_loaded = Signal(str)
    # every count is exact, with their total
    counts_loaded = Signal(int)
    # the In the trash column is counted too (after the live counts, which never wait on it)
    trash_counted = Signal()
    # a count could not be made: why (the status bar says it too)
    counts_failed = Signal(str)
    # every window shows another database now: its Settings
    switched = Signal(object)
    # A saved view opened: its BrowseWindow and the OpenedView (what was left out).
    view_opened = Signal(object, object)
    # File → Connections… opened: the ConnectionsDialog
    connections_dialog_shown = Signal(object)
    # Load demo data has ended: the status line's sentence (added, stopped or why not)
    demo_data_finished = Signal(str)

    def __init__(
        self,
        database_name: str,
        desk: Desk,
        window_state: WindowState | None = None,
        parent: QWidget | None = None,
        *,
        settings: Settings | None = None,
        problem: str = "",
        verbose: bool = False,
    ) -> None:
        """``problem``: why ``desk`` holds no usable database (it could not be opened):
        the window then says so and offers Connections… and Retry, and queries nothing."""
        super().__init__(parent)
        self.database_name = database_name
        self.desk = desk
        self.settings = settings
        self.connected = not problem
        self._verbose = verbose
        self.look = ConnectionLook.of(settings, desk.workspace)
        if settings is None:
            self.look = replace(self.look, name=database_name, description=database_name)
        self.connections_dialog: ConnectionsDialog | None = None
        self.message: QMessageBox | None = None
        self._switching: asyncio.Task[str | None] | None = None
        self._opening = False
        self._disposals: set[asyncio.Task[None]] = set()
        self.window_state = window_state or WindowState()
        self.entities: list[EntityInfo] = []
        self.browse_windows: list[BrowseWindow] = []
        self._journal: Journal | None = None
        # Whether what the last session left was offered yet (once, when first connected).
        self._session_offered = False
        self._count_task: asyncio.Task[None] | None = None
        self._shutdown: asyncio.Task[None] | None = None
        geometry = self.window_state.geometry(MAIN_WINDOW_STATE_KEY)
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(520, 420)

        self.entity_table = QTableWidget(0, 3, self)
        self.entity_table.setAccessibleName("Records")
        self.entity_table.setHorizontalHeaderLabels(["Records", "Count", "In the trash"])
        self.entity_table.verticalHeader().hide()
        self.entity_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.entity_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.entity_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.entity_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(1, self.fontMetrics().averageCharWidth() * 18)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self._count_items: list[QTableWidgetItem] = []
        # What each kind holds in the trash: the count above leaves it out, and a number
        # smaller than the one just added (989 of a thousand) must say where the rest is.
        self._trash_items: list[QTableWidgetItem] = []
        self.entity_table.doubleClicked.connect(self.on_entity_table_double_clicked)
        # Another program's database may hold a thousand tables: typing narrows the list.
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setAccessibleName("Filter tables")
        self.filter_edit.setPlaceholderText("Filter tables (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.on_filter_edit_text_changed)

        # A long path is elided in the middle (its tooltip has it whole), never cut mid-word.
        self.database_label = ElidedLabel(self)
        self.database_label.setAccessibleName("Database")
        self.statusBar().addPermanentWidget(self.database_label, 1)
        self.connection_badge = ConnectionBadge(self)
        self.statusBar().addPermanentWidget(self.connection_badge)

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
        self.load_demo_action = QAction("Load &demo data", self)
        self.load_demo_action.setToolTip(
            f"Add {QLocale().toString(DEMO_DATA.users)} made-up users with their records"
        )
        self.load_demo_action.setEnabled(False)  # until the counts say the database is empty
        self.load_demo_action.triggered.connect(self.on_load_demo_action_triggered)
        self.open_database_action = QAction("Open &another database…", self)
        self.open_database_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.open_database_action.triggered.connect(self.on_open_database_action_triggered)
        self.open_view_action = QAction("Open &view…", self)
        self.open_view_action.setToolTip("Open a saved view in a browse window")
        self.open_view_action.triggered.connect(self.on_open_view_action_triggered)
        self.connections_action = QAction("&Connections…", self)
        self.connections_action.setShortcut(QKeySequence("Ctrl+,"))
        self.connections_action.setToolTip("Saved connections: choose, add or change (Ctrl+,)")
        self.connections_action.triggered.connect(self.show_connections)
        # Another program's database opens read-only; editing it is the user's choice, kept
        # with the connection.
        self.allow_editing_action = QAction("Allow &editing of this database", self)
        self.allow_editing_action.setCheckable(True)
        self.allow_editing_action.setToolTip(
            "Another program's database: create, edit and delete its rows (each save checks "
            "that nobody changed the row meanwhile)"
        )
        self.allow_editing_action.triggered.connect(self.on_allow_editing_action_triggered)
        self.insights_action = QAction("&Insights…", self)
        self.insights_action.setShortcut(QKeySequence("Ctrl+I"))
        self.insights_action.setToolTip(
            "Orders by status, posts per author, sales per month… over your views (Ctrl+I)"
        )
        self.insights_action.triggered.connect(self.show_insights)
        self.insights_window: InsightsWindow | None = None
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.refresh_action)
        file_menu.addSeparator()
        file_menu.addAction(self.connections_action)
        file_menu.addAction(self.open_database_action)
        file_menu.addAction(self.allow_editing_action)
        file_menu.addSeparator()
        file_menu.addAction(self.open_view_action)
        # The views folder's files, read each time the menu opens.
        self.views_menu = file_menu.addMenu("Saved &views")
        self.views_menu.aboutToShow.connect(self.fill_views_menu)
        self.setAcceptDrops(True)  # a view file dropped here opens
        file_menu.addAction(self.load_demo_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        self.empty_panel = EmptyDatabasePanel(
            [self.load_demo_action, self.open_database_action], self
        )
        self.empty_panel.hide()
        self.banner = Banner(self)
        self.banner.add_button("Connections…").clicked.connect(self.show_connections)
        self.retry_button = self.banner.add_button("Retry")
        self.retry_button.clicked.connect(self.on_retry_button_clicked)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.empty_panel)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.entity_table)
        self.setCentralWidget(central)
        self._demo_task: asyncio.Task[str] | None = None
        self._count_failure_shown = False
        view_menu = self.menuBar().addMenu("&View")
        self.system_dates_action = QAction("Dates in system format", self)
        self.system_dates_action.setCheckable(True)
        self.system_dates_action.setChecked(display_preferences().date_style is DateStyle.SYSTEM)
        self.system_dates_action.toggled.connect(self.on_system_dates_action_toggled)
        display_preferences().changed.connect(self.on_display_preferences_changed)
        # Each database has its own history: steps of another one would name other records.
        undo_history().clear()
        # Records made, trashed or restored by anyone change the counts.
        record_changes(desk).changed.connect(self.on_records_changed)
        view_menu.addAction(self.system_dates_action)
        self.reopen_action = QAction("Reopen windows at start", self)
        self.reopen_action.setCheckable(True)
        self.reopen_action.setChecked(reopen_windows())
        self.reopen_action.setToolTip(
            "After a clean quit, the next start reopens the browse windows left open "
            "(after a crash it always offers them, with unsaved forms)"
        )
        self.reopen_action.toggled.connect(set_reopen_windows)
        view_menu.addAction(self.reopen_action)
        view_menu.addSeparator()
        view_menu.addAction(self.insights_action)
        self.addAction(self.open_action)
        self.find_action = QAction("&Filter tables", self)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.triggered.connect(self.on_find_action_triggered)
        self.addAction(self.find_action)
        view_menu.addAction(self.find_action)
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main")
        toolbar.setMovable(False)
        # Four actions a first-time analyst must recognise: their names under the icons.
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        toolbar.addAction(self.open_action)
        toolbar.addAction(self.refresh_action)
        toolbar.addAction(self.connections_action)
        toolbar.addAction(self.insights_action)

        help_menu = self.menuBar().addMenu("&Help")
        self.getting_started_action = QAction("&Getting started", self)
        self.getting_started_action.setShortcut(QKeySequence.StandardKey.HelpContents)
        self.getting_started_action.triggered.connect(self.show_getting_started)
        help_menu.addAction(self.getting_started_action)
        self.shortcuts_action = QAction("&Keyboard shortcuts", self)
        self.shortcuts_action.setShortcut(QKeySequence("Ctrl+/"))
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        help_menu.addAction(self.shortcuts_action)
        help_menu.addSeparator()
        about_action = QAction("&About Records Desk", self)
        about_action.triggered.connect(self.on_about_action_triggered)
        help_menu.addAction(about_action)
        set_action_icon(self.open_action, "open")
        set_action_icon(self.refresh_action, "refresh")
        set_action_icon(self.open_database_action, "open-database")
        set_action_icon(self.connections_action, "connections")
        set_action_icon(self.insights_action, "insights")
        set_action_icon(self.load_demo_action, "load-demo-data")
        set_action_icon(about_action, "about")

        self._fill_entities()
        self._show_connection(problem)
        if self.connected:
            self.refresh_counts()

    # -- the connection ----------------------------------------------------------------------

    def _show_connection(self, problem: str = "") -> None:
        """Title, status bar and banner as the connection is now."""
        look = self.look
        self.setWindowTitle(f"{APP_TITLE} — {look.title}")
        self.connection_badge.show_look(look)
        self.connection_badge.setVisible(look.name != look.description or bool(look.colour))
        if self.connected:
            self.database_label.setText(f"Connected to {look.description}")
            notices = list(self.desk.workspace.database.notices)
            if look.read_only and not any("read-only" in notice for notice in notices):
                notices.insert(0, f"{look.name} is read-only: nothing can be changed through it.")
            self.banner.say(" ".join(notices))
        else:
            self.database_label.setText(f"Not connected: {look.description}")
            self.banner.say(problem)
            for item in self._count_items:
                item.setText("—")
        self.retry_button.setVisible(not self.connected)
        for action in (self.open_action, self.refresh_action):
            action.setEnabled(self.connected)
        self.entity_table.setEnabled(self.connected)
        if not self.connected or look.read_only:
            self.load_demo_action.setEnabled(False)
            self.empty_panel.hide()
        self._show_editing()

    def _show_editing(self) -> None:
        """Allow editing: shown for another program's database behind a saved connection
        that is not read-only by the user's choice; checked while editing is on."""
        connection = self.settings.connection if self.settings is not None else None
        database = self.desk.workspace.database
        foreign = self.connected and not self.desk.workspace.catalog.ours
        self.allow_editing_action.setVisible(
            foreign and connection is not None and not connection.read_only
        )
        self.allow_editing_action.setChecked(database.edits_foreign)

    def on_allow_editing_action_triggered(self, checked: bool) -> None:
        self._switching = spawn(self.allow_editing(checked), name="allow editing")

    async def allow_editing(self, allowed: bool) -> str | None:
        """Turn editing of another program's database on (after the user agrees) or off,
        for its saved connection, and open it again so. None when done, else why not."""
        self._show_editing()  # the check mark follows the database, not the click
        settings = self.settings
        if settings is None or settings.connection is None:
            return "Only a saved connection can be edited."
        if allowed and not await self._may_edit(settings):
            return "Editing was not turned on."
        connection = replace(settings.connection, allow_editing=allowed)
        try:
            save_connections(load_connections().with_connection(connection))
        except (OSError, SettingsError) as error:
            self._tell("Cannot save the connection", str(error))
            return str(error)
        problem = await self.switch_to(replace(settings, connection=connection))
        if problem is not None and shiboken6.isValid(self):
            self._tell("Cannot open the database", problem)
        return problem

    async def _may_edit(self, settings: Settings) -> bool:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Allow editing?",
            f"{settings.display_name} belongs to another program. With editing allowed, "
            "Records Desk writes to it when you save, create or delete rows there: each "
            "save changes only the fields you edited, and only if nobody changed the row "
            "since you opened it; a delete says first what the database's foreign keys "
            "would delete or empty with it. Nothing else in it is changed.\n\n"
            "Allow editing of this database?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setAccessibleName("Allow editing?")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self.message = box
        await finished(box)
        return box.clickedButton() is box.button(QMessageBox.StandardButton.Yes)

    def show_connections(self) -> ConnectionsDialog | None:
        """File → Connections…: the saved connections, to change or to connect to."""
        if self.connections_dialog is not None and self.connections_dialog.isVisible():
            self.connections_dialog.raise_()
            self.connections_dialog.activateWindow()
            return self.connections_dialog
        try:
            saved = load_connections()
        except SettingsError as error:
            self._tell("Cannot read the saved connections", str(error))
            return None
        current = self.settings.connection if self.settings is not None else None
        from ui.dialogs.connections_dialog import ConnectionsDialog

        dialog = ConnectionsDialog(
            saved, self.switch_to, self, current_id=current.id if current else None
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(self._forget_connections_dialog)
        self.connections_dialog = dialog
        dialog.open()
        self.connections_dialog_shown.emit(dialog)
        return dialog

    def _forget_connections_dialog(self, *_: object) -> None:
        self.connections_dialog = None

    def on_retry_button_clicked(self) -> None:
        if self.settings is not None:
            self._switching = spawn(self.switch_to(self.settings), name="retry connecting")

    async def switch_to(self, settings: Settings) -> str | None:
        """Open ``settings`` and show it in every window, without a restart: browse windows
        run their view again there, record windows close (asking first when something
        typed would be lost). None when that worked, else why not (nothing changed)."""
        if self._opening:
            return "Another connection is being opened; wait for it to finish."
        unsaved = sum(window.unsaved_record_windows() for window in self.browse_windows)
        if unsaved and self.connected and not await self._may_discard(unsaved):
            return "Not switched: the record windows keep what is typed in them."
        self._opening = True
        try:
            opened = await open_connection(settings, self, verbose=self._verbose)
        finally:
            self._opening = False
        if not shiboken6.isValid(self) or self._shutdown is not None:
            if opened.workspace is not None:
                await opened.workspace.close()
            return "Records Desk is closing."
        if opened.workspace is None:
            if not self.connected:
                self.banner.say(opened.problem)
            return opened.problem
        self._take(opened)
        return None

    async def _may_discard(self, unsaved: int) -> bool:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Discard unsaved changes?",
            f"{unsaved} record window{'s' if unsaved > 1 else ''} hold{'' if unsaved > 1 else 's'} "
            "changes that are not saved. They belong to the database open now and close when "
            "you switch. Switch and discard them?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setAccessibleName("Discard unsaved changes?")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self.message = box
        await finished(box)
        return box.clickedButton() is box.button(QMessageBox.StandardButton.Discard)

    def _take(self, opened: Opened) -> None:
        assert opened.workspace is not None
        if not (opened.workspace.catalog.ours and self.desk.workspace.catalog.ours):
            # Another schema: the kinds the windows show may not be there at all.
            for window in list(self.browse_windows):
                window.close()
            if self.insights_window is not None:
                self.insights_window.close()
        for window in self.browse_windows:
            window.close_record_windows()
        old = self.desk.replace(opened.workspace)
        self.settings = opened.settings
        self.connected = True
        self.database_name = opened.workspace.database.display_name
        self.look = ConnectionLook.of(opened.settings, opened.workspace)
        # Steps of the history name records of the database before.
        undo_history().clear()
        self._fill_entities()
        self._show_connection()
        for window in self.browse_windows:
            window.show_connection(self.look)
        if self.insights_window is not None:
            self.insights_window.show_connection(self.look)
        self.refresh_counts()
        self._remember(opened.settings)
        if not self._session_offered:
            # Not connected at start (Retry, Connections…): the last session is offered now.
            self._restoring = spawn(self.restore_session(), name="restore the last session")
        disposal = spawn(self._dispose_later(old), name="dispose the previous engine")
        self._disposals.add(disposal)
        disposal.add_done_callback(self._disposals.discard)
        self.switched.emit(opened.settings)

    async def _dispose_later(self, workspace: Workspace) -> None:
        """Close the workspace before once its models have let go of it (their work was
        cancelled as they were replaced; cancelling stops it in the database)."""
        await asyncio.sleep(0)
        await workspace.close()

    def _remember(self, settings: Settings) -> None:
        """The connection just chosen is the one the next start opens; if that cannot be
        written down, the status bar says so and the session carries on."""
        connection = settings.connection
        if connection is None:
            return
        try:
            save_connections(load_connections().chosen(connection))
        except (SettingsError, OSError) as error:
            reason = error.strerror if isinstance(error, OSError) else str(error)
            self.statusBar().showMessage(
                f"The next start will not open this database by itself: {reason}"
            )

    def _tell(self, title: str, text: str) -> QMessageBox:
        box = warning_box(self, title, text)
        self.message = box
        box.open()
        return box

    # -- the list of tables ---------------------------------------------------------------

    def _fill_entities(self) -> None:
        """List what the open database holds: our kinds of record, or every table and view
        of another program's database (its catalog, reflected when it opened)."""
        known = self.desk.workspace.catalog
        self.entities = known.entities()
        table = self.entity_table
        table.setUpdatesEnabled(False)
        table.clearContents()
        table.setRowCount(len(self.entities))
        self._count_items = []
        self._trash_items = []
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for row, entity in enumerate(self.entities):
            name = QTableWidgetItem(entity.label + (" (view)" if entity.view else ""))
            table.setItem(row, 0, name)
            count = QTableWidgetItem("…")
            count.setTextAlignment(right)
            table.setItem(row, 1, count)
            self._count_items.append(count)
            trashed = QTableWidgetItem("")
            trashed.setTextAlignment(right)
            table.setItem(row, 2, trashed)
            self._trash_items.append(trashed)
        # Another program's tables have no trash: the column would only ever be empty.
        table.setColumnHidden(2, not known.ours)
        table.setHorizontalHeaderLabels(
            ["Records" if known.ours else "Tables and views", "Count", "In the trash"]
        )
        self.filter_edit.setVisible(not known.ours or len(self.entities) > 20)
        self.on_filter_edit_text_changed(self.filter_edit.text())
        table.setUpdatesEnabled(True)
        if self.entities:
            table.selectRow(0)
        # The Insights reports are questions about our own records.
        self.insights_action.setEnabled(known.ours)

    def on_filter_edit_text_changed(self, text: str) -> None:
        """Show the tables whose name holds ``text`` (ignoring case); select the first."""
        wanted = text.strip().casefold()
        first = -1
        for row, entity in enumerate(self.entities):
            hidden = bool(wanted) and wanted not in entity.label.casefold()
            self.entity_table.setRowHidden(row, hidden)
            if not hidden and first < 0:
                first = row
        current = self.entity_table.currentRow()
        if first >= 0 and (current < 0 or self.entity_table.isRowHidden(current)):
            self.entity_table.selectRow(first)

    def on_find_action_triggered(self) -> None:
        self.filter_edit.show()
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

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
                estimate = await self.desk.records.estimate_count(entity.name, spec)
                if estimate is not None:
                    item.setText(f"about {locale.toString(estimate)}")
            except RecordsDeskError:
                pass  # the exact count below reports the problem
        failed = False
        total = 0
        for item, entity in zip(self._count_items, self.entities, strict=True):
            try:
                count = await self.desk.records.count(entity.name, spec)
            except RecordsDeskError as error:
                item.setText("?")
                item.setToolTip(str(error))
                if not failed:  # one message for the lot: the same cause, most likely
                    self.statusBar().showMessage(f"{error} Use Refresh counts to try again.")
                    self._count_failure_shown = True
                    self.counts_failed.emit(str(error))
                failed = True
                continue
            item.setText(locale.toString(count))
            item.setToolTip("")
            total += count
            self.count_loaded.emit(entity.name)
        if not failed:
            if self._count_failure_shown:
                self.statusBar().clearMessage()  # an earlier failure is over
                self._count_failure_shown = False
            # Demo data is offered to an empty database of ours, never into another's.
            self._show_whether_empty(total == 0 and self.desk.workspace.catalog.ours)
            self.counts_loaded.emit(total)
        # Last: on a large table the trash's count may take a while, and the live counts
        # (what the window is for) never wait on it.
        for trash_item, entity in zip(self._trash_items, self.entities, strict=True):
            if entity.soft_delete is not None:
                await self._load_trash_count(entity.name, trash_item)
        self.trash_counted.emit()

    async def _load_trash_count(self, entity: str, item: QTableWidgetItem) -> None:
        """How many of ``entity`` are in the trash: nothing shown for none."""
        try:
            trashed = await self.desk.records.count(entity, QuerySpec(deleted=DeletedRows.ONLY))
        except RecordsDeskError:
            item.setText("")  # the count beside it says what went wrong
            return
        item.setText(QLocale().toString(trashed) if trashed else "")

    def trash_count_text(self, entity_name: str) -> str:
        """What the In the trash column says for ``entity_name``."""
        row = next(row for row, e in enumerate(self.entities) if e.name == entity_name)
        return self._trash_items[row].text()

    def on_records_changed(self, changes: ChangeSet) -> None:
        if self.connected and any(changes.moved(entity) for entity in changes.entities):
            self.refresh_counts()

    def _show_whether_empty(self, empty: bool) -> None:
        adding = self._demo_task is not None and not self._demo_task.done()
        writable = not self.look.read_only
        self.empty_panel.setVisible(empty and writable)
        self.load_demo_action.setEnabled(empty and not adding and writable)

    def count_text(self, entity_name: str) -> str:
        """What the Count column says for ``entity_name``."""
        row = next(row for row, e in enumerate(self.entities) if e.name == entity_name)
        return self._count_items[row].text()

    # -- browse windows ----------------------------------------------------------------------

    def open_browser(self, entity_name: str, spec: QuerySpec | None = None) -> BrowseWindow:
        """A new browse window with its own search state; several may show the same kind."""
        entity = self.apply_remembered_trash(entity_name)
        from ui.browse_window import BrowseWindow

        state = self.window_state.scoped(state_scope(self.desk.workspace))
        window = BrowseWindow(self.desk, entity, state, spec=spec, look=self.look)
        window.offer(self.connections_action)
        window.offer_in_view_menu(self.insights_action)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.closed.connect(lambda: self._forget(window))
        self.journal.watch_window(window)
        window.view_changed.connect(self.on_browse_window_view_changed)
        self.browse_windows.append(window)
        self.on_browse_window_view_changed()  # its first view was shown before this
        window.show()
        return window

    def apply_remembered_trash(self, entity_name: str) -> EntityInfo:
        """The kind ``entity_name`` with the trash column the user chose for it in a run
        before (another program's table), as windows and saved views read it."""
        entity = self.desk.workspace.catalog.entity(entity_name)
        state = self.window_state.scoped(state_scope(self.desk.workspace))
        chosen = state.trash_column(entity.name)
        if chosen is not None and entity.soft_delete is None and entity.trash_candidate == chosen:
            entity = self.desk.records.use_trash(entity.name, chosen)
        return entity

    @property
    def journal(self) -> Journal:
        """This session's journal (ui/journal.py), made when first needed."""
        if self._journal is None:
            from ui.journal import Journal

            self._journal = Journal(self)
        return self._journal

    async def restore_session(self) -> str:
        """At start: what the last session left (windows, unsaved forms) reopened or
        offered; what happened, in words ("" when there was nothing)."""
        if self._session_offered or not self.connected:
            return ""
        self._session_offered = True
        if self._journal is None and not self._journal_path().exists():
            return ""
        told = await self.journal.offer()
        if told:
            self.statusBar().showMessage(told, 8000)
        return told

    def _journal_path(self) -> Path:
        return journal_file(self.desk.workspace.database.display_name)

    def _forget(self, window: BrowseWindow) -> None:
        if window in self.browse_windows:
            self.browse_windows.remove(window)
            self.on_browse_window_view_changed()

    # -- insights ----------------------------------------------------------------------------

    def show_insights(self) -> InsightsWindow:
        """The Insights window of this database (one for all browse windows)."""
        if self.insights_window is None:
            from ui.insights_window import InsightsWindow

            self.insights_window = InsightsWindow(
                self.desk, self.current_views, self.window_state, self.look
            )
            self.insights_window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.insights_window.closed.connect(self._forget_insights)
        self.insights_window.show()
        self.insights_window.raise_()
        self.insights_window.activateWindow()
        return self.insights_window

    def _forget_insights(self) -> None:
        self.insights_window = None

    def current_views(self) -> dict[str, QuerySpec]:
        """What the browse windows show, by kind (the one opened last, of several)."""
        return {
            window.entity.name: window.view.spec
            for window in self.browse_windows
            if window.model is not None
        }

    def on_browse_window_view_changed(self, *_: object) -> None:
        if self.insights_window is not None:
            self.insights_window.views_changed()

    def on_entity_table_double_clicked(self, *_: Any) -> None:
        self.on_open_action_triggered()

    def on_open_action_triggered(self) -> None:
        row = self.entity_table.currentRow()
        if 0 <= row < len(self.entities):
            self.open_browser(self.entities[row].name)

    # -- a database with no records -------------------------------------------------------

    @async_slot()
    async def on_load_demo_action_triggered(self) -> None:
        if self._demo_task is not None and not self._demo_task.done():
            return
        self._demo_task = spawn(self.load_demo_data(), name="load demo data")
        await asyncio.wait({self._demo_task})

    async def load_demo_data(self, options: SeedOptions | None = None) -> str:
        """Add DEMO_DATA (or ``options``: the smoke test's few) with a progress window whose
        Cancel stops it after the batch being written is rolled back; the batches before it
        stay. Ends with demo_data_finished; returns the sentence it shows."""
        self.load_demo_action.setEnabled(False)
        options = options or DEMO_DATA
        users = options.users
        locale = QLocale()
        progress = Progress(f"Adding demo data: 0 of {locale.toString(users)} users…")
        progress.show_steps(0, users)
        added = [0]
        report: list[dict[str, int]] = []

        def on_batch(done: int, total: int) -> None:
            added[0] = done
            progress.show_text(
                f"Adding demo data: {locale.toString(done)} of {locale.toString(total)} users…"
            )
            progress.show_steps(done, total)

        async def add() -> None:
            result = await self.desk.workspace.seed_demo_data(options, on_batch)
            report.append(result.counts)

        try:
            finished = await with_progress(add(), progress, parent=self)
        except RecordsDeskError as error:
            message = f"No demo data was added: {error}"
            if added[0]:
                message = f"Demo data stopped after {locale.toString(added[0])} users: {error}"
        else:
            if finished and report:
                message = demo_data_summary(report[0]) + " " + DEMO_DATA_NEXT
            elif added[0]:
                message = (
                    f"Demo data stopped: the first {locale.toString(added[0])} of "
                    f"{locale.toString(users)} users were added."
                )
            else:
                message = "Demo data cancelled: nothing was added."
        if not shiboken6.isValid(self):
            return message  # the window closed meanwhile
        self.statusBar().showMessage(message)
        self.refresh_counts()
        self.demo_data_finished.emit(message)
        return message

    # -- saved views -------------------------------------------------------------------------

    def on_open_view_action_triggered(self) -> None:
        from ui.view_files import open_view_dialog

        dialog = open_view_dialog(self)
        dialog.fileSelected.connect(lambda name: self.open_view(Path(name)))
        dialog.open()

    def fill_views_menu(self) -> None:
        from app.saved_views import SUFFIX, view_files, views_folder

        self.views_menu.clear()
        files = view_files(views_folder())
        for path in files:
            action = self.views_menu.addAction(path.name.removesuffix(SUFFIX))
            action.triggered.connect(lambda _=False, path=path: self.open_view(path))
        if not files:
            empty = self.views_menu.addAction(f"(none saved in {views_folder()})")
            empty.setEnabled(False)

    def open_view(self, path: Path) -> BrowseWindow | None:
        """A browse window on the current connection showing the view saved in ``path``;
        what no longer applies here is left out and said. None when it cannot open."""
        from app.saved_views import read_view
        from ui.view_files import view_to_show

        if not self.connected:
            self._tell("Cannot open the view", "Connect to a database first.")
            return None
        try:
            opened = read_view(path, self.desk.workspace.catalog)
            known = self.desk.workspace.catalog.entity(opened.saved.view.entity)
            if self.apply_remembered_trash(known.name) is not known:
                opened = read_view(path, self.desk.workspace.catalog)  # with its trash now
        except RecordsDeskError as error:
            self._tell("Cannot open the view", str(error))
            return None
        window = self.open_browser(opened.saved.view.entity)
        window.set_view(view_to_show(opened, window))
        window.use_widths(opened.saved.widths)
        told = f"Opened the view {path.name}."
        if opened.dropped:
            told += " Left out: " + "; ".join(opened.dropped) + "."
        window.tell(told, 15000)
        self.view_opened.emit(window, opened)
        return window

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if _view_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        for path in _view_files(event.mimeData()):
            self.open_view(path)
        event.acceptProposedAction()

    def on_open_database_action_triggered(self) -> None:
        database = self.desk.workspace.database
        path = database.url.database if database.is_sqlite else None
        folder = Path(path).parent if path else Path.home()
        dialog = database_file_dialog(self, folder)
        dialog.fileSelected.connect(self.open_database_file)
        dialog.open()

    def open_database_file(self, name: str) -> None:
        """Switch to the SQLite file ``name`` (saved as a connection, and first among the
        recent files), or say why not and stay."""
        path = Path(name).expanduser().absolute()
        problem = sqlite_file_problem(path)
        if problem is not None:
            self._tell("Cannot open the database", problem)
            return
        try:
            connection = load_connections().for_file(path)
        except SettingsError as error:
            self._tell("Cannot read the saved connections", str(error))
            return
        self._switching = spawn(self._open_file(settings_for(connection)), name="open a file")

    async def _open_file(self, settings: Settings) -> str | None:
        problem = await self.switch_to(settings)
        if problem is not None and shiboken6.isValid(self):
            self._tell("Cannot open the database", problem)
        return problem

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
            self.window_state.set_geometry(MAIN_WINDOW_STATE_KEY, self.saveGeometry())
            if self.connected and (self._journal is not None or self._journal_path().exists()):
                # Before the windows close: they are what the next start reopens.
                self.journal.close()
            # Gone at once, and nothing in it can start new work on the engine going away.
            self.setEnabled(False)
            self.hide()
            for window in list(self.browse_windows):
                window.close()
            if self.insights_window is not None:
                self.insights_window.close()
            if self._count_task is not None and not self._count_task.done():
                self._count_task.cancel()
            if self.connections_dialog is not None:
                self.connections_dialog.done(0)
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
        await self.desk.workspace.close()

    def on_shutdown_done(self, _task: asyncio.Task[None]) -> None:
        self.close()

    def show_getting_started(self) -> GettingStartedDialog:
        from ui.dialogs.getting_started import GettingStartedDialog

        dialog = GettingStartedDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_shortcuts(self) -> ShortcutsDialog:
        """Help → Keyboard shortcuts: the keys of this window and of the browse windows
        open now, read from their actions."""
        from ui.dialogs.shortcuts_dialog import ShortcutsDialog, shortcuts_of

        shortcuts = shortcuts_of("Main window", [self])
        browsers = [window for window in self.browse_windows if window.isVisible()]
        shortcuts += shortcuts_of("Browse windows", browsers)
        note = "" if browsers else "Open a kind of record to see its window's keys here too."
        dialog = ShortcutsDialog(shortcuts, note, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def on_about_action_triggered(self) -> None:
        # Parented, so it lives while open; deleted on close, so a second About makes a fresh one.
        from ui.dialogs.about_dialog import AboutDialog

        dialog = AboutDialog(self.look.description, log_file().parent, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()


def _view_files(data: QMimeData) -> list[Path]:
    """The saved views among the files dragged (local files named ….view.json)."""
    from app.saved_views import SUFFIX

    return [
        Path(url.toLocalFile())
        for url in data.urls()
        if url.isLocalFile() and url.toLocalFile().endswith(SUFFIX)
    ]
