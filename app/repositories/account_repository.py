"""Accounts and the transfers between them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from app.models import Account, Transfer
from app.repositories.base import BaseRepository


class AccountRepository(BaseRepository[Account]):
    model = Account
    searchable = ("name",)

    async def lock_for_update(self, ids: Sequence[int]) -> dict[int, Account]:
        """Load the accounts and hold their rows until the transaction ends.

        Rows are locked in id order, so two transfers over the same pair of accounts in
        opposite directions queue up instead of deadlocking. (SQLite has no row locks;
        its writers hold the whole database from BEGIN IMMEDIATE.)
        """
        result = await self.session.execute(
            select(Account)
            .where(Account.id.in_(sorted(set(ids))))
            .order_by(Account.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return {account.id: account for account in result.scalars()}


class TransferRepository(BaseRepository[Transfer]):
    model = Transfer
