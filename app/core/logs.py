"""Where Records Desk writes its log: a rotating file in the user log folder.

No password reaches a log: every handler installed here blanks out the passwords of the
databases opened in this process (``app.core.redaction``), in messages and tracebacks alike.
The log still names the user's databases, files and errors: it is readable by the user
alone (0600, in a folder made 0700), the old files kept by the rotation too.
"""

from __future__ import annotations

import contextlib
import io
import logging
import logging.handlers
import os
from pathlib import Path

from app.config import log_dir
from app.core.files import PRIVATE_FILE_MODE, make_private_folder, private_opener
from app.core.redaction import redact

LOG_FILE_NAME = "records-desk.log"
LOG_MAX_BYTES = 2_000_000
LOG_BACKUPS = 3
# ``extra`` of a record its caller has already printed on stderr in its own words: the log
# file keeps it, the console does not say it twice.
SHOWN_ON_STDERR = {"shown_on_stderr": True}
_installed: list[logging.Handler] = []


def log_file() -> Path:
    return log_dir() / LOG_FILE_NAME


def configure_logging(*, verbose: bool = False) -> Path | None:
    """Log to a file (full detail, tracebacks of our bugs) and warnings to stderr.

    Returns the log file, or None when its folder cannot be written. Calling it again
    replaces the handlers the previous call installed.
    """
    stop_logging()
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(_OneLineFormatter())
    console.addFilter(lambda record: not getattr(record, "shown_on_stderr", False))
    if not verbose:
        # A bug's traceback goes to the log file; the user gets one line from the caller.
        console.addFilter(lambda record: record.exc_info is None)
    _install(root, console)
    path = log_file()
    try:
        make_private_folder(path.parent)
        handler = _PrivateRotatingFileHandler(
            path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError:
        return None
    _make_old_logs_private(path)
    handler.setFormatter(_RedactingFormatter("%(asctime)s %(levelname)s [%(name)s] %(message)s"))
    _install(root, handler)
    return path


def stop_logging() -> None:
    """Remove and close the handlers configure_logging installed (a process that calls
    main() more than once: the tests)."""
    root = logging.getLogger()
    for handler in _installed:
        root.removeHandler(handler)
        handler.close()
    _installed.clear()


def _make_old_logs_private(path: Path) -> None:
    """The files rotated out by a Records Desk whose logs were readable by everyone."""
    if not hasattr(os, "chmod"):
        return
    for number in range(1, LOG_BACKUPS + 1):
        with contextlib.suppress(OSError):
            path.with_name(f"{path.name}.{number}").chmod(PRIVATE_FILE_MODE)


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Opens the log (the first time, and again after each rotation) readable by the user
    alone; the rotation renames files, so the old ones stay that way."""

    def _open(self) -> io.TextIOWrapper:
        stream = open(  # noqa: SIM115 - the handler keeps it open and closes it
            self.baseFilename,
            self.mode,
            encoding=self.encoding,
            errors=self.errors,
            opener=private_opener,
        )
        assert isinstance(stream, io.TextIOWrapper)  # a text mode ("a")
        return stream


def _install(root: logging.Logger, handler: logging.Handler) -> None:
    root.addHandler(handler)
    _installed.append(handler)


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # The whole text, traceback included: a driver's exception may quote a connect string.
        return redact(super().format(record))


class _OneLineFormatter(_RedactingFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(f"{record.levelname.lower()}: {record.getMessage()}")
