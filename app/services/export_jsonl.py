"""The JSON Lines export, for programs rather than people: one JSON object per row, keyed
by column name, in the view's order; money exact (a string such as ``"12.50"`` by default,
or a JSON number written digit for digit), times as ISO 8601 in UTC with their offset,
booleans as booleans, empty values as null. UTF-8, one LF after each line."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from app.services.catalog import ColumnInfo, ColumnKind
from app.services.export_rows import RowWriter, Stream, in_turns


@dataclass(frozen=True)
class JsonLinesOptions:
    # Money as JSON numbers (exact digits; some readers turn them into floats) rather
    # than as strings.
    decimals_as_numbers: bool = False


def jsonl_writer(options: JsonLinesOptions) -> Callable[[int], RowWriter]:
    """The writer maker ``export_rows.export_typed`` takes."""
    return lambda _total: _JsonLinesWriter(options)


class _JsonLinesWriter:
    def __init__(self, options: JsonLinesOptions) -> None:
        self._options = options
        self._stream: Stream | None = None
        self._keys: list[str] = []
        self._values: list[Callable[[Any], str]] = []

    def begin(self, columns: Sequence[ColumnInfo], stream: Stream) -> None:
        self._stream = stream
        # Each key once, already encoded with its quote and colon.
        self._keys = [json.dumps(column.name, ensure_ascii=False) + ":" for column in columns]
        self._values = [self._encoder(column) for column in columns]

    def _encoder(self, column: ColumnInfo) -> Callable[[Any], str]:
        """How a value of ``column`` is written: by its kind where its value is of that
        kind (ours always are), else as what it is (``_plain``: another program's SQLite
        keeps text in a number column, and JSON is a document of its own)."""
        kind = column.kind
        if kind is ColumnKind.INTEGER:
            return lambda value: str(value) if _whole(value) else _plain(value)
        if kind is ColumnKind.BOOLEAN:
            return lambda value: (
                ("true" if value else "false") if isinstance(value, bool | int) else _plain(value)
            )
        if kind in (ColumnKind.MONEY, ColumnKind.DECIMAL):
            if self._options.decimals_as_numbers:
                return lambda value: (
                    _decimal_number(value) if isinstance(value, Decimal) else _plain(value)
                )
            return lambda value: (
                f'"{_decimal_number(value)}"' if isinstance(value, Decimal) else _plain(value)
            )
        if kind is ColumnKind.DATETIME:
            return lambda value: (
                f'"{_utc(value)}"'
                if isinstance(value, datetime) and value.tzinfo is not None
                else _plain(value)
            )
        if kind is ColumnKind.TEXT or kind is ColumnKind.CHOICE:
            # Bytes another program kept in a text column are bytes all the same.
            return lambda value: (
                json.dumps(value, ensure_ascii=False) if isinstance(value, str) else _plain(value)
            )
        if kind is ColumnKind.JSON:
            return lambda value: json.dumps(value, ensure_ascii=False, default=str)
        return _plain

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        assert self._stream is not None
        keys, values = self._keys, self._values
        lines = [
            "{"
            + ",".join(
                keys[i] + ("null" if value is None else values[i](value))
                for i, value in enumerate(row)
            )
            + "}\n"
            for part in in_turns(rows)
            for row in part
        ]
        self._stream.write("".join(lines).encode())

    def end(self) -> None:
        pass


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _plain(value: Any) -> str:
    """A value as what it is: whole numbers and finite floats as JSON numbers (a float by
    its shortest spelling), yes/no as a boolean, bytes as base64 text (the one rule for
    bytes in every export), a list as a JSON array, a moment or a duration as ISO text,
    anything else as its text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if _whole(value):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else json.dumps(str(value))
    if isinstance(value, Decimal):
        return f'"{_decimal_number(value)}"' if value.is_finite() else json.dumps(str(value))
    if isinstance(value, bytes | bytearray | memoryview):
        return json.dumps(base64.b64encode(bytes(value)).decode("ascii"))
    if isinstance(value, list | tuple):
        return "[" + ",".join("null" if item is None else _plain(item) for item in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, datetime | date | time):
        return json.dumps(value.isoformat(), ensure_ascii=False)
    return json.dumps(str(value), ensure_ascii=False)


def _decimal_number(value: Decimal) -> str:
    """Digit for digit, never in exponent form (``1E+2`` is a number JSON allows, but not
    what anyone reading money expects)."""
    return format(Decimal(value), "f")


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()
