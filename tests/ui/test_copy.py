"""Copy is complete or refused, never partial (issue 6, item 1): every selected cell's real
value reaches the clipboard even when its page was evicted long ago, only the selected rows
are fetched, a selection too big for the clipboard is refused at once without a query, and
a long text the grid shows cut is copied whole — on both engines."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QLocale, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.core.database import Database
from app.query import After, Before, OffsetPage, Page, PageRequest, QuerySpec
from app.services.records import RecordService
from tests.ui.conftest import seed, wait_for, wait_until
from tests.ui.helpers import (
    USERS,
    ModelWatch,
    RecordingService,
    all_rows,
    open_window,
    raw,
    seed_users,
    settled,
    show_row,
    statements_run,
)
from ui import copying
from ui.browse_window import BrowseWindow
from ui.formatting import plain_text
from ui.record_table_model import PREVIEW_CHARS, RecordTableModel, is_cut
from ui.selection import select_rows

MILLION = 1_000_000
# Questions about cells (model.flags) that painting a selection may take: a few screens'
# worth of cells, three orders of magnitude below one per row of a million.
FLAGS_BUDGET = 10_000


def small_window(window: BrowseWindow) -> BrowseWindow:
    """A few rows in view (all in page 0): with 3 pages kept, what the view paints never
    competes with the pages a test moves through."""
    window.resize(900, 320)
    return window


def pasted(text: str) -> list[list[str]]:
    """The clipboard read back as a spreadsheet reads pasted text (tab-separated, quoted)."""
    return list(csv.reader(io.StringIO(text), delimiter="\t"))


def expected_cells(rows: list[tuple[Any, ...]], columns: tuple[str, ...]) -> list[list[str]]:
    names = USERS.column_names
    labels = [USERS.column(name).label for name in columns]
    return [labels] + [[plain_text(row[names.index(name)]) for name in columns] for row in rows]


def select_row_blocks(window: BrowseWindow, rows: list[int]) -> None:
    """Each row selected as a block of its own, as ctrl-clicking row headers does."""
    model = window.model
    assert model is not None
    selection = QItemSelection()
    for row in rows:
        selection.select(model.index(row, 0), model.index(row, model.columnCount() - 1))
    window.table.selectionModel().select(
        selection, QItemSelectionModel.SelectionFlag.ClearAndSelect
    )


def test_a_copy_after_the_pages_were_evicted_holds_every_real_value(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    small_pages: None,
) -> None:
    seed_users(qt_loop, ui_database, 95)

    async def scenario() -> None:
        window = small_window(open_window(RecordService(ui_database), windows, qtbot, testers))
        model = await settled(window)
        window.show_column("deleted_at", False)  # never set here: every copied cell has a value
        for row in range(0, 95, 10):  # scrolled through once; three pages are kept
            await show_row(model, row)
        assert model.cached_page_count() == 3
        assert sum(model.is_loaded(row) for row in range(0, 95, 10)) == 3

        select_rows(window.table, 0, 94)
        await window.copying.copy_selection()

        cells = pasted(QGuiApplication.clipboard().text())
        expected = expected_cells(
            await all_rows(ui_database, "users", QuerySpec()), window.view.columns
        )
        assert len(cells) == 96
        assert cells == expected
        assert not [row for row in cells if "" in row]  # no blank cell anywhere
        assert window.statusBar().currentMessage() == "Copied 95 rows"

    qt_loop.run_until_complete(scenario())


def test_two_far_apart_rows_fetch_only_those_two_rows(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    small_pages: None,
) -> None:
    seed_users(qt_loop, ui_database, 95)
    service = RecordingService(ui_database)

    async def scenario() -> None:
        window = small_window(open_window(service, windows, qtbot, testers))
        model = await settled(window)
        await show_row(model, 60)  # a deep jump: the anchors are made now, not during the copy
        await wait_until(model.count_changed, lambda: model.anchor_count > 0)
        assert not model.is_loaded(15)
        assert not model.is_loaded(80)
        service.forget()

        select_row_blocks(window, [15, 80])
        with statements_run(ui_database) as statements:
            await window.copying.copy_selection()

        everything = await all_rows(ui_database, "users", QuerySpec())
        fetched = [[values[0] for values in page.rows] for page in service.pages]
        assert fetched == [[everything[15][0]], [everything[80][0]]]  # never rows 16..79
        assert [request.limit for request in service.requests] == [1, 1]
        assert len(statements.queries) == 2  # one per selected row, nothing else
        assert service.anchor_calls == service.count_calls == 0
        assert service.values_calls == []  # no text was cut
        cells = pasted(QGuiApplication.clipboard().text())
        assert cells == expected_cells([everything[15], everything[80]], window.view.columns)

    qt_loop.run_until_complete(scenario())


class MillionUsers(RecordService):
    """A million users made up on the spot: counts and pages without asking a database."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.calls: list[str] = []

    async def estimate_count(self, entity: str, spec: QuerySpec) -> int | None:
        self.calls.append("estimate_count")
        return MILLION

    async def count(self, entity: str, spec: QuerySpec) -> int:
        self.calls.append("count")
        return MILLION

    async def browse(
        self, entity: str, spec: QuerySpec, page: PageRequest, *, preview: int | None = None
    ) -> Page:
        self.calls.append("browse")
        first, limit = _first_row(page)
        rows = [_user(row) for row in range(max(first, 0), min(first + limit, MILLION))]
        return Page(columns=USERS.column_names, rows=rows)

    async def browse_last(
        self, entity: str, spec: QuerySpec, limit: int, *, preview: int | None = None
    ) -> tuple[Page, int]:
        self.calls.append("browse_last")
        return await self.browse(entity, spec, Before(None, limit)), MILLION

    async def anchors(self, entity: str, spec: QuerySpec, stride: int) -> list[tuple[Any, ...]]:
        self.calls.append("anchors")
        return [(row + 1,) for row in range(stride - 1, MILLION, stride)]

    async def values(self, entity: str, ids: Any, columns: Any) -> dict[int, tuple[Any, ...]]:
        self.calls.append("values")
        return {}


def _first_row(page: PageRequest) -> tuple[int, int]:
    """Where a request starts, in a result sorted by id where row r has id r + 1."""
    if isinstance(page, OffsetPage):
        return page.offset, page.limit
    if isinstance(page, After):
        start = 0 if page.key is None else int(page.key[-1])
        return start + page.skip, page.limit
    end = MILLION if page.key is None else int(page.key[-1]) - 1
    return end - page.limit, page.limit


def _user(row: int) -> tuple[Any, ...]:
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    user_id = row + 1
    return (
        user_id,
        f"user{user_id}@example.org",
        f"User {user_id}",
        "not a real hash",
        True,
        moment,
        moment,
        None,
        1,
    )


def test_select_all_and_copy_on_a_million_rows_is_refused_at_once(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = MillionUsers(ui_database)
    questions = {"flags": 0}
    flags = RecordTableModel.flags

    def counted_flags(model: RecordTableModel, index: Any) -> Qt.ItemFlag:
        questions["flags"] += 1
        if questions["flags"] == FLAGS_BUDGET + 1 and windows:
            # The test has failed by now: give the header a selection of its own so the
            # rest of the frame stops walking every row (QItemSelectionModel's
            # isColumnSelected, once per header section painted) — a failure in seconds,
            # not a window frozen for a minute.
            header = windows[0].table.horizontalHeader()
            header.setSelectionModel(QItemSelectionModel(model, header))
        return flags(model, index)

    monkeypatch.setattr(RecordTableModel, "flags", counted_flags)

    async def scenario() -> None:
        # No QAbstractItemModelTester here: it checks every one of the 9,000,000 indexes
        # at each change of the model (minutes for one page); the other tests have it.
        window = open_window(service, windows, qtbot, None)
        model = await settled(window)
        assert model.rowCount() == MILLION
        QGuiApplication.clipboard().setText("what was there before")
        messages: list[str] = []
        window.statusBar().messageChanged.connect(messages.append)
        service.calls.clear()
        window.table.setFocus()
        questions["flags"] = 0

        with statements_run(ui_database) as statements:
            QTest.keySequence(window.table, QKeySequence.StandardKey.SelectAll)
            refused = wait_for(window.statusBar().messageChanged, lambda text: bool(text))
            QTest.keySequence(window.table, QKeySequence.StandardKey.Copy)
            (message,) = await refused
            window.repaint()  # the frame that shows the selection and the refusal

        assert window.table.selectionModel().selection().size() == 1  # one block, no indexes
        assert copying.MAX_COPY_ROWS == 10_000
        assert QLocale().toString(copying.MAX_COPY_ROWS) in message  # "10,000" or "10000"
        assert "export" in message
        assert messages == [message]  # refused before anything was fetched ("Copying…")
        assert service.calls == []
        assert statements.all == []
        assert QGuiApplication.clipboard().text() == "what was there before"
        # Within one frame: painting the selection asks about the cells in view, not about
        # each of the million rows (Python calls of ~10 µs each: a million is a frozen window).
        assert questions["flags"] <= FLAGS_BUDGET

    qt_loop.run_until_complete(scenario())


def test_a_cut_long_text_cell_copies_its_full_value(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
) -> None:
    seed(qt_loop, ui_database, 5, deleted_fraction=0, posts_per_user=1)
    long_text = "".join(f"word{number} " for number in range(3_000)) + "— the very end"
    service = RecordingService(ui_database)

    async def scenario() -> None:
        post = (await all_rows(ui_database, "posts", QuerySpec()))[0]
        await service.update("posts", post[0], {"content": long_text})
        window = open_window(service, windows, qtbot, testers, "posts")
        model: RecordTableModel = await settled(window)
        preview = raw(model, 0, "content")
        assert is_cut(preview)
        assert len(preview) == PREVIEW_CHARS + 1
        index = model.index(0, model.column_index("content"))
        window.table.selectionModel().select(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        service.forget()

        with statements_run(ui_database) as statements:
            await window.copying.copy_selection()

        assert QGuiApplication.clipboard().text() == f"Content\n{long_text}\n"
        assert service.requests == []  # the row was in memory
        assert service.values_calls == [([post[0]], ["content"])]
        assert len(statements.queries) == 1  # the full text of the one cut cell

    qt_loop.run_until_complete(scenario())
