"""The invariants the data layer holds, whoever writes: money is never made or lost, and
an order's total is the sum of its items.

- Every account's balance is its opening balance plus the transfers in minus the transfers
  out (all transfers: they are the ledger's history and never leave it), so the balances
  add up to the opening balances. Only ``transfer_funds`` moves money; forms, the command
  line and bulk actions cannot set a balance (catalog ``derived``, refused in validation).
- An order's total is the sum of its items that are live, or that went to the trash
  together with the order (so a trashed order still says what it was worth, and an order
  and its items restored together come back with the same total). The services call
  ``keep_order_totals`` in the same transaction as every change to items or orders.

``problems`` checks both in SQL, on either engine; the tests run it after every step.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.changes import ChangeKind, note
from app.models import Account, Order, OrderItem, Transfer


def opening_values(entity: str, values: dict[str, Any]) -> dict[str, Any]:
    """What a new record of ``entity`` holds besides ``values``: an account opens with its
    opening balance as its balance (the only way money enters the ledger)."""
    if entity != "accounts":
        return values
    opening = values.get("opening_balance") or Decimal("0.00")
    return {**values, "opening_balance": opening, "balance": opening}


def _items_total(order: type[Order] = Order) -> Any:
    """The sum of an order's counted items, as a correlated scalar subquery."""
    return (
        select(func.coalesce(func.sum(OrderItem.quantity * OrderItem.unit_price), 0))
        .where(
            OrderItem.order_id == order.id,
            or_(OrderItem.deleted_at.is_(None), OrderItem.deleted_at == order.deleted_at),
        )
        .scalar_subquery()
    )


async def keep_order_totals(session: AsyncSession, entity: str, ids: Select[Any]) -> None:
    """After records of ``entity`` (``ids`` selects them) were created, edited, trashed or
    restored: the orders they belong to get their total again. The total is the data
    layer's, not the user's, so it changes neither the order's version nor its updated_at
    (an open form of the order is not put in conflict by an item's edit)."""
    if entity == "order_items":
        orders: Any = select(OrderItem.order_id).where(OrderItem.id.in_(ids.scalar_subquery()))
    elif entity == "orders":
        orders = ids
    else:
        return
    total = _items_total()
    result = await session.execute(
        update(Order)
        .where(Order.id.in_(orders.scalar_subquery()), Order.total != total)
        .values(total=total)
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    note(session, "orders", ChangeKind.CHANGED, result.scalars().all())


async def problems(session: AsyncSession, *, limit: int = 5) -> list[str]:
    """Where the data breaks an invariant, in words (empty: none). For tests and checks."""
    found: list[str] = []
    incoming = (
        select(func.coalesce(func.sum(Transfer.amount), 0))
        .where(Transfer.to_account_id == Account.id)
        .scalar_subquery()
    )
    outgoing = (
        select(func.coalesce(func.sum(Transfer.amount), 0))
        .where(Transfer.from_account_id == Account.id)
        .scalar_subquery()
    )
    off_ledger = await session.execute(
        select(Account.id)
        .where(Account.balance != Account.opening_balance + incoming - outgoing)
        .order_by(Account.id)
        .limit(limit)
    )
    found.extend(
        f"Account #{account_id}: its balance is not its opening balance plus its transfers."
        for account_id in off_ledger.scalars()
    )
    balances = (
        await session.execute(
            select(
                func.coalesce(func.sum(Account.balance), 0),
                func.coalesce(func.sum(Account.opening_balance), 0),
            )
        )
    ).one()
    if balances[0] != balances[1]:
        found.append(
            f"The balances add up to {balances[0]}, the opening balances to {balances[1]}."
        )
    wrong_totals = await session.execute(
        select(Order.id).where(Order.total != _items_total()).order_by(Order.id).limit(limit)
    )
    found.extend(
        f"Order #{order_id}: its total is not the sum of its items."
        for order_id in wrong_totals.scalars()
    )
    return found
