"""The Insights window (one per database, View → Insights…, Ctrl+I): the seed's aggregate
questions a click away, each as a table and a bar chart over the views the analyst has
open (an Orders window's search and filters narrow the order reports; with none open, a
report counts every live record).

Each report runs in the background with Cancel (stopped in the database too) and runs
again when a view it follows changes, or the connection does; its table exports to CSV
through the export code and its chart saves as a PNG.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QDate, QLocale, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.changes import ChangeSet
from app.query import QuerySpec
from app.services import catalog
from app.services import insight_reports as reports
from app.services.errors import RecordsDeskError
from app.services.insight_reports import Report, Views
from app.workspace import Desk, Workspace
from ui.connection_look import ConnectionLook
from ui.export_settings import ExportSettings
from ui.formatting import format_money, number_text
from ui.messages import chosen_file, save_file_dialog
from ui.record_changes import record_changes
from ui.tasks import async_slot, spawn
from ui.widgets.bar_chart import BarChart
from ui.window_state import WindowState

GEOMETRY_KEY = "insights"
# The threshold and the date a report opens with: the seed's "more than N posts" and "who
# posted lately". Demo data gives each user 0 to 4 posts (twice the average of 2), so "more
# than 1" lists the authors who posted more than once (about 3 in 5); the seed's 5
# listed nobody.
DEFAULT_MORE_THAN = 1
DEFAULT_SINCE_DAYS = 30
# A threshold stepped with the arrows, or a date typed digit by digit, is counted once it
# rests this long.
PARAMETER_SETTLE_S = 0.4


@dataclass(frozen=True)
class ReportKind:
    title: str
    # The kinds of record whose views narrow it.
    follows: tuple[str, ...]
    run: Callable[[Workspace, Views, ReportPanel], Awaitable[Report]]


class ReportPanel(QWidget):
    """One report: what it follows, its parameter, its table and chart, and its buttons."""

    # The report was shown, or why not (tests wait on it).
    calculated = Signal()
    # An export or a chart save ended: written, refused or not asked for (tests wait on it).
    saved = Signal()

    def __init__(self, kind: ReportKind, window: InsightsWindow) -> None:
        super().__init__(window)
        self.kind = kind
        self.window_ = window
        self.report: Report | None = None
        self.task: asyncio.Task[None] | None = None
        # Runs again when next shown: a view it follows, or the database, changed.
        self.stale = True
        # The views the report shown was counted over (by kind, those it follows).
        self.views_used: dict[str, QuerySpec] | None = None
        self.export_task: asyncio.Task[bool] | None = None
        # The Save As dialog while it is open (referenced: DESIGN.md, Known traps).
        self.file_dialog: QFileDialog | None = None
        # From an Export or Save chart click until its file is written or not wanted.
        self.saving = False
        self.setAccessibleName(kind.title)

        self.follows_label = QLabel(self)
        self.follows_label.setAccessibleName("Follows")
        self.follows_label.setWordWrap(True)
        self.more_than_box = QSpinBox(self)
        self.more_than_box.setRange(0, 1_000_000)
        self.more_than_box.setValue(DEFAULT_MORE_THAN)
        self.more_than_box.setPrefix("more than ")
        self.more_than_box.setSuffix(posts_suffix(DEFAULT_MORE_THAN))
        self.more_than_box.setAccessibleName("More than")
        self.more_than_box.valueChanged.connect(self.on_more_than_box_value_changed)
        self.more_than_box.setVisible(kind.title == "Posts per author")
        self.since_edit = QDateEdit(self)
        self.since_edit.setCalendarPopup(True)
        self.since_edit.setDisplayFormat("yyyy-MM-dd")
        self.since_edit.setDate(QDate.currentDate().addDays(-DEFAULT_SINCE_DAYS))
        self.since_edit.setAccessibleName("Since")
        self.since_edit.setToolTip("Posts created on or after this day (UTC)")
        self.since_edit.dateChanged.connect(self.run_soon)
        self.since_edit.setVisible(kind.title == "Users who posted since")

        self.table = QTableWidget(0, 0, self)
        self.table.setAccessibleName(f"{kind.title} table")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.chart = BarChart(self)
        # The chart is as tall as its bars; the area scrolls to those below its fold.
        self.chart_area = QScrollArea(self)
        self.chart_area.setAccessibleName(f"{kind.title} chart")
        self.chart_area.setWidgetResizable(True)
        self.chart_area.setWidget(self.chart)
        self.chart_area.verticalScrollBar().rangeChanged.connect(self.on_chart_range_changed)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.chart_area)
        splitter.setSizes([420, 420])

        self.status_label = QLabel(self)
        self.status_label.setAccessibleName("Report status")
        self.cancel_button = self._button("Cancel", self.cancel)
        self.cancel_button.hide()
        self.refresh_button = self._button("Refresh", self.run)
        self.export_button = self._button("Export CSV…", self.on_export_button_clicked)
        self.save_chart_button = self._button("Save chart…", self.on_save_chart_button_clicked)
        self.export_button.setEnabled(False)
        self.save_chart_button.setEnabled(False)

        top = QHBoxLayout()
        top.addWidget(self.follows_label, 1)
        top.addWidget(self.more_than_box)
        top.addWidget(self.since_edit)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status_label, 1)
        for button in (
            self.cancel_button,
            self.refresh_button,
            self.export_button,
            self.save_chart_button,
        ):
            bottom.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)

    def _button(self, text: str, slot: Any) -> QPushButton:
        button = QPushButton(text, self)
        button.setAccessibleName(text)
        button.clicked.connect(slot)
        return button

    # -- running -----------------------------------------------------------------------------

    def followed_views(self) -> dict[str, QuerySpec]:
        """The views of the open browse windows this report follows."""
        return {
            kind: spec for kind, spec in self.window_.views().items() if kind in self.kind.follows
        }

    def on_more_than_box_value_changed(self, value: int) -> None:
        self.more_than_box.setSuffix(posts_suffix(value))
        self.run_soon()

    def run_soon(self, *_: object) -> None:
        """A parameter changed (typed, stepped or picked): run once it stops changing."""
        self.cancel(quietly=True)
        self.status_label.setText("Calculating…")
        self.task = spawn(self._compute_soon(), name=f"insight {self.kind.title}")

    async def _compute_soon(self) -> None:
        await asyncio.sleep(PARAMETER_SETTLE_S)
        self.run()

    def run(self) -> None:
        if self.task is not None and self.task is not asyncio.current_task():
            self.cancel(quietly=True)
        self.stale = False
        views = self.followed_views()
        self.views_used = views
        self.follows_label.setText(follows_text(self.kind.follows, views))
        self.status_label.setText("Calculating…")
        self.cancel_button.show()
        self.task = spawn(self._compute(views), name=f"insight {self.kind.title}")

    async def _compute(self, views: Views) -> None:
        try:
            report = await self.kind.run(self.window_.desk.workspace, views, self)
        except RecordsDeskError as error:
            if shiboken6.isValid(self):
                self.status_label.setText(f"Not calculated: {error}")
                self._ended()
            return
        if not shiboken6.isValid(self):
            return
        self.report = report
        self._show(report)
        self._ended()

    def _ended(self) -> None:
        self.task = None
        self.cancel_button.hide()
        self.calculated.emit()

    def cancel(self, *, quietly: bool = False) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            if not quietly:
                self.status_label.setText("Cancelled; Refresh calculates again.")
                self.calculated.emit()
        self.task = None
        self.cancel_button.hide()

    def _show(self, report: Report) -> None:
        locale = QLocale()
        self.table.clear()
        self.table.setColumnCount(len(report.headings))
        self.table.setHorizontalHeaderLabels(list(report.headings))
        self.table.setRowCount(len(report.rows))
        for row, values in enumerate(report.rows):
            for column, value in enumerate(values):
                item = QTableWidgetItem(cell_text(value, locale))
                if isinstance(value, int | Decimal):
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()  # at most REPORT_ROWS rows: cheap
        chart = report.chart_column
        self.chart.show_bars(
            f"{report.title} — {report.headings[chart].lower()}",
            [cell_text(values[0], locale) for values in report.rows],
            [values[chart] for values in report.rows],
            [cell_text(values[chart], locale) for values in report.rows],
            keep_end=report.time_series,
        )
        self._show_chart_end()
        count = len(report.rows)
        text = f"{locale.toString(count)} {'row' if count == 1 else 'rows'}"
        if report.cut:
            which = "newest" if report.time_series else "first"
            kept = locale.toString(reports.REPORT_ROWS)
            text += f" (the {which} {kept}; narrow the views for the rest)"
        self.status_label.setText(text)
        self._enable_saving()

    def on_chart_range_changed(self, _low: int, _high: int) -> None:
        self._show_chart_end()

    def _show_chart_end(self) -> None:
        """A time series opens at its newest rows, the ones its reader came for (the
        range changes after the chart takes its new height, hence on rangeChanged too)."""
        if self.report is not None and self.report.time_series:
            bar = self.chart_area.verticalScrollBar()
            bar.setValue(bar.maximum())

    # -- saving ------------------------------------------------------------------------------

    @async_slot()
    async def on_export_button_clicked(self) -> None:
        if self.saving:
            return  # a second click while the first one's dialog or export is under way
        self._set_saving(True)
        try:
            path = await self._choose_file("Export the table", "csv", "CSV files (*.csv)")
            if path is None or not shiboken6.isValid(self):
                return
            self.export_task = spawn(
                self.export_to(path), name=f"export insight {self.kind.title}", awaited=True
            )
            await asyncio.wait({self.export_task})
        finally:
            if shiboken6.isValid(self):
                self.export_task = None
                self._set_saving(False)
                self.saved.emit()

    async def export_to(self, path: Path) -> bool:
        """Write the table as the CSV export writes rows, with the user's CSV options."""
        if self.report is None:
            return False
        settings = ExportSettings()
        try:
            result = await self.window_.desk.workspace.export_table(
                self.report.headings, self.report.rows, settings.options(), path
            )
        except RecordsDeskError as error:
            if shiboken6.isValid(self):
                self.status_label.setText(f"Nothing was exported: {error}")
            return False
        if not shiboken6.isValid(self):
            return True
        settings.set_folder(path.parent)
        self.status_label.setText(f"Exported {QLocale().toString(result.rows)} rows to {path.name}")
        return True

    @async_slot()
    async def on_save_chart_button_clicked(self) -> None:
        if self.saving:
            return
        self._set_saving(True)
        try:
            path = await self._choose_file("Save the chart", "png", "PNG images (*.png)")
            if path is not None and shiboken6.isValid(self):
                self.save_chart_to(path)
        finally:
            if shiboken6.isValid(self):
                self._set_saving(False)
                self.saved.emit()

    def _set_saving(self, saving: bool) -> None:
        """Export and Save chart are busy from the click until the file is written or the
        dialog cancelled: one file dialog at a time, each click one intent."""
        self.saving = saving
        self._enable_saving()

    def _enable_saving(self) -> None:
        idle = self.report is not None and not self.saving
        self.export_button.setEnabled(idle)
        self.save_chart_button.setEnabled(idle)

    def save_chart_to(self, path: Path) -> bool:
        if not self.chart.save_png(path):
            self.status_label.setText(f"The chart could not be saved to {path}: check the folder.")
            return False
        ExportSettings().set_folder(path.parent)
        self.status_label.setText(f"Saved the chart to {path.name}")
        return True

    async def _choose_file(self, title: str, suffix: str, kinds: str) -> Path | None:
        """The file the user names in a Save As dialog; opened, not exec()'d: this runs in
        a task, and a nested event loop would stall every other task (DESIGN.md)."""
        name = f"{self.kind.title.lower().replace(' ', '-')}-{datetime.now().date().isoformat()}"
        start = ExportSettings().folder() / f"{name}.{suffix}"
        dialog = save_file_dialog(self, title, start, kinds)
        self.file_dialog = dialog
        try:
            path = await chosen_file(dialog)
        finally:
            if shiboken6.isValid(self):
                self.file_dialog = None
                dialog.deleteLater()
        if path is None:
            return None
        return path if path.suffix else path.with_suffix(f".{suffix}")


def _since(panel: ReportPanel) -> datetime:
    day = panel.since_edit.date()
    return datetime(day.year(), day.month(), day.day(), tzinfo=UTC)


KINDS = (
    ReportKind(
        "Orders by status", ("orders",), lambda w, v, _p: w.report(reports.orders_by_status, v)
    ),
    ReportKind(
        "Active and inactive users",
        ("users",),
        lambda w, v, _p: w.report(reports.users_by_activity, v),
    ),
    ReportKind(
        "Posts per author",
        ("posts", "users"),
        lambda w, v, p: w.report(reports.posts_per_author, v, p.more_than_box.value()),
    ),
    ReportKind(
        "Users who posted since",
        ("posts", "users"),
        lambda w, v, p: w.report(reports.users_who_posted_since, v, _since(p)),
    ),
    ReportKind(
        "Orders per month", ("orders",), lambda w, v, _p: w.report(reports.orders_per_month, v)
    ),
    ReportKind(
        "Balance distribution",
        ("accounts",),
        lambda w, v, _p: w.report(reports.balance_distribution, v, format_money),
    ),
)


class InsightsWindow(QWidget):
    closed = Signal()

    def __init__(
        self,
        desk: Desk,
        views: Callable[[], Views],
        window_state: WindowState,
        look: ConnectionLook,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.desk = desk
        self.views = views
        self.window_state = window_state
        self.look = look
        self.setAccessibleName("Insights")
        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Reports")
        self.panels = [ReportPanel(kind, self) for kind in KINDS]
        for panel in self.panels:
            self.tabs.addTab(panel, panel.kind.title)
        self.tabs.currentChanged.connect(self.on_tabs_current_changed)
        record_changes(desk).changed.connect(self.on_records_changed)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        self.refresh_action = QAction("Refresh", self)
        self.refresh_action.setShortcut(QKeySequence.StandardKey.Refresh)
        self.refresh_action.triggered.connect(self.refresh)
        self.addAction(self.refresh_action)
        close_action = QAction("Close", self)
        close_action.setShortcut(QKeySequence.StandardKey.Close)
        close_action.triggered.connect(self.close)
        self.addAction(close_action)
        self._show_title()
        geometry = window_state.geometry(GEOMETRY_KEY)
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(960, 560)

    @property
    def current(self) -> ReportPanel:
        panel = self.tabs.currentWidget()
        assert isinstance(panel, ReportPanel)
        return panel

    def _show_title(self) -> None:
        self.setWindowTitle(f"Insights — {self.look.title} — Records Desk")

    def showEvent(self, event: Any) -> None:  # noqa: N802
        super().showEvent(event)
        if self.current.stale:
            self.current.run()

    def on_tabs_current_changed(self, _index: int) -> None:
        if self.current.stale and self.isVisible():
            self.current.run()

    def refresh(self) -> None:
        self.current.run()

    def views_changed(self) -> None:
        """A browse window opened, closed, or changed its view or its kind of record: the
        reports counted over other views than there are now are out of date (the one in
        view runs again now)."""
        for panel in self.panels:
            if panel.views_used is not None and panel.followed_views() != panel.views_used:
                panel.stale = True
        if self.isVisible() and self.current.stale:
            self.current.run()

    def on_records_changed(self, changes: ChangeSet) -> None:
        """A commit changed records: the reports reading those kinds are out of date (the
        one in view runs again now, the others when shown)."""
        touched = False
        for panel in self.panels:
            if panel.views_used is not None and changes.entities & set(panel.kind.follows):
                panel.stale = True
                touched = True
        if touched and self.isVisible() and self.current.stale:
            self.current.run()

    def show_connection(self, look: ConnectionLook) -> None:
        """Another database: every report is out of date, the one in view runs again."""
        self.look = look
        self._show_title()
        for panel in self.panels:
            panel.cancel(quietly=True)
            panel.stale = True
        if self.isVisible():
            self.current.run()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        for panel in self.panels:
            panel.cancel(quietly=True)
            panel.stale = True
            if panel.export_task is not None:
                panel.export_task.cancel()  # the partial file goes; the target stays
        self.window_state.set_geometry(GEOMETRY_KEY, self.saveGeometry())
        self.window_state.sync()
        super().closeEvent(event)
        self.closed.emit()


def follows_text(kinds: tuple[str, ...], views: Views) -> str:
    """``Over the view of your Orders window: search "pen", 2 filters.`` or ``Over all
    live orders (open a browse window of them to narrow it).``"""
    parts = []
    for kind in kinds:
        label = catalog.entity(kind).label
        spec = views.get(kind)
        if spec is None:
            parts.append(f"all live {label.lower()}")
            continue
        parts.append(f"the view of your {label} window ({spec_text(spec)})")
    return "Over " + " and ".join(parts) + "."


def spec_text(spec: QuerySpec) -> str:
    parts = []
    if spec.search:
        parts.append(f"search “{spec.search}”")
    if spec.filters:
        parts.append(f"{len(spec.filters)} {'filter' if len(spec.filters) == 1 else 'filters'}")
    if spec.deleted.value != "exclude":
        parts.append("deleted rows " + ("only" if spec.deleted.value == "only" else "included"))
    return ", ".join(parts) or "everything in it"


def posts_suffix(count: int) -> str:
    """The threshold box reads "more than 1 post", "more than 5 posts"."""
    return " post" if count == 1 else " posts"


def cell_text(value: Any, locale: QLocale) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int):
        return locale.toString(value)
    if isinstance(value, Decimal):
        return number_text(value, True, locale)
    return "" if value is None else str(value)
