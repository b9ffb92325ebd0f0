"""Shared by the browse regression tests: services that remember what the model asked of
them, a count of the SQL statements that reached the database, small pages, and browse
windows opened and closed the way test_browse_window.py does it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import event, text

from app.core.database import Database
from app.query import OffsetPage, Page, PageRequest, QuerySpec
from app.services import catalog
from app.services.records import RecordService, ReferenceTitles
from app.workspace import Desk, Workspace
from tests.ui.conftest import drain, seed, settle, wait_until
from ui import record_table_model
from ui.browse_window import BrowseWindow
from ui.record_table_model import RAW_VALUE_ROLE, CountState, RecordTableModel
from ui.window_state import WindowState

USERS = catalog.entity("users")

# Statements of our own transaction handling, not queries: SQLite's BEGIN goes through a
# cursor (the "begin" hook in app.core.database), asyncpg's does not, so they are left out
# of the count for the two engines to be compared.
_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


class RecordingService(RecordService):
    """The real service, remembering every call the model and the window make."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.requests: list[PageRequest] = []
        self.specs: list[QuerySpec] = []
        self.previews: list[int | None] = []
        self.pages: list[Page] = []
        self.browse_last_calls = 0
        self.anchor_calls = 0
        self.count_calls = 0
        self.values_calls: list[tuple[list[int], list[str]]] = []
        self.title_calls = 0

    def forget(self) -> None:
        """Start recording afresh (the first page and the count are in)."""
        self.requests.clear()
        self.specs.clear()
        self.previews.clear()
        self.pages.clear()
        self.browse_last_calls = self.anchor_calls = self.count_calls = 0
        self.values_calls.clear()
        self.title_calls = 0

    async def browse(
        self, entity: str, spec: QuerySpec, page: PageRequest, *, preview: int | None = None
    ) -> Page:
        self.requests.append(page)
        self.specs.append(spec)
        self.previews.append(preview)
        answer = await super().browse(entity, spec, page, preview=preview)
        self.pages.append(answer)
        return answer

    async def browse_last(
        self, entity: str, spec: QuerySpec, limit: int, *, preview: int | None = None
    ) -> tuple[Page, int]:
        self.browse_last_calls += 1
        return await super().browse_last(entity, spec, limit, preview=preview)

    async def anchors(self, entity: str, spec: QuerySpec, stride: int) -> list[tuple[Any, ...]]:
        self.anchor_calls += 1
        return await super().anchors(entity, spec, stride)

    async def count(self, entity: str, spec: QuerySpec) -> int:
        self.count_calls += 1
        return await super().count(entity, spec)

    async def reference_titles(self, entity: str, rows: Any) -> ReferenceTitles:
        self.title_calls += 1
        return await super().reference_titles(entity, rows)

    async def values(self, entity: str, ids: Any, columns: Any) -> dict[int, tuple[Any, ...]]:
        self.values_calls.append((list(ids), list(columns)))
        return await super().values(entity, ids, columns)


class Statements:
    """Every SQL statement run through ``database``'s engine while recording."""

    def __init__(self) -> None:
        self.all: list[str] = []

    def on_execute(self, *arguments: Any) -> None:
        _connection, _cursor, statement, *_ = arguments
        self.all.append(str(statement))

    @property
    def queries(self) -> list[str]:
        """The statements that asked the database something (transaction control left out)."""
        return [s for s in self.all if not s.lstrip().upper().startswith(_TRANSACTION_CONTROL)]


@contextmanager
def statements_run(database: Database) -> Iterator[Statements]:
    """Record the statements run while the block is active (an ``after_cursor_execute``
    listener on the engine, as Camelot's test_single_query does)."""
    recorded = Statements()
    engine = database.engine.sync_engine
    event.listen(engine, "after_cursor_execute", recorded.on_execute)
    try:
        yield recorded
    finally:
        event.remove(engine, "after_cursor_execute", recorded.on_execute)


def use_small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 10 rows, anchors every 40, 3 pages kept: the paging logic at a size tests
    can seed (as the small_pages fixture of test_record_table_model.py)."""
    monkeypatch.setattr(record_table_model, "PAGE_SIZE", 10)
    monkeypatch.setattr(record_table_model, "ANCHOR_STRIDE", 40)
    monkeypatch.setattr(record_table_model, "MAX_CACHED_PAGES", 3)


def seed_users(loop: asyncio.AbstractEventLoop, database: Database, users: int) -> None:
    """``users`` live users and nothing else: rows are numbered by id (row r is id r + 1)."""
    seed(
        loop,
        database,
        users,
        deleted_fraction=0,
        posts_per_user=0,
        orders_per_user=0,
        accounts_per_user=0,
    )


async def analyze(database: Database) -> None:
    """Fresh planner statistics on PostgreSQL, so its estimate is the true count and the
    model's row count does not move when the exact count comes (nothing on SQLite)."""
    if database.is_sqlite:
        return
    async with database.get_session(write=True) as session:
        await session.execute(text("ANALYZE"))


class ModelWatch:
    """One QAbstractItemModelTester (pytest-qt's ModelTester) per model a test makes — a
    window makes a new one for each kind of record it shows — kept for the test's length.
    A broken rule fails the test through the Qt warning it logs (qt_log_level_fail)."""

    def __init__(self, first: ModelTester) -> None:
        self._unused: list[ModelTester] = [first]
        self._kept: list[ModelTester] = []

    def attach(self, model: RecordTableModel) -> RecordTableModel:
        """Call before the model's first change (its first rows or count)."""
        tester = self._unused.pop() if self._unused else ModelTester(None)  # type: ignore[no-untyped-call]
        tester.check(model)  # type: ignore[no-untyped-call]
        self._kept.append(tester)
        return model


def desk_of(records: RecordService) -> Desk:
    """A desk whose workspace works through ``records`` (a service that records, delays or
    fails its calls, or a plain one)."""
    return Desk(Workspace(records.database, records=records))


def open_window(
    service: RecordService,
    windows: list[BrowseWindow],
    qtbot: QtBot,
    testers: ModelWatch | None,
    entity: str = "users",
    window_state: WindowState | None = None,
) -> BrowseWindow:
    """A browse window, its model under a tester (None only for a result too big for the
    tester, which walks every index at each change: 18 s a check at 100,000 rows)."""
    window = BrowseWindow(desk_of(service), catalog.entity(entity), window_state or WindowState())
    if testers is not None:
        testers.attach(model_of(window))  # the model's work has not started running yet
    qtbot.addWidget(window)
    windows.append(window)
    window.show()
    return window


def close_windows(loop: asyncio.AbstractEventLoop, windows: list[BrowseWindow]) -> None:
    """Close what a test opened, its work finished while the loop still runs."""
    for window in windows:
        window.close()
    drain(loop)


def model_of(window: BrowseWindow) -> RecordTableModel:
    assert window.model is not None
    return window.model


async def wait_exact(model: RecordTableModel) -> None:
    await wait_until(model.count_changed, lambda: model.count_state is CountState.EXACT)


async def settled(window: BrowseWindow) -> RecordTableModel:
    """Wait until the window's result is counted and its first rows are in."""
    model = model_of(window)
    await wait_exact(model)
    if model.rowCount():
        await wait_until(model.rows_loaded, lambda: model.is_loaded(0))
    await settle()  # a short first page makes the count exact before the count query ends
    return model


async def show_row(model: RecordTableModel, row: int) -> None:
    """Do what a view does when the row scrolls into sight, and wait for it to arrive."""
    model.data(model.index(row, 0))
    await wait_until(model.rows_loaded, lambda: model.is_loaded(row))


def cell(
    model: RecordTableModel, row: int, column: str, role: int = Qt.ItemDataRole.DisplayRole
) -> Any:
    return model.data(model.index(row, model.column_index(column)), role)


def raw(model: RecordTableModel, row: int, column: str) -> Any:
    return cell(model, row, column, RAW_VALUE_ROLE)


async def all_rows(database: Database, entity: str, spec: QuerySpec) -> list[tuple[Any, ...]]:
    """Every row of the result with full values, straight from the service."""
    page = await RecordService(database).browse(entity, spec, OffsetPage(0, 100_000))
    return page.rows
