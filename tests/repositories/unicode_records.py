# ruff: noqa: RUF001  (look-alike letters and digits are what these tests are about)
"""Records full of Unicode for the search and filter tests, and the Python oracle they are
held to: the rules of app.repositories.search and app.query written out plainly.

The records are made once per engine (a module-scoped fixture in the tests) and only read.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from app.core.database import Database
from app.models import OrderStatus
from app.query import INTEGER
from app.repositories.search import fold_class, folded
from tests.repositories.factories import force, make_account, make_order, make_profile, make_user

# Names where engines have disagreed: letter case beyond ASCII, characters whose lower case
# is unusual, digits that are not ASCII, combining marks, GLOB and LIKE syntax. The emails
# hold none of the words the tests look for.
NAMES = [
    ("Chloé Dupont", "p01@example.fr"),
    ("CHLOÉ DUPONT", "CHLOE.UPPER@EXAMPLE.FR"),
    ("Chloe\u0301 combining", "p02@example.fr"),
    ("Ärger Öl Übel", "p03@example.de"),
    ("ärger öl übel", "p04@example.de"),
    ("Straße", "p05@example.de"),
    ("GROẞE STRASSE", "p06@example.de"),
    ("ΣΟΦΟΣ", "p07@example.gr"),
    ("σοφος", "p08@example.gr"),
    ("σοφοσ", "p09@example.gr"),
    ("\u212aelvin sign", "p10@example.com"),
    ("KELVIN", "p11@example.com"),
    ("kelvin", "p12@example.com"),
    ("İstanbul", "p13@example.tr"),
    ("ISTANBUL", "p14@example.tr"),
    ("ıstanbul", "p15@example.tr"),
    ("x² y³", "p16@example.com"),
    ("①②③", "p17@example.com"),
    ("٣٤٥ arabic", "p18@example.com"),
    ("१२३ devanagari", "p19@example.com"),
    ("１２３ fullwidth", "p20@example.com"),
    ("中文名字", "p21@example.cn"),
    ("😀 smile 😀", "p22@example.com"),
    ("ǅungla", "p23@example.com"),
    ("ǄUNGLA", "p24@example.com"),
    ("Ω ohm \u2126", "p25@example.com"),
    ("Å angstrom \u212b", "p26@example.com"),
    ("*?[]^-!", "p27@example.com"),
    ("100% _off \\ back", "p28@example.com"),
    ("[abc] {x} ^$ .* +? (y|z)", "p29@example.com"),
    ('O\'Brien "quoted"', "p30@example.com"),
    ("room 12", "p31@example.com"),
    ("controls \x01\x7f\u2028\ufffe\uffff\U0010ffff end", "p32@example.com"),
    ("Ada Lovelace", "ada@analytical.org"),
]
# Random text over all of Unicode that a text column can hold (no NUL, no surrogates).
RANDOM_NAMES = 24
BALANCES = [Decimal("0.00"), Decimal("0.01"), Decimal("12.50"), Decimal("999999999999.99")]
STATUSES = list(OrderStatus)


@dataclass(frozen=True)
class Person:
    """A user and the one profile, account and order made with it."""

    id: int
    name: str
    email: str
    created_at: datetime
    profile_id: int
    bio: str | None
    account_id: int
    balance: Decimal
    order_id: int
    status: OrderStatus


def random_text(rng: random.Random, size: int) -> str:
    characters: list[str] = []
    while len(characters) < size:
        code = rng.choice([rng.randrange(0x20, 0x250), rng.randrange(1, 0x110000)])
        if code != 0 and not 0xD800 <= code <= 0xDFFF:
            characters.append(chr(code))
    return "".join(characters)


async def seed(database: Database) -> list[Person]:
    rng = random.Random(20261126)
    pairs = list(NAMES)
    pairs += [
        (random_text(rng, rng.randrange(1, 12)), f"random{n}@example.com")
        for n in range(RANDOM_NAMES)
    ]
    people: list[Person] = []
    start = datetime(2024, 3, 1, tzinfo=UTC)
    async with database.get_session(write=True) as session:
        for number, (name, email) in enumerate(pairs):
            user = await make_user(session, name=name, email=email)
            created = start + timedelta(hours=7 * number, microseconds=number)
            await force(session, user, created_at=created)
            bio = [None, "", name, f"bio {number}"][number % 4]
            profile = await make_profile(session, user, bio=bio)
            balance = BALANCES[number % len(BALANCES)]
            account = await make_account(session, user, balance=balance)
            status = STATUSES[number % len(STATUSES)]
            order = await make_order(session, user, status=status)
            people.append(
                Person(
                    user.id,
                    name,
                    email,
                    created,
                    profile.id,
                    bio,
                    account.id,
                    balance,
                    order.id,
                    status,
                )
            )
    return people


def search_oracle(people: list[Person], text: str) -> set[int]:
    """What the search box promises, in plain Python: the folded term is a substring of a
    folded name or email; ASCII digits also name the id."""
    term = text.strip()
    if not term:
        return {person.id for person in people}
    found: set[int] = set()
    if "\x00" not in term and not any(0xD800 <= ord(c) <= 0xDFFF for c in term):
        key = folded(term)
        found = {p.id for p in people if key in folded(p.name) or key in folded(p.email)}
    digits = term.lstrip("0")
    if term.isascii() and term.isdigit() and len(digits) <= 10 and int(term) <= INTEGER.maximum:
        found |= {p.id for p in people if p.id == int(term)}
    return found


def respellings(text: str, rng: random.Random) -> str:
    """``text`` with each character replaced by a random one of the same fold class."""
    return "".join(rng.choice(sorted(fold_class(character))) for character in text)
