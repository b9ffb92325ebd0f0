"""Set one field of every selected row to one value: a field chosen from the table's
editable columns, its value typed in the editor of its kind. The value is checked before
the dialog closes (what is wrong is said beside it, and what was typed stays); the rows
then change in one transaction, with progress and Cancel (ui/record_editing.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.services.catalog import EntityInfo
from app.services.errors import FieldValuesError, RecordsDeskError
from app.services.records import RecordService
from ui.widgets.field_editors import FieldEditor, Invalid, editor_for


class BulkEditDialog(QDialog):
    """Which field of the ``count`` selected rows of ``entity`` becomes which value."""

    def __init__(
        self,
        entity: EntityInfo,
        count: int,
        records: RecordService,
        check: Callable[[dict[str, Any]], dict[str, Any]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.entity = entity
        self.records = records
        # The service's check of the values: raises FieldValuesError, reads nothing.
        self.check = check
        self.setWindowTitle("Set a field of the selected rows")
        self.setAccessibleName(self.windowTitle())
        self.field_box = QComboBox(self)
        self.field_box.setAccessibleName("Field")
        for column in entity.columns:
            if column.editable and not column.fixed:
                self.field_box.addItem(column.label, column.name)
        self.field_box.currentIndexChanged.connect(self._show_editor)
        self.form = QFormLayout()
        field_label = QLabel("&Field", self)
        field_label.setBuddy(self.field_box)
        self.form.addRow(field_label, self.field_box)
        self.value_label = QLabel("&Value", self)
        self.editor: FieldEditor | None = None
        self.problem = QLabel(self)
        self.problem.setAccessibleName("Problem")
        self.problem.setWordWrap(True)
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.problem.setStyleSheet("color: #c62828;")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(f"Set in {count:,} {'row' if count == 1 else 'rows'}")
        ok.setAccessibleName(ok.text())
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.values: dict[str, Any] = {}
        self._show_editor()

    def _show_editor(self, *_: object) -> None:
        if self.editor is not None:
            self.form.removeRow(1)  # the editor with its label, deleted
        name = self.field_box.currentData()
        self.problem.clear()
        if name is None:
            self.editor = None
            return
        self.value_label = QLabel("&Value", self)
        self.editor = editor_for(self.entity.column(name), self.records, self)
        self.value_label.setBuddy(self.editor.widget)
        self.editor.name(f"Value of {self.entity.column(name).label}")
        self.form.addRow(self.value_label, self.editor.widget)

    def accept(self) -> None:
        """Close only with a value the column takes; else say why beside it."""
        if self.editor is None:
            self.problem.setText("This table has no field that can be set here.")
            return
        name = self.field_box.currentData()
        value = self.editor.value()
        if isinstance(value, Invalid):
            self.problem.setText(value.reason)
            return
        try:
            self.check({name: value})
        except FieldValuesError as error:
            self.problem.setText(error.errors.get(name, str(error)))
            return
        except RecordsDeskError as error:
            self.problem.setText(str(error))
            return
        self.values = {name: value}
        super().accept()
