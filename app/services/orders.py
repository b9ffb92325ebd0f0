"""Creating an order with its items, keeping the good items when some are bad."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from app.core.database import Database
from app.models import Order, OrderItem, OrderStatus
from app.models.types import InvalidValueError, to_money
from app.repositories import UserRepository
from app.services.errors import NotFoundError, describe_integrity_error
from app.services.unit_of_work import unit_of_work


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
    status: OrderStatus = OrderStatus.PENDING,
) -> OrderCreated:
    """Create the order and one savepoint per item: an item the database refuses is rolled
    back alone and reported in ``skipped``; the order and its good items are kept."""
    async with unit_of_work(database, write=True) as session:
        user = await UserRepository(session).find_by_id(user_id)
        if user is None:
            raise NotFoundError(f"User {user_id} does not exist.")
        order = Order(user_id=user_id, status=status)
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

        order.total = total
        await session.flush()
        return OrderCreated(order.id, total, tuple(item_ids), tuple(skipped))


def _checked(item: OrderItemInput) -> tuple[int, Decimal]:
    # Only what the database cannot judge is checked here; its CHECK constraints judge the rest.
    if isinstance(item.quantity, bool) or not isinstance(item.quantity, int):
        raise InvalidValueError(f"The quantity must be a whole number, not {item.quantity!r}.")
    if not isinstance(item.product, str):
        raise InvalidValueError("The product must be text.")
    return item.quantity, to_money(item.unit_price)
