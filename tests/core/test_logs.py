"""The log file: written where the user's log folder is, never with a password in it."""

from __future__ import annotations

import logging
from urllib.parse import quote

from app.config import postgresql_url
from app.core.database import create_engine
from app.core.logs import configure_logging
from app.core.redaction import MASK as HIDDEN

PASSWORD = "Vq#7%Zk@/x"


async def test_a_password_in_use_is_blanked_out_of_messages_and_tracebacks() -> None:
    path = configure_logging()
    assert path is not None
    engine = create_engine(
        postgresql_url(host="db.example.org", database="shop", password=PASSWORD)
    )
    await engine.dispose()
    log = logging.getLogger("app.test")

    log.warning("a driver quoted postgresql://me:%s@db.example.org/shop", PASSWORD)
    log.warning("and its encoded form %s", quote(PASSWORD, safe=""))
    try:
        raise ConnectionError(f"could not connect with password={PASSWORD}")
    except ConnectionError:
        log.exception("a bug of ours")

    text = path.read_text(encoding="utf-8")
    assert PASSWORD not in text
    assert quote(PASSWORD, safe="") not in text
    assert text.count(HIDDEN) >= 3  # the traceback quotes the line holding it as well
    assert "ConnectionError: could not connect with password=***" in text


def test_configuring_again_replaces_the_handlers() -> None:
    configure_logging()
    path = configure_logging()
    assert path is not None

    logging.getLogger("app.test").warning("written once")

    assert path.read_text(encoding="utf-8").count("written once") == 1
