"""A record on its own: every field, read-only, with its references and relations one click
away. It opens at once from the row in the table — which may hold only previews of long
text — and then loads the full record and fills the fields, long text a slice at a time."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.catalog import ColumnInfo, ColumnKind, EntityInfo
from app.services.errors import RecordsDeskError
from app.services.records import RecordService, title_of
from ui.column_looks import display_text
from ui.preferences import display_preferences
from ui.tasks import spawn
from ui.widgets.long_text import LongTextView

# Text longer than this, or with line breaks, gets a multi-line view rather than one line.
LONG_TEXT_CHARS = 80
# A window title holds the record's title only this far: a 200,000-character name must not
# become a 200,000-character title bar.
TITLE_CHARS = 100


class RecordDetailDialog(QDialog):
    # (relation, this record's id, this record's title)
    relation_chosen = Signal(object, int, str)
    # (reference column, the referenced id)
    reference_chosen = Signal(object, int)
    # Every field shows the record's full value.
    loaded = Signal()
    # The full record could not be loaded; the fields keep the row's values. (the message)
    load_failed = Signal(str)
    # Edit… was chosen: the record's id (the window opens its form).
    edit_requested = Signal(object)

    def __init__(
        self,
        entity: EntityInfo,
        values: tuple[Any, ...],
        records: RecordService,
        parent: QWidget | None = None,
        *,
        read_only_reason: str = "",
    ) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # it may hold megabytes
        self.entity = entity
        self.records = records
        # The row's key: one value, several for a composite key, None without a key.
        keys = [values[entity.column_names.index(name)] for name in entity.key]
        self.record_id: Any = (keys[0] if len(keys) == 1 else tuple(keys)) if keys else None
        self._values = dict(zip(entity.column_names, values, strict=True))
        self.setAccessibleName(f"{entity.singular} details")
        self.title = self._show_title()
        # Each field's widget, replaced when its value needs the other kind.
        self.fields: dict[str, QLineEdit | LongTextView] = {}
        self._slots: dict[str, QHBoxLayout] = {}
        self._open_buttons: dict[str, QPushButton] = {}

        self.form = QFormLayout()
        for column in entity.columns:
            self.form.addRow(column.label, self._slot(column))
            self.form.setRowVisible(self.form.rowCount() - 1, not column.hidden_by_default)

        layout = QVBoxLayout(self)
        layout.addLayout(self.form, 1)
        self.show_hidden_box: QCheckBox | None = None
        if any(column.hidden_by_default for column in entity.columns):
            self.show_hidden_box = QCheckBox("Show hidden fields", self)
            self.show_hidden_box.setAccessibleName("Show hidden fields")
            self.show_hidden_box.toggled.connect(self.on_show_hidden_box_toggled)
            layout.addWidget(self.show_hidden_box)
        if entity.relations:
            related = QHBoxLayout()
            for relation in entity.relations:
                button = QPushButton(relation.label, self)
                button.setAccessibleName(relation.label)
                button.clicked.connect(lambda _=False, r=relation: self._choose_relation(r))
                related.addWidget(button)
            related.addStretch(1)
            layout.addLayout(related)
        self.status_label = QLabel("Loading the full record…", self)
        self.status_label.setAccessibleName("Status")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName(close.text().replace("&", ""))
        self.edit_button = buttons.addButton("Edit…", QDialogButtonBox.ButtonRole.ActionRole)
        self.edit_button.setAccessibleName("Edit…")
        self.edit_button.setShortcut(QKeySequence(Qt.Key.Key_F2))
        reason = entity.read_only_reason or read_only_reason
        self.edit_button.setToolTip(reason or "Edit this record (F2)")
        self.edit_button.setEnabled(not reason)
        self.edit_button.clicked.connect(self.on_edit_button_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._show_values(initial=True)

        display_preferences().changed.connect(self.on_display_preferences_changed)
        self.finished.connect(self.on_dialog_finished)
        self.load_task = spawn(self._load(), name=f"record {entity.name} {self.record_id}")

    # -- loading -----------------------------------------------------------------------------

    async def _load(self) -> None:
        if self.record_id is None:
            # A view's row cannot be read again: what the page holds is what there is.
            self.status_label.hide()
            return
        try:
            record = await self.records.get(self.entity.name, self.record_id)
        except RecordsDeskError as error:
            self._fail(f"Could not load the full record: {error}")
            return
        except Exception:
            self._fail("Could not load the full record; the details are in the log.")
            raise  # our bug: the app's exception hook logs and reports it
        self._values = {name: record.get(name) for name in self.entity.column_names}
        self.title = self._show_title()
        self._show_values()
        for column in self.entity.columns:
            widget = self.fields[column.name]
            if isinstance(widget, LongTextView):
                await widget.show_text(self._values[column.name])
        self.status_label.hide()
        self.loaded.emit()

    def _fail(self, message: str) -> None:
        self.status_label.setText(message)
        self.load_failed.emit(message)

    def on_edit_button_clicked(self) -> None:
        self.edit_requested.emit(self.record_id)
        self.accept()

    def on_dialog_finished(self, _result: int) -> None:
        # The rest of a long value is not worth laying out for a closed dialog.
        self.load_task.cancel()

    # -- fields ------------------------------------------------------------------------------

    def _slot(self, column: ColumnInfo) -> QWidget:
        """The row's field: the value's widget, and for a reference its Open button."""
        row = QWidget(self)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        self._slots[column.name] = layout
        if column.kind is ColumnKind.REFERENCE:
            label = f"Open {column.label.lower()}"
            button = QPushButton(label, row)
            button.setAccessibleName(label)
            button.clicked.connect(lambda _=False: self._choose_reference(column))
            layout.addWidget(button)
            self._open_buttons[column.name] = button
        return row

    def _show_values(self, *, initial: bool = False) -> None:
        """Every field from ``_values``, in a widget of the kind its value needs. Long text
        is left to the load (``show_text``), except at first: a preview of its beginning."""
        for column in self.entity.columns:
            value = self._values[column.name]
            widget = self._widget_for(column)
            if isinstance(widget, LongTextView):
                if initial:
                    widget.show_beginning(value)
            else:
                widget.setText(value if isinstance(value, str) else display_text(column, value))
                widget.setCursorPosition(0)
            button = self._open_buttons.get(column.name)
            if button is not None:
                button.setEnabled(value is not None)

    def _widget_for(self, column: ColumnInfo) -> QLineEdit | LongTextView:
        """The field's widget of the kind its value needs, made or swapped as needed."""
        value = self._values[column.name]
        long = (
            column.kind is ColumnKind.TEXT
            and isinstance(value, str)
            and ("\n" in value or len(value) > LONG_TEXT_CHARS)
        )
        current = self.fields.get(column.name)
        if current is not None and isinstance(current, LongTextView) == long:
            return current
        widget: QLineEdit | LongTextView
        if long:
            widget = LongTextView(self)
            widget.setMinimumWidth(widget.fontMetrics().averageCharWidth() * LONG_TEXT_CHARS)
        else:
            widget = QLineEdit(self)
        widget.setReadOnly(True)
        widget.setAccessibleName(column.label)
        slot = self._slots[column.name]
        if current is None:
            slot.insertWidget(0, widget, 1)
        else:
            slot.replaceWidget(current, widget)
            current.deleteLater()
        self.fields[column.name] = widget
        return widget

    def _show_title(self) -> str:
        entity = self.entity
        values = tuple(self._values[name] for name in entity.column_names)
        title = title_of(entity, entity.column_names, values)
        if len(title) > TITLE_CHARS:
            title = title[: TITLE_CHARS - 1] + "…"
        deleted = entity.soft_delete is not None and self._values[entity.soft_delete] is not None
        self.setWindowTitle(f"{entity.singular} {title}" + (" (in the trash)" if deleted else ""))
        return title

    def on_show_hidden_box_toggled(self, checked: bool) -> None:
        for row, column in enumerate(self.entity.columns):
            if column.hidden_by_default:
                self.form.setRowVisible(row, checked)

    def on_display_preferences_changed(self) -> None:
        self._show_values()

    # -- leaving -----------------------------------------------------------------------------

    def _choose_relation(self, relation: object) -> None:
        self.relation_chosen.emit(relation, self.record_id, self.title)
        self.accept()

    def _choose_reference(self, column: ColumnInfo) -> None:
        value = self._values[column.name]
        if value is not None:
            self.reference_chosen.emit(column, value)
            self.accept()
