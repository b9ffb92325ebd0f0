"""A server outage costs an error message, not the work: a server down at start opens the
app with a banner and the Connections dialog, one lost mid-session makes the running
operation fail in words while every window stays usable, and the next action after the
server is back reconnects (an open record form then saves what was typed all along).

Each test runs a PostgreSQL server of its own that it stops and starts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import URL

from app.config import load_settings, settings_for
from app.connections import (
    ConnectionKind,
    PasswordStorage,
    SavedConnection,
    SavedConnections,
    save_connections,
)
from app.core.database import Database
from app.services import migrations
from app.services.records import RecordService
from app.workspace import Desk
from tests import postgres
from tests.ui.conftest import wait_for, wait_until
from tests.ui.forms import saved_or_refused, type_into
from tests.ui.helpers import settled
from tests.ui.sessions import in_session
from ui.dialogs.record_form import RecordFormDialog
from ui.main_window import MainWindow

pytestmark = pytest.mark.postgresql


@dataclass
class Outage:
    server: postgres.PrivateServer
    url: URL
    connection: SavedConnection

    @property
    def where(self) -> str:
        return f"PostgreSQL postgres@127.0.0.1:{self.server.port}/shop"


@pytest.fixture
def outage(postgres_available: None) -> Iterator[Outage]:
    """A private server with a migrated database "shop", saved as the current connection."""
    problem = postgres.private_server_problem()
    if problem is not None:
        if postgres.postgres_required():
            pytest.fail(f"{postgres.REQUIRE_ENV}=1 but {problem}")
        pytest.skip(problem)
    server = postgres.PrivateServer()
    try:
        server.start()
        url = server.create_database("shop")
        asyncio.run(_migrate(url))
        connection = SavedConnection(
            id="shop",
            name="Shop server",
            kind=ConnectionKind.SERVER,
            host="127.0.0.1",
            port=server.port,
            database="shop",
            user="postgres",
            password_storage=PasswordStorage.NONE,
            connect_timeout_s=3,
        )
        save_connections(SavedConnections().chosen(connection))
        yield Outage(server, url, connection)
    finally:
        server.remove()


async def _migrate(url: URL) -> None:
    database = Database(url)
    try:
        await migrations.upgrade(database)
        await RecordService(database).create(
            "users", {"email": "ada@example.org", "name": "Ada"}, password="correct horse"
        )
    finally:
        await database.dispose()


def test_a_server_down_at_start_opens_the_app_and_connects_once_it_is_back(
    outage: Outage, qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    outage.server.stop()
    seen: dict[str, object] = {}

    async def scenario(window: MainWindow) -> None:
        seen["connected"] = window.connected
        seen["banner"] = window.banner.label.text()
        dialog = window.connections_dialog
        assert dialog is not None
        seen["dialog"] = dialog.isVisible()
        seen["dialog shows"] = dialog.current_id
        dialog.reject()
        await asyncio.to_thread(outage.server.start)
        window.retry_button.click()
        await wait_for(window.switched)
        await wait_until(window.counts_loaded, lambda: window.count_text("users") == "1")
        seen["after"] = (window.connected, window.banner.isVisible(), window.windowTitle())

    code = qt_loop.run_until_complete(in_session(load_settings(), scenario))

    assert code == 0
    assert seen == {
        "connected": False,
        "banner": f"Cannot reach {outage.where}: the server refused the connection. Is it running?",
        "dialog": True,
        "dialog shows": "shop",
        "after": (True, False, "Records Desk — Shop server"),
    }


def test_a_server_lost_mid_session_costs_a_message_and_the_form_saves_once_it_is_back(
    outage: Outage, qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        settings = settings_for(outage.connection)
        database = Database(settings.database_url, connect_timeout_s=3)
        main = MainWindow(settings.display_name, Desk.on(database), settings=settings)
        qtbot.addWidget(main)
        main.show()
        await wait_for(main.counts_loaded)
        browse = main.open_browser("users")
        model = await settled(browse)
        assert model.rowCount() == 1
        form = browse.editing.open_form(model.record_id(0))
        assert isinstance(form, RecordFormDialog)
        await wait_for(form.loaded)
        type_into(form, "name", "Ada Byron")

        await asyncio.to_thread(outage.server.stop)

        kind, text = await saved_or_refused(form)
        assert kind == "refused"
        assert outage.where in text
        assert "Traceback" not in text
        assert form.isVisible()
        assert form.editors["name"].value() == "Ada Byron"  # nothing typed is lost
        main.refresh_counts()
        await wait_for(main.counts_failed)
        assert main.count_text("users") == "?"
        assert main.statusBar().currentMessage().endswith("Use Refresh counts to try again.")
        browse.on_refresh_action_triggered()
        await wait_until(model.load_failed, lambda: model.error is not None)
        assert outage.where in browse.status_label.text()
        assert browse.retry_button.isVisible()

        await asyncio.to_thread(outage.server.start)

        kind, record = await saved_or_refused(form)
        assert kind == "saved"
        assert record["name"] == "Ada Byron"
        browse.retry_button.click()
        model = await settled(browse)
        assert model.error is None
        assert model.row_values(0) is not None
        main.close()
        await wait_for(main.closed)

    qt_loop.run_until_complete(scenario())
