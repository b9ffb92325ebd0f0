"""The seed's transactional forms: Transfer funds (both balances and the ledger in one
transaction, or nothing) and New order with items (one savepoint per item: the items the
database refuses are listed, the order and the good ones are kept).

Like the record form, each stays open with what was typed until it succeeds or the user
cancels, and says beside the field what is wrong."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.services import catalog
from app.services.errors import RecordsDeskError, ValidationError
from app.services.intents import new_token
from app.services.orders import OrderCreated, OrderItemInput
from app.services.transfers import TransferReceipt
from app.workspace import Workspace
from ui.formatting import format_money
from ui.tasks import spawn
from ui.widgets.field_editors import FieldEditor, Invalid, add_field_row, editor_for
from ui.widgets.filter_values import InvalidNumberError, parse_integer, parse_money


class _TransactionDialog(QDialog):
    """A form of a few fields from the catalog, a status line and Save / Cancel."""

    # The result of the transaction (a TransferReceipt or an OrderCreated).
    completed = Signal(object)
    # The transaction was refused with this message, nothing changed.
    refused = Signal(str)

    def __init__(
        self,
        title: str,
        workspace: Workspace,
        fields: list[tuple[str, str]],
        run: Callable[[dict[str, Any]], Awaitable[Any]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        # The transaction, given the fields' values; it raises RecordsDeskError to refuse.
        self.run = run
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.workspace = workspace
        self.editors: dict[str, FieldEditor] = {}
        self.error_labels: dict[str, QLabel] = {}
        self.form = QFormLayout()
        for entity, name in fields:
            column = catalog.entity(entity).column(name)
            editor = editor_for(column, workspace.records, self)
            self.editors[name] = editor
            label = editor.label(required=True)  # a transaction needs every field
            problem = add_field_row(self.form, label, editor.widget, column.label)
            editor.changed.connect(problem.hide)
            self.error_labels[name] = problem
        self.status_label = QLabel(self)
        self.status_label.setAccessibleName("Status")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setShortcut(QKeySequence(QKeySequence.StandardKey.Save))
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self._task: Any = None
        # The dialog's intent: the service moves the money (makes the order) once.
        self.token = new_token()
        self.layout_ = QVBoxLayout(self)
        self.layout_.addLayout(self.form)

    def finish_layout(self) -> None:
        self.layout_.addWidget(self.status_label)
        self.layout_.addWidget(self.buttons)

    @property
    def saving(self) -> bool:
        return self._task is not None and not self._task.done()

    def save(self) -> None:
        """Save once: Save again while it runs (a double click, a held key) is the same
        intent; the button is busy until the save ends."""
        if self.saving or not self.save_button.isEnabled():
            return
        self.save_button.setEnabled(False)
        self._task = spawn(self._save_then_settle(), name=self.windowTitle())

    async def _save_then_settle(self) -> None:
        try:
            await self._save()
        finally:
            if shiboken6.isValid(self):
                self.save_button.setEnabled(True)

    def reject(self) -> None:
        if self.saving:
            # It may be committing right now: closing cannot take it back.
            self._tell("Saving… the dialog closes once it is done.")
            return
        super().reject()

    async def _save(self) -> None:
        for label in self.error_labels.values():
            label.hide()
        values = {name: editor.value() for name, editor in self.editors.items()}
        problems = {
            name: value.reason if isinstance(value, Invalid) else "Required."
            for name, value in values.items()
            if isinstance(value, Invalid) or value is None
        }
        if problems:
            self.show_problems(problems)
            return
        self.status_label.setText("Saving…")
        try:
            result = await self.run(values)
        except RecordsDeskError as error:
            if error.field in self.error_labels:
                self.show_problems({error.field: str(error)})
            else:
                self._tell(str(error))
            return
        self.status_label.setText("")
        self.completed.emit(result)
        self.accept()

    def show_problems(self, problems: dict[str, str]) -> None:
        for name, message in problems.items():
            self.error_labels[name].setText(message)
            self.error_labels[name].show()
        self._tell("Nothing was changed. " + " ".join(problems.values()))

    def _tell(self, text: str) -> None:
        self.status_label.setText(text)
        self.refused.emit(text)


class TransferDialog(_TransactionDialog):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(
            "Transfer funds",
            workspace,
            [
                ("transfers", "from_account_id"),
                ("transfers", "to_account_id"),
                ("transfers", "amount"),
            ],
            self._transfer,
            parent,
        )
        self.finish_layout()
        self.resize(480, self.sizeHint().height())

    async def _transfer(self, values: dict[str, Any]) -> TransferReceipt:
        return await self.workspace.transfer(
            int(values["from_account_id"]),
            int(values["to_account_id"]),
            values["amount"],
            token=self.token,
        )


# The item grid's columns: (title, catalog column of order_items).
ITEM_COLUMNS = (("Product", "product"), ("Quantity", "quantity"), ("Unit price", "unit_price"))
_QUANTITY, _UNIT_PRICE = 1, 2
# A refused cell's background: the problem labels' red, pale enough to read the text on.
_PROBLEM_BACKGROUND = QBrush(QColor(198, 40, 40, 60))


class OrderDialog(_TransactionDialog):
    """An order for a user with a grid of items; Save stores the order and every item the
    database accepts, and lists the others with why."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(
            "New order with items",
            workspace,
            [("orders", "user_id"), ("orders", "status")],
            self._order,
            parent,
        )
        self.editors["status"].set_value("pending")
        self.items = QTableWidget(0, len(ITEM_COLUMNS), self)
        self.items.setAccessibleName("Items")
        self.items.setHorizontalHeaderLabels([title for title, _ in ITEM_COLUMNS])
        self.items.horizontalHeader().setStretchLastSection(True)
        self.items.setColumnWidth(0, 220)
        # What is wrong with a cell, by (row, column), until it is edited.
        self.cell_problems: dict[tuple[int, int], str] = {}
        self.items.itemChanged.connect(self.on_items_item_changed)
        add = QPushButton("Add item", self)
        add.setAccessibleName("Add item")
        add.clicked.connect(lambda: self.add_item())
        remove = QPushButton("Remove item", self)
        remove.setAccessibleName("Remove item")
        remove.clicked.connect(self.remove_item)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        self.layout_.addWidget(QLabel("Items", self))
        self.layout_.addWidget(self.items, 1)
        self.layout_.addLayout(buttons)
        self.finish_layout()
        self.add_item()
        self.resize(560, 460)

    def add_item(self, product: str = "", quantity: str = "1", unit_price: str = "") -> None:
        row = self.items.rowCount()
        self.items.insertRow(row)
        for column, text in enumerate((product, quantity, unit_price)):
            self.items.setItem(row, column, QTableWidgetItem(text))

    def remove_item(self) -> None:
        row = self.items.currentRow()
        if row >= 0:
            self.items.removeRow(row)

    def item_inputs(self) -> list[OrderItemInput] | dict[tuple[int, int], str]:
        """The grid's rows (blank ones left out), or what is wrong with each cell that
        cannot be read as its column's value, by (row, column): a blank or unreadable
        quantity or price is refused there, never taken for 0."""
        locale = self.locale()
        bounds = catalog.entity("order_items").column("quantity").bounds
        inputs = []
        problems: dict[tuple[int, int], str] = {}
        for row in range(self.items.rowCount()):
            texts = [self._text(row, column) for column in range(len(ITEM_COLUMNS))]
            if not any(text.strip() for text in texts):
                continue
            product, quantity_text, price_text = texts
            quantity: int | None = None
            price: Decimal | None = None
            try:
                quantity = parse_integer(quantity_text, locale, bounds)
            except InvalidNumberError as error:
                problems[(row, _QUANTITY)] = str(error)
            try:
                price = parse_money(price_text, locale)
            except InvalidNumberError as error:
                problems[(row, _UNIT_PRICE)] = str(error)
            if quantity is None:
                problems.setdefault((row, _QUANTITY), "Required.")
            if price is None:
                problems.setdefault((row, _UNIT_PRICE), "Required.")
            if quantity is not None and price is not None:
                inputs.append(OrderItemInput(product, quantity, price))
        if problems:
            return problems
        return inputs

    def show_cell_problems(self, problems: dict[tuple[int, int], str]) -> str:
        """Mark each cell with what is wrong with it (a tooltip, read by screen readers too,
        until the cell is edited); the same in one line, for the status."""
        self.items.blockSignals(True)
        for (row, column), reason in problems.items():
            item = self.items.item(row, column)
            if item is None:
                item = QTableWidgetItem("")
                self.items.setItem(row, column, item)
            item.setToolTip(reason)
            item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, reason)
            item.setBackground(_PROBLEM_BACKGROUND)
        self.items.blockSignals(False)
        self.cell_problems.update(problems)
        first = min(problems)
        self.items.setCurrentCell(*first)
        self.items.setFocus()
        return "Nothing was saved. " + " ".join(
            f"Item {row + 1}, {ITEM_COLUMNS[column][0].lower()}: {reason}"
            for (row, column), reason in sorted(problems.items())
        )

    def on_items_item_changed(self, item: QTableWidgetItem) -> None:
        if self.cell_problems.pop((item.row(), item.column()), None) is None:
            return
        self.items.blockSignals(True)
        item.setToolTip("")
        item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, None)
        item.setBackground(QBrush())
        self.items.blockSignals(False)

    def _text(self, row: int, column: int) -> str:
        item = self.items.item(row, column)
        return item.text() if item is not None else ""

    async def _order(self, values: dict[str, Any]) -> OrderCreated:
        items = self.item_inputs()
        if isinstance(items, dict):
            raise ValidationError(self.show_cell_problems(items))
        if not items:
            self.items.setFocus()
            raise ValidationError("Nothing was saved: add an item to the order first.")
        return await self.workspace.create_order(
            int(values["user_id"]),
            items,
            str(values["status"]),
            token=self.token,
        )


def order_summary(created: OrderCreated, locale: Any = None) -> str:
    """What a saved order holds, and which items were left out and why."""
    kept = len(created.item_ids)
    text = (
        f"Order #{created.order_id} is saved with {kept} item{'s' if kept != 1 else ''}, "
        f"total {format_money(created.total, locale)}."
    )
    if created.skipped:
        lines = "\n".join(
            f"• Item {skip.index + 1} ({skip.item.product[:40] or 'no product'}): {skip.reason}"
            for skip in created.skipped
        )
        text += f"\n\nThese items were not saved:\n{lines}"
    return text
