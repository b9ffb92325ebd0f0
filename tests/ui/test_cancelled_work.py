"""Work cancelled because its answer is no longer wanted (a refresh superseding a count, a
window closing) is never reported as our bug, whatever it was doing when the cancel came —
even opening a connection (issue 21: F5 pressed repeatedly on PostgreSQL surfaced
"ConnectionError: unexpected connection_lost()" in the error report)."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from asyncpg import connect_utils
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from app.core.database import Database, cleanups_left_running
from app.services.records import RecordService
from tests.ui.conftest import settle
from tests.ui.helpers import open_window, seed_users, settled
from ui.browse_window import BrowseWindow
from ui.dialogs.error_report import ErrorReport
from ui.main import install_exception_hooks
from ui.record_table_model import CountState
from ui.tasks import spawn

USERS = 300
# F5 presses that each land while a connection of the window's work is opening.
PRESSES_WHILE_CONNECTING = 12
# F5 presses in a burst, a few loop turns apart (none to six).
PRESSES_IN_A_BURST = 120
# How often the server is asked again for its list of our connections before the test
# gives up: a closed backend leaves the list a moment after its client has gone.
LIST_QUESTIONS = 200


@pytest.fixture
def report(
    qt_loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ErrorReport]:
    """The app's exception hooks, as ui.main installs them; the report of what reached them."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    installed = install_exception_hooks(qt_loop)
    yield installed
    if installed.box is not None:
        installed.box.close()


def reported(report: ErrorReport) -> str:
    gc.collect()  # a future nobody retrieved reports its exception when it is collected
    return report.detailed_text()


async def our_backends(database: Database) -> set[int]:
    """The server processes of Records Desk's connections to this database: this test's,
    and those other tests' engines on the same database may still hold."""
    async with database.engine.connect() as connection:
        found = await connection.scalars(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = 'Records Desk'"
            )
        )
        return set(found)


@pytest.mark.postgresql
@pytest.mark.parametrize("engine_name", ["postgresql"], indirect=True)
def test_refresh_while_a_connection_opens_reports_nothing_and_leaks_nothing(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
    report: ErrorReport,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_users(qt_loop, ui_database, USERS)
    presses_left = PRESSES_WHILE_CONNECTING
    opened: list[BrowseWindow] = []

    class PressingF5(connect_utils.TLSUpgradeProto):  # type: ignore[misc]
        """asyncpg's first step of a new connection (asking the server for SSL): F5
        arrives on the loop's next turn, before the connection is made."""

        def __init__(self, *arguments: Any) -> None:
            super().__init__(*arguments)
            nonlocal presses_left
            if presses_left:
                presses_left -= 1
                asyncio.get_running_loop().call_soon(opened[0].refresh_action.trigger)

    monkeypatch.setattr(connect_utils, "TLSUpgradeProto", PressingF5)

    async def scenario() -> None:
        # Connections that are not this window's (earlier tests' engines, this one's own
        # pool before the first disposal below): left out of the count at the end.
        others = await our_backends(ui_database)
        window = open_window(RecordService(ui_database), windows, qtbot, None)
        opened.append(window)
        while presses_left:
            # Nothing idle in the pool: the window's next queries open connections.
            await ui_database.engine.dispose()
            window.refresh_action.trigger()
            await settled(window)
        await settle()
        model = await settled(window)
        assert (model.count_state, model.rowCount()) == (CountState.EXACT, USERS)
        # Every connection a cancelled connect made was closed: the server knows only the
        # pool's (the one that asked is back in it by now). Closed in the background: once
        # those closes have ended, a backend may still take a moment to leave the server's
        # list, so it is asked again (each question a round trip, never a sleep).
        await cleanups_left_running()
        pool: Any = ui_database.engine.pool
        for _ in range(LIST_QUESTIONS):
            connections = len(await our_backends(ui_database) - others)
            if connections == pool.checkedin():
                break
        assert connections == pool.checkedin()

    qt_loop.run_until_complete(scenario())

    assert reported(report) == ""
    assert report.box is None


@pytest.mark.parametrize(
    "engine_name",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)],
    indirect=True,
)
def test_a_burst_of_refreshes_reports_nothing_and_ends_with_the_rows(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
    report: ErrorReport,
) -> None:
    seed_users(qt_loop, ui_database, USERS)

    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, None)
        await settled(window)
        for press in range(PRESSES_IN_A_BURST):
            window.refresh_action.trigger()
            for _ in range(press % 7):
                await asyncio.sleep(0)  # a loop turn: the work starts, connects, queries
        await settle()
        model = await settled(window)
        assert (model.count_state, model.rowCount()) == (CountState.EXACT, USERS)

    qt_loop.run_until_complete(scenario())

    assert reported(report) == ""
    assert report.box is None


def test_background_work_failing_after_its_cancel_is_logged_not_reported(
    qt_loop: asyncio.AbstractEventLoop, report: ErrorReport, caplog: pytest.LogCaptureFixture
) -> None:
    """A driver may turn a cancel into an error of its own (a connection it had to drop):
    the work was no longer wanted, so that is no bug of ours to report."""
    started = asyncio.Event()

    async def query_turning_a_cancel_into_an_error() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise ConnectionError("unexpected connection_lost() call") from None

    async def scenario() -> None:
        task = spawn(query_turning_a_cancel_into_an_error(), name="count users")
        await started.wait()
        task.cancel()
        await asyncio.wait({task})
        await asyncio.sleep(0)  # the done callback runs on the next turn

    with caplog.at_level(logging.INFO, logger="ui.tasks"):
        qt_loop.run_until_complete(scenario())

    assert reported(report) == ""
    assert "count users ended with an error after it was cancelled" in caplog.text
