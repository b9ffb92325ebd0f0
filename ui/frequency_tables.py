"""The frequency tables a browse window has open: one per column, each following the
window's view, and a double-clicked group narrowing the window to its rows."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from app.query import Equals, Filter, QuerySpec
from app.services import insights
from app.services.catalog import ColumnKind
from ui.dialogs.frequency_dialog import FrequencyDialog
from ui.widgets.filter_bar import FilterLabels

if TYPE_CHECKING:
    from app.query import ViewState
    from app.services.catalog import EntityInfo
    from app.workspace import Desk


class FrequencyHost(Protocol):
    """What the frequency tables read of their window: the records and kind it shows, its
    view, and the labels of its filter chips."""

    desk: Desk
    entity: EntityInfo

    @property
    def view(self) -> ViewState: ...

    def filter_labels(self) -> FilterLabels: ...


class FrequencyTables(QObject):
    # A group was double-clicked: the view that shows its rows, and its chips' labels.
    drilled = Signal(object, object)

    def __init__(self, window: FrequencyHost, widget: QWidget) -> None:
        """``window``: what the tables count; ``widget``: their parent window."""
        super().__init__(widget)
        self.window = window
        self.widget = widget
        self.dialogs: list[FrequencyDialog] = []

    def open(self, column: str) -> FrequencyDialog:
        """The frequency table and description of ``column`` over the window's view (the
        one already open for it, raised)."""
        for dialog in self.dialogs:
            if dialog.column.name == column:
                dialog.raise_()
                dialog.activateWindow()
                return dialog
        entity = self.window.entity
        dialog = FrequencyDialog(
            self.window.desk, entity, entity.column(column), self.window.view.spec, self.widget
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.drill_down.connect(self.on_dialog_drill_down)
        dialog.finished.connect(lambda _result: self._forget(dialog))
        self.dialogs.append(dialog)
        dialog.show()
        return dialog

    def follow(self, spec: QuerySpec) -> None:
        """The window's view changed: every table counts it again."""
        for dialog in self.dialogs:
            dialog.follow(spec)

    def close_all(self) -> None:
        """The rows they counted are gone (another kind, another database, the window)."""
        for dialog in list(self.dialogs):
            dialog.reject()

    def _forget(self, dialog: FrequencyDialog) -> None:
        if dialog in self.dialogs:
            self.dialogs.remove(dialog)

    def on_dialog_drill_down(self, group: Filter, label: str) -> None:
        window = self.window
        view = window.view
        spec = insights.drill_down(
            window.desk.workspace.catalog, view.spec, window.entity.name, group
        )
        labels = window.filter_labels()
        column = window.entity.column(group.column)
        if isinstance(group, Equals) and column.kind is ColumnKind.REFERENCE:
            labels[(group.column, group.value)] = f"{column.label}: {label}"
        self.drilled.emit(replace(view, spec=spec), labels)
