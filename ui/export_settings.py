"""What the export dialog remembers between runs: the file type, the options last used
and the folder last written to. Kept with the window state in the same INI file, under
``export/``.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import platformdirs
from PySide6.QtCore import QSettings

from app.desktop import config_dir
from app.services.errors import ValidationError
from app.services.export import CsvOptions
from app.services.export_formats import ExportFormat, ExportOptions
from app.services.export_jsonl import JsonLinesOptions
from app.services.export_xlsx import XlsxOptions
from ui.window_state import STATE_FILE_NAME

_GROUP = "export"


class ExportSettings:
    def __init__(self, settings: QSettings | None = None) -> None:
        self._settings = settings or QSettings(
            str(config_dir() / STATE_FILE_NAME), QSettings.Format.IniFormat
        )

    def options(self) -> CsvOptions:
        """The options last used; the defaults for any that were never saved, and all of
        them when the saved ones no longer make sense together (a hand edit, a newer
        version's values)."""
        defaults = CsvOptions()
        values: dict[str, object] = {}
        for option in fields(CsvOptions):
            default = getattr(defaults, option.name)
            stored = self._settings.value(f"{_GROUP}/{option.name}")
            if stored is None:
                values[option.name] = default
            elif isinstance(default, bool):
                # INI files hold text: a bool comes back as "true" or "false".
                values[option.name] = str(stored).lower() in ("true", "1")
            else:
                values[option.name] = str(stored)
        try:
            return CsvOptions(**values).validated()  # type: ignore[arg-type]
        except ValidationError:
            return defaults

    def set_options(self, options: CsvOptions) -> None:
        for option in fields(CsvOptions):
            self._settings.setValue(f"{_GROUP}/{option.name}", getattr(options, option.name))
        self._settings.sync()

    def export_options(self) -> ExportOptions:
        """The file type and the workbook and JSON Lines options last used (the CSV ones
        are ``options``); the defaults for what was never saved or no longer reads."""
        try:
            kind = ExportFormat(str(self._settings.value(f"{_GROUP}/format", "csv")))
        except ValueError:
            kind = ExportFormat.CSV
        return ExportOptions(
            kind,
            self.options(),
            XlsxOptions(
                utc=self._flag("xlsx_utc", XlsxOptions().utc),
                split_sheets=self._flag("xlsx_split_sheets", XlsxOptions().split_sheets),
            ),
            JsonLinesOptions(
                decimals_as_numbers=self._flag(
                    "jsonl_decimals_as_numbers", JsonLinesOptions().decimals_as_numbers
                )
            ),
        )

    def set_export_options(self, options: ExportOptions) -> None:
        self._settings.setValue(f"{_GROUP}/format", options.format.value)
        self._settings.setValue(f"{_GROUP}/xlsx_utc", options.xlsx.utc)
        self._settings.setValue(f"{_GROUP}/xlsx_split_sheets", options.xlsx.split_sheets)
        self._settings.setValue(
            f"{_GROUP}/jsonl_decimals_as_numbers", options.jsonl.decimals_as_numbers
        )
        self._settings.sync()

    def _flag(self, name: str, default: bool) -> bool:
        stored = self._settings.value(f"{_GROUP}/{name}")
        if stored is None:
            return default
        # INI files hold text: a bool comes back as "true" or "false".
        return str(stored).lower() in ("true", "1")

    def folder(self) -> Path:
        """Where the next export goes: the folder last written to while it still exists,
        else the user's Documents folder (their home where there is none)."""
        stored = self._settings.value(f"{_GROUP}/folder")
        if stored:
            folder = Path(str(stored))
            if folder.is_dir():
                return folder
        documents = platformdirs.user_documents_path()
        return documents if documents.is_dir() else Path.home()

    def set_folder(self, folder: Path) -> None:
        self._settings.setValue(f"{_GROUP}/folder", str(folder))
        self._settings.sync()
