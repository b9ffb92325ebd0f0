"""The selection of a table as blocks of cells and ranges of rows — never as indexes:
Ctrl+A over a million rows is one block, and counting its rows costs nothing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QItemSelection, QItemSelectionModel
from PySide6.QtWidgets import QTableView

if TYPE_CHECKING:
    from app.query import ViewState
    from app.services.catalog import EntityInfo
    from app.workspace import Desk
    from ui.record_table_model import RecordTableModel

# top, left, bottom, right of one selected block of cells
CellBlock = tuple[int, int, int, int]


class RowsHost(Protocol):
    """What a job over a window's selected or viewed rows (Copy, Export) reads of it, and
    nothing more: the desk and the kind it shows, the rows (the model, and the table's
    selection), the view, and a status line."""

    desk: Desk
    entity: EntityInfo
    model: RecordTableModel | None
    table: QTableView

    @property
    def view(self) -> ViewState: ...

    def tell(self, text: str, timeout_ms: int = 8000) -> None:
        """Say ``text`` on the status line for ``timeout_ms`` (0: until replaced)."""

    def clear_message(self) -> None:
        """Take back what ``tell`` said."""


def cell_blocks(table: QTableView) -> list[CellBlock]:
    selection = table.selectionModel().selection()
    blocks = (selection.at(i) for i in range(selection.size()))
    return [(block.top(), block.left(), block.bottom(), block.right()) for block in blocks]


def merged(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Row ranges (first, last) merged where they overlap or touch, in order."""
    rows: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if rows and first <= rows[-1][1] + 1:
            rows[-1] = (rows[-1][0], max(rows[-1][1], last))
        else:
            rows.append((first, last))
    return rows


def row_ranges(blocks: Iterable[CellBlock]) -> list[tuple[int, int]]:
    """The rows the blocks touch, as merged (first, last) ranges."""
    return merged((top, bottom) for top, _, bottom, _ in blocks)


def row_count(ranges: Iterable[tuple[int, int]]) -> int:
    return sum(last - first + 1 for first, last in ranges)


def rows_of_columns(
    blocks: Iterable[CellBlock], names: Sequence[str], wanted: Iterable[str]
) -> dict[str, list[tuple[int, int]]]:
    """The selected rows of each ``wanted`` column (``names``: every column in table
    order), as merged ranges; a column with none selected is left out."""
    listed = list(blocks)  # read once per column
    found: dict[str, list[tuple[int, int]]] = {}
    for name in wanted:
        place = names.index(name)
        rows = merged(
            (top, bottom) for top, left, bottom, right in listed if left <= place <= right
        )
        if rows:
            found[name] = rows
    return found


def select_rows(table: QTableView, first: int, last: int) -> None:
    """Select rows ``first`` to ``last`` whole, as a drag over the row headers does."""
    model = table.model()
    table.selectionModel().select(
        QItemSelection(model.index(first, 0), model.index(last, model.columnCount() - 1)),
        QItemSelectionModel.SelectionFlag.ClearAndSelect,
    )
