"""opening balances

Every account gets the ledger's opening entry, ``opening_balance``: from now on a balance
is always its opening balance plus the transfers in minus the transfers out, and changes
only with a transfer. Existing accounts get the opening balance that makes their history
add up (their balance now, less what came in, plus what went out), which is negative for
an account whose balance was once set by hand below what its transfers explain: the ledger
then says so instead of hiding it.

Revision ID: 7b1d9e2f4c60
Revises: 5e7a1c0de3a1
Create Date: 2026-12-07 17:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from app.models.types import Money

revision: str = "7b1d9e2f4c60"
down_revision: str | None = "5e7a1c0de3a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on both engines (no batch copy on SQLite: the table's search
    # triggers stay as they are).
    op.add_column(
        "accounts",
        sa.Column("opening_balance", Money(), server_default="0", nullable=False),
    )
    # Both engines store money alike in their columns (cents on SQLite, NUMERIC on
    # PostgreSQL), so the arithmetic in SQL is exact on each.
    op.execute(
        "UPDATE accounts SET opening_balance = balance"
        " - COALESCE((SELECT SUM(amount) FROM transfers"
        " WHERE transfers.to_account_id = accounts.id), 0)"
        " + COALESCE((SELECT SUM(amount) FROM transfers"
        " WHERE transfers.from_account_id = accounts.id), 0)"
    )


def downgrade() -> None:
    # Not a batch copy on SQLite (3.35+ drops a column in place): the search triggers stay.
    op.execute("ALTER TABLE accounts DROP COLUMN opening_balance")
