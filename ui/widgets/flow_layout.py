"""A layout that places its widgets left to right and wraps them onto new lines, like words.

Qt has no such layout built in; this follows Qt's own "Flow Layout" example, with each line's
items centred vertically so buttons and chips of different heights line up.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget, QWidgetItem


class FlowLayout(QLayout):
    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._gap = spacing
        self.setSpacing(spacing)

    def insert_widget(self, index: int, widget: QWidget) -> None:
        """``addWidget`` at a position; ``index`` past the end appends."""
        self.addChildWidget(widget)
        self._items.insert(index, QWidgetItem(widget))
        self.invalidate()

    def addItem(self, item: QLayoutItem, /) -> None:  # noqa: N802
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int, /) -> QLayoutItem | None:  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int, /) -> QLayoutItem | None:  # noqa: N802
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int, /) -> int:  # noqa: N802
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect, /) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802
        """One line holding everything: what the layout would like if width were free."""
        visible = self._visible_items()
        width = sum(item.sizeHint().width() for item in visible)
        width += self._gap * max(len(visible) - 1, 0)
        height = max((item.sizeHint().height() for item in visible), default=0)
        return self._grown(QSize(width, height))

    def minimumSize(self) -> QSize:  # noqa: N802
        size = QSize()
        for item in self._visible_items():
            size = size.expandedTo(item.minimumSize())
        return self._grown(size)

    def _grown(self, size: QSize) -> QSize:
        margins: QMargins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _visible_items(self) -> list[QLayoutItem]:
        return [item for item in self._items if not item.isEmpty()]

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        """Place the items (when ``move``) and return the height they take in ``rect``."""
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        lines: list[list[tuple[QLayoutItem, QSize]]] = [[]]
        line_width = 0
        for item in self._visible_items():
            hint = item.sizeHint()
            needed = hint.width() if not lines[-1] else line_width + self._gap + hint.width()
            if lines[-1] and needed > area.width():
                lines.append([])
                needed = hint.width()
            lines[-1].append((item, hint))
            line_width = needed
        y = area.y()
        for line in lines:
            if not line:
                continue
            line_height = max(hint.height() for _, hint in line)
            x = area.x()
            for item, hint in line:
                if move:
                    top = y + (line_height - hint.height()) // 2
                    item.setGeometry(QRect(QPoint(x, top), hint))
                x += hint.width() + self._gap
            y += line_height + self._gap
        used = y - self._gap - area.y() if any(lines) else 0
        return used + margins.top() + margins.bottom()
