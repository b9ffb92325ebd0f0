"""UserRepository's own queries: by email, the active users, and the search box."""

from __future__ import annotations

from app.core.database import Database
from app.repositories import UserRepository
from tests.repositories.factories import force, make_user, moment


async def test_find_by_email_finds_the_user(database: Database) -> None:
    async with database.get_session(write=True) as session:
        await make_user(session, email="grace@example.com", name="Grace")
        ada = await make_user(session, email="ada@example.com", name="Ada")

    async with database.get_session() as session:
        found = await UserRepository(session).find_by_email("ada@example.com")
        missing = await UserRepository(session).find_by_email("nobody@example.com")

    assert found is not None
    assert (found.id, found.name) == (ada.id, "Ada")
    assert missing is None


async def test_find_by_email_is_an_exact_match(database: Database) -> None:
    async with database.get_session(write=True) as session:
        await make_user(session, email="ada@example.com")

    async with database.get_session() as session:
        repository = UserRepository(session)
        assert await repository.find_by_email("ada@example") is None
        assert await repository.find_by_email("%@example.com") is None
        assert await repository.find_by_email("ADA@EXAMPLE.COM") is None


async def test_find_by_email_ignores_deleted_users(database: Database) -> None:
    async with database.get_session(write=True) as session:
        user = await make_user(session, email="ada@example.com")
        await UserRepository(session).delete(user.id)

    async with database.get_session(write=True) as session:
        repository = UserRepository(session)
        assert await repository.find_by_email("ada@example.com") is None
        await repository.restore(user.id)
        restored = await repository.find_by_email("ada@example.com")

    assert restored is not None
    assert restored.id == user.id


async def test_find_active_leaves_out_inactive_and_deleted_users(database: Database) -> None:
    async with database.get_session(write=True) as session:
        active = await make_user(session, name="active")
        await make_user(session, name="inactive", is_active=False)
        deleted = await make_user(session, name="deleted")
        await UserRepository(session).delete(deleted.id)
        inactive_and_deleted = await make_user(session, is_active=False)
        await UserRepository(session).delete(inactive_and_deleted.id)

    async with database.get_session() as session:
        found = await UserRepository(session).find_active()

    assert [user.id for user in found] == [active.id]


async def test_find_active_lists_the_newest_first(database: Database) -> None:
    async with database.get_session(write=True) as session:
        # Ids and creation times deliberately disagree; two users share a creation time.
        oldest = await make_user(session, name="oldest")
        newest = await make_user(session, name="newest")
        tie_low = await make_user(session, name="tie, lower id")
        tie_high = await make_user(session, name="tie, higher id")
        await force(session, oldest, created_at=moment(1))
        await force(session, newest, created_at=moment(20))
        await force(session, tie_low, created_at=moment(10))
        await force(session, tie_high, created_at=moment(10))

    async with database.get_session() as session:
        repository = UserRepository(session)
        everyone = await repository.find_active()
        first_two = await repository.find_active(skip=0, limit=2)
        last_two = await repository.find_active(skip=2, limit=2)

    expected = [newest.id, tie_high.id, tie_low.id, oldest.id]
    assert [user.id for user in everyone] == expected
    assert [user.id for user in first_two] == expected[:2]
    assert [user.id for user in last_two] == expected[2:]


async def test_search_matches_name_or_email_ignoring_case(database: Database) -> None:
    async with database.get_session(write=True) as session:
        ada = await make_user(session, name="Ada Lovelace", email="ada@analytical.org")
        grace = await make_user(session, name="Grace Hopper", email="grace@navy.mil")
        alan = await make_user(session, name="Alan Turing", email="alan@bletchley.uk")

    async with database.get_session() as session:
        repository = UserRepository(session)

        async def ids(query: str) -> list[int]:
            return [user.id for user in await repository.search(query)]

        assert await ids("lovelace") == [ada.id]
        assert await ids("HOPPER") == [grace.id]
        assert await ids("navy.MIL") == [grace.id]  # in the email only
        assert await ids("al") == [ada.id, alan.id]  # "analytical", "Alan"
        assert await ids("  turing  ") == [alan.id]  # surrounding blanks are ignored
        assert await ids("nobody") == []


async def test_search_of_blank_text_lists_every_live_user(database: Database) -> None:
    async with database.get_session(write=True) as session:
        users = [await make_user(session) for _ in range(3)]
        await UserRepository(session).delete(users[1].id)

    async with database.get_session() as session:
        found = await UserRepository(session).search("   ")

    assert [user.id for user in found] == [users[0].id, users[2].id]


async def test_search_leaves_out_deleted_users(database: Database) -> None:
    async with database.get_session(write=True) as session:
        kept = await make_user(session, name="Smith, kept")
        gone = await make_user(session, name="Smith, deleted")
        await UserRepository(session).delete(gone.id)

    async with database.get_session() as session:
        found = await UserRepository(session).search("smith")
        by_id = await UserRepository(session).search(str(gone.id))

    assert [user.id for user in found] == [kept.id]
    assert by_id == []


async def test_search_by_number_also_matches_the_id(database: Database) -> None:
    async with database.get_session(write=True) as session:
        people = [await make_user(session, name=f"person {letter}") for letter in "abc"]
        target = people[1]
        # The digits of the target's id also appear in this user's name.
        namesake = await make_user(session, name=f"agent {target.id}")

    async with database.get_session() as session:
        found = await UserRepository(session).search(str(target.id))

    assert [user.id for user in found] == [target.id, namesake.id]


async def test_search_respects_the_limit_in_id_order(database: Database) -> None:
    async with database.get_session(write=True) as session:
        users = [await make_user(session, name=f"same name {n}") for n in range(5)]

    async with database.get_session() as session:
        found = await UserRepository(session).search("same name", limit=3)

    assert [user.id for user in found] == [user.id for user in users[:3]]
