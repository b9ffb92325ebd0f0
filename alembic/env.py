"""Alembic environment: async, with the app's own settings.

Run from the ``alembic`` command line it resolves the database like the app does
(``-x database_url=...``, ``RECORDS_DESK_DATABASE_URL``, saved settings, default file).
Run from the app it is handed an open connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

import asyncio
import re
import sys
import warnings
from collections.abc import Mapping
from logging.config import fileConfig

from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import SAWarning

from alembic import context
from app.config import SettingsError, load_settings
from app.core.database import create_engine
from app.models import Base

config = context.config
target_metadata = Base.metadata

# The search indexes (see the trigram_search_indexes revision) live outside Base.metadata:
# SQLite FTS5 tables ``<table>_fts`` with their shadow tables, PostgreSQL GIN trigram indexes
# ``ix_<table>_<column>_trgm``. Autogenerate must neither drop nor reflect them.
_SEARCH_TABLE = re.compile(r"\w+_fts(_(data|idx|content|docsize|config))?")
_SEARCH_INDEX = re.compile(r"ix_\w+_trgm")


def include_name(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    if name is None:
        return True
    if type_ == "table":
        return _SEARCH_TABLE.fullmatch(name) is None
    if type_ == "index":
        return _SEARCH_INDEX.fullmatch(name) is None
    return True


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=False,
        include_name=include_name,
    )
    with context.begin_transaction(), warnings.catch_warnings():
        # SQLAlchemy does not reflect expression indexes on SQLite (uq_users_email, see the
        # email_unique_ignoring_case revision): it warns at every batch copy of the table,
        # and Alembic at every autogenerate that it cannot compare the index. A test of its
        # own checks that the index is there (tests/services/test_email_migration.py).
        warnings.filterwarnings(
            "ignore", "Skipped unsupported reflection of expression-based index", SAWarning
        )
        warnings.filterwarnings(
            "ignore", "autogenerate skipping metadata-specified expression-based index"
        )
        context.run_migrations()


async def run_async_migrations(url: URL) -> None:
    engine = create_engine(url, null_pool=True)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    try:
        settings = load_settings(context.get_x_argument(as_dictionary=True).get("database_url"))
    except SettingsError as error:
        sys.exit(f"alembic: {error}")
    asyncio.run(run_async_migrations(settings.database_url))


if context.is_offline_mode():
    sys.exit("Offline (--sql) migrations are not supported; run against a database.")
run_migrations_online()
