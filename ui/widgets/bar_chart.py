"""A horizontal bar chart drawn with QPainter: one bar per row of a report, its label on
the left and its figure at the end of the bar.

The chart is as tall as its bars (its minimum height comes from its rows): put it in a
QScrollArea and every bar can be reached; a bar is never dropped because the widget is
short. Only a series longer than ``max_bars`` is cut, and then the chart says how many
rows it left out and keeps the end that matters (a ranking its top, a time series its
newest rows). A label too long for its column is elided, and the tooltip over its row
shows it whole.

QPainter rather than Qt Charts: Qt Charts comes with PySide6-Addons (QtCharts, and the
QtOpenGL and QtQml it links to), tens of megabytes that would take the packaged app past
its 120 MB budget for a chart this simple; the chart also saves itself as a PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QHelpEvent, QImage, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

# The most bars a chart draws: 1,000 bars are a 24,000-pixel scroll already, and a report
# lists at most 1,000 rows (insight_reports.REPORT_ROWS), so only a longer series is cut.
MAX_BARS = 1_000
BAR_HEIGHT = 18
GAP = 6
LINE = BAR_HEIGHT + GAP
MARGIN = 10
# Room a label column takes before its labels are elided: a balance range such as
# "-100000.00 to under 100000.00" fits whole; longer names and emails are elided.
LABEL_WIDTH_CAP = 260
# The shortest room left for the longest bar: narrower, the bars stop telling sizes apart.
MIN_BAR_SPACE = 80
LABEL_PAD = 16
TEXT_PAD = 8


@dataclass(frozen=True)
class BarPlace:
    """Where one row of the series is drawn, in the chart's own coordinates."""

    label: str
    shown_label: str  # the label as drawn: elided when its column is too narrow
    text: str
    line: QRectF  # the whole row: label, bar and figure (its tooltip's area)
    label_box: QRectF
    bar: QRectF
    text_box: QRectF

    @property
    def elided(self) -> bool:
        return self.shown_label != self.label


@dataclass(frozen=True)
class ChartLayout:
    title: QRectF
    shown_title: str
    bars: tuple[BarPlace, ...]
    note: QRectF | None  # the line saying what was left out, if anything was
    empty: QRectF | None  # the "No rows" line of an empty series


class BarChart(QWidget):
    def __init__(self, parent: QWidget | None = None, *, max_bars: int = MAX_BARS) -> None:
        super().__init__(parent)
        self.setAccessibleName("Chart")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.max_bars = max_bars
        self.title = ""
        self.labels: list[str] = []
        self.values: list[Decimal] = []
        self.texts: list[str] = []
        self.left_out = 0  # rows of the series not drawn (only past max_bars)
        self.keep_end = False  # the rows drawn are the series' last ones, not its first
        self._fit()

    def show_bars(
        self,
        title: str,
        labels: Sequence[str],
        values: Sequence[Decimal | int],
        texts: Sequence[str],
        *,
        keep_end: bool = False,
    ) -> None:
        """Draw one bar per row; past ``max_bars`` rows keep the first ones, or the last
        ones when ``keep_end`` (a time series oldest first keeps its newest rows)."""
        self.title = title
        self.keep_end = keep_end
        count = len(labels)
        kept = slice(max(count - self.max_bars, 0), count) if keep_end else slice(self.max_bars)
        self.labels = list(labels[kept])
        self.values = [Decimal(value) for value in values[kept]]
        self.texts = list(texts[kept])
        self.left_out = count - len(self.labels)
        self._describe()
        self._fit()
        self.update()

    def note_text(self) -> str:
        """What the chart left out, in words ("" when it draws every row)."""
        if not self.left_out:
            return ""
        rows = "row" if self.left_out == 1 else "rows"
        if self.keep_end:
            return f"{self.left_out:,} earlier {rows} not drawn (the table lists them)"
        return f"… and {self.left_out:,} more {rows} not drawn (the table lists them)"

    def _describe(self) -> None:
        shown = ", ".join(
            f"{label}: {text}" for label, text in zip(self.labels, self.texts, strict=True)
        )
        if not shown:
            self.setAccessibleDescription(f"{self.title}: nothing to show")
            return
        note = self.note_text()
        self.setAccessibleDescription(f"{self.title}. {shown}" + (f". {note}" if note else ""))

    # -- size and layout ---------------------------------------------------------------------

    def _lines(self) -> int:
        """Lines of the chart: its title, a bar per row (or "No rows") and the note."""
        return 1 + max(len(self.labels), 1) + (1 if self.left_out else 0)

    def _columns(self, metrics: QFontMetrics, width: int) -> tuple[int, int]:
        """The widths of the label column and of the figures at the bars' ends."""
        widest = max((metrics.horizontalAdvance(label) for label in self.labels), default=0)
        label_width = min(widest + LABEL_PAD, max(LABEL_WIDTH_CAP, width // 3))
        text_width = max((metrics.horizontalAdvance(text) for text in self.texts), default=0)
        return label_width, text_width + TEXT_PAD

    def _fit(self) -> None:
        """The minimum size holds every bar and a readable bar space: a scroll area
        around the chart then scrolls to each of them instead of cutting them off."""
        label_width, text_width = self._columns(self.fontMetrics(), 0)
        width = 2 * MARGIN + label_width + MIN_BAR_SPACE + text_width
        self.setMinimumSize(max(width, 240), 2 * MARGIN + self._lines() * LINE)
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(max(480, self.minimumWidth()), self.minimumHeight())

    def chart_layout(self, width: int) -> ChartLayout:
        """Where the title, each bar and the note go at ``width``: what paint draws."""
        metrics = self.fontMetrics()
        full = width - 2 * MARGIN
        title = QRectF(MARGIN, MARGIN, full, BAR_HEIGHT)
        bold = self.font()
        bold.setBold(True)
        shown_title = QFontMetrics(bold).elidedText(self.title, Qt.TextElideMode.ElideRight, full)
        top = MARGIN + LINE
        note = None
        if self.left_out and self.keep_end:  # the rows left out came before these
            note, top = QRectF(MARGIN, top, full, BAR_HEIGHT), top + LINE
        if not self.labels:
            return ChartLayout(title, shown_title, (), note, QRectF(MARGIN, top, full, BAR_HEIGHT))
        label_width, text_width = self._columns(metrics, width)
        bar_space = max(full - label_width - text_width, 10)
        largest = max(abs(value) for value in self.values)
        bars = []
        for label, value, text in zip(self.labels, self.values, self.texts, strict=True):
            label_box = QRectF(MARGIN, top, label_width - 6, BAR_HEIGHT)
            length = float(abs(value) / largest) * bar_space if largest else 0.0
            # A zero still gets a sliver: the row is there, its figure says 0.
            bar = QRectF(MARGIN + label_width, top + 2, max(length, 1.0), BAR_HEIGHT - 4)
            bars.append(
                BarPlace(
                    label,
                    metrics.elidedText(label, Qt.TextElideMode.ElideRight, int(label_box.width())),
                    text,
                    QRectF(MARGIN, top, full, BAR_HEIGHT),
                    label_box,
                    bar,
                    QRectF(bar.right() + 4, top, text_width, BAR_HEIGHT),
                )
            )
            top += LINE
        if self.left_out and not self.keep_end:
            note = QRectF(MARGIN, top, full, BAR_HEIGHT)
        return ChartLayout(title, shown_title, tuple(bars), note, None)

    # -- tooltips ----------------------------------------------------------------------------

    def tooltip_at(self, point: QPoint) -> str:
        """The whole label and figure of the row under ``point``, the whole title over an
        elided one; "" elsewhere."""
        layout = self.chart_layout(self.width())
        if layout.title.contains(point.toPointF()) and layout.shown_title != self.title:
            return self.title
        for place in layout.bars:
            if place.line.contains(point.toPointF()):
                return f"{place.label}: {place.text}"
        if layout.note is not None and layout.note.contains(point.toPointF()):
            return self.note_text()
        return ""

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.tooltip_at(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    # -- drawing -----------------------------------------------------------------------------

    def image(self, size: QSize | None = None) -> QImage:
        """The chart drawn on a white page of ``size`` (the widget's own by default, which
        holds every bar)."""
        size = size or self.size().expandedTo(self.minimumSize())
        picture = QImage(size, QImage.Format.Format_ARGB32)
        picture.fill(QColor("white"))
        painter = QPainter(picture)
        try:
            self._draw(painter, size.width(), QRect(QPoint(0, 0), size), on_page=True)
        finally:
            painter.end()
        return picture

    def save_png(self, path: Path) -> bool:
        return self.image().save(str(path))  # the format from the suffix, .png

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        try:
            self._draw(painter, self.width(), event.rect(), on_page=False)
        finally:
            painter.end()

    def _draw(self, painter: QPainter, width: int, exposed: QRect, *, on_page: bool) -> None:
        """Draw what lies in ``exposed``: a thousand-bar chart in a scroll area repaints
        only the bars in view."""
        palette = self.palette()
        text_color = QColor("black") if on_page else palette.color(QPalette.ColorRole.WindowText)
        bar_color = palette.color(QPalette.ColorRole.Highlight)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(text_color)
        layout = self.chart_layout(width)
        area = QRectF(exposed)
        bold = self.font()
        bold.setBold(True)
        painter.save()
        painter.setFont(bold)
        painter.drawText(layout.title, layout.shown_title)
        painter.restore()
        if layout.empty is not None:
            painter.drawText(layout.empty, "No rows")
        if layout.note is not None:
            painter.drawText(layout.note, self.note_text())
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        for place in layout.bars:
            if not place.line.intersects(area):
                continue
            painter.drawText(place.label_box, right, place.shown_label)
            painter.fillRect(place.bar, bar_color)
            painter.drawText(place.text_box, left, place.text)
