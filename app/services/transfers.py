"""Moving money between accounts, atomically and with a ledger entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from app.changes import ChangeKind, note
from app.core.database import Database
from app.models import Transfer
from app.models.types import InvalidValueError, to_money
from app.repositories import AccountRepository
from app.services import catalog
from app.services.errors import NotFoundError, ValidationError
from app.services.intents import once
from app.services.unit_of_work import unit_of_work
from app.services.validation import checked_values


@dataclass(frozen=True)
class TransferReceipt:
    transfer_id: int
    from_account: int
    to_account: int
    amount: Decimal
    from_balance: Decimal
    to_balance: Decimal
    transferred_at: datetime


async def transfer_funds(
    database: Database,
    from_account: int,
    to_account: int,
    amount: Decimal | int | str,
    *,
    token: str | None = None,
) -> TransferReceipt:
    """Move ``amount`` from one live account to another, or change nothing at all.

    Refuses non-positive amounts, overdrafts, a transfer to the same account and deleted
    accounts. Both rows are locked (in id order) before the balances are read, so concurrent
    transfers neither deadlock nor lose money. ``token``: the dialog's intent, which moves
    the money once however often it arrives (app.services.intents).
    """
    try:
        value = to_money(amount)
    except InvalidValueError as error:
        raise ValidationError(str(error), field="amount") from None
    if value <= 0:
        raise ValidationError("The amount must be greater than zero.", field="amount")
    if from_account == to_account:
        raise ValidationError("The two accounts must be different.", field="to_account_id")
    # An id beyond what the column holds is refused at its field, before the server would.
    checked_values(
        catalog.entity("transfers"),
        {"from_account_id": from_account, "to_account_id": to_account},
        creating=False,
    )
    with once(database, token):
        async with unit_of_work(database, write=True) as session:
            accounts = await AccountRepository(session).lock_for_update([from_account, to_account])
            for account_id, field in (
                (from_account, "from_account_id"),
                (to_account, "to_account_id"),
            ):
                account = accounts.get(account_id)
                if account is None:
                    raise NotFoundError(f"Account {account_id} does not exist.", field=field)
                if account.is_deleted:
                    raise ValidationError(
                        f"Account {account_id} is in the trash; restore it before moving money.",
                        field=field,
                    )
            source, target = accounts[from_account], accounts[to_account]
            if source.balance < value:
                raise ValidationError(
                    f"Account {from_account} holds {source.balance}, "
                    f"not enough to transfer {value}.",
                    field="amount",
                )
            source.balance -= value
            target.balance += value
            transfer = Transfer(
                from_account_id=from_account, to_account_id=to_account, amount=value
            )
            session.add(transfer)
            await session.flush()
            note(session, "accounts", ChangeKind.CHANGED, [from_account, to_account])
            note(session, "transfers", ChangeKind.ADDED, [transfer.id])
            return TransferReceipt(
                transfer_id=transfer.id,
                from_account=from_account,
                to_account=to_account,
                amount=value,
                from_balance=source.balance,
                to_balance=target.balance,
                transferred_at=transfer.transferred_at,
            )
