"""The search box: which rows a term matches, and how each engine finds them quickly.

What matches is the same on SQLite and PostgreSQL, whatever the server's locale (a database
with LC_CTYPE=C folds ASCII only in ILIKE and lower()): the term, stripped, occurs in one of
the searchable columns with every character compared by ``fold`` — letter case ignored in
every script, nothing else (accents, widths and the like stay distinct) — or, for a term of
ASCII digits, it is the record's id. A term holding NUL or an unpaired surrogate matches no
text: no text column can hold one.

How each engine finds it, with each character of the term written as the set of every
character with the same fold, so the engine compares code points and folds nothing itself:

- SQLite: ``column GLOB '*[aA][dD][aA]*'``. An FTS5 trigram table per record kind
  (``<table>_fts``, the trigram_search_indexes migration) first narrows the rows to those
  holding a part of the term, when the term is rare enough for that to pay (the density
  probe, ``uses_index``); the GLOB test still decides.
- PostgreSQL: ``column ~ '[\\U0000…\\U0000…]…'``; the GIN gin_trgm_ops indexes serve it
  (pg_trgm reads the trigrams out of the expression), the planner chooses.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Table,
    and_,
    false,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.query import Column, integer_bounds, unstorable_text

# The trigram indexes (the trigram_search_indexes migration) serve terms this long or longer;
# SQLite's FTS5 trigram tables match nothing for shorter ones, which scan instead.
TRIGRAM_LENGTH = 3
# From this many matches on, a term is common enough that walking the rows in order fills
# a page sooner than collecting its matches from SQLite's trigram table.
DENSE_MATCHES = 5_000
# Each alternative spelling handed to FTS5 is one more index lookup; eight keep a term with
# three letters such as i, k or é (see fts_spellings) in one piece.
MAX_FTS_SPELLINGS = 8
# A part of the term this long is as selective as the index gets; longer only costs lookups.
MAX_FTS_RUN = 64
# Bytes of a GLOB pattern: SQLite refuses longer than 50,000 (SQLITE_MAX_LIKE_PATTERN_LENGTH,
# which a build may lower), and GLOB backtracks over long patterns.
MAX_GLOB_BYTES = 10_000
# Characters of a PostgreSQL regular expression: it compiles in time that grows with the
# square of its length (3 ms for 1,000 characters, 2 s for 32,767).
MAX_REGEX_CHARACTERS = 1_000
# Terms whose density each database was probed for (see uses_index).
MAX_REMEMBERED_TERMS = 256

# fold() where str.lower() says nothing useful: İ lowers to two characters ("i" and a
# combining dot), and lower() leaves the final sigma apart from the sigma it is a form of.
_FOLD_EXCEPTIONS = {"\u0130": "i", "\u03c2": "\u03c3"}
# str.lower() runs over all of Unicode in slices this long; only a slice that changes is
# looked at one character at a time.
_SLICE = 64
# See _fold_classes.
_classes: dict[str, frozenset[str]] | None = None


# -- folding -------------------------------------------------------------------------------


def fold(character: str) -> str:
    """The character the search compares ``character`` by: its lower case when that is one
    character (so "É" → "é", KELVIN SIGN → "k"), "i" for "İ", the sigma for the final
    sigma "ς", else the character itself."""
    special = _FOLD_EXCEPTIONS.get(character)
    if special is not None:
        return special
    lowered = character.lower()
    return lowered if len(lowered) == 1 else character


def folded(text: str) -> str:
    """``text`` with every character folded; a term matches a value when its folded form
    is a substring of the value's."""
    return "".join(map(fold, text))


def fold_class(character: str) -> frozenset[str]:
    """Every character with the same fold as ``character``, itself included."""
    return _fold_classes().get(fold(character), frozenset((character,)))


def _fold_classes() -> dict[str, frozenset[str]]:
    """fold → the characters with that fold, for the ~1,400 folds shared by several;
    built on first use, once per process."""
    global _classes
    if _classes is None:
        _classes = _build_fold_classes()
    return _classes


async def prepare_folding() -> None:
    """Build the fold table in a worker thread if it is not there yet: 15–60 ms of work
    that would otherwise stall the event loop at the first search."""
    if _classes is None:
        await asyncio.to_thread(_fold_classes)


def _build_fold_classes() -> dict[str, frozenset[str]]:
    """The whole of Unicode: str.lower() over slices of one string of every code point
    takes 15–60 ms, where chr() and lower() per code point take ~0.4 s."""
    everything = _every_code_point()
    members: dict[str, set[str]] = {}
    for start in range(0, len(everything), _SLICE):
        piece = everything[start : start + _SLICE]
        if piece.lower() == piece:
            continue
        for character in piece:
            target = fold(character)
            if target != character:
                members.setdefault(target, {target}).add(character)
    for character, target in _FOLD_EXCEPTIONS.items():
        members.setdefault(target, {target}).add(character)
    return {target: frozenset(group) for target, group in members.items()}


def _every_code_point() -> str:
    """One string of every code point from U+0000 to U+10FFFF, in order, built as UTF-32
    bytes by slice assignment (a C loop, not 1.1 million chr() calls)."""
    count = sys.maxunicode + 1
    raw = bytearray(4 * count)
    raw[0::4] = bytes(range(256)) * (count // 256)
    raw[1::4] = b"".join(bytes([byte]) * 256 for byte in range(256)) * (count // 65_536)
    raw[2::4] = b"".join(bytes([byte]) * 65_536 for byte in range(count // 65_536))
    return raw.decode("utf-32-le", "surrogatepass")


# -- the term ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchTerm:
    """What the user typed into the search box, stripped."""

    text: str

    @classmethod
    def typed(cls, text: str) -> SearchTerm:
        return cls(text.strip())

    @property
    def blank(self) -> bool:
        return not self.text

    @property
    def can_match_text(self) -> bool:
        """False for a term no text column can hold (NUL, an unpaired surrogate): it
        matches no text — and SQLite would read a pattern only up to the NUL."""
        return unstorable_text(self.text) is None

    def record_id(self, column: Column) -> int | None:
        """The id the term names, when it is ASCII digits for a number ``column`` holds.
        (``str.isdigit()`` is also true for "²" and "①", which int() refuses.)"""
        text = self.text
        if not (text.isascii() and text.isdigit()):
            return None
        bounds = integer_bounds(column.type)
        if len(text.lstrip("0")) > len(str(bounds.maximum)):
            return None
        number = int(text)
        return number if bounds.minimum <= number <= bounds.maximum else None

    def fts_query(self, columns: Sequence[str]) -> str | None:
        """The FTS5 query that finds every row holding the term (and maybe more), or None
        when no part of the term can be handed to the trigram index safely."""
        run = _fts_run(self.text)
        if run is None:
            return None
        phrases = ['"' + spelling.replace('"', '""') + '"' for spelling in fts_spellings(run)]
        body = phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"
        # One FTS5 string per spelling (a doubled " inside), so operators, *, ^, NEAR( and
        # column names in the term are plain text.
        return "{" + " ".join(columns) + "} : " + body


def fts_spellings(run: str) -> list[str]:
    """Spellings of ``run`` that together find, through FTS5, every row where the search
    matches ``run``.

    FTS5's trigram tokenizer folds case by tables of its own, which need not agree with
    ``fold`` (it leaves İ alone, for one). What it provably does is fold the query as it
    folds the rows, and fold ASCII A–Z to a–z. So a character stands for itself in one
    spelling per member of its fold class, an ASCII letter and its capital being one: "k"
    (class k, K, KELVIN SIGN) needs two spellings, "a" one, "é" (é, É) two."""
    choices = [_fts_choices(character) for character in run]
    return ["".join(spelling) for spelling in itertools.product(*choices)]


def _fts_choices(character: str) -> list[str]:
    return sorted(
        {member.lower() if member.isascii() else member for member in fold_class(character)}
    )


def _fts_run(text: str) -> str | None:
    """The longest part of ``text`` (the first of equals) of at least TRIGRAM_LENGTH and at
    most MAX_FTS_RUN characters that needs at most MAX_FTS_SPELLINGS spellings."""
    counts = [len(_fts_choices(character)) for character in text]
    best_start, best_end = 0, 0
    start, spellings = 0, 1
    for end, count in enumerate(counts, start=1):
        spellings *= count
        while spellings > MAX_FTS_SPELLINGS or end - start > MAX_FTS_RUN:
            spellings //= counts[start]
            start += 1
        if end - start > best_end - best_start:
            best_start, best_end = start, end
    if best_end - best_start < TRIGRAM_LENGTH:
        return None
    return text[best_start:best_end]


# -- the condition -------------------------------------------------------------------------


def condition(
    table: Table,
    columns: Sequence[str],
    text: str,
    dialect: str,
    *,
    use_index: bool,
    record_id: str | None = "id",
) -> ColumnElement[bool] | None:
    """What the search box matches (see the module's docstring); None for blank text (no
    condition at all), ``false()`` for text that can match nothing.

    ``use_index`` puts SQLite's FTS5 table in front of the exact test: the same rows,
    sooner for a rare term. Only ``uses_index`` knows whether the table is there."""
    term = SearchTerm.typed(text)
    if term.blank:
        return None
    matches: list[ColumnElement[bool]] = []
    if columns and term.can_match_text:
        contains = or_(*(contains_folded(table.c[name], term.text, dialect) for name in columns))
        query = term.fts_query(columns) if use_index and dialect == "sqlite" else None
        if query is not None:
            contains = and_(table.c.id.in_(fts_rowids(table.name, query)), contains)
        matches.append(contains)
    if record_id is not None:
        key = table.c[record_id]
        wanted = term.record_id(key)
        if wanted is not None:
            matches.append(key == wanted)
    return or_(*matches) if matches else false()


def contains_folded(column: Column, term: str, dialect: str) -> ColumnElement[bool]:
    """``column`` holds ``term``, each character compared by its fold."""
    # type_coerce: the pattern is bound as text even on an enum column (order status),
    # whose own type would refuse a fragment such as "pend".
    text_column = type_coerce(column, String())
    if dialect == "postgresql":
        return _regex_contains(text_column, term)
    return _glob_contains(text_column, term)


def _glob_contains(text_column: ColumnElement[str], term: str) -> ColumnElement[bool]:
    sizes = itertools.accumulate(len(_glob_piece(character).encode()) for character in term)
    fits = sum(1 for size in sizes if size <= MAX_GLOB_BYTES - 2)
    head = text_column.op("GLOB", is_comparison=True)(glob_pattern(term[:fits]))
    if fits == len(term):
        return head
    # Too long for one GLOB: the head narrows the rows, Python's re decides (SQLAlchemy
    # gives SQLite connections a REGEXP function).
    return and_(head, text_column.regexp_match(_python_regex(term)))


def glob_pattern(term: str) -> str:
    """``*<term>*`` for SQLite's GLOB, each character written as the set of its fold class."""
    return "*" + "".join(map(_glob_piece, term)) + "*"


def _glob_piece(character: str) -> str:
    """GLOB for one character of the term: the set of its fold class, or itself. (A class
    of several is letters only: none holds the characters special in a GLOB set.)"""
    members = fold_class(character)
    if len(members) == 1:
        return f"[{character}]" if character in "*?[" else character
    return "[" + "".join(sorted(members)) + "]"


def _python_regex(term: str) -> str:
    return "".join(
        "[" + "".join(re.escape(member) for member in sorted(fold_class(character))) + "]"
        for character in term
    )


def _regex_contains(text_column: ColumnElement[str], term: str) -> ColumnElement[bool]:
    head = term[:MAX_REGEX_CHARACTERS]
    # The pattern goes into the SQL as a literal (quoted by SQLAlchemy; its backslashes
    # doubled only where standard_conforming_strings is off): with a bound parameter, a
    # prepared statement run often enough gets PostgreSQL's generic plan, which cannot see
    # the term and walks the whole id index for a rare one (a second, not milliseconds, on
    # a million users).
    pattern = literal(postgres_regex(head), String(), literal_execute=True)
    matches = text_column.regexp_match(pattern)
    if len(term) == len(head):
        return matches
    # Too long for one regular expression: the head narrows the rows (through the index),
    # then translate() folds the characters of the term's fold classes and strpos()
    # decides — exact, locale-independent, and no compiling at all.
    key = folded(term)
    source = "".join(
        member
        for folding in sorted(set(key))
        for member in sorted(fold_class(folding))
        if member != folding
    )
    target = "".join(map(fold, source))
    found = func.strpos(func.translate(text_column, source, target), key)
    return and_(matches, found > 0)


def postgres_regex(term: str) -> str:
    r"""Each character as a bracket of its fold class, every member written ``\Uxxxxxxxx``:
    an advanced regular expression with nothing in it that needs escaping or a locale."""
    return "".join(
        "[" + "".join(f"\\U{ord(member):08x}" for member in sorted(fold_class(character))) + "]"
        for character in term
    )


def fts_rowids(table_name: str, fts_query: str) -> Select[Any]:
    """``SELECT rowid FROM <table>_fts WHERE <table>_fts MATCH :query``: the ids of the
    rows the trigram index finds for the query, in id order."""
    name = search_table_name(table_name)
    index = sa_table(name, sa_column("rowid"))
    return select(index.c.rowid).where(sa_column(name).match(fts_query))


def search_table_name(table_name: str) -> str:
    """The SQLite FTS5 trigram table over ``table_name``'s searchable columns.

    An external-content table (rowid = the record's id) that triggers keep in step; it is
    not in Base.metadata, so the application never creates or reflects it. A SQLite older
    than 3.34 has no trigram tokenizer, and its databases have no such tables."""
    return f"{table_name}_fts"


def trigram_index_name(table_name: str, column: str) -> str:
    """The PostgreSQL GIN (gin_trgm_ops) index on one searchable column."""
    return f"ix_{table_name}_{column}_trgm"


# -- index or scan -------------------------------------------------------------------------


@dataclass
class _Findings:
    """What the search learned about one database; nothing in it changes which rows a
    search finds, only how fast (the tables are looked up again after a migration)."""

    tables: frozenset[str] | None = None
    # (table, FTS5 query) -> whether the index pays, oldest first.
    index_pays: OrderedDict[tuple[str, str], bool] = field(default_factory=OrderedDict)


# Keyed by the database's URL: the database is a value that can change (DESIGN.md, rule 17).
_FINDINGS: dict[URL, _Findings] = {}


def _database_url(session: AsyncSession) -> URL:
    bind = session.bind
    return (bind.engine if isinstance(bind, AsyncConnection) else bind).url


def forget(url: URL) -> None:
    """Drop what was learned about the database at ``url`` (its schema changed)."""
    _FINDINGS.pop(url, None)


async def uses_index(
    session: AsyncSession, table_name: str, columns: Sequence[str], text: str
) -> bool:
    """Whether a search for ``text`` should go through the trigram index — only the speed
    differs, never the rows. Remembered per database and term: a page of a result is
    fetched many times while one scrolls.

    SQLite's query planner cannot tell: it collects every match the FTS5 table finds
    before the first row comes out, which for a term in most rows (``example.org``) costs
    far more than walking the rows until a page is full. So look first: fewer than
    ``DENSE_MATCHES`` matches (counting stops there, a few milliseconds) and the index is
    the way. A database made by a SQLite without the trigram tokenizer has no FTS5 tables
    and always scans. PostgreSQL's planner weighs all this itself from its statistics.
    """
    term = SearchTerm.typed(text)
    if not term.blank:
        await prepare_folding()  # the condition built next needs it
    if not columns or len(term.text) < TRIGRAM_LENGTH or not term.can_match_text:
        return False
    if session.bind.dialect.name != "sqlite":
        return True
    query = term.fts_query(columns)
    if query is None:
        return False
    findings = _FINDINGS.setdefault(_database_url(session), _Findings())
    if findings.tables is None:
        master = sa_table("sqlite_master", sa_column("name"), sa_column("type"))
        names = await session.execute(select(master.c.name).where(master.c.type == "table"))
        findings.tables = frozenset(names.scalars())
    if search_table_name(table_name) not in findings.tables:
        return False
    key = (table_name, query)
    known = findings.index_pays.get(key)
    if known is None:
        found = fts_rowids(table_name, query).limit(DENSE_MATCHES)
        count = select(func.count()).select_from(found.subquery())
        known = int((await session.execute(count)).scalar_one()) < DENSE_MATCHES
        findings.index_pays[key] = known
        while len(findings.index_pays) > MAX_REMEMBERED_TERMS:
            findings.index_pays.popitem(last=False)
    return known
