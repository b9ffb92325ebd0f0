"""The JSON Lines export, for programs rather than people: one JSON object per row, keyed
by column name, in the view's order; money exact (a string such as ``"12.50"`` by default,
or a JSON number written digit for digit), times as ISO 8601 in UTC with their offset,
booleans as booleans, empty values as null. UTF-8, one LF after each line."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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
        kind = column.kind
        if kind in (ColumnKind.INTEGER, ColumnKind.REFERENCE):
            return str
        if kind is ColumnKind.BOOLEAN:
            return lambda value: "true" if value else "false"
        if kind is ColumnKind.MONEY:
            if self._options.decimals_as_numbers:
                return _decimal_number
            return lambda value: f'"{_decimal_number(value)}"'
        if kind is ColumnKind.DATETIME:
            return lambda value: f'"{_utc(value)}"'
        return lambda value: json.dumps(str(value), ensure_ascii=False)

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


def _decimal_number(value: Decimal) -> str:
    """Digit for digit, never in exponent form (``1E+2`` is a number JSON allows, but not
    what anyone reading money expects)."""
    return format(Decimal(value), "f")


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()
