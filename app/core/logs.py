"""Where Records Desk writes its log: a rotating file in the user log folder."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

import platformdirs

from app.config import APP_NAME
from app.core.redaction import redact

LOG_FILE_NAME = "records-desk.log"


def log_file() -> Path:
    return platformdirs.user_log_path(APP_NAME, appauthor=False) / LOG_FILE_NAME


def configure_logging(*, verbose: bool = False) -> Path | None:
    """Log to a file (full detail, tracebacks of our bugs) and warnings to stderr.

    Returns the log file, or None when its folder cannot be written.
    """
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(_OneLineFormatter())
    if not verbose:
        # A bug's traceback goes to the log file; the user gets one line from the caller.
        console.addFilter(lambda record: record.exc_info is None)
    root.addHandler(console)
    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        return None
    handler.setFormatter(_RedactingFormatter("%(asctime)s %(levelname)s [%(name)s] %(message)s"))
    root.addHandler(handler)
    return path


class _RedactingFormatter(logging.Formatter):
    """No password reaches the log, not even inside the text of a driver's exception."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(f"{record.levelname.lower()}: {record.getMessage()}")
