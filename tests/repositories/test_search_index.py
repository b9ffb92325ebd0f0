"""The trigram search indexes: the search finds exactly what the plain scan finds, the
indexes follow every change to the rows, and the queries really use them.

PostgreSQL has GIN gin_trgm_ops indexes on the searchable columns; SQLite has an FTS5
trigram table per record kind, ``<table>_fts``, kept in step by triggers (see the
trigram_search_indexes migration).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import Database
from app.models import Base, User
from app.query import After, DeletedRows, OffsetPage, QuerySpec
from app.repositories import (
    REPOSITORIES,
    BaseRepository,
    ProfileRepository,
    UserRepository,
)
from app.repositories.base import Explain
from app.repositories.search import (
    DENSE_MATCHES,
    folded,
    search_table_name,
    trigram_index_name,
)
from app.services import migrations
from app.services.seeding import SeedOptions, seed_demo_data
from tests.repositories.factories import force, make_profile, make_user

BEFORE_SEARCH_INDEXES = "41f1b9b4cded"
SEARCHABLE = {name: repository.searchable for name, repository in REPOSITORIES.items()}

# Names and emails full of what means something to FTS5 queries, to LIKE or to SQL.
PEOPLE = [
    ("Ada Lovelace", "ada@analytical.org"),
    ("Grace Hopper", "grace@navy.mil"),
    ('say "hi" there', "quote@example.com"),
    ('""', "two.quotes@example.com"),
    ("star* power", "star@example.com"),
    ("Rock AND Roll", "and@example.com"),
    ("this OR that", "or@example.com"),
    ("NOT me", "not@example.com"),
    ("NEAR(a b)", "near@example.com"),
    ("minus -sign", "minus@example.com"),
    ("caret ^start", "caret@example.com"),
    ("name: colon", "colon@example.com"),
    ("{name email} : x", "braces@example.com"),
    ("(paren) +plus", "paren@example.com"),
    ("50%_off \\ back", "sale_50%@example.com"),
    ("O'Brien", "o'brien@example.com"),
    ("x", "x@y.z"),
    ("Émile Zoë", "emile@example.com"),
    ("ÉMILE ZOË", "EMILE.UPPER@EXAMPLE.COM"),
]
TERMS = [
    # three characters and more: the index
    "ada",
    "LOVELACE",
    "lytical.o",
    "example.com",
    "nothing like it",
    '"hi"',
    'say "',
    '""',
    '"',
    "r*",
    "star*",
    "AND",
    "and Roll",
    "OR",
    "NOT",
    "NOT me",
    "NEAR(",
    "NEAR(a b)",
    "-sign",
    "s -",
    "^start",
    "^st",
    "name:",
    "name: colon",
    "email:",
    "{name email}",
    "{name",
    ": x",
    "(paren)",
    "+plus",
    "50%_",
    "%_o",
    "\\ b",
    "\\",
    "'Br",
    "O'Brien",
    "émile",
    "ÉMILE",
    "zoë",
    "Zoë",
    # shorter: the scan
    "x",
    "x@",
    "%",
    "_",
    "''",
    "é",
    "",
    "  ",
]


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str


def expected_ids(people: list[Person], text: str) -> set[int]:
    """Plain Python: a substring, each character compared by the search's fold."""
    term = folded(text.strip())
    found = {p.id for p in people if term in folded(p.name) or term in folded(p.email)}
    if term.isascii() and term.isdigit() and int(term) <= 2**31 - 1:
        found |= {p.id for p in people if p.id == int(term)}
    return found


async def matching_ids(repository: BaseRepository[Any], text: str, *, use_index: bool) -> list[int]:
    table = repository.model.__table__
    statement = select(table.c.id).order_by(table.c.id)
    condition = repository.search_condition(text, use_index=use_index)
    if condition is not None:
        statement = statement.where(condition)
    return list((await repository.session.execute(statement)).scalars())


async def browsed_ids(
    repository: BaseRepository[Any], text: str, deleted: DeletedRows = DeletedRows.EXCLUDE
) -> list[int]:
    spec = QuerySpec(search=text, deleted=deleted)
    rows = await repository.browse(spec, OffsetPage(0, 1000))
    ids = [row.id for row in rows]
    assert await repository.count(spec) == len(ids)
    return ids


async def check_fts_in_step(session: AsyncSession) -> None:
    """SQLite: every FTS5 table holds exactly what its table holds (rank 1: compared with
    the external content). It fails with "database disk image is malformed" otherwise."""
    if session.bind.dialect.name != "sqlite":
        return
    for table in SEARCHABLE:
        if SEARCHABLE[table]:
            fts = search_table_name(table)
            await session.execute(
                # The names come from the code, never from input.
                text(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)")  # noqa: S608
            )


@pytest.fixture
async def people(database: Database) -> list[Person]:
    async with database.get_session(write=True) as session:
        users = [await make_user(session, name=name, email=email) for name, email in PEOPLE]
    return [Person(user.id, user.name, user.email) for user in users]


# -- the objects ---------------------------------------------------------------------------


async def test_the_search_indexes_exist_outside_the_metadata(database: Database) -> None:
    assert not any(name.endswith("_fts") for name in Base.metadata.tables)
    assert not any(
        index.name and index.name.endswith("_trgm")
        for table in Base.metadata.tables.values()
        for index in table.indexes
    )
    async with database.get_session() as session:
        for table, columns in SEARCHABLE.items():
            if database.is_sqlite:
                fts = search_table_name(table)
                if not columns:
                    found = await session.execute(
                        text("SELECT name FROM sqlite_master WHERE name = :name"), {"name": fts}
                    )
                    assert found.first() is None
                    continue
                info = await session.execute(text(f"PRAGMA table_info({fts})"))
                assert tuple(row.name for row in info) == columns
                triggers = await session.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
                    {"t": table},
                )
                assert set(triggers.scalars()) == {
                    f"{fts}_insert",
                    f"{fts}_update",
                    f"{fts}_delete",
                }
            else:
                indexes = await session.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"),
                    {"t": table},
                )
                trigram = {
                    row.indexname: row.indexdef
                    for row in indexes
                    if row.indexname.endswith("_trgm")
                }
                assert set(trigram) == {trigram_index_name(table, column) for column in columns}
                for column in columns:
                    definition = trigram[trigram_index_name(table, column)]
                    assert f"USING gin ({column} gin_trgm_ops)" in definition


# -- the same rows as before -----------------------------------------------------------------


async def test_indexed_search_finds_exactly_what_the_scan_finds(
    database: Database, people: list[Person]
) -> None:
    async with database.get_session() as session:
        repository = UserRepository(session)
        for term in TERMS:
            scanned = await matching_ids(repository, term, use_index=False)
            assert await matching_ids(repository, term, use_index=True) == scanned, term
            assert await browsed_ids(repository, term) == scanned, term
            assert [user.id for user in await repository.search(term, limit=1000)] == scanned
            assert set(scanned) == expected_ids(people, term), term


async def test_whole_numbers_match_the_id_and_the_text(
    database: Database, people: list[Person]
) -> None:
    async with database.get_session(write=True) as session:
        target = people[2]
        namesake = await make_user(session, name=f"room {target.id}00", email="room@hotel.com")
        everyone = [*people, Person(namesake.id, namesake.name, namesake.email)]
        repository = UserRepository(session)
        long_number = f"{target.id}00"  # three characters or more: through the index
        assert await browsed_ids(repository, long_number) == [namesake.id]
        for term in (long_number, str(target.id)):
            assert set(await browsed_ids(repository, term)) == expected_ids(everyone, term)
        assert target.id in await browsed_ids(repository, str(target.id))


FTS_SYNTAX = ['"', "*", "^", "-", "+", ":", "(", ")", "{", "}", " ", "AND", "OR", "NOT"]
SEARCH_TEXTS = st.one_of(
    st.lists(
        st.sampled_from([*FTS_SYNTAX, "NEAR(", "name", "email", "a", "e", "%", "_", "\\"]),
        max_size=6,
    ).map("".join),
    st.sampled_from([text for pair in PEOPLE for text in pair]).flatmap(
        lambda source: st.tuples(st.integers(0, len(source)), st.integers(0, len(source))).map(
            lambda bounds: source[min(bounds) : max(bounds)]
        )
    ),
)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(term=SEARCH_TEXTS)
@example(term='"abc" OR "def"')
@example(term="name:ada")
@example(term="ada*")
@example(term='" OR "')
async def test_fts_query_syntax_in_the_search_text_is_plain_text(
    database: Database, people: list[Person], term: str
) -> None:
    async with database.get_session() as session:
        repository = UserRepository(session)
        scanned = await matching_ids(repository, term, use_index=False)
        assert await matching_ids(repository, term, use_index=True) == scanned
        assert set(scanned) == expected_ids(people, term)


# -- the indexes follow the rows --------------------------------------------------------------


async def test_new_changed_and_deleted_rows_are_found_as_they_are_now(database: Database) -> None:
    async with database.get_session(write=True) as session:
        repository = UserRepository(session)
        user = await make_user(session, name="Hedy Lamarr", email="hedy@frequency.net")
        other = await make_user(session, name="Alan Turing", email="alan@bletchley.uk")
        await check_fts_in_step(session)
        assert await browsed_ids(repository, "lamarr") == [user.id]
        assert await browsed_ids(repository, "frequency") == [user.id]

        # An update through the repository: the old text is gone, the new text is found.
        await repository.update(user.id, name="Hedy Kiesler")
        await check_fts_in_step(session)
        assert await browsed_ids(repository, "lamarr") == []
        assert await browsed_ids(repository, "kiesler") == [user.id]
        assert await browsed_ids(repository, "frequency") == [user.id]

        # Only a column the index does not hold: nothing to redo, still found.
        await repository.update(user.id, is_active=False)
        await check_fts_in_step(session)
        assert await browsed_ids(repository, "kiesler") == [user.id]

        # A plain SQL update, as another program would make it.
        await session.execute(
            text("UPDATE users SET email = 'hedy@spread.spectrum' WHERE id = :id"),
            {"id": user.id},
        )
        await check_fts_in_step(session)
        assert await browsed_ids(repository, "frequency") == []
        assert await browsed_ids(repository, "spread.spec") == [user.id]

        # Soft delete: in the trash, found only when deleted rows are asked for.
        await repository.delete(user.id)
        await check_fts_in_step(session)
        assert await browsed_ids(repository, "kiesler") == []
        assert await browsed_ids(repository, "kiesler", DeletedRows.INCLUDE) == [user.id]
        assert await browsed_ids(repository, "kiesler", DeletedRows.ONLY) == [user.id]
        assert [u.id for u in await repository.search("kiesler")] == []

        await repository.restore(user.id)
        assert await browsed_ids(repository, "kiesler") == [user.id]

        # Hard delete: gone from the index too.
        await session.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})
        await check_fts_in_step(session)
        assert await browsed_ids(repository, "kiesler", DeletedRows.INCLUDE) == []
        assert await browsed_ids(repository, "turing") == [other.id]


async def test_nullable_columns_are_indexed_as_they_change(database: Database) -> None:
    async with database.get_session(write=True) as session:
        repository = ProfileRepository(session)
        profile = await make_profile(session, bio=None, avatar_url=None)
        assert await browsed_ids(repository, "violin") == []

        await repository.update(profile.id, bio="Plays the violin")
        await check_fts_in_step(session)
        assert await browsed_ids(repository, "VIOLIN") == [profile.id]

        await repository.update(profile.id, bio=None, avatar_url="/img/violin.png")
        await check_fts_in_step(session)
        assert await browsed_ids(repository, "plays") == []
        assert await browsed_ids(repository, "violin") == [profile.id]

        await force(session, profile, avatar_url=None)
        await check_fts_in_step(session)
        assert await browsed_ids(repository, "violin") == []
        await session.execute(text("DELETE FROM profiles"))
        await check_fts_in_step(session)


async def test_bulk_seeded_rows_are_indexed(database: Database) -> None:
    """The seeder writes through the raw driver (executemany / COPY): the triggers still
    see every row."""
    await seed_demo_data(database, SeedOptions(users=300, random_seed=7))
    async with database.get_session(write=True) as session:
        await check_fts_in_step(session)
        for repository_class in REPOSITORIES.values():
            repository = repository_class(session)
            for term in ("example", "an", "ing", "the", "ship", "Fund", "99"):
                scanned = await matching_ids(repository, term, use_index=False)
                assert await matching_ids(repository, term, use_index=True) == scanned


@pytest.fixture
async def database_before_the_indexes(empty_database_url: URL) -> Database:
    database = Database(empty_database_url)
    await migrations.upgrade(database, BEFORE_SEARCH_INDEXES)
    return database


async def test_the_migration_indexes_the_rows_already_there(
    database_before_the_indexes: Database,
) -> None:
    database = database_before_the_indexes
    try:
        async with database.get_session(write=True) as session:
            ada = await make_user(session, name="Ada Lovelace", email="ada@analytical.org")
            await make_user(session, name="Grace Hopper", email="grace@navy.mil")
            profile = await make_profile(session, ada, bio="Poetical science")

        await migrations.upgrade(database)

        async with database.get_session(write=True) as session:
            await check_fts_in_step(session)
            assert await browsed_ids(UserRepository(session), "lovelace") == [ada.id]
            assert await browsed_ids(ProfileRepository(session), "poetical") == [profile.id]
            # ...and follows new rows from then on.
            later = await make_user(session, name="Ada Yonath", email="ada@weizmann.ac.il")
            assert await browsed_ids(UserRepository(session), "ada ") == [ada.id, later.id]

        await migrations.downgrade(database, BEFORE_SEARCH_INDEXES)
        async with database.get_session() as session:
            if database.is_sqlite:
                leftovers = await session.execute(
                    text("SELECT name FROM sqlite_master WHERE name LIKE '%fts%'")
                )
            else:
                leftovers = await session.execute(
                    text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%trgm%'")
                )
            assert leftovers.scalars().all() == []
    finally:
        await database.dispose()


# -- the indexes are used ------------------------------------------------------------------


def test_sqlite_searches_of_three_characters_or_more_go_through_the_fts_table() -> None:
    class Bound:
        dialect = sqlite_dialect.dialect()

    class Session:
        bind = Bound

    repository = UserRepository(Session())  # type: ignore[arg-type]

    def sql(term: str) -> str:
        statement = repository.browse_statement(
            QuerySpec(search=term), After(None, 100), use_index=True
        )
        return str(statement.compile(dialect=Bound.dialect))

    assert "users_fts MATCH" in sql("ada")
    assert "users_fts" in sql("  a%c  ")
    assert "users_fts" not in sql("ad")
    assert "users_fts" not in sql(" ad ")
    assert "users_fts" not in sql("")


async def test_sqlite_query_plan_reads_the_fts_table(sqlite_database: Database) -> None:
    async with sqlite_database.get_session() as session:
        repository = UserRepository(session)
        statement = repository.browse_statement(
            QuerySpec(search="lovelace"), After(None, 100), use_index=True
        )
        compiled = statement.compile(
            dialect=session.bind.dialect, compile_kwargs={"literal_binds": True}
        )
        plan = await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        details = [row[-1] for row in plan]
        assert any("users_fts VIRTUAL TABLE" in detail for detail in details), details
        assert any("INTEGER PRIMARY KEY" in detail for detail in details), details


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in plan_nodes(child))]


@pytest.mark.postgresql
@pytest.mark.parametrize("engine_name", ["postgresql"])
async def test_postgres_plan_uses_the_trigram_indexes(database: Database) -> None:
    await seed_demo_data(
        database,
        SeedOptions(users=20_000, posts_per_user=0, orders_per_user=0, accounts_per_user=0),
    )
    async with database.get_session(write=True) as session:
        await make_user(session, name="Ada Lovelace", email="countess@analytical.org")
        # Rows COPYed in wait in the GIN indexes' pending list until a VACUUM; the planner
        # counts its pages against the index (as it should: every search reads them).
        for column in UserRepository.searchable:
            await session.execute(
                text("SELECT gin_clean_pending_list(CAST(:index AS regclass))"),
                {"index": trigram_index_name("users", column)},
            )
        await session.execute(text("ANALYZE users"))

    async with database.get_session() as session:
        repository = UserRepository(session)
        for term in ("lovelace", "analytical.o", "zz%_z"):
            statement = repository.browse_statement(QuerySpec(search=term), After(None, 100))
            plan = (await session.execute(Explain(statement))).scalar_one()
            document = json.loads(plan) if isinstance(plan, str) else plan
            used = {node.get("Index Name") for node in plan_nodes(document[0]["Plan"])}
            assert trigram_index_name("users", "name") in used, (term, document)
            assert trigram_index_name("users", "email") in used, (term, document)
        assert len(await repository.browse(QuerySpec(search="lovelace"), After(None, 100))) == 1


async def test_a_common_term_is_searched_by_walking_the_rows(database: Database) -> None:
    """On SQLite a term in thousands of rows skips the FTS table (collecting all its
    matches first would cost more than the page); the rows found are the same."""
    await seed_demo_data(
        database,
        SeedOptions(
            users=DENSE_MATCHES + 1_000, posts_per_user=0, orders_per_user=0, accounts_per_user=0
        ),
    )
    async with database.get_session() as session:
        repository = UserRepository(session)
        assert await repository.search_uses_index("lovelace")
        assert not await repository.search_uses_index("lo")
        assert await repository.search_uses_index("example.org") is not database.is_sqlite
        for term in ("example.org", "lovelace", "smith"):
            first_page = [user.id for user in await repository.search(term)]
            browsed = await repository.browse(QuerySpec(search=term), After(None, 100))
            assert [row.id for row in browsed] == first_page
            condition = repository.search_condition(term, use_index=False)
            assert condition is not None
            scanned = await session.execute(
                select(User.id)
                .where(User.deleted_at.is_(None), condition)
                .order_by(User.id)
                .limit(100)
            )
            assert first_page == list(scanned.scalars())


def test_the_searchable_columns_are_the_ones_the_migration_indexes() -> None:
    # The migration froze these columns; a change to a repository's searchable columns
    # needs a migration of its FTS table and trigram indexes too.
    assert SEARCHABLE == {
        "users": ("name", "email"),
        "profiles": ("bio", "avatar_url"),
        "posts": ("title", "content"),
        "orders": ("status",),
        "order_items": ("product",),
        "accounts": ("name",),
        "transfers": (),
    }
