"""The browse table model: a page cache that answers from memory and fetches in the
background, drops stale answers and keeps its memory bounded — on both engines."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtCore import QLocale, QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from sqlalchemy import update as sa_update

from app.core.database import Database
from app.models import Account
from app.query import (
    After,
    Before,
    DeletedRows,
    OffsetPage,
    OneOf,
    Page,
    PageRequest,
    QuerySpec,
    SortKey,
    ViewState,
)
from app.services import catalog
from app.services.records import RecordService
from tests.ui.conftest import seed, settle, wait_until
from ui import record_table_model
from ui.record_table_model import PLACEHOLDER, RAW_VALUE_ROLE, CountState, RecordTableModel

USERS = catalog.entity("users")


class RecordingService(RecordService):
    """The real service, remembering every page request the model makes."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.requests: list[tuple[QuerySpec, PageRequest]] = []

    async def browse(
        self, entity: str, spec: QuerySpec, page: PageRequest, *, preview: int | None = None
    ) -> Page:
        self.requests.append((spec, page))
        return await super().browse(entity, spec, page, preview=preview)


def attach_tester(tester: ModelTester, model: RecordTableModel) -> None:
    """QAbstractItemModelTester watches every later change; a broken rule fails the test
    through the Qt warning it logs (qt_log_level_fail)."""
    tester.check(model)  # type: ignore[no-untyped-call]


def make_model(
    service: RecordService, qtmodeltester: ModelTester, spec: QuerySpec | None = None
) -> RecordTableModel:
    view = ViewState(USERS.name, spec) if spec is not None else None
    model = RecordTableModel(service, USERS, view)
    attach_tester(qtmodeltester, model)  # before the model's first change
    return model


def set_spec(model: RecordTableModel, spec: QuerySpec) -> None:
    model.set_view(replace(model.view, spec=spec))


async def wait_exact(model: RecordTableModel) -> None:
    await wait_until(model.count_changed, lambda: model.count_state is CountState.EXACT)


async def show_row(model: RecordTableModel, row: int) -> None:
    """Do what a view does when the row scrolls into sight, and wait for it to arrive."""
    model.data(model.index(row, 0))
    await wait_until(model.rows_loaded, lambda: model.is_loaded(row))


def cell(model: RecordTableModel, row: int, column: str, role: int = RAW_VALUE_ROLE) -> Any:
    return model.data(model.index(row, model.column_index(column)), role)


async def expected_ids(database: Database, spec: QuerySpec) -> list[int]:
    page = await RecordService(database).browse("users", spec, OffsetPage(0, 100_000))
    return [row[0] for row in page.rows]


def test_first_rows_arrive_then_the_exact_count(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtmodeltester: ModelTester
) -> None:
    seed(qt_loop, ui_database, 450)

    async def scenario() -> None:
        model = make_model(RecordService(ui_database), qtmodeltester)
        await wait_until(model.rows_loaded, lambda: model.is_loaded(0))
        await wait_exact(model)
        ids = await expected_ids(ui_database, QuerySpec())
        assert model.rowCount() == len(ids)
        assert cell(model, 0, "id") == ids[0]
        assert isinstance(cell(model, 0, "created_at", Qt.ItemDataRole.DisplayRole), str)
        assert model.rowCount(model.index(0, 0)) == 0  # a table has no children
        assert model.columnCount() == len(USERS.columns)
        assert model.headerData(1, Qt.Orientation.Horizontal) == "Email"

    qt_loop.run_until_complete(scenario())


def test_the_count_is_known_while_only_one_page_is_loaded(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtmodeltester: ModelTester,
    small_pages: None,
) -> None:
    seed(qt_loop, ui_database, 95, deleted_fraction=0)

    async def scenario() -> None:
        model = make_model(RecordService(ui_database), qtmodeltester)
        await wait_exact(model)
        await wait_until(model.rows_loaded, lambda: model.is_loaded(0))
        assert model.rowCount() == 95
        assert model.cached_page_count() == 1
        assert not model.is_loaded(50)
        assert model.data(model.index(50, 0)) == PLACEHOLDER
        await wait_until(model.rows_loaded, lambda: model.is_loaded(50))
        assert model.data(model.index(50, 0)) == str(
            (await expected_ids(ui_database, QuerySpec()))[50]
        )

    qt_loop.run_until_complete(scenario())


def test_jumps_use_keys_not_long_offsets(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtmodeltester: ModelTester,
    small_pages: None,
) -> None:
    seed(qt_loop, ui_database, 200, deleted_fraction=0)
    service = RecordingService(ui_database)

    async def scenario() -> None:
        spec = QuerySpec(sort=(SortKey("name", descending=True),))
        model = make_model(service, qtmodeltester, spec)
        await wait_exact(model)
        assert model.anchor_count == 0  # a full pass: only once a deep jump needs them
        ids = await expected_ids(ui_database, spec)
        await show_row(model, 150)  # the first deep jump: an OFFSET, and anchors are made
        assert isinstance(service.requests[-1][1], OffsetPage)
        await wait_until(model.count_changed, lambda: model.anchor_count > 0)

        service.requests.clear()
        for row in (135, 199, 87, 95):  # middle (anchor), end, middle again, the next page
            await show_row(model, row)
            assert cell(model, row, "id") == ids[row]

        requests = [page for _, page in service.requests]
        assert not any(isinstance(request, OffsetPage) for request in requests)
        from_anchor = [r for r in requests if isinstance(r, After) and r.key and r.skip]
        assert from_anchor  # the middle was reached from a kept key, not from the start
        assert all(r.skip < record_table_model.ANCHOR_STRIDE for r in from_anchor)
        assert model.cached_page_count() <= 3  # far pages were evicted

    qt_loop.run_until_complete(scenario())


def test_the_end_is_read_backwards(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtmodeltester: ModelTester,
    small_pages: None,
) -> None:
    seed(qt_loop, ui_database, 120, deleted_fraction=0)
    service = RecordingService(ui_database)

    async def scenario() -> None:
        model = make_model(service, qtmodeltester)
        await wait_exact(model)
        last = model.rowCount() - 1
        for row in (50, 70, 90, 30):  # with three pages kept, the last one is gone by now
            await show_row(model, row)
        assert not model.is_loaded(last)
        service.requests.clear()

        await show_row(model, last)

        assert [page for _, page in service.requests] == [Before(None, last % 10 + 1)]
        assert cell(model, last, "id") == (await expected_ids(ui_database, QuerySpec()))[-1]

    qt_loop.run_until_complete(scenario())


def test_a_stale_answer_is_dropped(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtmodeltester: ModelTester
) -> None:
    seed(qt_loop, ui_database, 60)
    started, release = asyncio.Event(), asyncio.Event()

    class SlowFirstAnswer(RecordService):
        calls = 0

        async def browse(
            self, entity: str, spec: QuerySpec, page: PageRequest, *, preview: int | None = None
        ) -> Page:
            SlowFirstAnswer.calls += 1
            answer = await super().browse(entity, spec, page, preview=preview)
            if SlowFirstAnswer.calls == 1:
                started.set()
                await release.wait()  # the user changes the search meanwhile
            return answer

    async def scenario() -> None:
        model = make_model(SlowFirstAnswer(ui_database), qtmodeltester)
        await started.wait()
        first_name = (await RecordService(ui_database).get("users", 1))["name"]
        spec = QuerySpec(search=first_name[:3], sort=(SortKey("email", descending=True),))
        set_spec(model, spec)
        release.set()
        await wait_exact(model)
        await wait_until(model.rows_loaded, lambda: model.is_loaded(0))
        ids = await expected_ids(ui_database, spec)
        shown = [cell(model, row, "id") for row in range(model.rowCount())]
        assert shown == ids

    qt_loop.run_until_complete(scenario())


@pytest.mark.parametrize(
    "spec",
    [
        QuerySpec(search="example.org", sort=(SortKey("email"),)),
        QuerySpec(sort=(SortKey("created_at", descending=True),)),
        QuerySpec(deleted=DeletedRows.ONLY),
        QuerySpec(deleted=DeletedRows.INCLUDE, sort=(SortKey("is_active"),)),
    ],
    ids=["search", "sort", "trash", "all"],
)
def test_rows_match_the_service_for_any_spec(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtmodeltester: ModelTester,
    small_pages: None,
    spec: QuerySpec,
) -> None:
    seed(qt_loop, ui_database, 80, deleted_fraction=0.2)

    async def scenario() -> None:
        model = make_model(RecordService(ui_database), qtmodeltester)
        set_spec(model, spec)
        await wait_exact(model)
        ids = await expected_ids(ui_database, spec)
        assert model.rowCount() == len(ids)
        for row in range(len(ids)):
            await show_row(model, row)
            assert cell(model, row, "id") == ids[row]

    qt_loop.run_until_complete(scenario())


def test_deleted_rows_are_marked(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtmodeltester: ModelTester
) -> None:
    seed(qt_loop, ui_database, 30)

    async def scenario() -> None:
        await RecordService(ui_database).delete("users", 2)
        model = make_model(RecordService(ui_database), qtmodeltester)
        set_spec(model, QuerySpec(deleted=DeletedRows.INCLUDE))
        await wait_until(model.rows_loaded, lambda: model.is_loaded(1))
        deleted = model.index(1, 0)
        live = model.index(0, 0)
        assert model.data(deleted, Qt.ItemDataRole.FontRole).strikeOut()
        assert model.data(live, Qt.ItemDataRole.FontRole) is None
        assert "In the trash since" in model.data(deleted, Qt.ItemDataRole.ToolTipRole)

    qt_loop.run_until_complete(scenario())


def test_money_is_exact_and_right_aligned(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtmodeltester: ModelTester
) -> None:
    seed(qt_loop, ui_database, 10)

    async def scenario() -> None:
        service = RecordService(ui_database)
        # Written as another program would: a balance moves by transfers only in the app.
        async with ui_database.get_session(write=True) as session:
            await session.execute(
                sa_update(Account).where(Account.id == 1).values(balance=Decimal("1234567.89"))
            )
        model = RecordTableModel(service, catalog.entity("accounts"))
        attach_tester(qtmodeltester, model)
        await wait_until(model.rows_loaded, lambda: model.is_loaded(0))
        balance = model.index(0, model.column_index("balance"))
        assert model.data(balance, RAW_VALUE_ROLE) == Decimal("1234567.89")
        # The C locale of the test run groups no digits, in amounts as in counts.
        assert model.data(balance) == QLocale.c().toString(1234567) + ".89" == "1234567.89"
        alignment = model.data(balance, Qt.ItemDataRole.TextAlignmentRole)
        assert alignment & Qt.AlignmentFlag.AlignRight

    qt_loop.run_until_complete(scenario())


def test_filters_narrow_the_rows(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtmodeltester: ModelTester
) -> None:
    seed(qt_loop, ui_database, 60, orders_per_user=2)

    async def scenario() -> None:
        service = RecordService(ui_database)
        spec = QuerySpec(filters=(OneOf("status", ("shipped", "delivered")),))
        model = RecordTableModel(service, catalog.entity("orders"), ViewState("orders", spec))
        attach_tester(qtmodeltester, model)
        await wait_exact(model)
        rows = await model.fetch_rows([(0, model.rowCount() - 1)])
        status = model.column_index("status")
        statuses = {str(values[status]) for values in rows.values()}
        assert statuses <= {"shipped", "delivered"}
        assert model.rowCount() == await service.count("orders", spec)

    qt_loop.run_until_complete(scenario())


def test_an_unreachable_database_is_reported_not_raised(
    qt_loop: asyncio.AbstractEventLoop, qtmodeltester: ModelTester
) -> None:
    from app.config import parse_database_url

    database = Database(parse_database_url("postgresql://me:pw@127.0.0.1:1/shop"))

    async def scenario() -> None:
        model = make_model(RecordService(database), qtmodeltester)
        await wait_until(model.load_failed, lambda: model.error is not None)
        assert model.error is not None
        assert "refused the connection" in model.error
        assert model.rowCount() == 0
        await database.dispose()

    qt_loop.run_until_complete(scenario())


def test_replacing_the_spec_resets_everything(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtmodeltester: ModelTester
) -> None:
    seed(qt_loop, ui_database, 20)

    async def scenario() -> None:
        model = make_model(RecordService(ui_database), qtmodeltester)
        await wait_exact(model)
        set_spec(model, replace(model.spec, search="no such text anywhere"))
        assert model.rowCount() == 0
        await wait_exact(model)
        assert model.rowCount() == 0
        assert model.data(model.index(0, 0)) is None
        assert model.index(0, 0) == QModelIndex()

    qt_loop.run_until_complete(scenario())


def test_a_superseded_count_stops_in_the_database(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtmodeltester: ModelTester
) -> None:
    """Typing on in the search box: the count of the previous term is cancelled in the
    database (not shielded to run to its end) and its connection is returned."""

    from tests.core.test_cancellation import run_endless

    seed(qt_loop, ui_database, 20)
    running, ended = asyncio.Event(), asyncio.Event()

    class EndlessFirstCount(RecordService):
        calls = 0

        async def count(self, entity: str, spec: QuerySpec) -> int:
            EndlessFirstCount.calls += 1
            if EndlessFirstCount.calls > 1:
                return await super().count(entity, spec)
            try:
                async with self.database.get_session() as session:
                    await run_endless(session, running)
            finally:
                ended.set()
            raise AssertionError("the endless count ended by itself")

    async def scenario() -> None:
        model = make_model(EndlessFirstCount(ui_database), qtmodeltester)
        await running.wait()  # the statement runs in the database now
        set_spec(model, QuerySpec(search="example"))
        await asyncio.wait_for(ended.wait(), 20)
        await wait_exact(model)
        await wait_until(model.rows_loaded, lambda: model.is_loaded(0))
        await settle()
        assert ui_database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]

    qt_loop.run_until_complete(scenario())


def test_sorting_by_long_text_never_repeats_or_skips_a_row(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtmodeltester: ModelTester,
    small_pages: None,
) -> None:
    """Pages carry previews of long text: a cut value is not a key to continue from (it
    sorts before the value it was cut from), so the next page starts elsewhere."""
    seed(qt_loop, ui_database, 15, deleted_fraction=0, posts_per_user=2)

    async def scenario() -> None:
        service = RecordingService(ui_database)
        posts = await service.browse("posts", QuerySpec(), OffsetPage(0, 1000))
        for number, post in enumerate(posts.rows):
            letter = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"[number]
            await service.update("posts", post[0], {"content": letter * 1000})
        spec = QuerySpec(sort=(SortKey("content"),))
        model = RecordTableModel(service, catalog.entity("posts"), ViewState("posts", spec))
        attach_tester(qtmodeltester, model)
        await wait_exact(model)
        expected = [row[0] for row in (await service.browse("posts", spec, OffsetPage(0, 99))).rows]
        for row in range(model.rowCount()):
            await show_row(model, row)
            assert model.record_id(row) == expected[row]
        rows = await model.fetch_rows([(0, model.rowCount() - 1)])
        assert [rows[row][0] for row in range(len(rows))] == expected

    qt_loop.run_until_complete(scenario())


def test_reading_the_end_backwards_asks_for_no_recount(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtmodeltester: ModelTester,
    small_pages: None,
) -> None:
    """The last page read backwards is short by design (95 rows: five in the last page);
    only a backward page shorter than it asked for means the rows changed."""
    seed(qt_loop, ui_database, 95, deleted_fraction=0)

    class CountingCounts(RecordService):
        counts = 0

        async def count(self, entity: str, spec: QuerySpec) -> int:
            CountingCounts.counts += 1
            return await super().count(entity, spec)

    async def scenario() -> None:
        model = make_model(CountingCounts(ui_database), qtmodeltester)
        await wait_exact(model)
        await show_row(model, 94)
        await settle()
        assert CountingCounts.counts == 1

    qt_loop.run_until_complete(scenario())


def test_a_reference_shows_the_title_and_sorts_and_filters_by_the_id(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtmodeltester: ModelTester,
    small_pages: None,
) -> None:
    seed(qt_loop, ui_database, 12, deleted_fraction=0, posts_per_user=2, orders_per_user=0)

    async def scenario() -> None:
        service = RecordService(ui_database)
        posts = catalog.entity("posts")
        spec = QuerySpec(sort=(SortKey("author_id", descending=True),))
        model = RecordTableModel(service, posts, ViewState("posts", spec))
        attach_tester(qtmodeltester, model)
        await wait_exact(model)
        await show_row(model, 15)  # a later page has its titles too
        everyone = await service.browse("users", QuerySpec(), OffsetPage(0, 100))
        users = {row[0]: row for row in everyone.rows}
        expected = sorted(
            (row[posts.column_names.index("author_id")] for row in await all_posts(service)),
            reverse=True,
        )
        rows = await model.fetch_rows([(0, model.rowCount() - 1)])
        author_id = model.column_index("author_id")
        authors = [rows[row][author_id] for row in range(model.rowCount())]
        assert authors == expected  # sorted by the id it holds, the value the cell keeps
        for row in (0, 15):
            author = users[cell(model, row, "author_id")]
            shown = cell(model, row, "author_id", Qt.ItemDataRole.DisplayRole)
            assert shown == f"#{author[0]} · {author[2]}"  # the id and the name
            assert cell(model, row, "author_id", Qt.ItemDataRole.ToolTipRole) == shown

        one = authors[0]
        set_spec(model, QuerySpec(filters=(OneOf("author_id", (one,)),)))
        await wait_exact(model)
        await wait_until(model.rows_loaded, lambda: model.is_loaded(0))
        assert model.rowCount() == authors.count(one)
        assert cell(model, 0, "author_id", Qt.ItemDataRole.DisplayRole).startswith(f"#{one} ")

    qt_loop.run_until_complete(scenario())


async def all_posts(service: RecordService) -> list[tuple[Any, ...]]:
    return (await service.browse("posts", QuerySpec(), OffsetPage(0, 1000))).rows


def test_a_renamed_author_is_shown_by_the_new_name_after_one_lookup(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtmodeltester: ModelTester
) -> None:
    seed(qt_loop, ui_database, 5, deleted_fraction=0, posts_per_user=2, orders_per_user=0)

    async def scenario() -> None:
        service = RecordService(ui_database)
        model = RecordTableModel(service, catalog.entity("posts"))
        attach_tester(qtmodeltester, model)
        await wait_exact(model)
        await wait_until(model.rows_loaded, lambda: model.is_loaded(0))
        author = cell(model, 0, "author_id")
        await service.update("users", author, {"name": "Renamed Person"})

        assert await model.refresh_titles("users", {author}) == 1

        shown = cell(model, 0, "author_id", Qt.ItemDataRole.DisplayRole)
        assert shown == f"#{author} · Renamed Person"
        assert await model.refresh_titles("users", {10_000}) == 0  # named nowhere: no query

    qt_loop.run_until_complete(scenario())
