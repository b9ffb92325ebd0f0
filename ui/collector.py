"""Python's cycle collector, run on the GUI thread only while the GUI runs.

CPython collects in whichever thread allocates past a generation's threshold: one of
aiosqlite's connection threads, the export writer, asyncio's executor. A cycle that holds
a Qt object, collected there, destroys that object off its thread ("QObject::~QObject:
Timers cannot be stopped from another thread", then at times a crash). So automatic
collection is off while the GUI runs, and a timer on the GUI thread does what the
thresholds would have done, generation by generation (the pattern PyQt applications such
as Anki use).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

# Often enough that memory held by cycles stays small, rarely enough to cost nothing: a
# check is three integer comparisons; a young-generation collection well under 1 ms.
CHECK_INTERVAL_MS = 250


class MainThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_INTERVAL_MS)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Collect what is left here, on the GUI thread, and give collection back to Python."""
        self._timer.stop()
        gc.collect()
        gc.enable()

    def check(self) -> int | None:
        """Collect the oldest generation past its threshold, as CPython would; which one
        (None when none is)."""
        young, middle, old = self._thresholds
        counts = gc.get_count()
        if young == 0 or counts[0] <= young:
            return None
        generation = 0
        if counts[1] > middle:
            generation = 1
            if counts[2] > old:
                generation = 2
        gc.collect(generation)
        return generation
