"""The long-text view shows over-long lines cut into pieces Qt lays out quickly, and copies
them whole: what is pasted is the value, not the display."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from ui.widgets.long_text import DISPLAY_LINE_LIMIT, SLICE_CHARS, LongTextView, display_lines


def shown(qtbot: QtBot, qt_loop: asyncio.AbstractEventLoop, text: str) -> LongTextView:
    view = LongTextView()
    qtbot.addWidget(view)
    qt_loop.run_until_complete(view.show_text(text))
    return view


def test_long_lines_are_cut_for_display_near_a_space(
    qtbot: QtBot, qt_loop: asyncio.AbstractEventLoop
) -> None:
    words = "lorem ipsum " * 1_000  # 12,000 characters, spaces all along
    view = shown(qtbot, qt_loop, f"short\n{words}\nend")

    pieces = [line for line, _ in display_lines(words)]
    assert "".join(pieces) == words
    assert all(len(piece) <= DISPLAY_LINE_LIMIT for piece in pieces)
    assert all(piece.endswith(" ") for piece in pieces)  # no word cut in two
    assert view.blockCount() == 2 + len(pieces)


def test_copy_joins_the_cut_lines_and_keeps_every_character(
    qtbot: QtBot, qt_loop: asyncio.AbstractEventLoop
) -> None:
    blob = "QUJD" * 3_000  # no space to cut at
    value = f"first\n{blob}\nline\u2028break, nul \0, 😀 and ünïcödé\nlast"
    view = shown(qtbot, qt_loop, value)

    view.selectAll()
    assert view.selected_text() == value
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == value

    QApplication.clipboard().clear()
    menu = view.context_menu(QPoint(1, 1))
    qtbot.addWidget(menu)
    (copy,) = [action for action in menu.actions() if action.objectName() == "edit-copy"]
    copy.trigger()
    assert QApplication.clipboard().text() == value


def test_a_selection_across_a_cut_copies_the_value_between(
    qtbot: QtBot, qt_loop: asyncio.AbstractEventLoop
) -> None:
    value = "x" * 100 + "y" * (2 * DISPLAY_LINE_LIMIT) + "\nz"
    view = shown(qtbot, qt_loop, value)
    cursor = view.textCursor()
    cursor.setPosition(50)
    cursor.setPosition(50 + DISPLAY_LINE_LIMIT + 10, QTextCursor.MoveMode.KeepAnchor)
    view.setTextCursor(cursor)

    # One display break lies in the selection; it is not part of the value.
    assert view.selected_text() == value[50 : 50 + DISPLAY_LINE_LIMIT + 9]


def test_line_ends_copy_as_newlines(qtbot: QtBot, qt_loop: asyncio.AbstractEventLoop) -> None:
    view = shown(qtbot, qt_loop, "a\r\nb\rc\u2029d")
    view.selectAll()
    assert view.selected_text() == "a\nb\nc\nd"


def test_the_text_goes_in_a_slice_per_turn_of_the_loop(
    qtbot: QtBot, qt_loop: asyncio.AbstractEventLoop
) -> None:
    line = "lorem ipsum dolor sit amet\n"
    value = line * (3 * SLICE_CHARS // len(line))
    view = LongTextView()
    qtbot.addWidget(view)
    seen: list[int] = []

    async def fill() -> None:
        filling = asyncio.ensure_future(view.show_text(value))
        while not filling.done():
            seen.append(view.blockCount())
            await asyncio.sleep(0)

    qt_loop.run_until_complete(fill())
    assert len(set(seen)) >= 3  # the window saw it grow, slice by slice
    view.selectAll()
    assert view.selected_text() == value


def test_show_beginning_is_one_slice_at_once(qtbot: QtBot) -> None:
    view = LongTextView()
    qtbot.addWidget(view)
    view.show_beginning("z" * (3 * SLICE_CHARS))
    view.selectAll()
    assert 0 < len(view.selected_text()) <= SLICE_CHARS + DISPLAY_LINE_LIMIT


def test_a_copy_still_on_the_clipboard_at_exit_does_not_crash_the_process() -> None:
    """A QMimeData made in Python (an override of createMimeDataFromSelection) is deleted by
    the clipboard after the interpreter has gone: the process ended in SIGSEGV."""
    program = (
        "from PySide6.QtWidgets import QApplication\n"
        "from ui.widgets.long_text import LongTextView\n"
        "app = QApplication([])\n"
        "view = LongTextView()\n"
        "view.show_beginning('copied at exit')\n"
        "view.selectAll()\n"
        "view.copy_selection()\n"
        "assert app.clipboard().text() == 'copied at exit'\n"
    )
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    ended = subprocess.run(
        [sys.executable, "-c", program], env=environment, capture_output=True, timeout=60
    )
    assert ended.returncode == 0, ended.stderr.decode()
