"""Search text is matched literally: LIKE wildcards, escapes, quotes and SQL mean nothing.

A property test: for any printable ASCII text, the users the search finds are exactly the
users a plain Python substring test finds. The users are inserted once per test (so once
per engine) by a function-scoped fixture; that is safe because every example only reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.core.database import Database
from app.query import OffsetPage, QuerySpec
from app.repositories import UserRepository
from tests.repositories.factories import make_user

# Names and emails full of characters that mean something to LIKE or to SQL.
NAMES_AND_EMAILS = [
    ("100% sure", "percent%sign@example.com"),
    ("50%_off", "sale_50@example.com"),
    ("under_score", "under_score@example.com"),
    ("back\\slash", "back\\slash@example.com"),
    ("forward/slash", "fwd/slash@example.com"),
    ("O'Brien", "o'brien@example.com"),
    ('say "hi"', "quotes@example.com"),
    ("' OR 1=1 --", "injection@example.com"),
    ("Robert'); DROP TABLE users;--", "bobby@tables.example"),
    ("[abc] {x} ^$ .* +? (y|z)", "regex@example.com"),
    ("Ada Lovelace", "ada@example.com"),
    ("ADA", "ADA.upper@EXAMPLE.COM"),
    ("a%b_c\\d/e'f\"g", "mix@example.com"),
    ("%%", "double.percent@example.com"),
    ("__", "double.under@example.com"),
    ("\\\\", "double.backslash@example.com"),
    ("//", "double.slash@example.com"),
    ("report 2024 v7", "numbers7@example.com"),
    ("~`!@#$&*()=", "symbols@example.com"),
    ("|pipe| <angle> ;semi", "pipe@example.com"),
    ("  padded  name  ", "padded@example.com"),
]

PRINTABLE = st.characters(min_codepoint=32, max_codepoint=126)
TRICKY = ["%", "_", "\\", "/", "'", '"', "--", ";", " OR ", "1=1", "a", "A", "1", " "]


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str


def expected_ids(people: list[Person], text: str) -> set[int]:
    """What the search box promises, in plain Python."""
    term = text.strip().lower()
    if not term:
        return {person.id for person in people}
    found = {person.id for person in people if term in person.name.lower()}
    found |= {person.id for person in people if term in person.email.lower()}
    if term.isdigit() and int(term) <= 2**31 - 1:
        found |= {person.id for person in people if person.id == int(term)}
    return found


@st.composite
def pieces_of_the_data(draw: st.DrawFn) -> str:
    """A slice of some name or email, with its letters' case mixed and blanks around it."""
    source = draw(st.sampled_from([text for pair in NAMES_AND_EMAILS for text in pair]))
    start = draw(st.integers(0, len(source)))
    end = draw(st.integers(start, len(source)))
    piece = source[start:end]
    upper = draw(st.lists(st.booleans(), min_size=len(piece), max_size=len(piece)))
    piece = "".join(c.upper() if up else c.lower() for c, up in zip(piece, upper, strict=True))
    return draw(st.sampled_from(["", " ", "  "])) + piece + draw(st.sampled_from(["", " "]))


@pytest.fixture
async def people(database: Database) -> list[Person]:
    """The users every example searches (function-scoped: once per engine, never changed)."""
    async with database.get_session(write=True) as session:
        users = [
            await make_user(session, name=name, email=email) for name, email in NAMES_AND_EMAILS
        ]
    return [Person(user.id, user.name, user.email) for user in users]


SEARCH_TEXTS = st.one_of(
    st.text(alphabet=PRINTABLE, max_size=20),
    pieces_of_the_data(),
    st.lists(st.sampled_from(TRICKY), max_size=6).map("".join),
)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=SEARCH_TEXTS)
@example(text="%")
@example(text="_")
@example(text="\\")
@example(text="/")
@example(text="'")
@example(text='"')
@example(text="%%")
@example(text="__")
@example(text="\\%")
@example(text="/%")
@example(text="%_")
@example(text="' OR 1=1 --")
@example(text="' or '1'='1")
@example(text="'); DROP TABLE users;--")
@example(text="")
@example(text="   ")
@example(text="1")
@example(text="0007")
@example(text="ada")
@example(text=" ADA ")
async def test_search_text_is_matched_literally(
    database: Database, people: list[Person], text: str
) -> None:
    spec = QuerySpec(search=text)
    async with database.get_session() as session:
        repository = UserRepository(session)
        rows = await repository.browse(spec, OffsetPage(0, 1000))
        found = {row.id for row in rows}
        assert found == expected_ids(people, text)
        assert await repository.count(spec) == len(found)
        assert {user.id for user in await repository.search(text, limit=1000)} == found
