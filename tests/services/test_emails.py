"""An email address belongs to one user: stored without the blanks pasted around it, and
unique whatever the case of its letters A–Z — refused at the field by the service and, as
the last line, by the database's index, alike on both engines."""

from __future__ import annotations

import contextlib
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from app.core.database import Database
from app.models import User
from app.services import records
from app.services.errors import (
    ConflictError,
    DuplicateInTrashError,
    FieldValuesError,
    describe_integrity_error,
)
from app.services.records import RecordService

PASSWORD = "correct horse"
# What str.strip() takes away and a paste brings along: line ends, tabs, no-break spaces.
BLANKS = ["", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "\u3000", "\x0b", "\u2028"]


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every user here gets a password; Argon2 (~0.1 s a hash, by design) is not what is
    tested, and a refused create hashes too."""
    monkeypatch.setattr(records, "hash_password", lambda password: f"not-a-hash-{len(password)}")


async def make_user(service: RecordService, email: str, name: str = "Ada") -> dict[str, object]:
    return await service.create("users", {"email": email, "name": name}, password=PASSWORD)


async def emails(database: Database) -> list[str]:
    async with database.get_session() as session:
        return list((await session.scalars(select(User.email).order_by(User.id))).all())


async def test_an_email_is_stored_without_the_blanks_around_it(database: Database) -> None:
    service = RecordService(database)

    user = await make_user(service, " \tada@example.org\r\n")

    assert user["email"] == "ada@example.org"
    assert await emails(database) == ["ada@example.org"]
    changed = await service.update("users", int(str(user["id"])), {"email": "ada@example.com\n"})
    assert changed["email"] == "ada@example.com"


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("a@x.org\nb@x.org", "Not an email address"),
        ("   ", "Required"),
        ("a\u200b@x.org", "invisible characters"),
        ("a@x.org\x00", "NUL"),
    ],
)
async def test_an_email_with_blanks_or_invisible_characters_inside_is_refused(
    database: Database, typed: str, words: str
) -> None:
    with pytest.raises(FieldValuesError) as refused:
        await make_user(RecordService(database), typed)

    assert set(refused.value.errors) == {"email"}
    assert words in refused.value.errors["email"]
    assert await emails(database) == []


async def test_an_address_in_another_case_is_refused_at_the_field(database: Database) -> None:
    service = RecordService(database)
    ada = await make_user(service, "Ada@Example.org")
    grace = await make_user(service, "grace@example.org", "Grace")

    with pytest.raises(ConflictError) as created:
        await make_user(service, "ada@EXAMPLE.ORG\n", "Another Ada")
    with pytest.raises(ConflictError) as updated:
        await service.update("users", int(str(grace["id"])), {"email": " ADA@example.org"})

    for refusal in (created.value, updated.value):
        assert refusal.field == "email"
        assert str(refusal) == f"User #{ada['id']} already has this email."
    # A user may change the case of their own address.
    recased = await service.update("users", int(str(ada["id"])), {"email": "ada@example.org"})
    assert recased["email"] == "ada@example.org"
    assert await emails(database) == ["ada@example.org", "grace@example.org"]


async def test_an_address_of_a_trashed_user_in_another_case_offers_that_user(
    database: Database,
) -> None:
    service = RecordService(database)
    ada = await make_user(service, "ada@example.org")
    await service.delete("users", int(str(ada["id"])))

    with pytest.raises(DuplicateInTrashError) as refused:
        await make_user(service, "ADA@example.org")

    assert refused.value.field == "email"
    assert refused.value.record_id == ada["id"]


async def test_the_database_refuses_an_address_in_another_case(database: Database) -> None:
    """The last line, for a writer that skips the service's check (another program, or two
    saves at once): the unique index on the address with A–Z folded."""
    await make_user(RecordService(database), "ada@example.org")

    with pytest.raises(IntegrityError) as refused:
        async with database.get_session(write=True) as session:
            await session.execute(
                text(
                    "INSERT INTO users (email, name, hashed_password) "
                    "VALUES ('ADA@Example.ORG', 'Copy', 'x')"
                )
            )

    described = describe_integrity_error(refused.value)
    assert isinstance(described, ConflictError)
    assert described.field == "email"


async def test_only_a_to_z_fold_so_both_engines_agree(database: Database) -> None:
    """SQLite's lower() folds A–Z only and PostgreSQL's every letter of its locale (DESIGN.md,
    Known traps): folding A–Z on both, "É" and "é" stay two letters on both engines."""
    service = RecordService(database)
    await make_user(service, "élodie@example.org")

    other = await make_user(service, "Élodie@example.org", "Élodie")

    assert other["email"] == "Élodie@example.org"
    with pytest.raises(ConflictError):
        await make_user(service, "ÉLODIE@EXAMPLE.ORG", "Third")


# Local parts and domains of ASCII letters with a few other characters, none of which has a
# case of its own outside A–Z (ß, digits, é in lower case only…).
LETTERS = string.ascii_letters + string.digits
LOCAL = st.text(alphabet=LETTERS + "._+-éß", min_size=1, max_size=12)
LABEL = st.text(alphabet=LETTERS + "-", min_size=1, max_size=8)


@st.composite
def addresses(draw: st.DrawFn) -> str:
    labels = draw(st.lists(LABEL, min_size=2, max_size=3))
    return f"{draw(LOCAL)}@{'.'.join(labels)}"


@st.composite
def variants(draw: st.DrawFn, address: str) -> str:
    """``address`` as someone might type it again: letters A–Z in either case, and blanks
    pasted around it."""
    flips = draw(st.lists(st.booleans(), min_size=len(address), max_size=len(address)))
    recased = "".join(
        character.swapcase() if flip and character.isascii() else character
        for character, flip in zip(address, flips, strict=True)
    )
    return draw(st.sampled_from(BLANKS)) + recased + draw(st.sampled_from(BLANKS))


@st.composite
def address_and_variants(draw: st.DrawFn) -> tuple[str, list[str]]:
    address = draw(addresses())
    return address, draw(st.lists(variants(address), min_size=1, max_size=4))


def key(email: str) -> str:
    """What makes two addresses one: blanks around them and the case of A–Z do not count."""
    return "".join(c.lower() if c.isascii() else c for c in email.strip())


# Each example is a few short transactions on the engine under test.
@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(typed=address_and_variants())
@example(typed=("a@x.org", ["a@x.org\n", "A@x.org", " A@X.ORG\t"]))
@example(typed=("ß@x.org", ["ß@X.org"]))
async def test_blanks_and_case_never_make_a_second_user(
    database: Database, typed: tuple[str, list[str]]
) -> None:
    address, typed_again = typed
    service = RecordService(database)
    with contextlib.suppress(ConflictError):  # made by an earlier example on this database
        await make_user(service, address)
    # "_" is in no generated domain: this address is nobody else's.
    other = await make_user(service, f"other{len(await emails(database))}@no_such.example")
    for again in typed_again:
        with pytest.raises(ConflictError) as created:
            await make_user(service, again, "Again")
        with pytest.raises(ConflictError) as updated:
            await service.update("users", int(str(other["id"])), {"email": again})
        assert created.value.field == updated.value.field == "email"
    keys = [key(email) for email in await emails(database)]
    assert keys.count(key(address)) == 1
    assert len(keys) == len(set(keys))
