"""Save view… in a browse window and opening it again from the main window (issue 26):
the same filters, sort, columns and widths; a period kept by its name; what no longer
applies said in the window; the views folder listed; a file dropped on the main window
opened."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from pytestqt.qtbot import QtBot

from app.core.database import Database
from app.periods import period_named
from app.query import Equals, QuerySpec, SortKey, ViewState
from app.saved_views import OpenedView
from app.workspace import Desk
from tests.ui.conftest import seed, wait_for
from tests.ui.helpers import settled
from ui import view_files
from ui.browse_window import BrowseWindow
from ui.main_window import MainWindow
from ui.widgets import filter_values


@pytest.mark.parametrize(
    "engine_name", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def test_a_view_saved_in_a_window_opens_again_as_it_was(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    seed(qt_loop, ui_database, 30)
    folder = tmp_path / "Views"
    monkeypatch.setattr("app.saved_views.views_folder", lambda: folder)
    monkeypatch.setattr(view_files, "views_folder", lambda: folder)
    today = filter_values.today()
    week = period_named("Last 30 days")
    assert week is not None
    path = folder / "active users.view.json"

    async def chosen(_dialog: object) -> Path:
        return path

    monkeypatch.setattr(view_files, "chosen_file", chosen)
    seen: dict[str, object] = {}

    async def scenario() -> None:
        main = MainWindow("SQLite file /data/shop.db", Desk.on(ui_database))
        qtbot.addWidget(main)
        main.show()
        users = main.open_browser("users")
        await settled(users)
        view = ViewState(
            "users",
            QuerySpec(
                filters=(Equals("is_active", True), week.range_for("created_at", today)),
                sort=(SortKey("name", descending=True),),
            ),
            ("id", "name", "email", "created_at"),
        )
        users.set_view(view)
        users.table.horizontalHeader().resizeSection(users.entity.column_names.index("name"), 211)
        saved = await view_files.save_view(users, "Shop")
        seen["saved"] = saved
        seen["document"] = json.loads(path.read_text(encoding="utf-8"))
        users.close()

        main.fill_views_menu()
        seen["menu"] = [action.text() for action in main.views_menu.actions()]

        opened = main.open_view(path)
        assert isinstance(opened, BrowseWindow)
        await settled(opened)
        seen["view"] = opened.view
        seen["width"] = opened.table.horizontalHeader().sectionSize(
            opened.entity.column_names.index("name")
        )
        seen["told"] = opened.statusBar().currentMessage()
        opened.close()

        # A column gone since: opened with the rest, and said.
        changed = json.loads(path.read_text(encoding="utf-8"))
        changed["columns"].append("nickname")
        other = folder / "changed.view.json"
        other.write_text(json.dumps(changed), encoding="utf-8")
        # Dropped on the main window.
        data = QMimeData()
        data.setUrls([QUrl.fromLocalFile(str(other))])
        drop = QDropEvent(
            QPoint(5, 5),
            Qt.DropAction.CopyAction,
            data,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        arrived: list[tuple[BrowseWindow, OpenedView]] = []
        main.view_opened.connect(lambda window, opened: arrived.append((window, opened)))
        main.dropEvent(drop)
        ((dropped_window, dropped),) = arrived
        await settled(dropped_window)
        seen["dropped"] = dropped.dropped
        seen["dropped told"] = dropped_window.statusBar().currentMessage()
        dropped_window.close()
        main.close()
        await wait_for(main.closed)

    qt_loop.run_until_complete(scenario())

    assert seen["saved"] == path
    document = seen["document"]
    assert isinstance(document, dict)
    assert document["connection"] == "Shop"
    assert document["filters"] == [
        {"column": "is_active", "equals": True},
        {"column": "created_at", "period": "Last 30 days"},
    ]
    assert document["widths"]["name"] == 211
    assert seen["menu"] == ["active users"]
    view = seen["view"]
    assert isinstance(view, ViewState)
    assert view.columns == ("id", "name", "email", "created_at")
    assert view.spec.filters == (Equals("is_active", True), week.range_for("created_at", today))
    assert view.spec.sort == (SortKey("name", descending=True),)
    assert seen["width"] == 211
    assert seen["told"] == "Opened the view active users.view.json."
    assert seen["dropped"] == ("the column of 'nickname', which users no longer has",)
    assert "Left out: the column of 'nickname'" in str(seen["dropped told"])
    assert date.today() == today  # the period was today's throughout
