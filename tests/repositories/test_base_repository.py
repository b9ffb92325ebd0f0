"""The generic repository: create, read, update with versions, soft delete and restore."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from app.core.database import Database
from app.models import Account
from app.models.types import InvalidValueError
from app.repositories import (
    AccountRepository,
    ProfileRepository,
    StaleVersionError,
    UserRepository,
)
from tests.repositories.factories import make_account, make_profile, make_user

MANAGED = ["id", "created_at", "updated_at", "deleted_at", "version"]


# -- create and read ---------------------------------------------------------------------------


async def test_create_fills_the_managed_columns(database: Database) -> None:
    async with database.get_session(write=True) as session:
        user = await UserRepository(session).create(
            name="Ada", email="ada@example.com", hashed_password="h"
        )

    assert user.id >= 1
    assert user.version == 1
    assert user.deleted_at is None
    assert user.is_active is True
    assert user.created_at.tzinfo is not None
    assert user.updated_at.tzinfo is not None
    assert user.created_at <= datetime.now(UTC)


async def test_created_record_is_found_in_a_later_session(database: Database) -> None:
    async with database.get_session(write=True) as session:
        user = await make_user(session, name="Ada", email="ada@example.com")

    async with database.get_session() as session:
        found = await UserRepository(session).find_by_id(user.id)

    assert found is not None
    assert (found.id, found.name, found.email, found.version) == (
        user.id,
        "Ada",
        "ada@example.com",
        1,
    )


async def test_find_by_id_of_a_missing_record_is_none(database: Database) -> None:
    async with database.get_session() as session:
        assert await UserRepository(session).find_by_id(12345) is None
        assert await UserRepository(session).find_by_id(12345, include_deleted=True) is None


async def test_find_all_pages_through_live_records_in_id_order(database: Database) -> None:
    async with database.get_session(write=True) as session:
        users = [await make_user(session) for _ in range(7)]
        repository = UserRepository(session)

        everyone = await repository.find_all()
        first = await repository.find_all(skip=0, limit=3)
        middle = await repository.find_all(skip=3, limit=3)
        last = await repository.find_all(skip=6, limit=3)
        beyond = await repository.find_all(skip=7, limit=3)

    ids = [user.id for user in users]
    assert [user.id for user in everyone] == ids
    assert [user.id for user in first] == ids[0:3]
    assert [user.id for user in middle] == ids[3:6]
    assert [user.id for user in last] == ids[6:7]
    assert beyond == []


async def test_count_counts_live_records(database: Database) -> None:
    async with database.get_session(write=True) as session:
        repository = UserRepository(session)
        assert await repository.count() == 0
        for _ in range(4):
            await make_user(session)
        assert await repository.count() == 4


# -- soft delete and restore ------------------------------------------------------------------


async def test_soft_delete_hides_the_record_but_keeps_the_row(database: Database) -> None:
    async with database.get_session(write=True) as session:
        keep = await make_user(session)
        gone = await make_user(session)

    async with database.get_session(write=True) as session:
        assert await UserRepository(session).delete(gone.id) is True

    async with database.get_session() as session:
        repository = UserRepository(session)
        assert await repository.find_by_id(gone.id) is None
        assert [user.id for user in await repository.find_all()] == [keep.id]
        assert await repository.count() == 1

        kept_row = await repository.find_by_id(gone.id, include_deleted=True)
        assert kept_row is not None
        assert kept_row.deleted_at is not None
        assert kept_row.is_deleted


async def test_restore_brings_a_deleted_record_back(database: Database) -> None:
    async with database.get_session(write=True) as session:
        user = await make_user(session)
    async with database.get_session(write=True) as session:
        assert await UserRepository(session).delete(user.id) is True
    async with database.get_session(write=True) as session:
        assert await UserRepository(session).restore(user.id) is True

    async with database.get_session() as session:
        repository = UserRepository(session)
        found = await repository.find_by_id(user.id)
        assert found is not None
        assert found.deleted_at is None
        assert [row.id for row in await repository.find_all()] == [user.id]
        assert await repository.count() == 1


async def test_delete_and_restore_report_when_nothing_changes(database: Database) -> None:
    async with database.get_session(write=True) as session:
        repository = UserRepository(session)
        user = await make_user(session)

        assert await repository.restore(user.id) is False  # not in the trash
        assert await repository.delete(user.id) is True
        assert await repository.delete(user.id) is False  # already in the trash
        assert await repository.restore(user.id) is True
        assert await repository.restore(user.id) is False
        assert await repository.delete(999_999) is False  # no such row
        assert await repository.restore(999_999) is False

    async with database.get_session() as session:
        found = await UserRepository(session).find_by_id(user.id)
    assert found is not None
    # Only the one delete and the one restore changed the row.
    assert found.version == 3


async def test_delete_refreshes_a_record_already_loaded_in_the_session(
    database: Database,
) -> None:
    async with database.get_session(write=True) as session:
        repository = UserRepository(session)
        user = await make_user(session)

        seen = [(user.is_deleted, user.version)]
        assert await repository.delete(user.id) is True
        seen.append((user.is_deleted, user.version))
        assert await repository.restore(user.id) is True
        seen.append((user.is_deleted, user.version))

    # The very object loaded before each change shows the new flag and version.
    assert seen == [(False, 1), (True, 2), (False, 3)]


async def test_delete_with_a_stale_version_is_refused(database: Database) -> None:
    async with database.get_session(write=True) as session:
        user = await make_user(session)
        await UserRepository(session).update(user.id, name="renamed")  # version 2

    async with database.get_session(write=True) as session:
        with pytest.raises(StaleVersionError) as raised:
            await UserRepository(session).delete(user.id, expected_version=1)
    assert (raised.value.expected, raised.value.actual) == (1, 2)

    async with database.get_session(write=True) as session:
        repository = UserRepository(session)
        assert await repository.find_by_id(user.id) is not None
        assert await repository.delete(user.id, expected_version=2) is True
        with pytest.raises(StaleVersionError):
            await repository.restore(user.id, expected_version=2)
        assert await repository.restore(user.id, expected_version=3) is True


# -- update and versions -----------------------------------------------------------------------


async def test_update_changes_the_given_columns_only(database: Database) -> None:
    async with database.get_session(write=True) as session:
        user = await make_user(session, name="Ada", email="ada@example.com")
    async with database.get_session(write=True) as session:
        updated = await UserRepository(session).update(user.id, name="Ada Lovelace")

    assert updated is not None
    assert updated.name == "Ada Lovelace"
    assert updated.email == "ada@example.com"
    async with database.get_session() as session:
        found = await UserRepository(session).find_by_id(user.id)
    assert found is not None
    assert (found.name, found.email) == ("Ada Lovelace", "ada@example.com")


async def test_update_of_a_missing_record_is_none(database: Database) -> None:
    async with database.get_session(write=True) as session:
        assert await UserRepository(session).update(424242, name="nobody") is None


async def test_version_grows_by_one_on_each_change(database: Database) -> None:
    async with database.get_session(write=True) as session:
        user = await make_user(session)
    versions = [user.version]
    updated_at = [user.updated_at]

    for change in ("rename", "delete", "restore", "deactivate"):
        async with database.get_session(write=True) as session:
            repository = UserRepository(session)
            if change == "rename":
                await repository.update(user.id, name="renamed")
            elif change == "delete":
                await repository.delete(user.id)
            elif change == "restore":
                await repository.restore(user.id)
            else:
                await repository.update(user.id, is_active=False)
            found = await repository.find_by_id(user.id, include_deleted=True)
            assert found is not None
            versions.append(found.version)
            updated_at.append(found.updated_at)

    assert versions == [1, 2, 3, 4, 5]
    assert updated_at == sorted(updated_at)


async def test_update_with_the_current_version_succeeds(database: Database) -> None:
    async with database.get_session(write=True) as session:
        user = await make_user(session)
    async with database.get_session(write=True) as session:
        updated = await UserRepository(session).update(user.id, expected_version=1, name="v2")
    assert updated is not None
    assert (updated.name, updated.version) == ("v2", 2)


async def test_update_with_a_stale_version_raises_and_changes_nothing(
    database: Database,
) -> None:
    async with database.get_session(write=True) as session:
        user = await make_user(session, name="original")
        await UserRepository(session).update(user.id, name="second")  # now version 2

    with pytest.raises(StaleVersionError) as raised:
        async with database.get_session(write=True) as session:
            await UserRepository(session).update(user.id, expected_version=1, name="lost edit")
    assert (raised.value.expected, raised.value.actual) == (1, 2)

    async with database.get_session() as session:
        found = await UserRepository(session).find_by_id(user.id)
    assert found is not None
    assert (found.name, found.version) == ("second", 2)


async def test_update_can_clear_a_nullable_column(database: Database) -> None:
    async with database.get_session(write=True) as session:
        profile = await make_profile(session, bio="Writes compilers.", avatar_url="a.png")
    async with database.get_session(write=True) as session:
        updated = await ProfileRepository(session).update(profile.id, bio=None)
    assert updated is not None
    assert updated.version == 2

    async with database.get_session() as session:
        found = await ProfileRepository(session).find_by_id(profile.id)
    assert found is not None
    assert (found.bio, found.avatar_url) == (None, "a.png")


async def test_update_can_edit_a_deleted_record(database: Database) -> None:
    async with database.get_session(write=True) as session:
        user = await make_user(session)
        await UserRepository(session).delete(user.id)
    async with database.get_session(write=True) as session:
        updated = await UserRepository(session).update(user.id, name="edited in the trash")
    assert updated is not None
    assert updated.name == "edited in the trash"
    assert updated.deleted_at is not None


async def test_update_of_money_keeps_exact_cents(database: Database) -> None:
    async with database.get_session(write=True) as session:
        account = await make_account(session, balance=Decimal("10.00"))
    async with database.get_session(write=True) as session:
        await AccountRepository(session).update(account.id, balance="0.10")
    async with database.get_session() as session:
        found = await AccountRepository(session).find_by_id(account.id)
    assert found is not None
    assert found.balance == Decimal("0.10")


# -- columns a caller may not set --------------------------------------------------------------


@pytest.mark.parametrize("column", MANAGED)
async def test_create_refuses_managed_columns(database: Database, column: str) -> None:
    values = {"name": "Ada", "email": "ada@example.com", "hashed_password": "h"}
    async with database.get_session(write=True) as session:
        repository = UserRepository(session)
        with pytest.raises(InvalidValueError, match=column):
            await repository.create(**values, **{column: None})
        assert await repository.count() == 0


@pytest.mark.parametrize("column", [name for name in MANAGED if name != "id"])
async def test_update_refuses_managed_columns(database: Database, column: str) -> None:
    values: dict[str, Any] = {
        column: datetime(2020, 1, 1, tzinfo=UTC) if column.endswith("_at") else 7
    }
    async with database.get_session(write=True) as session:
        user = await make_user(session)
        with pytest.raises(InvalidValueError, match=column):
            await UserRepository(session).update(user.id, **values)

    async with database.get_session() as session:
        found = await UserRepository(session).find_by_id(user.id)
    assert found is not None
    assert (found.version, found.deleted_at, found.created_at) == (1, None, user.created_at)


async def test_unknown_columns_are_refused(database: Database) -> None:
    async with database.get_session(write=True) as session:
        repository = UserRepository(session)
        with pytest.raises(InvalidValueError, match="nickname"):
            await repository.create(
                name="Ada", email="ada@example.com", hashed_password="h", nickname="ada"
            )
        user = await make_user(session, name="kept")
        with pytest.raises(InvalidValueError, match="nickname"):
            await repository.update(user.id, nickname="ada")
        with pytest.raises(InvalidValueError, match="posts"):
            await repository.update(user.id, posts=[])  # a relationship, not a column

    async with database.get_session() as session:
        found = await UserRepository(session).find_by_id(user.id)
        assert await UserRepository(session).count() == 1
    assert found is not None
    assert (found.name, found.version) == ("kept", 1)


# -- accounts ----------------------------------------------------------------------------------


async def test_lock_for_update_returns_the_accounts_by_id(database: Database) -> None:
    async with database.get_session(write=True) as session:
        first = await make_account(session)
        second = await make_account(session)
        await make_account(session)

    async with database.get_session(write=True) as session:
        locked = await AccountRepository(session).lock_for_update(
            [second.id, first.id, second.id, 999_999]
        )

    assert sorted(locked) == [first.id, second.id]
    assert {account.id for account in locked.values()} == {first.id, second.id}


async def test_lock_for_update_reads_fresh_values(database: Database) -> None:
    async with database.get_session(write=True) as session:
        account = await make_account(session, balance=Decimal("100.00"))

    async with database.get_session(write=True) as session:
        repository = AccountRepository(session)
        loaded = await repository.find_by_id(account.id)
        assert loaded is not None
        # A change made behind the ORM's back: the loaded object still shows 100.00.
        await session.execute(
            update(Account)
            .where(Account.id == account.id)
            .values(balance=Decimal("40.00"))
            .execution_options(synchronize_session=False)
        )
        assert loaded.balance == Decimal("100.00")
        locked = await repository.lock_for_update([account.id])

    assert locked[account.id] is loaded
    assert loaded.balance == Decimal("40.00")
