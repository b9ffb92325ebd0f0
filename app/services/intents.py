"""A user's intent (a save, a transfer, a new order, a trash, a restore, an undo) commits
once, however many times it arrives.

A window gives each intent a token (``new_token``) and passes it with the call; the
service runs the call inside ``once(database, token)``: a token already committed, or still
under way, is refused with ``ReplayError`` before anything is sent. So the guarantee does
not rest on a button being disabled in time (two clicks delivered together both reach the
slot before the first await returns). A call that fails frees its token to try again.
"""

from __future__ import annotations

import uuid
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from app.core.database import Database
from app.services.errors import ReplayError

# Tokens of committed intents remembered per database: far more than any session makes
# between two clicks of one button, and a few hundred kilobytes at most.
REMEMBERED_TOKENS = 10_000


class _Intents:
    def __init__(self) -> None:
        self.done: OrderedDict[str, None] = OrderedDict()
        self.running: set[str] = set()


_BY_DATABASE: weakref.WeakKeyDictionary[Database, _Intents] = weakref.WeakKeyDictionary()


def new_token() -> str:
    return uuid.uuid4().hex


@contextmanager
def once(database: Database, token: str | None) -> Iterator[None]:
    """Run the block for ``token`` unless it ran (or runs) already; ``None``: no guard
    (a caller with no intent to protect, such as a script's single call)."""
    if token is None:
        yield
        return
    intents = _BY_DATABASE.setdefault(database, _Intents())
    if token in intents.done:
        raise ReplayError("This was done already; it is not done twice.")
    if token in intents.running:
        raise ReplayError("This is being done already; it is not done twice.")
    intents.running.add(token)
    try:
        yield
    finally:
        intents.running.discard(token)
    intents.done[token] = None
    while len(intents.done) > REMEMBERED_TOKENS:
        intents.done.popitem(last=False)
