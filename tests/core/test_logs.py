"""The log file: written where the user's log folder is, never with a password in it."""

from __future__ import annotations

import logging
import logging.handlers
import stat
from urllib.parse import quote

import pytest

from app.config import postgresql_url
from app.core.database import create_engine
from app.core.logs import SHOWN_ON_STDERR, configure_logging, log_file
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


def test_a_line_its_caller_printed_is_logged_but_not_printed_again(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = configure_logging()
    assert path is not None

    logging.getLogger("app.test").error("already on stderr", extra=SHOWN_ON_STDERR)
    logging.getLogger("app.test").error("not yet shown")

    assert capsys.readouterr().err == "error: not yet shown\n"
    text = path.read_text(encoding="utf-8")
    assert "already on stderr" in text
    assert "not yet shown" in text


def test_configuring_again_replaces_the_handlers() -> None:
    configure_logging()
    path = configure_logging()
    assert path is not None

    logging.getLogger("app.test").warning("written once")

    assert path.read_text(encoding="utf-8").count("written once") == 1


def test_the_log_is_readable_by_the_user_alone() -> None:
    path = log_file()
    assert not path.parent.exists()

    assert configure_logging() == path
    logging.getLogger("app.test").warning("names a database of the user's")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_log_left_readable_by_everyone_is_made_private_and_so_is_each_new_one() -> None:
    """A log from before the logs were private (0644), its rotated files, and the file each
    rotation starts."""
    path = log_file()
    path.parent.mkdir(parents=True)
    for old in (path, path.with_name(f"{path.name}.1")):
        old.write_text("an older run\n", encoding="utf-8")
        old.chmod(0o644)

    configure_logging()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.with_name(f"{path.name}.1").stat().st_mode) == 0o600

    root = logging.getLogger()
    (handler,) = [h for h in root.handlers if isinstance(h, logging.handlers.RotatingFileHandler)]
    handler.doRollover()
    logging.getLogger("app.test").warning("after the rotation")
    for name in (path.name, f"{path.name}.1", f"{path.name}.2"):
        assert stat.S_IMODE(path.with_name(name).stat().st_mode) == 0o600
    assert "after the rotation" in path.read_text(encoding="utf-8")
