"""The event loop's heartbeat for benchmarks: the longest time the loop could not run."""

from __future__ import annotations

import asyncio
import time

from PySide6.QtCore import Qt, QTimer

# Ticks this often: a stall shorter than this cannot be seen.
HEARTBEAT_MS = 2


class Heartbeat:
    """A QTimer ticking every HEARTBEAT_MS; the longest gap between ticks is the longest
    time the event loop could not run anything (a stall the user feels). The main thread's
    own CPU time in that gap tells work on the loop from waiting (the GIL, the OS)."""

    def __init__(self) -> None:
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self._tick)
        self._waiting: list[asyncio.Future[None]] = []
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._longest = (0.0, 0.0)  # (wall, main-thread CPU) seconds
        self.ticks = 0

    def start(self) -> None:
        self.reset()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        if now - self._last > self._longest[0]:
            self._longest = (now - self._last, cpu - self._last_cpu)
        self._last, self._last_cpu = now, cpu
        self.ticks += 1
        waiting, self._waiting = self._waiting, []
        for ticked in waiting:
            if not ticked.done():
                ticked.set_result(None)

    def reset(self) -> None:
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self._longest = (0.0, 0.0)
        self.ticks = 0

    def longest(self) -> tuple[float, float]:
        """The longest gap since ``reset`` (counting the one still open) and the CPU the
        main thread used in it."""
        now, cpu = time.perf_counter(), time.thread_time()
        if now - self._last > self._longest[0]:
            return now - self._last, cpu - self._last_cpu
        return self._longest

    async def next_tick(self) -> None:
        """Until the heartbeat has ticked: what runs next starts on a loop that has just
        had a pass of its own."""
        ticked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(ticked)
        await ticked
