"""A read-only view of text of any length — a 5 MB post, a 200,000-character name — that
never holds the window: the text goes in a slice per turn of the event loop, and no
paragraph Qt has to lay out is longer than ``DISPLAY_LINE_LIMIT``."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent, QKeyEvent, QKeySequence, QTextCursor
from PySide6.QtWidgets import QApplication, QMenu, QPlainTextEdit, QWidget

# Qt lays out a paragraph whole: wrapping one of 200,000 characters took 2–4 s (and NoWrap
# 45–65 ms per change), while paragraphs cut to 4,000 kept each slice below to a few ms
# (measured offscreen, PySide6 6.11). Longer lines are shown cut; copying joins them again.
DISPLAY_LINE_LIMIT = 4_000
# Text put into the document per turn of the event loop. Filling 5 MB in a dialog: 64 K
# characters took 2–3 ms to insert and held the loop at most ~11 ms a turn with its layout
# and paint; 256 K took 7–10 ms and 20–30 ms a turn, for no shorter fill overall.
SLICE_CHARS = 64 * 1024
# What QTextCursor.insertText turns into a new paragraph (block); "\r\n" makes one.
_LINE_BREAK = re.compile("\r\n|[\r\n\u2029\ufdd0\ufdd1]")
# Block user state: this block continues the line of the block before (a display cut).
_CONTINUES = 1


class LongTextView(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        # Read-only text needs no undo history, which would keep a second copy of it.
        self.setUndoRedoEnabled(False)
        # Wrapped is the cheap mode here: NoWrap lays out every paragraph to find the
        # widest (5 MB in 256 K slices: 9–13 ms a slice against 3–6 ms wrapped).
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self._lines_shown = 0

    def show_beginning(self, text: str) -> None:
        """Show at once the first slice of ``text``: a preview while the full value loads."""
        self._clear()
        slices = _slices(text)
        first = next(slices, None)
        if first is not None:
            self._insert(*first)

    async def show_text(self, text: str) -> None:
        """Show ``text`` whole, one slice per turn of the event loop."""
        self._clear()
        for index, piece in enumerate(_slices(text)):
            if index:
                await asyncio.sleep(0)  # let the window paint and the loop breathe
            self._insert(*piece)

    def selected_text(self) -> str:
        """The selection as it is in the value: a line cut for display is copied whole."""
        cursor = self.textCursor()
        start, end = cursor.selectionStart(), cursor.selectionEnd()
        document = self.document()
        piece = QTextCursor(document)
        parts: list[str] = []
        block = document.findBlock(start)
        while block.isValid() and block.position() <= end:
            if block.position() > start and block.userState() != _CONTINUES:
                parts.append("\n")
            piece.setPosition(max(start, block.position()))
            piece.setPosition(
                min(end, block.position() + block.length() - 1), QTextCursor.MoveMode.KeepAnchor
            )
            parts.append(piece.selectedText())
            block = block.next()
        return "".join(parts)

    def copy_selection(self) -> None:
        """Copy: the value's text, with the cuts made for display joined again."""
        # Set as text, not by overriding createMimeDataFromSelection: a QMimeData made in
        # Python and still held by the clipboard at exit is deleted after the interpreter
        # has gone, and the process ends in a segmentation fault.
        text = self.selected_text()
        if text:
            QApplication.clipboard().setText(text)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_selection()
            event.accept()
            return
        super().keyPressEvent(event)

    def context_menu(self, position: QPoint) -> QMenu:
        """The standard menu of a read-only text, whose Copy copies the value."""
        menu = self.createStandardContextMenu(position)
        for action in menu.actions():
            if action.objectName() == "edit-copy":
                action.triggered.disconnect()
                action.triggered.connect(self.copy_selection)
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        menu = self.context_menu(event.pos())
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(event.globalPos())  # not exec(): no nested event loop under qasync

    def _clear(self) -> None:
        self.clear()
        self._lines_shown = 0

    def _insert(self, lines: list[str], continued: list[int]) -> None:
        document = self.document()
        # A cursor of its own: the view's cursor, and so its scroll position, stay put.
        cursor = QTextCursor(document)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(("\n" if self._lines_shown else "") + "\n".join(lines))
        for index in continued:
            document.findBlockByNumber(self._lines_shown + index).setUserState(_CONTINUES)
        self._lines_shown += len(lines)


def _slices(text: str) -> Iterator[tuple[list[str], list[int]]]:
    """``text`` as display lines in groups of about ``SLICE_CHARS``, each group with the
    indexes of its lines that continue the line before."""
    lines: list[str] = []
    continued: list[int] = []
    size = 0
    for line, continues in display_lines(text):
        if continues:
            continued.append(len(lines))
        lines.append(line)
        size += len(line) + 1
        if size >= SLICE_CHARS:
            yield lines, continued
            lines, continued, size = [], [], 0
    if lines:
        yield lines, continued


def display_lines(text: str, limit: int = DISPLAY_LINE_LIMIT) -> Iterator[tuple[str, bool]]:
    """The lines of ``text`` as shown: each longer than ``limit`` cut into pieces (after a
    space where one is near), with True for a piece that continues the line before it.
    Lazy, so that the first slice of megabytes is ready without scanning them all."""
    start = 0
    for match in _LINE_BREAK.finditer(text):
        yield from _cut(text, start, match.start(), limit)
        start = match.end()
    yield from _cut(text, start, len(text), limit)


def _cut(text: str, start: int, end: int, limit: int) -> Iterator[tuple[str, bool]]:
    if end - start <= limit:
        yield text[start:end], False
        return
    first = start
    while start < end:
        stop = min(start + limit, end)
        if stop < end:
            space = text.rfind(" ", stop - limit // 10, stop)
            if space > start:
                stop = space + 1
        yield text[start:stop], start > first
        start = stop
