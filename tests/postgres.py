"""Throwaway PostgreSQL databases for the tests, made on the server TEST_POSTGRES_URL names."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

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


class PrivateServer:
    """A PostgreSQL server of a test's own, on a spare port, that the test stops and starts
    (the shared server is never stopped). As root, it runs as the postgres system user: the
    server refuses to run as root."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        # Not under pytest's tmp_path: that is private to root, and the server's user
        # must reach its folder.
        self.folder = Path(tempfile.mkdtemp(prefix="records-desk-pg-"))
        self.data = self.folder / "data"
        self.port = _spare_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")
        self.running = False

    def url(self, database: str = "postgres") -> URL:
        return URL.create(
            "postgresql+asyncpg",
            username="postgres",
            host="127.0.0.1",
            port=self.port,
            database=database,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", log, "-o", options)
        self.running = True

    def stop(self) -> None:
        """Stop at once, as a crash or a pulled cable would: sessions get no goodbye."""
        self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data))
        self.running = False

    def create_database(self, name: str) -> URL:
        async def create() -> None:
            connection = await asyncpg.connect(_dsn(self.url()), timeout=10)
            try:
                await connection.execute(f'CREATE DATABASE "{name}"')
            finally:
                await connection.close()

        asyncio.run(create())
        return self.url(name)

    def remove(self) -> None:
        if self.running:
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self.bin / program), *arguments]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)


def private_server_problem() -> str | None:
    """Why a private server cannot be made here, or None."""
    try:
        _postgres_bin()
    except FileNotFoundError as error:
        return str(error)
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is missing: a server cannot be started as the postgres user"
    return None


def _postgres_bin() -> Path:
    found = shutil.which("pg_ctl")
    if found is not None:
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not candidates:
        raise FileNotFoundError("PostgreSQL's pg_ctl and initdb are not installed")
    return candidates[-1].parent


def _spare_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
