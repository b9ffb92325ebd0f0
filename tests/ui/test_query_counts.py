"""Query counts and laziness of the browse model (issue 6, item 12), pinned with an
``after_cursor_execute`` listener: a page is one statement, a jump from a kept anchor is
one statement, copying rows already in memory is none; after its first page the model asks
for nothing until rows are wanted, then for the page around the wanted row only, and makes
its anchors only once a deep jump needs them; the titles that reference cells show cost one
batched lookup per fetch, never one per row, and nothing for a kind without references — on
both engines. (Copying rows that are not in memory: tests/ui/test_copy.py.)"""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtGui import QGuiApplication
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.core.database import Database
from app.query import After, OffsetPage, QuerySpec
from app.services import catalog
from tests.ui.conftest import seed, settle, wait_until
from tests.ui.helpers import (
    USERS,
    ModelWatch,
    RecordingService,
    all_rows,
    analyze,
    open_window,
    raw,
    seed_users,
    settled,
    show_row,
    statements_run,
    wait_exact,
)
from ui import record_table_model
from ui.browse_window import BrowseWindow
from ui.record_table_model import RecordTableModel
from ui.selection import select_rows


def make_model(service: RecordingService, qtmodeltester: ModelTester) -> RecordTableModel:
    return ModelWatch(qtmodeltester).attach(RecordTableModel(service, USERS))


async def quiet(model: RecordTableModel) -> None:
    """Counted, first page in, nothing under way."""
    await wait_exact(model)
    await wait_until(model.rows_loaded, lambda: model.is_loaded(0))
    await settle()


def test_fetching_one_page_costs_one_statement(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtmodeltester: ModelTester,
    small_pages: None,
) -> None:
    seed_users(qt_loop, ui_database, 95)
    service = RecordingService(ui_database)

    async def scenario() -> None:
        model = make_model(service, qtmodeltester)
        await quiet(model)
        service.forget()

        with statements_run(ui_database) as statements:
            await show_row(model, 10)  # the next page, from the last key of the first
            await settle()

        assert len(statements.queries) == 1
        assert service.requests == [After((raw(model, 9, "id"),), 10)]
        assert service.title_calls == 0  # users reference nothing: no lookup at all

    qt_loop.run_until_complete(scenario())


def test_a_jump_from_a_kept_anchor_costs_one_statement(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtmodeltester: ModelTester,
    small_pages: None,
) -> None:
    seed_users(qt_loop, ui_database, 200)
    service = RecordingService(ui_database)

    async def scenario() -> None:
        model = make_model(service, qtmodeltester)
        await quiet(model)
        await show_row(model, 60)  # the first deep jump makes the anchors
        await wait_until(model.count_changed, lambda: model.anchor_count > 0)
        await settle()
        service.forget()

        with statements_run(ui_database) as statements:
            await show_row(model, 130)
            await settle()

        assert len(statements.queries) == 1
        (request,) = service.requests
        assert isinstance(request, After)
        assert request.key is not None
        assert 0 < request.skip < record_table_model.ANCHOR_STRIDE  # a short OFFSET past a key
        ids = [row[0] for row in await all_rows(ui_database, "users", QuerySpec())]
        assert [raw(model, row, "id") for row in range(130, 140)] == ids[130:140]

    qt_loop.run_until_complete(scenario())


def test_the_model_asks_for_nothing_more_until_rows_are_wanted_then_only_for_them(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtmodeltester: ModelTester,
    small_pages: None,
) -> None:
    seed_users(qt_loop, ui_database, 600)
    qt_loop.run_until_complete(analyze(ui_database))
    service = RecordingService(ui_database)

    async def scenario() -> None:
        with statements_run(ui_database) as statements:
            model = make_model(service, qtmodeltester)
            await quiet(model)
        # The first page and the count (PostgreSQL's estimate first): nothing else.
        assert service.requests == [After(None, 10)]
        assert len(statements.queries) == (2 if ui_database.is_sqlite else 3)
        assert model.cached_page_count() == 1
        assert service.anchor_calls == 0

        await show_row(model, 10)  # a page next to one in memory: no anchors needed
        await settle()
        assert service.anchor_calls == 0
        service.forget()

        await show_row(model, 500)

        assert service.requests == [OffsetPage(500, 10)]  # rows 500-509, none of 20-499
        assert not any(model.is_loaded(row) for row in range(20, 500, 10))
        await wait_until(model.count_changed, lambda: model.anchor_count > 0)
        assert service.anchor_calls == 1  # the deep jump asked for the anchors, once
        await show_row(model, 330)
        await settle()
        assert service.anchor_calls == 1
        assert not any(isinstance(request, OffsetPage) for request in service.requests[1:])
        ids = [row[0] for row in await all_rows(ui_database, "users", QuerySpec())]
        assert raw(model, 500, "id") == ids[500]
        assert raw(model, 330, "id") == ids[330]

    qt_loop.run_until_complete(scenario())


def test_copying_rows_in_memory_costs_no_statement(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    qtmodeltester: ModelTester,
    windows: list[BrowseWindow],
) -> None:
    seed_users(qt_loop, ui_database, 30)
    service = RecordingService(ui_database)

    async def scenario() -> None:
        window = open_window(service, windows, qtbot, ModelWatch(qtmodeltester))
        model = await settled(window)
        service.forget()
        select_rows(window.table, 0, model.rowCount() - 1)

        with statements_run(ui_database) as statements:
            await window.copying.copy_selection()

        assert statements.all == []
        assert service.requests == []
        assert QGuiApplication.clipboard().text().count("\n") == 31  # the header and 30 rows

    qt_loop.run_until_complete(scenario())


@pytest.mark.parametrize(
    ("entity", "referenced"),
    [("posts", {"users"}), ("transfers", {"accounts"}), ("order_items", {"orders"})],
)
def test_the_titles_of_a_page_cost_one_statement_however_many_rows_name_them(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtmodeltester: ModelTester,
    small_pages: None,
    entity: str,
    referenced: set[str],
) -> None:
    # Every reference column of these rows names a record (a transfer two accounts), and
    # many rows name the same one: still one lookup beside the page's own statement.
    seed(
        qt_loop,
        ui_database,
        15,
        deleted_fraction=0,
        posts_per_user=3,
        orders_per_user=2,
        transfers_per_account=3,
    )
    service = RecordingService(ui_database)
    info = catalog.entity(entity)

    async def scenario() -> None:
        model = ModelWatch(qtmodeltester).attach(RecordTableModel(service, info))
        await quiet(model)
        assert model.rowCount() > 20
        service.forget()

        with statements_run(ui_database) as statements:
            await show_row(model, 10)
            await settle()

        assert len(statements.queries) == 2  # the page, and its titles
        assert service.title_calls == 1
        references = [column for column in info.columns if column.references is not None]
        assert {column.references for column in references} == referenced
        for column in references:
            shown = model.data(model.index(10, model.column_index(column.name)))
            assert shown.startswith(f"#{raw(model, 10, column.name)} ")  # a title, not an id

    qt_loop.run_until_complete(scenario())


def test_four_pages_fetched_together_share_one_lookup(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtmodeltester: ModelTester,
    small_pages: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Room for the four pages beside the first: none dropped, none asked for again.
    monkeypatch.setattr(record_table_model, "MAX_CACHED_PAGES", 8)
    seed(qt_loop, ui_database, 30, deleted_fraction=0, posts_per_user=2, orders_per_user=0)
    service = RecordingService(ui_database)

    async def scenario() -> None:
        model = ModelWatch(qtmodeltester).attach(RecordTableModel(service, catalog.entity("posts")))
        await quiet(model)
        service.forget()

        with statements_run(ui_database) as statements:
            for row in range(10, 50, 10):  # four pages wanted before the fetch runs
                model.data(model.index(row, 0))
            await wait_until(model.rows_loaded, lambda: model.is_loaded(40))
            await settle()

        pages = len(service.requests)
        assert pages == 1  # one statement for the four pages...
        assert len(statements.queries) == 2  # ...and one for all their titles
        assert service.title_calls == 1

    qt_loop.run_until_complete(scenario())
