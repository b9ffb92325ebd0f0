"""The file types an export writes, and the one call the window and the command line both
make: CSV (the database formats the text: app/services/export.py), an Excel workbook and
JSON Lines (typed values: app/services/export_rows.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from app.core.database import Database
from app.services.export import CsvOptions, ExportProgress, ExportRequest, ExportResult, export_csv
from app.services.export_jsonl import JsonLinesOptions, jsonl_writer
from app.services.export_rows import export_typed
from app.services.export_xlsx import XlsxOptions, export_workbook


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSONL = "jsonl"

    @property
    def suffix(self) -> str:
        return f".{self.value}"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def file_filter(self) -> str:
        """For a file dialog: this type's files, then all files."""
        return f"{_FILTERS[self]} (*{self.suffix});;All files (*)"


_LABELS = {
    ExportFormat.CSV: "CSV (comma-separated values)",
    ExportFormat.XLSX: "Excel workbook (.xlsx)",
    ExportFormat.JSONL: "JSON Lines (.jsonl)",
}
_FILTERS = {
    ExportFormat.CSV: "CSV files",
    ExportFormat.XLSX: "Excel workbooks",
    ExportFormat.JSONL: "JSON Lines files",
}


@dataclass(frozen=True)
class ExportOptions:
    """The file type and how each type is written (only the chosen one's options apply)."""

    format: ExportFormat = ExportFormat.CSV
    csv: CsvOptions = field(default_factory=CsvOptions)
    xlsx: XlsxOptions = field(default_factory=XlsxOptions)
    jsonl: JsonLinesOptions = field(default_factory=JsonLinesOptions)


def format_of(path: Path, default: ExportFormat = ExportFormat.CSV) -> ExportFormat:
    """The file type a name's extension asks for (``.xlsx``), else ``default``."""
    suffix = path.suffix.lower()
    return next((kind for kind in ExportFormat if kind.suffix == suffix), default)


async def export(
    database: Database,
    request: ExportRequest,
    options: ExportOptions,
    target: Path | BinaryIO,
    progress: ExportProgress | None = None,
) -> ExportResult:
    """Write the rows of ``request`` to ``target`` in the chosen file type; what the end
    message should add (cut texts, further sheets) is in ``ExportResult.notes``."""
    if options.format is ExportFormat.CSV:
        return await export_csv(database, request, options.csv, target, progress)
    if options.format is ExportFormat.JSONL:
        return await export_typed(database, request, jsonl_writer(options.jsonl), target, progress)
    return await export_workbook(database, request, options.xlsx, target, progress)
