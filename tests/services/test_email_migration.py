"""The email_unique_ignoring_case revision on a database holding data, on both engines:
addresses held twice in different cases refuse the upgrade in words and change nothing;
otherwise every row, reference and search index comes through, and down again."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError

from app.config import sqlite_url
from app.core.database import Database
from app.query import DeletedRows, OffsetPage, QuerySpec
from app.services import migrations
from app.services.errors import DatabaseUnavailableError
from app.services.records import RecordService

BEFORE = "14ae4a8f3cfc"
REVISION = "5e7a1c0de3a1"
# (id, email, trashed) as an older Records Desk could store them.
USERS = [
    (1, "Ada@Example.org", False),
    (2, "ada@example.org", True),
    (3, "grace@example.org", False),
    (4, "Linus@example.org", False),
    (5, "LINUS@EXAMPLE.ORG", False),
    (6, "linus@example.org", False),
]


@pytest.fixture
async def old_database(empty_database_url: URL) -> AsyncIterator[Database]:
    """A database at the revision before, holding USERS with a post each."""
    database = Database(empty_database_url)
    await migrations.upgrade(database, BEFORE)
    async with database.get_session(write=True) as session:
        for user_id, email, trashed in USERS:
            await session.execute(
                text(
                    "INSERT INTO users (id, email, name, hashed_password, deleted_at) "
                    "VALUES (:id, :email, :name, 'x', "
                    "CASE WHEN :trashed THEN CURRENT_TIMESTAMP END)"
                ),
                {"id": user_id, "email": email, "name": f"User {user_id}", "trashed": trashed},
            )
            await session.execute(
                text("INSERT INTO posts (title, author_id) VALUES (:title, :id)"),
                {"title": f"Post of {user_id}", "id": user_id},
            )
        if not database.is_sqlite:  # ids given above: the sequence goes on after them
            await session.execute(text("SELECT setval('users_id_seq', max(id)) FROM users"))
    yield database
    await database.dispose()


async def current_revision(database: Database) -> str | None:
    return (await migrations.schema_state(database)).current


async def give_other_addresses(database: Database, ids: list[int]) -> None:
    async with database.get_session(write=True) as session:
        for user_id in ids:
            await session.execute(
                text("UPDATE users SET email = :email WHERE id = :id"),
                {"email": f"user{user_id}@example.org", "id": user_id},
            )


async def test_case_duplicates_refuse_the_upgrade_naming_them(old_database: Database) -> None:
    with pytest.raises(DatabaseUnavailableError) as refused:
        await migrations.upgrade(old_database)

    assert str(refused.value) == (
        "The database was not upgraded: from this version on an email address belongs to one "
        "user only, whatever its letter case, and these addresses are held by more than one "
        "user: Ada@Example.org, ada@example.org (users #1, #2 (in the trash)); "
        "Linus@example.org, LINUS@EXAMPLE.ORG, linus@example.org (users #4, #5, #6). "
        "Give all but one user of each address another email (with the Records Desk you used "
        "before), then upgrade again."
    )
    assert await current_revision(old_database) == BEFORE


async def test_without_duplicates_every_row_and_reference_comes_through(
    old_database: Database,
) -> None:
    await give_other_addresses(old_database, [2, 5, 6])

    assert (await migrations.upgrade(old_database)).up_to_date

    records = RecordService(old_database)
    users = await records.browse(
        "users", QuerySpec(deleted=DeletedRows.INCLUDE), OffsetPage(0, 100)
    )
    found = {row[0]: row[users.columns.index("email")] for row in users.rows}
    assert found == {
        1: "Ada@Example.org",
        2: "user2@example.org",
        3: "grace@example.org",
        4: "Linus@example.org",
        5: "user5@example.org",
        6: "user6@example.org",
    }
    assert (await records.get("users", 2))["deleted_at"] is not None
    posts = await records.browse("posts", QuerySpec(), OffsetPage(0, 100))
    author = posts.columns.index("author_id")
    assert sorted(row[author] for row in posts.rows) == [1, 2, 3, 4, 5, 6]
    # The search index of users (rebuilt on SQLite) finds old and new users.
    made = await records.create(
        "users", {"email": "new@example.org", "name": "Newcomer"}, password="correct horse"
    )
    for term, expected in (("grace", {3}), ("Newcomer", {made["id"]}), ("LINUS@", {4})):
        page = await records.browse("users", QuerySpec(search=term), OffsetPage(0, 10))
        assert {row[0] for row in page.rows} == expected, term
    # The database itself now refuses an address in another case.
    with pytest.raises(IntegrityError):
        async with old_database.get_session(write=True) as session:
            await session.execute(
                text(
                    "INSERT INTO users (email, name, hashed_password) "
                    "VALUES ('GRACE@example.org', 'Copy', 'x')"
                )
            )


async def test_down_again_keeps_the_rows_and_the_plain_unique_constraint(
    old_database: Database,
) -> None:
    await give_other_addresses(old_database, [2, 5, 6])
    await migrations.upgrade(old_database, REVISION)

    await migrations.downgrade(old_database, BEFORE)

    assert await current_revision(old_database) == BEFORE
    async with old_database.get_session(write=True) as session:
        count = await session.scalar(
            text("SELECT count(*) FROM posts JOIN users ON users.id = posts.author_id")
        )
        assert count == len(USERS)
        # Only the exact address is unique again, as it was before this revision.
        await session.execute(
            text(
                "INSERT INTO users (email, name, hashed_password) "
                "VALUES ('GRACE@example.org', 'Copy', 'x')"
            )
        )
    with pytest.raises(IntegrityError):
        async with old_database.get_session(write=True) as session:
            await session.execute(
                text(
                    "INSERT INTO users (email, name, hashed_password) "
                    "VALUES ('grace@example.org', 'Copy', 'x')"
                )
            )
    async with old_database.get_session(write=True) as session:
        await session.execute(text("DELETE FROM users WHERE email = 'GRACE@example.org'"))
    assert (await migrations.upgrade(old_database, REVISION)).current == REVISION


async def test_a_local_file_with_duplicates_is_backed_up_and_left_as_it_was(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shop.db"
    database = Database(sqlite_url(path))
    try:
        await migrations.upgrade(database, BEFORE)
        async with database.get_session(write=True) as session:
            for email in ("a@x.org", "A@x.org"):
                await session.execute(
                    text(
                        "INSERT INTO users (email, name, hashed_password) VALUES (:email, 'A', 'x')"
                    ),
                    {"email": email},
                )
        with pytest.raises(DatabaseUnavailableError, match=re.escape("a@x.org, A@x.org")):
            await migrations.prepare_for_use(database)
        assert await current_revision(database) == BEFORE
    finally:
        await database.dispose()
    backups = [name for name in os.listdir(tmp_path) if name.startswith(f"shop.backup-{BEFORE}-")]
    assert len(backups) == 1
