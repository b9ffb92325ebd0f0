"""The Excel workbook export: typed cells, streamed with flat memory.

XlsxWriter in its constant-memory mode writes each row to a temporary file as soon as the
next one starts and assembles the workbook at the end, so a million rows take the memory
of one. Cells are typed: numbers as numbers, money as numbers shown with two decimals,
dates and times as date cells in the chosen zone (Excel has no zones: the local one by
default, UTC on request, named in the header), booleans as booleans and text as text —
written as a string cell, never parsed, so no formula can run and no guard is needed
(a NUL is shown as ␀, as in the CSV export).
The header is bold and frozen, columns are as wide as their first rows need, and each
sheet has an autofilter. A view longer than a sheet holds is continued on further sheets
(or refused before the file is opened, by the user's choice); text longer than a cell
holds is cut, with a note in the cell's comment, and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from app.repositories.export_columns import NUL_SHOWN
from app.services import catalog
from app.services.catalog import ColumnInfo, ColumnKind
from app.services.errors import ValidationError
from app.services.export_rows import RowWriter, Stream, in_turns

if TYPE_CHECKING:
    from xlsxwriter.worksheet import Worksheet

# Excel's limits (Microsoft: "Excel specifications and limits").
SHEET_ROWS = 1_048_576
CELL_CHARS = 32_767
SHEET_NAME_CHARS = 31
# Rows a sheet's column widths are measured over: enough to see the data, few enough to
# cost nothing on a million rows.
WIDTH_SAMPLE_ROWS = 1_000
MAX_WIDTH = 60
MONEY_FORMAT = "#,##0.00"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


@dataclass(frozen=True)
class XlsxOptions:
    # Date and time cells in UTC rather than in this computer's zone.
    utc: bool = False
    # A view of more rows than a sheet holds: continued on further sheets (True) or refused.
    split_sheets: bool = True


@dataclass
class XlsxReport:
    """What a workbook export had to do beyond writing cells, for the end message."""

    sheets: int = 0
    cut_cells: int = 0

    def notes(self) -> tuple[str, ...]:
        notes = []
        if self.sheets > 1:
            notes.append(
                f"The rows continue over {self.sheets} sheets: one holds "
                f"{data_rows_per_sheet():,} below its header."
            )
        if self.cut_cells:
            texts = "text was" if self.cut_cells == 1 else "texts were"
            notes.append(
                f"{self.cut_cells:,} {texts} longer than a cell holds ({CELL_CHARS:,} "
                "characters) and cut; the cell's comment says so."
            )
        return tuple(notes)


def data_rows_per_sheet() -> int:
    return SHEET_ROWS - 1  # the header takes the first


def xlsx_writer(
    entity: str, options: XlsxOptions, report: XlsxReport | None = None
) -> Callable[[int], RowWriter]:
    """The writer maker ``export_rows.export_typed`` takes, for the rows of ``entity``."""

    def make(total: int) -> RowWriter:
        if total > data_rows_per_sheet() and not options.split_sheets:
            raise ValidationError(
                f"{total:,} rows do not fit on one sheet (Excel holds {data_rows_per_sheet():,} "
                "below its header): export fewer rows, or let the export continue them on "
                "further sheets."
            )
        return _XlsxWriter(catalog.entity(entity).label, options, report or XlsxReport())

    return make


class _XlsxWriter:
    def __init__(self, title: str, options: XlsxOptions, report: XlsxReport) -> None:
        self._title = title
        self._options = options
        self.report = report
        self._workbook: Any = None
        self._sheet: Worksheet | None = None
        self._row = 0  # the next row of the current sheet
        self._columns: Sequence[ColumnInfo] = ()
        self._cells: list[Callable[[Worksheet, int, int, Any], None]] = []
        self._widths: list[int] = []
        self._sampled = 0

    def begin(self, columns: Sequence[ColumnInfo], stream: Stream) -> None:
        self._columns = columns
        # Imported here, in the export's thread: a tenth of a second nobody should wait for
        # at start, when most sessions never write a workbook.
        import xlsxwriter

        self._workbook = xlsxwriter.Workbook(
            stream,
            {
                "constant_memory": True,
                # Text is text: never read as a number, a formula or a link.
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "use_zip64": True,
            },
        )
        workbook = self._workbook
        self._header = workbook.add_format({"bold": True})
        money = workbook.add_format({"num_format": MONEY_FORMAT})
        moment = workbook.add_format({"num_format": DATETIME_FORMAT})
        zone = UTC if self._options.utc else None
        self._cells = [self._cell_writer(column, money, moment, zone) for column in columns]
        self._new_sheet()

    def _cell_writer(
        self, column: ColumnInfo, money: Any, moment: Any, zone: Any
    ) -> Callable[[Worksheet, int, int, Any], None]:
        kind = column.kind
        if kind in (ColumnKind.INTEGER, ColumnKind.REFERENCE):
            return lambda sheet, row, col, value: sheet.write_number(row, col, value)
        if kind is ColumnKind.MONEY:
            return lambda sheet, row, col, value: sheet.write_number(row, col, float(value), money)
        if kind is ColumnKind.BOOLEAN:
            return lambda sheet, row, col, value: sheet.write_boolean(row, col, bool(value))
        if kind is ColumnKind.DATETIME:

            def write_moment(sheet: Worksheet, row: int, col: int, value: datetime) -> None:
                # Excel's dates have no zone: the wall time of the chosen one.
                sheet.write_datetime(row, col, value.astimezone(zone).replace(tzinfo=None), moment)

            return write_moment
        return self._write_text

    def _write_text(self, sheet: Worksheet, row: int, col: int, value: Any) -> None:
        # A NUL (only another program's SQLite file holds one) is shown as the CSV export
        # shows it: a spreadsheet drops it silently.
        text = str(value).replace("\0", NUL_SHOWN)
        if len(text) > CELL_CHARS:
            sheet.write_string(row, col, text[:CELL_CHARS])
            sheet.write_comment(
                row,
                col,
                f"Cut: this text has {len(text):,} characters; a cell holds {CELL_CHARS:,}.",
            )
            self.report.cut_cells += 1
            return
        sheet.write_string(row, col, text)

    def _new_sheet(self) -> None:
        if self._sheet is not None:
            self._finish_sheet()
        number = self.report.sheets + 1
        name = self._title if number == 1 else f"{self._title} ({number})"
        self._sheet = sheet = self._workbook.add_worksheet(_sheet_name(name))
        self.report.sheets = number
        labels = self._labels()
        for col, label in enumerate(labels):
            sheet.write_string(0, col, label, self._header)
        self._widths = [len(label) + 2 for label in labels]
        self._sampled = 0
        sheet.freeze_panes(1, 0)
        self._row = 1

    def _labels(self) -> list[str]:
        """The header: each column's name, a date and time column's with its zone."""
        zone = "UTC" if self._options.utc else "local time"
        return [
            f"{c.label} ({zone})" if c.kind is ColumnKind.DATETIME else c.label
            for c in self._columns
        ]

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        cells = self._cells
        for values in (values for part in in_turns(rows) for values in part):
            if self._row == SHEET_ROWS:
                self._new_sheet()
            sheet = self._sheet
            assert sheet is not None
            row = self._row
            for col, value in enumerate(values):
                if value is not None:
                    cells[col](sheet, row, col, value)
            if self._sampled < WIDTH_SAMPLE_ROWS:
                self._measure(values)
            self._row = row + 1

    def _measure(self, values: Sequence[Any]) -> None:
        self._sampled += 1
        for col, value in enumerate(values):
            if value is None:
                continue
            kind = self._columns[col].kind
            if kind is ColumnKind.DATETIME:
                width = len("2026-12-31 23:59:59")
            elif kind is ColumnKind.MONEY:
                width = len(f"{Decimal(value):,.2f}")
            else:
                width = len(str(value))
            if width + 2 > self._widths[col]:
                self._widths[col] = min(width + 2, MAX_WIDTH)

    def _finish_sheet(self) -> None:
        sheet = self._sheet
        assert sheet is not None
        for col, width in enumerate(self._widths):
            sheet.set_column(col, col, width)
        last = max(len(self._columns) - 1, 0)
        sheet.autofilter(0, 0, max(self._row - 1, 0), last)

    def end(self) -> None:
        self._finish_sheet()
        self._workbook.close()


def _sheet_name(text: str) -> str:
    """A name Excel takes for a sheet: none of []:*?/\\, at most 31 characters."""
    cleaned = "".join("_" if character in "[]:*?/\\" else character for character in text)
    return cleaned[:SHEET_NAME_CHARS].strip("'") or "Sheet"
