"""Copy: the selected cells as tab-separated text with a header row, the visible columns in
on-screen order, so that it pastes into a spreadsheet as the same table. Every cell holds
its full value — rows not in memory and text the grid shows cut are fetched, only for the
rows selected — or nothing is copied and the caller says why. ``CopyController`` is a
browse window's Copy, over the little of the window it reads (``ui.selection.RowsHost``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QLocale, QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication

from app.services.catalog import EntityInfo
from app.services.errors import RecordsDeskError
from app.services.records import RecordService
from ui.formatting import plain_text
from ui.icons import set_action_icon
from ui.record_table_model import RecordTableModel, ResultChangedError, is_cut
from ui.selection import CellBlock, RowsHost, cell_blocks, row_count, row_ranges
from ui.tasks import async_slot

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget


# Copying more rows than this belongs in an export, not on the clipboard.
MAX_COPY_ROWS = 10_000


class NothingCopiedError(Exception):
    """Nothing was copied; ``str()`` says why, in words for the status line."""


def too_many_rows(rows: int) -> str | None:
    """Why ``rows`` selected rows are not copied (before anything is fetched), or None."""
    if rows <= MAX_COPY_ROWS:
        return None
    locale = QLocale()
    return (
        f"Copy takes at most {locale.toString(MAX_COPY_ROWS)} rows and "
        f"{locale.toString(rows)} are selected: select fewer, "
        "or export the rows to a file instead."
    )


async def selection_as_table(
    records: RecordService,
    model: RecordTableModel,
    entity: EntityInfo,
    view_columns: Sequence[str],
    blocks: Sequence[CellBlock],
) -> str | None:
    """The text of the selected cells (None: no visible column is selected). Raises
    NothingCopiedError, RecordsDeskError or ResultChangedError (the rows changed meanwhile)."""
    ranges = row_ranges(blocks)
    names = entity.column_names
    chosen = {column for _, left, _, right in blocks for column in range(left, right + 1)}
    columns = [names.index(name) for name in view_columns if names.index(name) in chosen]
    if not columns:
        return None
    cells_of_row: dict[int, set[int]] = {}
    for top, left, bottom, right in blocks:
        for row in range(top, bottom + 1):
            cells_of_row.setdefault(row, set()).update(range(left, right + 1))
    rows = await model.fetch_rows(ranges)
    if len(rows) < row_count(ranges):
        raise NothingCopiedError(
            "Nothing was copied: some selected rows are no longer there. Refresh and select again."
        )
    full = await _full_values(records, entity, rows, cells_of_row, columns)
    lines = ["\t".join(tsv(entity.columns[c].label) for c in columns)]
    for row in sorted(cells_of_row):
        values = rows[row]
        record_full = full.get(key_of(entity, values), {}) if entity.key else {}
        cells = []
        for column in columns:
            if column not in cells_of_row[row]:
                cells.append("")
                continue
            cells.append(tsv(plain_text(record_full.get(column, values[column]))))
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


async def _full_values(
    records: RecordService,
    entity: EntityInfo,
    rows: dict[int, tuple[Any, ...]],
    cells_of_row: dict[int, set[int]],
    columns: list[int],
) -> dict[int, dict[int, Any]]:
    """The whole text of the selected cells the grid only has a preview of, by record id
    and column: one query for all of them."""
    names = entity.column_names
    ids: set[Any] = set()
    cut_columns: set[int] = set()
    for row, cells in cells_of_row.items():
        values = rows[row]
        for column in cells.intersection(columns):
            if is_cut(values[column]):
                ids.add(key_of(entity, values))
                cut_columns.add(column)
    if not ids:
        return {}
    if not entity.key:
        raise NothingCopiedError(
            "Nothing was copied: some selected texts are longer than the grid holds, and "
            f"{entity.label} has no key to read them whole by. Export the rows instead."
        )
    wanted = sorted(cut_columns)
    found = await records.values(entity.name, list(ids), [names[column] for column in wanted])
    return {
        record_id: dict(zip(wanted, values, strict=True)) for record_id, values in found.items()
    }


def key_of(entity: EntityInfo, values: Sequence[Any]) -> Any:
    """The key of a row of ``entity`` (its values in the kind's column order): one value,
    or a tuple of them for a key of several columns."""
    names = entity.column_names
    keys = tuple(values[names.index(name)] for name in entity.key)
    return keys[0] if len(keys) == 1 else keys


def tsv(text: str) -> str:
    """Quote a cell the way spreadsheets read pasted text: only when it needs it."""
    if any(character in text for character in '\t\n\r"'):
        return '"' + text.replace('"', '""') + '"'
    return text


class CopyController(QObject):
    # A copy refused for its size, and why in words: the rows belong in an export.
    refused = Signal(str)

    def __init__(self, window: RowsHost, widget: QWidget) -> None:
        """``window``: what is copied; ``widget``: the window as the parent of Copy."""
        super().__init__(widget)
        self.window = window
        self.copy_action = QAction("Copy", widget)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.triggered.connect(self.on_copy_action_triggered)
        widget.addAction(self.copy_action)
        set_action_icon(self.copy_action, "copy")

    @async_slot()
    async def on_copy_action_triggered(self) -> None:
        self.copy_action.setEnabled(False)
        try:
            await self.copy_selection()
        finally:
            self.copy_action.setEnabled(True)

    async def copy_selection(self) -> None:
        """Selected cells onto the clipboard as a table, or the status line says why not."""
        window = self.window
        assert window.model is not None
        model, entity = window.model, window.entity  # the window may move on while this waits
        blocks = cell_blocks(window.table)
        if not blocks:
            return
        rows = row_count(row_ranges(blocks))
        refusal = too_many_rows(rows)
        if refusal is not None:
            self.refused.emit(refusal)
            return
        locale = QLocale()
        window.tell(f"Copying {locale.toString(rows)} rows…", 0)
        try:
            text = await selection_as_table(
                window.desk.records, model, entity, window.view.columns, blocks
            )
        except NothingCopiedError as error:
            window.tell(str(error))
            return
        except RecordsDeskError as error:
            window.tell(f"Nothing was copied: {error}")
            return
        except ResultChangedError:
            window.tell(
                "Nothing was copied: the rows changed (a new search or a refresh) meanwhile."
            )
            return
        if text is None:
            window.clear_message()
            return
        QApplication.clipboard().setText(text)
        window.tell(f"Copied {locale.toString(rows)} rows")
