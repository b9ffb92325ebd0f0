"""Render the README screenshots from the real widgets, offscreen, on demo data.

uv run python -m tests.ui.make_screenshots
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dataclasses import replace

import qasync
from PySide6.QtWidgets import QApplication

from app.config import sqlite_url
from app.connections import ConnectionKind, SavedConnection, SavedConnections, SslMode
from app.core.credentials import Credentials, use_credentials
from app.core.database import Database
from app.query import OneOf, QuerySpec, SortKey
from app.services import migrations
from app.services.export import proposed_file_name
from app.services.records import RecordService
from app.services.seeding import SeedOptions, seed_demo_data
from app.workspace import Desk
from tests.keyrings import MemoryKeyring
from tests.ui.conftest import wait_for, wait_until
from ui.browse_window import BrowseWindow
from ui.dialogs.connections_dialog import ConnectionsDialog
from ui.dialogs.export_dialog import ExportDialog
from ui.dialogs.record_form import RecordFormDialog
from ui.export_settings import ExportSettings
from ui.main_window import MainWindow
from ui.record_table_model import CountState
from ui.selection import select_rows
from ui.widgets.field_editors import LineEditor
from ui.window_state import WindowState

SCREENSHOTS = Path(__file__).resolve().parents[2] / "resources" / "screenshots"


async def render(folder: Path) -> None:
    database = Database(sqlite_url(folder / "records.db"))
    await migrations.upgrade(database)
    await render_first_run(RecordService(database))
    database = Database(sqlite_url(folder / "records.db"))
    await seed_demo_data(database, SeedOptions(users=5_000, random_seed=7))
    records = RecordService(database)
    state = WindowState()
    main = MainWindow(
        "SQLite file ~/.local/share/records-desk/records.db", Desk.on(database), state
    )
    main.resize(460, 330)
    main.show()
    await wait_until(main.count_loaded, lambda: main.count_text("transfers")[-1].isdigit())
    main.grab().save(str(SCREENSHOTS / "main-window.png"))

    spec = QuerySpec(
        filters=(OneOf("status", ("shipped", "delivered")),),
        sort=(SortKey("total", descending=True),),
    )
    window = main.open_browser("orders", spec)
    window.resize(980, 520)
    model = window.model
    assert model is not None
    await wait_until(model.count_changed, lambda: model.count_state is CountState.EXACT)
    await wait_until(model.rows_loaded, lambda: model.is_loaded(0))
    window.table.selectRow(2)
    window.update_status()
    footer = window.totals_bar
    await wait_until(footer.calculated, lambda: footer.view_label.text()[:1].isdigit())
    await wait_until(footer.calculated, lambda: footer.selection_label.text()[-1:].isdigit())
    window.grab().save(str(SCREENSHOTS / "browse-window.png"))
    await render_insights(main, window)

    select_rows(window.table, 2, 41)
    dialog = ExportDialog(
        window.view, model.count_text(), 40, ExportSettings(), window, prefer_selected=True
    )
    # A folder that reads the same on every machine, not this one's home.
    name = proposed_file_name(window.view, date(2026, 12, 2))
    dialog.file_edit.setText(str(Path("~/Documents") / name))
    dialog.show()
    dialog.adjustSize()
    dialog.grab().save(str(SCREENSHOTS / "export-dialog.png"))
    dialog.reject()
    await render_editing(main, records)
    main.close()  # disposes the engine once its work has ended
    await wait_for(main.closed)
    await render_connections()
    await render_another_database(folder)


async def render_another_database(folder: Path) -> None:
    """proj.db (from the pyproj wheel: a real database nobody here wrote), read-only: its
    tables and views narrowed by the filter box, and one of them searched."""
    from tests import foreign

    database = Database(sqlite_url(foreign.proj_db(folder)), read_only=True)
    await migrations.prepare_for_use(database)
    shown = "SQLite file ~/Downloads/proj.db"
    # Where it would be on a user's machine, not in this run's temporary folder.
    database.notices = tuple(
        notice.replace(database.display_name, shown) for notice in database.notices
    )
    main = MainWindow(shown, Desk.on(database), WindowState())
    main.resize(560, 420)
    main.show()
    await wait_for(main.counts_loaded)
    main.filter_edit.setText("crs")
    main.grab().save(str(SCREENSHOTS / "another-database.png"))
    window = main.open_browser("geodetic_crs")
    window.resize(1000, 430)
    window.search_box.setText("WGS 84")
    window.on_search_committed()
    model = window.model
    assert model is not None
    await wait_until(model.count_changed, lambda: model.count_text() == "33")
    await wait_until(model.rows_loaded, lambda: model.is_loaded(0))
    footer = window.totals_bar
    await wait_until(footer.calculated, lambda: footer.view_label.text()[:1].isdigit())
    window.grab().save(str(SCREENSHOTS / "another-database-browse.png"))
    window.close()
    main.close()
    await wait_for(main.closed)
    await render_another_database_edited(folder)


async def render_another_database_edited(folder: Path) -> None:
    """Another program's shop database with editing allowed: a row's form saying how a
    save is checked, and a delete's question naming what the foreign keys take with it."""
    from tests import foreign

    path = foreign.sqlite_editable(folder)
    database = Database(sqlite_url(path), edits_foreign=True)
    await migrations.prepare_for_use(database)
    shown = "SQLite file ~/Documents/shops.db"
    database.notices = tuple(
        notice.replace(database.display_name, shown) for notice in database.notices
    )
    main = MainWindow(shown, Desk.on(database), WindowState())
    main.show()
    await wait_for(main.counts_loaded)
    window = main.open_browser("shop")
    window.resize(900, 360)
    model = window.model
    assert model is not None
    await wait_until(model.rows_loaded, lambda: model.is_loaded(0))
    form = window.editing.open_form("S1")
    assert isinstance(form, RecordFormDialog)
    await wait_for(form.loaded)
    form.resize(560, 360)
    form.grab().save(str(SCREENSHOTS / "another-database-edit.png"))
    form._closing = True
    form.close()
    select_rows(window.table, 0, 0)
    asked = asyncio.ensure_future(wait_for(window.editing.confirmation_shown))
    deleting = asyncio.ensure_future(window.editing.delete_selected())
    (box,) = await asked
    box.grab().save(str(SCREENSHOTS / "another-database-delete.png"))
    box.reject()
    await deleting
    window.close()
    main.close()
    await wait_for(main.closed)


async def render_insights(main: MainWindow, orders: BrowseWindow) -> None:
    """A frequency table with its description, and the Insights window's orders per month."""
    frequency = orders.open_frequency("total")
    await wait_until(frequency.calculated, lambda: frequency.status_label.text()[:1].isdigit())
    frequency.resize(760, 440)
    frequency.grab().save(str(SCREENSHOTS / "frequency.png"))
    frequency.reject()
    insights = main.show_insights()
    insights.resize(980, 520)
    panel = next(panel for panel in insights.panels if panel.kind.title == "Orders per month")
    insights.tabs.setCurrentWidget(panel)
    await wait_until(panel.calculated, lambda: panel.report is not None and panel.task is None)
    insights.grab().save(str(SCREENSHOTS / "insights.png"))
    insights.close()


async def render_editing(main: MainWindow, records: RecordService) -> None:
    """A record form refusing two fields, an edit conflict, and the trash confirmation."""
    users = main.open_browser("users")
    users.resize(980, 420)
    model = users.model
    assert model is not None
    await wait_until(model.rows_loaded, lambda: model.is_loaded(0))
    form = users.editing.open_form(None)
    assert isinstance(form, RecordFormDialog)
    for name, text in (("email", "ada at example.org"), ("name", "Ada Lovelace")):
        editor = form.editors[name]
        assert isinstance(editor, LineEditor)
        editor.line.setText(text)
    refused = asyncio.ensure_future(wait_for(form.refused))
    form.save()
    await refused
    form.resize(560, 300)
    form.grab().save(str(SCREENSHOTS / "record-form.png"))
    form._closing = True
    form.close()

    user_id = model.record_id(0)
    assert user_id is not None
    edit = users.editing.open_form(user_id)
    assert isinstance(edit, RecordFormDialog)
    await wait_for(edit.loaded)
    name_editor = edit.editors["name"]
    assert isinstance(name_editor, LineEditor)
    name_editor.line.setText("Ada Lovelace")
    name_editor.line.textEdited.emit("Ada Lovelace")
    await records.update("users", user_id, {"name": "Ada King", "is_active": False})
    refused = asyncio.ensure_future(wait_for(edit.refused))
    edit.save()
    await refused
    edit.resize(620, 420)
    edit.grab().save(str(SCREENSHOTS / "edit-conflict.png"))
    edit._closing = True
    edit.close()

    select_rows(users.table, 1, 3)
    shown = asyncio.ensure_future(wait_for(users.editing.confirmation_shown))
    trashing = asyncio.ensure_future(users.editing.trash_selected())
    (box,) = await shown
    box.grab().save(str(SCREENSHOTS / "trash-confirmation.png"))
    box.reject()
    await trashing
    users.close()


async def render_first_run(records: RecordService) -> None:
    """The main window on a database with no records: what a first start shows."""
    main = MainWindow(
        "SQLite file ~/.local/share/records-desk/records.db", Desk.on(records.database)
    )
    main.resize(520, 420)
    main.show()
    await wait_for(main.counts_loaded)
    main.grab().save(str(SCREENSHOTS / "first-run.png"))
    main.close()
    await wait_for(main.closed)


async def render_connections() -> None:
    """The Connections dialog with a read-only production server and a replica."""
    use_credentials(Credentials(MemoryKeyring()))  # as on a desktop with a keyring
    production = SavedConnection(
        id="production",
        name="Shop (production)",
        kind=ConnectionKind.SERVER,
        host="db.example.org",
        database="shop",
        user="analyst",
        ssl_mode=SslMode.REQUIRE,
        colour="#c62828",
        read_only=True,
    )
    replica = replace(
        production,
        id="replica",
        name="Analytics replica",
        host="replica.example.org",
        colour="#1565c0",
        read_only=False,
    )
    saved = SavedConnections().chosen(replica).chosen(production)

    async def connect(_settings: object) -> None:
        return None

    dialog = ConnectionsDialog(saved, connect, current_id="production")
    dialog.show()
    dialog.grab().save(str(SCREENSHOTS / "connections.png"))
    dialog.done(0)


def main() -> int:
    """Every screenshot; with ``another-database``, only that one's."""
    only = sys.argv[1:]
    app = QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["XDG_CONFIG_HOME"] = folder  # a fresh window state, not the user's
        if only == ["another-database"]:
            loop.run_until_complete(render_another_database(Path(folder)))
        else:
            loop.run_until_complete(render(Path(folder)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
