"""The three-way merge behind the edit-conflict view."""

from __future__ import annotations

from decimal import Decimal

from app.services.merging import FieldConflict, merge


def test_a_field_changed_on_one_side_takes_that_side() -> None:
    original = {"name": "Ada", "email": "a@x.org", "balance": Decimal("1.00")}
    mine = {"name": "Ada", "email": "ada@x.org", "balance": Decimal("1.00")}
    stored = {"name": "Ada B.", "email": "a@x.org", "balance": Decimal("1.00")}
    merged, conflicts = merge(original, mine, stored)
    assert merged == {"name": "Ada B.", "email": "ada@x.org", "balance": Decimal("1.00")}
    assert conflicts == []


def test_the_same_change_on_both_sides_is_no_conflict() -> None:
    merged, conflicts = merge({"name": "Ada"}, {"name": "Grace"}, {"name": "Grace"})
    assert (merged, conflicts) == ({"name": "Grace"}, [])


def test_different_changes_to_one_field_are_a_conflict_keeping_mine_meanwhile() -> None:
    merged, conflicts = merge({"name": "Ada"}, {"name": "Grace"}, {"name": "Alan"})
    assert merged == {"name": "Grace"}
    assert conflicts == [FieldConflict("name", "Ada", "Grace", "Alan")]
