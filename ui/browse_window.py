"""A browse window: one kind of record, searched, filtered and sorted by the database, with
relations to follow and Back/Forward between the places visited."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
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
    QApplication,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.query import DeletedRows, Equals, Filter, QuerySpec, SortKey
from app.services import catalog
from app.services.catalog import ColumnKind, EntityInfo
from app.services.errors import RecordsDeskError
from app.services.records import RecordService, title_of
from ui.dialogs.record_detail import RecordDetailDialog
from ui.formatting import plain_text
from ui.record_table_model import RAW_VALUE_ROLE, CountState, RecordTableModel
from ui.tasks import async_slot
from ui.widgets.filter_bar import FilterBar
from ui.window_state import WindowState

# Typing pauses this long before the search runs: one query per word, not per key.
SEARCH_DEBOUNCE_MS = 250
# Copying more rows than this belongs in an export, not on the clipboard.
MAX_COPY_ROWS = 10_000
# Column widths by kind, in characters: a header never measures the rows to size itself.
_WIDTHS = {
    ColumnKind.INTEGER: 8,
    ColumnKind.MONEY: 14,
    ColumnKind.DATETIME: 21,
    ColumnKind.BOOLEAN: 7,
    ColumnKind.CHOICE: 12,
    ColumnKind.REFERENCE: 9,
    ColumnKind.TEXT: 24,
}

FilterLabels = dict[tuple[str, object], str]


@dataclass(frozen=True)
class Place:
    """One stop in a window's Back/Forward history."""

    entity: str
    spec: QuerySpec
    labels: FilterLabels = field(default_factory=dict)
    top_row: int = 0


class BrowseWindow(QMainWindow):
    closed = Signal()

    def __init__(
        self,
        records: RecordService,
        entity: EntityInfo,
        window_state: WindowState,
        *,
        spec: QuerySpec | None = None,
        labels: FilterLabels | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.records = records
        self.window_state = window_state
        self.back_stack: list[Place] = []
        self.forward_stack: list[Place] = []
        self.entity = entity
        self.model: RecordTableModel | None = None
        self.filter_bar: FilterBar | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

        self.table = QTableView(self)
        self.table.setAccessibleName("Results")
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionsMovable(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self.on_header_context_menu_requested)
        rows = self.table.verticalHeader()
        # Fixed, uniform rows: the view never measures a million rows.
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        corner = self.table.findChild(QAbstractButton, "qt_tableview_cornerbutton")
        if corner is not None:
            corner.setAccessibleName("Select all")
        self.table.doubleClicked.connect(self.on_table_double_clicked)
        self.table.verticalScrollBar().valueChanged.connect(self.update_status)

        self.search_box = QLineEdit(self)
        self.search_box.setPlaceholderText("Search")
        self.search_box.setAccessibleName("Search")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setMaximumWidth(320)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self.apply_query)
        self.search_box.textChanged.connect(self.on_search_box_text_changed)
        self.search_box.returnPressed.connect(self.apply_query)

        self.status_label = QLabel(self)
        self.status_label.setAccessibleName("Rows")
        self.statusBar().addWidget(self.status_label, 1)

        self._build_actions()
        self._build_menus_and_toolbar()

        self._body = QWidget(self)
        self._layout = QVBoxLayout(self._body)
        self._layout.setContentsMargins(4, 4, 4, 0)
        self._layout.setSpacing(4)
        self._layout.addWidget(self.table, 1)
        self.setCentralWidget(self._body)

        saved_sort = self._saved_sort(entity)
        first = spec or QuerySpec(sort=saved_sort)
        self._show_place(Place(entity.name, first, labels or {}))
        geometry = window_state.geometry(entity.name)
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1000, 640)

    # -- building ----------------------------------------------------------------------------

    def _build_actions(self) -> None:
        self.back_action = self._action("Back", QKeySequence.StandardKey.Back, self.go_back)
        self.forward_action = self._action(
            "Forward", QKeySequence.StandardKey.Forward, self.go_forward
        )
        self.refresh_action = self._action(
            "Refresh", QKeySequence.StandardKey.Refresh, self.on_refresh_action_triggered
        )
        self.find_action = self._action(
            "Find", QKeySequence.StandardKey.Find, self.on_find_action_triggered
        )
        self.copy_action = self._action(
            "Copy", QKeySequence.StandardKey.Copy, self.on_copy_action_triggered
        )
        self.open_action = self._action("Open record", None, self.open_current)
        self.open_action.setShortcuts(
            [QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)]
        )
        self.open_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.table.addAction(self.open_action)
        self.show_deleted_action = self._action("Show deleted", None, self.apply_query)
        self.show_deleted_action.setCheckable(True)
        self.close_action = self._action("Close", QKeySequence.StandardKey.Close, self.close)
        self.back_action.setEnabled(False)
        self.forward_action.setEnabled(False)

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
        file_menu.addAction(self.close_action)
        edit_menu = menus.addMenu("&Edit")
        edit_menu.addAction(self.copy_action)
        edit_menu.addAction(self.find_action)
        view_menu = menus.addMenu("&View")
        view_menu.addAction(self.show_deleted_action)
        self.columns_menu = view_menu.addMenu("&Columns")
        view_menu.addAction(self.refresh_action)
        go_menu = menus.addMenu("&Go")
        go_menu.addAction(self.back_action)
        go_menu.addAction(self.forward_action)
        go_menu.addAction(self.open_action)
        self.related_menu = go_menu.addMenu("&Related")
        self.related_menu.aboutToShow.connect(self.on_related_menu_about_to_show)

        toolbar = self.addToolBar("Navigation")
        toolbar.setObjectName("navigation")
        toolbar.setMovable(False)
        toolbar.addAction(self.back_action)
        toolbar.addAction(self.forward_action)
        toolbar.addAction(self.refresh_action)
        toolbar.addSeparator()
        toolbar.addWidget(self.search_box)
        toolbar.addAction(self.show_deleted_action)
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
        self.columns_menu.aboutToShow.connect(self.on_columns_menu_about_to_show)

    # -- places and history ------------------------------------------------------------------

    def current_place(self) -> Place:
        assert self.model is not None
        assert self.filter_bar is not None
        return Place(
            self.entity.name,
            self.model.spec,
            self.filter_bar.labels(),
            max(self.table.rowAt(0), 0),
        )

    def navigate(self, place: Place) -> None:
        """Go somewhere new; Back returns here."""
        self.back_stack.append(self.current_place())
        self.forward_stack.clear()
        self._show_place(place)

    def go_back(self) -> None:
        if self.back_stack:
            self.forward_stack.append(self.current_place())
            self._show_place(self.back_stack.pop())

    def go_forward(self) -> None:
        if self.forward_stack:
            self.back_stack.append(self.current_place())
            self._show_place(self.forward_stack.pop())

    def follow_relation(self, relation: catalog.Relation, record_id: int, title: str) -> None:
        """From a record to its related records: a user's posts, an order's items…"""
        target = catalog.entity(relation.entity)
        column = target.column(relation.column)
        spec = QuerySpec(
            filters=(Equals(relation.column, record_id),), sort=self._saved_sort(target)
        )
        self.navigate(
            Place(target.name, spec, {(relation.column, record_id): f"{column.label}: {title}"})
        )

    def follow_reference(self, column: catalog.ColumnInfo, record_id: int) -> None:
        """From a foreign-key cell to the record it names."""
        assert column.references is not None
        target = catalog.entity(column.references)
        spec = QuerySpec(filters=(Equals("id", record_id),), deleted=DeletedRows.INCLUDE)
        self.navigate(Place(target.name, spec, {("id", record_id): f"ID: {record_id}"}))

    def _show_place(self, place: Place) -> None:
        entity = catalog.entity(place.entity)
        if self.model is None or entity.name != self.entity.name:
            self._switch_entity(entity, place.spec)
        assert self.model is not None
        assert self.filter_bar is not None
        self.filter_bar.set_filters(place.spec.filters, place.labels)
        self.search_box.blockSignals(True)
        self.search_box.setText(place.spec.search)
        self.search_box.blockSignals(False)
        self.show_deleted_action.setChecked(place.spec.deleted is not DeletedRows.EXCLUDE)
        self._search_timer.stop()
        self._apply_sort_indicator(place.spec.sort)
        if self.model.spec != place.spec:  # a new model already runs its own spec
            self.model.set_spec(place.spec)
        if place.top_row:
            row = place.top_row
            self.table.scrollTo(
                self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtTop
            )
        self.back_action.setEnabled(bool(self.back_stack))
        self.forward_action.setEnabled(bool(self.forward_stack))
        self.update_status()

    def _switch_entity(self, entity: EntityInfo, spec: QuerySpec) -> None:
        if self.model is not None:
            self._save_entity_state()
            self.model.close()
        self.entity = entity
        self.setWindowTitle(f"{entity.label} — Records Desk")
        old_model = self.model
        self.model = RecordTableModel(self.records, entity, spec, self)
        self.model.count_changed.connect(self.update_status)
        self.model.rows_loaded.connect(self.update_status)
        self.model.load_failed.connect(self.update_status)
        self.model.modelReset.connect(self.update_status)
        self.table.setModel(self.model)
        if old_model is not None:
            old_model.deleteLater()
        self.table.selectionModel().currentChanged.connect(self.update_status)
        header = self.table.horizontalHeader()
        width = self.fontMetrics().averageCharWidth()
        for section, column in enumerate(entity.columns):
            header.resizeSection(section, max(_WIDTHS[column.kind], len(column.label) + 3) * width)
        saved = self.window_state.header(entity.name)
        if saved is not None:
            header.restoreState(saved)
        if self.filter_bar is not None:
            self._layout.removeWidget(self.filter_bar)
            self.filter_bar.deleteLater()
        self.filter_bar = FilterBar(entity, self.records.lookup, self._body)
        self.filter_bar.filters_changed.connect(self.apply_query)
        self._layout.insertWidget(0, self.filter_bar)

    def _saved_sort(self, entity: EntityInfo) -> tuple[SortKey, ...]:
        names = set(entity.column_names)
        return tuple(key for key in self.window_state.sort(entity.name) if key.column in names)

    def _apply_sort_indicator(self, sort: tuple[SortKey, ...]) -> None:
        header = self.table.horizontalHeader()
        header.blockSignals(True)
        if sort and sort[0].column in self.entity.column_names:
            order = (
                Qt.SortOrder.DescendingOrder if sort[0].descending else Qt.SortOrder.AscendingOrder
            )
            header.setSortIndicator(self.entity.column_names.index(sort[0].column), order)
        else:
            header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.blockSignals(False)

    # -- the query ---------------------------------------------------------------------------

    def apply_query(self) -> None:
        """Search box, filters and the deleted toggle become the model's spec."""
        assert self.model is not None
        assert self.filter_bar is not None
        self._search_timer.stop()
        filters: tuple[Filter, ...] = self.filter_bar.filters()
        deleted = (
            DeletedRows.INCLUDE if self.show_deleted_action.isChecked() else DeletedRows.EXCLUDE
        )
        spec = replace(
            self.model.spec,
            search=self.search_box.text().strip(),
            filters=filters,
            deleted=deleted,
        )
        if spec != self.model.spec:
            self.model.set_spec(spec)

    def on_search_box_text_changed(self, _text: str) -> None:
        self._search_timer.start()

    def on_find_action_triggered(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def on_refresh_action_triggered(self) -> None:
        assert self.model is not None
        self.model.refresh()

    # -- status line -------------------------------------------------------------------------

    def update_status(self, *_: object) -> None:
        model = self.model
        if model is None:
            return
        locale = QLocale()
        if model.error is not None:
            self.status_label.setText(model.error)
            return
        count = model.rowCount()
        if model.count_state is CountState.UNKNOWN and count == 0:
            self.status_label.setText("Loading…")
            return
        if count == 0:
            self.status_label.setText("No matching rows" if self._narrowed() else "No rows")
            return
        first = max(self.table.rowAt(0), 0)
        last = self.table.rowAt(self.table.viewport().height() - 1)
        if last < 0:
            last = count - 1
        total = locale.toString(model.total_rows if model.total_rows is not None else count)
        if model.count_state is CountState.ESTIMATED:
            total = f"about {total}"
        elif model.count_state is CountState.UNKNOWN:
            total = f"{total}+ (counting…)"
        text = f"rows {locale.toString(first + 1)}–{locale.toString(last + 1)} of {total}"
        if model.total_rows is not None:
            text += f" (the first {locale.toString(count)} are shown; narrow the search)"
        self.status_label.setText(text)

    def _narrowed(self) -> bool:
        assert self.model is not None
        spec = self.model.spec
        return bool(spec.search or spec.filters)

    # -- records -----------------------------------------------------------------------------

    def on_table_double_clicked(self, index: QModelIndex) -> None:
        self.open_index(index)

    def open_current(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.open_index(index)

    def open_index(self, index: QModelIndex) -> None:
        """A reference cell opens the record it names; any other cell opens its row."""
        assert self.model is not None
        values = self.model.row_values(index.row())
        if values is None:
            return
        column = self.entity.columns[index.column()]
        value = values[index.column()]
        if column.kind is ColumnKind.REFERENCE and value is not None:
            self.follow_reference(column, int(value))
            return
        dialog = RecordDetailDialog(self.entity, values, self)
        dialog.relation_chosen.connect(self.follow_relation)
        dialog.reference_chosen.connect(self.follow_reference)
        dialog.open()

    def current_record(self) -> tuple[int, str] | None:
        assert self.model is not None
        row = self.table.currentIndex().row()
        values = self.model.row_values(row) if row >= 0 else None
        if values is None:
            return None
        record_id = int(values[self.model.column_index("id")])
        return record_id, title_of(self.entity, self.entity.column_names, values)

    def on_related_menu_about_to_show(self) -> None:
        self.related_menu.clear()
        record = self.current_record()
        if not self.entity.relations:
            self.related_menu.addAction("No related records").setEnabled(False)
            return
        for relation in self.entity.relations:
            action = self.related_menu.addAction(relation.label)
            if record is None:
                action.setEnabled(False)
                continue
            record_id, title = record
            action.triggered.connect(
                lambda _=False, r=relation, i=record_id, t=title: self.follow_relation(r, i, t)
            )

    def on_columns_menu_about_to_show(self) -> None:
        self.columns_menu.clear()
        header = self.table.horizontalHeader()
        for section, column in enumerate(self.entity.columns):
            action = self.columns_menu.addAction(column.label)
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(section))
            action.toggled.connect(
                lambda shown, s=section: self.table.setColumnHidden(s, not shown)
            )

    def on_header_context_menu_requested(self, position: Any) -> None:
        self.on_columns_menu_about_to_show()
        self.columns_menu.popup(self.table.horizontalHeader().mapToGlobal(position))

    # -- copying -----------------------------------------------------------------------------

    @async_slot()
    async def on_copy_action_triggered(self) -> None:
        self.copy_action.setEnabled(False)
        try:
            await self.copy_selection()
        finally:
            self.copy_action.setEnabled(True)

    async def copy_selection(self) -> None:
        """Selected cells as tab-separated text with a header row: pastes into a
        spreadsheet as the same table."""
        assert self.model is not None
        model = self.model
        indexes = self.table.selectionModel().selectedIndexes()
        if not indexes:
            return
        rows = sorted({index.row() for index in indexes})
        if len(rows) > MAX_COPY_ROWS:
            self.statusBar().showMessage(
                f"Copy takes up to {QLocale().toString(MAX_COPY_ROWS)} rows; narrow the selection.",
                8000,
            )
            return
        header = self.table.horizontalHeader()
        columns = sorted({index.column() for index in indexes}, key=header.visualIndex)
        columns = [column for column in columns if not header.isSectionHidden(column)]
        try:
            await model.load_rows(rows[0], rows[-1])
        except RecordsDeskError as error:
            self.statusBar().showMessage(str(error), 8000)
            return
        selected = {(index.row(), index.column()) for index in indexes}
        lines = ["\t".join(_tsv(self.entity.columns[c].label) for c in columns)]
        for row in rows:
            cells = []
            for column in columns:
                value = (
                    model.data(model.index(row, column), RAW_VALUE_ROLE)
                    if (row, column) in selected
                    else None
                )
                cells.append(_tsv(plain_text(value)))
            lines.append("\t".join(cells))
        QApplication.clipboard().setText("\n".join(lines) + "\n")
        self.statusBar().showMessage(f"Copied {QLocale().toString(len(rows))} rows", 4000)

    def select_rows(self, first: int, last: int) -> None:
        assert self.model is not None
        selection = self.table.selectionModel()
        top_left = self.model.index(first, 0)
        bottom_right = self.model.index(last, self.model.columnCount() - 1)
        selection.select(
            QItemSelection(top_left, bottom_right),
            QItemSelectionModel.SelectionFlag.ClearAndSelect,
        )

    # -- closing -----------------------------------------------------------------------------

    def _save_entity_state(self) -> None:
        assert self.model is not None
        self.window_state.set_header(self.entity.name, self.table.horizontalHeader().saveState())
        self.window_state.set_sort(self.entity.name, self.model.spec.sort)
        self.window_state.set_geometry(self.entity.name, self.saveGeometry())

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.model is not None:
            self._save_entity_state()
            self.window_state.sync()
            self.model.close()
        super().closeEvent(event)
        self.closed.emit()


def _tsv(text: str) -> str:
    """Quote a cell the way spreadsheets read pasted text: only when it needs it."""
    if any(character in text for character in '\t\n\r"'):
        return '"' + text.replace('"', '""') + '"'
    return text
