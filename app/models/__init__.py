"""All mapped records; importing this package registers every table on Base.metadata."""

from app.models.account import Account, Transfer
from app.models.base import Base
from app.models.order import Order, OrderItem, OrderStatus
from app.models.post import Post
from app.models.user import Profile, User

__all__ = [
    "Account",
    "Base",
    "Order",
    "OrderItem",
    "OrderStatus",
    "Post",
    "Profile",
    "Transfer",
    "User",
]
