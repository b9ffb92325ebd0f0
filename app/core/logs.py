"""Where Records Desk writes its log: a rotating file in the user log folder.

No password reaches a log: every handler installed here blanks out the passwords of the
databases opened in this process (``app.core.redaction``), in messages and tracebacks alike.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from app.config import log_dir
from app.core.redaction import redact

LOG_FILE_NAME = "records-desk.log"
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
    if not verbose:
        # A bug's traceback goes to the log file; the user gets one line from the caller.
        console.addFilter(lambda record: record.exc_info is None)
    _install(root, console)
    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        return None
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
