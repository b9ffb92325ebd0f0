"""Qt tests run the real widgets offscreen on a qasync event loop, as the app does.

A scenario runs inside the loop (``qt_loop.run_until_complete``) and waits on signals with
``wait_for``: asyncio and Qt both make progress, and nothing sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import qasync
from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QApplication
from sqlalchemy.engine import URL

from app.core.database import Database
from app.services.seeding import SeedOptions, seed_demo_data
from ui import preferences

# Generous: a wait ends as soon as its signal comes; this only bounds a broken test.
WAIT_TIMEOUT_S = 20


class SettlingLoop(qasync.QEventLoop):  # type: ignore[misc]
    """A qasync loop whose ``run_until_complete`` also lets the work the scenario started
    (a model's fetches and counts) finish before it returns.

    Between test phases pytest-qt processes Qt events itself, outside the asyncio loop;
    a task still pending then would be stepped with no running loop."""

    def run_until_complete(self, future: Any) -> Any:
        async def then_settle() -> Any:
            result = await future
            await settle()
            return result

        return super().run_until_complete(then_settle())


async def settle() -> None:
    """Wait until every other task on the running loop is done."""
    current = asyncio.current_task()
    while True:
        pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if not pending:
            return
        await asyncio.wait(pending, timeout=WAIT_TIMEOUT_S)


@pytest.fixture(autouse=True)
def fresh_display_preferences(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test reads the display preferences from its own config folder (napari resets
    its settings singleton the same way)."""
    monkeypatch.setattr(preferences, "_current", None)


@pytest.fixture
def qt_loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    # As in the app (ui.main.run_session): closing the last window must not stop the loop.
    qapp.setQuitOnLastWindowClosed(False)
    loop = SettlingLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    drain(loop)
    loop.run_until_complete(loop.shutdown_asyncgens())
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture
def ui_database(qt_loop: asyncio.AbstractEventLoop, database_url: URL) -> Iterator[Database]:
    """A migrated, empty database on the engine under test, used from the Qt loop."""
    database = Database(database_url)
    yield database
    drain(qt_loop)  # what closed windows left running must give its connections back first
    qt_loop.run_until_complete(database.dispose())


def drain(loop: asyncio.AbstractEventLoop) -> None:
    """Let the work still under way on ``loop`` finish (queries in flight, sessions
    closing), cancelling only what would not end by itself."""
    for _ in range(10):
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        if not pending:
            return
        _, stuck = loop.run_until_complete(asyncio.wait(pending, timeout=WAIT_TIMEOUT_S))
        for task in stuck:
            task.cancel()


def seed(loop: asyncio.AbstractEventLoop, database: Database, users: int, **options: Any) -> None:
    loop.run_until_complete(seed_demo_data(database, SeedOptions(users=users, **options)))


async def wait_for(
    signal: SignalInstance, condition: Callable[..., bool] = lambda *_: True
) -> tuple[Any, ...]:
    """The arguments of the first emission of ``signal`` for which ``condition`` holds."""
    arrived: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def on_signal(*arguments: Any) -> None:
        if not arrived.done() and condition(*arguments):
            arrived.set_result(arguments)

    signal.connect(on_signal)
    try:
        return await asyncio.wait_for(arrived, WAIT_TIMEOUT_S)
    finally:
        with contextlib.suppress(RuntimeError):  # its sender may be gone: a closed dialog
            signal.disconnect(on_signal)


async def wait_until(signal: SignalInstance, condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds, checking it now and after each emission."""
    if not condition():
        await wait_for(signal, lambda *_: condition())


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 10 rows, anchors every 40, 3 pages kept: the paging logic at a size tests
    can seed."""
    from tests.ui.helpers import use_small_pages

    use_small_pages(monkeypatch)


@pytest.fixture
def windows(qt_loop: asyncio.AbstractEventLoop) -> Iterator[list[Any]]:
    """Browse windows a test opened, closed afterwards with their work finished while the
    loop still runs."""
    from tests.ui.helpers import close_windows

    opened: list[Any] = []
    yield opened
    close_windows(qt_loop, opened)


@pytest.fixture
def testers(qtmodeltester: Any) -> Any:
    """Attaches Qt's model tester to every model a test makes (tests.ui.helpers.ModelWatch)."""
    from tests.ui.helpers import ModelWatch

    return ModelWatch(qtmodeltester)
