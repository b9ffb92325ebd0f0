"""The windows on another program's database: proj.db (a real one nobody here wrote) opens
read-only in the real session, lists its tables and views with a filter box, and a browse
window pages, searches and opens its rows — and not a byte of the file changes."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import URL

from app.config import Settings, SettingsSource
from app.connections import file_connection
from app.desktop import settings_for
from app.query import QuerySpec
from tests import foreign
from tests.ui.conftest import wait_for, wait_until
from tests.ui.sessions import in_session
from ui.browse_window import BrowseWindow
from ui.connection_look import FOREIGN_REASON
from ui.dialogs.record_detail import RecordDetailDialog
from ui.main_window import MainWindow
from ui.record_table_model import CountState


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def shown_tables(window: MainWindow) -> list[str]:
    table = window.entity_table
    names = []
    for row in range(table.rowCount()):
        item = table.item(row, 0)
        if item is not None and not table.isRowHidden(row):
            names.append(item.text())
    return names


async def rows_of(window: BrowseWindow) -> int:
    """The window's rows once counted exactly."""
    model = window.model
    assert model is not None
    if model.count_state is not CountState.EXACT:
        await wait_until(model.count_changed, lambda: model.count_state is CountState.EXACT)
    return model.rowCount()


def test_proj_db_opens_read_only_lists_its_tables_and_browses_them(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    path = foreign.proj_db(folder)
    before = digest(path)
    settings = settings_for(file_connection(path, name="proj"))
    seen: dict[str, object] = {}

    async def scenario(window: MainWindow) -> None:
        await wait_for(window.counts_loaded)
        seen["listed"] = len(window.entities)
        seen["views"] = sum(1 for name in shown_tables(window) if name.endswith(" (view)"))
        seen["banner"] = window.banner.label.text()
        seen["trash column"] = not window.entity_table.isColumnHidden(2)
        seen["insights"] = window.insights_action.isEnabled()
        seen["demo"] = window.load_demo_action.isEnabled()
        seen["crs count"] = window.count_text("geodetic_crs")

        QTest.keyClicks(window.filter_edit, "CRS")  # the filter ignores case
        seen["filtered"] = shown_tables(window)
        window.filter_edit.clear()

        browser = window.open_browser("geodetic_crs")
        await rows_of(browser)
        seen["read-only"] = browser.look.read_only_reason
        seen["title"] = browser.windowTitle()
        seen["edit"] = browser.editing.edit_action.isEnabled()
        seen["trash"] = browser.editing.trash_action.isVisible()
        QTest.keyClicks(browser.search_box, "WGS 84")
        browser.on_search_committed()
        model = browser.model
        assert model is not None
        await wait_until(model.count_changed, lambda: model.count_text() == "33")
        name = model.column_index("name")
        if model.row_values(1) is None:
            await wait_until(model.rows_loaded, lambda: model.row_values(1) is not None)
        seen["found"] = sorted((model.row_values(row) or ())[name] for row in range(2))

        # A row of a table keyed by two columns opens whole, read-only.
        browser.open_index(model.index(0, name))
        (detail,) = [w for w in QApplication.topLevelWidgets() if isinstance(w, RecordDetailDialog)]
        await asyncio.wait_for(detail.load_task, 10)
        seen["detail key"] = detail.record_id
        detail.close()

        # A table without a key pages by rowid, which stays out of its columns.
        aliases = window.open_browser("alias_name")
        seen["alias rows"] = await rows_of(aliases)
        seen["alias columns"] = aliases.view.columns
        # A view pages by OFFSET to its end.
        view = window.open_browser("crs_view")
        await rows_of(view)
        assert view.model is not None
        view.table.scrollToBottom()
        await wait_until(
            view.model.rows_loaded,
            lambda: (
                view.model is not None
                and view.model.row_values(view.model.rowCount() - 1) is not None
            ),
        )
        seen["view rows"] = view.model.rowCount()
        for opened in (browser, aliases, view):
            opened.close()

    code = qt_loop.run_until_complete(in_session(settings, scenario))

    assert code == 0
    assert seen["listed"] == foreign.PROJ_TABLES + foreign.PROJ_VIEWS
    assert seen["views"] == foreign.PROJ_VIEWS
    assert "another program's database" in str(seen["banner"])
    assert seen["trash column"] is False
    assert seen["insights"] is False
    assert seen["demo"] is False
    native = foreign.native_rows(path, "SELECT count(*) FROM geodetic_crs")[0][0]
    assert seen["crs count"] == QLocale().toString(int(str(native)))
    assert seen["filtered"] == [
        "compound_crs",
        "crs_view (view)",
        "geodetic_crs",
        "projected_crs",
        "vertical_crs",
    ]
    assert seen["read-only"] == FOREIGN_REASON
    assert "read-only" in str(seen["title"])
    assert seen["edit"] is False
    assert seen["trash"] is False
    assert seen["found"] == ["Unknown datum based upon the WGS 84 ellipsoid", "WGS 84"]
    assert seen["detail key"] == ("EPSG", 4030)
    assert seen["alias rows"] == foreign.native_rows(path, "SELECT count(*) FROM alias_name")[0][0]
    assert seen["alias columns"] == ("table_name", "auth_name", "code", "alt_name", "source")
    assert seen["view rows"] == foreign.native_rows(path, "SELECT count(*) FROM crs_view")[0][0]
    assert digest(path) == before
    assert sorted(entry.name for entry in folder.iterdir()) == ["proj.db"]  # no journal left


def test_a_thousand_tables_are_listed_and_filtered(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    path = foreign.many_tables(tmp_path / "many.db", 1000)
    settings = settings_for(file_connection(path, name="many"))
    seen: dict[str, object] = {}
    started = time.perf_counter()

    async def scenario(window: MainWindow) -> None:
        print(f"1,000 tables listed {time.perf_counter() - started:.3f} s after the start")
        seen["listed"] = window.entity_table.rowCount()
        window.filter_edit.setText("t099")
        seen["filtered"] = shown_tables(window)
        seen["current"] = window.entity_table.currentRow()
        window.on_open_action_triggered()
        (browser,) = window.browse_windows
        seen["opened"] = browser.entity.name
        await rows_of(browser)
        browser.close()
        count = await window.desk.records.count("t0999", QuerySpec())
        seen["count"] = count

    code = qt_loop.run_until_complete(in_session(settings, scenario))

    assert code == 0
    assert seen["listed"] == 1000
    assert seen["filtered"] == [f"t{number:04d}" for number in range(990, 1000)]
    assert seen["current"] == 990
    assert seen["opened"] == "t0990"
    assert seen["count"] == 0


def test_the_table_list_filter_is_reached_with_ctrl_f(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    path = foreign.many_tables(tmp_path / "few.db", 3)
    settings = settings_for(file_connection(path, name="few"))
    seen: list[bool] = []

    async def scenario(window: MainWindow) -> None:
        window.activateWindow()
        window.find_action.trigger()
        seen.append(window.filter_edit.hasFocus() or window.focusWidget() is window.filter_edit)
        seen.append(window.filter_edit.accessibleName() == "Filter tables")
        seen.append(window.find_action.shortcut().toString() == "Ctrl+F")
        QTest.keyClick(window.filter_edit, Qt.Key.Key_Escape)

    code = qt_loop.run_until_complete(in_session(settings, scenario))

    assert code == 0
    assert seen == [True, True, True]


@pytest.mark.postgresql
def test_a_postgresql_database_of_another_program_links_rows_by_text_keys(
    qt_loop: asyncio.AbstractEventLoop,
    qtbot: QtBot,
    new_postgres_database: Callable[[], URL],
) -> None:
    """Every type shows as what it is, a reference to a text key shows its row's title,
    and following it opens the row it names; Related goes back the other way."""
    url = asyncio.run(foreign.postgres_foreign(new_postgres_database()))
    settings = Settings(url, SettingsSource.COMMAND_LINE)
    seen: dict[str, object] = {}

    async def scenario(window: MainWindow) -> None:
        await wait_for(window.counts_loaded)
        seen["listed"] = [entity.name for entity in window.entities]
        tracks = window.open_browser("music.track")
        await rows_of(tracks)
        model = tracks.model
        assert model is not None
        if model.row_values(0) is None:
            await wait_until(model.rows_loaded, lambda: model.row_values(0) is not None)
        row = {
            name: model.index(0, model.column_index(name)) for name in tracks.entity.column_names
        }
        seen["cells"] = {name: str(index.data()) for name, index in row.items()}
        tracks.open_index(row["artist_id"])  # a reference: opens the row it names
        artist = tracks.model
        assert artist is not None
        await rows_of(tracks)
        seen["followed"] = (tracks.entity.name, artist.rowCount(), tracks.filter_labels())
        tracks.close()

    code = qt_loop.run_until_complete(in_session(settings, scenario))

    assert code == 0
    assert seen["listed"] == [
        "artist_names",
        "no_key",
        "odd",
        "odd_view",
        "pair",
        "music.artist",
        "music.track",
    ]
    cells = seen["cells"]
    assert isinstance(cells, dict)
    assert cells["artist_id"] == "A1 · Ábba"
    assert cells["price"] == "12345678901234567890.0123456789"
    assert cells["cover"] == "4 bytes · de ad be ef"
    assert cells["tags"] == "{a, b}"
    assert cells["meta"] == '{"k":[1,2]}'
    assert cells["released"] == "2020-01-01 10:00:00"  # no zone: as stored
    assert cells["length"] == "0:03:00"
    assert cells["live"] == "Yes"
    assert seen["followed"] == ("music.artist", 1, {("artist_id", "A1"): "A1"})


def test_a_composite_reference_is_followed_and_related_rows_listed(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    """proj.db names a CRS's datum by two columns (authority and code): a cell of either
    opens that datum, Back returns, and the datum's Related lists the CRSs using it."""
    path = foreign.proj_db(tmp_path)
    settings = settings_for(file_connection(path, name="proj"))
    seen: dict[str, object] = {}

    async def scenario(window: MainWindow) -> None:
        browser = window.open_browser("geodetic_crs")
        browser.search_box.setText("WGS 84")
        browser.on_search_committed()
        model = browser.model
        assert model is not None
        await wait_until(model.count_changed, lambda: model.count_text() == "33")
        if model.row_values(1) is None:
            await wait_until(model.rows_loaded, lambda: model.row_values(1) is not None)
        # Row 1 is EPSG 4326, "WGS 84", whose datum is EPSG 6326.
        browser.open_index(model.index(1, model.column_index("datum_code")))
        datum = browser.model
        assert datum is not None
        await rows_of(browser)
        seen["followed"] = (browser.entity.name, datum.rowCount(), datum.row_values(0))
        browser.table.selectRow(0)
        record = browser.current_record()
        assert record is not None
        relation = next(r for r in browser.entity.relations if r.entity == "geodetic_crs")
        browser.history.follow_relation(relation, record[0], record[1])
        crs = browser.model
        assert crs is not None
        await rows_of(browser)
        seen["related"] = (browser.entity.name, crs.rowCount())
        browser.history.go_back()
        browser.history.go_back()
        await rows_of(browser)
        seen["back"] = (browser.entity.name, browser.view.spec.search)
        browser.close()

    code = qt_loop.run_until_complete(in_session(settings, scenario))

    assert code == 0
    followed = seen["followed"]
    assert isinstance(followed, tuple)
    assert followed[:2] == ("geodetic_datum", 1)
    assert followed[2][:3] == ("EPSG", 6326, "World Geodetic System 1984 ensemble")
    native = (
        "SELECT count(*) FROM geodetic_crs WHERE datum_auth_name = 'EPSG' AND datum_code = 6326"
    )
    assert seen["related"] == ("geodetic_crs", foreign.native_rows(path, native)[0][0])
    assert seen["back"] == ("geodetic_crs", "WGS 84")
