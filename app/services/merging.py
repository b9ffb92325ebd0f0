"""Three-way merge of a record's fields after an edit conflict: what the form opened with
(original), what the user typed (mine) and what the database holds now (stored)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldConflict:
    """A field both sides changed, to different values: the user chooses."""

    name: str
    original: Any
    mine: Any
    stored: Any


def merge(
    original: Mapping[str, Any], mine: Mapping[str, Any], stored: Mapping[str, Any]
) -> tuple[dict[str, Any], list[FieldConflict]]:
    """The fields of ``mine`` merged with ``stored``: a field only one side changed takes
    that side's value; one both changed alike is simply that value; the others are
    returned as conflicts (and hold the user's value in the merge until they choose)."""
    merged: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    for name, value in mine.items():
        before, now = original.get(name), stored.get(name)
        if value == before:
            merged[name] = now
        elif now in (before, value):
            merged[name] = value
        else:
            merged[name] = value
            conflicts.append(FieldConflict(name, before, value, now))
    return merged, conflicts
