"""email unique ignoring case

An email address belongs to one user, whatever the letter case it is written in:
``A@x.org`` and ``a@x.org`` cannot both exist. The plain unique constraint
``uq_users_email`` becomes a unique index of the same name on the address with A–Z folded
to a–z, which both engines fold alike (the known trap: SQLite's lower() folds ASCII only,
PostgreSQL's every letter of its locale, so PostgreSQL folds under the C collation here):

- SQLite: ``lower(email)``
- PostgreSQL: ``lower(email COLLATE "C")``

Existing users whose addresses differ only in case are not merged or renamed: the upgrade
is refused, naming the addresses and the users holding them, and changes nothing (a local
file has been backed up beside itself before any upgrade already).

SQLite keeps a table's UNIQUE constraint in the table itself, so dropping it recreates
``users`` in batch mode (copy, drop, rename). Two things go with that table and are put
back here: the search triggers of the trigram_search_indexes revision (and its index is
rebuilt), and the rows other tables refer to. The foreign keys are on and cannot be turned
off inside the migration's transaction, and dropping a table that posts refer to breaks
them; so they are deferred to the commit, the rows are put aside, and the recreated table
is filled again, which satisfies every reference by the time the transaction commits.

A later migration that recreates ``users`` in SQLite batch mode must create this index
again: SQLAlchemy does not reflect expression indexes on SQLite, so the batch copy leaves
it out (tests/services/test_email_migration.py checks it is there at head).

Revision ID: 5e7a1c0de3a1
Revises: 14ae4a8f3cfc
Create Date: 2026-12-07 12:00:00.000000

"""
from collections.abc import Callable, Sequence

import sqlalchemy as sa

from alembic import op
from alembic.operations import BatchOperations
from app.services.errors import DatabaseUnavailableError

revision: str = '5e7a1c0de3a1'
down_revision: str | None = '14ae4a8f3cfc'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = 'uq_users_email'
# What makes two addresses one, per engine (frozen here: app.models.types.ascii_lower is
# the application's spelling of the same expression).
EMAIL_KEY = {'sqlite': 'lower(email)', 'postgresql': 'lower(email COLLATE "C")'}
# How many groups of duplicates the refusal names; the rest are counted.
NAMED_GROUPS = 10
# The search triggers of users, as the trigram_search_indexes revision made them.
SEARCH_TRIGGERS = (
    'CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN '
    'INSERT INTO users_fts(rowid, name, email) VALUES (new.id, new.name, new.email); END',
    'CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN '
    "INSERT INTO users_fts(users_fts, rowid, name, email) "
    "VALUES ('delete', old.id, old.name, old.email); END",
    'CREATE TRIGGER users_fts_update AFTER UPDATE OF id, name, email ON users BEGIN '
    "INSERT INTO users_fts(users_fts, rowid, name, email) "
    "VALUES ('delete', old.id, old.name, old.email); "
    'INSERT INTO users_fts(rowid, name, email) VALUES (new.id, new.name, new.email); END',
)


def upgrade() -> None:
    bind = op.get_bind()
    key = EMAIL_KEY[bind.dialect.name]
    _refuse_duplicates(bind, key)
    if bind.dialect.name == 'sqlite':
        _rebuild_sqlite_users(
            lambda batch_op: batch_op.drop_constraint(INDEX, type_='unique')
        )
    else:
        op.drop_constraint(INDEX, 'users', type_='unique')
    op.create_index(INDEX, 'users', [sa.text(key)], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name='users')
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_sqlite_users(
            lambda batch_op: batch_op.create_unique_constraint(INDEX, ['email'])
        )
    else:
        op.create_unique_constraint(INDEX, 'users', ['email'])


def _refuse_duplicates(bind: sa.Connection, key: str) -> None:
    """Nothing is changed, and the user is told which addresses to change, when two users
    hold one address in different cases (the trash counts: a trashed user keeps its address,
    to be restored with it)."""
    rows = bind.execute(
        sa.text(
            f'SELECT {key} AS address_key, id, email, deleted_at IS NOT NULL AS trashed '
            f'FROM users WHERE {key} IN '
            f'(SELECT {key} FROM users GROUP BY {key} HAVING count(*) > 1) '
            'ORDER BY address_key, id'
        )
    ).all()
    if not rows:
        return
    groups: dict[str, list[sa.Row[tuple[str, int, str, bool]]]] = {}
    for row in rows:
        groups.setdefault(row.address_key, []).append(row)
    named = [_group_text(group) for group in list(groups.values())[:NAMED_GROUPS]]
    if len(groups) > NAMED_GROUPS:
        named.append(f'and {len(groups) - NAMED_GROUPS:,} more')
    raise DatabaseUnavailableError(
        'The database was not upgraded: from this version on an email address belongs to '
        'one user only, whatever its letter case, and these addresses are held by more '
        f"than one user: {'; '.join(named)}. Give all but one user of each address another "
        'email (with the Records Desk you used before), then upgrade again.'
    )


def _group_text(group: list[sa.Row[tuple[str, int, str, bool]]]) -> str:
    addresses = ', '.join(dict.fromkeys(_quoted(row.email) for row in group))
    users = ', '.join(f"#{row.id}{' (in the trash)' if row.trashed else ''}" for row in group)
    return f'{addresses} (users {users})'


def _quoted(email: str) -> str:
    shown = email if len(email) <= 80 else email[:79] + '…'
    # An address with spaces or line breaks around it is shown so that they can be seen.
    return repr(shown) if shown != shown.strip() or not shown.isprintable() else shown


def _rebuild_sqlite_users(change: Callable[[BatchOperations], None]) -> None:
    """Recreate users with ``change`` in batch mode, its rows, references and search index
    kept (see the module's docstring)."""
    # Switched off again by SQLite itself at the commit, where the references are checked.
    op.execute('PRAGMA defer_foreign_keys = ON')
    op.execute('CREATE TEMP TABLE users_kept AS SELECT * FROM users')
    op.execute('DELETE FROM users')
    with op.batch_alter_table('users', recreate='always') as batch_op:
        change(batch_op)
    # Rows added to the table now named users are what satisfies the deferred references.
    columns = ', '.join(
        row[1] for row in op.get_bind().exec_driver_sql('PRAGMA table_info(users)')
    )
    op.execute(f'INSERT INTO users ({columns}) SELECT {columns} FROM users_kept')
    op.execute('DROP TABLE temp.users_kept')
    searchable = op.get_bind().exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users_fts'"
    ).first()
    if searchable is not None:
        for trigger in SEARCH_TRIGGERS:
            op.execute(trigger)
        op.execute("INSERT INTO users_fts(users_fts) VALUES ('rebuild')")
