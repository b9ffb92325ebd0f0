"""The Insights window: each report's table and chart over the seeded database, following
the browse windows' views, its parameters, Cancel, and the CSV and PNG it saves — on both
engines."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QFileDialog
from pytestqt.qtbot import QtBot

from app.config import sqlite_url
from app.core.database import Database
from app.models import Order, OrderItem, User
from app.models.order import OrderStatus
from app.query import DeletedRows, Equals, QuerySpec
from app.workspace import Desk, Workspace
from tests.services.test_insights import seed
from tests.ui.answering import DialogWatch, choose_file, loop_errors_recorded
from tests.ui.conftest import drain, wait_for, wait_until
from tests.ui.conftest import seed as seed_demo
from tests.ui.test_bar_chart import bars_painted
from tests.ui.test_browse_window import open_window as open_browse_window
from tests.ui.test_browse_window import settled
from ui.browse_window import BrowseWindow
from ui.connection_look import ConnectionLook
from ui.export_settings import ExportSettings
from ui.insights_window import InsightsWindow, ReportPanel, follows_text
from ui.main_window import MainWindow
from ui.window_state import WindowState


@pytest.fixture
def seeded(qt_loop: asyncio.AbstractEventLoop, ui_database: Database) -> Database:
    qt_loop.run_until_complete(seed(ui_database))
    return ui_database


@pytest.fixture
def insights_windows(qt_loop: asyncio.AbstractEventLoop) -> Iterator[list[InsightsWindow]]:
    opened: list[InsightsWindow] = []
    yield opened
    for window in opened:
        window.close()
    drain(qt_loop)


def open_insights(
    database: Database,
    opened: list[InsightsWindow],
    qtbot: QtBot,
    views: dict[str, QuerySpec] | None = None,
) -> InsightsWindow:
    window = InsightsWindow(
        Desk.on(database),
        lambda: dict(views or {}),
        WindowState(),
        ConnectionLook.of(None, Workspace(database)),
    )
    qtbot.addWidget(window)
    opened.append(window)
    return window


def table_of(panel: ReportPanel) -> list[tuple[str, ...]]:
    model = panel.table.model()
    return [
        tuple(model.index(row, column).data() for column in range(model.columnCount()))
        for row in range(model.rowCount())
    ]


def panel_of(window: InsightsWindow, title: str) -> ReportPanel:
    (panel,) = [panel for panel in window.panels if panel.kind.title == title]
    return panel


async def shown(window: InsightsWindow, title: str) -> ReportPanel:
    """Switch to the report ``title`` and wait until it is calculated."""
    panel = panel_of(window, title)
    # Listening before the switch: the report is calculated in a task started by it.
    waiting = asyncio.ensure_future(wait_for(panel.calculated))
    window.tabs.setCurrentWidget(panel)
    await waiting
    return panel


async def opened(window: InsightsWindow) -> ReportPanel:
    """Show the window and wait until its first report is calculated."""
    panel = window.current
    waiting = asyncio.ensure_future(wait_for(panel.calculated))
    window.show()
    await waiting
    return panel


def test_every_report_shows_its_table_and_chart(
    qt_loop: asyncio.AbstractEventLoop,
    seeded: Database,
    insights_windows: list[InsightsWindow],
    qtbot: QtBot,
) -> None:
    async def scenario() -> None:
        window = open_insights(seeded, insights_windows, qtbot)
        first = await opened(window)
        assert table_of(first) == [
            ("delivered", "2", "10.30"),
            ("pending", "1", "5.05"),
            ("shipped", "1", "0.00"),
        ]
        assert first.follows_label.text() == "Over all live orders."
        assert first.chart.labels == ["delivered", "pending", "shipped"]
        assert first.chart.texts == ["2", "1", "1"]
        assert first.status_label.text() == "3 rows"

        users = await shown(window, "Active and inactive users")
        assert table_of(users) == [("Active", "2"), ("Inactive", "1")]

        months = await shown(window, "Orders per month")
        assert table_of(months) == [("2026-01", "2", "10.30"), ("2026-02", "2", "5.05")]
        assert months.chart.texts == ["10.30", "5.05"]

        balances = await shown(window, "Balance distribution")
        assert table_of(balances)[0] == ("0.00 to under 20.00", "3")
        assert table_of(balances)[1] == ("20.00 to under 40.00", "0")  # empty, still drawn
        assert table_of(balances)[-1] == ("140.00 to 160.00", "1")
        assert len(balances.chart.labels) == 8

    qt_loop.run_until_complete(scenario())


def test_the_threshold_and_the_date_are_the_analysts(
    qt_loop: asyncio.AbstractEventLoop,
    seeded: Database,
    insights_windows: list[InsightsWindow],
    qtbot: QtBot,
) -> None:
    async def scenario() -> None:
        window = open_insights(seeded, insights_windows, qtbot)
        window.show()
        await wait_for(window.current.calculated)

        authors = await shown(window, "Posts per author")
        assert authors.report is not None
        assert authors.report.title == "Authors with more than 1 post"
        assert authors.more_than_box.text() == "more than 1 post"
        assert table_of(authors) == [("Ada", "ada@example.org", "3")]
        for _ in range(5):  # 2, 3 … at once: one count, when it rests
            authors.more_than_box.stepUp()
        authors.more_than_box.setValue(0)
        await wait_for(authors.calculated)
        assert authors.more_than_box.value() == 0
        assert authors.more_than_box.text() == "more than 0 posts"
        assert authors.report is not None
        assert authors.report.title == "Authors with more than 0 posts"
        assert [line[0] for line in table_of(authors)] == ["Ada", "Bob", "Cy"]

        since = await shown(window, "Users who posted since")
        since.since_edit.setDate(since.since_edit.date().fromString("2026-01-02", "yyyy-MM-dd"))
        await wait_for(since.calculated)
        assert [line[:3] for line in table_of(since)] == [
            ("Ada", "ada@example.org", "2"),
            ("Bob", "bob@example.org", "1"),
        ]

    qt_loop.run_until_complete(scenario())


def test_orders_per_month_draws_every_month_at_the_default_size(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    insights_windows: list[InsightsWindow],
    qtbot: QtBot,
) -> None:
    """25 months, the newest the biggest: at the window's default size the chart drew 17
    and dropped the 8 newest without a word."""
    months = [datetime(2024 + month // 12, month % 12 + 1, 15, tzinfo=UTC) for month in range(25)]
    qt_loop.run_until_complete(seed_months(ui_database, months))

    async def scenario() -> None:
        window = open_insights(ui_database, insights_windows, qtbot)
        await opened(window)
        panel = await shown(window, "Orders per month")
        assert window.size() == QSize(960, 560)  # the default size
        # The layouts posted while the panel filled: the scroll area takes the chart's size.
        QApplication.sendPostedEvents()

        assert len(table_of(panel)) == 25
        assert panel.chart.labels == [f"{m.year}-{m.month:02}" for m in months]
        assert panel.chart.left_out == 0
        assert bars_painted(panel.chart) == 25
        newest = panel.chart.chart_layout(panel.chart.width()).bars[-1]
        assert (newest.label, newest.text) == ("2026-01", "25.00")
        area = panel.chart_area  # opened at the newest months: no scrolling to reach them
        top = area.verticalScrollBar().value()
        assert top > 0
        assert top <= newest.line.top()
        assert newest.line.bottom() <= top + area.viewport().height()

    qt_loop.run_until_complete(scenario())


async def seed_months(database: Database, months: list[datetime]) -> None:
    """One order a month, its value the month's place (1.00, 2.00 … the newest the most)."""
    async with database.get_session(write=True) as session:
        session.add(User(id=1, email="ada@example.org", name="Ada", hashed_password="x"))
        await session.flush()
        session.add_all(
            Order(id=place, user_id=1, status=OrderStatus.PENDING, created_at=month)
            for place, month in enumerate(months, 1)
        )
        await session.flush()
        session.add_all(
            OrderItem(order_id=place, product="Pen", quantity=place, unit_price=Decimal("1.00"))
            for place in range(1, len(months) + 1)
        )


def test_posts_per_author_shows_authors_on_demo_data_by_default(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    insights_windows: list[InsightsWindow],
    qtbot: QtBot,
) -> None:
    """Demo data gives each user 0 to 4 posts: the seed's "more than 5" showed nobody."""
    seed_demo(qt_loop, ui_database, 60, batch_users=60, deleted_fraction=0.0)

    async def scenario() -> None:
        window = open_insights(ui_database, insights_windows, qtbot)
        await opened(window)
        authors = await shown(window, "Posts per author")

        rows = table_of(authors)
        assert rows
        assert all(int(posts) > 1 for _name, _email, posts in rows)
        assert authors.report is not None
        assert authors.report.title == "Authors with more than 1 post"
        assert authors.chart.title.startswith("Authors with more than 1 post")
        assert bars_painted(authors.chart) == len(rows)

    qt_loop.run_until_complete(scenario())


def test_reports_follow_the_views_they_count(
    qt_loop: asyncio.AbstractEventLoop,
    seeded: Database,
    insights_windows: list[InsightsWindow],
    qtbot: QtBot,
) -> None:
    async def scenario() -> None:
        views = {"orders": QuerySpec(search="", deleted=DeletedRows.INCLUDE)}
        window = open_insights(seeded, insights_windows, qtbot, views)
        first = await opened(window)

        assert table_of(first)[0] == ("delivered", "3", "1010.29")  # C: no groups
        assert first.follows_label.text() == (
            "Over the view of your Orders window (deleted rows included)."
        )

    qt_loop.run_until_complete(scenario())


def test_the_table_exports_to_csv_and_the_chart_to_png(
    qt_loop: asyncio.AbstractEventLoop,
    seeded: Database,
    insights_windows: list[InsightsWindow],
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        window = open_insights(seeded, insights_windows, qtbot)
        panel = await opened(window)

        assert await panel.export_to(tmp_path / "status.csv")
        assert (tmp_path / "status.csv").read_bytes() == (
            b"Status,Orders,Value\r\ndelivered,2,10.30\r\npending,1,5.05\r\nshipped,1,0.00\r\n"
        )
        assert panel.status_label.text() == "Exported 3 rows to status.csv"

        chosen = tmp_path / "status-chart"
        asking = DialogWatch(QFileDialog)
        panel.save_chart_button.click()
        dialog = await asking.shown()
        assert dialog is panel.file_dialog
        assert dialog.windowTitle() == dialog.accessibleName() == "Save the chart"
        assert not panel.export_button.isEnabled()  # one file dialog at a time
        choose_file(dialog, chosen)
        await wait_for(panel.saved)
        assert panel.save_chart_button.isEnabled()
        picture = QImage(str(chosen.with_suffix(".png")))
        assert not picture.isNull()
        assert picture.width() >= panel.chart.minimumWidth()

        refused = tmp_path / "missing-folder" / "chart.png"
        assert not panel.save_chart_to(refused)
        assert "could not be saved" in panel.status_label.text()

    qt_loop.run_until_complete(scenario())


def test_other_windows_work_on_while_the_export_asks_for_a_file(
    qt_loop: asyncio.AbstractEventLoop,
    seeded: Database,
    insights_windows: list[InsightsWindow],
    windows: list[BrowseWindow],
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    """The file dialog of Export CSV… is opened inside a running task: a nested event loop
    there (QFileDialog.getSaveFileName) stalled every other window's work until the dialog
    closed, and lost it for good (issue 21)."""

    async def scenario() -> None:
        browse = open_browse_window(seeded, windows, qtbot, "users")
        await settled(browse)
        window = open_insights(seeded, insights_windows, qtbot)
        panel = await opened(window)
        asking = DialogWatch(QFileDialog)
        panel.export_button.click()
        panel.export_button.click()  # the second click of a double click: no second dialog
        dialog = await asking.shown()
        assert dialog.accessibleName() == "Export the table"

        browse.search_box.setText("ada")
        browse.search_box.returnPressed.emit()
        model = await settled(browse)
        assert model.rowCount() == 1
        assert model.index(0, model.column_index("name")).data() == "Ada"
        assert dialog.isVisible()

        choose_file(dialog, tmp_path / "by status")
        await wait_for(panel.saved)
        assert panel.status_label.text() == "Exported 3 rows to by status.csv"
        assert (tmp_path / "by status.csv").read_bytes().startswith(b"Status,Orders,Value\r\n")
        assert panel.file_dialog is None
        assert panel.export_button.isEnabled()

    with loop_errors_recorded(qt_loop) as errors:
        qt_loop.run_until_complete(scenario())
    assert errors == []


def test_a_cancelled_file_dialog_exports_nothing(
    qt_loop: asyncio.AbstractEventLoop,
    seeded: Database,
    insights_windows: list[InsightsWindow],
    qtbot: QtBot,
) -> None:
    async def scenario() -> None:
        window = open_insights(seeded, insights_windows, qtbot)
        panel = await opened(window)
        asking = DialogWatch(QFileDialog)
        panel.export_button.click()
        dialog = await asking.shown()
        dialog.reject()
        await wait_for(panel.saved)
        assert panel.status_label.text() == "3 rows"
        assert panel.export_button.isEnabled()

    qt_loop.run_until_complete(scenario())
    assert list(ExportSettings().folder().glob("*.csv")) == []


def test_cancel_stops_a_report(
    qt_loop: asyncio.AbstractEventLoop,
    seeded: Database,
    insights_windows: list[InsightsWindow],
    qtbot: QtBot,
) -> None:
    async def scenario() -> None:
        window = open_insights(seeded, insights_windows, qtbot)
        window.show()
        panel = window.current
        assert panel.cancel_button.isVisible()

        panel.cancel_button.click()

        assert panel.status_label.text() == "Cancelled; Refresh calculates again."
        assert panel.task is None
        panel.refresh_button.click()
        await wait_for(panel.calculated)
        assert panel.status_label.text() == "3 rows"

    qt_loop.run_until_complete(scenario())


def test_ctrl_i_opens_one_insights_window_that_follows_the_browse_windows(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        main = MainWindow("test database", Desk.on(seeded))
        qtbot.addWidget(main)
        main.show()
        orders = main.open_browser("orders")
        await settled(orders)
        assert main.insights_action in orders.view_menu.actions()

        insights = main.show_insights()
        assert main.show_insights() is insights
        panel = insights.current
        await wait_until(panel.calculated, lambda: panel.task is None)
        assert insights.windowTitle().startswith("Insights — ")
        assert len(table_of(panel)) == 3

        view = orders.view
        orders.set_view(type(view)(view.entity, QuerySpec(filters=(Equals("status", "pending"),))))
        await wait_until(panel.calculated, lambda: table_of(panel) == [("pending", "1", "5.05")])
        assert "1 filter" in panel.follows_label.text()

        orders.close()
        await wait_until(panel.calculated, lambda: len(table_of(panel)) == 3)
        assert panel.follows_label.text() == "Over all live orders."

        # A window opened after the report ran narrows it too.
        spec = QuerySpec(filters=(Equals("status", "shipped"),))
        later = main.open_browser("orders", spec)
        await wait_until(panel.calculated, lambda: table_of(panel) == [("shipped", "1", "0.00")])
        await settled(later)
        later.close()
        await wait_until(panel.calculated, lambda: len(table_of(panel)) == 3)
        main.close()
        assert main.insights_window is None

    qt_loop.run_until_complete(scenario())


def test_the_words_for_what_a_report_follows() -> None:
    views = {"posts": QuerySpec(search="pen", filters=(Equals("author_id", 1),))}
    assert follows_text(("posts", "users"), views) == (
        "Over the view of your Posts window (search “pen”, 1 filter) and all live users."
    )


def test_another_database_runs_the_report_again_there(
    qt_loop: asyncio.AbstractEventLoop,
    seeded: Database,
    insights_windows: list[InsightsWindow],
    qtbot: QtBot,
    tmp_path: Path,
    migrated_sqlite_template: Path,
) -> None:
    empty = tmp_path / "other.db"
    shutil.copyfile(migrated_sqlite_template, empty)
    other = Database(sqlite_url(empty))

    async def scenario() -> None:
        window = open_insights(seeded, insights_windows, qtbot)
        panel = await opened(window)
        assert len(table_of(panel)) == 3

        window.desk.replace(Workspace(other))
        window.show_connection(ConnectionLook.of(None, window.desk.workspace))

        await wait_for(panel.calculated)
        assert table_of(panel) == []
        assert "other.db" in window.windowTitle()
        later = panel_of(window, "Active and inactive users")
        assert later.stale  # runs when shown, on the new database

    try:
        qt_loop.run_until_complete(scenario())
    finally:
        qt_loop.run_until_complete(other.dispose())
