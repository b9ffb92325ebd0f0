"""The frequency table of a column (Shift+F, the header's menu) over a browse window's view:
counts and percents from the database, the description beside it, groupings, following
the view, Cancel, and a double-click narrowing the window to exactly the rows counted."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.core.database import Database
from app.query import Equals, Filter, QuerySpec
from app.services import catalog, insights
from app.workspace import Desk
from tests.services.test_insights import seed
from tests.ui.conftest import wait_for, wait_until
from tests.ui.test_browse_window import settled
from ui.browse_window import BrowseWindow
from ui.dialogs.frequency_dialog import FrequencyDialog, percent_text
from ui.window_state import WindowState


@pytest.fixture
def seeded(qt_loop: asyncio.AbstractEventLoop, ui_database: Database) -> Database:
    qt_loop.run_until_complete(seed(ui_database))
    return ui_database


def open_window(
    database: Database, windows: list[BrowseWindow], qtbot: QtBot, entity: str
) -> BrowseWindow:
    window = BrowseWindow(Desk.on(database), catalog.entity(entity), WindowState())
    qtbot.addWidget(window)
    windows.append(window)
    window.show()
    return window


def table_of(dialog: FrequencyDialog) -> list[tuple[str, ...]]:
    table = dialog.table
    return [
        tuple(table.model().index(row, column).data() for column in range(3))
        for row in range(table.rowCount())
    ]


def double_click(dialog: FrequencyDialog, row: int) -> None:
    """As a hand does it: a click, then the double-click (the view wants the press first)."""
    viewport = dialog.table.viewport()
    cell = dialog.table.visualRect(dialog.table.model().index(row, 0)).center()
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=cell)
    QTest.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=cell)


def filters_of(window: BrowseWindow) -> tuple[Filter, ...]:
    return window.view.spec.filters


def figures_of(dialog: FrequencyDialog) -> dict[str, str]:
    return {name: label.text() for name, label in dialog.figures.items()}


def test_shift_f_counts_the_current_column_and_describes_it(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot, "orders")
        model = await settled(window)
        window.table.setFocus()
        window.table.setCurrentIndex(model.index(0, model.column_index("status")))

        QTest.keyClick(window.table, Qt.Key.Key_F, Qt.KeyboardModifier.ShiftModifier)

        (dialog,) = window.frequency_dialogs
        await wait_for(dialog.calculated)
        assert dialog.windowTitle() == "Frequency of Status — Orders"
        assert table_of(dialog) == [
            ("delivered", "2", "50.0 %"),
            ("pending", "1", "25.0 %"),
            ("shipped", "1", "25.0 %"),
        ]
        assert dialog.status_label.text() == "4 rows in 3 groups"
        assert figures_of(dialog) == {
            "Rows": "4",
            "Empty": "0",
            "Distinct": "3",
            # In the statuses' own order (pending … delivered), not the alphabet's.
            "Smallest": "pending",
            "Largest": "delivered",
        }

    qt_loop.run_until_complete(scenario())


def test_a_double_clicked_value_shows_exactly_its_rows_and_back_returns(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot, "orders")
        model = await settled(window)
        dialog = window.open_frequency("status")
        await wait_for(dialog.calculated)
        row = next(r for r, line in enumerate(table_of(dialog)) if line[0] == "delivered")

        double_click(dialog, row)

        assert window.view.spec.filters == (Equals("status", "delivered"),)
        model = await settled(window)
        assert model.rowCount() == 2
        # The table follows the window: now one group of the two rows.
        narrowed = [("delivered", "2", "100.0 %")]
        await wait_until(dialog.calculated, lambda: table_of(dialog) == narrowed)

        window.history.back_action.trigger()
        assert filters_of(window) == ()
        await wait_until(dialog.calculated, lambda: len(table_of(dialog)) == 3)

    qt_loop.run_until_complete(scenario())


def test_money_in_ranges_with_sum_mean_and_median(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot, "accounts")
        await settled(window)
        dialog = window.open_frequency("balance")
        await wait_for(dialog.calculated)

        assert dialog.grouping_box.currentText() == "In ranges"
        assert table_of(dialog) == [
            ("0.00 to under 20.00", "3", "75.0 %"),
            ("140.00 to 160.00", "1", "25.0 %"),
        ]
        figures = figures_of(dialog)
        assert (figures["Sum"], figures["Mean"], figures["Median"]) == ("150.30", "37.58", "0.15")

        dialog.grouping_box.setCurrentIndex(dialog.grouping_box.findText("By value"))
        await wait_for(dialog.calculated)
        assert [line[0] for line in table_of(dialog)] == ["0.00", "0.10", "0.20", "150.00"]

    qt_loop.run_until_complete(scenario())


def test_dates_by_year_and_a_reference_by_its_title(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot, "posts")
        await settled(window)
        dates = window.open_frequency("created_at")
        await wait_for(dates.calculated)
        dates.grouping_box.setCurrentIndex(dates.grouping_box.findText("By year (UTC)"))
        await wait_for(dates.calculated)
        assert table_of(dates) == [("2026", "4", "80.0 %"), ("2025", "1", "20.0 %")]

        authors = window.open_frequency("author_id")
        await wait_for(authors.calculated)
        assert table_of(authors)[0] == ("#1 Ada · ada@example.org", "3", "60.0 %")
        double_click(authors, 0)
        assert window.view.spec.filters == (Equals("author_id", 1),)
        assert window.filter_bar is not None
        assert "#1 Ada" in window.filter_bar.labels()[("author_id", 1)]
        await settled(window)

    qt_loop.run_until_complete(scenario())


def test_the_header_menu_offers_the_frequency_of_its_column(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot, "orders")
        model = await settled(window)
        menu = window.header_menu_for(model.column_index("total"))

        (action,) = [a for a in menu.actions() if a.text().startswith("Frequency")]
        assert action.text() == "Frequency of Total…"
        assert [a.text() for a in menu.actions()][-1] == "&Columns"
        action.trigger()
        (dialog,) = window.frequency_dialogs
        assert dialog.column.name == "total"
        await wait_for(dialog.calculated)

    qt_loop.run_until_complete(scenario())


def test_cancel_stops_the_counting_and_a_new_view_counts_again(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot, "orders")
        await settled(window)
        dialog = window.open_frequency("status")

        dialog.cancel_button.click()

        assert dialog.status_label.text().startswith("Cancelled")
        assert not dialog.cancel_button.isVisible()
        window.search_box.setText("")
        window.set_view(
            type(window.view)(window.view.entity, QuerySpec(filters=(Equals("status", "shipped"),)))
        )
        await wait_until(
            dialog.calculated, lambda: dialog.status_label.text() == "1 row in 1 group"
        )
        await settled(window)

    qt_loop.run_until_complete(scenario())


def test_percents_read_to_one_decimal_and_a_sliver_is_not_zero() -> None:
    assert percent_text(Decimal("47.619")) == "47.6 %"
    assert percent_text(Decimal("0.045")) == "< 0.1 %"
    assert percent_text(Decimal(0)) == "0.0 %"


def test_the_long_tail_is_one_row_and_enter_drills_down_too(
    qt_loop: asyncio.AbstractEventLoop,
    seeded: Database,
    windows: list[BrowseWindow],
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(insights, "TOP_GROUPS", 1)

    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot, "orders")
        await settled(window)
        dialog = window.open_frequency("status")
        await wait_for(dialog.calculated)
        assert table_of(dialog) == [
            ("delivered", "2", "50.0 %"),
            ("Other (2 values)", "2", "50.0 %"),
        ]

        dialog.table.setFocus()
        dialog.table.setCurrentCell(1, 0)
        QTest.keyClick(dialog.table, Qt.Key.Key_Return)
        assert not window.view.spec.filters  # "Other" is no one value

        dialog.table.setCurrentCell(0, 0)
        QTest.keyClick(dialog.table, Qt.Key.Key_Return)
        assert window.view.spec.filters == (Equals("status", "delivered"),)
        assert dialog.isVisible()  # Enter pressed no button of the dialog
        assert dialog.status_label.text() == "Counting…"  # the narrowed view, not cancelled
        await wait_until(
            dialog.calculated, lambda: dialog.status_label.text() == "2 rows in 1 group"
        )
        await settled(window)

    qt_loop.run_until_complete(scenario())
