"""Throwaway PostgreSQL databases for the tests, made on the server TEST_POSTGRES_URL names."""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg
from sqlalchemy.engine import URL, make_url

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/test"
REQUIRE_ENV = "RECORDS_DESK_REQUIRE_POSTGRES"


def server_url() -> URL:
    return make_url(os.environ.get("TEST_POSTGRES_URL", DEFAULT_SERVER_URL))


def postgres_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def _dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(_dsn(server_url()), timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def reachable() -> str | None:
    """None when the server answers, else why not (for the skip or failure message)."""
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        where = server_url().render_as_string(hide_password=True)
        return f"PostgreSQL at {where} is not reachable ({error}); set TEST_POSTGRES_URL"
    return None


def create_database(*, locale: str | None = None) -> URL:
    """A new empty database; ``locale`` sets its LC_COLLATE and LC_CTYPE (e.g. "C", where
    ILIKE and lower() fold ASCII letters only)."""
    name = f"records_desk_test_{uuid.uuid4().hex[:12]}"
    options = f" TEMPLATE template0 ENCODING 'UTF8' LOCALE '{locale}'" if locale else ""
    asyncio.run(_admin(f'CREATE DATABASE "{name}"{options}'))
    return server_url().set(drivername="postgresql+asyncpg", database=name)


def drop_database(url: URL) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
