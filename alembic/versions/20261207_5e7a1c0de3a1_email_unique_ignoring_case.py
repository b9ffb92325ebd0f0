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
``users`` (create the new table from the old one's own CREATE statement less the
constraint, copy, drop, rename). What goes with that table is put back here: its indexes,
the search triggers of the trigram_search_indexes revision (and its index is rebuilt), and
the rows other tables refer to. The foreign keys are on and cannot be turned
off inside the migration's transaction, and dropping a table that posts refer to breaks
them; so they are deferred to the commit, by which time the recreated table, filled
again, satisfies every reference.

A later migration that recreates ``users`` in SQLite batch mode must create this index
again: SQLAlchemy does not reflect expression indexes on SQLite, so a batch copy leaves
it out (tests/services/test_email_migration.py checks it is there at head).

Revision ID: 5e7a1c0de3a1
Revises: 14ae4a8f3cfc
Create Date: 2026-12-07 12:00:00.000000

"""
import re
from collections.abc import Callable, Sequence

import sqlalchemy as sa

from alembic import op
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


def upgrade() -> None:
    bind = op.get_bind()
    key = EMAIL_KEY[bind.dialect.name]
    _refuse_duplicates(bind, key)
    if bind.dialect.name == 'sqlite':
        _rebuild_sqlite_users(_without_unique_email)
    else:
        op.drop_constraint(INDEX, 'users', type_='unique')
    op.create_index(INDEX, 'users', [sa.text(key)], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name='users')
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_sqlite_users(_with_unique_email)
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


def _rebuild_sqlite_users(change: Callable[[str], str]) -> None:
    """Recreate users with its CREATE TABLE statement changed by ``change``, its rows,
    references, indexes and triggers kept (see the module's docstring). By hand rather than
    in batch mode: a batch copy lists the CHECK constraints in whatever order a set gives,
    so two upgrades made different schemas (the bundle's empty database template and the
    migrations' result must be the same file)."""
    bind = op.get_bind()
    create = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'"
    ).scalar_one()
    # Indexes and triggers go with the table they are on: made again, as they were.
    kept = [
        row[0]
        for row in bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'users' "
            "AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name"
        )
    ]
    # Switched off again by SQLite itself at the commit, where the references are checked:
    # the rows are put aside and the table emptied first, so that dropping it breaks no
    # reference, and the rows put back into the new table mend the ones emptying broke.
    op.execute('PRAGMA defer_foreign_keys = ON')
    op.execute('CREATE TEMP TABLE users_kept AS SELECT * FROM users')
    op.execute('DELETE FROM users')
    op.execute(
        re.sub(r'^CREATE TABLE (?:"users"|users(?=[\s(]))', 'CREATE TABLE users_new', change(create))
    )
    op.execute('DROP TABLE users')
    op.execute('ALTER TABLE users_new RENAME TO users')
    op.execute('INSERT INTO users SELECT * FROM temp.users_kept')
    op.execute('DROP TABLE temp.users_kept')
    for statement in kept:
        op.execute(statement)
    searchable = bind.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users_fts'"
    ).first()
    if searchable is not None:
        op.execute("INSERT INTO users_fts(users_fts) VALUES ('rebuild')")


_UNIQUE_EMAIL = f'CONSTRAINT {INDEX} UNIQUE (email)'


def _without_unique_email(create: str) -> str:
    changed = re.sub(rf',\s*{re.escape(_UNIQUE_EMAIL)}', '', create, count=1)
    assert changed != create, 'users has no uq_users_email constraint to drop'
    return changed


def _with_unique_email(create: str) -> str:
    head, _, tail = create.rpartition(')')
    return f'{head.rstrip()}, \n\t{_UNIQUE_EMAIL}\n){tail}'
