"""A browse window: one kind of record, searched, filtered and sorted by the database, with
relations to follow and Back/Forward between the places visited.

What the window shows is one ``ViewState`` (the query and the visible columns in order),
held by its table model. Each control makes a new one from its own new value — the search
box its text, the header its sort or its columns — and ``set_view`` shows it everywhere.

The window holds the widgets and the view; its jobs are controllers that see it only
through a Protocol of what each reads: New/Edit/Trash (ui/record_editing.py), Back/Forward
(ui/history.py), Export (ui/export_controller.py), Copy (ui/copying.py) and the frequency
tables (ui/frequency_tables.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QLocale,
    QModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QStyle,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.query import DeletedRows, QuerySpec, SortKey, ViewState
from app.services import insights
from app.services.catalog import ColumnKind, EntityInfo
from app.services.records import title_of
from app.workspace import Desk
from ui import record_table_model
from ui.column_looks import look_of
from ui.connection_look import ConnectionBadge, ConnectionLook
from ui.copying import CopyController
from ui.dialogs.frequency_dialog import FrequencyDialog
from ui.dialogs.record_detail import RecordDetailDialog
from ui.dialogs.record_form import RecordFormDialog
from ui.dialogs.transactions import OrderDialog, TransferDialog
from ui.export_controller import ExportController
from ui.frequency_tables import FrequencyTables
from ui.history import History, Place
from ui.icons import set_action_icon
from ui.preferences import display_preferences
from ui.record_editing import RecordEditing, row_key
from ui.record_table_model import CountState, RecordTableModel
from ui.selection import cell_blocks, row_count, row_ranges, rows_of_columns
from ui.tasks import spawn
from ui.widgets.filter_bar import FilterBar, FilterLabels
from ui.widgets.totals_bar import TotalsBar
from ui.window_state import WindowState

# Typing pauses this long before the search runs: one query per word, not per key.
SEARCH_DEBOUNCE_MS = 250
# How long a passing message (copied, refused) stays in the status bar.
MESSAGE_MS = 8_000
# Width of the blank row headers that select rows, in characters: a comfortable target.
ROW_HANDLE_CHARS = 2
# Bounds of a width taken from the first page's texts, in characters: a one-digit id
# still gets a target to click, a post's paragraphs leave room for the other columns.
CONTENT_WIDTH_CHARS = (5, 40)


class BrowseWindow(QMainWindow):
    closed = Signal()
    # The view (its query) changed: the name of the kind of record it shows.
    view_changed = Signal(str)

    def __init__(
        self,
        desk: Desk,
        entity: EntityInfo,
        window_state: WindowState,
        *,
        spec: QuerySpec | None = None,
        labels: FilterLabels | None = None,
        look: ConnectionLook | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.desk = desk
        # The connection as this window shows it (MainWindow gives it, and a new one when
        # the user switches connection).
        self.look = look or ConnectionLook.of(None, desk.workspace)
        self.window_state = window_state
        self.entity = entity
        self.model: RecordTableModel | None = None
        self.filter_bar: FilterBar | None = None
        # True while the controls are being made to show a view: the signals that a change
        # of header or search text sends then are not the user's, and make no new view.
        self._showing = False
        # Whether the status line shows a failure, so that its end clears the messages.
        self._failing = False
        # Open frequency tables of this window's view, and the header's menu while it shows.
        self.frequencies = FrequencyTables(self, self)
        self.frequencies.drilled.connect(self.on_frequencies_drilled)
        self.header_menu: QMenu | None = None
        # Whether the user sized a column (in this run or one before, then saved): their
        # widths stay. Until then the first rows of a model size the columns, once.
        self._widths_chosen = False
        self._sized_from_rows = False
        # True while the window itself resizes columns: not the user's choice.
        self._sizing = False

        self.table = QTableView(self)
        self.table.setAccessibleName("Results")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionsMovable(True)
        header.setSectionsClickable(True)
        # The header's own indicator is the sort control; the window, not the view, turns
        # a click into a new view state (setSortingEnabled would have the model sort).
        header.setSortIndicatorShown(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self.on_header_context_menu_requested)
        header.sortIndicatorChanged.connect(self.on_header_sort_indicator_changed)
        header.sectionMoved.connect(self.on_header_columns_changed)
        header.sectionResized.connect(self.on_header_section_resized)
        rows = self.table.verticalHeader()
        # Fixed, uniform rows: the view never measures a million rows.
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        # Blank row handles (the model gives them no text) kept wide enough to click.
        rows.setMinimumWidth(self.fontMetrics().averageCharWidth() * ROW_HANDLE_CHARS)
        corner = self.table.findChild(QAbstractButton, "qt_tableview_cornerbutton")
        if corner is not None:
            corner.setAccessibleName("Select all")
        self.table.doubleClicked.connect(self.on_table_double_clicked)
        self.table.pressed.connect(self.on_user_action)
        self.table.verticalScrollBar().valueChanged.connect(self.on_table_scrolled)

        self.search_box = QLineEdit(self)
        self.search_box.setPlaceholderText("Search")
        self.search_box.setAccessibleName("Search")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setMaximumWidth(320)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self.on_search_committed)
        self.search_box.textEdited.connect(self.on_search_box_text_edited)
        self.search_box.returnPressed.connect(self.on_search_committed)

        self.status_label = QLabel(self)
        self.status_label.setAccessibleName("Rows")
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.statusBar().addWidget(self.status_label, 1)
        self.retry_button = QToolButton(self)
        self.retry_button.setText("Retry")
        self.retry_button.setAccessibleName("Retry")
        self.retry_button.clicked.connect(self.on_retry_button_clicked)
        self.retry_button.hide()
        self.statusBar().addPermanentWidget(self.retry_button)
        self.exports = ExportController(self, self)
        self.statusBar().addPermanentWidget(self.exports.instead_button)
        self.statusBar().messageChanged.connect(self.exports.on_status_message_changed)
        self.connection_badge = ConnectionBadge(self)
        self.connection_badge.show_look(self.look)
        self.statusBar().addPermanentWidget(self.connection_badge)

        self.history = History(self, self)
        self._build_actions()
        self.editing = RecordEditing(self, self)
        self._build_menus_and_toolbar()
        display_preferences().changed.connect(self.on_display_preferences_changed)

        self._body = QWidget(self)
        self._layout = QVBoxLayout(self._body)
        self._layout.setContentsMargins(4, 4, 4, 0)
        self._layout.setSpacing(4)
        self._layout.addWidget(self.table, 1)
        self.totals_bar = TotalsBar(desk, self._body)
        self._layout.addWidget(self.totals_bar)
        self.setCentralWidget(self._body)

        first = ViewState(
            entity.name,
            spec or QuerySpec(sort=window_state.known_sort(entity)),
            window_state.known_columns(entity),
        )
        self.history.show(Place(first, labels or {}))
        geometry = window_state.geometry(entity.name)
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1000, 640)

    # -- building ----------------------------------------------------------------------------

    def _build_actions(self) -> None:
        self.refresh_action = self._action(
            "Refresh", QKeySequence.StandardKey.Refresh, self.on_refresh_action_triggered
        )
        set_action_icon(self.refresh_action, "refresh")
        self.find_action = self._action(
            "Find", QKeySequence.StandardKey.Find, self.on_find_action_triggered
        )
        set_action_icon(self.find_action, "search")
        self.copying = CopyController(self, self)
        self.copying.refused.connect(self.exports.offer)
        # The editing controller's context menu offers Copy too (EditingHost.copy_action).
        self.copy_action = self.copying.copy_action
        self.open_action = self._action("Open record", None, self.open_current)
        set_action_icon(self.open_action, "open")
        self.open_action.setShortcuts(
            [QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)]
        )
        self.open_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.table.addAction(self.open_action)
        # Every field read-only, long text whole, relations and references as buttons.
        self.view_action = self._action("View record", None, self.view_current)
        set_action_icon(self.view_action, "open")
        self.view_action.setShortcuts([QKeySequence("Shift+Return"), QKeySequence("Shift+Enter")])
        self.view_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.table.addAction(self.view_action)
        self.show_deleted_action = self._action(
            "Show deleted", None, self.on_show_deleted_action_triggered
        )
        self.show_deleted_action.setCheckable(True)
        set_action_icon(self.show_deleted_action, "show-deleted")
        self.close_action = self._action("Close", QKeySequence.StandardKey.Close, self.close)
        # The current cell's column; on the table only, so Shift+F still types in the search.
        self.frequency_action = self._action(
            "Frequency table…", None, self.on_frequency_action_triggered
        )
        self.frequency_action.setShortcut(QKeySequence("Shift+F"))
        self.frequency_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.frequency_action.setToolTip("How often each value of the current column occurs")
        self.table.addAction(self.frequency_action)

    def _action(self, text: str, shortcut: QKeySequence.StandardKey | None, slot: Any) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_menus_and_toolbar(self) -> None:
        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addAction(self.editing.new_action)
        file_menu.addAction(self.editing.transfer_action)
        file_menu.addAction(self.editing.order_action)
        file_menu.addSeparator()
        file_menu.addAction(self.exports.export_action)
        self.save_view_action = QAction("Save &view…", self)
        self.save_view_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.save_view_action.setToolTip(
            "Save the search, filters, sort and columns as a file, to open again or export "
            "with records-desk export --view (Ctrl+Shift+S)"
        )
        self.save_view_action.triggered.connect(self.on_save_view_action_triggered)
        self.addAction(self.save_view_action)
        file_menu.addAction(self.save_view_action)
        self._connections_place = file_menu.addSeparator()
        file_menu.addAction(self.close_action)
        self.file_menu = file_menu
        edit_menu = menus.addMenu("&Edit")
        edit_menu.addAction(self.editing.undo_action)
        edit_menu.addAction(self.editing.redo_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.editing.edit_action)
        edit_menu.addAction(self.editing.trash_action)
        edit_menu.addAction(self.editing.restore_action)
        edit_menu.addAction(self.editing.delete_action)
        edit_menu.addAction(self.editing.use_trash_action)
        edit_menu.addAction(self.editing.bulk_edit_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.copy_action)
        edit_menu.addAction(self.find_action)
        view_menu = menus.addMenu("&View")
        view_menu.addAction(self.show_deleted_action)
        view_menu.addAction(self.editing.trash_view_action)
        self.columns_menu = view_menu.addMenu("&Columns")
        set_action_icon(self.columns_menu.menuAction(), "columns")
        view_menu.addAction(self.refresh_action)
        view_menu.addSeparator()
        view_menu.addAction(self.frequency_action)
        self.view_menu = view_menu
        go_menu = menus.addMenu("&Go")
        go_menu.addAction(self.history.back_action)
        go_menu.addAction(self.history.forward_action)
        go_menu.addAction(self.open_action)
        go_menu.addAction(self.view_action)
        self.related_menu = go_menu.addMenu("&Related")
        set_action_icon(self.related_menu.menuAction(), "related")
        self.related_menu.aboutToShow.connect(self.on_related_menu_about_to_show)

        toolbar = self.addToolBar("Navigation")
        toolbar.setObjectName("navigation")
        toolbar.setMovable(False)
        toolbar.addAction(self.history.back_action)
        toolbar.addAction(self.history.forward_action)
        toolbar.addAction(self.refresh_action)
        toolbar.addSeparator()
        toolbar.addAction(self.editing.new_action)
        toolbar.addAction(self.editing.edit_action)
        toolbar.addAction(self.editing.trash_action)
        toolbar.addAction(self.editing.restore_action)
        toolbar.addAction(self.editing.delete_action)
        toolbar.addSeparator()
        toolbar.addWidget(self.search_box)
        toolbar.addAction(self.show_deleted_action)
        toolbar.addAction(self.editing.trash_view_action)
        trash_button = toolbar.widgetForAction(self.editing.trash_view_action)
        if isinstance(trash_button, QToolButton):
            # Beside Move to trash and Show deleted, the view is told apart by its name.
            trash_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        related_button = QToolButton(self)
        related_button.setText("Related")
        related_button.setAccessibleName("Related")
        related_button.setMenu(self.related_menu)
        related_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        toolbar.addWidget(related_button)
        columns_button = QToolButton(self)
        columns_button.setText("Columns")
        columns_button.setAccessibleName("Columns")
        columns_button.setMenu(self.columns_menu)
        columns_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        toolbar.addWidget(columns_button)
        toolbar.addSeparator()
        toolbar.addAction(self.exports.export_action)
        export_button = toolbar.widgetForAction(self.exports.export_action)
        if export_button is not None:
            export_button.setAccessibleName(self.exports.export_action.text())
        self.columns_menu.aboutToShow.connect(self.on_columns_menu_about_to_show)

    # -- the view ----------------------------------------------------------------------------

    @property
    def view(self) -> ViewState:
        assert self.model is not None
        return self.model.view

    def set_view(self, view: ViewState) -> None:
        """Show ``view``: the model re-queries if the query changed, and every control
        shows its part of it."""
        assert self.model is not None
        assert self.filter_bar is not None
        if self._search_timer.isActive():
            # Text typed a moment ago belongs to this view too, not overwritten by it.
            self._search_timer.stop()
            search = self.search_box.text().strip()
            view = replace(view, spec=replace(view.spec, search=search))
        if view == self.model.view:
            return
        if view.spec != self.model.view.spec:
            self.history.forget_position()
        self.model.set_view(view)
        self._show_view(view)

    def _show_view(self, view: ViewState, labels: FilterLabels | None = None) -> None:
        """Every control shows its part of ``view`` (none of them reads it back)."""
        self._showing = True
        try:
            self._show_controls(view, labels)
        finally:
            self._showing = False
        self.update_status()
        self.frequencies.follow(view.spec)
        self.view_changed.emit(view.entity)

    def _show_controls(self, view: ViewState, labels: FilterLabels | None) -> None:
        assert self.filter_bar is not None
        spec = view.spec
        if self.filter_bar.filters() != spec.filters or labels is not None:
            self.filter_bar.set_filters(spec.filters, labels or self.filter_bar.labels())
        if self.search_box.text().strip() != spec.search:
            self.search_box.setText(spec.search)
            self._search_timer.stop()
        self.show_deleted_action.setChecked(spec.deleted is DeletedRows.INCLUDE)
        self.editing.show_deleted_rows(spec.deleted)
        self._show_sort(spec.sort)
        self._show_columns(view.columns)

    def _show_sort(self, sort: tuple[SortKey, ...]) -> None:
        header = self.table.horizontalHeader()
        names = self.entity.column_names
        if sort and sort[0].column in names:
            order = (
                Qt.SortOrder.DescendingOrder if sort[0].descending else Qt.SortOrder.AscendingOrder
            )
            section = names.index(sort[0].column)
        else:
            section, order = -1, Qt.SortOrder.AscendingOrder
        if (header.sortIndicatorSection(), header.sortIndicatorOrder()) != (section, order):
            header.setSortIndicator(section, order)

    def _show_columns(self, columns: tuple[str, ...]) -> None:
        """Hide, show and order the header's sections as ``columns`` says."""
        if columns == self._columns_in_header():
            return
        header = self.table.horizontalHeader()
        names = self.entity.column_names
        for section, name in enumerate(names):
            header.setSectionHidden(section, name not in columns)
        for visual, name in enumerate(columns):
            section = names.index(name)
            if header.visualIndex(section) != visual:
                header.moveSection(header.visualIndex(section), visual)

    def _columns_in_header(self, hidden_now: dict[int, bool] | None = None) -> tuple[str, ...]:
        header = self.table.horizontalHeader()
        names = self.entity.column_names
        hidden = hidden_now or {}
        shown = [
            (header.visualIndex(section), name)
            for section, name in enumerate(names)
            if not hidden.get(section, header.isSectionHidden(section))
        ]
        return tuple(name for _, name in sorted(shown))

    def on_search_box_text_edited(self, _text: str) -> None:
        self._search_timer.start()

    def on_search_committed(self) -> None:
        self._search_timer.stop()
        view = self.view
        self.set_view(replace(view, spec=replace(view.spec, search=self.search_box.text().strip())))

    def on_filter_bar_filters_changed(self) -> None:
        assert self.filter_bar is not None
        view = self.view
        self.set_view(replace(view, spec=replace(view.spec, filters=self.filter_bar.filters())))

    def on_show_deleted_action_triggered(self, checked: bool) -> None:
        deleted = DeletedRows.INCLUDE if checked else DeletedRows.EXCLUDE
        self.editing.trash_view_action.setChecked(False)
        view = self.view
        self.set_view(replace(view, spec=replace(view.spec, deleted=deleted)))

    def on_header_sort_indicator_changed(self, section: int, order: Qt.SortOrder) -> None:
        if self.model is None or self._showing:
            return
        names = self.entity.column_names
        if 0 <= section < len(names) and not self.entity.columns[section].sortable:
            # JSON, xml and the like have no order: the sort stays as it was.
            self.tell(f"{self.entity.columns[section].label} cannot be sorted by.")
            self._showing = True
            try:
                self._show_sort(self.view.spec.sort)
            finally:
                self._showing = False
            return
        if 0 <= section < len(names):
            key = SortKey(names[section], descending=order == Qt.SortOrder.DescendingOrder)
            sort: tuple[SortKey, ...] = (key,)
        else:
            sort = ()
        view = self.view
        if view.spec.sort[:1] != sort[:1]:
            self.set_view(replace(view, spec=replace(view.spec, sort=sort)))

    def on_header_columns_changed(self, *_: object) -> None:
        if self.model is not None and not self._showing:
            self._take_columns_from_header(self._columns_in_header())

    def on_header_section_resized(self, section: int, old: int, new: int) -> None:
        if old and new and not self._sizing and not self._showing:
            self._widths_chosen = True  # dragged by the user: kept, and saved
        # Hiding a section resizes it to 0 and showing it back from 0: a change of columns.
        # The header says so before it counts the section as hidden or shown.
        if (old == 0) != (new == 0) and self.model is not None and not self._showing:
            self._take_columns_from_header(self._columns_in_header(hidden_now={section: new == 0}))

    def _take_columns_from_header(self, columns: tuple[str, ...]) -> None:
        """The header already shows these columns — it is in the middle of changing them,
        so it is not told to show them again."""
        assert self.model is not None
        self.model.set_view(replace(self.view, columns=columns))

    def on_display_preferences_changed(self, *_: object) -> None:
        if self.model is not None:
            self.model.forget_texts()

    def on_find_action_triggered(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def on_refresh_action_triggered(self) -> None:
        assert self.model is not None
        self.statusBar().clearMessage()
        self.model.refresh()

    def tell(self, text: str, timeout_ms: int = MESSAGE_MS) -> None:
        """Say ``text`` on the status line for ``timeout_ms`` (what the window's controllers
        are given to speak with)."""
        self.statusBar().showMessage(text, timeout_ms)

    def clear_message(self) -> None:
        self.statusBar().clearMessage()

    def reload_keeping_place(self) -> None:
        """Run the view again where it was (what the editing controller is given)."""
        self.history.reload_keeping_place()

    def go_to(self, view: ViewState, labels: FilterLabels) -> None:
        """Show ``view`` from its top with ``labels`` on its chips, in a model of its own
        when it is of another kind: what a place of the history shows. Unlike
        ``set_view``, nothing typed is kept and the same view is shown again."""
        entity = self.desk.workspace.catalog.entity(view.entity)
        if self.model is None or entity.name != self.entity.name:
            self._switch_entity(entity, view)
        assert self.model is not None
        self.model.set_view(view)
        self._show_view(view, labels)
        self.table.clearSelection()
        self.table.scrollToTop()

    def on_save_view_action_triggered(self) -> None:
        from ui.view_files import connection_name, save_view

        self._saving_view = spawn(save_view(self, connection_name(self.look)), name="save view")

    @property
    def widths_chosen(self) -> bool:
        """Whether the columns have widths the user chose (else they follow the rows)."""
        return self._widths_chosen

    def use_widths(self, widths: Mapping[str, int]) -> None:
        """Columns sized as a saved view says (the user's choice, kept like one)."""
        header = self.table.horizontalHeader()
        names = self.entity.column_names
        self._sizing = True
        try:
            for name, width in widths.items():
                if name in names:
                    header.resizeSection(names.index(name), width)
        finally:
            self._sizing = False
        self._widths_chosen = bool(widths) or self._widths_chosen

    def restore_position(
        self, top: int, current: Any, selection: Sequence[Sequence[int]] = ()
    ) -> None:
        """Scroll to the row ``top``, make ``current`` ([row, column]) the current cell and
        select the rows of ``selection`` ([first, last] ranges) once the rows are counted
        that far: a restored session's place."""
        model = self.model
        if model is None:
            return

        def place() -> None:
            if model is not self.model or model.rowCount() <= top:
                return
            model.count_changed.disconnect(place)
            self.table.scrollTo(model.index(top, 0), QAbstractItemView.ScrollHint.PositionAtTop)
            if isinstance(current, list) and len(current) == 2:
                row, column = current
                if 0 <= row < model.rowCount() and 0 <= column < model.columnCount():
                    self.table.setCurrentIndex(model.index(row, column))
            chosen = QItemSelection()
            last_column = model.columnCount() - 1
            for block in selection:
                first, last = int(block[0]), min(int(block[1]), model.rowCount() - 1)
                if 0 <= first <= last:
                    chosen.select(model.index(first, 0), model.index(last, last_column))
            if not chosen.isEmpty():
                self.table.selectionModel().select(
                    chosen, QItemSelectionModel.SelectionFlag.ClearAndSelect
                )

        model.count_changed.connect(place)
        place()

    def refresh_entity(self) -> None:
        """Show the kind as the catalog describes it now (a trash column chosen for it):
        the view runs again in a model of its own."""
        view = self.view
        self._switch_entity(self.desk.workspace.catalog.entity(self.entity.name), view)
        assert self.model is not None
        self.model.set_view(view)

    def _switch_entity(self, entity: EntityInfo, view: ViewState) -> None:
        self._showing = True
        try:
            self._make_model(entity, view)
        finally:
            self._showing = False
        self.editing.show_entity()

    def _make_model(self, entity: EntityInfo, view: ViewState) -> None:
        self.frequencies.close_all()  # of the rows before: another kind, or another database
        if self.model is not None:
            self._save_entity_state()
            self.model.close()
        self.entity = entity
        self._show_title()
        old_model = self.model
        self.model = RecordTableModel(self.desk.records, entity, view, self)
        self.model.count_changed.connect(self.update_status)
        self.model.count_changed.connect(self.history.restore_position)
        self.model.rows_loaded.connect(self.update_status)
        self.model.load_failed.connect(self.update_status)
        self.model.modelReset.connect(self.update_status)
        self.table.setModel(self.model)
        # The header would ask the table's selection whether each column is selected, and
        # for a selected column that asks every row: after Ctrl+A on a million rows, one
        # paint took 40 s. Its own, empty selection costs nothing; a selected column is
        # still plain to see in the cells.
        header_selection = QItemSelectionModel(self.model, self.table.horizontalHeader())
        self.table.horizontalHeader().setSelectionModel(header_selection)
        if old_model is not None:
            old_model.deleteLater()
        self.table.selectionModel().currentChanged.connect(self.update_status)
        self.table.selectionModel().selectionChanged.connect(self.on_selection_changed)
        self.model.modelReset.connect(self.totals_bar.refresh)
        self.totals_bar.follow(self.model)
        self.model.rows_loaded.connect(self.on_model_rows_loaded)
        self._size_columns_by_kind(entity)
        if self.filter_bar is not None:
            self._layout.removeWidget(self.filter_bar)
            self.filter_bar.deleteLater()
        self.filter_bar = FilterBar(entity, self.desk.records.lookup, self._body)
        self.filter_bar.filters_changed.connect(self.on_filter_bar_filters_changed)
        self._layout.insertWidget(0, self.filter_bar)

    def _size_columns_by_kind(self, entity: EntityInfo) -> None:
        """Widths the user saved, or widths by kind until the first rows arrive."""
        header = self.table.horizontalHeader()
        width = self.fontMetrics().averageCharWidth()
        saved = self.window_state.widths(entity.name)
        self._widths_chosen = saved is not None
        self._sized_from_rows = False
        self._sizing = True
        try:
            for section, column in enumerate(entity.columns):
                chars = max(look_of(column.kind).width, len(column.label) + 3)
                header.resizeSection(section, chars * width)
            if saved is not None:
                header.restoreState(saved)  # widths; order and hidden columns follow the view
        finally:
            self._sizing = False

    def on_model_rows_loaded(self, first: int, last: int) -> None:
        """The first rows of this kind are in: size the columns to them, unless the user
        sized one. Once per model, so a search never makes the columns jump."""
        if self._widths_chosen or self._sized_from_rows:
            return
        self._sized_from_rows = True
        self._size_columns_from_rows(first, min(last, first + record_table_model.PAGE_SIZE - 1))

    def _size_columns_from_rows(self, first: int, last: int) -> None:
        """Each column as wide as its widest text in rows first..last (one page, in memory:
        no query, no scan of the result) or its label, within CONTENT_WIDTH_CHARS."""
        assert self.model is not None
        model, header = self.model, self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        char = metrics.averageCharWidth()
        narrowest, widest = (chars * char for chars in CONTENT_WIDTH_CHARS)
        margin = 2 * (self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1)
        self._sizing = True
        try:
            for section in range(model.columnCount()):
                content = self._widest_text(section, first, last, widest)
                wanted = max(content + margin + char, header.sectionSizeHint(section))
                header.resizeSection(section, min(max(wanted, narrowest), widest))
        finally:
            self._sizing = False

    def _widest_text(self, section: int, first: int, last: int, widest: int) -> int:
        """Pixels of the widest cell text of ``section`` in rows first..last."""
        assert self.model is not None
        metrics = self.table.fontMetrics()
        # Past the widest bound the rest of a long text cannot count: measure a prefix.
        chars = 2 * widest // max(metrics.averageCharWidth(), 1)
        texts = (self.model.data(self.model.index(row, section)) for row in range(first, last + 1))
        return max((metrics.horizontalAdvance(text[:chars]) for text in texts if text), default=0)

    def _show_title(self) -> None:
        self.setWindowTitle(f"{self.entity.label} — {self.look.title} — Records Desk")

    # -- the connection ----------------------------------------------------------------------

    def offer(self, action: QAction) -> None:
        """Put the main window's ``action`` (Connections…) in this window's File menu, with
        its shortcut working here too."""
        self.file_menu.insertAction(self._connections_place, action)
        self.addAction(action)

    def offer_in_view_menu(self, action: QAction) -> None:
        """Put the main window's ``action`` (Insights…) in this window's View menu."""
        self.view_menu.addAction(action)
        self.addAction(action)

    def show_connection(self, look: ConnectionLook, *, rerun: bool = True) -> None:
        """Show the connection ``look``; with ``rerun`` (it is another database now) the
        view runs again there from the top, and what belonged to the database before it
        (record windows, an export, the rows) goes."""
        self.look = look
        self._show_title()
        self.connection_badge.show_look(look)
        self.editing.show_entity()
        if not rerun:
            return
        self.exports.abandon()
        self.close_record_windows()
        view = self.view
        self._switch_entity(self.entity, view)
        self.history.show(Place(view, {}))
        self.statusBar().showMessage(f"Now showing {look.description}.", 8000)

    def record_windows(self) -> list[QDialog]:
        """The record, form and transaction windows open over this one."""
        kinds = (RecordDetailDialog, RecordFormDialog, TransferDialog, OrderDialog)
        return [d for d in self.findChildren(QDialog) if isinstance(d, kinds) and d.isVisible()]

    def unsaved_record_windows(self) -> int:
        """How many record windows hold something typed and not saved."""
        return sum(
            1
            for dialog in self.record_windows()
            if not isinstance(dialog, RecordDetailDialog)
            and (not isinstance(dialog, RecordFormDialog) or dialog.changed)
        )

    def close_record_windows(self) -> None:
        """Close every record window without asking (the caller asked, or nothing is typed)."""
        for dialog in self.record_windows():
            if isinstance(dialog, RecordFormDialog):
                dialog.discard()
            else:
                dialog.reject()

    # -- status line -------------------------------------------------------------------------

    def update_status(self, *_: object) -> None:
        model = self.model
        if model is None:
            return
        self.retry_button.setVisible(model.error is not None)
        if model.error is not None:
            self.status_label.setText(model.error)
            self._failing = True
            return
        if self._failing:
            # Over: what the failure left in the status bar (a copy refused) is stale now.
            self._failing = False
            self.statusBar().clearMessage()
        locale = QLocale()
        count = model.rowCount()
        # Another program's tables have no search index of ours: a search reads every
        # row, which on a big table takes a while (and stops when the search changes).
        scanning = bool(self.view.spec.search) and not self.desk.workspace.catalog.ours
        if model.count_state is CountState.UNKNOWN and count == 0:
            self.status_label.setText("Searching without an index…" if scanning else "Loading…")
            return
        if count == 0:
            self.status_label.setText("No matching rows" if self._narrowed() else "No rows")
            return
        first = max(self.table.rowAt(0), 0)
        last = self.table.rowAt(self.table.viewport().height() - 1)
        if last < 0:
            last = count - 1
        total = model.count_text(locale)
        if model.count_state is CountState.UNKNOWN:
            total += " (counting… searching without an index)" if scanning else " (counting…)"
        text = f"rows {locale.toString(first + 1)}–{locale.toString(last + 1)} of {total}"
        if model.total_rows is not None:
            text += f" (the first {locale.toString(count)} are shown; narrow the search)"
        self.status_label.setText(text)

    def _narrowed(self) -> bool:
        spec = self.view.spec
        return bool(spec.search or spec.filters)

    def on_retry_button_clicked(self) -> None:
        assert self.model is not None
        self.model.retry(now=True)
        self.table.viewport().update()  # the rows in view ask for themselves again

    def on_user_action(self, *_: object) -> None:
        """Any use of the rows after a failure tries again: the server may be back."""
        if self.model is not None and self.model.error is not None:
            self.model.retry()
            self.table.viewport().update()

    def on_table_scrolled(self, _value: int) -> None:
        self.on_user_action()
        self.update_status()

    # -- records -----------------------------------------------------------------------------

    def on_table_double_clicked(self, index: QModelIndex) -> None:
        self.open_index(index)

    def open_current(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.open_index(index)

    def view_current(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.open_index(index, view=True)

    def open_index(self, index: QModelIndex, *, view: bool = False) -> None:
        """A reference cell opens the record it names; any other cell opens its row in
        the record form (Enter, double-click), or read-only with ``view`` (Shift+Enter; a
        kind the form does not edit, transfers, always)."""
        assert self.model is not None
        values = self.model.row_values(index.row())
        if values is None:
            return
        column = self.entity.columns[index.column()]
        value = values[index.column()]
        if column.kind is ColumnKind.REFERENCE and value is not None and not view:
            self.history.follow_reference(column, value)
            return
        link = self.entity.link_of(column.name)
        if link is not None and not view:
            names = self.entity.column_names
            parts = tuple(values[names.index(name)] for name in link.columns)
            if None not in parts:
                self.history.follow_link(link, parts)
                return
        if not view and not self.entity.read_only_reason and not self.look.read_only:
            self.editing.open_form(row_key(self.entity, values))
            return
        dialog = RecordDetailDialog(
            self.entity,
            values,
            self.desk.records,
            self,
            read_only_reason=self.look.read_only_reason,
        )
        dialog.relation_chosen.connect(self.history.follow_relation)
        dialog.reference_chosen.connect(self.history.follow_reference)
        dialog.edit_requested.connect(self.editing.open_form)
        dialog.open()

    def current_record(self) -> tuple[Any, str] | None:
        """The current row's key and title (None when it has no one-column key)."""
        assert self.model is not None
        row = self.table.currentIndex().row()
        values = self.model.row_values(row) if row >= 0 else None
        if values is None or not self.entity.key:
            return None
        keys = tuple(values[self.model.column_index(name)] for name in self.entity.key)
        record_id = keys[0] if len(keys) == 1 else keys
        return record_id, title_of(self.entity, self.entity.column_names, values)

    def on_related_menu_about_to_show(self) -> None:
        self.related_menu.clear()
        record = self.current_record()
        if not self.entity.relations:
            self.related_menu.addAction("No related records").setEnabled(False)
            return
        follow = self.history.follow_relation
        for relation in self.entity.relations:
            action = self.related_menu.addAction(relation.label)
            if record is None:
                action.setEnabled(False)
                continue
            record_id, title = record
            action.triggered.connect(
                lambda _=False, r=relation, i=record_id, t=title: follow(r, i, t)
            )

    def on_columns_menu_about_to_show(self) -> None:
        self.columns_menu.clear()
        shown = self.view.columns
        for column in self.entity.columns:
            action = self.columns_menu.addAction(column.label)
            action.setCheckable(True)
            action.setChecked(column.name in shown)
            action.toggled.connect(
                lambda visible, name=column.name: self.show_column(name, visible)
            )

    def show_column(self, name: str, visible: bool) -> None:
        """Show or hide a column; a column shown again comes back where it was in the
        table's own order."""
        columns = [column for column in self.view.columns if column != name]
        if visible:
            order = self.entity.column_names
            position = sum(1 for column in columns if order.index(column) < order.index(name))
            columns.insert(position, name)
        self.set_view(replace(self.view, columns=tuple(columns)))

    def on_header_context_menu_requested(self, position: Any) -> None:
        header = self.table.horizontalHeader()
        self.header_menu = self.header_menu_for(header.logicalIndexAt(position))
        self.header_menu.popup(header.mapToGlobal(position))

    def header_menu_for(self, section: int) -> QMenu:
        """The header's menu over ``section`` (-1: past the last column)."""
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if section >= 0:
            column = self.entity.columns[section]
            action = menu.addAction(f"Frequency of {column.label}…")
            action.setShortcut(self.frequency_action.shortcut())
            action.triggered.connect(lambda: self.open_frequency(column.name))
            menu.addSeparator()
        self.on_columns_menu_about_to_show()
        menu.addMenu(self.columns_menu)
        return menu

    # -- frequency tables --------------------------------------------------------------------

    def on_frequency_action_triggered(self) -> None:
        index = self.table.currentIndex()
        section = (
            index.column() if index.isValid() else self.table.horizontalHeader().logicalIndex(0)
        )
        if section >= 0:
            self.open_frequency(self.entity.columns[section].name)

    def open_frequency(self, column: str) -> FrequencyDialog:
        """The frequency table of ``column`` over this window's view (ui/frequency_tables.py)."""
        return self.frequencies.open(column)

    @property
    def frequency_dialogs(self) -> list[FrequencyDialog]:
        return self.frequencies.dialogs

    def filter_labels(self) -> FilterLabels:
        assert self.filter_bar is not None
        return self.filter_bar.labels()

    def on_frequencies_drilled(self, view: ViewState, labels: FilterLabels) -> None:
        """Show the rows of one group; Back returns to the whole view."""
        self.history.navigate(Place(view, labels))
        self.raise_()
        self.activateWindow()

    # -- the selection ---------------------------------------------------------------------

    def on_selection_changed(self, *_: object) -> None:
        """The selected cells of each amount column go to the totals footer."""
        blocks = cell_blocks(self.table)
        wanted = (n for n in insights.totals_columns(self.entity) if n in self.view.columns)
        rows = rows_of_columns(blocks, self.entity.column_names, wanted)
        self.totals_bar.select(rows, row_count(row_ranges(blocks)))

    # -- closing -----------------------------------------------------------------------------

    def _save_entity_state(self) -> None:
        view = self.view
        if self._widths_chosen:
            self.window_state.set_widths(
                self.entity.name, self.table.horizontalHeader().saveState()
            )
        self.window_state.set_columns(self.entity, view.columns)
        self.window_state.set_sort(self.entity.name, view.spec.sort)
        self.window_state.set_geometry(self.entity.name, self.saveGeometry())

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.exports.abandon()
        self.frequencies.close_all()
        if self.model is not None:
            self._save_entity_state()
            self.window_state.sync()
            self.model.close()
        self.totals_bar.detach()
        super().closeEvent(event)
        self.closed.emit()
