"""Accounts with balances, and the ledger of transfers between them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base
from app.models.types import Money, UTCDateTime, utcnow

if TYPE_CHECKING:
    from app.models.user import User


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("name <> ''", name="name_not_empty"),
    )

    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    balance: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"), server_default="0")
    # What the account held when it was opened: the ledger's opening entry. The balance is
    # always this plus the transfers in minus the transfers out (app/services/ledger.py).
    opening_balance: Mapped[Decimal] = mapped_column(
        Money(), default=Decimal("0.00"), server_default="0"
    )

    owner: Mapped[User] = relationship(back_populates="accounts", lazy="raise")


class Transfer(Base):
    """One movement of money, written by transfer_funds in the same transaction."""

    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("from_account_id <> to_account_id", name="distinct_accounts"),
    )

    from_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    to_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    transferred_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now(), index=True
    )

    from_account: Mapped[Account] = relationship(foreign_keys=[from_account_id], lazy="raise")
    to_account: Mapped[Account] = relationship(foreign_keys=[to_account_id], lazy="raise")
