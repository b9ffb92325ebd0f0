"""A record's values checked against its kind's rules before any SQL runs, so a form can
say beside each field what is wrong (the database's own refusals are the last line; see
errors.describe_integrity_error)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from app.column_kinds import kind_of_type
from app.models.types import InvalidValueError, stored_as_is
from app.query import column_value
from app.repositories import REPOSITORIES
from app.services.catalog import ColumnInfo, ColumnKind, EntityInfo
from app.services.errors import FieldValuesError, ValidationError

TEXT_KIND = ColumnKind.TEXT

# Deliberately loose (RFC 5322 allows far more than any form should refuse): one @, no
# spaces, a dot in the domain. A typo like "ada@example" or "ada example.org" is caught.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+\Z")
PASSWORD_MIN_CHARS = 8


def checked_values(
    entity: EntityInfo, values: Mapping[str, Any], *, creating: bool
) -> dict[str, Any]:
    """``values`` as the columns hold them (money as Decimal, choices as their value…), or
    FieldValuesError naming every field that breaks a rule. ``creating``: the required fields
    must all be there (an update changes only the fields it names)."""
    repository = REPOSITORIES[entity.name]
    errors: dict[str, str] = {}
    checked: dict[str, Any] = {}
    for name, value in values.items():
        column = entity.column(name)
        if column.secret:
            raise ValidationError(f"{column.label} is set with Set password…, never directly.")
        if column.derived:
            errors[name] = column.derived
            continue
        if not column.editable:
            raise ValidationError(f"{column.label} is kept by Records Desk and cannot be set.")
        if column.fixed and not creating:
            errors[name] = "Given when the record is created; it stays as it was."
            continue
        try:
            checked[name] = _checked(column, repository.column(name), value)
        except InvalidValueError as error:
            errors[name] = _sentence(str(error))
    if creating:
        for column in entity.columns:
            if column.required and column.editable and column.name not in values:
                errors.setdefault(column.name, "Required.")
    if errors:
        raise FieldValuesError(errors, {column.name: column.label for column in entity.columns})
    return checked


def checked_row_values(
    entity: EntityInfo, table: Any, values: Mapping[str, Any], *, creating: bool
) -> dict[str, Any]:
    """``values`` for a row of another program's ``table`` (a SQLAlchemy Table), each
    turned into its column's value by the column's kind, or FieldValuesError naming every
    field that breaks a rule: a type, a length, a minimum a CHECK states. Creating, a
    blank field the database fills itself (a default, an identity key) is left out, and
    a required one is refused."""
    errors: dict[str, str] = {}
    checked: dict[str, Any] = {}
    for name, value in values.items():
        column = entity.column(name)
        if column.derived:
            errors[name] = column.derived
            continue
        if column.managed:
            raise ValidationError(f"{column.label} is computed by the database and cannot be set.")
        if column.fixed and not creating:
            errors[name] = "Part of the row's key: given when the row is created, kept after."
            continue
        blank = value is None or (
            isinstance(value, str) and not value.strip() and column.kind is not ColumnKind.TEXT
        )
        if blank and creating and column.database_default:
            continue  # the database's own default
        try:
            if blank:
                if not column.nullable:
                    raise InvalidValueError("Required.")
                checked[name] = None
            else:
                checked[name] = _row_value(column, table.c[name], value)
        except InvalidValueError as error:
            errors[name] = _sentence(str(error))
    if creating:
        for column in entity.columns:
            if column.required and column.editable and column.name not in values:
                errors.setdefault(column.name, "Required.")
    if errors:
        raise FieldValuesError(errors, {column.name: column.label for column in entity.columns})
    return checked


def _row_value(column: ColumnInfo, sa_column: Any, value: Any) -> Any:
    """A value for another program's column, checked by its kind. In a SQLite file, text
    that reads as a value of the kind (a date, a UUID, JSON) is stored as typed: the
    program's own way of writing it is kept, never rewritten in ours."""
    if column.kind is ColumnKind.TEXT:
        return _checked_text(column, sa_column, value)
    kind = kind_of_type(sa_column.type)  # a reference: the kind of the key it holds
    if kind is ColumnKind.JSON and isinstance(value, str):
        try:
            coerced = json.loads(value)
        except ValueError:
            raise InvalidValueError('Not valid JSON (like {"a": 1} or [1, 2]).') from None
    else:
        coerced = kind.coerce(value, sa_column.type)
    if kind.numeric and column.minimum is not None:
        number = Decimal(coerced)
        if not number.is_finite():
            raise InvalidValueError(f"Must be a number, at least {column.minimum:f}.")
        _check_minimum(column, number)
    if (
        stored_as_is(sa_column.type)
        and isinstance(value, str)
        and not kind.numeric
        and kind is not ColumnKind.BOOLEAN
    ):
        return TEXT_KIND.coerce(value.strip(), sa_column.type)
    return coerced


def _checked(column: ColumnInfo, sa_column: Any, value: Any) -> Any:
    if value is None or (
        isinstance(value, str) and not value.strip() and column.kind is not ColumnKind.TEXT
    ):
        if column.required or (not column.nullable and column.default is None):
            raise InvalidValueError("Required.")
        return None if column.nullable else column.default
    if column.kind is ColumnKind.TEXT:
        return _checked_text(column, sa_column, value)
    coerced = column_value(sa_column, value)
    if column.kind is ColumnKind.CHOICE:
        coerced = getattr(coerced, "value", coerced)
    if column.kind.numeric and column.minimum is not None:
        _check_minimum(column, Decimal(coerced))
    return coerced


def _checked_text(column: ColumnInfo, sa_column: Any, value: Any) -> str:
    text: str = column_value(sa_column, value)
    if column.text_format == "email":
        # Pasted addresses bring line breaks and spaces along; stored as typed, "a@x.org\n"
        # would be a second address beside "a@x.org".
        text = text.strip()
    if not text.strip():
        if column.required:
            raise InvalidValueError("Required.")
        if column.nullable:
            return text
    if column.length is not None and len(text) > column.length:
        raise InvalidValueError(f"At most {column.length:,} characters (this has {len(text):,}).")
    if column.text_format == "email" and not _EMAIL.match(text):
        raise InvalidValueError("Not an email address (like ada@example.org).")
    if column.text_format == "email" and not text.isprintable():
        # A control or zero-width character is invisible: two addresses would look alike.
        raise InvalidValueError("An email address cannot hold invisible characters.")
    if column.text_format == "url" and text.strip():
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in text:
            raise InvalidValueError("Not a web address (like https://example.org/a.png).")
    return text


def _check_minimum(column: ColumnInfo, number: Decimal) -> None:
    assert column.minimum is not None
    shown = f"{column.minimum:f}"
    if column.minimum_exclusive and number <= column.minimum:
        if column.kind is ColumnKind.INTEGER:
            raise InvalidValueError(f"Must be at least {column.minimum + 1:f}.")
        raise InvalidValueError(f"Must be greater than {shown}.")
    if number < column.minimum:
        raise InvalidValueError(f"Must be at least {shown}.")


def checked_password(password: str) -> str:
    """A password fit to hash, or a ValidationError saying why not."""
    if len(password) < PASSWORD_MIN_CHARS:
        raise ValidationError(
            f"A password needs at least {PASSWORD_MIN_CHARS} characters.", field="password"
        )
    if "\x00" in password or re.search(r"[\ud800-\udfff]", password):
        raise ValidationError("A password cannot hold that character.", field="password")
    return password


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return "Not valid."
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!", ")")) else text + "."
