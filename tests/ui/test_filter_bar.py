"""The filter bar: each column kind's editor makes exactly the right app.query filter, chips
read as people write, and the record picker drops answers to a search the user has changed."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtCore import QDate, QLocale, Qt, SignalInstance
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QDateEdit,
    QLineEdit,
    QListWidget,
    QRadioButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.query import Equals, Filter, IsEmpty, OneOf, Range
from app.services.catalog import EntityInfo, entity
from ui.formatting import format_money
from ui.widgets import filter_values
from ui.widgets.filter_bar import FilterBar
from ui.widgets.filter_editors import (
    ChoiceEditor,
    FilterEditorDialog,
    NumberRangeEditor,
    PeriodEditor,
    RecordPicker,
)
from ui.widgets.filter_values import (
    InvalidNumberError,
    local_midnight,
    parse_integer,
    parse_money,
)

W = TypeVar("W", bound=QWidget)
Lookup = Callable[[str, str], Awaitable[list[tuple[int, str]]]]
PINNED_TODAY = date(2025, 3, 15)
WAIT_TIMEOUT_S = 10  # bounds a broken test only: every wait ends on its signal
US_ENGLISH = QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)


@pytest.fixture(autouse=True)
def us_english(qapp: QApplication) -> Iterator[None]:
    """Chip texts are pinned to one locale; the code follows whatever QLocale() is."""
    previous = QLocale()
    QLocale.setDefault(US_ENGLISH)
    yield
    QLocale.setDefault(previous)


@pytest.fixture
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> date:
    monkeypatch.setattr(filter_values, "today", lambda: PINNED_TODAY)
    return PINNED_TODAY


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is America/New_York (UTC-5, UTC-4 in summer) for Python's datetime."""
    if sys.platform == "win32":
        pytest.skip("time.tzset is Unix only")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def no_lookup(entity_name: str, text: str) -> list[tuple[int, str]]:
    raise AssertionError("this test does not search records")


def make_bar(qtbot: QtBot, entity_name: str, lookup: Lookup = no_lookup) -> FilterBar:
    bar = FilterBar(entity(entity_name), lookup)
    qtbot.addWidget(bar)
    bar.resize(900, 40)
    bar.show()
    return bar


def named(parent: QWidget, kind: type[W], name: str) -> W:
    """The one visible-or-not child of ``kind`` whose accessible name is ``name``."""
    found = [widget for widget in parent.findChildren(kind) if widget.accessibleName() == name]
    assert len(found) == 1, f"{len(found)} {kind.__name__} named {name!r}"
    return found[0]


def click(qtbot: QtBot, button: QAbstractButton) -> None:
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def choose_column(bar: FilterBar, label: str) -> FilterEditorDialog:
    (action,) = [action for action in bar.add_filter_menu.actions() if action.text() == label]
    action.trigger()
    assert bar.editor is not None
    assert bar.editor.isVisible()
    return bar.editor


def apply(qtbot: QtBot, dialog: FilterEditorDialog) -> None:
    click(qtbot, dialog.apply_button)


def chip_texts(bar: FilterBar) -> list[str]:
    return [chip.text for chip in bar.chips()]


class Emissions:
    def __init__(self, signal: SignalInstance) -> None:
        self.count = 0
        signal.connect(self.on_signal)

    def on_signal(self) -> None:
        self.count += 1


async def next_emission(signal: SignalInstance) -> None:
    arrived: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_signal(*_arguments: Any) -> None:
        if not arrived.done():
            arrived.set_result(None)

    signal.connect(on_signal)
    try:
        await asyncio.wait_for(arrived, WAIT_TIMEOUT_S)
    finally:
        signal.disconnect(on_signal)


def midnight_utc(day: date, offset_hours: int) -> datetime:
    """Local midnight of ``day`` in a zone ``offset_hours`` from UTC, as a UTC datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=offset_hours)


# -- the bar -------------------------------------------------------------------------------


def test_an_empty_bar_offers_the_columns_and_takes_one_row(qtbot: QtBot) -> None:
    bar = make_bar(qtbot, "orders")
    info = entity("orders")

    assert named(bar, QAbstractButton, "Add filter") is bar.add_filter_button
    assert [action.text() for action in bar.add_filter_menu.actions()] == [
        column.label for column in info.columns
    ]
    assert bar.filters() == ()
    assert bar.chips() == []
    assert not bar.clear_button.isVisible()
    assert bar.heightForWidth(900) == bar.add_filter_button.sizeHint().height()


def test_chips_wrap_onto_more_rows_when_the_bar_is_narrow(qtbot: QtBot) -> None:
    bar = make_bar(qtbot, "orders")
    bar.set_filters(
        (
            OneOf("status", ("pending", "shipped")),
            Range("total", Decimal("10.00"), Decimal("500.00")),
            Equals("user_id", 12),
        )
    )
    one_row = bar.add_filter_button.sizeHint().height()

    assert bar.heightForWidth(2000) == max(
        one_row, max(chip.sizeHint().height() for chip in bar.chips())
    )
    assert bar.heightForWidth(250) > 3 * one_row


# -- DATETIME ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "today", "first", "end", "chip"),
    [
        ("Today", date(2025, 3, 15), date(2025, 3, 15), date(2025, 3, 16), "today"),
        ("Yesterday", date(2025, 3, 15), date(2025, 3, 14), date(2025, 3, 15), "yesterday"),
        ("Last 7 days", date(2025, 3, 15), date(2025, 3, 9), date(2025, 3, 16), "last 7 days"),
        ("Last 30 days", date(2025, 3, 15), date(2025, 2, 14), date(2025, 3, 16), "last 30 days"),
        ("This month", date(2025, 3, 15), date(2025, 3, 1), date(2025, 4, 1), "this month"),
        ("Last month", date(2025, 3, 15), date(2025, 2, 1), date(2025, 3, 1), "last month"),
        ("Last month", date(2025, 1, 10), date(2024, 12, 1), date(2025, 1, 1), "last month"),
        ("This month", date(2024, 12, 31), date(2024, 12, 1), date(2025, 1, 1), "this month"),
        ("This year", date(2025, 3, 15), date(2025, 1, 1), date(2026, 1, 1), "this year"),
    ],
)
def test_date_presets_are_ranges_of_local_midnights(
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    preset: str,
    today: date,
    first: date,
    end: date,
    chip: str,
) -> None:
    monkeypatch.setattr(filter_values, "today", lambda: today)
    bar = make_bar(qtbot, "orders")
    changed = Emissions(bar.filters_changed)

    dialog = choose_column(bar, "Created")
    click(qtbot, named(dialog, QRadioButton, preset))
    apply(qtbot, dialog)

    (made,) = bar.filters()
    assert made == Range("created_at", local_midnight(first), local_midnight(end), False)
    assert isinstance(made, Range)
    assert isinstance(made.low, datetime)
    assert isinstance(made.high, datetime)
    assert made.low.tzinfo is not None
    assert made.high.tzinfo is not None
    assert chip_texts(bar) == [f"Created: {chip}"]
    assert changed.count == 1
    assert not dialog.isVisible()


def test_today_is_from_this_local_midnight_to_the_next(qtbot: QtBot) -> None:
    """Unpinned: the real clock and zone, as the user gets it."""
    bar = make_bar(qtbot, "users")
    dialog = choose_column(bar, "Created")
    click(qtbot, named(dialog, QRadioButton, "Today"))
    apply(qtbot, dialog)

    (made,) = bar.filters()
    assert isinstance(made, Range)
    low, high = made.low, made.high
    assert isinstance(low, datetime)
    assert isinstance(high, datetime)
    assert not made.high_inclusive
    assert low.tzinfo is not None
    assert high.tzinfo is not None
    local_low, local_high = low.astimezone(), high.astimezone()
    assert local_low.date() == date.today()
    assert (local_low.hour, local_low.minute, local_low.second) == (0, 0, 0)
    assert local_high.date() == date.today() + timedelta(days=1)
    assert (local_high.hour, local_high.minute, local_high.second) == (0, 0, 0)


def test_a_day_is_local_midnight_to_midnight_even_across_a_clock_change(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, new_york: None
) -> None:
    """New York springs forward on 9 March 2025: that day is 23 hours long."""
    monkeypatch.setattr(filter_values, "today", lambda: date(2025, 3, 9))
    bar = make_bar(qtbot, "users")
    dialog = choose_column(bar, "Created")
    click(qtbot, named(dialog, QRadioButton, "Today"))
    apply(qtbot, dialog)

    (made,) = bar.filters()
    assert isinstance(made, Range)
    assert made.low == midnight_utc(date(2025, 3, 9), -5)
    assert made.high == midnight_utc(date(2025, 3, 10), -4)
    assert made.high_inclusive is False


def test_a_custom_range_covers_whole_days_either_end_optional(
    qtbot: QtBot, pinned_today: date
) -> None:
    bar = make_bar(qtbot, "transfers")
    dialog = choose_column(bar, "Transferred")
    editor = dialog.editor
    assert isinstance(editor, PeriodEditor)
    named(dialog, QDateEdit, "From date").setDate(QDate(2025, 2, 3))
    named(dialog, QDateEdit, "To date").setDate(QDate(2025, 2, 28))
    assert editor.custom_button.isChecked()
    assert named(dialog, QCheckBox, "From").isChecked()
    apply(qtbot, dialog)

    assert bar.filters() == (
        Range(
            "transferred_at",
            local_midnight(date(2025, 2, 3)),
            local_midnight(date(2025, 3, 1)),
            high_inclusive=False,
        ),
    )
    assert chip_texts(bar) == ["Transferred: 2025-02-03 – 2025-02-28"]  # ISO, as the grid

    dialog = bar.edit_filter("transferred_at")
    assert named(dialog, QDateEdit, "From date").date() == QDate(2025, 2, 3)
    assert named(dialog, QDateEdit, "To date").date() == QDate(2025, 2, 28)
    named(dialog, QCheckBox, "To").setChecked(False)
    apply(qtbot, dialog)

    assert bar.filters() == (
        Range("transferred_at", local_midnight(date(2025, 2, 3)), None, high_inclusive=False),
    )
    assert chip_texts(bar) == ["Transferred: from 2025-02-03"]


def test_a_custom_range_that_ends_before_it_starts_stays_open(
    qtbot: QtBot, pinned_today: date
) -> None:
    bar = make_bar(qtbot, "orders")
    changed = Emissions(bar.filters_changed)
    dialog = choose_column(bar, "Created")
    named(dialog, QDateEdit, "From date").setDate(QDate(2025, 3, 10))
    named(dialog, QDateEdit, "To date").setDate(QDate(2025, 3, 1))
    apply(qtbot, dialog)

    assert dialog.isVisible()
    assert dialog.error_label.isVisible()
    assert dialog.error_label.text() == "The From date is after the To date."
    assert bar.filters() == ()
    assert changed.count == 0


def test_a_nullable_date_can_be_asked_for_emptiness(qtbot: QtBot) -> None:
    bar = make_bar(qtbot, "posts")
    dialog = choose_column(bar, "Deleted")
    click(qtbot, named(dialog, QRadioButton, "Is empty"))
    assert not dialog.editor.isEnabled()
    apply(qtbot, dialog)

    assert bar.filters() == (IsEmpty("deleted_at", empty=True),)
    assert chip_texts(bar) == ["Deleted: is empty"]

    dialog = bar.edit_filter("deleted_at")
    assert named(dialog, QRadioButton, "Is empty").isChecked()
    click(qtbot, named(dialog, QRadioButton, "Has a value"))
    apply(qtbot, dialog)
    assert bar.filters() == (IsEmpty("deleted_at", empty=False),)
    assert chip_texts(bar) == ["Deleted: has a value"]


# -- CHOICE, BOOLEAN, TEXT -----------------------------------------------------------------


def test_ticked_choices_become_one_of_in_the_column_order(qtbot: QtBot) -> None:
    bar = make_bar(qtbot, "orders")
    dialog = choose_column(bar, "Status")
    editor = dialog.editor
    assert isinstance(editor, ChoiceEditor)
    assert editor.choice_list is named(dialog, QListWidget, "Status is one of")
    items = {item.text(): item for item in editor._items()}
    assert list(items) == ["pending", "processing", "shipped", "delivered", "cancelled"]
    items["shipped"].setCheckState(Qt.CheckState.Checked)
    items["pending"].setCheckState(Qt.CheckState.Checked)
    apply(qtbot, dialog)

    assert bar.filters() == (OneOf("status", ("pending", "shipped")),)
    assert chip_texts(bar) == ["Status: pending, shipped"]


@pytest.mark.parametrize(
    ("answer", "expected", "chip"),
    [
        ("Yes", (Equals("is_active", True),), ["Active: yes"]),
        ("No", (Equals("is_active", False),), ["Active: no"]),
        ("Any", (), []),
    ],
)
def test_yes_no_any(
    qtbot: QtBot, answer: str, expected: tuple[Filter, ...], chip: list[str]
) -> None:
    bar = make_bar(qtbot, "users")
    changed = Emissions(bar.filters_changed)
    dialog = choose_column(bar, "Active")
    assert named(dialog, QRadioButton, "Any").isChecked()
    click(qtbot, named(dialog, QRadioButton, answer))
    apply(qtbot, dialog)

    assert bar.filters() == expected
    for made in bar.filters():
        assert isinstance(made, Equals)
        assert type(made.value) is bool
    assert chip_texts(bar) == chip
    assert changed.count == len(expected)


def test_any_removes_a_yes_no_filter(qtbot: QtBot) -> None:
    bar = make_bar(qtbot, "users")
    bar.set_filters((Equals("is_active", True),))
    changed = Emissions(bar.filters_changed)

    dialog = bar.edit_filter("is_active")
    assert named(dialog, QRadioButton, "Yes").isChecked()
    click(qtbot, named(dialog, QRadioButton, "Any"))
    apply(qtbot, dialog)

    assert bar.filters() == ()
    assert changed.count == 1


@pytest.mark.parametrize(("answer", "empty"), [("Is empty", True), ("Has a value", False)])
def test_text_is_empty_or_has_a_value(qtbot: QtBot, answer: str, empty: bool) -> None:
    bar = make_bar(qtbot, "profiles")
    dialog = choose_column(bar, "Bio")
    click(qtbot, named(dialog, QRadioButton, answer))
    apply(qtbot, dialog)

    assert bar.filters() == (IsEmpty("bio", empty=empty),)
    assert chip_texts(bar) == [f"Bio: {answer.lower()}"]


# -- INTEGER and MONEY ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity_name", "label", "low_text", "high_text", "expected", "chip"),
    [
        ("order_items", "Quantity", "2", "10", Range("quantity", 2, 10), "Quantity: 2 – 10"),
        (
            "order_items",
            "Quantity",
            "1,000",
            "",
            Range("quantity", 1000, None),
            "Quantity: ≥ 1,000",
        ),
        ("order_items", "Quantity", " 7 ", "7", Range("quantity", 7, 7), "Quantity: 7"),
        (
            "accounts",
            "Balance",
            "10",
            "500",
            Range("balance", Decimal("10.00"), Decimal("500.00")),
            "Balance: 10.00 – 500.00",
        ),
        (
            "accounts",
            "Balance",
            "",
            "1,234.5",
            Range("balance", None, Decimal("1234.50")),
            "Balance: ≤ 1,234.50",
        ),
        (
            "orders",
            "Total",
            "-0.99",
            ".5",
            Range("total", Decimal("-0.99"), Decimal("0.50")),
            "Total: -0.99 – 0.50",
        ),
    ],
)
def test_numbers_become_exact_ranges(
    qtbot: QtBot,
    entity_name: str,
    label: str,
    low_text: str,
    high_text: str,
    expected: Range,
    chip: str,
) -> None:
    bar = make_bar(qtbot, entity_name)
    dialog = choose_column(bar, label)
    QTest.keyClicks(named(dialog, QLineEdit, "Min"), low_text)
    QTest.keyClicks(named(dialog, QLineEdit, "Max"), high_text)
    apply(qtbot, dialog)

    (made,) = bar.filters()
    assert made == expected
    assert isinstance(made, Range)
    number_type = Decimal if isinstance(expected.low or expected.high, Decimal) else int
    for end in (made.low, made.high):
        assert end is None or type(end) is number_type
    assert chip_texts(bar) == [chip]


@pytest.mark.parametrize(
    ("entity_name", "label", "field", "typed", "error"),
    [
        ("order_items", "Quantity", "Min", "2.5", "Min: “2.5” is not a whole number."),
        ("order_items", "Quantity", "Max", "ten", "Max: “ten” is not a whole number."),
        ("order_items", "Quantity", "Min", "1e3", "Min: “1e3” is not a whole number."),
        ("accounts", "Balance", "Min", "1.234", "Min: “1.234” has more than 2 decimal places."),
        (
            "accounts",
            "Balance",
            "Max",
            "12,34",
            "Max: “12,34” is not an amount (write amounts like 1234.56 or 1,234.56).",
        ),
        ("accounts", "Balance", "Max", "NaN", "Max: “NaN” is not an amount."),
        (
            "accounts",
            "Balance",
            "Min",
            "1000000000000",
            "Min: 1,000,000,000,000.00 is too large.",
        ),
        # What PostgreSQL's INTEGER cannot hold (it ended in the bug dialog).
        (
            "users",
            "ID",
            "Max",
            "99999999999",
            "Max: 99,999,999,999 is too large (at most 2,147,483,647).",
        ),
        (
            "order_items",
            "Quantity",
            "Min",
            "-3000000000",
            "Min: -3,000,000,000 is too small (at least -2,147,483,648).",
        ),
        (
            "order_items",
            "Quantity",
            "Max",
            "9" * 60,
            "Max: 99999999999999999999999999999… is too large (at most 2,147,483,647).",
        ),
    ],
)
def test_an_invalid_number_keeps_the_editor_open_with_the_text(
    qtbot: QtBot, entity_name: str, label: str, field: str, typed: str, error: str
) -> None:
    bar = make_bar(qtbot, entity_name)
    changed = Emissions(bar.filters_changed)
    dialog = choose_column(bar, label)
    editor = dialog.editor
    assert isinstance(editor, NumberRangeEditor)
    edit = named(dialog, QLineEdit, field)
    QTest.keyClicks(edit, typed)

    assert editor.error_label.isVisible()  # as the user types, before Apply
    assert editor.error_label.text() == error
    apply(qtbot, dialog)

    assert dialog.isVisible()
    assert bar.editor is dialog
    assert edit.text() == typed
    assert editor.error_label.text() == error
    assert bar.filters() == ()
    assert changed.count == 0

    edit.clear()  # fixing it clears the error and applies
    assert not editor.error_label.isVisible()
    QTest.keyClicks(edit, "3")
    apply(qtbot, dialog)
    assert not dialog.isVisible()
    assert len(bar.filters()) == 1


def test_min_above_max_is_refused(qtbot: QtBot) -> None:
    bar = make_bar(qtbot, "orders")
    dialog = choose_column(bar, "Total")
    QTest.keyClicks(named(dialog, QLineEdit, "Min"), "50")
    QTest.keyClicks(named(dialog, QLineEdit, "Max"), "5")
    apply(qtbot, dialog)

    assert dialog.isVisible()
    assert isinstance(dialog.editor, NumberRangeEditor)
    assert dialog.editor.error_label.text() == "Min is larger than Max."
    assert bar.filters() == ()


@given(
    st.decimals(
        min_value=Decimal("-999999999999.99"), max_value=Decimal("999999999999.99"), places=2
    )
)
def test_money_reads_back_what_it_shows(amount: Decimal) -> None:
    assert parse_money(format_money(amount, US_ENGLISH), US_ENGLISH) == amount


@given(st.text(max_size=20))
def test_any_typed_text_is_a_number_or_a_readable_refusal(text: str) -> None:
    for parse in (parse_money, parse_integer):
        value = _parsed(parse, text)
        if isinstance(value, str):
            assert value  # the refusal, in words
        else:
            assert value is None or type(value) in (int, Decimal)  # never a float
        if isinstance(value, Decimal):
            assert value.as_tuple().exponent == -2


def _parsed(parse: Callable[[str, QLocale], int | Decimal | None], text: str) -> object:
    try:
        return parse(text, US_ENGLISH)
    except InvalidNumberError as error:
        return str(error)


def test_numbers_follow_the_locale(qapp: QApplication) -> None:
    german = QLocale(QLocale.Language.German, QLocale.Country.Germany)
    assert parse_money("1.234,5", german) == Decimal("1234.50")
    assert format_money(Decimal("1234.5"), german) == "1.234,50"
    assert parse_integer("12.000", german) == 12000
    with pytest.raises(InvalidNumberError):
        parse_money("12.5", german)  # a misplaced group separator, not a decimal point


# -- chips: remove, clear, re-edit, set_filters ---------------------------------------------


def test_removing_a_chip_removes_its_filter_and_says_so(qtbot: QtBot) -> None:
    bar = make_bar(qtbot, "orders")
    bar.set_filters(
        (OneOf("status", ("pending",)), Range("total", Decimal("10.00"), None)),
    )
    chip = bar.chip("status")
    assert chip is not None
    remove = named(bar, QAbstractButton, "Remove filter Status")
    assert remove is chip.remove_button

    with qtbot.waitSignal(bar.filters_changed):
        click(qtbot, remove)

    assert bar.filters() == (Range("total", Decimal("10.00"), None),)
    assert chip_texts(bar) == ["Total: ≥ 10.00"]
    assert bar.clear_button.isVisible()


def test_clear_filters_removes_all_with_one_signal(qtbot: QtBot) -> None:
    bar = make_bar(qtbot, "orders")
    changed = Emissions(bar.filters_changed)
    bar.clear()
    assert changed.count == 0  # nothing to clear

    bar.set_filters((OneOf("status", ("pending",)), Equals("user_id", 3)))
    clear_button = named(bar, QAbstractButton, "Clear filters")
    assert clear_button.isVisible()
    click(qtbot, clear_button)

    assert bar.filters() == ()
    assert bar.chips() == []
    assert changed.count == 1
    assert not clear_button.isVisible()


def test_clicking_a_chip_edits_its_filter_in_place(qtbot: QtBot) -> None:
    bar = make_bar(qtbot, "orders")
    bar.set_filters(
        (OneOf("status", ("pending", "shipped")), Range("total", None, Decimal("99.00")))
    )
    changed = Emissions(bar.filters_changed)
    chip = bar.chip("status")
    assert chip is not None
    click(qtbot, named(bar, QAbstractButton, "Status: pending, shipped"))

    dialog = bar.editor
    assert dialog is not None
    assert isinstance(dialog.editor, ChoiceEditor)
    checked = [
        item.text() for item in dialog.editor._items() if item.checkState() == Qt.CheckState.Checked
    ]
    assert checked == ["pending", "shipped"]
    dialog.editor.set_checked(("delivered",))
    apply(qtbot, dialog)

    assert bar.filters() == (
        OneOf("status", ("delivered",)),
        Range("total", None, Decimal("99.00")),
    )
    assert bar.chip("status") is chip  # same place in the bar
    assert chip_texts(bar) == ["Status: delivered", "Total: ≤ 99.00"]
    assert changed.count == 1

    # The menu edits the column's one filter too; applying it unchanged says nothing.
    dialog = choose_column(bar, "Total")
    assert named(dialog, QLineEdit, "Max").text() == "99.00"
    apply(qtbot, dialog)
    assert len(bar.filters()) == 2
    assert changed.count == 1


def test_cancel_and_remove_in_the_editor(qtbot: QtBot) -> None:
    bar = make_bar(qtbot, "orders")
    bar.set_filters((OneOf("status", ("pending",)),))
    changed = Emissions(bar.filters_changed)

    dialog = bar.edit_filter("status")
    assert isinstance(dialog.editor, ChoiceEditor)
    dialog.editor.set_checked(())
    click(qtbot, named(dialog, QAbstractButton, "Cancel"))
    assert bar.filters() == (OneOf("status", ("pending",)),)
    assert bar.editor is None

    dialog = bar.edit_filter("status")
    click(qtbot, named(dialog, QAbstractButton, "Remove filter"))
    assert bar.filters() == ()
    assert changed.count == 1


def test_set_filters_shows_chips_without_a_signal(qtbot: QtBot, pinned_today: date) -> None:
    bar = make_bar(qtbot, "posts")
    changed = Emissions(bar.filters_changed)
    week = filter_values.PERIODS[2].range_for("created_at", pinned_today)

    bar.set_filters((Equals("author_id", 5), week), {("author_id", 5): "#5 Ada Lovelace"})

    assert changed.count == 0
    assert bar.filters() == (Equals("author_id", 5), week)
    assert chip_texts(bar) == ["Author: #5 Ada Lovelace", "Created: last 7 days"]
    created = bar.chip("created_at")
    assert created is not None
    assert created.text_button.toolTip().startswith(
        "Created: last 7 days (2025-03-09 – 2025-03-15)"
    )
    assert bar.labels() == {("author_id", 5): "#5 Ada Lovelace"}

    # A label without the id, or a whole chip text, reads the same; no label shows the id.
    bar.set_filters((Equals("author_id", 5),), {("author_id", 5): "Ada Lovelace"})
    assert chip_texts(bar) == ["Author: #5 Ada Lovelace"]
    bar.set_filters((Equals("author_id", 5),), {("author_id", 5): "Author: #5 Ada Lovelace"})
    assert chip_texts(bar) == ["Author: #5 Ada Lovelace"]
    bar.set_filters((Equals("author_id", 5),))
    assert chip_texts(bar) == ["Author: #5"]
    bar.set_filters(())
    assert bar.chips() == []
    assert changed.count == 0

    with pytest.raises(ValueError, match="no column 'nope'"):
        bar.set_filters((Equals("nope", 1),))


def test_any_filter_from_the_window_has_a_readable_chip(qtbot: QtBot) -> None:
    bar = make_bar(qtbot, "transfers")
    moment = datetime(2025, 3, 15, 14, 30, tzinfo=UTC)
    bar.set_filters(
        (
            Equals("id", 1234),
            OneOf("from_account_id", (1, 2)),
            Range("transferred_at", moment, None),
            Range("amount", Decimal("5"), Decimal("10"), high_inclusive=False),
        ),
        {("from_account_id", 1): "#1 Savings · 10.00"},
    )
    local = moment.astimezone()
    shown = QLocale().toString(
        QDate(local.year, local.month, local.day), filter_values.date_format(QLocale())
    )

    texts = chip_texts(bar)
    assert texts[:2] == ["ID: 1,234", "From account: #1 Savings · 10.00, #2"]
    assert texts[2].startswith(f"Transferred: from {shown} ")
    assert texts[3] == "Amount: ≥ 5.00, < 10.00"


# -- REFERENCE: the record picker ------------------------------------------------------------


class FakeLookup:
    """Records calls; an answer can be held back until the test releases it."""

    def __init__(self, records: dict[str, list[tuple[int, str]]]) -> None:
        self.records = records
        self.calls: list[tuple[str, str]] = []
        self.held: dict[str, asyncio.Event] = {}

    def hold(self, text: str) -> asyncio.Event:
        self.held[text] = asyncio.Event()
        return self.held[text]

    async def __call__(self, entity_name: str, text: str) -> list[tuple[int, str]]:
        self.calls.append((entity_name, text))
        if text in self.held:
            await self.held[text].wait()
        return self.records.get(text, [])


ADA = (12, "#12 Ada Lovelace")
ALAN = (7, "#7 Alan Turing")


def picker_of(dialog: FilterEditorDialog) -> RecordPicker:
    assert isinstance(dialog.editor, RecordPicker)
    return dialog.editor


def result_texts(picker: RecordPicker) -> list[str]:
    items = (picker.results_list.item(row) for row in range(picker.results_list.count()))
    return [item.text() for item in items if item is not None]


def test_picking_a_record_filters_on_its_id(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    lookup = FakeLookup({"": [ALAN, ADA], "ada": [ADA]})
    bar = make_bar(qtbot, "posts", lookup)
    changed = Emissions(bar.filters_changed)

    async def scenario() -> None:
        dialog = choose_column(bar, "Author")
        picker = picker_of(dialog)
        await next_emission(picker.results_shown)  # the first records, straight away
        assert result_texts(picker) == ["#7 Alan Turing", "#12 Ada Lovelace"]

        search = named(dialog, QLineEdit, "Search")
        QTest.keyClicks(search, "ada")  # three keystrokes, one lookup after the pause
        assert picker.status_label.text() == "Searching…"
        await next_emission(picker.results_shown)
        assert lookup.calls == [("users", ""), ("users", "ada")]
        assert result_texts(picker) == ["#12 Ada Lovelace"]
        assert picker.status_label.text() == ""

        results = named(dialog, QListWidget, "Results")
        results.setCurrentRow(0)
        assert picker.selection_label.text() == "Selected: #12 Ada Lovelace"
        apply(qtbot, dialog)

    qt_loop.run_until_complete(scenario())

    assert bar.filters() == (Equals("author_id", 12),)
    assert chip_texts(bar) == ["Author: #12 Ada Lovelace"]
    assert bar.labels() == {("author_id", 12): "#12 Ada Lovelace"}
    assert changed.count == 1


def test_the_picker_drops_an_answer_to_text_the_user_changed(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    lookup = FakeLookup({"": [], "a": [ALAN, ADA], "ada": [ADA]})
    bar = make_bar(qtbot, "posts", lookup)

    async def scenario() -> None:
        slow = lookup.hold("a")
        dialog = choose_column(bar, "Author")
        picker = picker_of(dialog)
        await next_emission(picker.results_shown)
        search = named(dialog, QLineEdit, "Search")

        QTest.keyClicks(search, "a")
        while lookup.calls[-1] != ("users", "a"):  # the pause ends, the slow lookup starts
            await next_emission(picker.search_timer.timeout)
        assert len(picker.pending) == 1

        QTest.keyClicks(search, "da")
        await next_emission(picker.results_shown)  # "ada" answers while "a" still runs
        assert result_texts(picker) == ["#12 Ada Lovelace"]

        slow.set()  # now the stale answer for "a" comes in
        stale = next(iter(picker.pending))
        await stale
        assert result_texts(picker) == ["#12 Ada Lovelace"]
        assert lookup.calls == [("users", ""), ("users", "a"), ("users", "ada")]
        dialog.reject()

    qt_loop.run_until_complete(scenario())
    assert bar.filters() == ()


def test_the_picker_shows_the_current_record_and_survives_a_closed_dialog(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    lookup = FakeLookup({"": [ALAN]})
    bar = make_bar(qtbot, "posts", lookup)
    bar.set_filters((Equals("author_id", 12),), {("author_id", 12): "#12 Ada Lovelace"})

    async def scenario() -> None:
        late = lookup.hold("")
        chip = bar.chip("author_id")
        assert chip is not None
        click(qtbot, chip.text_button)
        assert bar.editor is not None
        picker = picker_of(bar.editor)
        assert picker.selection_label.text() == "Selected: #12 Ada Lovelace"

        bar.editor.reject()  # closed while its lookup runs
        late.set()
        await asyncio.gather(*picker.pending)
        assert bar.editor is None

    qt_loop.run_until_complete(scenario())
    assert bar.filters() == (Equals("author_id", 12),)


# -- accessibility ---------------------------------------------------------------------------

INTERACTIVE = (QAbstractButton, QLineEdit, QListWidget, QDateEdit)


def assert_named(root: QWidget) -> None:
    for kind in INTERACTIVE:
        for widget in root.findChildren(kind):
            if widget.objectName().startswith("qt_") or isinstance(widget.parent(), QLineEdit):
                continue  # Qt's own inner parts: a date edit's text, a line edit's clear button
            name = widget.accessibleName()
            assert name, f"{type(widget).__name__} {widget!r} has no accessible name"
            if isinstance(widget, QAbstractButton) and widget.text() and widget.text() != "✕":
                assert name == widget.text().replace("&&", "&"), (name, widget.text())


@pytest.mark.parametrize(
    "entity_info",
    [
        pytest.param(e, id=e.name)
        for e in (entity("orders"), entity("users"), entity("posts"), entity("profiles"))
    ],
)
def test_every_control_has_an_accessible_name(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, entity_info: EntityInfo
) -> None:
    bar = make_bar(qtbot, entity_info.name, FakeLookup({}))
    bar.set_filters(
        tuple(IsEmpty(column.name) for column in entity_info.columns if column.nullable)
    )
    assert_named(bar)
    assert bar.add_filter_menu.accessibleName() == "Add filter"

    async def scenario() -> None:
        for column in entity_info.columns:
            dialog = bar.edit_filter(column.name)
            assert dialog.accessibleName() == f"Filter: {column.label}"
            assert_named(dialog)
            if isinstance(dialog.editor, RecordPicker):
                await next_emission(dialog.editor.results_shown)
            dialog.reject()

    qt_loop.run_until_complete(scenario())


def test_filter_dates_follow_the_system_format_when_the_grid_does(
    qtbot: QtBot, pinned_today: date
) -> None:
    from ui.preferences import DateStyle, display_preferences

    display_preferences().set_date_style(DateStyle.SYSTEM)
    bar = make_bar(qtbot, "transfers")
    dialog = choose_column(bar, "Transferred")
    named(dialog, QDateEdit, "From date").setDate(QDate(2025, 2, 3))
    named(dialog, QDateEdit, "To date").setDate(QDate(2025, 2, 28))
    apply(qtbot, dialog)

    assert chip_texts(bar) == ["Transferred: 2/3/2025 – 2/28/2025"]
