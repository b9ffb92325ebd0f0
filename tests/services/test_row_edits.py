"""Editing another program's tables (issue 25): rows keyed by text, by an identity column
and by two columns; stale edits caught by the values read, without a version column;
deletes counted, cascaded, cleared or refused as the database's own foreign keys say, and
put back by undo — on both engines, and in a copy of proj.db nobody here wrote."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import URL

from app.changes import ChangeKind, ChangeSet
from app.config import sqlite_url
from app.core.database import Database
from app.query import DeletedRows, QuerySpec
from app.services import migrations
from app.services.errors import (
    ConflictError,
    EditConflictError,
    FieldValuesError,
    NotFoundError,
    RecordsDeskError,
    ValidationError,
)
from app.services.merging import merge
from app.services.records import RecordService
from tests import foreign


async def opened(url: URL, *, editing: bool = True) -> Database:
    # As the windows open it: edited where the connection allows it, else read-only.
    database = Database(url, edits_foreign=editing, read_only=not editing)
    await migrations.prepare_for_use(database)
    return database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def shops_url(request: pytest.FixtureRequest, tmp_path: Path) -> URL:
    if request.param == "sqlite":
        return sqlite_url(foreign.sqlite_editable(tmp_path))
    make: Callable[[], URL] = request.getfixturevalue("new_postgres_database")
    return asyncio.run(foreign.postgres_editable(make()))


@pytest.fixture
async def shops(shops_url: URL) -> AsyncIterator[RecordService]:
    database = await opened(shops_url)
    yield RecordService(database)
    await database.dispose()


async def raw(url: URL, sql: str) -> list[tuple[Any, ...]]:
    """``sql`` run by someone else: another connection, outside Records Desk."""
    if url.get_backend_name() == "sqlite":

        def run() -> list[tuple[Any, ...]]:
            with closing(sqlite3.connect(url.database or "")) as connection:
                rows = list(connection.execute(sql))
                connection.commit()
                return rows

        # In a thread: the loop goes on, so our own reads end and let the writer in.
        return await asyncio.to_thread(run)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        return [tuple(row) for row in await connection.fetch(sql)]
    finally:
        await connection.close()


# -- the catalog says what can be edited ------------------------------------------------------


async def test_tables_with_a_key_are_editable_and_say_how(shops: RecordService) -> None:
    known = shops.catalog
    assert known.entity("shop").read_only_reason == ""
    item = known.entity("item")
    assert item.column("id").database_default  # identity / INTEGER PRIMARY KEY
    assert item.column("id").fixed  # a key is given once
    assert item.column("label").required
    assert not item.column("added").required  # a default: left to the database
    assert item.column("price").minimum == 0
    assert item.column("price").minimum_exclusive
    assert known.entity("shop").column("rating").minimum == 0
    assert any("length(name)" in rule for rule in known.entity("shop").column("name").rules)
    actions = {r.entity: r.on_delete for r in known.entity("shop").relations}
    assert actions == {
        "item": "CASCADE",
        "stock": "CASCADE",
        "tag": "SET NULL",
        "audit": "RESTRICT",
    }


async def test_without_editing_every_table_stays_read_only(shops_url: URL) -> None:
    database = await opened(shops_url, editing=False)
    try:
        assert database.read_only
        assert not database.edits_foreign
        reason = RecordService(database).catalog.entity("shop").read_only_reason
        assert "read-only" in reason
        assert "Connections" in reason
        with pytest.raises(ValidationError, match="read-only"):
            await RecordService(database).create("shop", {"code": "S9", "name": "x"})
    finally:
        await database.dispose()


# -- creating ---------------------------------------------------------------------------------


async def test_a_new_row_gets_its_generated_key_and_defaults(shops: RecordService) -> None:
    row = await shops.create("item", {"shop_code": "S3", "label": "jam", "price": "4.20"})
    assert row["id"] == 4  # the identity column went on from the rows there
    assert row["added"] is not None  # the database's default
    assert Decimal(str(row["price"])) == Decimal("4.20")
    assert await shops.get("item", 4) == row


async def test_without_returning_a_new_row_is_found_by_its_rowid(tmp_path: Path) -> None:
    # SQLite only: before 3.35 it has no RETURNING (PostgreSQL always has).
    database = await opened(sqlite_url(foreign.sqlite_editable(tmp_path)))
    dialect = database.engine.sync_engine.dialect
    dialect.insert_returning = False  # as an SQLite older than 3.35 says
    try:
        row = await RecordService(database).create("item", {"shop_code": "S3", "label": "jam"})
    finally:
        dialect.insert_returning = True
        await database.dispose()
    assert row["id"] == 4
    assert row["label"] == "jam"


async def test_rows_keyed_by_text_and_by_two_columns_are_created(shops: RecordService) -> None:
    shop = await shops.create("shop", {"code": "S9", "name": "Níne", "opened": "2026-12-08"})
    assert shop["code"] == "S9"
    assert shop["note"] == "new"
    assert str(shop["opened"]) == "2026-12-08"
    stock = await shops.create("stock", {"shop_code": "S9", "slot": "3", "amount": "7"})
    assert await shops.get("stock", ("S9", 3)) == stock


async def test_what_a_form_gets_wrong_is_said_at_its_field(shops: RecordService) -> None:
    with pytest.raises(FieldValuesError) as caught:
        await shops.create("item", {"shop_code": "S404", "price": "0"})
    errors = caught.value.errors
    assert errors["label"] == "Required."
    assert "greater than 0" in errors["price"]
    with pytest.raises(FieldValuesError) as caught:
        await shops.create("item", {"shop_code": "S404", "label": "x"})
    assert caught.value.errors == {"shop_code": "There is no shop S404."}
    with pytest.raises(FieldValuesError) as caught:
        await shops.create("shop", {"code": "S8", "name": "n", "opened": "soon"})
    assert "not a valid date" in caught.value.errors["opened"]


async def test_a_rule_only_the_database_applies_is_named_at_its_field(
    shops: RecordService,
) -> None:
    with pytest.raises(ValidationError, match="name_short") as caught:
        await shops.create("shop", {"code": "S8", "name": "x" * 30})
    assert caught.value.field == "name"
    with pytest.raises(ConflictError) as taken:
        await shops.create("shop", {"code": "S1", "name": "again"})
    assert taken.value.field in ("code", None)


# -- editing ----------------------------------------------------------------------------------


async def test_an_edit_changes_only_its_fields(shops: RecordService) -> None:
    shop = await shops.get("shop", "S1")
    saved = await shops.update("shop", "S1", {"name": "Corner 2"}, expected_row=shop)
    assert saved == {**shop, "name": "Corner 2"}
    stock = await shops.get("stock", ("S1", 2))
    saved = await shops.update("stock", ("S1", 2), {"amount": "12"}, expected_row=stock)
    assert saved["amount"] == 12


async def test_a_concurrent_edit_is_caught_and_merged(shops: RecordService, shops_url: URL) -> None:
    opened_with = await shops.get("shop", "S1")
    # Someone else, outside Records Desk, changes the rating meanwhile.
    await raw(shops_url, "UPDATE shop SET rating = 2 WHERE code = 'S1'")
    mine = {"name": "Mine"}
    with pytest.raises(EditConflictError, match="Someone else changed shop S1"):
        await shops.update("shop", "S1", mine, expected_row=opened_with)
    stored = await shops.get("shop", "S1")
    assert stored["name"] == "Corner"
    assert stored["rating"] == 2
    merged, conflicts = merge(opened_with, {**opened_with, **mine}, stored)
    assert conflicts == []
    assert merged["rating"] == 2
    assert merged["name"] == "Mine"
    again = {name: merged[name] for name in ("name",)}
    saved = await shops.update("shop", "S1", again, expected_row=stored)
    assert saved["name"] == "Mine"
    assert saved["rating"] == 2


async def test_an_edit_of_a_row_deleted_meanwhile_says_so(
    shops: RecordService, shops_url: URL
) -> None:
    tag = await shops.get("tag", "busy")
    await raw(shops_url, "DELETE FROM tag WHERE name = 'busy'")
    with pytest.raises(NotFoundError, match="deleted meanwhile"):
        await shops.update("tag", "busy", {"shop_code": "S1"}, expected_row=tag)


async def test_a_key_is_not_changed_by_an_edit(shops: RecordService) -> None:
    shop = await shops.get("shop", "S3")
    with pytest.raises(FieldValuesError) as caught:
        await shops.update("shop", "S3", {"code": "S4"}, expected_row=shop)
    assert "key" in caught.value.errors["code"]


# -- deleting ---------------------------------------------------------------------------------


async def test_the_confirmation_counts_what_the_foreign_keys_do(shops: RecordService) -> None:
    plan = await shops.delete_plan("shop", ["S1"])
    assert plan.count == 1
    found = {(c.entity, c.action): c.count for c in plan.consequences}
    assert found == {
        ("item", "CASCADE"): 2,
        ("review", "CASCADE"): 2,  # the items' reviews, one level further
        ("stock", "CASCADE"): 2,
        ("tag", "SET NULL"): 1,
    }
    assert plan.refusal == ""
    refused = await shops.delete_plan("shop", ["S2"])
    assert refused.refusal == (
        "1 row of audit refers to them (shop_code): the database refuses the delete while they do."
    )


async def test_a_refused_delete_changes_nothing(shops: RecordService, shops_url: URL) -> None:
    shop = await shops.get("shop", "S2")
    with pytest.raises(ValidationError, match="Nothing was deleted: 1 row of audit"):
        await shops.delete_rows("shop", [shop])
    assert await shops.get("shop", "S2") == shop
    assert await raw(shops_url, "SELECT count(*) FROM item WHERE shop_code = 'S2'") == [(1,)]


async def test_a_delete_cascades_and_its_undo_puts_everything_back(
    shops: RecordService, shops_url: URL
) -> None:
    changes: list[ChangeSet] = []
    shops.database.changes.subscribe(changes.append)
    before = {
        table: sorted(await raw(shops_url, f"SELECT * FROM {table}"), key=repr)  # noqa: S608
        for table in ("shop", "item", "review", "stock", "tag", "audit")
    }
    shop = await shops.get("shop", "S1")
    removed = await shops.delete_rows("shop", [shop])
    assert [entity for entity, _row in removed.rows].count("review") == 2
    assert await raw(shops_url, "SELECT count(*) FROM item WHERE shop_code = 'S1'") == [(0,)]
    assert await raw(shops_url, "SELECT shop_code FROM tag WHERE name = 'cosy'") == [(None,)]
    kinds = {(c.entity, c.kind) for change in changes for c in change.changes}
    assert ("shop", ChangeKind.REMOVED) in kinds
    assert ("tag", ChangeKind.CHANGED) in kinds
    await shops.put_back(removed)
    after = {
        table: sorted(await raw(shops_url, f"SELECT * FROM {table}"), key=repr)  # noqa: S608
        for table in before
    }
    assert after == before


async def test_an_undo_is_refused_when_the_key_was_taken_meanwhile(
    shops: RecordService, shops_url: URL
) -> None:
    removed = await shops.delete_rows("tag", [await shops.get("tag", "busy")])
    await raw(shops_url, "INSERT INTO tag (name, shop_code) VALUES ('busy', 'S1')")
    with pytest.raises(ConflictError, match="tag busy was added again meanwhile"):
        await shops.put_back(removed)
    assert await raw(shops_url, "SELECT shop_code FROM tag WHERE name = 'busy'") == [("S1",)]


async def test_a_row_changed_meanwhile_is_not_deleted(shops: RecordService, shops_url: URL) -> None:
    rows = [await shops.get("stock", ("S1", 1)), await shops.get("stock", ("S3", 1))]
    await raw(shops_url, "UPDATE stock SET amount = 99 WHERE shop_code = 'S3'")
    with pytest.raises(EditConflictError, match="1 of the 2 rows changed"):
        await shops.delete_rows("stock", rows)
    assert await raw(shops_url, "SELECT count(*) FROM stock") == [(3,)]  # nothing half done


# -- any text into any field ------------------------------------------------------------------


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.text(max_size=40))
async def test_any_text_in_any_field_is_saved_or_refused_in_words(
    shops: RecordService, text: str
) -> None:
    for entity in ("shop", "item", "stock"):
        info = shops.catalog.entity(entity)
        for column in info.columns:
            if not column.editable or column.name in info.key:
                continue
            key: Any = {"shop": "S3", "item": 1, "stock": ("S1", 2)}[entity]
            row = await shops.get(entity, key)
            edit = shops.update(entity, key, {column.name: text}, expected_row=row)
            assert await saved_or_said(edit)
    new = {"code": text, "name": text, "rating": text, "opened": text}
    assert await saved_or_said(shops.create("shop", new))


async def saved_or_said(call: Any) -> str:
    """ "saved", or the refusal in words: any other exception fails the test."""
    try:
        await call
    except RecordsDeskError as error:
        return str(error)
    return "saved"


# -- a real database nobody here wrote --------------------------------------------------------


async def test_a_copy_of_proj_db_is_edited(tmp_path: Path) -> None:
    path = foreign.proj_db(tmp_path)
    database = await opened(sqlite_url(path))
    try:
        records = RecordService(database)
        unit = records.catalog.entity("unit_of_measure")
        assert unit.key == ("auth_name", "code")
        assert not unit.read_only_reason
        row = await records.get("unit_of_measure", ("EPSG", 9001))
        saved = await records.update(
            "unit_of_measure", ("EPSG", 9001), {"name": "metre (edited)"}, expected_row=row
        )
        assert saved["name"] == "metre (edited)"
        native = foreign.native_rows(
            path, "SELECT name FROM unit_of_measure WHERE auth_name = 'EPSG' AND code = 9001"
        )
        assert native == [("metre (edited)",)]
        # The metre: proj.db's own foreign keys would take thousands of rows with it.
        plan = await records.delete_plan("unit_of_measure", [("EPSG", 9001)])
        assert plan.count == 1
        assert plan.consequences
        assert all(c.count > 0 for c in plan.consequences)
        # More than an undo keeps: the question says "at least", and the delete could
        # not be undone.
        assert all(c.at_least for c in plan.consequences)
        assert any(c.text.startswith("at least ") for c in plan.consequences)
        assert sum(c.count for c in plan.consequences) > 5_000
    finally:
        await database.dispose()


# -- shapes a delete must walk right ----------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def graph_url(request: pytest.FixtureRequest, tmp_path: Path) -> URL:
    if request.param == "sqlite":
        return sqlite_url(foreign.sqlite_graph(tmp_path))
    make: Callable[[], URL] = request.getfixturevalue("new_postgres_database")
    return asyncio.run(foreign.postgres_graph(make()))


@pytest.fixture
async def graph(graph_url: URL) -> AsyncIterator[RecordService]:
    database = await opened(graph_url)
    yield RecordService(database)
    await database.dispose()


async def table_rows(url: URL, table: str) -> list[tuple[Any, ...]]:
    return sorted(await raw(url, f"SELECT * FROM {table}"), key=repr)  # noqa: S608


async def test_a_chain_of_rows_referring_to_each_other_goes_and_comes_back_whole(
    graph: RecordService, graph_url: URL
) -> None:
    before = await table_rows(graph_url, "node")
    plan = await graph.delete_plan("node", [1])
    assert [(c.entity, c.count, c.at_least) for c in plan.consequences] == [
        ("node", foreign.CHAIN - 1, False)
    ]
    removed = await graph.delete_rows("node", [await graph.get("node", 1)])
    assert len(removed.rows) == foreign.CHAIN
    assert await raw(graph_url, "SELECT count(*) FROM node") == [(0,)]
    await graph.put_back(removed)
    assert await table_rows(graph_url, "node") == before
    # Redo: the same rows chosen again, the cascade read again.
    again = await graph.delete_rows("node", removed.chosen)
    assert len(again.rows) == foreign.CHAIN


async def test_a_parent_and_its_child_chosen_together_are_deleted(
    graph: RecordService, graph_url: URL
) -> None:
    rows = [await graph.get("node", 14), await graph.get("node", 15)]
    removed = await graph.delete_rows("node", rows)
    assert sorted(row["id"] for _entity, row in removed.rows) == [14, 15]
    await graph.put_back(removed)
    assert await raw(graph_url, "SELECT count(*) FROM node") == [(foreign.CHAIN,)]


async def test_a_diamond_and_a_unique_column_reference_are_undone_in_order(
    graph: RecordService, graph_url: URL
) -> None:
    tables = ("project", "task", "comment", "badge")
    before = {table: await table_rows(graph_url, table) for table in tables}
    plan = await graph.delete_plan("project", [1])
    counts = {c.entity: c.count for c in plan.consequences}
    assert counts == {"task": 1, "comment": 2, "badge": 1}  # each comment once
    removed = await graph.delete_rows("project", [await graph.get("project", 1)])
    assert [await raw(graph_url, f"SELECT count(*) FROM {t}") for t in tables] == [[(0,)]] * 4  # noqa: S608
    await graph.put_back(removed)
    assert {table: await table_rows(graph_url, table) for table in tables} == before


async def test_more_rows_than_a_statement_holds_are_deleted_and_put_back(
    graph: RecordService, graph_url: URL
) -> None:
    keys = list(range(1, foreign.MANY + 1))
    rows = list((await graph.values("many", keys, ("id", "n"))).values())
    chosen = [{"id": row[0], "n": row[1]} for row in rows]
    assert (await graph.delete_plan("many", keys)).count == foreign.MANY
    removed = await graph.delete_rows("many", chosen)
    assert await raw(graph_url, "SELECT count(*) FROM many") == [(0,)]
    await graph.put_back(removed)
    assert await raw(graph_url, "SELECT count(*) FROM many") == [(foreign.MANY,)]


async def test_a_triggers_refusal_is_said_in_its_own_words(graph: RecordService) -> None:
    with pytest.raises(ValidationError, match="n must not be negative"):
        await graph.create("many", {"id": "9999", "n": "-1"})


async def test_an_unchanged_save_changes_nothing_and_a_save_needs_the_row_read(
    graph: RecordService,
) -> None:
    row = await graph.get("node", 3)
    assert await graph.update("node", 3, {}, expected_row=row) == row
    with pytest.raises(ValidationError, match="read it first"):
        await graph.update("node", 3, {"label": "x"})


@pytest.fixture
def postgres_graph_url(new_postgres_database: Callable[[], URL]) -> URL:
    return asyncio.run(foreign.postgres_graph(new_postgres_database()))


@pytest.mark.postgresql
async def test_intervals_and_json_are_saved_against_what_was_read(
    postgres_graph_url: URL,
) -> None:
    url = postgres_graph_url
    database = await opened(url)
    try:
        records = RecordService(database)
        span = await records.get("span", 1)
        # A year is 365 days to the driver and 360 to the server: never compared.
        saved = await records.update("span", 1, {"doc": '{"a": 2}'}, expected_row=span)
        assert saved["doc"] == {"a": 2}
        assert await raw(url, "SELECT length::text FROM span") == [("1 year 2 mons",)]
        await raw(url, """UPDATE span SET meta = '{"b": [3]}'""")
        with pytest.raises(EditConflictError):
            await records.update("span", 1, {"doc": '{"a": 3}'}, expected_row=saved)
        # A key the database always numbers itself cannot come back with a delete's undo.
        removed = await records.delete_rows("numbered", [await records.get("numbered", 1)])
        with pytest.raises(ValidationError, match="generated always"):
            await records.put_back(removed)
    finally:
        await database.dispose()


async def test_our_own_records_are_never_deleted_for_good(database: Database) -> None:
    records = RecordService(database)
    with pytest.raises(ValidationError, match="trash"):
        await records.delete_plan("users", [1])
    with pytest.raises(ValidationError, match="trash"):
        await records.delete_rows("users", [{"id": 1}])


async def test_a_minimum_refuses_what_is_not_a_number(shops: RecordService) -> None:
    row = await shops.get("shop", "S3")
    with pytest.raises(FieldValuesError) as caught:
        await shops.update("shop", "S3", {"rating": "nan"}, expected_row=row)
    assert caught.value.errors["rating"] == "Must be a number, at least 0."


# -- a trash column the user confirms ---------------------------------------------------------


async def test_a_deleted_at_column_is_the_trash_once_the_user_says_so(
    shops: RecordService, shops_url: URL
) -> None:
    memo = shops.catalog.entity("memo")
    assert memo.trash_candidate == "deleted_at"
    assert memo.soft_delete is None  # a convention, not a fact: not used unasked
    assert await shops.count("memo", QuerySpec()) == 3
    with pytest.raises(ValidationError, match="no column 'body'"):
        shops.use_trash("memo", "body")
    used = shops.use_trash("memo", "deleted_at")
    assert used.soft_delete == "deleted_at"
    assert await shops.count("memo", QuerySpec()) == 2
    assert await shops.count("memo", QuerySpec(deleted=DeletedRows.ONLY)) == 1
    keep = await shops.get("memo", 1)
    (trashed,) = await shops.trash_rows("memo", [keep])
    assert trashed["deleted_at"] is not None
    assert await shops.count("memo", QuerySpec()) == 1
    (back,) = await shops.trash_rows("memo", [trashed], restore=True)
    assert back == keep
    await raw(shops_url, "UPDATE memo SET body = 'theirs' WHERE id = 3")
    stale = {"id": 3, "body": "also", "deleted_at": None}
    with pytest.raises(EditConflictError, match="nothing was moved to the trash"):
        await shops.trash_rows("memo", [stale])
    shops.use_trash("memo", None)
    assert await shops.count("memo", QuerySpec()) == 3


# -- one field of many rows -------------------------------------------------------------------


async def test_a_field_set_in_many_rows_is_one_transaction(
    shops: RecordService, shops_url: URL
) -> None:
    with pytest.raises(FieldValuesError):
        shops.check_row_values("shop", {"rating": "-2"})
    assert shops.check_row_values("shop", {"rating": "3"}) == {"rating": 3.0}
    rows = [await shops.get("shop", code) for code in ("S1", "S2", "S3")]
    after = await shops.update_rows("shop", [(row, {"rating": "3"}) for row in rows])
    assert [row["rating"] for row in after] == [3, 3, 3]
    # Someone changes one of them: setting them again changes none.
    await raw(shops_url, "UPDATE shop SET note = 'theirs' WHERE code = 'S2'")
    with pytest.raises(EditConflictError, match="shop S2 changed"):
        await shops.update_rows("shop", [(row, {"rating": "4"}) for row in after])
    assert await raw(shops_url, "SELECT rating FROM shop ORDER BY code") == [(3,), (3,), (3,)]


async def test_a_cancel_midway_rolls_every_row_back(
    shops: RecordService, shops_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.repositories.rows import RowWriter

    update = RowWriter.update
    written: list[Any] = []

    async def then_cancelled(self: RowWriter, *args: Any, **kwargs: Any) -> Any:
        row = await update(self, *args, **kwargs)
        written.append(row)
        if len(written) == 2:  # Cancel pressed after the second row was written
            task = asyncio.current_task()
            assert task is not None
            task.cancel()  # lands at the next statement's await
        return row

    monkeypatch.setattr(RowWriter, "update", then_cancelled)
    rows = [await shops.get("shop", code) for code in ("S1", "S2", "S3")]
    running = asyncio.ensure_future(shops.update_rows("shop", [(r, {"note": "x"}) for r in rows]))
    with pytest.raises(asyncio.CancelledError):
        await running
    assert len(written) == 2
    assert await raw(shops_url, "SELECT count(*) FROM shop WHERE note = 'x'") == [(0,)]
