"""The filter bar of a browse window: typed filters on the entity's columns, shown as chips.

"Add filter" lists the columns; choosing one opens a small editor made for the column's kind
(a period for dates, ticks for a status, yes/no, a min–max range, a record picker). Each
filter is a chip ("Status: pending, shipped"); clicking it edits the filter, its ✕ removes
it. There is at most one filter per column. ``filters()`` hands the window ``app.query``
filters ready for ``QuerySpec(filters=...)``, and ``filters_changed`` tells it to re-query.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtCore import QLocale, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QMenu,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from app.query import Filter
from app.services.catalog import ColumnInfo, EntityInfo
from ui.widgets import filter_values
from ui.widgets.filter_editors import FilterEditorDialog, Lookup, Outcome
from ui.widgets.filter_values import ValueLabels, describe, explain
from ui.widgets.flow_layout import FlowLayout

__all__ = ["FilterBar", "FilterChip", "FilterEditorDialog", "Lookup"]

log = logging.getLogger(__name__)

# Wider chip texts are elided (the tooltip and accessible name keep the whole text).
MAX_CHIP_TEXT_WIDTH = 320

CHIP_STYLE = """
QFrame#filterChip {
    border: 1px solid palette(mid);
    border-radius: 11px;
    background: palette(alternate-base);
}
QFrame#filterChip QToolButton {
    border: none;
    border-radius: 9px;
    background: transparent;
    padding: 2px 4px;
}
QFrame#filterChip QToolButton:hover {
    background: palette(midlight);
}
QFrame#filterChip QToolButton:focus {
    background: palette(highlight);
    color: palette(highlighted-text);
}
"""

# The same pill shape as the chips, with room for the menu arrow.
ADD_BUTTON_STYLE = """
QToolButton#addFilterButton {
    border: 1px solid palette(mid);
    border-radius: 11px;
    background: palette(button);
    padding: 3px 20px 3px 10px;
}
QToolButton#addFilterButton:hover {
    background: palette(light);
}
QToolButton#addFilterButton:focus {
    border-color: palette(highlight);
}
QToolButton#addFilterButton::menu-indicator {
    subcontrol-origin: padding;
    subcontrol-position: center right;
    right: 7px;
}
"""


class FilterChip(QFrame):
    """One active filter: its text (click to edit) and a ✕ that removes it."""

    edit_requested = Signal(str)  # the column's name
    remove_requested = Signal(str)

    def __init__(self, column: ColumnInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.column = column
        self.text = ""
        self.setObjectName("filterChip")
        self.setStyleSheet(CHIP_STYLE)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

        self.text_button = QToolButton(self)
        self.text_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.text_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.remove_button = QToolButton(self)
        self.remove_button.setText("✕")
        remove_name = f"Remove filter {column.label}"
        self.remove_button.setAccessibleName(remove_name)
        self.remove_button.setToolTip(remove_name)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 1, 2, 1)
        layout.setSpacing(0)
        layout.addWidget(self.text_button)
        layout.addWidget(self.remove_button)

        self.text_button.clicked.connect(self.on_text_button_clicked)
        self.remove_button.clicked.connect(self.on_remove_button_clicked)

    def set_text(self, text: str, tooltip: str) -> None:
        self.text = text
        shown = self.fontMetrics().elidedText(
            text, Qt.TextElideMode.ElideRight, MAX_CHIP_TEXT_WIDTH
        )
        self.text_button.setText(shown.replace("&", "&&"))  # a literal &, not a mnemonic
        self.text_button.setAccessibleName(text)
        self.text_button.setToolTip(f"{tooltip}\nClick to change this filter.")

    def on_text_button_clicked(self) -> None:
        self.edit_requested.emit(self.column.name)

    def on_remove_button_clicked(self) -> None:
        self.remove_requested.emit(self.column.name)


# The label a chip shows for each (column, value) of its filters (a picked record's title).
FilterLabels = dict[tuple[str, object], str]


def _value_label(column: ColumnInfo, text: str) -> str:
    """A label for a value; a whole chip text ("Author: #5 Ada") is accepted too."""
    return text.removeprefix(f"{column.label}: ")


@dataclass
class _Entry:
    column: ColumnInfo
    filter: Filter
    labels: FilterLabels
    chip: FilterChip


class FilterBar(QWidget):
    """Typed filters on one entity's columns.

    ``lookup(entity_name, text) -> [(id, title)]`` feeds the related-record picker (for
    example ``RecordService.lookup``); it is awaited on the qasync loop, and answers to a
    search text the user has since changed are dropped.
    """

    filters_changed = Signal()  # the user added, changed or removed a filter

    def __init__(self, entity: EntityInfo, lookup: Lookup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entity = entity
        self.lookup = lookup
        self.editor: FilterEditorDialog | None = None  # the open editor, if any
        self._entries: dict[str, _Entry] = {}  # by column name, in the order added

        self.add_filter_menu = QMenu("Add filter", self)
        self.add_filter_menu.setAccessibleName("Add filter")
        self._column_actions: dict[str, QAction] = {}
        for column in entity.columns:
            action = self.add_filter_menu.addAction(column.label)
            action.setData(column.name)
            action.setCheckable(True)  # ticked while the column has a filter
            self._column_actions[column.name] = action
        self.add_filter_menu.triggered.connect(self.on_add_filter_menu_triggered)

        self.add_filter_button = QToolButton(self)
        self.add_filter_button.setObjectName("addFilterButton")
        self.add_filter_button.setStyleSheet(ADD_BUTTON_STYLE)
        self.add_filter_button.setText("Add filter")
        self.add_filter_button.setAccessibleName("Add filter")
        self.add_filter_button.setToolTip(f"Show only the {entity.label.lower()} that match…")
        self.add_filter_button.setMenu(self.add_filter_menu)
        self.add_filter_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)

        self.clear_button = QToolButton(self)
        self.clear_button.setText("Clear filters")
        self.clear_button.setAccessibleName("Clear filters")
        self.clear_button.setAutoRaise(True)
        self.clear_button.hide()
        self.clear_button.clicked.connect(self.on_clear_button_clicked)

        self.flow = FlowLayout(self, spacing=6)
        self.flow.setContentsMargins(0, 0, 0, 0)
        self.flow.addWidget(self.add_filter_button)
        self.flow.addWidget(self.clear_button)

        # As tall as its chips need at the width it gets (height-for-width): one row when
        # there are few, more rows rather than hidden chips when the window is narrow.
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    # -- the interface for the window ----------------------------------------------------

    def filters(self) -> tuple[Filter, ...]:
        """The filters in force, in the order they were added."""
        return tuple(entry.filter for entry in self._entries.values())

    def set_filters(
        self,
        filters: tuple[Filter, ...],
        labels: Mapping[tuple[str, object], str] | None = None,
    ) -> None:
        """Show exactly ``filters`` (the last one wins for a column); ``labels`` name values,
        e.g. {("author_id", 5): "#5 Ada Lovelace"}. The window set them, so no
        ``filters_changed``."""
        self._close_editor()
        for name in list(self._entries):
            self._drop(name)
        for filter_ in filters:
            self._put(self._column(filter_.column), filter_, labels or {})
        self._refresh()

    def clear(self) -> None:
        """Remove every filter; ``filters_changed`` once if there were any."""
        self._close_editor()
        if not self._entries:
            return
        for name in list(self._entries):
            self._drop(name)
        self._refresh()
        self.filters_changed.emit()

    def labels(self) -> FilterLabels:
        """The value labels the chips use (a picked record's title), to hand back to
        ``set_filters`` later, e.g. when the window goes Back."""
        return {key: text for entry in self._entries.values() for key, text in entry.labels.items()}

    def edit_filter(self, column: str, anchor: QWidget | None = None) -> FilterEditorDialog:
        """Open the editor for ``column``'s filter (new or current) below ``anchor``."""
        info = self._column(column)
        self._close_editor()
        entry = self._entries.get(column)
        dialog = FilterEditorDialog(
            info,
            self.lookup,
            current=entry.filter if entry is not None else None,
            labels=entry.labels if entry is not None else None,
            parent=self,
        )
        dialog.finished.connect(self.on_editor_finished)
        self.editor = dialog
        self._place_below(dialog, anchor or self.add_filter_button)
        dialog.open()  # not exec(): a nested event loop would stall qasync
        return dialog

    def chip(self, column: str) -> FilterChip | None:
        entry = self._entries.get(column)
        return entry.chip if entry is not None else None

    def chips(self) -> list[FilterChip]:
        return [entry.chip for entry in self._entries.values()]

    # -- slots ------------------------------------------------------------------------------

    def on_add_filter_menu_triggered(self, action: QAction) -> None:
        column = str(action.data())
        self._refresh()  # a click toggles the action's tick; the filters decide it
        self.edit_filter(column, self.chip(column) or self.add_filter_button)

    def on_clear_button_clicked(self) -> None:
        self.clear()
        self.add_filter_button.setFocus()

    def on_chip_edit_requested(self, column: str) -> None:
        self.edit_filter(column, self.chip(column))

    def on_chip_remove_requested(self, column: str) -> None:
        if column not in self._entries:
            return
        self._drop(column)
        self._refresh()
        self.add_filter_button.setFocus()  # the focused ✕ is gone; keep keyboard users here
        self.filters_changed.emit()

    def on_editor_finished(self, _result: int) -> None:
        dialog = self.editor
        if dialog is None:
            return
        self.editor = None
        dialog.deleteLater()
        if dialog.outcome is not None:
            self._apply(dialog.column, dialog.outcome)

    # -- inside -----------------------------------------------------------------------------

    def _column(self, name: str) -> ColumnInfo:
        for column in self.entity.columns:
            if column.name == name:
                return column
        raise ValueError(f"{self.entity.label} have no column {name!r} to filter on.")

    def _close_editor(self) -> None:
        if self.editor is not None:
            self.editor.reject()  # finished → on_editor_finished forgets it

    def _apply(self, column: ColumnInfo, outcome: Outcome) -> None:
        entry = self._entries.get(column.name)
        if outcome.filter is None:
            if entry is not None:
                self._drop(column.name)
                self._refresh()
                self.filters_changed.emit()
            return
        changed = entry is None or entry.filter != outcome.filter
        self._put(column, outcome.filter, outcome.labels)
        self._refresh()
        if changed:
            self.filters_changed.emit()

    def _put(self, column: ColumnInfo, filter_: Filter, labels: ValueLabels) -> None:
        """Show ``filter_`` as the column's chip, replacing its filter in place."""
        entry = self._entries.get(column.name)
        own_labels = {
            key: _value_label(column, text) for key, text in labels.items() if key[0] == column.name
        }
        if entry is None:
            chip = FilterChip(column, self)
            chip.edit_requested.connect(self.on_chip_edit_requested)
            chip.remove_requested.connect(self.on_chip_remove_requested)
            self.flow.insert_widget(self.flow.indexOf(self.clear_button), chip)
            chip.show()
            entry = self._entries[column.name] = _Entry(column, filter_, own_labels, chip)
        else:
            entry.filter, entry.labels = filter_, own_labels
        locale, today = QLocale(), filter_values.today()
        entry.chip.set_text(
            describe(column, filter_, own_labels, locale, today),
            explain(column, filter_, own_labels, locale, today),
        )

    def _drop(self, column: str) -> None:
        entry = self._entries.pop(column)
        self.flow.removeWidget(entry.chip)
        entry.chip.hide()
        entry.chip.deleteLater()

    def _refresh(self) -> None:
        self.clear_button.setVisible(bool(self._entries))
        for name, action in self._column_actions.items():
            action.setChecked(name in self._entries)
        self.updateGeometry()

    def _place_below(self, dialog: QWidget, anchor: QWidget) -> None:
        """Put the editor just under what opened it, like a drop-down, on screen."""
        dialog.adjustSize()
        where = anchor.mapToGlobal(QPoint(0, anchor.height() + 2))
        screen = anchor.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            area = screen.availableGeometry()
            x = max(area.left(), min(where.x(), area.right() - dialog.width()))
            y = where.y()
            if y + dialog.height() > area.bottom():
                y = max(area.top(), anchor.mapToGlobal(QPoint(0, 0)).y() - dialog.height() - 2)
            where = QPoint(x, y)
        dialog.move(where)
