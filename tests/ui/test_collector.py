"""While the GUI runs, Python's cycle collector runs on the GUI thread only: a cycle holding
a Qt object is never destroyed by a database or export thread that happens to allocate."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ui.collector import MainThreadCollector


class Cycle:
    """A cycle holding a running timer: what Qt refuses to destroy off its thread."""

    def __init__(self, died_in: list[int]) -> None:
        self.me = self
        self.died_in = died_in
        self.timer = QTimer()
        self.timer.start(60_000)

    def __del__(self) -> None:
        self.died_in.append(threading.get_ident())


def allocate_in_a_worker_thread() -> list[list[object]]:
    """Far past every threshold, as a thread reading a large page does (kept: the young
    generation's count falls again as what it counted is freed)."""
    made: list[list[object]] = []

    def allocate() -> None:
        made.extend([] for _ in range(100_000))

    worker = threading.Thread(target=allocate)
    worker.start()
    worker.join()
    return made


@pytest.fixture
def collector(qapp: QApplication) -> Iterator[MainThreadCollector]:
    gc.collect()
    collector = MainThreadCollector()
    collector.start()
    yield collector
    collector.stop()


def test_a_worker_thread_allocating_collects_nothing(collector: MainThreadCollector) -> None:
    died_in: list[int] = []
    Cycle(died_in)

    page = allocate_in_a_worker_thread()

    assert died_in == []
    assert not gc.isenabled()
    assert len(page) == 100_000


def test_the_gui_thread_collects_once_a_threshold_is_past(collector: MainThreadCollector) -> None:
    died_in: list[int] = []
    Cycle(died_in)
    page = allocate_in_a_worker_thread()

    generation = collector.check()

    assert generation is not None
    assert died_in == [threading.get_ident()]
    assert len(page) == 100_000


def test_below_every_threshold_a_check_collects_nothing(collector: MainThreadCollector) -> None:
    gc.collect()
    died_in: list[int] = []
    Cycle(died_in)

    assert collector.check() is None
    assert died_in == []


def test_stopping_collects_what_is_left_here_and_gives_collection_back(
    qapp: QApplication,
) -> None:
    collector = MainThreadCollector()
    collector.start()
    died_in: list[int] = []
    Cycle(died_in)

    collector.stop()

    assert died_in == [threading.get_ident()]
    assert gc.isenabled()


def test_the_timer_checks_on_its_own(
    collector: MainThreadCollector, qtbot: object, qapp: QApplication
) -> None:
    died_in: list[int] = []
    Cycle(died_in)
    page = allocate_in_a_worker_thread()

    deadline = threading.Event()
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(deadline.set)
    timer.start(5_000)
    while not died_in and not deadline.is_set():
        qapp.processEvents()
        deadline.wait(0.01)

    assert died_in == [threading.get_ident()]
    assert len(page) == 100_000
