"""Errors a user may read, and the one place driver errors are turned into them.

Two kinds of failure (qutebrowser's misc/sql.py): the environment's fault — a server that
is down, a locked file, a refused login, a value that breaks a rule, a record someone else
changed — becomes a ``RecordsDeskError`` whose message is meant for the user. Anything else
is our bug and propagates untouched, traceback and all, to be logged and reported.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL
from sqlalchemy.orm.exc import StaleDataError

from app.config import SettingsError, describe_url
from app.core.database import Database
from app.core.redaction import redact
from app.models.types import InvalidValueError
from app.repositories.base import StaleVersionError

log = logging.getLogger(__name__)


class RecordsDeskError(Exception):
    """A failure the user can read and act on; ``str()`` is the message to show.

    ``field``: the column the failure belongs to, when it is one value's fault (a form
    shows the message beside that field)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ValidationError(RecordsDeskError):
    """What the user asked for breaks a rule (a value, a filter, a setting)."""


class NotFoundError(RecordsDeskError):
    """The record is not there (or not any more)."""


class ConflictError(RecordsDeskError):
    """Someone else changed the same data first, or the value must be unique."""


class EditConflictError(ConflictError):
    """The record changed since the user read it: their save would overwrite that."""


class FieldValuesError(ValidationError):
    """Values of a record that break its rules, each with why: {column: message}, the
    message as it reads beside its field; ``str()`` names the fields by ``labels``."""

    def __init__(self, errors: dict[str, str], labels: dict[str, str] | None = None) -> None:
        names = labels or {}
        text = " ".join(f"{names.get(name, name)}: {message}" for name, message in errors.items())
        super().__init__(text, field=next(iter(errors), None))
        self.errors = errors


class ReplayError(ConflictError):
    """The same intent (one Save, one transfer) arrived again: it is not done twice."""


class InTrashError(ConflictError):
    """The record was moved to the trash (by someone else, meanwhile): an edit would land
    there unseen. Restore it first."""

    def __init__(self, message: str, *, entity: str, record_id: int) -> None:
        super().__init__(message)
        self.entity = entity
        self.record_id = record_id


class DuplicateInTrashError(ConflictError):
    """A unique value belongs to a record in the trash, which can be restored instead."""

    def __init__(self, message: str, *, field: str, entity: str, record_id: int) -> None:
        super().__init__(message, field=field)
        self.entity = entity
        self.record_id = record_id


class DatabaseUnavailableError(RecordsDeskError):
    """The database cannot be reached or used right now."""


class ReadOnlyError(RecordsDeskError):
    """A write asked of a connection that is read-only (chosen so, or a file that cannot
    be written)."""


def refuse_if_read_only(database: Database) -> None:
    if database.read_only:
        raise ReadOnlyError(
            f"{database.display_name} is open read-only: nothing can be changed. "
            "Choose a connection that is not read-only in File → Connections… to make changes."
        )


class DatabaseTooNewError(DatabaseUnavailableError):
    """The database was upgraded by a newer Records Desk than this one."""


class ForeignDatabaseError(DatabaseUnavailableError):
    """A database that another program made (a local file, or on a server): Records Desk
    will not write its tables in."""


def not_ours(name: str, tables: Sequence[str], *, server: bool = False) -> str:
    """Why a database holding ``tables`` (and no revision of ours) is refused."""
    shown = ", ".join(tables[:3]) + (", …" if len(tables) > 3 else "")
    empty = "an empty database" if server else "an empty file"
    return (
        f"{name} is not a Records Desk database: it holds tables of another program "
        f"({shown}). Choose a database Records Desk made, or {empty}."
    )


class DatabaseOutdatedError(DatabaseUnavailableError):
    """The database's schema is older than the code and must be migrated first."""


# The CHECK constraints of the models, in words (names without the "ck_<table>_" prefix).
_RULES = {
    "balance_not_negative": "The balance cannot go below zero.",
    "total_not_negative": "An order total cannot be negative.",
    "quantity_positive": "The quantity must be at least 1.",
    "unit_price_not_negative": "The unit price cannot be negative.",
    "amount_positive": "The amount must be greater than zero.",
    "distinct_accounts": "The two accounts must be different.",
    "email_not_empty": "The email cannot be empty.",
    "name_not_empty": "The name cannot be empty.",
    "title_not_empty": "The title cannot be empty.",
    "product_not_empty": "The product cannot be empty.",
    "order_status": "That is not an order status.",
}

_NETWORK_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN, errno.ETIMEDOUT}
)
# PostgreSQL SQLSTATE classes that mean "cannot use the server now", not "our query is wrong".
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "28", "3D", "53", "57")


@contextmanager
def translate_errors(url: URL) -> Iterator[None]:
    """Turn what the environment did wrong into a RecordsDeskError; let our bugs through."""
    try:
        yield
    except RecordsDeskError:
        raise
    except (InvalidValueError, SettingsError) as error:
        raise ValidationError(str(error)) from error
    except StaleVersionError as error:
        raise EditConflictError(
            "Someone else changed this record after you opened it "
            f"(your copy is version {error.expected}, the database has {error.actual}). "
            "Reload it and apply your change again."
        ) from error
    except StaleDataError as error:
        raise EditConflictError(
            "Someone else changed or removed this record at the same time. "
            "Reload it and apply your change again."
        ) from error
    except sa_exc.IntegrityError as error:
        raise describe_integrity_error(error) from error
    except sa_exc.StatementError as error:
        unavailable = _unavailable(url, error.orig if error.orig is not None else error)
        invalidated = isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated
        if unavailable is None and invalidated:
            unavailable = DatabaseUnavailableError(
                f"The connection to {describe_url(url)} was lost. Try again."
            )
        if unavailable is None and isinstance(error.orig, InvalidValueError):
            raise ValidationError(str(error.orig)) from error
        if unavailable is None:
            raise
        raise unavailable from error
    except Exception as error:
        unavailable = _unavailable(url, error)
        if unavailable is None:
            raise
        raise unavailable from error


def describe_integrity_error(error: sa_exc.IntegrityError) -> RecordsDeskError:
    detail = str(error.orig)
    cause = error.orig.__cause__ if error.orig is not None else None
    constraint = getattr(cause, "constraint_name", None) or ""
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(cause, "sqlstate", None)
    lowered = detail.lower()
    if sqlstate == "23505" or "unique constraint" in lowered:
        column = _unique_column(constraint, detail)
        return ConflictError(
            f"Another record already has this {(column or 'value').replace('_', ' ')}.",
            field=column,
        )
    if sqlstate == "23503" or "foreign key constraint" in lowered:
        match = re.search(r"\((\w+)\)=", str(getattr(cause, "detail", "") or detail))
        return ValidationError(
            "The record refers to a record that does not exist.",
            field=match.group(1) if match else None,
        )
    if sqlstate == "23502" or "not null constraint" in lowered:
        match = re.search(r'column "(\w+)"|NOT NULL constraint failed: \w+\.(\w+)', detail)
        column = next((group for group in match.groups() if group), None) if match else None
        return ValidationError(
            f"The {(column or 'value').replace('_', ' ')} is required.", field=column
        )
    name = constraint or _check_name(detail)
    for rule, message in _RULES.items():
        if name.endswith(rule):
            return ValidationError(message, field=_RULE_FIELDS.get(rule))
    return ValidationError("The change breaks a rule of the database.")


# The column a CHECK constraint is about, where it is about one.
_RULE_FIELDS = {
    "balance_not_negative": "balance",
    "total_not_negative": "total",
    "quantity_positive": "quantity",
    "unit_price_not_negative": "unit_price",
    "amount_positive": "amount",
    "email_not_empty": "email",
    "name_not_empty": "name",
    "title_not_empty": "title",
    "product_not_empty": "product",
    "order_status": "status",
}


def _unique_column(constraint: str, detail: str) -> str | None:
    match = re.search(r"UNIQUE constraint failed: \w+\.(\w+)", detail)
    if match:
        return match.group(1)
    # SQLite names a unique index over an expression (an email ignoring case) by its name.
    match = re.search(r"UNIQUE constraint failed: index '(\w+)'", detail)
    if match:
        constraint = match.group(1)
    parts = constraint.split("_", 2)  # uq_<table>_<column>
    return parts[2] if constraint.startswith("uq_") and len(parts) == 3 else None


def _check_name(detail: str) -> str:
    match = re.search(r"CHECK constraint failed: (\w+)", detail)
    return match.group(1) if match else ""


def _unavailable(url: URL, error: BaseException) -> RecordsDeskError | None:
    """Words for an error that means the database cannot be used now, else None.

    The database is named by ``describe_url`` only; a driver's own text is quoted with the
    password blanked out, should it ever echo a connect string.
    """
    where = describe_url(url)
    message = redact(str(error), url.password)
    lowered = message.lower()
    cause = error.__cause__
    sqlstate = getattr(error, "sqlstate", None) or getattr(cause, "sqlstate", None) or ""
    if sqlstate == "25006" or "attempt to write a readonly database" in lowered:
        return ReadOnlyError(f"{where} is read-only: the change was not saved.")
    if url.get_backend_name() == "sqlite":
        if "database is locked" in lowered or "database is busy" in lowered:
            return DatabaseUnavailableError(
                f"{where} is busy: another program is writing to it. Try again in a moment."
            )
        if "unable to open database file" in lowered:
            return DatabaseUnavailableError(
                f"Cannot open {where}: check that its folder exists and is writable."
            )
        if "file is not a database" in lowered or "malformed" in lowered:
            return DatabaseUnavailableError(f"{where} is not a readable SQLite database.")
        if "readonly" in lowered or "read-only" in lowered:
            return DatabaseUnavailableError(f"{where} is read-only; changes cannot be saved.")
        if "disk i/o error" in lowered or "database or disk is full" in lowered:
            return DatabaseUnavailableError(f"Cannot write to {where}: {message}.")
        return None
    if isinstance(error, socket.gaierror):
        return DatabaseUnavailableError(f"Cannot reach {where}: the host name does not resolve.")
    if isinstance(error, ConnectionRefusedError) or "connect call failed" in lowered:
        return DatabaseUnavailableError(
            f"Cannot reach {where}: the server refused the connection. Is it running?"
        )
    if isinstance(error, asyncio.TimeoutError | TimeoutError):
        return DatabaseUnavailableError(f"{where} did not answer in time.")
    # Only network errors: a file the caller writes (an export) failing is not the server's.
    if isinstance(error, ConnectionError) or (
        isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS
    ):
        return DatabaseUnavailableError(f"The connection to {where} failed: {message}.")
    if sqlstate.startswith(_UNAVAILABLE_SQLSTATE_CLASSES):
        # Server messages name roles and databases, never passwords.
        text = message.split(": ", 1)[-1] if message.startswith("<class") else message
        return DatabaseUnavailableError(f"{where} refused: {text}.")
    if "connection is closed" in lowered or "connection was closed" in lowered:
        return DatabaseUnavailableError(f"The connection to {where} was lost. Try again.")
    return None
