"""The frequency table of one column over a browse window's view (header menu, Shift+F):
value, count, percent and a bar, most frequent first, the long tail folded into "Other";
dates by day, month or year, numbers and money in ranges. Beside it, the column described:
rows, empty, distinct, smallest, largest and, for numbers, sum, mean and median.

Both are computed by the database in the background, with Cancel; the dialog follows the
window's view as it changes. Double-clicking a group narrows the window to its rows.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QEvent,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.changes import ChangeSet
from app.query import Filter, QuerySpec
from app.services import insights
from app.services.catalog import ColumnInfo, ColumnKind, EntityInfo
from app.services.errors import RecordsDeskError
from app.services.insights import Description, Frequencies, Grouping, ValueRange
from app.workspace import Desk
from ui.column_looks import display_text
from ui.formatting import number_text, with_locale_separators
from ui.record_changes import record_changes
from ui.tasks import spawn

GROUPING_LABELS = {
    Grouping.VALUE: "By value",
    Grouping.DAY: "By day (UTC)",
    Grouping.MONTH: "By month (UTC)",
    Grouping.YEAR: "By year (UTC)",
    Grouping.RANGE: "In ranges",
}
# The share of the largest group a bar fills, kept in the bar column's cells.
SHARE_ROLE = Qt.ItemDataRole.UserRole + 1
# The drill-down filter of a group's row (None for "Other").
FILTER_ROLE = Qt.ItemDataRole.UserRole + 2
EMPTY = "(empty)"


class FrequencyDialog(QDialog):
    # A group was double-clicked: the filter that shows its rows, and the chip's label.
    drill_down = Signal(object, str)
    # Both figures were shown, or why not (tests wait on it).
    calculated = Signal()

    def __init__(
        self,
        desk: Desk,
        entity: EntityInfo,
        column: ColumnInfo,
        spec: QuerySpec,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.desk = desk
        self.entity = entity
        self.column = column
        self.spec = spec
        self.frequencies: Frequencies | None = None
        self.description: Description | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        record_changes(desk).changed.connect(self.on_records_changed)
        self.setWindowTitle(f"Frequency of {column.label} — {entity.label}")
        self.setAccessibleName(f"Frequency of {column.label}")

        self.grouping_box = QComboBox(self)
        self.grouping_box.setAccessibleName("Group")
        for grouping in insights.groupings(column):
            self.grouping_box.addItem(GROUPING_LABELS[grouping], grouping)
        self.grouping_box.setVisible(self.grouping_box.count() > 1)
        self.grouping_box.currentIndexChanged.connect(self.on_grouping_box_current_index_changed)

        self.table = QTableWidget(0, 4, self)
        self.table.setAccessibleName("Frequencies")
        self.table.setHorizontalHeaderLabels(["Value", "Count", "Percent", ""])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(3, 140)
        self.table.setItemDelegateForColumn(3, ShareBar(self.table))
        self.table.doubleClicked.connect(self.on_table_activated)
        # Enter is taken by the table itself (see eventFilter): left to the dialog, it
        # would press the dialog's default button as well.
        self.table.installEventFilter(self)
        self.table.setToolTip(
            "Double-click a value (or press Enter) to show its rows in the window"
        )

        self.status_label = QLabel(self)
        self.status_label.setAccessibleName("Frequency status")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.on_cancel_button_clicked)

        self.describe_box = QGroupBox("Describe", self)
        self.describe_box.setAccessibleName("Describe")
        form = QFormLayout(self.describe_box)
        self.figures: dict[str, QLabel] = {}
        names = ["Rows", "Empty", "Distinct", "Smallest", "Largest"]
        if column.kind.numeric:
            names += ["Sum", "Mean", "Median"]
        for name in names:
            label = QLabel("…", self.describe_box)
            label.setAccessibleName(name)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setTextFormat(Qt.TextFormat.PlainText)
            self.figures[name] = label
            form.addRow(f"{name}:", label)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(self.status_label, 1)
        self.grouping_label = QLabel("&Group:", self)
        self.grouping_label.setBuddy(self.grouping_box)
        self.grouping_label.setVisible(self.grouping_box.count() > 1)
        top.addWidget(self.grouping_label)
        top.addWidget(self.grouping_box)
        top.addWidget(self.cancel_button)
        body = QHBoxLayout()
        body.addWidget(self.table, 1)
        body.addWidget(self.describe_box, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body, 1)
        layout.addWidget(buttons)
        self.resize(720, 460)
        self.run()

    @property
    def grouping(self) -> Grouping:
        return Grouping(self.grouping_box.currentData())

    def follow(self, spec: QuerySpec) -> None:
        """The window's view changed: count it again."""
        if spec != self.spec:
            self.spec = spec
            self.run()

    def on_records_changed(self, changes: ChangeSet) -> None:
        """A commit changed records of this kind: count again (a trashed row leaves its
        group, an edited value moves to another)."""
        if self.entity.name in changes.entities and self.isVisible():
            self.run()

    def run(self) -> None:
        self._cancel()
        self.status_label.setText("Counting…")
        self.cancel_button.show()
        for label in self.figures.values():
            label.setText("…")
        self._tasks = [
            spawn(self._show_frequencies(self.grouping), name=f"frequencies of {self.column.name}"),
            spawn(self._show_description(), name=f"description of {self.column.name}"),
        ]

    def on_grouping_box_current_index_changed(self, _index: int) -> None:
        self.run()

    def on_cancel_button_clicked(self) -> None:
        self._cancel()
        self.status_label.setText("Cancelled; change the grouping or the view to count again.")
        self.calculated.emit()

    def _cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        self.cancel_button.hide()

    def done(self, result: int) -> None:
        self._cancel()
        super().done(result)

    async def _show_frequencies(self, grouping: Grouping) -> None:
        workspace, name, spec = self.desk.workspace, self.entity.name, self.spec
        try:
            found = await workspace.frequencies(
                name, spec, self.column.name, grouping, top=insights.TOP_GROUPS
            )
        except RecordsDeskError as error:
            if shiboken6.isValid(self):
                self.status_label.setText(f"Not counted: {error}")
                self._finished()
            return
        if not shiboken6.isValid(self):
            return
        self.frequencies = found
        self._fill(found)
        locale = QLocale()
        groups = found.groups
        self.status_label.setText(
            f"{locale.toString(found.rows)} {'row' if found.rows == 1 else 'rows'} in "
            f"{locale.toString(groups)} {'group' if groups == 1 else 'groups'}"
        )
        self._finished()

    async def _show_description(self) -> None:
        workspace, name, spec = self.desk.workspace, self.entity.name, self.spec
        try:
            found = await workspace.describe(name, spec, self.column.name)
        except RecordsDeskError as error:
            if shiboken6.isValid(self):
                for label in self.figures.values():
                    label.setText("—")
                self.figures["Rows"].setText(f"not counted: {error}")
                self._finished()
            return
        if not shiboken6.isValid(self):
            return
        self.description = found
        locale = QLocale()
        texts = {
            "Rows": locale.toString(found.rows),
            "Empty": locale.toString(found.empty),
            "Distinct": locale.toString(found.distinct),
            "Smallest": self._value_text(found.minimum),
            "Largest": self._value_text(found.maximum),
            "Sum": self._number_text(found.sum),
            "Mean": self._number_text(found.mean, exact=False),
            "Median": self._number_text(found.median, exact=False),
        }
        for name, label in self.figures.items():
            label.setText(texts[name])
        self._finished()

    def _finished(self) -> None:
        if all(task.done() or task is asyncio.current_task() for task in self._tasks):
            self.cancel_button.hide()
            self.calculated.emit()

    def _fill(self, found: Frequencies) -> None:
        self.table.setRowCount(0)
        largest = max((item.count for item in found.items), default=0)
        rows: list[tuple[str, int, Filter | None]] = [
            (self.group_text(item.value, item.title), item.count, item.filter)
            for item in found.items
        ]
        if found.other:
            rare = QLocale().toString(found.groups - len(found.items))
            rows.append((f"Other ({rare} values)", found.other, None))
        locale = QLocale()
        for place, (text, count, drill) in enumerate(rows):
            self.table.insertRow(place)
            value = QTableWidgetItem(text)
            value.setData(FILTER_ROLE, drill)
            value.setToolTip(text if drill is not None else "Values too rare to list one by one")
            self.table.setItem(place, 0, value)
            self.table.setItem(place, 1, _number_item(locale.toString(count)))
            percent = found.percent(count)
            self.table.setItem(place, 2, _number_item(percent_text(percent)))
            bar = QTableWidgetItem()
            bar.setData(SHARE_ROLE, count / largest if largest else 0.0)
            bar.setData(Qt.ItemDataRole.AccessibleTextRole, f"{percent:.0f} percent")
            self.table.setItem(place, 3, bar)

    def group_text(self, value: Any, title: str = "") -> str:
        """A group as its row reads: a value as the grid shows it, a day, month or year,
        or a range of numbers."""
        if value is None:
            return EMPTY
        if title:
            return title
        if isinstance(value, ValueRange):
            low, high = self._number_text(value.low), self._number_text(value.high)
            return f"{low} to {high}" if value.last else f"{low} to under {high}"
        if isinstance(value, date) and not isinstance(value, datetime):
            if self.grouping is Grouping.YEAR:
                return f"{value.year}"
            if self.grouping is Grouping.MONTH:
                return f"{value.year}-{value.month:02d}"
            return value.isoformat()
        return self._value_text(value)

    def _value_text(self, value: Any) -> str:
        if value is None:
            return "—"
        text = display_text(self.column, value)
        return text if len(text) <= 200 else text[:199] + "…"

    def _number_text(self, value: Decimal | None, *, exact: bool = True) -> str:
        if value is None:
            return "—"
        if self.column.kind is ColumnKind.MONEY or not exact:
            return number_text(value, True)
        return with_locale_separators(f"{value:,}")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if (
            watched is self.table
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            index = self.table.currentIndex()
            if index.isValid():
                self.on_table_activated(index)
            return True
        return super().eventFilter(watched, event)

    def on_table_activated(self, index: QModelIndex) -> None:
        item = self.table.item(index.row(), 0)
        if item is None:
            return
        drill = item.data(FILTER_ROLE)
        if drill is not None:
            self.drill_down.emit(drill, item.text())


def percent_text(percent: Decimal) -> str:
    """``47.6 %``; a share too small to show at one decimal is ``< 0.1 %``, not nothing."""
    if 0 < percent < Decimal("0.05"):
        return f"< {with_locale_separators('0.1')} %"
    return f"{with_locale_separators(f'{percent:.1f}')} %"


def _number_item(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class ShareBar(QStyledItemDelegate):
    """A bar as long as the group's share of the largest group."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        super().paint(painter, option, index)
        share = index.data(SHARE_ROLE)
        if not isinstance(share, float) or share <= 0:
            return
        area: QRect = option.rect.adjusted(3, 4, -3, -4)
        area.setWidth(max(1, round(area.width() * share)))
        painter.save()
        painter.fillRect(area, option.palette.color(QPalette.ColorRole.Highlight))
        painter.restore()
