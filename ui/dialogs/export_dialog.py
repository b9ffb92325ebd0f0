"""Where and how to export a browse window's rows: which rows (all of the view, or the
selected ones), which columns, the file type (CSV, an Excel workbook, JSON Lines) with its
options, and the file's name.

The dialog only chooses: it checks what it can before it closes (the options, the file
name, the folder) and keeps what was typed when something is wrong; the browse window runs
the export. It never waits on the database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.query import ViewState
from app.services import catalog
from app.services.catalog import Catalog
from app.services.errors import ValidationError
from app.services.export import (
    DECIMAL_POINTS,
    DELIMITERS,
    LINE_ENDINGS,
    MAX_EMPTY_TEXT,
    CsvOptions,
    excel_options,
    local_time_zone,
    proposed_file_name,
)
from app.services.export_formats import ExportFormat, ExportOptions
from app.services.export_jsonl import JsonLinesOptions
from app.services.export_xlsx import XlsxOptions, data_rows_per_sheet
from ui.export_settings import ExportSettings
from ui.messages import finished, save_file_dialog

TITLE = "Export"
ENCODINGS = {False: "UTF-8", True: "UTF-8 with BOM"}  # by CsvOptions.bom
FORMULA_EXPLANATION = (
    "Text starting with = + - @, a tab, a line break or NUL is written with a leading "
    "apostrophe, so spreadsheets show it as text and never run it. Turn this off for "
    "programs that read the file."
)


@dataclass(frozen=True)
class ExportChoice:
    """What the user chose: only the selected rows or all of the view, all columns or the
    visible ones, the options (valid) and the file (in a folder that exists)."""

    selected: bool
    all_columns: bool
    options: CsvOptions
    path: Path
    format: ExportFormat = ExportFormat.CSV
    xlsx: XlsxOptions = field(default_factory=XlsxOptions)
    jsonl: JsonLinesOptions = field(default_factory=JsonLinesOptions)

    @property
    def export_options(self) -> ExportOptions:
        return ExportOptions(self.format, self.options, self.xlsx, self.jsonl)


class ExportDialog(QDialog):
    def __init__(
        self,
        view: ViewState,
        count_text: str,
        selected_rows: int,
        settings: ExportSettings,
        parent: QWidget | None = None,
        *,
        prefer_selected: bool = False,
        today: date | None = None,
        known: Catalog | None = None,
    ) -> None:
        """``known``: the catalog of the database the view is of (ours when not given)."""
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.setAccessibleName(TITLE)
        self.view = view
        self.settings = settings
        self.choice: ExportChoice | None = None
        # The question about replacing a file, while it is open (referenced: DESIGN.md,
        # Known traps).
        self.replace_box: QMessageBox | None = None
        # Browse…'s file dialog, while it is open (referenced, as the question above).
        self.file_dialog: QFileDialog | None = None
        self._folder = settings.folder()
        known = known or catalog.OURS
        entity = known.entity(view.entity)
        locale = QLocale()

        rows_box = QGroupBox("Rows", self)
        rows_box.setAccessibleName("Rows")
        self.all_rows_button = QRadioButton(rows_box)
        self.set_count_text(count_text)
        selected_label = f"Selected rows ({locale.toString(selected_rows)})"
        self.selected_rows_button = QRadioButton(selected_label, rows_box)
        self.selected_rows_button.setAccessibleName(selected_label)
        self.selected_rows_button.setEnabled(selected_rows > 0)
        rows_group = QButtonGroup(self)
        rows_group.addButton(self.all_rows_button)
        rows_group.addButton(self.selected_rows_button)
        if prefer_selected and selected_rows > 0:
            self.selected_rows_button.setChecked(True)
        else:
            self.all_rows_button.setChecked(True)
        rows_layout = QVBoxLayout(rows_box)
        rows_layout.addWidget(self.all_rows_button)
        rows_layout.addWidget(self.selected_rows_button)

        columns_box = QGroupBox("Columns", self)
        columns_box.setAccessibleName("Columns")
        self.visible_columns_button = self._radio(
            "Visible columns (in on-screen order)", columns_box
        )
        self.all_columns_button = self._radio("All columns", columns_box)
        self.visible_columns_button.setChecked(True)
        columns_group = QButtonGroup(self)
        columns_group.addButton(self.visible_columns_button)
        columns_group.addButton(self.all_columns_button)
        columns_layout = QVBoxLayout(columns_box)
        columns_layout.addWidget(self.visible_columns_button)
        columns_layout.addWidget(self.all_columns_button)
        hidden = [column.label for column in entity.columns if column.hidden_by_default]
        self.secrets_note: QLabel | None = None
        if hidden:
            # Not even "all" means a secret the window does not show (ExportRequest.columns).
            names = " and the ".join(label.lower() for label in hidden)
            self.secrets_note = QLabel(
                f"All columns leaves out the {names} unless the window shows it.", columns_box
            )
            self.secrets_note.setWordWrap(True)
            self.secrets_note.setIndent(20)
            columns_layout.addWidget(self.secrets_note)

        format_box = QGroupBox("Format", self)
        format_box.setAccessibleName("Format")
        format_layout = QVBoxLayout(format_box)
        form = QFormLayout()
        format_layout.addLayout(form)
        self.form = form
        self.type_box = self._combo(
            {kind: kind.label for kind in ExportFormat}, "File type", format_box
        )
        form.addRow("File type", self.type_box)
        self.delimiter_box = self._combo(DELIMITERS, "Delimiter", format_box)
        form.addRow("Delimiter", self.delimiter_box)
        self.header_box = QCheckBox("Header row", format_box)
        self.header_box.setAccessibleName("Header row")
        form.addRow("", self.header_box)
        self.encoding_box = self._combo(ENCODINGS, "Encoding", format_box)
        form.addRow("Encoding", self.encoding_box)
        self.line_endings_box = self._combo(LINE_ENDINGS, "Line endings", format_box)
        form.addRow("Line endings", self.line_endings_box)
        self.decimal_box = self._combo(DECIMAL_POINTS, "Decimal separator", format_box)
        form.addRow("Decimal separator", self.decimal_box)
        self.dates_box = self._combo(date_forms(local_time_zone()), "Date-times", format_box)
        form.addRow("Date-times", self.dates_box)
        self.empty_text_edit = QLineEdit(format_box)
        self.empty_text_edit.setAccessibleName("Text for empty values")
        self.empty_text_edit.setMaxLength(MAX_EMPTY_TEXT * 2)  # longer is refused in words
        self.empty_text_edit.setPlaceholderText("nothing")
        form.addRow("Text for empty values", self.empty_text_edit)
        self.formula_box = QCheckBox("Formula protection", format_box)
        self.formula_box.setAccessibleName("Formula protection")
        form.addRow("", self.formula_box)
        self.formula_note = QLabel(FORMULA_EXPLANATION, format_box)
        self.formula_note.setWordWrap(True)
        self.formula_note.setTextFormat(Qt.TextFormat.PlainText)
        # Below the form, not in it: a form gives a wrapped label the height of one line
        # (in its field column) or too few lines (as a row of its own) and cuts the rest.
        format_layout.addWidget(self.formula_note)
        self.excel_button = QPushButton("Excel preset", format_box)
        self.excel_button.setAccessibleName("Excel preset")
        self.excel_button.setToolTip(
            "A byte order mark, CR LF, a header row, the decimal and list separators of "
            "your locale, and date-times in local time: what Excel and LibreOffice Calc "
            "open by double-click and read as numbers and dates."
        )
        self.excel_button.clicked.connect(self.on_excel_button_clicked)
        format_layout.addWidget(self.excel_button, 0, Qt.AlignmentFlag.AlignRight)
        self.csv_rows: list[QWidget] = [
            self.delimiter_box,
            self.header_box,
            self.encoding_box,
            self.line_endings_box,
            self.decimal_box,
            self.dates_box,
            self.empty_text_edit,
            self.formula_box,
            self.formula_note,
            self.excel_button,
        ]
        zone = local_time_zone()
        self.xlsx_times_box = self._combo(
            {False: f"Local time ({zone})", True: "UTC"}, "Date-times in", format_box
        )
        form.addRow("Date-times in", self.xlsx_times_box)
        self.sheets_box = self._combo(
            {
                True: "Continue on further sheets",
                False: "Refuse the export",
            },
            "More rows than a sheet holds",
            format_box,
        )
        self.sheets_box.setToolTip(
            f"A sheet holds {QLocale().toString(data_rows_per_sheet())} rows below its header."
        )
        form.addRow("More rows than a sheet holds", self.sheets_box)
        self.xlsx_rows: list[QWidget] = [self.xlsx_times_box, self.sheets_box]
        self.money_box = self._combo(
            {False: 'Text, exact ("12.50")', True: "Numbers (12.50)"}, "Money as", format_box
        )
        form.addRow("Money as", self.money_box)
        self.jsonl_rows: list[QWidget] = [self.money_box]
        self.type_box.currentIndexChanged.connect(self.on_type_box_changed)

        file_row = QHBoxLayout()
        file_label = QLabel("File", self)
        self.file_edit = QLineEdit(self)
        self.file_edit.setAccessibleName("File")
        file_label.setBuddy(self.file_edit)
        self.file_edit.setText(
            str(self._folder / proposed_file_name(view, today or date.today(), known))
        )
        self.file_edit.setMinimumWidth(self.fontMetrics().averageCharWidth() * 56)
        self.browse_button = QPushButton("Browse…", self)
        self.browse_button.setAccessibleName("Browse…")
        self.browse_button.clicked.connect(self.on_browse_button_clicked)
        file_row.addWidget(file_label)
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(self.browse_button)

        self.problem_label = QLabel(self)
        self.problem_label.setAccessibleName("Problem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setTextFormat(Qt.TextFormat.PlainText)
        self.problem_label.setStyleSheet("font-weight: bold;")
        self.problem_label.hide()

        buttons = QDialogButtonBox(self)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setAccessibleName("Export")
        self.export_button.setDefault(True)
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName(cancel.text().replace("&", ""))
        # Not ``accepted``: Export checks first and closes the dialog only when all is well.
        self.export_button.clicked.connect(self.on_export_button_clicked)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(rows_box)
        layout.addWidget(columns_box)
        layout.addWidget(format_box)
        layout.addLayout(file_row)
        layout.addWidget(self.problem_label)
        layout.addWidget(buttons)

        self.show_options(settings.options())
        self.show_format(settings.export_options())

    # -- building ----------------------------------------------------------------------------

    def _radio(self, label: str, parent: QWidget) -> QRadioButton:
        button = QRadioButton(label, parent)
        button.setAccessibleName(label)
        return button

    def _combo(self, choices: Mapping[Any, str], label: str, parent: QWidget) -> QComboBox:
        box = QComboBox(parent)
        box.setAccessibleName(label)
        for value, text in choices.items():
            box.addItem(text, value)
        return box

    def set_count_text(self, count_text: str) -> None:
        """The rows of the view as the window counts them so far ("about 1,000")."""
        label = f"All {count_text} rows of this view" if count_text else "All rows of this view"
        self.all_rows_button.setText(label)
        self.all_rows_button.setAccessibleName(label)

    # -- options -----------------------------------------------------------------------------

    def show_options(self, options: CsvOptions) -> None:
        _choose(self.delimiter_box, options.delimiter)
        self.header_box.setChecked(options.header)
        _choose(self.encoding_box, options.bom)
        _choose(self.line_endings_box, options.line_ending)
        _choose(self.decimal_box, options.decimal_point)
        _choose(self.dates_box, options.time_zone)
        if self.empty_text_edit.text() != options.empty_text:
            self.empty_text_edit.setText(options.empty_text)
        self.formula_box.setChecked(options.formula_protection)

    def options(self) -> CsvOptions:
        """The options as the fields show them, not yet checked."""
        return CsvOptions(
            delimiter=str(self.delimiter_box.currentData()),
            header=self.header_box.isChecked(),
            bom=bool(self.encoding_box.currentData()),
            line_ending=str(self.line_endings_box.currentData()),
            empty_text=self.empty_text_edit.text(),
            formula_protection=self.formula_box.isChecked(),
            decimal_point=str(self.decimal_box.currentData()),
            time_zone=str(self.dates_box.currentData()),
        )

    def format(self) -> ExportFormat:
        return ExportFormat(self.type_box.currentData())

    def show_format(self, options: ExportOptions) -> None:
        _choose(self.type_box, options.format)
        _choose(self.xlsx_times_box, options.xlsx.utc)
        _choose(self.sheets_box, options.xlsx.split_sheets)
        _choose(self.money_box, options.jsonl.decimals_as_numbers)
        self._show_rows_of(options.format)

    def export_options(self) -> ExportOptions:
        """The file type and every type's options as the fields show them."""
        return ExportOptions(
            self.format(),
            self.options(),
            XlsxOptions(
                utc=bool(self.xlsx_times_box.currentData()),
                split_sheets=bool(self.sheets_box.currentData()),
            ),
            JsonLinesOptions(decimals_as_numbers=bool(self.money_box.currentData())),
        )

    def on_type_box_changed(self, _index: int) -> None:
        kind = self.format()
        self._show_rows_of(kind)
        # The file name follows the type when it still has one of ours.
        text = self.file_edit.text()
        path = Path(text)
        if path.suffix.lower() in {other.suffix for other in ExportFormat}:
            self.file_edit.setText(text[: -len(path.suffix)] + kind.suffix)

    def _show_rows_of(self, kind: ExportFormat) -> None:
        """Only the chosen type's options: a workbook has no delimiter, CSV no sheets."""
        for rows, shown in (
            (self.csv_rows, kind is ExportFormat.CSV),
            (self.xlsx_rows, kind is ExportFormat.XLSX),
            (self.jsonl_rows, kind is ExportFormat.JSONL),
        ):
            for widget in rows:
                if self.form.indexOf(widget) >= 0:
                    self.form.setRowVisible(widget, shown)
                else:
                    widget.setVisible(shown)

    def on_excel_button_clicked(self) -> None:
        preset = excel_options(QLocale().decimalPoint(), local_time_zone(), self.options())
        self.show_options(preset)

    # -- the file ----------------------------------------------------------------------------

    def path(self) -> Path:
        """The file the field names; a bare name is in the folder proposed, and a name
        without an extension gets ``.csv``. Raises ValidationError in words."""
        text = self.file_edit.text().strip()
        if not text:
            raise ValidationError("Choose a file name for the export.")
        path = Path(os.path.expanduser(text))  # an unknown ~user stays as typed
        if not path.is_absolute():
            path = self._folder / path
        if path.is_dir():
            raise ValidationError(f"{path} is a folder; choose a file name for the export.")
        if not path.suffix:
            path = path.with_name(path.name + self.format().suffix)
        if not path.parent.is_dir():
            raise ValidationError(f"The folder {path.parent} does not exist.")
        if not os.access(path.parent, os.W_OK):
            raise ValidationError(
                f"Records Desk may not write to {path.parent}; choose another folder."
            )
        return path

    def on_browse_button_clicked(self) -> None:
        current = self.file_edit.text().strip()
        start = Path(os.path.expanduser(current)) if current else self._folder
        if not start.is_absolute():
            start = self._folder / start
        # No overwrite question here: Export asks it, for a typed name as well. Opened,
        # not exec()'d: this dialog is itself awaited by a task (DESIGN.md, Known traps).
        dialog = save_file_dialog(
            self, TITLE, start, self.format().file_filter, confirm_overwrite=False
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.on_file_dialog_file_selected)
        dialog.finished.connect(self.on_file_dialog_finished)
        self.file_dialog = dialog
        dialog.open()

    def on_file_dialog_file_selected(self, name: str) -> None:
        self.file_edit.setText(name)
        self._folder = Path(name).parent
        self.show_problem("")

    def on_file_dialog_finished(self, _result: int) -> None:
        self.file_dialog = None

    # -- finishing ---------------------------------------------------------------------------

    def show_problem(self, text: str) -> None:
        self.problem_label.setText(text)
        self.problem_label.setVisible(bool(text))

    def on_export_button_clicked(self) -> None:
        try:
            chosen = self.export_options()
            choice = ExportChoice(
                selected=self.selected_rows_button.isChecked(),
                all_columns=self.all_columns_button.isChecked(),
                # Checked whatever the type: they are remembered for the next CSV.
                options=chosen.csv.validated(),
                path=self.path(),
                format=chosen.format,
                xlsx=chosen.xlsx,
                jsonl=chosen.jsonl,
            )
        except ValidationError as error:
            self.show_problem(str(error))  # the dialog stays, with everything as typed
            return
        self.show_problem("")
        if choice.path.exists():
            self._ask_to_replace(choice)
        else:
            self._finish(choice)

    def _ask_to_replace(self, choice: ExportChoice) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            TITLE,
            f"{choice.path.name} already exists in {choice.path.parent}. Replace it?",
            QMessageBox.StandardButton.NoButton,
            self,
        )
        box.setAccessibleName("Replace file")
        replace = box.addButton("Replace", QMessageBox.ButtonRole.AcceptRole)
        replace.setAccessibleName("Replace")
        keep = box.addButton(QMessageBox.StandardButton.Cancel)
        keep.setAccessibleName(keep.text().replace("&", ""))
        box.setDefaultButton(keep)

        def on_replace_box_finished(_result: int) -> None:
            self.replace_box = None
            if box.clickedButton() is replace:
                self._finish(choice)

        box.finished.connect(on_replace_box_finished)
        self.replace_box = box
        box.open()

    def _finish(self, choice: ExportChoice) -> None:
        # Remembered when chosen: the next export starts from here whatever this one meets.
        self.settings.set_options(choice.options)
        self.settings.set_export_options(choice.export_options)
        self.settings.set_folder(choice.path.parent)
        self.choice = choice
        self.accept()

    async def choose(self) -> ExportChoice | None:
        """Show the dialog (window-modal, without a nested event loop) until it closes:
        the choice, or None when cancelled."""
        result = await finished(self)
        return self.choice if result == QDialog.DialogCode.Accepted else None


def date_forms(local_zone: str) -> dict[str, str]:
    """The date-time forms by ``CsvOptions.time_zone``: exact for programs, or as
    spreadsheets read them in the zone named."""
    forms = {"": "Exact: ISO 8601 with UTC offset"}
    if local_zone != "UTC":
        forms[local_zone] = f"Spreadsheet: local time ({local_zone})"
    forms["UTC"] = "Spreadsheet: UTC"
    return forms


def _choose(box: QComboBox, value: object) -> None:
    index = box.findData(value)
    if index >= 0:
        box.setCurrentIndex(index)
