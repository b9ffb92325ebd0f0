"""Failures are shown once and recovered from (issue 6, item 4): a server that goes away is
reported once however often the rows in view are painted; once it is back, the next thing
the user does (scrolling, clicking, Retry) brings the rows without a Refresh and clears the
message; a bug of ours reaches the app's exception hook once while the window shows a
readable line, never a traceback — on both engines."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView
from pytestqt.qtbot import QtBot

from app.core.database import Database
from app.query import Page, PageRequest, QuerySpec
from app.services.errors import DatabaseUnavailableError
from tests.ui.conftest import seed, settle, wait_until
from tests.ui.helpers import (
    ModelWatch,
    RecordingService,
    model_of,
    open_window,
    seed_users,
    settled,
)
from ui import record_table_model
from ui.browse_window import BrowseWindow
from ui.record_table_model import PLACEHOLDER, UNEXPECTED_FAILURE, RecordTableModel
from ui.selection import select_rows

SERVER_DOWN = "The database server is not answering."


@pytest.fixture
def ten_row_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 10 rows (more than a window's worth of them kept), so scrolling a window of
    95 rows reaches rows that are not loaded yet."""
    monkeypatch.setattr(record_table_model, "PAGE_SIZE", 10)


@pytest.fixture
def no_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user action retries at most once a second; tests do not wait on the clock."""
    monkeypatch.setattr(record_table_model, "RETRY_INTERVAL_S", 0.0)


class FlakyServer(RecordingService):
    """The real service, unreachable while ``down`` is set."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.down = False
        self.attempts_while_down = 0

    def _reach(self) -> None:
        if self.down:
            self.attempts_while_down += 1
            raise DatabaseUnavailableError(SERVER_DOWN)

    async def browse(
        self, entity: str, spec: QuerySpec, page: PageRequest, *, preview: int | None = None
    ) -> Page:
        self._reach()
        return await super().browse(entity, spec, page, preview=preview)

    async def browse_last(
        self, entity: str, spec: QuerySpec, limit: int, *, preview: int | None = None
    ) -> tuple[Page, int]:
        self._reach()
        return await super().browse_last(entity, spec, limit, preview=preview)

    async def count(self, entity: str, spec: QuerySpec) -> int:
        self._reach()
        return await super().count(entity, spec)

    async def estimate_count(self, entity: str, spec: QuerySpec) -> int | None:
        self._reach()
        return await super().estimate_count(entity, spec)

    async def anchors(self, entity: str, spec: QuerySpec, stride: int) -> list[tuple[Any, ...]]:
        self._reach()
        return await super().anchors(entity, spec, stride)


async def lose_the_server_while_scrolling(
    window: BrowseWindow, service: FlakyServer, failures: list[str]
) -> RecordTableModel:
    """Scroll to rows that are not loaded yet just as the server goes away."""
    model = await settled(window)
    model.load_failed.connect(failures.append)
    service.down = True
    window.table.scrollTo(model.index(60, 0), QAbstractItemView.ScrollHint.PositionAtTop)
    model.data(model.index(60, 0))  # what the paint of the rows now in view asks
    await wait_until(model.load_failed, lambda: model.error is not None)
    assert not model.is_loaded(60)
    return model


def paint_storm(window: BrowseWindow, model: RecordTableModel) -> None:
    """Repaint after repaint of rows that are not there, as a window does while the user
    waits: every placeholder in view and around it asked for again and again."""
    top = max(window.table.rowAt(0), 0)
    rows = range(max(top - 5, 0), min(top + 30, model.rowCount()))
    assert rows
    for _ in range(20):
        window.table.viewport().repaint()
        for row in rows:
            for column in range(model.columnCount()):
                for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole):
                    model.data(model.index(row, column), role)


def test_a_failure_is_reported_once_however_often_the_rows_are_painted(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    ten_row_pages: None,
) -> None:
    seed_users(qt_loop, ui_database, 95)
    service = FlakyServer(ui_database)

    async def scenario() -> None:
        window = open_window(service, windows, qtbot, testers)
        failures: list[str] = []
        model = await lose_the_server_while_scrolling(window, service, failures)
        attempts = service.attempts_while_down

        paint_storm(window, model)
        await settle()

        assert failures == [SERVER_DOWN]
        assert service.attempts_while_down == attempts  # the storm asked the server nothing
        assert model.data(model.index(60, 0)) == PLACEHOLDER
        assert window.status_label.text() == SERVER_DOWN
        assert window.retry_button.isVisible()

    qt_loop.run_until_complete(scenario())


def scroll_a_little(window: BrowseWindow) -> None:
    bar = window.table.verticalScrollBar()
    bar.setValue(bar.value() - 1)


@pytest.mark.parametrize(
    "user_action",
    [
        scroll_a_little,
        BrowseWindow.on_user_action,
        lambda window: window.retry_button.click(),
    ],
    ids=["scrolling", "any_use_of_the_rows", "retry_button"],
)
def test_the_next_user_action_after_the_server_returns_brings_the_rows_back(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    ten_row_pages: None,
    no_retry_pause: None,
    user_action: Any,
) -> None:
    seed_users(qt_loop, ui_database, 95)
    service = FlakyServer(ui_database)

    async def scenario() -> None:
        window = open_window(service, windows, qtbot, testers)
        failures: list[str] = []
        model = await lose_the_server_while_scrolling(window, service, failures)
        paint_storm(window, model)
        service.down = False  # the server is back; nobody pressed Refresh

        user_action(window)
        await wait_until(model.rows_loaded, lambda: model.is_loaded(60))

        assert model.error is None
        assert model.data(model.index(60, 0)) != PLACEHOLDER
        assert SERVER_DOWN not in window.status_label.text()
        assert window.status_label.text().startswith("rows ")
        assert not window.retry_button.isVisible()
        assert failures == [SERVER_DOWN]

    qt_loop.run_until_complete(scenario())


def test_a_copy_refused_in_the_outage_leaves_no_stale_message_once_the_rows_are_back(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    ten_row_pages: None,
) -> None:
    seed_users(qt_loop, ui_database, 95)
    service = FlakyServer(ui_database)

    async def scenario() -> None:
        window = open_window(service, windows, qtbot, testers)
        failures: list[str] = []
        model = await lose_the_server_while_scrolling(window, service, failures)
        select_rows(window.table, 60, 61)
        await window.copying.copy_selection()  # the rows are not in memory and cannot be fetched
        assert SERVER_DOWN in window.statusBar().currentMessage()
        service.down = False

        window.retry_button.click()
        await wait_until(model.rows_loaded, lambda: model.is_loaded(60))

        # The status bar shows the rows again, not the outage (a passing message covers
        # the status line while it lasts).
        assert SERVER_DOWN not in window.statusBar().currentMessage()
        assert window.status_label.isVisible()
        assert window.status_label.text().startswith("rows ")

    qt_loop.run_until_complete(scenario())


def test_a_window_opened_while_the_server_is_down_recovers_with_retry(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
) -> None:
    seed_users(qt_loop, ui_database, 30)
    service = FlakyServer(ui_database)
    service.down = True

    async def scenario() -> None:
        window = open_window(service, windows, qtbot, testers)
        model = model_of(window)
        failures: list[str] = []
        model.load_failed.connect(failures.append)
        await wait_until(model.load_failed, lambda: model.error is not None)
        await settle()  # the count fails too, and says nothing more
        assert failures == [SERVER_DOWN]
        assert window.status_label.text() == SERVER_DOWN
        assert window.retry_button.isVisible()
        service.down = False

        window.retry_button.click()
        model = await settled(window)

        assert model.rowCount() == 30
        assert model.error is None
        assert window.status_label.text().startswith("rows 1–")
        assert not window.retry_button.isVisible()
        assert failures == [SERVER_DOWN]

    qt_loop.run_until_complete(scenario())


class BuggyPages(RecordingService):
    """Our own bug in the page query: not the environment's fault, not for the user's eyes."""

    browse_calls = 0

    async def browse(
        self, entity: str, spec: QuerySpec, page: PageRequest, *, preview: int | None = None
    ) -> Page:
        self.browse_calls += 1
        raise ValueError("an off-by-one in the page query")


def test_a_bug_reaches_the_exception_hook_once_and_the_window_shows_a_readable_line(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
) -> None:
    seed(qt_loop, ui_database, 40, deleted_fraction=0)
    service = BuggyPages(ui_database)
    reported: list[dict[str, Any]] = []
    qt_loop.set_exception_handler(lambda _loop, context: reported.append(context))

    async def scenario() -> None:
        window = open_window(service, windows, qtbot, testers)
        model = model_of(window)
        await wait_until(model.load_failed, lambda: model.error is not None)
        await wait_until(model.count_changed, lambda: model.rowCount() == 40)
        paint_storm(window, model)
        await settle()

        assert len(reported) == 1
        assert isinstance(reported[0].get("exception"), ValueError)
        assert service.browse_calls == 1
        model._failed_at -= 60  # long after: a scroll still does not ask again for our bug
        window.on_user_action()
        await settle()
        assert service.browse_calls == 1
        assert len(reported) == 1
        status = window.status_label.text()
        assert status == UNEXPECTED_FAILURE
        for detail in ("Traceback", "ValueError", "off-by-one", 'File "'):
            assert detail not in status

    try:
        qt_loop.run_until_complete(scenario())
    finally:
        qt_loop.set_exception_handler(None)
