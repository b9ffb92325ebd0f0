"""A horizontal bar chart drawn with QPainter: one bar per row of a report, its label on
the left and its figure at the end of the bar.

QPainter rather than Qt Charts: Qt Charts comes with PySide6-Addons (QtCharts, and the
QtOpenGL and QtQml it links to), tens of megabytes that would take the packaged app past
its 120 MB budget for a chart this simple; the chart also saves itself as a PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

# Bars a chart draws; a longer report shows its first rows (its table has them all).
MAX_BARS = 25
BAR_HEIGHT = 18
GAP = 6
MARGIN = 10


class BarChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Chart")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 120)
        self.title = ""
        self.labels: list[str] = []
        self.values: list[Decimal] = []
        self.texts: list[str] = []
        self.more = 0  # rows beyond the bars drawn

    def show_bars(
        self,
        title: str,
        labels: Sequence[str],
        values: Sequence[Decimal | int],
        texts: Sequence[str],
    ) -> None:
        self.title = title
        self.labels = list(labels[:MAX_BARS])
        self.values = [Decimal(value) for value in values[:MAX_BARS]]
        self.texts = list(texts[:MAX_BARS])
        self.more = max(0, len(labels) - MAX_BARS)
        shown = ", ".join(
            f"{label}: {text}" for label, text in zip(self.labels, self.texts, strict=True)
        )
        self.setAccessibleDescription(f"{title}. {shown}" if shown else f"{title}: nothing to show")
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802
        rows = max(len(self.labels), 1) + 2
        return QSize(480, MARGIN * 2 + rows * (BAR_HEIGHT + GAP))

    def image(self, size: QSize | None = None) -> QImage:
        """The chart drawn on a white page of ``size`` (the widget's own by default)."""
        size = size or self.size().expandedTo(self.sizeHint())
        picture = QImage(size, QImage.Format.Format_ARGB32)
        picture.fill(QColor("white"))
        painter = QPainter(picture)
        try:
            self._draw(painter, size.width(), size.height(), on_page=True)
        finally:
            painter.end()
        return picture

    def save_png(self, path: Path) -> bool:
        return self.image().save(str(path))  # the format from the suffix, .png

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        try:
            self._draw(painter, self.width(), self.height(), on_page=False)
        finally:
            painter.end()

    def _draw(self, painter: QPainter, width: int, height: int, *, on_page: bool) -> None:
        palette = self.palette()
        text_color = QColor("black") if on_page else palette.color(QPalette.ColorRole.WindowText)
        bar_color = palette.color(QPalette.ColorRole.Highlight)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = self.fontMetrics()
        painter.setPen(text_color)
        top = MARGIN
        bold = painter.font()
        bold.setBold(True)
        painter.save()
        painter.setFont(bold)
        painter.drawText(QRectF(MARGIN, top, width - 2 * MARGIN, BAR_HEIGHT), self.title)
        painter.restore()
        top += BAR_HEIGHT + GAP
        if not self.labels:
            painter.drawText(QRectF(MARGIN, top, width - 2 * MARGIN, BAR_HEIGHT), "No rows")
            return
        widest = max(metrics.horizontalAdvance(label) for label in self.labels)
        label_width = min(widest + 16, width // 3)
        text_width = max(metrics.horizontalAdvance(text) for text in self.texts) + 8
        bar_space = max(width - 2 * MARGIN - label_width - text_width, 10)
        largest = max((abs(value) for value in self.values), default=Decimal(0))
        for label, value, text in zip(self.labels, self.values, self.texts, strict=True):
            row = QRectF(MARGIN, top, label_width - 6, BAR_HEIGHT)
            shown = metrics.elidedText(label, Qt.TextElideMode.ElideRight, int(row.width()))
            painter.drawText(
                row, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, shown
            )
            length = 0.0 if not largest else float(abs(value) / largest) * bar_space
            bar = QRectF(MARGIN + label_width, top + 2, max(length, 1.0), BAR_HEIGHT - 4)
            painter.fillRect(bar, bar_color)
            painter.drawText(
                QRectF(bar.right() + 4, top, text_width, BAR_HEIGHT),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                text,
            )
            top += BAR_HEIGHT + GAP
            if top > height:
                break
        if self.more:
            painter.drawText(
                QRectF(MARGIN, top, width - 2 * MARGIN, BAR_HEIGHT),
                f"… and {self.more:,} more in the table",
            )
