"""One repository per kind of record, over the generic BaseRepository."""

from typing import Any

from app.repositories.account_repository import AccountRepository, TransferRepository
from app.repositories.base import BaseRepository, StaleVersionError
from app.repositories.order_repository import OrderItemRepository, OrderRepository
from app.repositories.post_repository import PostRepository
from app.repositories.user_repository import ProfileRepository, UserRepository

# Entity name (the table name) -> repository, in the order the main window lists them.
REPOSITORIES: dict[str, type[BaseRepository[Any]]] = {
    repository.model.__tablename__: repository
    for repository in (
        UserRepository,
        ProfileRepository,
        PostRepository,
        OrderRepository,
        OrderItemRepository,
        AccountRepository,
        TransferRepository,
    )
}

__all__ = [
    "REPOSITORIES",
    "AccountRepository",
    "BaseRepository",
    "OrderItemRepository",
    "OrderRepository",
    "PostRepository",
    "ProfileRepository",
    "StaleVersionError",
    "TransferRepository",
    "UserRepository",
]
