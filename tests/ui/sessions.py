"""A whole GUI session (ui.main.run_session) with a test's scenario run on its window."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from app.config import Settings
from ui.main import run_session
from ui.main_window import MainWindow


async def in_session(settings: Settings, scenario: Callable[[MainWindow], Awaitable[None]]) -> int:
    """run_session on ``settings``, with ``scenario`` run on its window; it closes after."""
    opened: asyncio.Future[MainWindow] = asyncio.get_running_loop().create_future()
    session = asyncio.ensure_future(run_session(settings, on_opened=opened.set_result))
    window = await opened
    try:
        await scenario(window)
    finally:
        window.close()
    return await session
