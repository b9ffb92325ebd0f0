"""create_order_with_items: one savepoint per item; bad items are skipped and reported."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.core.database import Database
from app.models import Order, OrderItem, OrderStatus, User
from app.services import orders
from app.services.errors import NotFoundError
from app.services.orders import OrderItemInput, create_order_with_items
from app.services.records import RecordService


async def make_user(database: Database) -> int:
    async with database.get_session(write=True) as session:
        user = User(email="buyer@example.org", name="Buyer", hashed_password="x")
        session.add(user)
        await session.flush()
        return user.id


async def items_of(database: Database, order_id: int) -> list[tuple[str, int, Decimal]]:
    async with database.get_session() as session:
        rows = await session.execute(
            select(OrderItem.product, OrderItem.quantity, OrderItem.unit_price)
            .where(OrderItem.order_id == order_id)
            .order_by(OrderItem.id)
        )
        return [(product, quantity, price) for product, quantity, price in rows]


async def test_order_with_good_items_has_their_exact_total(database: Database) -> None:
    user_id = await make_user(database)

    created = await create_order_with_items(
        database,
        user_id,
        [OrderItemInput("Pen", 3, "0.10"), OrderItemInput("Notebook", 1, Decimal("2.20"))],
        status=OrderStatus.PROCESSING,
    )

    assert created.total == Decimal("2.50")
    assert created.skipped == ()
    assert len(created.item_ids) == 2
    assert await items_of(database, created.order_id) == [
        ("Pen", 3, Decimal("0.10")),
        ("Notebook", 1, Decimal("2.20")),
    ]
    async with database.get_session() as session:
        order = await session.get_one(Order, created.order_id)
    assert (order.total, order.status, order.user_id) == (
        Decimal("2.50"),
        OrderStatus.PROCESSING,
        user_id,
    )


async def test_bad_items_are_skipped_and_reported_and_the_rest_is_kept(
    database: Database,
) -> None:
    user_id = await make_user(database)
    items = [
        OrderItemInput("Lamp", 2, "10.00"),
        OrderItemInput("Broken", 0, "1.00"),
        OrderItemInput("Free gift", 1, "0"),
        OrderItemInput("Negative", 1, "-3.00"),
        OrderItemInput("", 1, "1.00"),
        OrderItemInput("Too precise", 1, "1.005"),
        OrderItemInput("Half", 1.5, "1.00"),  # type: ignore[arg-type]
        # Beyond PostgreSQL's varchar(200), and a NUL: either would end the whole order
        # there (a DataError, not a constraint), were they not refused first.
        OrderItemInput("P" * 201, 1, "1.00"),
        OrderItemInput("Nul\x00", 1, "1.00"),
        OrderItemInput("Bulb", 4, "0.25"),
    ]

    created = await create_order_with_items(database, user_id, items)

    assert [(skip.index, skip.reason) for skip in created.skipped] == [
        (1, "Quantity: Must be at least 1."),
        (3, "Unit price: Must be at least 0."),
        (4, "Product: Required."),
        (5, "Unit price: 1.005 has more than 2 decimal places."),
        (6, "The quantity must be a whole number, not 1.5."),
        (7, "Product: At most 200 characters (this has 201)."),
        (8, "Product: Text cannot contain the NUL character."),
    ]
    assert await items_of(database, created.order_id) == [
        ("Lamp", 2, Decimal("20.00") / 2),
        ("Free gift", 1, Decimal("0.00")),
        ("Bulb", 4, Decimal("0.25")),
    ]
    assert created.total == Decimal("21.00")
    order = await RecordService(database).get("orders", created.order_id)
    assert order["total"] == Decimal("21.00")


async def test_order_without_items_is_kept_with_a_zero_total(database: Database) -> None:
    user_id = await make_user(database)

    created = await create_order_with_items(database, user_id, [])

    assert created.total == Decimal("0.00")
    assert (await RecordService(database).get("orders", created.order_id))["total"] == 0


@pytest.mark.parametrize("deleted", [False, True])
async def test_unknown_or_deleted_user_gets_no_order(database: Database, deleted: bool) -> None:
    user_id = await make_user(database)
    if deleted:
        await RecordService(database).delete("users", user_id)
    else:
        user_id += 100

    with pytest.raises(NotFoundError, match=f"User {user_id} does not exist"):
        await create_order_with_items(database, user_id, [OrderItemInput("Pen", 1, "1")])

    async with database.get_session() as session:
        assert (await session.execute(select(Order))).first() is None


async def test_an_item_only_the_database_refuses_is_rolled_back_alone(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The savepoint behind each item: what slips past the checks (here, all of them
    switched off) is refused by a CHECK constraint, and only that item goes."""
    monkeypatch.setattr(
        orders, "_checked", lambda item: (item.quantity, Decimal(str(item.unit_price)))
    )
    user_id = await make_user(database)
    items = [OrderItemInput("Lamp", 2, "10.00"), OrderItemInput("Broken", 0, "1.00")]

    created = await create_order_with_items(database, user_id, items)

    assert [(skip.index, skip.reason) for skip in created.skipped] == [
        (1, "The quantity must be at least 1.")
    ]
    assert await items_of(database, created.order_id) == [("Lamp", 2, Decimal("10.00"))]
    assert created.total == Decimal("20.00")
