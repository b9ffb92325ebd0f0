"""A browse window's Back/Forward: the places visited (what was shown and where one was in
it), the ways to a new place (a relation, a reference), and a place shown again as soon as
the result has its rows."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView

from app.query import DeletedRows, Equals, QuerySpec, ViewState
from app.services import catalog
from ui.icons import set_action_icon
from ui.record_table_model import CountState
from ui.selection import CellBlock, cell_blocks
from ui.widgets.filter_bar import FilterLabels

if TYPE_CHECKING:
    from PySide6.QtWidgets import QTableView, QWidget

    from app.workspace import Desk
    from ui.record_table_model import RecordTableModel
    from ui.window_state import WindowState


@dataclass(frozen=True)
class Place:
    """One stop in a window's Back/Forward history: what was shown and where one was in it."""

    view: ViewState
    labels: FilterLabels = field(default_factory=dict)
    top_row: int = 0
    current: tuple[int, int] | None = None
    selection: tuple[CellBlock, ...] = ()

    @property
    def deepest_row(self) -> int:
        rows = [self.top_row, *(block[2] for block in self.selection)]
        if self.current is not None:
            rows.append(self.current[0])
        return max(rows)


class HistoryHost(Protocol):
    """What the history reads and drives of its window, and nothing more: the rows (the
    model, and the table with its scroll position, selection and current cell), the view
    and its chips' labels, the saved layout of each kind (the view a relation leads to
    opens as that kind was left), and the one way to show a place's view."""

    desk: Desk  # the database's catalog names where a relation or reference leads
    model: RecordTableModel | None
    table: QTableView
    window_state: WindowState

    @property
    def view(self) -> ViewState: ...

    def filter_labels(self) -> FilterLabels: ...

    def go_to(self, view: ViewState, labels: FilterLabels) -> None:
        """Show ``view`` from its top, with ``labels`` on its chips."""


class History(QObject):
    def __init__(self, window: HistoryHost, widget: QWidget) -> None:
        """``window``: where the places are; ``widget``: the window as the parent of the
        Back and Forward actions."""
        super().__init__(widget)
        self.window = window
        self.widget = widget
        self.back_stack: list[Place] = []
        self.forward_stack: list[Place] = []
        # Where to go in the rows once they exist (Back/Forward), see restore_position.
        self._pending: Place | None = None
        self.back_action = self._action("Back", QKeySequence.StandardKey.Back, self.go_back)
        set_action_icon(self.back_action, "back")
        self.forward_action = self._action(
            "Forward", QKeySequence.StandardKey.Forward, self.go_forward
        )
        set_action_icon(self.forward_action, "forward")
        self.back_action.setEnabled(False)
        self.forward_action.setEnabled(False)

    def _action(self, text: str, shortcut: QKeySequence.StandardKey, slot: Any) -> QAction:
        action = QAction(text, self.widget)
        action.setShortcut(shortcut)
        action.triggered.connect(slot)
        self.widget.addAction(action)
        return action

    def current_place(self) -> Place:
        table = self.window.table
        current = table.currentIndex()
        return Place(
            self.window.view,
            self.window.filter_labels(),
            max(table.rowAt(0), 0),
            (current.row(), current.column()) if current.isValid() else None,
            tuple(cell_blocks(table)),
        )

    def navigate(self, place: Place) -> None:
        """Go somewhere new; Back returns here."""
        self.back_stack.append(self.current_place())
        self.forward_stack.clear()
        self.show(place)

    def go_back(self) -> None:
        if self.back_stack:
            self.forward_stack.append(self.current_place())
            self.show(self.back_stack.pop())

    def go_forward(self) -> None:
        if self.forward_stack:
            self.back_stack.append(self.current_place())
            self.show(self.forward_stack.pop())

    def follow_relation(self, relation: catalog.Relation, record_id: Any, title: str) -> None:
        """From a record to its related records: a user's posts, an order's items… A key
        of several columns (``record_id`` a tuple) is matched column by column."""
        state = self.window.window_state
        target = self.window.desk.workspace.catalog.entity(relation.entity)
        columns = relation.key_columns
        values = record_id if len(columns) > 1 else (record_id,)
        filters = tuple(Equals(name, value) for name, value in zip(columns, values, strict=True))
        spec = QuerySpec(filters=filters, sort=state.known_sort(target))
        view = ViewState(target.name, spec, state.known_columns(target))
        labels = {
            (name, value): f"{target.column(name).label}: {title if len(columns) == 1 else value}"
            for name, value in zip(columns, values, strict=True)
        }
        self.navigate(Place(view, labels))

    def follow_link(self, link: catalog.Link, values: tuple[Any, ...]) -> None:
        """From a reference by several columns to the record their ``values`` name."""
        target = self.window.desk.workspace.catalog.entity(link.target)
        pairs = list(zip(target.key, values, strict=True))
        spec = QuerySpec(filters=tuple(Equals(name, value) for name, value in pairs))
        view = ViewState(target.name, spec, self.window.window_state.known_columns(target))
        labels = {(name, value): f"{target.column(name).label}: {value}" for name, value in pairs}
        self.navigate(Place(view, labels))

    def follow_reference(self, column: catalog.ColumnInfo, record_id: Any) -> None:
        """From a foreign-key cell to the record it names."""
        assert column.references is not None
        target = self.window.desk.workspace.catalog.entity(column.references)
        (key,) = target.key  # a reference names a one-column key (app/services/reflection.py)
        spec = QuerySpec(filters=(Equals(key, record_id),), deleted=DeletedRows.INCLUDE)
        view = ViewState(target.name, spec, self.window.window_state.known_columns(target))
        label = target.column(key).label
        self.navigate(Place(view, {(key, record_id): f"{label}: {record_id}"}))

    def show(self, place: Place) -> None:
        """Show ``place`` (without making it a stop of the history): its view at once, its
        rows in view and selection once the result has them."""
        self.window.go_to(place.view, place.labels)
        self._pending = place if place.deepest_row or place.selection else None
        self.restore_position()
        self.back_action.setEnabled(bool(self.back_stack))
        self.forward_action.setEnabled(bool(self.forward_stack))

    def reload_keeping_place(self) -> None:
        """Run the view again (records joined or left it) and come back to the rows that
        were in view. The selection is not kept: the rows under it are others now."""
        model = self.window.model
        assert model is not None
        place = replace(self.current_place(), selection=(), current=None)
        model.refresh()
        self._pending = place if place.top_row else None
        self.restore_position()

    def forget_position(self) -> None:
        """The query changed: a place not yet reached belongs to another result."""
        self._pending = None

    def restore_position(self, *_: object) -> None:
        """Back at a place: scroll to the rows that were in view and select what was
        selected, as soon as the result has those rows (its count comes later)."""
        place = self._pending
        model = self.window.model
        table = self.window.table
        if place is None or model is None:
            return
        count = model.rowCount()
        if count <= place.deepest_row and model.count_state is not CountState.EXACT:
            return
        self._pending = None
        if count == 0:
            return
        last_row, last_column = count - 1, model.columnCount() - 1
        selection = QItemSelection()
        for top, left, bottom, right in place.selection:
            if top <= last_row:
                selection.select(model.index(top, left), model.index(min(bottom, last_row), right))
        if place.current is not None and place.current[0] <= last_row:
            row, column = place.current
            table.selectionModel().setCurrentIndex(
                model.index(row, min(column, last_column)),
                QItemSelectionModel.SelectionFlag.NoUpdate,
            )
        table.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        # The rows may have come this very moment: the view must know its new height
        # before it can scroll there (it would clamp to the old one).
        table.doItemsLayout()
        first_column = table.horizontalHeader().logicalIndexAt(0)
        table.scrollTo(
            model.index(min(place.top_row, last_row), max(first_column, 0)),
            QAbstractItemView.ScrollHint.PositionAtTop,
        )
