"""The empty database at head as a SQL script: what a first start runs instead of Alembic.

``resources/empty-database.sql`` holds the schema the migrations make of a new SQLite file
(every table, index and trigger as SQLite itself records it, and the revision). Running
it takes a few milliseconds where loading Alembic and running every revision takes a
quarter of a second, from source and from the bundle alike. It is text, so it reads in a
diff beside the migration that changed it, and it does not depend on the SQLite that made
it. A test keeps it equal to the migrations' result; after a new revision, regenerate it:

    uv run python -m app.services.empty_database
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

log = logging.getLogger(__name__)

SCRIPT_NAME = "empty-database.sql"
_REVISION = re.compile(r"^INSERT INTO alembic_version \(version_num\) VALUES \('(\w+)'\);$", re.M)
# SQLite records these in sqlite_master in the order they were made; tables go first
# so that every index and trigger finds its table.
_KIND_ORDER = ("table", "index", "trigger", "view")


def script_path(install_dir: Path) -> Path:
    return install_dir / "resources" / SCRIPT_NAME


def script_of(database: Path) -> str:
    """The script that makes an empty copy of ``database`` (a migrated SQLite file)."""
    with closing(sqlite3.connect(database)) as connection:
        # A virtual table makes its own shadow tables; SQLite's autoindexes have no SQL.
        shadows = {
            name
            for (name,) in connection.execute(
                "SELECT name FROM pragma_table_list WHERE type = 'shadow'"
            )
        }
        entries = connection.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
        ).fetchall()
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    statements = [
        f"{sql};"
        for kind in _KIND_ORDER
        for entry_kind, name, sql in entries
        if entry_kind == kind and name not in shadows
    ]
    header = (
        f"-- The empty Records Desk database at revision {revision}: what the migrations in\n"
        "-- alembic/versions make of a new SQLite file. A first start runs this instead.\n"
        "-- Made by `uv run python -m app.services.empty_database`; do not edit by hand.\n"
    )
    if not re.fullmatch(r"\w+", revision):
        raise ValueError(f"not a revision id: {revision!r}")
    # A revision id (checked above), not a value of anyone's.
    insert = f"INSERT INTO alembic_version (version_num) VALUES ('{revision}');"  # noqa: S608
    return header + "BEGIN;\n" + "\n".join([*statements, insert]) + "\nCOMMIT;\n"


def revision_of(script: str) -> str | None:
    found = _REVISION.search(script)
    return found.group(1) if found else None


def make_from_script(path: Path, script: Path, revision: str) -> bool:
    """Make the SQLite file ``path``, which does not exist yet, by running ``script`` when it
    is at ``revision``. False, with nothing changed, when the script is missing or of
    another revision, the file exists, or it cannot be made: the migrations make it then."""
    if path.exists():
        return False
    try:
        text = script.read_text(encoding="utf-8")
    except OSError:
        return False
    if revision_of(text) != revision:
        log.warning("%s is not at revision %s: the migrations make the database", script, revision)
        return False
    staged = path.with_name(f".{path.name}.{os.getpid()}.new")
    try:
        staged.unlink(missing_ok=True)
        with closing(sqlite3.connect(staged, isolation_level=None)) as connection:
            connection.executescript(text)
        # A hard link appears whole and refuses to replace a file: another start making
        # the same database meanwhile keeps its own, which this one then opens.
        os.link(staged, path)
    except FileExistsError:
        return False
    except (OSError, sqlite3.Error) as error:
        log.info("the new database %s is made by the migrations instead: %s", path, error)
        return False
    finally:
        staged.unlink(missing_ok=True)
    log.info("made the new database %s from %s", path, script.name)
    return True


def _write_script() -> int:
    """Regenerate resources/empty-database.sql from the migrations (a maintainer's command)."""
    import asyncio
    import tempfile

    from app.config import sqlite_url
    from app.core.database import Database
    from app.services import migrations

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "empty.db"
        database = Database(sqlite_url(path))

        async def migrate() -> None:
            try:
                await migrations.upgrade(database)
            finally:
                await database.dispose()

        asyncio.run(migrate())
        target = script_path(migrations.install_dir())
        target.write_text(script_of(path), encoding="utf-8", newline="\n")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(_write_script())
