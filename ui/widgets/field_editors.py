"""One editor per kind of column, made from the catalog: what the record form lays out.

Each editor shows a value, says when the user changed it, and gives back what it holds in
the column's terms — or an ``Invalid`` with the reason, in words, for text that is not a
number or an id yet (the form shows it beside the field and saves nothing). Rules about
the value itself (lengths, ranges, formats) are the service's: one place decides them.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import shiboken6
from PySide6.QtCore import QDateTime, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.query import INTEGER, MAX_DIGITS
from app.services.catalog import ColumnInfo, ColumnKind
from app.services.errors import RecordsDeskError
from app.services.records import RecordService
from ui.formatting import count_text
from ui.tasks import spawn
from ui.widgets.filter_values import (
    InvalidNumberError,
    editable_number,
    format_integer,
    parse_integer,
    parse_money,
)

# Text longer than this is not put in an editor: Qt lays a paragraph out whole, and one
# of 5 MB held the window for 1.5 s (100,000 characters: ~20 ms, measured offscreen). The
# form keeps such a value as it is; the record view shows it whole.
EDITABLE_CHARS = 100_000
# How long typing in a record picker rests before it looks the text up.
LOOKUP_DEBOUNCE_MS = 250
_TYPED_ID = re.compile(r"^\s*#?\s*(\d+)\b")


@dataclass(frozen=True)
class Invalid:
    """What an editor holds is not a value of its column yet; ``reason`` says why."""

    reason: str


class FieldEditor(QObject):
    """A column's editor: ``widget`` goes in the form; ``changed`` fires on every edit."""

    changed = Signal()

    def __init__(self, column: ColumnInfo, widget: QWidget) -> None:
        super().__init__(widget)
        self.column = column
        self.widget = widget
        # The value is too long to edit here and is left as it is (see EDITABLE_CHARS).
        self.kept_as_is = False
        self.name(column.label)

    def name(self, name: str) -> None:
        """What screen readers call the field (a picker names its text box too)."""
        self.widget.setAccessibleName(name)

    def label(self, *, required: bool) -> QLabel:
        """The label a form shows beside this editor, its buddy: Qt gives a screen reader
        the labelled-by relation that names a combo box on Linux only through a buddy
        (DESIGN.md, Known traps). Qt widgets have no "required" state, so a required
        field says so in its name and its label's, as the asterisk shows it."""
        spoken = spoken_label(self.column.label, required=required)
        label = QLabel(f"{self.column.label} *" if required else self.column.label)
        label.setAccessibleName(spoken)
        label.setBuddy(self.widget)
        self.name(spoken)
        return label

    def keep_as_is(self, length: int) -> None:
        """Leave a value of ``length`` characters alone: the editor says so, saves never
        touch it."""
        self.kept_as_is = True
        self.widget.setEnabled(False)
        self.widget.setToolTip(
            f"{count_text(length)} characters: too long to edit here, and kept as it is. "
            "Open the record to read it whole."
        )

    # The interface every kind of editor below fills in (as filter_editors' base does);
    # editor_for never hands out a bare FieldEditor.
    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def typed(self) -> Any:
        """What the field holds as ``set_value`` takes it back: its value, or the text
        typed where that is not a value yet (a session journal keeps it so)."""
        return self.value()


class LineEditor(FieldEditor):
    """One line of text; for numbers and money, the text as the user types it back."""

    def __init__(self, column: ColumnInfo, parent: QWidget | None = None) -> None:
        self.line = QLineEdit(parent)
        super().__init__(column, self.line)
        if column.text_format == "email":
            self.line.setPlaceholderText("name@example.org")
        elif column.text_format == "url":
            self.line.setPlaceholderText("https://")
        self.line.textEdited.connect(self.changed)

    def value(self) -> Any:
        text = self.line.text()
        locale = self.line.locale()
        if self.column.nullable and not text.strip():
            return None
        try:
            if self.column.kind is ColumnKind.MONEY:
                return parse_money(text, locale)
            if self.column.kind is ColumnKind.INTEGER:
                return parse_integer(text, locale, self.column.bounds)
        except InvalidNumberError as error:
            return Invalid(str(error))
        # Any other kind (a date, a UUID, JSON…) is given as typed: the service reads it
        # by the column's kind and says at the field what is wrong.
        return text

    def typed(self) -> Any:
        return self.line.text()

    def set_value(self, value: Any) -> None:
        if isinstance(value, str) and len(value) > EDITABLE_CHARS:
            self.line.setText("")
            self.line.setPlaceholderText(f"{count_text(len(value))} characters, kept as they are")
            self.keep_as_is(len(value))
        elif value is None:
            self.line.setText("")
        elif self.column.kind in (ColumnKind.MONEY, ColumnKind.INTEGER) and isinstance(
            value, int | Decimal
        ):
            self.line.setText(editable_number(value, self.column.kind, self.line.locale()))
        elif self.column.kind is ColumnKind.JSON and not isinstance(value, str):
            self.line.setText(json.dumps(value, ensure_ascii=False))
        else:
            # Another program's value as stored (text in an INTEGER column of SQLite too).
            self.line.setText(str(value))
        self.line.setCursorPosition(0)


class ParagraphEditor(FieldEditor):
    def __init__(self, column: ColumnInfo, parent: QWidget | None = None) -> None:
        self.text = QPlainTextEdit(parent)
        super().__init__(column, self.text)
        self.text.setTabChangesFocus(True)
        self.text.setMinimumHeight(self.text.fontMetrics().height() * 5)
        self.text.textChanged.connect(self.changed)

    def value(self) -> Any:
        text = self.text.toPlainText()
        return None if self.column.nullable and not text else text

    def typed(self) -> Any:
        return self.text.toPlainText()

    def set_value(self, value: Any) -> None:
        self.text.blockSignals(True)  # a value shown is not an edit
        if isinstance(value, str) and len(value) > EDITABLE_CHARS:
            self.text.setPlainText("")
            self.text.setPlaceholderText(f"{count_text(len(value))} characters, kept as they are")
            self.keep_as_is(len(value))
        else:
            self.text.setPlainText("" if value is None else str(value))
        self.text.blockSignals(False)


class CheckEditor(FieldEditor):
    def __init__(self, column: ColumnInfo, parent: QWidget | None = None) -> None:
        self.box = QCheckBox(parent)
        super().__init__(column, self.box)
        self.box.clicked.connect(self.changed)

    def value(self) -> Any:
        return self.box.isChecked()

    def set_value(self, value: Any) -> None:
        self.box.setChecked(bool(value))


class ChoiceEditor(FieldEditor):
    def __init__(self, column: ColumnInfo, parent: QWidget | None = None) -> None:
        self.combo = QComboBox(parent)
        super().__init__(column, self.combo)
        if column.nullable:
            self.combo.addItem("", None)
        for choice in column.choices:
            self.combo.addItem(choice.capitalize(), choice)
        self.combo.activated.connect(self.changed)

    def value(self) -> Any:
        return self.combo.currentData()

    def set_value(self, value: Any) -> None:
        found = self.combo.findData(getattr(value, "value", value))
        self.combo.setCurrentIndex(max(found, 0))


class MomentEditor(FieldEditor):
    """A date and time in the user's time zone, kept in UTC."""

    def __init__(self, column: ColumnInfo, parent: QWidget | None = None) -> None:
        self.edit = QDateTimeEdit(parent)
        super().__init__(column, self.edit)
        self.edit.setCalendarPopup(True)
        self.edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        self.edit.setDateTime(QDateTime.currentDateTime())
        self.edit.dateTimeChanged.connect(self.changed)

    def value(self) -> Any:
        seconds = self.edit.dateTime().toSecsSinceEpoch()
        return datetime.fromtimestamp(seconds, UTC)

    def set_value(self, value: Any) -> None:
        self.edit.blockSignals(True)
        if isinstance(value, datetime):
            self.edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(value.timestamp())))
        self.edit.blockSignals(False)


class RecordPicker(FieldEditor):
    """A related record, found by typing part of its name or its id: the list below the
    field fills from the database as the user types (in the background, the latest text
    only), and "#12" or "12" picks record 12 directly."""

    # The lookup for the latest text has filled the list.
    looked_up = Signal()

    def __init__(
        self, column: ColumnInfo, records: RecordService, parent: QWidget | None = None
    ) -> None:
        self.combo = QComboBox(parent)
        super().__init__(column, self.combo)
        assert column.references is not None
        self.records = records
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        line = self.combo.lineEdit()
        assert line is not None
        # A key of whole numbers is typed as #12; any other key as it is.
        self.numbered = column.bounds is not None
        line.setPlaceholderText("Type a name or #id" if self.numbered else "Type a name or the key")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(LOOKUP_DEBOUNCE_MS)
        self._timer.timeout.connect(self.look_up)
        line.textEdited.connect(self._on_text_edited)
        self.combo.activated.connect(self.changed)
        self._task: asyncio.Task[None] | None = None
        self._title_task: asyncio.Task[None] | None = None
        # A lookup answering after its form closed would fill a deleted combo box (an error
        # report), and its answer has no reader any more: stop both with the widget. This
        # editor is the combo's child, deleted with it, so the listener is a plain object.
        self._work = _PickerWork()
        self.combo.destroyed.connect(self._work.cancel)

    def name(self, name: str) -> None:
        super().name(name)
        line = self.combo.lineEdit()
        if line is not None:  # None only before __init__ makes the combo editable
            line.setAccessibleName(name)

    def _on_text_edited(self, _text: str) -> None:
        self.changed.emit()
        self._timer.start()

    def look_up(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = self._work.start(self._look_up(self.combo.currentText()), "record picker")

    async def _look_up(self, text: str) -> None:
        assert self.column.references is not None
        query = "" if self.numbered and _TYPED_ID.match(text) else text
        try:
            found = await self.records.lookup(self.column.references, query)
        except RecordsDeskError:
            return  # the field keeps what was typed; saving says what is wrong
        if not shiboken6.isValid(self.combo):
            return
        typed = self.combo.currentText()
        self.combo.blockSignals(True)
        self.combo.clear()
        for record_id, title in found:
            self.combo.addItem(title, record_id)
        self.combo.setEditText(typed)
        self.combo.blockSignals(False)
        self.looked_up.emit()

    def value(self) -> Any:
        text = self.combo.currentText().strip()
        if not text:
            return None
        index = self.combo.findText(text)
        if index >= 0:
            return self.combo.itemData(index)
        if not self.numbered:
            return text  # the key itself (the service says if no row has it)
        match = _TYPED_ID.match(text)
        if match is None:
            return Invalid("Choose a record from the list, or type its number (#12).")
        return self._typed_id(match.group(1))

    def typed(self) -> Any:
        value = self.value()
        return self.combo.currentText() if isinstance(value, Invalid) else value

    def _typed_id(self, digits: str) -> int | Invalid:
        """The id typed, or why no record can have it: beyond what the column holds, the
        server would refuse the query itself (PostgreSQL), and SQLite would find nothing."""
        written = ""
        number: int
        if len(digits.lstrip("0")) > MAX_DIGITS:  # too long to read, or to show whole
            number, written = 10**MAX_DIGITS, digits
        else:
            number = int(digits)
        locale = self.combo.locale()
        refusal = (self.column.bounds or INTEGER).refusal(
            number, lambda value: format_integer(value, locale), written
        )
        if refusal is not None:
            assert self.column.references is not None
            singular = self.records.catalog.entity(self.column.references).singular.lower()
            return Invalid(f"#{refusal}: no {singular} has that number.")
        return number

    def set_value(self, value: Any) -> None:
        if value is None:
            self.combo.setEditText("")
            return
        shown = _key_text(value)
        self.combo.setEditText(shown)
        if self.numbered and not isinstance(value, int):
            return  # text typed, not a key yet (a restored form's): nothing to look up
        self._title_task = self._work.start(self._show_title(value, shown), "record picker title")

    async def _show_title(self, record_id: Any, shown: str) -> None:
        assert self.column.references is not None
        try:
            found = await self.records.lookup_ids(self.column.references, [record_id])
        except RecordsDeskError:
            return
        title = found.get(record_id)
        if not shiboken6.isValid(self.combo):
            return
        if title is not None and self.combo.currentText() == shown:
            self.combo.blockSignals(True)
            self.combo.clear()
            self.combo.addItem(title, record_id)
            self.combo.setCurrentIndex(0)
            self.combo.blockSignals(False)


class _PickerWork:
    """A picker's background tasks, kept referenced until they end, and cancelled together
    when the picker's widget is deleted (see RecordPicker.__init__)."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()

    def start(self, coroutine: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = spawn(coroutine, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def cancel(self, *_: object) -> None:
        for task in list(self.tasks):
            task.cancel()


def _key_text(value: Any) -> str:
    """How a picker shows the key it holds: ``#12`` for a number, text as it is."""
    return f"#{value}" if isinstance(value, int) else str(value)


def spoken_label(label: str, *, required: bool) -> str:
    """A field's label as a screen reader says it: "Email, required" for "Email *"."""
    return f"{label}, required" if required else label


def add_field_row(form: QFormLayout, label: QLabel, widget: QWidget, name: str) -> QLabel:
    """Put ``widget`` (the field ``name``) in ``form`` beside ``label``, with a line under
    it for what is wrong with its value (hidden until there is something to say); returns
    that line.

    The row is a layout, not a widget holding the field: Qt finds a widget's labelled-by
    relation only among its siblings, so the label and the field must share a parent."""
    box = QVBoxLayout()
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(2)
    box.addWidget(widget)
    problem = QLabel()
    problem.setAccessibleName(f"{name} problem")
    problem.setWordWrap(True)
    problem.setTextFormat(Qt.TextFormat.PlainText)
    problem.setStyleSheet("color: #c62828;")  # reads on light and dark palettes alike
    problem.hide()
    box.addWidget(problem)
    form.addRow(label, box)
    return problem


def with_problem_label(label: str, widget: QWidget) -> tuple[QWidget, QLabel]:
    """``widget`` with a line under it for what is wrong with its value (hidden until
    there is something to say): what a form puts in its row for the field."""
    holder = QWidget(widget.parentWidget())
    box = QVBoxLayout(holder)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(2)
    box.addWidget(widget)
    problem = QLabel(holder)
    problem.setAccessibleName(f"{label} problem")
    problem.setWordWrap(True)
    problem.setTextFormat(Qt.TextFormat.PlainText)
    problem.setStyleSheet("color: #c62828;")  # reads on light and dark palettes alike
    problem.hide()
    box.addWidget(problem)
    return holder, problem


def editor_for(
    column: ColumnInfo, records: RecordService, parent: QWidget | None = None
) -> FieldEditor:
    if column.kind is ColumnKind.REFERENCE:
        return RecordPicker(column, records, parent)
    if column.kind is ColumnKind.BOOLEAN:
        return CheckEditor(column, parent)
    if column.kind is ColumnKind.CHOICE:
        return ChoiceEditor(column, parent)
    if column.kind is ColumnKind.DATETIME:
        return MomentEditor(column, parent)
    if column.kind is ColumnKind.TEXT and column.multiline:
        return ParagraphEditor(column, parent)
    return LineEditor(column, parent)
