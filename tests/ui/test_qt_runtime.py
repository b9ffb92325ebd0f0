"""Regression guard for a known trap: PySide6 6.12.0 drops a reference to ``True`` on every
Signal.emit(); on Python 3.11 (where True is not immortal) the process aborts after a few
thousand emits with "Fatal Python error: bool_dealloc". pyproject pins PySide6 below 6.12."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication

EMITS = 10_000
# Unrelated objects may be freed meanwhile; the bug loses one reference per emit (10,000).
SLACK = 1_000


class Emitter(QObject):
    fired = Signal(bool)


def test_signal_emit_keeps_the_references_to_true(qapp: QApplication) -> None:
    emitter = Emitter()
    received: list[bool] = []
    emitter.fired.connect(received.append)

    gc.collect()
    before = sys.getrefcount(True)
    for _ in range(EMITS):
        emitter.fired.emit(True)
    received.clear()
    after = sys.getrefcount(True)

    assert before - after < SLACK


def test_qasync_threadsafe_calls_keep_the_references_to_true(
    qt_loop: asyncio.AbstractEventLoop,
) -> None:
    """aiosqlite wakes the loop with call_soon_threadsafe for every statement."""

    async def bounce_from_a_thread() -> None:
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        remaining = [EMITS]

        def tick() -> None:
            remaining[0] -= 1
            if remaining[0] == 0:
                done.set()

        def worker() -> None:
            for _ in range(EMITS):
                loop.call_soon_threadsafe(tick)

        threading.Thread(target=worker).start()
        await done.wait()

    gc.collect()
    before = sys.getrefcount(True)
    qt_loop.run_until_complete(bounce_from_a_thread())
    after = sys.getrefcount(True)

    assert before - after < SLACK
