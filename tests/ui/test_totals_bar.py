"""The totals footer of a browse window: the whole view's figures from the database, the
selected cells' own, following search and filters, and Stop — on both engines."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest
from PySide6.QtCore import QLocale
from pytestqt.qtbot import QtBot

from app.core.database import Database
from app.query import Equals, QuerySpec, SortKey
from app.services import catalog
from app.services.insights import ColumnTotals, Totals
from app.services.records import RecordService
from app.services.transfers import transfer_funds
from app.workspace import Desk
from tests.services.test_insights import seed
from tests.ui.conftest import wait_for, wait_until
from ui.browse_window import BrowseWindow
from ui.record_table_model import RAW_VALUE_ROLE
from ui.selection import select_rows
from ui.widgets.totals_bar import totals_text
from ui.window_state import WindowState


@pytest.fixture
def seeded(qt_loop: asyncio.AbstractEventLoop, ui_database: Database) -> Database:
    qt_loop.run_until_complete(seed(ui_database))
    return ui_database


def open_orders(database: Database, windows: list[BrowseWindow], qtbot: QtBot) -> BrowseWindow:
    spec = QuerySpec(sort=(SortKey("total", descending=True),))
    window = BrowseWindow(Desk.on(database), catalog.entity("orders"), WindowState(), spec=spec)
    qtbot.addWidget(window)
    windows.append(window)
    window.show()
    return window


def test_the_footer_adds_up_the_whole_view_and_follows_its_filters(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_orders(seeded, windows, qtbot)
        footer = window.totals_bar
        await wait_for(footer.calculated)
        assert footer.view_label.text() == (
            "4 rows · Total: sum 15.35, average 3.84, min 0.00, max 10.10"
        )

        view = window.view
        window.set_view(
            replace(view, spec=replace(view.spec, filters=(Equals("status", "delivered"),)))
        )
        assert footer.view_label.text() == "Totals: adding up…"
        await wait_for(footer.calculated)
        assert footer.view_label.text() == (
            "2 rows · Total: sum 10.30, average 5.15, min 0.20, max 10.10"
        )

    qt_loop.run_until_complete(scenario())


def test_the_selected_cells_are_added_up_too(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_orders(seeded, windows, qtbot)
        footer = window.totals_bar
        await wait_for(footer.calculated)

        select_rows(window.table, 1, 2)  # 5.05 and 0.20, sorted by total

        await wait_for(footer.calculated)
        assert footer.selection_label.isVisible()
        assert footer.selection_label.text() == (
            "Selected 2 rows · Total: sum 5.25, average 2.63, min 0.20, max 5.05"
        )
        window.table.clearSelection()
        assert not footer.selection_label.isVisible()

        # A new order of the rows clears the selection without a signal: its totals go too.
        select_rows(window.table, 0, 1)
        view = window.view
        window.set_view(replace(view, spec=replace(view.spec, sort=(SortKey("total"),))))
        assert not footer.selection_label.isVisible()
        await wait_for(footer.calculated)
        assert not footer.selection_label.isVisible()

    qt_loop.run_until_complete(scenario())


def test_stop_ends_the_adding_up(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_orders(seeded, windows, qtbot)
        footer = window.totals_bar
        await wait_for(footer.calculated)

        footer.refresh()
        footer.stop_button.click()

        assert footer.view_label.text() == "Totals stopped; Refresh adds up again."
        window.refresh_action.trigger()
        await wait_for(footer.calculated)
        assert footer.view_label.text().startswith("4 rows · Total: sum 15.35")

    qt_loop.run_until_complete(scenario())


def test_the_text_of_totals() -> None:
    users = catalog.entity("users")
    assert totals_text(users, Totals(1), QLocale("en_US")) == "1 row"

    items = catalog.entity("order_items")
    figures = Totals(
        1_234,
        (
            ColumnTotals("quantity", 1_234, Decimal(5_000), Decimal(1), Decimal(9)),
            ColumnTotals("unit_price", 0, None, None, None),
        ),
    )
    assert totals_text(items, figures, QLocale("de_DE")) == (
        "1.234 rows · Quantity: sum 5.000, average 4,05, min 1, max 9 · Unit price: no values"
    )


def test_every_figure_follows_a_change_committed_anywhere(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    windows: list[BrowseWindow],
    qtbot: QtBot,
) -> None:
    """A transfer and a trash made outside the window (another window, the command line,
    another service object on the same database): its rows, its totals footer and its
    frequency table follow, with nobody telling them by hand."""

    async def scenario() -> None:
        elsewhere = RecordService(ui_database)
        user = await elsewhere.create(
            "users", {"email": "o@example.org", "name": "Owner"}, password="long enough"
        )
        rich = await elsewhere.create(
            "accounts", {"owner_id": user["id"], "name": "Rich", "opening_balance": "100.00"}
        )
        poor = await elsewhere.create("accounts", {"owner_id": user["id"], "name": "Poor"})
        window = BrowseWindow(
            Desk.on(ui_database),
            catalog.entity("accounts"),
            WindowState(),
            spec=QuerySpec(sort=(SortKey("id"),)),
        )
        qtbot.addWidget(window)
        windows.append(window)
        window.show()
        footer = window.totals_bar
        await wait_for(footer.calculated)
        assert "max 100.00" in footer.view_label.text()
        names = window.open_frequency("name")
        await wait_for(names.calculated)
        model = window.model
        assert model is not None

        await transfer_funds(ui_database, rich["id"], poor["id"], "30.00")
        await wait_for(footer.calculated)
        assert "sum 100.00" in footer.view_label.text()
        assert "min 30.00, max 70.00" in footer.view_label.text()
        balance = model.column_index("balance")
        await wait_until(
            model.dataChanged, lambda: model.index(0, balance).data(RAW_VALUE_ROLE) == 70
        )

        await transfer_funds(ui_database, poor["id"], rich["id"], "30.00")
        await wait_for(footer.calculated)
        await elsewhere.trash("accounts", {poor["id"]: None}, with_related=False)
        await wait_for(names.calculated)
        assert names.table.rowCount() == 1  # the trashed account left its group
        await wait_until(model.rows_loaded, lambda: model.rowCount() == 1)
        await wait_for(footer.calculated)
        assert footer.view_label.text().startswith("1 row")

    qt_loop.run_until_complete(scenario())
