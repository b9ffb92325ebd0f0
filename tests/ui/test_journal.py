"""No work lost (issue 26): the session journal brings back the browse windows and the
unsaved record forms after a crash (asked first), reopens the windows after a clean quit
(without asking), sets aside a journal it cannot read, and a restored form saves against
the stale-edit check."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox
from pytestqt.qtbot import QtBot

from app.core.database import Database
from app.query import QuerySpec, ViewState
from app.services.records import RecordService
from app.workspace import Desk
from tests.ui.answering import answer_dialogs
from tests.ui.conftest import seed, wait_for
from tests.ui.forms import saved_or_refused, type_into
from tests.ui.helpers import settled
from ui import journal as journal_module
from ui.dialogs.record_form import RecordFormDialog
from ui.journal import journal_path
from ui.main_window import MainWindow
from ui.preferences import set_reopen_windows
from ui.selection import cell_blocks, row_ranges, select_rows

pytestmark = pytest.mark.parametrize("engine_name", ["sqlite"])


def click(text: str) -> Callable[[QDialog], None]:
    def answer(dialog: QDialog) -> None:
        assert isinstance(dialog, QMessageBox)
        (button,) = [b for b in dialog.buttons() if b.text().replace("&", "") == text]
        button.click()

    return answer


def forms_open() -> list[RecordFormDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, RecordFormDialog)]


async def closed(main: MainWindow) -> None:
    main.close()
    await wait_for(main.closed)


def test_a_crash_loses_no_window_and_no_unsaved_form(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    seed(qt_loop, ui_database, 5)
    records = RecordService(ui_database)
    seen: dict[str, object] = {}

    async def scenario() -> None:
        first = MainWindow("SQLite file /data/shop.db", Desk.on(ui_database))
        qtbot.addWidget(first)
        users = first.open_browser("users")
        await settled(users)
        users.set_view(ViewState("users", QuerySpec(search="a"), users.view.columns))
        await settled(users)
        select_rows(users.table, 1, 2)
        form = users.editing.open_form(1)
        assert isinstance(form, RecordFormDialog)
        await wait_for(form.loaded)
        started_at = form.version
        type_into(form, "name", "Typed, not saved")
        first.journal.flush()  # what the timer does a moment after each change
        text = journal_path(ui_database.display_name).read_text(encoding="utf-8")
        seen["journal"] = json.loads(text)
        seen["private"] = journal_path(ui_database.display_name).stat().st_mode & 0o777
        seen["secret"] = "hashed_password" in text
        # The process dies here: the journal as it was is all the next start has.
        crashed = tmp_path / "crashed.json"
        shutil.copyfile(journal_path(ui_database.display_name), crashed)
        form.discard()
        await closed(first)
        shutil.copyfile(crashed, journal_path(ui_database.display_name))
        # Meanwhile someone else changes the record.
        stored = await records.get("users", 1)
        await records.update(
            "users", 1, {"email": "elsewhere@example.org"}, expected_version=stored["version"]
        )

        second = MainWindow("SQLite file /data/shop.db", Desk.on(ui_database))
        qtbot.addWidget(second)
        asked = answer_dialogs(monkeypatch, journal_module, click("Restore"))
        seen["told"] = await second.restore_session()
        question = asked[0] if asked else None
        seen["asked"] = question.informativeText() if isinstance(question, QMessageBox) else ""
        (window,) = second.browse_windows
        seen["search"] = window.view.spec.search
        await settled(window)
        seen["selected"] = row_ranges(cell_blocks(window.table))
        (restored,) = forms_open()
        seen["typed"] = restored.editors["name"].value()
        seen["version"] = (restored.version, started_at)
        seen["stale"] = await saved_or_refused(restored)
        seen["merged"] = (restored.values()["name"], restored.values()["email"])
        seen["saved"] = (await saved_or_refused(restored))[0]
        await closed(second)

    qt_loop.run_until_complete(scenario())

    journal = seen["journal"]
    assert isinstance(journal, dict)
    assert journal["clean"] is False
    assert journal["windows"][0]["view"]["search"] == "a"
    (form_entry,) = journal["forms"]
    assert form_entry["table"] == "users"
    assert form_entry["key"] == 1
    assert form_entry["values"] == {"name": "Typed, not saved"}
    assert seen["private"] == 0o600
    assert seen["secret"] is False
    assert "• users (search 'a')" in str(seen["asked"])
    assert "• users #1, not saved" in str(seen["asked"])
    assert seen["told"] == "Restored the last session."
    assert seen["search"] == "a"
    assert seen["selected"] == [(1, 2)]
    assert seen["typed"] == "Typed, not saved"
    versions = seen["version"]
    assert isinstance(versions, tuple)
    assert versions[0] == versions[1]  # the form saves against the version it started at
    stale = seen["stale"]
    assert isinstance(stale, tuple)
    assert stale[0] == "refused"
    assert "saved by someone else meanwhile" in stale[1]
    assert seen["merged"] == ("Typed, not saved", "elsewhere@example.org")
    assert seen["saved"] == "saved"


def test_a_clean_quit_reopens_the_windows_without_asking(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(qt_loop, ui_database, 3)
    seen: dict[str, object] = {}

    async def scenario() -> None:
        first = MainWindow("SQLite file /data/shop.db", Desk.on(ui_database))
        qtbot.addWidget(first)
        orders = first.open_browser("orders")
        await settled(orders)
        await closed(first)
        seen["clean"] = json.loads(
            journal_path(ui_database.display_name).read_text(encoding="utf-8")
        )["clean"]

        second = MainWindow("SQLite file /data/shop.db", Desk.on(ui_database))
        qtbot.addWidget(second)
        asked = answer_dialogs(monkeypatch, journal_module)
        seen["told"] = await second.restore_session()
        seen["asked"] = len(asked)
        seen["windows"] = [w.entity.name for w in second.browse_windows]
        # Turned off, a clean quit's windows stay closed.
        set_reopen_windows(False)
        await closed(second)
        third = MainWindow("SQLite file /data/shop.db", Desk.on(ui_database))
        qtbot.addWidget(third)
        seen["told after"] = await third.restore_session()
        seen["windows after"] = len(third.browse_windows)
        await closed(third)

    qt_loop.run_until_complete(scenario())

    assert seen["clean"] is True
    assert seen["told"] == "Reopened 1 window."
    assert seen["asked"] == 0
    assert seen["windows"] == ["orders"]
    assert seen["told after"] == ""
    assert seen["windows after"] == 0


def test_a_journal_that_cannot_be_read_is_set_aside_and_said(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    path = journal_path(ui_database.display_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00 not a journal")
    seen: dict[str, object] = {}

    async def scenario() -> None:
        main = MainWindow("SQLite file /data/shop.db", Desk.on(ui_database))
        qtbot.addWidget(main)
        seen["told"] = await main.restore_session()
        seen["banner"] = main.banner.label.text()
        await closed(main)

    qt_loop.run_until_complete(scenario())

    assert seen["told"] == ""
    assert "The last session's journal could not be read" in str(seen["banner"])
    kept = [p.name for p in path.parent.iterdir() if "unreadable" in p.name]
    assert len(kept) == 1


def test_discarding_forgets_the_last_session(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = journal_path(ui_database.display_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    view = {"table": "users", "format": 1}
    document = {
        "format": 1,
        "clean": False,
        "database": "SQLite file " + str(ui_database.url.database),
        "windows": [{"view": view, "top": 0, "current": None}],
        "forms": [],
    }
    seen: dict[str, object] = {}

    async def scenario() -> None:
        main = MainWindow("SQLite file /data/shop.db", Desk.on(ui_database))
        qtbot.addWidget(main)
        document["database"] = main.desk.workspace.database.display_name
        path.write_text(json.dumps(document), encoding="utf-8")
        answer_dialogs(monkeypatch, journal_module, click("Discard"))
        seen["told"] = await main.restore_session()
        seen["windows"] = len(main.browse_windows)
        await closed(main)

    qt_loop.run_until_complete(scenario())

    assert seen["told"] == "Discarded the last session's windows and forms."
    assert seen["windows"] == 0


def test_a_quit_with_an_unsaved_form_offers_it_at_the_next_start(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(qt_loop, ui_database, 2)
    seen: dict[str, object] = {}

    async def scenario() -> None:
        first = MainWindow("SQLite file /data/shop.db", Desk.on(ui_database))
        qtbot.addWidget(first)
        users = first.open_browser("users")
        await settled(users)
        form = users.editing.open_form(None)
        assert isinstance(form, RecordFormDialog)
        type_into(form, "name", "Half a new user")
        await closed(first)  # the form goes with its window, unsaved
        second = MainWindow("SQLite file /data/shop.db", Desk.on(ui_database))
        qtbot.addWidget(second)
        asked = answer_dialogs(monkeypatch, journal_module, click("Restore"))
        seen["told"] = await second.restore_session()
        seen["asked"] = len(asked)
        (restored,) = forms_open()
        seen["typed"] = restored.editors["name"].value()
        restored.discard()
        await closed(second)

    qt_loop.run_until_complete(scenario())

    assert seen["asked"] == 1
    assert seen["told"] == "Restored the last session."
    assert seen["typed"] == "Half a new user"
