"""The bar chart never hides a bar: every row is drawn (the chart grows and its scroll area
scrolls), a series past the chart's limit keeps the end that matters and says how many
rows it left out, and an elided label shows whole in its tooltip. Bars are counted in the
pixels paint drew, not in the chart's own lists."""

from __future__ import annotations

import itertools
from decimal import Decimal

from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QHelpEvent, QImage, QPalette
from PySide6.QtWidgets import QApplication, QScrollArea, QToolTip
from pytestqt.qtbot import QtBot

from app.services.insight_reports import range_text
from app.services.insights import ValueRange
from ui.widgets.bar_chart import BarChart

MONTHS = [f"{2024 + (month - 1) // 12}-{(month - 1) % 12 + 1:02}" for month in range(1, 26)]


def bars_in(picture: QImage, chart: BarChart) -> int:
    """The bars painted in ``picture``: runs of the bar colour down the column where every
    bar starts (a zero still gets a one-pixel sliver there)."""
    layout = chart.chart_layout(picture.width())
    x = int(layout.bars[0].bar.left()) if layout.bars else 0
    colour = chart.palette().color(QPalette.ColorRole.Highlight).rgb()
    runs, inside = 0, False
    for y in range(picture.height()):
        on_bar = picture.pixelColor(x, y).rgb() == colour
        runs += on_bar and not inside
        inside = on_bar
    return runs


def bars_painted(chart: BarChart) -> int:
    """The bars the widget paints over its whole height, in view or scrolled away."""
    return bars_in(chart.grab().toImage(), chart)


def scrolled_chart(
    qtbot: QtBot, width: int = 420, height: int = 440
) -> tuple[QScrollArea, BarChart]:
    """A chart in a scroll area of the size the Insights window gives it by default (the
    area returned too: qtbot holds it weakly)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    chart = BarChart()
    area.setWidget(chart)
    area.resize(width, height)
    qtbot.addWidget(area)
    area.show()
    return area, chart


def show(chart: BarChart, labels: list[str], *, keep_end: bool = False) -> None:
    values = [Decimal(place + 1) for place in range(len(labels))]  # the last is the biggest
    chart.show_bars("Orders per month — value", labels, values, [str(v) for v in values],
                    keep_end=keep_end)  # fmt: skip
    QApplication.processEvents()  # the scroll area takes the chart's new size


def test_a_25_month_series_at_the_default_size_draws_25_bars(qtbot: QtBot) -> None:
    area, chart = scrolled_chart(qtbot)
    show(chart, MONTHS, keep_end=True)

    assert chart.height() > area.viewport().height()  # taller than its view: it scrolls
    assert bars_painted(chart) == 25
    assert chart.left_out == 0
    assert chart.note_text() == ""
    last = chart.chart_layout(chart.width()).bars[-1]
    assert last.label == "2026-01"
    assert last.line.bottom() <= chart.height()
    assert area.verticalScrollBar().maximum() + area.viewport().height() >= last.line.bottom()


def test_the_saved_picture_holds_every_bar(qtbot: QtBot) -> None:
    _area, chart = scrolled_chart(qtbot, height=200)
    show(chart, MONTHS)

    picture = chart.image()

    assert picture.height() >= chart.minimumHeight()
    assert bars_in(picture, chart) == 25


def test_a_cut_time_series_keeps_its_newest_rows_and_says_how_many_it_left_out(
    qtbot: QtBot,
) -> None:
    _area, chart = scrolled_chart(qtbot)
    chart.max_bars = 10
    show(chart, MONTHS, keep_end=True)

    assert chart.labels == MONTHS[-10:]
    assert chart.left_out == 15
    assert chart.note_text() == "15 earlier rows not drawn (the table lists them)"
    assert bars_painted(chart) == 10
    layout = chart.chart_layout(chart.width())
    assert layout.note is not None
    assert layout.note.bottom() <= layout.bars[0].line.top()  # said where they were left out
    assert chart.accessibleDescription().endswith(
        ". 15 earlier rows not drawn (the table lists them)"
    )


def test_a_cut_ranking_keeps_its_top_and_says_how_many_it_left_out(qtbot: QtBot) -> None:
    _area, chart = scrolled_chart(qtbot)
    chart.max_bars = 10
    show(chart, MONTHS)

    assert chart.labels == MONTHS[:10]
    assert chart.note_text() == "… and 15 more rows not drawn (the table lists them)"
    assert bars_painted(chart) == 10
    layout = chart.chart_layout(chart.width())
    assert layout.note is not None
    assert layout.note.top() >= layout.bars[-1].line.bottom()


def test_an_elided_label_shows_whole_in_its_tooltip(qtbot: QtBot) -> None:
    _area, chart = scrolled_chart(qtbot, width=300)
    long_name = "Maximilian Alexander von Hohenzollern-Sigmaringen (maximilian@example.org)"
    chart.show_bars("Authors — posts", [long_name, "Ada"], [4, 2], ["4", "2"])
    QApplication.processEvents()

    first, second = chart.chart_layout(chart.width()).bars
    assert first.elided
    assert not second.elided
    assert chart.tooltip_at(first.line.center().toPoint()) == f"{long_name}: 4"
    assert chart.tooltip_at(second.line.center().toPoint()) == "Ada: 2"

    point = first.line.center().toPoint()
    QApplication.sendEvent(chart, QHelpEvent(QEvent.Type.ToolTip, point, chart.mapToGlobal(point)))
    assert QToolTip.text() == f"{long_name}: 4"
    QToolTip.hideText()
    assert chart.tooltip_at(QPoint(chart.width() - 1, chart.height() - 1)) == ""


def test_balance_ranges_are_never_cut(qtbot: QtBot) -> None:
    ends = [Decimal(-100_000), Decimal(-50_000), Decimal(0), Decimal(50_000), Decimal(100_000)]
    labels = [
        range_text(ValueRange(low.quantize(Decimal("0.01")), high.quantize(Decimal("0.01")),
                              last=place == len(ends) - 2))
        for place, (low, high) in enumerate(itertools.pairwise(ends))
    ]  # fmt: skip
    _area, chart = scrolled_chart(qtbot, width=200)  # narrower than the chart: the area scrolls
    chart.show_bars("Balance distribution — accounts", labels, [1, 2, 3, 4], ["1", "2", "3", "4"])
    QApplication.processEvents()

    assert labels[0] == "-100000.00 to under -50000.00"
    assert chart.width() >= chart.minimumWidth()
    assert [place.shown_label for place in chart.chart_layout(chart.width()).bars] == labels
    assert [place.shown_label for place in chart.chart_layout(420).bars] == labels


def test_no_rows_is_said(qtbot: QtBot) -> None:
    _area, chart = scrolled_chart(qtbot)
    chart.show_bars("Authors with more than 5 posts — posts", [], [], [])

    layout = chart.chart_layout(chart.width())
    assert layout.bars == ()
    assert layout.empty is not None
    assert layout.note is None
    assert bars_painted(chart) == 0
    assert (
        chart.accessibleDescription() == "Authors with more than 5 posts — posts: nothing to show"
    )
