"""Users and their one profile."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base
from app.models.types import ascii_lower

if TYPE_CHECKING:
    from app.models.account import Account
    from app.models.order import Order
    from app.models.post import Post


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email <> ''", name="email_not_empty"),
        CheckConstraint("name <> ''", name="name_not_empty"),
    )

    # Unique ignoring the case of A–Z (see EMAIL_KEY below), never as typed: A@x.org and
    # a@x.org are one address.
    email: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(100), index=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    # lazy="raise": an async session cannot load on attribute access, so say so loudly.
    posts: Mapped[list[Post]] = relationship(back_populates="author", lazy="raise")
    profile: Mapped[Profile | None] = relationship(back_populates="user", lazy="raise")
    orders: Mapped[list[Order]] = relationship(back_populates="user", lazy="raise")
    accounts: Mapped[list[Account]] = relationship(back_populates="owner", lazy="raise")


# What makes two emails the same address; the service's check and the database's index
# compare the same expression, so they agree on both engines. Named like the constraint it
# replaced: errors.describe_integrity_error reads the column from "uq_<table>_<column>".
EMAIL_KEY = Index("uq_users_email", ascii_lower(User.email), unique=True)


class Profile(Base):
    __tablename__ = "profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    bio: Mapped[str | None] = mapped_column(Text)
    avatar_url: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User] = relationship(back_populates="profile", lazy="raise")
