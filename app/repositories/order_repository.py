"""Orders and order items."""

from __future__ import annotations

from app.models import Order, OrderItem
from app.repositories.base import BaseRepository


class OrderRepository(BaseRepository[Order]):
    model = Order
    searchable = ("status",)


class OrderItemRepository(BaseRepository[OrderItem]):
    model = OrderItem
    searchable = ("product",)
