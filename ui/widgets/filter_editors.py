"""The small editors that make one column's filter, one per kind of column.

``FilterEditorDialog`` wraps the editor for a column in a non-blocking dialog (opened with
``open()``: a nested ``exec()`` would run a second event loop under qasync). Its ``outcome``
is the filter the user chose, or ``None`` for "no filter on this column".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QDate, QLocale, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QCheckBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.query import Equals, Filter, IsEmpty, OneOf, Range
from app.services.catalog import ColumnInfo, ColumnKind
from app.services.errors import RecordsDeskError
from ui.column_looks import FilterEditor, look_of
from ui.tasks import spawn
from ui.widgets import filter_values
from ui.widgets.filter_values import (
    PERIODS,
    InvalidNumberError,
    ValueLabels,
    days_range,
    editable_number,
    matching_period,
    parse_integer,
    parse_money,
    parse_number,
    reference_text,
    whole_days,
)

log = logging.getLogger(__name__)

# lookup(entity name, search text) -> [(id, title)], e.g. RecordService.lookup.
Lookup = Callable[[str, str], Awaitable[list[tuple[int, str]]]]

# Long enough that typing a name costs one query, short enough to feel live.
SEARCH_DELAY_MS = 250
# A choice list taller than this scrolls rather than growing the popup off the screen.
MAX_VISIBLE_CHOICES = 10
ERROR_STYLE = "color: #c62828;"


@dataclass(frozen=True)
class Outcome:
    """What the user chose: a filter, or None for no filter on the column; ``labels`` names
    values for the chip (a picked record's title)."""

    filter: Filter | None
    labels: Mapping[tuple[str, object], str] = field(default_factory=dict)


class InvalidEntryError(Exception):
    """What the user entered cannot make a filter; ``str()`` says why, ``widget`` where."""

    def __init__(self, message: str, widget: QWidget) -> None:
        super().__init__(message)
        self.widget = widget


def _radio(text: str, parent: QWidget) -> QRadioButton:
    button = QRadioButton(text, parent)
    button.setAccessibleName(text)
    return button


def _label(text: str, parent: QWidget, buddy: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    if buddy is not None:
        label.setBuddy(buddy)
    return label


def _error_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.setAccessibleName("Error")
    label.hide()
    return label


class ValueEditor(QWidget):
    """The part of the dialog that depends on the column's kind."""

    submitted = Signal()  # the user chose in a way that means "apply" (a double-click)

    def __init__(self, column: ColumnInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.column = column
        self.user_locale = QLocale()

    def load(self, current: Filter, labels: ValueLabels) -> bool:
        """Show ``current``; False when this editor cannot show that kind of filter."""
        raise NotImplementedError

    def outcome(self) -> Outcome:
        """The filter the user chose; raises InvalidEntryError for what cannot be one."""
        raise NotImplementedError

    def focus_widget(self) -> QWidget:
        return self

    def stop(self) -> None:
        """The dialog is closing: pending work must not touch the widgets any more."""


class PeriodEditor(ValueEditor):
    """DATETIME: named periods, or a custom range of whole days (either end open)."""

    def __init__(self, column: ColumnInfo, parent: QWidget | None = None) -> None:
        super().__init__(column, parent)
        self.period_group = QButtonGroup(self)
        self.period_buttons: dict[str, QRadioButton] = {}
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        half = (len(PERIODS) + 1) // 2
        for index, period in enumerate(PERIODS):
            button = _radio(period.name, self)
            self.period_buttons[period.name] = button
            self.period_group.addButton(button)
            grid.addWidget(button, index % half, index // half)
        self.custom_button = _radio("Custom range", self)
        self.period_group.addButton(self.custom_button)
        grid.addWidget(self.custom_button, half, 0, 1, 2)

        today = QDate.currentDate()
        self.from_check = QCheckBox("From", self)
        self.from_check.setAccessibleName("From")
        self.from_edit = self._date_edit("From date", today)
        self.to_check = QCheckBox("To", self)
        self.to_check.setAccessibleName("To")
        self.to_edit = self._date_edit("To date", today)
        dates = QGridLayout()
        dates.setContentsMargins(20, 0, 0, 0)
        dates.addWidget(self.from_check, 0, 0)
        dates.addWidget(self.from_edit, 0, 1)
        dates.addWidget(self.to_check, 1, 0)
        dates.addWidget(self.to_edit, 1, 1)
        dates.setColumnStretch(1, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        layout.addLayout(dates)

        self._filling = False
        self.period_group.buttonToggled.connect(self.on_period_group_button_toggled)
        self.from_edit.dateChanged.connect(self.on_from_edit_date_changed)
        self.to_edit.dateChanged.connect(self.on_to_edit_date_changed)
        self.from_check.toggled.connect(self.on_from_check_toggled)
        self.to_check.toggled.connect(self.on_to_check_toggled)

    def _date_edit(self, name: str, day: QDate) -> QDateEdit:
        edit = QDateEdit(day, self)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat(filter_values.date_format(self.user_locale))
        edit.setAccessibleName(name)
        return edit

    def on_period_group_button_toggled(self, button: QAbstractButton, checked: bool) -> None:
        if not checked or button is self.custom_button:
            return
        # Show which days a named period covers, in the same pickers a custom range uses.
        period = next(p for p in PERIODS if self.period_buttons[p.name] is button)
        first, end = period.days(filter_values.today())
        self._show_days(first, end - filter_values.DAY)

    def _show_days(self, first: date | None, last: date | None) -> None:
        self._filling = True
        try:
            self.from_check.setChecked(first is not None)
            self.to_check.setChecked(last is not None)
            if first is not None:
                self.from_edit.setDate(QDate(first.year, first.month, first.day))
            if last is not None:
                self.to_edit.setDate(QDate(last.year, last.month, last.day))
        finally:
            self._filling = False

    def _to_custom(self) -> None:
        if not self._filling:
            self.custom_button.setChecked(True)

    def on_from_edit_date_changed(self, _day: QDate) -> None:
        if not self._filling:
            self.from_check.setChecked(True)
        self._to_custom()

    def on_to_edit_date_changed(self, _day: QDate) -> None:
        if not self._filling:
            self.to_check.setChecked(True)
        self._to_custom()

    def on_from_check_toggled(self, _checked: bool) -> None:
        self._to_custom()

    def on_to_check_toggled(self, _checked: bool) -> None:
        self._to_custom()

    def load(self, current: Filter, labels: ValueLabels) -> bool:
        if not isinstance(current, Range):
            return False
        period = matching_period(current, filter_values.today())
        if period is not None:
            self.period_buttons[period.name].setChecked(True)
            return True
        days = whole_days(current)
        if days is None:
            return False
        self._show_days(*days)
        self.custom_button.setChecked(True)
        return True

    def outcome(self) -> Outcome:
        name = self.column.name
        for period in PERIODS:
            if self.period_buttons[period.name].isChecked():
                return Outcome(period.range_for(name, filter_values.today()))
        if not self.custom_button.isChecked():
            return Outcome(None)
        first = _day(self.from_edit.date()) if self.from_check.isChecked() else None
        last = _day(self.to_edit.date()) if self.to_check.isChecked() else None
        if first is None and last is None:
            return Outcome(None)
        if first is not None and last is not None and first > last:
            raise InvalidEntryError("The From date is after the To date.", self.to_edit)
        return Outcome(days_range(name, first, last))

    def focus_widget(self) -> QWidget:
        checked = self.period_group.checkedButton()
        return checked if checked is not None else self.period_buttons[PERIODS[0].name]


def _day(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())


class ChoiceEditor(ValueEditor):
    """CHOICE: tick any of the column's values."""

    def __init__(self, column: ColumnInfo, parent: QWidget | None = None) -> None:
        super().__init__(column, parent)
        title = f"{column.label} is one of"
        self.choice_list = QListWidget(self)
        self.choice_list.setAccessibleName(title)
        for choice in column.choices:
            item = QListWidgetItem(choice, self.choice_list)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
        rows = min(len(column.choices), MAX_VISIBLE_CHOICES)
        row_height = self.choice_list.sizeHintForRow(0) if column.choices else 20
        self.choice_list.setFixedHeight(row_height * rows + 2 * self.choice_list.frameWidth() + 4)
        self.choice_list.itemActivated.connect(self.on_choice_list_item_activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_label(title, self, self.choice_list))
        layout.addWidget(self.choice_list)

    def on_choice_list_item_activated(self, item: QListWidgetItem) -> None:
        """Enter or double-click ticks and unticks, like a click on the box."""
        checked = item.checkState() == Qt.CheckState.Checked
        item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    def _items(self) -> list[QListWidgetItem]:
        items = (self.choice_list.item(row) for row in range(self.choice_list.count()))
        return [item for item in items if item is not None]

    def set_checked(self, values: tuple[object, ...]) -> None:
        wanted = {str(value) for value in values}
        for item in self._items():
            state = Qt.CheckState.Checked if item.text() in wanted else Qt.CheckState.Unchecked
            item.setCheckState(state)

    def load(self, current: Filter, labels: ValueLabels) -> bool:
        if isinstance(current, OneOf):
            self.set_checked(current.values)
        elif isinstance(current, Equals):
            self.set_checked((current.value,))
        else:
            return False
        return True

    def outcome(self) -> Outcome:
        values = tuple(
            item.text() for item in self._items() if item.checkState() == Qt.CheckState.Checked
        )
        return Outcome(OneOf(self.column.name, values) if values else None)

    def focus_widget(self) -> QWidget:
        return self.choice_list


class YesNoEditor(ValueEditor):
    """BOOLEAN: any, yes or no."""

    def __init__(self, column: ColumnInfo, parent: QWidget | None = None) -> None:
        super().__init__(column, parent)
        self.any_button = _radio("Any", self)
        self.yes_button = _radio("Yes", self)
        self.no_button = _radio("No", self)
        self.any_button.setChecked(True)
        self.answer_group = QButtonGroup(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for button in (self.any_button, self.yes_button, self.no_button):
            self.answer_group.addButton(button)
            layout.addWidget(button)
        layout.addStretch(1)

    def load(self, current: Filter, labels: ValueLabels) -> bool:
        if not isinstance(current, Equals) or not isinstance(current.value, bool):
            return False
        (self.yes_button if current.value else self.no_button).setChecked(True)
        return True

    def outcome(self) -> Outcome:
        if self.yes_button.isChecked():
            return Outcome(Equals(self.column.name, True))
        if self.no_button.isChecked():
            return Outcome(Equals(self.column.name, False))
        return Outcome(None)

    def focus_widget(self) -> QWidget:
        checked = self.answer_group.checkedButton()
        return checked if checked is not None else self.any_button


class NumberRangeEditor(ValueEditor):
    """INTEGER and MONEY: min and max, either optional, checked as the user types."""

    def __init__(self, column: ColumnInfo, parent: QWidget | None = None) -> None:
        super().__init__(column, parent)
        self.min_edit = self._number_edit("Min", "no minimum")
        self.max_edit = self._number_edit("Max", "no maximum")
        self.error_label = _error_label(self)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(_label("Min", self, self.min_edit), self.min_edit)
        form.addRow(_label("Max", self, self.max_edit), self.max_edit)
        form.addRow(self.error_label)
        self.min_edit.textChanged.connect(self.on_min_edit_text_changed)
        self.max_edit.textChanged.connect(self.on_max_edit_text_changed)

    def _number_edit(self, name: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setAccessibleName(name)
        edit.setPlaceholderText(placeholder)
        edit.setAlignment(Qt.AlignmentFlag.AlignRight)
        edit.setClearButtonEnabled(True)
        return edit

    def _parse(self, text: str) -> int | Decimal | None:
        if self.column.kind is ColumnKind.MONEY:
            return parse_money(text, self.user_locale)
        if self.column.kind is ColumnKind.INTEGER:
            return parse_integer(text, self.user_locale, self.column.bounds)
        return parse_number(text, self.user_locale)  # exact as typed, any scale

    def _bounds(self) -> tuple[int | Decimal | None, int | Decimal | None]:
        values: list[int | Decimal | None] = []
        for name, edit in (("Min", self.min_edit), ("Max", self.max_edit)):
            try:
                values.append(self._parse(edit.text()))
            except InvalidNumberError as error:
                raise InvalidEntryError(f"{name}: {error}", edit) from None
        low, high = values
        if low is not None and high is not None and low > high:
            raise InvalidEntryError("Min is larger than Max.", self.max_edit)
        return low, high

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def _check(self) -> None:
        try:
            self._bounds()
        except InvalidEntryError as error:
            self.show_error(str(error))
        else:
            self.show_error("")

    def on_min_edit_text_changed(self, _text: str) -> None:
        self._check()

    def on_max_edit_text_changed(self, _text: str) -> None:
        self._check()

    def load(self, current: Filter, labels: ValueLabels) -> bool:
        kind = self.column.kind
        if isinstance(current, Equals):
            low = high = current.value
        elif isinstance(current, Range) and current.high_inclusive:
            low, high = current.low, current.high
        else:
            return False
        self.min_edit.setText("" if low is None else editable_number(low, kind, self.user_locale))
        self.max_edit.setText("" if high is None else editable_number(high, kind, self.user_locale))
        return True

    def outcome(self) -> Outcome:
        low, high = self._bounds()
        if low is None and high is None:
            return Outcome(None)
        return Outcome(Range(self.column.name, low, high))

    def focus_widget(self) -> QWidget:
        return self.min_edit


class RecordPicker(ValueEditor):
    """REFERENCE: search the referenced records and pick one."""

    results_shown = Signal()  # a lookup's answer is in the list (or was refused)

    def __init__(self, column: ColumnInfo, lookup: Lookup, parent: QWidget | None = None) -> None:
        super().__init__(column, parent)
        self.lookup = lookup
        self.target = column.references or ""
        self.search_edit = QLineEdit(self)
        self.search_edit.setAccessibleName("Search")
        self.search_edit.setPlaceholderText("Name, email, title…")
        self.search_edit.setClearButtonEnabled(True)
        self.results_list = QListWidget(self)
        self.results_list.setAccessibleName("Results")
        self.results_list.setMinimumWidth(320)
        self.results_list.setMaximumHeight(220)
        self.status_label = QLabel(self)
        self.status_label.setAccessibleName("Search status")
        self.selection_label = QLabel("Nothing selected", self)
        self.selection_label.setAccessibleName("Selected")
        self.selection_label.setTextFormat(Qt.TextFormat.PlainText)
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_DELAY_MS)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_label("Search", self, self.search_edit))
        layout.addWidget(self.search_edit)
        layout.addWidget(self.status_label)
        layout.addWidget(self.results_list)
        layout.addWidget(self.selection_label)

        # Answers to a search whose text has changed since are stale: each search takes
        # the generation it started in, and typing (or closing) starts a new one.
        self._generation = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = False
        self._stopped = False
        self.chosen: tuple[Any, str] | None = None

        self.search_edit.textChanged.connect(self.on_search_edit_text_changed)
        self.search_timer.timeout.connect(self.on_search_timer_timeout)
        self.results_list.currentItemChanged.connect(self.on_results_list_current_item_changed)
        self.results_list.itemActivated.connect(self.on_results_list_item_activated)

    @property
    def pending(self) -> frozenset[asyncio.Task[None]]:
        """Lookups still running (kept referenced: the loop holds tasks only weakly)."""
        return frozenset(self._tasks)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._started:
            # The first records straight away: often the one wanted is among them.
            self._started = True
            self._search_now()

    def on_search_edit_text_changed(self, _text: str) -> None:
        self._generation += 1
        self.status_label.setText("Searching…")
        self.search_timer.start()

    def on_search_timer_timeout(self) -> None:
        self._search_now()

    def _search_now(self) -> None:
        if self._stopped:
            return
        self.search_timer.stop()
        self._generation += 1
        self.status_label.setText("Searching…")
        text = self.search_edit.text().strip()
        task = spawn(self._search(text, self._generation), name=f"lookup {self.target} {text!r}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _search(self, text: str, generation: int) -> None:
        try:
            found = await self.lookup(self.target, text)
        except RecordsDeskError as error:
            if generation == self._generation and not self._stopped:
                self.status_label.setText(f"Cannot search: {error}")
                self.results_shown.emit()
            return
        if generation != self._generation or self._stopped:
            log.debug("dropped a stale lookup answer for %r", text)
            return
        self.show_results(found)

    def show_results(self, found: list[tuple[Any, str]]) -> None:
        self.results_list.clear()
        for record_id, title in found:
            item = QListWidgetItem(reference_text(record_id, title), self.results_list)
            item.setData(Qt.ItemDataRole.UserRole, record_id)
            if self.chosen is not None and self.chosen[0] == record_id:
                self.results_list.setCurrentItem(item)
        self.status_label.setText("No matching records." if not found else "")
        self.results_shown.emit()

    def on_results_list_current_item_changed(
        self, current: QListWidgetItem | None, _previous: QListWidgetItem | None
    ) -> None:
        if current is None:
            return  # the list was refilled: keep what was chosen before
        self.choose(current.data(Qt.ItemDataRole.UserRole), current.text())

    def on_results_list_item_activated(self, item: QListWidgetItem) -> None:
        self.on_results_list_current_item_changed(item, None)
        self.submitted.emit()

    def choose(self, record_id: Any, title: str) -> None:
        self.chosen = (record_id, reference_text(record_id, title))
        self.selection_label.setText(f"Selected: {self.chosen[1]}")

    def load(self, current: Filter, labels: ValueLabels) -> bool:
        if not isinstance(current, Equals) or isinstance(current.value, bool):
            return False
        if not isinstance(current.value, int | str):
            return False
        self.choose(current.value, labels.get((self.column.name, current.value), ""))
        return True

    def outcome(self) -> Outcome:
        if self.chosen is None:
            return Outcome(None)
        record_id, title = self.chosen
        return Outcome(Equals(self.column.name, record_id), {(self.column.name, record_id): title})

    def focus_widget(self) -> QWidget:
        return self.search_edit

    def stop(self) -> None:
        self._stopped = True
        self._generation += 1
        self.search_timer.stop()


class PresenceEditor(ValueEditor):
    """TEXT (whose search box finds substrings): is the value empty or not."""

    def __init__(self, column: ColumnInfo, parent: QWidget | None = None) -> None:
        super().__init__(column, parent)
        self.empty_button = _radio("Is empty", self)
        self.value_button = _radio("Has a value", self)
        self.presence_group = QButtonGroup(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for button in (self.empty_button, self.value_button):
            self.presence_group.addButton(button)
            layout.addWidget(button)
        layout.addStretch(1)

    def load(self, current: Filter, labels: ValueLabels) -> bool:
        if not isinstance(current, IsEmpty):
            return False
        (self.empty_button if current.empty else self.value_button).setChecked(True)
        return True

    def outcome(self) -> Outcome:
        if self.empty_button.isChecked():
            return Outcome(IsEmpty(self.column.name, empty=True))
        if self.value_button.isChecked():
            return Outcome(IsEmpty(self.column.name, empty=False))
        return Outcome(None)

    def focus_widget(self) -> QWidget:
        checked = self.presence_group.checkedButton()
        return checked if checked is not None else self.empty_button


def make_editor(column: ColumnInfo, lookup: Lookup, parent: QWidget | None = None) -> ValueEditor:
    """The editor of a filter on ``column``: the one its kind's look names."""
    editor = look_of(column.kind).filter_editor
    if editor is FilterEditor.PERIOD:
        return PeriodEditor(column, parent)
    if editor is FilterEditor.CHOICE:
        return ChoiceEditor(column, parent)
    if editor is FilterEditor.YES_NO:
        return YesNoEditor(column, parent)
    if editor is FilterEditor.NUMBERS:
        return NumberRangeEditor(column, parent)
    if editor is FilterEditor.RECORD:
        return RecordPicker(column, lookup, parent)
    return PresenceEditor(column, parent)


class FilterEditorDialog(QDialog):
    """Edit one column's filter; ``outcome`` is set when the user applies or removes it."""

    def __init__(
        self,
        column: ColumnInfo,
        lookup: Lookup,
        current: Filter | None = None,
        labels: ValueLabels | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.column = column
        self.outcome: Outcome | None = None
        title = f"Filter: {column.label}"
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setSizeGripEnabled(False)

        self.editor = make_editor(column, lookup, self)
        self.error_label = _error_label(self)
        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QVBoxLayout.SizeConstraint.SetFixedSize)

        # A nullable column can also be asked whether it has a value at all.
        self.empty_button: QRadioButton | None = None
        self.value_button: QRadioButton | None = None
        self.matching_button: QRadioButton | None = None
        if column.nullable and not isinstance(self.editor, PresenceEditor):
            self.matching_button = _radio(look_of(column.kind).matching, self)
            self.empty_button = _radio("Is empty", self)
            self.value_button = _radio("Has a value", self)
            self.presence_group = QButtonGroup(self)
            row = QHBoxLayout()
            for button in (self.matching_button, self.empty_button, self.value_button):
                self.presence_group.addButton(button)
                row.addWidget(button)
            row.addStretch(1)
            self.matching_button.setChecked(True)
            self.presence_group.buttonToggled.connect(self.on_presence_group_button_toggled)
            layout.addLayout(row)

        layout.addWidget(self.editor)
        layout.addWidget(self.error_label)

        self.buttons = QDialogButtonBox(self)
        self.apply_button = self._button("Apply", QDialogButtonBox.ButtonRole.AcceptRole)
        self.apply_button.setDefault(True)
        self.cancel_button = self._button("Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.remove_button: QPushButton | None = None
        if current is not None:
            self.remove_button = self._button(
                "Remove filter", QDialogButtonBox.ButtonRole.DestructiveRole
            )
            self.remove_button.clicked.connect(self.on_remove_button_clicked)
        self.apply_button.clicked.connect(self.on_apply_button_clicked)
        self.cancel_button.clicked.connect(self.reject)
        layout.addWidget(self.buttons)
        self.finished.connect(self.on_dialog_finished)
        self.editor.submitted.connect(self.on_editor_submitted)

        if current is not None:
            self._load(current, labels or {})
        self.editor.focus_widget().setFocus()

    def _button(self, text: str, role: QDialogButtonBox.ButtonRole) -> QPushButton:
        button = QPushButton(text, self)
        button.setAccessibleName(text)
        button.setAutoDefault(False)
        self.buttons.addButton(button, role)
        return button

    def _load(self, current: Filter, labels: ValueLabels) -> None:
        if isinstance(current, IsEmpty) and self.empty_button is not None:
            assert self.value_button is not None
            (self.empty_button if current.empty else self.value_button).setChecked(True)
            return
        if not self.editor.load(current, labels):
            log.debug("the %s editor cannot show %r; it starts empty", self.column.kind, current)

    def on_presence_group_button_toggled(self, _button: QAbstractButton, _checked: bool) -> None:
        matching = self.matching_button is not None and self.matching_button.isChecked()
        self.editor.setEnabled(matching)

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def _chosen(self) -> Outcome:
        name = self.column.name
        if self.empty_button is not None and self.empty_button.isChecked():
            return Outcome(IsEmpty(name, empty=True))
        if self.value_button is not None and self.value_button.isChecked():
            return Outcome(IsEmpty(name, empty=False))
        return self.editor.outcome()

    def on_apply_button_clicked(self) -> None:
        try:
            outcome = self._chosen()
        except InvalidEntryError as error:
            # Stay open with what the user typed, and say what is wrong next to it.
            if isinstance(self.editor, NumberRangeEditor):
                self.editor.show_error(str(error))
            else:
                self.show_error(str(error))
            error.widget.setFocus()
            return
        self.outcome = outcome
        self.accept()

    def on_editor_submitted(self) -> None:
        self.on_apply_button_clicked()

    def on_remove_button_clicked(self) -> None:
        self.outcome = Outcome(None)
        self.accept()

    def on_dialog_finished(self, _result: int) -> None:
        self.editor.stop()
