"""The parts of running an export that are no one window's: a selection turned into blocks
of sort keys (trash and the totals footer read it too), the progress window's figures, and
what the end says. A browse window's export itself is ui/export_controller.py.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import QLocale

from app.query import KeyRange, sort_key_of
from app.services.errors import RecordsDeskError
from app.services.export import ExportProgress, ExportResult, check_selection_blocks
from app.services.records import RecordService
from ui.copying import key_of
from ui.progress import Progress
from ui.record_table_model import RecordTableModel, is_cut


class SelectionGoneError(RecordsDeskError):
    """The selected rows are not what they were when selected (a refresh, a search, rows
    deleted meanwhile): exporting "the selection" would export other rows."""


async def selection_key_ranges(
    model: RecordTableModel, records: RecordService, row_ranges: Sequence[tuple[int, int]]
) -> tuple[KeyRange, ...]:
    """Each block of selected rows (first, last) as the sort keys of its end rows: only
    the rows at the ends are read (cached ones cost nothing), however many are selected.

    A key value the page holds only a preview of (sorted by long text) is read whole: a
    cut value sorts before the one it was cut from, and the block would lose its end.
    Raises SelectionGoneError, RecordsDeskError, ResultChangedError (from fetch_rows)."""
    # Said before any query (the export checks again, after reading the ends).
    check_selection_blocks(sum(1 for first, last in row_ranges if first != last))
    ends = sorted({row for first, last in row_ranges for row in (first, last)})
    rows = await model.fetch_rows([(row, row) for row in ends])
    if any(row not in rows for row in ends):
        raise SelectionGoneError(
            "Some selected rows are no longer there; refresh and select again."
        )
    names = model.entity.column_names
    spec = model.spec
    keys = {row: sort_key_of(spec, model.entity.key, names, rows[row]) for row in ends}
    order = [key.column for key in spec.order(model.entity.key)]
    cut_columns = sorted(
        {order[place] for key in keys.values() for place, value in enumerate(key) if is_cut(value)}
    )
    if cut_columns:
        # Cut text is sorted on: its rows are read whole by their keys.
        ids = list({key_of(model.entity, rows[row]) for row in ends})
        whole = await records.values(model.entity.name, ids, cut_columns)
        for row in ends:
            full = whole.get(key_of(model.entity, rows[row]))
            if full is None:
                raise SelectionGoneError(
                    "Some selected rows are no longer there; refresh and select again."
                )
            by_column = dict(zip(cut_columns, full, strict=True))
            keys[row] = tuple(
                by_column.get(column, value) for column, value in zip(order, keys[row], strict=True)
            )
    return tuple(KeyRange(keys[first], keys[last]) for first, last in row_ranges)


def elapsed_text(seconds: float) -> str:
    """0:05, 12:34, 1:02:03."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, seconds_left = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds_left:02d}"
    return f"{minutes}:{seconds_left:02d}"


def progress_text(figures: ExportProgress, now: float, locale: QLocale | None = None) -> str:
    """ "12,345 of 990,242 rows" (or "12,345 rows" until they are counted) and the time it
    has taken so far."""
    used = locale or QLocale()
    rows = used.toString(figures.rows)
    if figures.total is not None:
        rows = f"{rows} of {used.toString(figures.total)}"
    return f"{rows} rows\nElapsed {elapsed_text(max(now - figures.started, 0.0))}"


class ExportProgressWindow(Progress):
    """The progress window of one export: its figures are written by the export (on
    SQLite from a worker thread) and read here on the window's timer."""

    polls = True

    def __init__(self, figures: ExportProgress, title: str) -> None:
        super().__init__(progress_text(figures, figures.started), title)
        self.figures = figures

    def poll(self) -> None:
        figures = self.figures
        self.show_text(progress_text(figures, time.monotonic()))
        self.show_steps(figures.rows, figures.total)


def file_size_text(size: int, locale: QLocale | None = None) -> str:
    """1.2 MB: the decimal units a file manager shows."""
    return (locale or QLocale()).formattedDataSize(size, 1, QLocale.DataSizeFormat.DataSizeSIFormat)


def result_text(result: ExportResult, locale: QLocale | None = None) -> str:
    used = locale or QLocale()
    rows = "1 row" if result.rows == 1 else f"{used.toString(result.rows)} rows"
    where = f" to {result.path.name}" if result.path is not None else ""
    said = f"Exported {rows}{where} ({file_size_text(result.bytes, used)})."
    return " ".join((said, *result.notes))
