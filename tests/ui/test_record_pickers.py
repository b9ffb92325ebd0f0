"""Record pickers in forms and dialogs: a form closing (after a save, or cancelled while a
lookup runs) stops its pickers' work, and nothing of it reaches the error report; an id
beyond what the column holds is refused at the field in words, on both engines."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QLocale
from PySide6.QtWidgets import QApplication, QDialog

from app.core.database import Database
from app.services import catalog
from app.services.records import RecordService
from app.workspace import Workspace
from tests.ui.conftest import settle, wait_for
from tests.ui.dialogs import dialogs_fixture  # noqa: F401 (the dialogs fixture)
from tests.ui.forms import saved_or_refused, type_into
from ui.dialogs.record_form import RecordFormDialog
from ui.dialogs.transactions import OrderDialog, TransferDialog
from ui.widgets.field_editors import RecordPicker

PASSWORD = "correct horse"


@pytest.fixture
def reported(qt_loop: asyncio.AbstractEventLoop) -> Iterator[list[dict[str, Any]]]:
    """What reached the loop's exception handler: the app's error report listens there."""
    caught: list[dict[str, Any]] = []
    qt_loop.set_exception_handler(lambda _loop, context: caught.append(context))
    yield caught
    qt_loop.set_exception_handler(None)


@pytest.fixture
def english(qapp: QApplication) -> Iterator[None]:
    """Numbers grouped as "99,999,999,999" whatever the machine's locale."""
    previous = QLocale()
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
    yield
    QLocale.setDefault(previous)


class HeldLookups(RecordService):
    """The real service, whose picker lookups wait until the test lets them go on."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def lookup(self, entity: str, text: str, limit: int = 20) -> list[tuple[int, str]]:
        self.started.set()
        await self.release.wait()
        return await super().lookup(entity, text, limit)

    async def lookup_ids(self, entity: str, ids: Any) -> dict[int, str]:
        self.started.set()
        await self.release.wait()
        return await super().lookup_ids(entity, ids)


def picker(form: Any, name: str) -> RecordPicker:
    editor = form.editors[name]
    assert isinstance(editor, RecordPicker)
    return editor


def type_into_picker(form: Any, name: str, text: str) -> RecordPicker:
    chosen = picker(form, name)
    line = chosen.combo.lineEdit()
    assert line is not None
    line.setText(text)
    line.textEdited.emit(text)
    return chosen


async def make_user(records: RecordService, email: str = "ada@example.org") -> dict[str, Any]:
    return await records.create("users", {"email": email, "name": "Ada"}, password=PASSWORD)


async def gone(form: RecordFormDialog) -> None:
    """Wait until the closed form (deleted on close) is deleted."""
    if shiboken6.isValid(form):
        await wait_for(form.destroyed)


def test_saving_a_record_with_a_reference_reports_nothing(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    dialogs: list[QDialog],
    reported: list[dict[str, Any]],
) -> None:
    async def scenario() -> None:
        records = RecordService(ui_database)
        user = await make_user(records)
        form = RecordFormDialog(catalog.entity("posts"), records)
        form.show()
        type_into(form, "title", "Hello")
        type_into_picker(form, "author_id", f"#{user['id']}")
        outcome, record = await saved_or_refused(form)
        assert outcome == "saved"
        assert record["author_id"] == user["id"]
        await gone(form)
        await settle()

    qt_loop.run_until_complete(scenario())
    assert reported == []


def test_cancelling_a_form_while_its_picker_looks_up_stops_the_lookup_quietly(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    dialogs: list[QDialog],
    reported: list[dict[str, Any]],
) -> None:
    async def scenario() -> None:
        await make_user(RecordService(ui_database))
        records = HeldLookups(ui_database)
        form = RecordFormDialog(catalog.entity("posts"), records)
        form.show()
        chosen = type_into_picker(form, "author_id", "Ad")
        chosen.look_up()
        lookup = chosen._task
        await records.started.wait()
        form.discard()
        await gone(form)
        records.release.set()
        await settle()
        assert lookup is not None
        assert lookup.cancelled()

    qt_loop.run_until_complete(scenario())
    assert reported == []


def test_closing_a_dialog_while_a_picker_fetches_its_title_stops_quietly(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    dialogs: list[QDialog],
    reported: list[dict[str, Any]],
) -> None:
    async def scenario() -> None:
        user = await make_user(RecordService(ui_database))
        records = HeldLookups(ui_database)
        dialog = OrderDialog(Workspace(records.database, records=records))
        dialog.show()
        chosen = picker(dialog, "user_id")
        chosen.set_value(user["id"])
        title = chosen._title_task
        await records.started.wait()
        dialog.deleteLater()
        await wait_for(dialog.destroyed)
        records.release.set()
        await settle()
        assert title is not None
        assert title.cancelled()

    qt_loop.run_until_complete(scenario())
    assert reported == []


def test_an_id_beyond_the_column_is_refused_at_the_field_of_a_form(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    dialogs: list[QDialog],
    reported: list[dict[str, Any]],
    english: None,
) -> None:
    async def scenario() -> None:
        records = RecordService(ui_database)
        form = RecordFormDialog(catalog.entity("posts"), records)
        dialogs.append(form)
        form.show()
        type_into(form, "title", "Hello")
        type_into_picker(form, "author_id", "#99999999999")
        outcome, _ = await saved_or_refused(form)
        assert outcome == "refused"
        assert form.error_labels["author_id"].text() == (
            "#99,999,999,999 is too large (at most 2,147,483,647): no user has that number."
        )
        assert form.save_button.isEnabled()
        type_into_picker(form, "author_id", "#" + "9" * 80)
        outcome, _ = await saved_or_refused(form)
        assert outcome == "refused"
        assert "is too large" in form.error_labels["author_id"].text()

    qt_loop.run_until_complete(scenario())
    assert reported == []


def test_an_id_beyond_the_column_is_refused_at_the_field_of_a_transfer(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    dialogs: list[QDialog],
    reported: list[dict[str, Any]],
) -> None:
    async def scenario() -> None:
        dialog = TransferDialog(Workspace(ui_database))
        dialogs.append(dialog)
        dialog.show()
        type_into_picker(dialog, "from_account_id", "#99999999999")
        type_into_picker(dialog, "to_account_id", "#1")
        type_into(dialog, "amount", "1")
        refused = asyncio.ensure_future(wait_for(dialog.refused))
        dialog.save()
        await refused
        assert "no account has that number" in dialog.error_labels["from_account_id"].text()
        assert dialog.status_label.text() != "Saving…"
        assert dialog.isVisible()

    qt_loop.run_until_complete(scenario())
    assert reported == []
