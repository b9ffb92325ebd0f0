"""New order with items: a cell that cannot be read (a blank price or quantity) is refused
at that cell and nothing is saved; an order none of whose items can be saved is not saved
either, and says why for each item; on both engines."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import QDialog

from app.core.database import Database
from app.query import DeletedRows, QuerySpec
from app.services.records import RecordService
from app.workspace import Workspace
from tests.ui.conftest import wait_for
from tests.ui.dialogs import dialogs_fixture  # noqa: F401 (the dialogs fixture)
from ui.dialogs.transactions import OrderDialog

PASSWORD = "correct horse"
EVERYTHING = QuerySpec(deleted=DeletedRows.INCLUDE)


async def order_dialog(database: Database, dialogs: list[QDialog]) -> OrderDialog:
    records = RecordService(database)
    user = await records.create(
        "users", {"email": "b@example.org", "name": "Buyer"}, password=PASSWORD
    )
    dialog = OrderDialog(Workspace(records.database, records=records))
    dialogs.append(dialog)
    dialog.show()
    dialog.editors["user_id"].set_value(user["id"])
    dialog.items.removeRow(0)
    return dialog


async def refusal(dialog: OrderDialog) -> str:
    refused = asyncio.ensure_future(wait_for(dialog.refused))
    dialog.save()
    (message,) = await refused
    assert isinstance(message, str)
    return message


async def saved_rows(database: Database) -> dict[str, int]:
    records = RecordService(database)
    return {entity: await records.count(entity, EVERYTHING) for entity in ("orders", "order_items")}


def test_a_blank_price_is_refused_at_its_cell_and_nothing_is_saved(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, dialogs: list[QDialog]
) -> None:
    async def scenario() -> None:
        dialog = await order_dialog(ui_database, dialogs)
        dialog.add_item("Lamp", "2", "10.00")
        dialog.add_item("Bulb", "4", "")
        dialog.add_item("Shade", "", "3.00")

        message = await refusal(dialog)

        assert message == (
            "Nothing was saved. Item 2, unit price: Required. Item 3, quantity: Required."
        )
        assert dialog.cell_problems == {(1, 2): "Required.", (2, 1): "Required."}
        price = dialog.items.item(1, 2)
        assert price is not None
        assert price.toolTip() == "Required."
        assert price.data(Qt.ItemDataRole.AccessibleDescriptionRole) == "Required."
        assert (dialog.items.currentRow(), dialog.items.currentColumn()) == (1, 2)
        assert await saved_rows(ui_database) == {"orders": 0, "order_items": 0}
        # Typing a price clears its cell's mark; the order then saves with every item.
        price.setText("0.25")
        assert price.toolTip() == ""
        assert (1, 2) not in dialog.cell_problems
        quantity = dialog.items.item(2, 1)
        assert quantity is not None
        quantity.setText("1")
        completed = asyncio.ensure_future(wait_for(dialog.completed))
        dialog.save()
        (created,) = await completed
        assert len(created.item_ids) == 3
        assert await saved_rows(ui_database) == {"orders": 1, "order_items": 3}

    qt_loop.run_until_complete(scenario())


def test_an_order_of_only_bad_items_is_not_saved_and_says_why_for_each(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, dialogs: list[QDialog]
) -> None:
    async def scenario() -> None:
        dialog = await order_dialog(ui_database, dialogs)
        dialog.add_item("Broken", "0", "1.00")
        dialog.add_item("", "1", "1.00")
        dialog.add_item("Negative", "1", "-3.00")

        message = await refusal(dialog)

        assert message == (
            "The order was not saved: none of its items could be.\n"
            "• Item 1 (Broken): Quantity: Must be at least 1.\n"
            "• Item 2 (no product): Product: Required.\n"
            "• Item 3 (Negative): Unit price: Must be at least 0."
        )
        assert dialog.status_label.text() == message
        assert dialog.isVisible()
        assert await saved_rows(ui_database) == {"orders": 0, "order_items": 0}

    qt_loop.run_until_complete(scenario())


def test_an_order_without_items_is_not_saved(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, dialogs: list[QDialog]
) -> None:
    async def scenario() -> None:
        dialog = await order_dialog(ui_database, dialogs)
        dialog.add_item("", "", "")  # a blank row is no item

        message = await refusal(dialog)

        assert message == "Nothing was saved: add an item to the order first."
        assert await saved_rows(ui_database) == {"orders": 0, "order_items": 0}

    qt_loop.run_until_complete(scenario())


def test_a_price_written_another_locales_way_is_refused_at_its_cell(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, dialogs: list[QDialog]
) -> None:
    previous = QLocale()
    QLocale.setDefault(QLocale(QLocale.Language.German, QLocale.Country.Germany))

    async def scenario() -> None:
        dialog = await order_dialog(ui_database, dialogs)
        dialog.add_item("Lamp", "1", "0.001")

        message = await refusal(dialog)

        assert message.startswith("Nothing was saved. Item 1, unit price: “0.001” is not an amount")
        assert dialog.cell_problems[(0, 2)].startswith("“0.001” is not an amount")
        assert await saved_rows(ui_database) == {"orders": 0, "order_items": 0}

    try:
        qt_loop.run_until_complete(scenario())
    finally:
        QLocale.setDefault(previous)
