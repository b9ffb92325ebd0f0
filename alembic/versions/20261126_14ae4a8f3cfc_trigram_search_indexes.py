"""trigram search indexes

Indexes for the search box (a case-insensitive substring match over each record's
searchable columns), so a search over millions of rows needs no full scan:

- PostgreSQL: the pg_trgm extension and a GIN ``gin_trgm_ops`` index on every searchable
  column; ``column ILIKE '%term%'`` uses them (a BitmapOr of the columns' indexes).
- SQLite: an FTS5 table with the trigram tokenizer per record kind, ``<table>_fts``, an
  external-content table over the searchable columns (it stores only the index; the text
  stays in the table), kept in step by AFTER INSERT/UPDATE/DELETE triggers and filled here
  for the rows that already exist. A SQLite without the trigram tokenizer (older than
  3.34) gets none of these: a warning, and the search reads every row instead.

None of these objects is in Base.metadata: alembic/env.py keeps autogenerate away from
them (``<table>_fts*`` tables, ``ix_*_trgm`` indexes).

A later migration that recreates one of these tables in SQLite batch mode (copy, drop,
rename) drops its triggers with it: it must create them again and rebuild the index.

Revision ID: 14ae4a8f3cfc
Revises: 41f1b9b4cded
Create Date: 2026-11-26 14:43:17.513367

"""
import logging
from collections.abc import Sequence

from alembic import op
from app.core import database

revision: str = '14ae4a8f3cfc'
down_revision: str | None = '41f1b9b4cded'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The searchable columns of each table, as the repositories had them at this revision
# (frozen here: a migration must not change when the application code does).
SEARCHABLE: dict[str, tuple[str, ...]] = {
    'users': ('name', 'email'),
    'profiles': ('bio', 'avatar_url'),
    'posts': ('title', 'content'),
    'orders': ('status',),
    'order_items': ('product',),
    'accounts': ('name',),
}
log = logging.getLogger('alembic.runtime.migration')


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        # A trusted extension since PostgreSQL 13: a database owner may create it.
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for table, columns in SEARCHABLE.items():
            for column in columns:
                op.create_index(
                    trigram_index(table, column),
                    table,
                    [column],
                    postgresql_using='gin',
                    postgresql_ops={column: 'gin_trgm_ops'},
                )
        return

    bind = op.get_bind()
    # Called through the module, so a test can stand in for an old SQLite.
    if not database.sqlite_fts5_tokenizer_available(bind, 'trigram'):
        version = bind.exec_driver_sql('SELECT sqlite_version()').scalar_one()
        log.warning(
            'SQLite %s has no FTS5 trigram tokenizer (it arrived in 3.34): no search '
            'indexes; searching reads every row, which is slower on large tables.',
            version,
        )
        return
    for table, columns in SEARCHABLE.items():
        fts = f'{table}_fts'
        names = ', '.join(columns)
        new = ', '.join(f'new.{column}' for column in columns)
        old = ', '.join(f'old.{column}' for column in columns)
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{table}', "
            f"content_rowid='id', tokenize='trigram')"
        )
        # The standard external-content recipe: 'delete' must be given the values that
        # were indexed, which are the old row's.
        op.execute(
            f'CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN '
            f'INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END'
        )
        op.execute(
            f'CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN '
            f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); END"
        )
        # Only when an indexed column is written: a soft delete or a version bump
        # leaves the index alone.
        op.execute(
            f'CREATE TRIGGER {fts}_update AFTER UPDATE OF id, {names} ON {table} BEGIN '
            f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); "
            f'INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END'
        )
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        # pg_trgm stays: other objects in the database may use it.
        for table, columns in SEARCHABLE.items():
            for column in columns:
                op.drop_index(trigram_index(table, column), table_name=table)
        return

    for table in SEARCHABLE:
        fts = f'{table}_fts'
        for event in ('insert', 'delete', 'update'):
            op.execute(f'DROP TRIGGER IF EXISTS {fts}_{event}')
        op.execute(f'DROP TABLE IF EXISTS {fts}')  # its shadow tables go with it


def trigram_index(table: str, column: str) -> str:
    return f'ix_{table}_{column}_trgm'
