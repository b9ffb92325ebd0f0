"""Creating an order with its items, keeping the good items when some are bad."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.changes import ChangeKind, note
from app.core.database import Database
from app.models import Order, OrderItem, OrderStatus
from app.models.types import InvalidValueError
from app.repositories import UserRepository
from app.services import catalog, ledger
from app.services.errors import (
    FieldValuesError,
    NotFoundError,
    ValidationError,
    describe_integrity_error,
)
from app.services.intents import once
from app.services.unit_of_work import unit_of_work
from app.services.validation import checked_values


@dataclass(frozen=True)
class OrderItemInput:
    product: str
    quantity: int
    unit_price: Decimal | int | str


@dataclass(frozen=True)
class SkippedItem:
    index: int
    item: OrderItemInput
    reason: str


@dataclass(frozen=True)
class OrderCreated:
    order_id: int
    total: Decimal
    item_ids: tuple[int, ...]
    skipped: tuple[SkippedItem, ...]


async def create_order_with_items(
    database: Database,
    user_id: int,
    items: Sequence[OrderItemInput],
    status: OrderStatus | str = OrderStatus.PENDING,
    *,
    token: str | None = None,
) -> OrderCreated:
    """Create the order and one savepoint per item: an item the database refuses is rolled
    back alone and reported in ``skipped``; the order and its good items are kept.
    ``token``: the dialog's intent, which makes one order however often it arrives."""
    # A user id beyond what the column holds is refused at its field, before the server would.
    checked_values(catalog.entity("orders"), {"user_id": user_id}, creating=False)
    with once(database, token):
        return await _create_order(database, user_id, items, status)


async def _create_order(
    database: Database,
    user_id: int,
    items: Sequence[OrderItemInput],
    status: OrderStatus | str,
) -> OrderCreated:
    async with unit_of_work(database, write=True) as session:
        user = await UserRepository(session).find_by_id(user_id)
        if user is None:
            raise NotFoundError(f"User {user_id} does not exist.")
        try:
            chosen = OrderStatus(status)
        except ValueError:
            raise ValidationError(f"{status!r} is not an order status.", field="status") from None
        order = Order(user_id=user_id, status=chosen)
        session.add(order)
        await session.flush()

        total = Decimal("0.00")
        item_ids: list[int] = []
        skipped: list[SkippedItem] = []
        for index, item_input in enumerate(items):
            try:
                quantity, unit_price = _checked(item_input)
                async with session.begin_nested():
                    item = OrderItem(
                        order_id=order.id,
                        product=item_input.product,
                        quantity=quantity,
                        unit_price=unit_price,
                    )
                    session.add(item)
            except InvalidValueError as error:
                skipped.append(SkippedItem(index, item_input, str(error)))
                continue
            except IntegrityError as error:
                skipped.append(SkippedItem(index, item_input, str(describe_integrity_error(error))))
                continue
            item_ids.append(item.id)
            total += quantity * unit_price
        if items and not item_ids:
            # An order of none of the items asked for is not what was asked for: refused,
            # and the rollback takes the order with it.
            reasons = "\n".join(
                f"• Item {skip.index + 1} ({str(skip.item.product)[:40] or 'no product'}): "
                f"{skip.reason}"
                for skip in skipped
            )
            raise ValidationError(
                f"The order was not saved: none of its items could be.\n{reasons}"
            )

        await session.flush()
        note(session, "orders", ChangeKind.ADDED, [order.id])
        note(session, "order_items", ChangeKind.ADDED, item_ids)
        await ledger.keep_order_totals(
            session, "orders", select(Order.id).where(Order.id == order.id)
        )
        return OrderCreated(order.id, total, tuple(item_ids), tuple(skipped))


def _checked(item: OrderItemInput) -> tuple[int, Decimal]:
    """The item's quantity and price, by the rules the record form applies (lengths,
    ranges, cents): an item breaking one is skipped in words before any SQL. The database's
    CHECK constraints stay the last line."""
    if isinstance(item.quantity, bool) or not isinstance(item.quantity, int):
        raise InvalidValueError(f"The quantity must be a whole number, not {item.quantity!r}.")
    if not isinstance(item.product, str):
        raise InvalidValueError("The product must be text.")
    values = {"product": item.product, "quantity": item.quantity, "unit_price": item.unit_price}
    try:
        checked = checked_values(catalog.entity("order_items"), values, creating=False)
    except FieldValuesError as error:
        raise InvalidValueError(str(error)) from None
    return checked["quantity"], checked["unit_price"]
