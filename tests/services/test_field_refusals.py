"""What a form or dialog refuses at a field, the services refuse too, in words and at the
same field, on both engines: an id beyond what its column holds (PostgreSQL would refuse
the query itself), and an order none of whose items can be saved."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core.database import Database
from app.models import Order, OrderItem
from app.services.errors import FieldValuesError, ValidationError
from app.services.orders import OrderItemInput, create_order_with_items
from app.services.records import RecordService
from app.services.transfers import transfer_funds

PASSWORD = "correct horse"
BEYOND = 99_999_999_999  # past PostgreSQL's integer; SQLite would hold it
TOO_LARGE = "99,999,999,999 is too large (at most 2,147,483,647)"


async def make_user(database: Database) -> int:
    user = await RecordService(database).create(
        "users", {"email": "b@example.org", "name": "Buyer"}, password=PASSWORD
    )
    return int(user["id"])


async def count(database: Database, model: type[Order] | type[OrderItem]) -> int:
    async with database.get_session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(
    ("accounts", "field"),
    [
        ((BEYOND, 1), "from_account_id"),
        ((1, BEYOND), "to_account_id"),
        ((-BEYOND, 1), "from_account_id"),
    ],
)
async def test_a_transfer_between_ids_beyond_the_column_is_refused_at_the_field(
    database: Database, accounts: tuple[int, int], field: str
) -> None:
    with pytest.raises(FieldValuesError) as refused:
        await transfer_funds(database, *accounts, "1.00")

    assert set(refused.value.errors) == {field}
    assert "is too" in refused.value.errors[field]
    assert refused.value.field == field


async def test_an_order_for_a_user_id_beyond_the_column_is_refused_at_the_field(
    database: Database,
) -> None:
    with pytest.raises(FieldValuesError) as refused:
        await create_order_with_items(database, BEYOND, [OrderItemInput("Pen", 1, "1.00")])

    assert refused.value.errors == {"user_id": TOO_LARGE}
    assert await count(database, Order) == 0


async def test_a_record_referring_to_an_id_beyond_the_column_is_refused_at_the_field(
    database: Database,
) -> None:
    with pytest.raises(FieldValuesError) as refused:
        await RecordService(database).create("posts", {"title": "Hi", "author_id": BEYOND})

    assert refused.value.errors == {"author_id": TOO_LARGE}


async def test_an_order_of_only_bad_items_is_not_saved_and_lists_each_reason(
    database: Database,
) -> None:
    user_id = await make_user(database)
    items = [
        OrderItemInput("Broken", 0, "1.00"),
        OrderItemInput("Blank price", 1, ""),
        OrderItemInput("", 1, "1.00"),
    ]

    with pytest.raises(ValidationError) as refused:
        await create_order_with_items(database, user_id, items)

    assert str(refused.value) == (
        "The order was not saved: none of its items could be.\n"
        "• Item 1 (Broken): Quantity: Must be at least 1.\n"
        "• Item 2 (Blank price): Unit price: Required.\n"
        "• Item 3 (no product): Product: Required."
    )
    assert (await count(database, Order), await count(database, OrderItem)) == (0, 0)


async def test_a_blank_price_is_never_taken_for_zero(database: Database) -> None:
    user_id = await make_user(database)

    created = await create_order_with_items(
        database,
        user_id,
        [OrderItemInput("Lamp", 1, "2.00"), OrderItemInput("Bulb", 2, "  ")],
    )

    assert [(skip.index, skip.reason) for skip in created.skipped] == [(1, "Unit price: Required.")]
    assert await count(database, OrderItem) == 1
