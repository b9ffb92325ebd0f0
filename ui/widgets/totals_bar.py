"""The totals footer of a browse window: the row count of the whole view and, for its
amounts and quantities, sum, average, minimum and maximum, computed by the database over
every row the view holds (not the loaded ones); the same figures for the selected cells.

Each figure is one background query, started a moment after the view settles and
cancelled (in the database too) when the view moves on, the window closes or Stop is
pressed: the rows never wait for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import shiboken6
from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from app.changes import ChangeSet
from app.query import KeyRange, QuerySpec
from app.services.catalog import ColumnKind, EntityInfo
from app.services.errors import RecordsDeskError
from app.services.insights import ColumnTotals, Totals
from app.workspace import Desk
from ui.exporting import selection_key_ranges
from ui.formatting import number_text
from ui.record_changes import record_changes
from ui.record_table_model import RecordTableModel, ResultChangedError
from ui.tasks import spawn

# A view that changes again within this long (typing, scrolling a selection) is not
# added up in between.
SETTLE_S = 0.25


class TotalsBar(QWidget):
    # The figures of the view or of the selection were shown, or why not (tests wait on it).
    calculated = Signal()

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.model: RecordTableModel | None = None
        self.view_label = QLabel(self)
        self.view_label.setAccessibleName("Totals")
        self.view_label.setTextFormat(Qt.TextFormat.PlainText)
        self.view_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.selection_label = QLabel(self)
        self.selection_label.setAccessibleName("Selection totals")
        self.selection_label.setTextFormat(Qt.TextFormat.PlainText)
        self.selection_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.selection_label.hide()
        self.stop_button = QToolButton(self)
        self.stop_button.setText("Stop")
        self.stop_button.setAccessibleName("Stop")
        self.stop_button.setToolTip("Stop adding up (the query stops in the database)")
        self.stop_button.clicked.connect(self.on_stop_button_clicked)
        self.stop_button.hide()
        labels = QVBoxLayout()
        labels.setSpacing(0)
        labels.addWidget(self.view_label)
        labels.addWidget(self.selection_label)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.addLayout(labels, 1)
        layout.addWidget(self.stop_button, 0, Qt.AlignmentFlag.AlignTop)
        self._view_task: asyncio.Task[None] | None = None
        self._selection_task: asyncio.Task[None] | None = None
        self._selected: dict[str, list[tuple[int, int]]] = {}
        self._selected_rows = 0
        record_changes(desk).changed.connect(self.on_records_changed)

    # -- what to add up ----------------------------------------------------------------------

    def follow(self, model: RecordTableModel) -> None:
        """Add up the view of ``model`` (a new one, or its rows ran again)."""
        self.model = model
        self._selected = {}
        self._cancel(selection=True)
        self.selection_label.hide()
        self.refresh()

    def refresh(self) -> None:
        """The rows ran again (a new query, or Refresh): add them up again. A reset
        clears the table's selection without a word, so its totals go too."""
        if self.model is None:
            return
        self._cancel(view=True, selection=True)
        self._selected = {}
        self.selection_label.hide()
        self.view_label.setText("Totals: adding up…")
        self._start_view_totals()

    def on_records_changed(self, changes: ChangeSet) -> None:
        """A commit changed records of the kind added up here: add up again (what is
        selected too, over the same cells)."""
        if self.model is None or self.model.entity.name not in changes.entities:
            return
        selected, rows = self._selected, self._selected_rows
        self._cancel(view=True)
        self.view_label.setText("Totals: adding up…")
        self._start_view_totals()
        if selected:
            self.select(selected, rows)

    def select(self, rows_of_column: dict[str, list[tuple[int, int]]], rows: int) -> None:
        """Add up the selected cells: for each amount column, the blocks of rows (first,
        last) selected in it; ``rows``: how many rows the selection touches (0: none)."""
        self._cancel(selection=True)
        if self.model is None:
            return
        self._selected = rows_of_column
        self._selected_rows = rows
        if not rows_of_column:
            self.selection_label.setText(
                f"Selected {QLocale().toString(rows)} {'row' if rows == 1 else 'rows'}"
            )
            self.selection_label.setVisible(rows > 1)
            return
        self.selection_label.setText("Selected: adding up…")
        self.selection_label.show()
        self._start_selection_totals()

    def stop(self) -> None:
        self._cancel(view=True, selection=True)

    def detach(self) -> None:
        """The window closes: stop, and add up nothing more (a last reset of its rows
        included)."""
        self.stop()
        self.model = None

    def on_stop_button_clicked(self) -> None:
        view_running = self._running(self._view_task)
        selection_running = self._running(self._selection_task)
        self.stop()
        if view_running:
            self.view_label.setText("Totals stopped; Refresh adds up again.")
        if selection_running:
            self.selection_label.setText("Selected: stopped.")
        self.calculated.emit()

    # -- running -----------------------------------------------------------------------------

    def _start_view_totals(self) -> None:
        if self.model is None:
            return
        model = self.model
        self._view_task = spawn(
            self._add_up_view(model, model.entity, model.spec),
            name=f"totals of {model.entity.name}",
        )

    async def _add_up_view(
        self, model: RecordTableModel, entity: EntityInfo, spec: QuerySpec
    ) -> None:
        await self._settle()
        try:
            found = await self.desk.workspace.totals(entity.name, spec)
        except RecordsDeskError as error:
            text = f"Totals could not be added up: {error}"
        else:
            text = totals_text(entity, found)
        finally:
            if shiboken6.isValid(self) and self._view_task is asyncio.current_task():
                self._view_task = None
        if not shiboken6.isValid(self) or model is not self.model:
            return
        self.view_label.setText(text)
        self._update_stop()
        self.calculated.emit()

    def _start_selection_totals(self) -> None:
        if self.model is None or not self._selected:
            return
        self._selection_task = spawn(
            self._add_up_selection(
                self.model, self.model.spec, dict(self._selected), self._selected_rows
            ),
            name=f"selection totals of {self.model.entity.name}",
        )

    async def _add_up_selection(
        self,
        model: RecordTableModel,
        spec: QuerySpec,
        rows_of_column: dict[str, list[tuple[int, int]]],
        rows_selected: int,
    ) -> None:
        entity = model.entity
        # Columns selected over the same rows are added up together, in one statement.
        by_rows: dict[tuple[tuple[int, int], ...], list[str]] = {}
        for column, selected in rows_of_column.items():
            by_rows.setdefault(tuple(selected), []).append(column)
        await self._settle()
        found: list[ColumnTotals] = []
        try:
            for rows, columns in by_rows.items():
                ranges: Sequence[KeyRange] = await selection_key_ranges(
                    model, self.desk.records, rows
                )
                if model.spec != spec:
                    raise ResultChangedError
                part = await self.desk.workspace.totals(entity.name, spec, columns, ranges)
                found.extend(part.columns)
        except ResultChangedError:
            text = "Selected: the rows changed meanwhile."
        except RecordsDeskError as error:
            text = f"Selected: not added up ({error})"
        else:
            order = entity.column_names
            found.sort(key=lambda totals: order.index(totals.column))
            text = "Selected " + totals_text(entity, Totals(rows_selected, tuple(found)))
        finally:
            if shiboken6.isValid(self) and self._selection_task is asyncio.current_task():
                self._selection_task = None
        if not shiboken6.isValid(self) or model is not self.model or model.spec != spec:
            return
        self.selection_label.setText(text)
        self._update_stop()
        self.calculated.emit()

    def _cancel(self, *, view: bool = False, selection: bool = False) -> None:
        if view and self._view_task is not None:
            self._view_task.cancel()
            self._view_task = None
        if selection and self._selection_task is not None:
            self._selection_task.cancel()
            self._selection_task = None
        self._update_stop()

    async def _settle(self) -> None:
        """Wait for the view to settle (more typing, a selection still being dragged
        cancel this task meanwhile); then Stop is worth showing."""
        await asyncio.sleep(SETTLE_S)
        if shiboken6.isValid(self):
            self.stop_button.show()

    def _update_stop(self) -> None:
        if not (self._running(self._view_task) or self._running(self._selection_task)):
            self.stop_button.hide()

    @staticmethod
    def _running(task: asyncio.Task[None] | None) -> bool:
        return task is not None and not task.done()


def totals_text(entity: EntityInfo, totals: Totals, locale: QLocale | None = None) -> str:
    """``4 rows · Total: sum 15.35, average 3.84, min 0.00, max 10.10``."""
    used = locale or QLocale()
    parts = [f"{used.toString(totals.rows)} {'row' if totals.rows == 1 else 'rows'}"]
    for figures in totals.columns:
        column = entity.column(figures.column)
        money = column.kind is ColumnKind.MONEY
        if figures.sum is None or figures.minimum is None or figures.maximum is None:
            parts.append(f"{column.label}: no values")
            continue
        average = figures.average
        assert average is not None
        parts.append(
            f"{column.label}: sum {number_text(figures.sum, money, used)}, "
            f"average {number_text(average, True, used)}, "
            f"min {number_text(figures.minimum, money, used)}, "
            f"max {number_text(figures.maximum, money, used)}"
        )
    return " · ".join(parts)
