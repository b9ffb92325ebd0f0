# ruff: noqa: RUF001  (look-alike letters and digits are what these tests are about)
"""Any text a user can type finds the same rows on SQLite and PostgreSQL: the rows a plain
Python oracle finds with the search's own fold (so the engines also agree with each other).

The records are made once per engine and only read (``seeded``); the hypothesis examples
search them, through the trigram index and without it.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, text
from sqlalchemy.engine import URL

from app.config import sqlite_url
from app.core.database import Database
from app.models import OrderStatus
from app.models.types import InvalidValueError, to_money
from app.query import INTEGER, After, Equals, Filter, IsEmpty, OffsetPage, OneOf, QuerySpec, Range
from app.repositories import (
    AccountRepository,
    BaseRepository,
    OrderRepository,
    PostRepository,
    ProfileRepository,
    UserRepository,
)
from app.repositories.base import Explain
from app.repositories.search import (
    MAX_GLOB_BYTES,
    MAX_REGEX_CHARACTERS,
    SearchTerm,
    fold,
    fold_class,
    folded,
    fts_spellings,
    trigram_index_name,
)
from app.services import migrations
from app.services.errors import ValidationError
from app.services.records import RecordService
from tests.conftest import ENGINES
from tests.repositories.factories import make_post, make_user
from tests.repositories.unicode_records import (
    BALANCES,
    NAMES,
    Person,
    respellings,
    search_oracle,
    seed,
)

# Every code point, lone surrogates included (hypothesis leaves those out by default).
ANY_CHARACTER = st.characters(exclude_categories=())
SEARCH_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module", params=ENGINES)
def seeded_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[URL, list[Person]]:
    """A migrated database per engine holding the Unicode records, made once per module."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("migrated_sqlite_template")
        path = tmp_path_factory.mktemp("unicode") / "records.db"
        shutil.copyfile(template, path)
        url = sqlite_url(path)
    else:
        make: Callable[..., URL] = request.getfixturevalue("new_postgres_database")
        url = make()

    async def prepare() -> list[Person]:
        database = Database(url)
        try:
            if not database.is_sqlite:
                await migrations.upgrade(database)
            return await seed(database)
        finally:
            await database.dispose()

    return url, asyncio.run(prepare())


@pytest.fixture
async def seeded(seeded_url: tuple[URL, list[Person]]) -> AsyncIterator[Database]:
    database = Database(seeded_url[0])
    yield database
    await database.dispose()


@pytest.fixture
def people(seeded_url: tuple[URL, list[Person]]) -> list[Person]:
    return seeded_url[1]


async def matching_ids(repository: BaseRepository[Any], term: str, *, use_index: bool) -> set[int]:
    table = repository.model.__table__
    statement = select(table.c.id)
    condition = repository.search_condition(term, use_index=use_index)
    if condition is not None:
        statement = statement.where(condition)
    return set((await repository.session.execute(statement)).scalars())


async def check_search(database: Database, people: list[Person], term: str) -> None:
    expected = search_oracle(people, term)
    spec = QuerySpec(search=term)
    async with database.get_session() as session:
        repository = UserRepository(session)
        rows = await repository.browse(spec, OffsetPage(0, 1000))
        assert {row.id for row in rows} == expected, term
        assert await repository.count(spec) == len(expected)
        if database.is_sqlite:
            # The FTS5 table only ever narrows: through it or not, the same rows.
            assert await matching_ids(repository, term, use_index=True) == expected, term
            assert await matching_ids(repository, term, use_index=False) == expected, term


# -- the fold ------------------------------------------------------------------------------


def test_the_fold_classes_cover_all_of_unicode() -> None:
    """Built from slices of one string, checked against the slow way, code point by code
    point: every character is in its own class, and a class is exactly one fold."""
    for code in range(sys.maxunicode + 1):
        character = chr(code)
        members = fold_class(character)
        assert character in members
        if len(members) > 1:
            assert {fold(member) for member in members} == {fold(character)}, hex(code)
            # GLOB sets are written without escapes: no member may mean something there.
            assert not members & set("]^-*?[\\"), hex(code)
    assert fold_class("k") == {"k", "K", "\u212a"}
    assert fold_class("i") == {"i", "I", "\u0130"}
    assert fold_class("ς") == {"σ", "ς", "Σ"}
    assert fold_class("é") == {"é", "É"}
    assert fold_class("ß") == {"ß", "ẞ"}
    assert fold_class("ı") == {"ı"}  # dotless i is a letter of its own
    assert fold_class("²") == {"²"}
    assert folded("İSTANBUL") == "istanbul"


def test_fts_gets_a_spelling_per_character_it_may_fold_differently() -> None:
    assert fts_spellings("Ada") == ["ada"]
    assert sorted(fts_spellings("kit")) == sorted(["kit", "kİt", "\u212ait", "\u212aİt"])
    assert SearchTerm.typed("smith").fts_query(("name",)) == '{name} : ("smith" OR "smİth")'
    quoted = SearchTerm.typed('say "hi"').fts_query(("name",))
    assert quoted == '{name} : ("say ""hi""" OR "say ""hİ""")'
    # Too many spellings for the whole term (3·2·2·2·3): the longest part with at most 8.
    greek = SearchTerm.typed("ΣΟΦΟΣ").fts_query(("name",))
    assert greek is not None
    assert greek.count(" OR ") == 7
    assert '"οφο"' in greek
    assert SearchTerm.typed("ab").fts_query(("name",)) is None


# -- the property --------------------------------------------------------------------------


@st.composite
def respelled_pieces(draw: st.DrawFn) -> str:
    """A slice of some name or email, every character swapped for one with the same fold,
    with blanks around it."""
    source = draw(st.sampled_from([value for pair in NAMES for value in pair]))
    start = draw(st.integers(0, len(source)))
    end = draw(st.integers(start, min(len(source), start + 12)))
    rng = draw(st.randoms(use_true_random=False))
    return draw(st.sampled_from(["", " "])) + respellings(source[start:end], rng)


SEARCH_TERMS = st.one_of(
    st.text(ANY_CHARACTER, max_size=6),
    respelled_pieces(),
    st.integers(0, 2**40).map(str),
    st.lists(
        st.sampled_from(["k", "K", "\u212a", "i", "İ", "ı", "σ", "ς", "Σ", "é", "É", "\x00"]),
        max_size=5,
    ).map("".join),
)


@SEARCH_SETTINGS
@given(term=SEARCH_TERMS)
@example(term="chloé")
@example(term="CHLOÉ")
@example(term="ÄRGER")
@example(term="ΣΟΦΟΣ")
@example(term="σοφος")
@example(term="kelvin")
@example(term="\u212aELVIN")
@example(term="istanbul")
@example(term="İSTANBUL")
@example(term="²")
@example(term="①")
@example(term="٣")
@example(term="١٢")
@example(term="12")
@example(term="0012")
@example(term="99999999999")
@example(term="9" * 5000)
@example(term="\x00")
@example(term="a\x00b")
@example(term="\ud800")
@example(term="e\u0301")
@example(term="\u0301")
@example(term="*")
@example(term="[")
@example(term="[abc]")
@example(term="^$")
@example(term="%")
@example(term="\\")
@example(term='"')
@example(term="\x01\x7f\u2028\ufffe\uffff\U0010ffff")
async def test_any_text_finds_what_the_fold_finds(
    seeded: Database, people: list[Person], term: str
) -> None:
    await check_search(seeded, people, term)


# -- regressions ---------------------------------------------------------------------------


def ids_named(people: list[Person], *names: str) -> set[int]:
    return {person.id for person in people if person.name in names}


async def searched(database: Database, term: str) -> set[int]:
    async with database.get_session() as session:
        rows = await UserRepository(session).browse(QuerySpec(search=term), OffsetPage(0, 1000))
    return {row.id for row in rows}


async def test_digits_that_int_refuses_are_text(seeded: Database, people: list[Person]) -> None:
    # "²" and "①" are str.isdigit(); int() refuses them. They never raised here before.
    assert await searched(seeded, "²") == ids_named(people, "x² y³")
    assert await searched(seeded, "①") == ids_named(people, "①②③")
    # Other scripts' digits: int() would read "٣" as 3, but only ASCII digits name an id.
    assert await searched(seeded, "٣") == ids_named(people, "٣٤٥ arabic")
    assert await searched(seeded, "١") == set()


async def test_a_number_no_id_can_be_matches_only_text(seeded: Database) -> None:
    assert await searched(seeded, "99999999999") == set()
    assert await searched(seeded, "9" * 5000) == set()  # int() would refuse 5,000 digits


async def test_text_with_nul_matches_nothing(seeded: Database, people: list[Person]) -> None:
    """SQLite read the pattern up to the NUL (every row for "\\x00"); FTS5 called it an
    unterminated string."""
    for term in ("\x00", "a\x00", "\x00ada", "lovelace\x00"):
        assert await searched(seeded, term) == set(), repr(term)
    assert await searched(seeded, "\ud800") == set()


async def test_letter_case_is_folded_in_every_script(
    seeded: Database, people: list[Person]
) -> None:
    both = ids_named(people, "Chloé Dupont", "CHLOÉ DUPONT")
    assert await searched(seeded, "chloé") == both
    assert await searched(seeded, "CHLOÉ") == both
    # An accent is not letter case: e with a combining acute is another text.
    assert await searched(seeded, "chloe\u0301") == ids_named(people, "Chloe\u0301 combining")
    assert await searched(seeded, "ärger öl") == ids_named(people, "Ärger Öl Übel", "ärger öl übel")
    sigmas = ids_named(people, "ΣΟΦΟΣ", "σοφος", "σοφοσ")
    assert await searched(seeded, "σοφος") == sigmas
    assert await searched(seeded, "ΣΟΦΟΣ") == sigmas
    kelvins = ids_named(people, "\u212aelvin sign", "KELVIN", "kelvin")
    assert await searched(seeded, "kelvin") == kelvins
    assert await searched(seeded, "\u212aELVIN") == kelvins
    dotted = ids_named(people, "İstanbul", "ISTANBUL")
    assert await searched(seeded, "istanbul") == dotted
    assert await searched(seeded, "İSTANBUL") == dotted
    assert await searched(seeded, "ıstanbul") == ids_named(people, "ıstanbul")
    assert await searched(seeded, "strasse") == ids_named(people, "GROẞE STRASSE")
    assert await searched(seeded, "ẞ") == ids_named(people, "Straße", "GROẞE STRASSE")


@pytest.mark.parametrize("engine_name", [pytest.param("sqlite", id="sqlite")])
async def test_fts_never_hides_a_row_its_folding_disagrees_on(database: Database) -> None:
    """FTS5's own case folding leaves İ alone: "smith" through the index must still find
    "SMİTH", and "kiesler" the one spelt with a KELVIN SIGN."""
    async with database.get_session(write=True) as session:
        dotted = await make_user(session, name="SMİTH")
        kelvin = await make_user(session, name="\u212aİESLER")
        repository = UserRepository(session)
        assert await repository.search_uses_index("smith")
        assert await matching_ids(repository, "smith", use_index=True) == {dotted.id}
        assert await matching_ids(repository, "kiesler", use_index=True) == {kelvin.id}


async def test_terms_longer_than_a_pattern_can_be_are_matched_exactly(
    database: Database,
) -> None:
    """SQLite refuses a GLOB pattern over 50,000 bytes and PostgreSQL compiles a regular
    expression in time that grows with the square of its length: a long term is matched
    by its head and then tested exactly, in full."""
    rng = random.Random(5)
    body = "".join(rng.choice("abcdéfghijklmnopqrstuvwxyzΣσςİ中 ") for _ in range(20_000))
    assert len(SearchTerm.typed(body).text) > MAX_REGEX_CHARACTERS
    term = respellings(body[100:15_100], rng)
    assert len("".join(f"[{c}{c.upper()}]" for c in term).encode()) > MAX_GLOB_BYTES
    # Differs only after the head: only the full test can tell it apart.
    near_miss = body[:10_000] + ("x" if body[10_000] != "x" else "y") + body[10_001:]
    async with database.get_session(write=True) as session:
        post = await make_post(session, title="long", content=body)
        await make_post(session, title="other", content=near_miss)
        repository = PostRepository(session)
        rows = await repository.browse(QuerySpec(search=term), OffsetPage(0, 10))
        assert [row.id for row in rows] == [post.id]
        assert await repository.count(QuerySpec(search=term)) == 1


@pytest.fixture
def c_locale_postgres_url(new_postgres_database: Callable[..., URL]) -> URL:
    return new_postgres_database(locale="C")


@pytest.mark.postgresql
async def test_postgres_with_the_c_locale_folds_like_everywhere_else(
    c_locale_postgres_url: URL,
) -> None:
    """With LC_CTYPE=C, ILIKE and lower() fold ASCII letters only."""
    database = Database(c_locale_postgres_url)
    try:
        await migrations.upgrade(database)
        async with database.get_session(write=True) as session:
            ctype = (await session.execute(text("SHOW lc_ctype"))).scalar_one()
            assert ctype == "C"
            chloe = await make_user(session, name="Chloé Dupont")
            sofia = await make_user(session, name="ΣΟΦΙΑ")
        assert await searched(database, "CHLOÉ") == {chloe.id}
        assert await searched(database, "σοφια") == {sofia.id}
    finally:
        await database.dispose()


@pytest.mark.postgresql
@pytest.mark.parametrize("engine_name", ["postgresql"])
async def test_the_postgres_pattern_is_a_literal_with_single_backslashes(
    database: Database,
) -> None:
    """Sent as a literal (a generic plan would not see the term); ``\\U`` escapes must
    reach the server as written, and a backslash in the term match itself."""
    statements: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    async with database.get_session(write=True) as session:
        user = await make_user(session, name="back\\slash")
        await make_user(session, name="back slash")
        event.listen(database.engine.sync_engine, "before_cursor_execute", remember)
        try:
            rows = await UserRepository(session).browse(QuerySpec(search="K\\S"), OffsetPage(0, 10))
        finally:
            event.remove(database.engine.sync_engine, "before_cursor_execute", remember)
        assert [row.id for row in rows] == [user.id]
    (browse,) = [statement for statement in statements if "users.name ~" in statement]
    assert "users.name ~ '[\\U0000004b\\U0000006b\\U0000212a][\\U0000005c][" in browse


@pytest.mark.postgresql
@pytest.mark.parametrize("engine_name", ["postgresql"])
async def test_postgres_plans_use_the_trigram_indexes_for_any_letters(
    database: Database,
) -> None:
    async with database.get_session(write=True) as session:
        await session.execute(
            text(
                "INSERT INTO users (name, email, hashed_password) "
                "SELECT 'user ' || n, 'user' || n || '@example.com', 'x' "
                "FROM generate_series(1, 20000) AS n"
            )
        )
        await make_user(session, name="Chloé Kiesler", email="chloe@analytical.org")
        for column in UserRepository.searchable:
            await session.execute(
                text("SELECT gin_clean_pending_list(CAST(:index AS regclass))"),
                {"index": trigram_index_name("users", column)},
            )
        await session.execute(text("ANALYZE users"))

    async with database.get_session() as session:
        repository = UserRepository(session)
        for term in ("CHLOÉ", "kiesler", "İESLER", "analytical.o"):
            statement = repository.browse_statement(QuerySpec(search=term), After(None, 100))
            plan = (await session.execute(Explain(statement))).scalar_one()
            used = str(plan)
            assert trigram_index_name("users", "name") in used, (term, plan)
            assert trigram_index_name("users", "email") in used, (term, plan)
            assert len(await repository.browse(QuerySpec(search=term), After(None, 10))) == 1


# -- filters -------------------------------------------------------------------------------

FILTER_SETTINGS = settings(SEARCH_SETTINGS, max_examples=40)
REFUSED = object()  # the oracle's word for "the filter must be refused in words"
TIME_ZONES = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12, minutes=30))]
)
HUGE_DECIMALS = [Decimal("1e999999999"), Decimal("-1e40"), Decimal("NaN"), Decimal("Infinity")]


def filter_of(kind: str, column: str, values: list[Any], inclusive: bool) -> Filter:
    if kind == "equals":
        return Equals(column, values[0])
    if kind == "one of":
        return OneOf(column, tuple(values))
    return Range(column, values[0], values[1], high_inclusive=inclusive)


def expected_rows(
    kind: str, keys: list[Any], values_of: dict[int, Any], inclusive: bool
) -> set[int] | object:
    """The ids whose value passes the filter, from the oracle's reading of each value."""
    keys = keys[:1] if kind == "equals" else keys
    if any(key is REFUSED for key in keys):
        return REFUSED
    if kind == "equals":
        return {i for i, value in values_of.items() if value == keys[0]}
    if kind == "one of":
        return {i for i, value in values_of.items() if value in keys}
    low, high = keys
    return {
        i
        for i, value in values_of.items()
        if value is not None and low <= value and (value <= high if inclusive else value < high)
    }


async def check_filter(
    database: Database,
    repository_class: type[BaseRepository[Any]],
    filter_: Filter,
    expected: set[int] | object,
) -> None:
    spec = QuerySpec(filters=(filter_,))
    async with database.get_session() as session:
        repository = repository_class(session)
        if expected is REFUSED:
            with pytest.raises(InvalidValueError):
                await repository.browse(spec, OffsetPage(0, 1000))
            return
        rows = await repository.browse(spec, OffsetPage(0, 1000))
        assert {row.id for row in rows} == expected, filter_
        assert await repository.count(spec) == len(rows)


def whole_number(value: Any) -> Any:
    """What an integer filter reads a value as (int() on text, as typed), or REFUSED."""
    number: Any = REFUSED
    if isinstance(value, bool):
        return REFUSED
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, Decimal) and value.is_finite() and abs(value.adjusted()) < 30:
        number = int(value) if value == value.to_integral_value() else REFUSED
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            return REFUSED
    if number is REFUSED or not INTEGER.minimum <= number <= INTEGER.maximum:
        return REFUSED
    return number


INTEGER_VALUES = st.one_of(
    st.integers(),
    st.integers(-3, 80),
    st.integers(-3, 80).map(lambda n: f" {n} "),
    st.sampled_from([2**31 - 1, 2**31, -(2**31), -(2**31) - 1, "99999999999", "9" * 5000]),
    st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=3),
    st.text(ANY_CHARACTER, max_size=4),
    st.floats(),
    st.decimals(min_value=-(10**12), max_value=10**12),
    st.sampled_from(HUGE_DECIMALS),
    st.booleans(),
)
KINDS = st.sampled_from(["equals", "one of", "range"])


@FILTER_SETTINGS
@given(kind=KINDS, values=st.lists(INTEGER_VALUES, min_size=2, max_size=2), inclusive=st.booleans())
@example(kind="equals", values=["²", 1], inclusive=True)
@example(kind="equals", values=["٣", 1], inclusive=True)
@example(kind="range", values=[1, 99999999999], inclusive=True)
async def test_whole_number_filters_hold_or_refuse_any_value(
    seeded: Database, people: list[Person], kind: str, values: list[Any], inclusive: bool
) -> None:
    keys = [whole_number(value) for value in values]
    ids = {person.id: person.id for person in people}
    filter_ = filter_of(kind, "id", values, inclusive)
    await check_filter(seeded, UserRepository, filter_, expected_rows(kind, keys, ids, inclusive))


def exact_text(value: Any) -> Any:
    if not isinstance(value, str) or "\x00" in value:
        return REFUSED
    return REFUSED if any(0xD800 <= ord(c) <= 0xDFFF for c in value) else value


@st.composite
def names_and_respellings(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from([name for name, _ in NAMES]))
    return (
        respellings(name, draw(st.randoms(use_true_random=False))) if draw(st.booleans()) else name
    )


TEXT_VALUES = st.one_of(
    st.text(ANY_CHARACTER, max_size=6), names_and_respellings(), st.integers(0, 3)
)


@FILTER_SETTINGS
@given(
    kind=st.sampled_from(["equals", "one of"]), values=st.lists(TEXT_VALUES, min_size=1, max_size=3)
)
@example(kind="equals", values=["Chloé Dupont"])
@example(kind="equals", values=["chloé dupont"])
@example(kind="equals", values=["a\x00"])
async def test_text_filters_compare_exactly_or_refuse(
    seeded: Database, people: list[Person], kind: str, values: list[Any]
) -> None:
    keys = [exact_text(value) for value in values]
    names = {person.id: person.name for person in people}
    filter_ = filter_of(kind, "name", values, True)
    await check_filter(seeded, UserRepository, filter_, expected_rows(kind, keys, names, True))


def status_of(value: Any) -> Any:
    try:
        return OrderStatus(value)
    except ValueError:
        return REFUSED


@FILTER_SETTINGS
@given(
    values=st.lists(
        st.one_of(
            st.sampled_from([status.value for status in OrderStatus]),
            st.sampled_from([status.value.upper() for status in OrderStatus]),
            st.text(ANY_CHARACTER, max_size=6),
        ),
        min_size=1,
        max_size=3,
    )
)
async def test_choice_filters_take_the_choices_only(
    seeded: Database, people: list[Person], values: list[Any]
) -> None:
    keys = [status_of(value) for value in values]
    statuses = {person.order_id: person.status for person in people}
    filter_ = OneOf("status", tuple(values))
    expected = expected_rows("one of", keys, statuses, True)
    await check_filter(seeded, OrderRepository, filter_, expected)


def moment_of(value: Any) -> Any:
    """What a date filter reads a value as: local time when it has no zone; REFUSED when
    it is no date, or one that cannot be stored in UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return REFUSED
    else:
        return REFUSED
    try:
        moment = moment if moment.tzinfo is not None else moment.astimezone()
        moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return REFUSED
    return moment


SEED_START = datetime(2024, 3, 1, tzinfo=UTC)
MOMENT_VALUES = st.one_of(
    st.datetimes(timezones=TIME_ZONES),
    st.sampled_from([datetime.min, datetime.max, date.min, date.max]),
    st.integers(-5, 400).map(lambda hours: SEED_START + timedelta(hours=hours)),
    st.integers(-5, 400).map(lambda hours: (SEED_START + timedelta(hours=hours)).isoformat()),
    st.dates(),
    st.text(ANY_CHARACTER, max_size=8),
    st.integers(),
)


@FILTER_SETTINGS
@given(values=st.lists(MOMENT_VALUES, min_size=2, max_size=2), inclusive=st.booleans())
@example(values=["0001-01-01", SEED_START], inclusive=True)
@example(
    values=[SEED_START, datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=5)))],
    inclusive=True,
)
async def test_date_filters_hold_or_refuse_any_value(
    seeded: Database, people: list[Person], values: list[Any], inclusive: bool
) -> None:
    keys = [moment_of(value) for value in values]
    created = {person.id: person.created_at for person in people}
    filter_ = filter_of("range", "created_at", values, inclusive)
    await check_filter(
        seeded, UserRepository, filter_, expected_rows("range", keys, created, inclusive)
    )


def amount_of(value: Any) -> Any:
    try:
        return to_money(value)
    except InvalidValueError:
        return REFUSED


MONEY_VALUES = st.one_of(
    st.sampled_from(BALANCES),
    st.decimals(min_value=Decimal("-1e13"), max_value=Decimal("1e13"), places=2),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(HUGE_DECIMALS),
    st.integers(),
    st.floats(),
    st.text(ANY_CHARACTER, max_size=6),
)


@FILTER_SETTINGS
@given(kind=KINDS, values=st.lists(MONEY_VALUES, min_size=2, max_size=2), inclusive=st.booleans())
async def test_money_filters_hold_or_refuse_any_value(
    seeded: Database, people: list[Person], kind: str, values: list[Any], inclusive: bool
) -> None:
    keys = [amount_of(value) for value in values]
    balances = {person.account_id: person.balance for person in people}
    filter_ = filter_of(kind, "balance", values, inclusive)
    expected = expected_rows(kind, keys, balances, inclusive)
    await check_filter(seeded, AccountRepository, filter_, expected)


async def test_empty_text_is_null_or_blank(seeded: Database, people: list[Person]) -> None:
    empty = {person.profile_id for person in people if not person.bio}
    await check_filter(seeded, ProfileRepository, IsEmpty("bio"), empty)
    given_bio = {person.profile_id for person in people if person.bio}
    await check_filter(seeded, ProfileRepository, IsEmpty("bio", empty=False), given_bio)


async def test_a_number_the_column_cannot_hold_is_refused_in_words(seeded: Database) -> None:
    """It overflowed PostgreSQL's INTEGER and ended in the bug dialog."""
    records = RecordService(seeded)
    spec = QuerySpec(filters=(Equals("id", 99999999999),))
    with pytest.raises(
        ValidationError, match=r"^id: 99,999,999,999 is too large \(at most 2,147,483,647\)$"
    ):
        await records.browse("users", spec, OffsetPage(0, 10))
    spec = QuerySpec(filters=(Range("quantity", low="-99999999999"),))
    with pytest.raises(ValidationError, match=r"is too small \(at least -2,147,483,648\)"):
        await records.browse("order_items", spec, OffsetPage(0, 10))
    spec = QuerySpec(filters=(Equals("name", "a\x00b"),))
    with pytest.raises(ValidationError, match="NUL"):
        await records.count("users", spec)
