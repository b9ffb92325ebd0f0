"""The catalog: what the UI learns about kinds of record and their columns."""

from __future__ import annotations

from app.services import catalog


def test_only_the_password_hash_is_hidden_by_default() -> None:
    hidden = {
        (entity.name, column.name)
        for entity in catalog.entities()
        for column in entity.columns
        if column.hidden_by_default
    }

    assert hidden == {("users", "hashed_password")}
    assert catalog.entity("users").column("hashed_password").hidden_by_default
    assert not catalog.entity("users").column("email").hidden_by_default


def test_the_bookkeeping_of_every_kind_is_internal_and_nothing_else_is() -> None:
    for entity in catalog.entities():
        internal = {column.name for column in entity.columns if column.internal}
        assert internal == {"deleted_at", "version"}, entity.name
