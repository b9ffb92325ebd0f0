"""A record on its own: every field, read-only, with its references and relations one click
away. Built from the row already in the table, so it opens without a query."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.catalog import ColumnInfo, ColumnKind, EntityInfo
from app.services.records import title_of
from ui.formatting import display_text


class RecordDetailDialog(QDialog):
    # (relation, this record's id, this record's title)
    relation_chosen = Signal(object, int, str)
    # (reference column, the referenced id)
    reference_chosen = Signal(object, int)

    def __init__(
        self, entity: EntityInfo, values: tuple[Any, ...], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.entity = entity
        record_id = int(values[entity.column_names.index("id")])
        title = title_of(entity, entity.column_names, values)
        deleted = values[entity.column_names.index("deleted_at")] is not None
        self.setWindowTitle(f"{entity.singular} {title}" + (" (in the trash)" if deleted else ""))
        self.setAccessibleName(f"{entity.singular} details")
        self.fields: dict[str, QWidget] = {}

        form = QFormLayout()
        for column, value in zip(entity.columns, values, strict=True):
            form.addRow(column.label, self._field(column, value))

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        if entity.relations:
            related = QHBoxLayout()
            for relation in entity.relations:
                button = QPushButton(relation.label, self)
                button.setAccessibleName(relation.label)
                button.clicked.connect(
                    lambda _=False, r=relation: self._choose_relation(r, record_id, title)
                )
                related.addWidget(button)
            related.addStretch(1)
            layout.addLayout(related)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _field(self, column: ColumnInfo, value: Any) -> QWidget:
        text = display_text(column, value) if not isinstance(value, str) else value
        widget: QWidget
        if (
            column.kind is ColumnKind.TEXT
            and isinstance(value, str)
            and ("\n" in value or len(value) > 80)
        ):
            editor = QPlainTextEdit(value, self)
            editor.setReadOnly(True)
            editor.setMaximumHeight(120)
            widget = editor
        else:
            line = QLineEdit(text, self)
            line.setReadOnly(True)
            widget = line
        widget.setAccessibleName(column.label)
        self.fields[column.name] = widget
        if column.kind is not ColumnKind.REFERENCE or value is None:
            return widget
        row = QWidget(self)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(widget, 1)
        button = QPushButton(f"Open {column.label.lower()}", row)
        button.setAccessibleName(f"Open {column.label.lower()}")
        button.clicked.connect(lambda _=False: self._choose_reference(column, int(value)))
        layout.addWidget(button)
        return row

    def _choose_relation(self, relation: object, record_id: int, title: str) -> None:
        self.relation_chosen.emit(relation, record_id, title)
        self.accept()

    def _choose_reference(self, column: ColumnInfo, record_id: int) -> None:
        self.reference_chosen.emit(column, record_id)
        self.accept()
