"""The record form and a browse window's New, Edit, Move to trash and Restore, through the
real widgets on both engines: nothing typed is lost, every refusal is shown at its field,
and every window showing a changed record follows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QLocale, Qt, SignalInstance
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QMessageBox
from pytestqt.qtbot import QtBot
from sqlalchemy import delete as sa_delete
from sqlalchemy import update as sa_update

from app.core.database import Database
from app.models import Account, Post
from app.query import DeletedRows, QuerySpec
from app.services import catalog, ledger
from app.services.records import RecordService
from tests.ui.conftest import WAIT_TIMEOUT_S, seed, settle, wait_for, wait_until
from tests.ui.forms import saved_or_refused, type_into
from tests.ui.helpers import all_rows, open_window, settled
from ui import record_editing
from ui.browse_window import BrowseWindow
from ui.dialogs.record_form import PasswordDialog, RecordFormDialog
from ui.dialogs.transactions import OrderDialog, TransferDialog, order_summary
from ui.record_table_model import RAW_VALUE_ROLE
from ui.selection import select_rows
from ui.undo import Step, UndoHistory, undo_history
from ui.widgets.field_editors import (
    CheckEditor,
    ChoiceEditor,
    MomentEditor,
    RecordPicker,
)

PASSWORD = "correct horse"
_OPEN: list[RecordFormDialog] = []
_OPEN_DIALOGS: list[QDialog] = []


@pytest.fixture(autouse=True)
def close_forms() -> Iterator[None]:
    """Forms delete themselves on closing: close the ones a test left open, unasked."""
    yield
    for form in _OPEN:
        if shiboken6.isValid(form):
            form._closing = True
            form.close()
    for dialog in _OPEN_DIALOGS:
        if shiboken6.isValid(dialog):
            dialog.close()
    _OPEN.clear()
    _OPEN_DIALOGS.clear()
    _CATCHERS.clear()


def form_for(
    qtbot: QtBot, database: Database, entity: str, record_id: int | None = None
) -> RecordFormDialog:
    form = RecordFormDialog(catalog.entity(entity), RecordService(database), record_id)
    _OPEN.append(form)
    form.show()
    return form


def is_closed(form: RecordFormDialog) -> bool:
    return not shiboken6.isValid(form) or not form.isVisible()


class _Catcher:
    """One listener per signal: closures made by one function share a code object, and
    PySide took a second one on the same sender for the first (its emission was lost)."""

    def __init__(self, signal: SignalInstance) -> None:
        self.caught: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
        signal.connect(self.on_signal)

    def on_signal(self, *arguments: Any) -> None:
        if not self.caught.done():
            self.caught.set_result(arguments)


# Kept alive until the test ends: PySide holds a bound method's object weakly.
_CATCHERS: list[_Catcher] = []


def catch(signal: SignalInstance) -> Awaitable[tuple[Any, ...]]:
    """The arguments of the next emission of ``signal``, listened for from this moment
    (connected at once: before the action that sends it)."""
    catcher = _Catcher(signal)
    _CATCHERS.append(catcher)
    return asyncio.wait_for(catcher.caught, WAIT_TIMEOUT_S)


async def make_user(records: RecordService, email: str, name: str) -> dict[str, Any]:
    return await records.create("users", {"email": email, "name": name}, password=PASSWORD)


def visible_errors(form: RecordFormDialog) -> dict[str, str]:
    return {name: label.text() for name, label in form.error_labels.items() if not label.isHidden()}


def test_the_form_has_an_editor_per_kind_of_column_and_no_managed_ones(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    users = form_for(qtbot, ui_database, "users")
    assert set(users.editors) == {"email", "name", "is_active"}
    assert isinstance(users.editors["is_active"], CheckEditor)
    assert users.editors["is_active"].value() is True  # the column's default
    assert users.password_button is not None
    orders = form_for(qtbot, ui_database, "orders")
    assert isinstance(orders.editors["user_id"], RecordPicker)
    assert isinstance(orders.editors["status"], ChoiceEditor)
    assert orders.editors["status"].value() == "pending"
    # Kept by the data layer: a total is its items' sum, a balance moves by transfers only.
    assert "total" not in orders.editors
    accounts = form_for(qtbot, ui_database, "accounts")
    assert "balance" not in accounts.editors
    assert accounts.editors["opening_balance"].widget.isEnabled()  # given once, when made
    shown = accounts.derived_labels["balance"]
    assert (shown.text(), shown.accessibleName()) == (
        "A balance changes only with Transfer funds.",
        "Balance",
    )
    for form in (users, orders):
        for editor in form.editors.values():
            # A screen reader says "required" where the label shows an asterisk.
            required = ", required" if editor.column.required else ""
            assert editor.widget.accessibleName() == editor.column.label + required
    qt_loop.run_until_complete(settle())


def test_a_new_user_with_bad_fields_keeps_everything_typed_until_it_saves(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        form = form_for(qtbot, ui_database, "users")
        type_into(form, "email", "ada at example")
        type_into(form, "name", "n" * 101)
        outcome, _ = await saved_or_refused(form)
        assert outcome == "refused"
        errors = visible_errors(form)
        assert "Not an email address" in errors["email"]
        assert "At most 100 characters" in errors["name"]
        assert errors["hashed_password"] == "Set a password."
        assert form.isVisible()
        assert form.editors["name"].value() == "n" * 101  # nothing lost
        type_into(form, "email", "ada@example.org")
        type_into(form, "name", "Ada Lovelace")
        form.pending_password = PASSWORD
        outcome, record = await saved_or_refused(form)
        assert outcome == "saved"
        assert (record["email"], record["name"]) == ("ada@example.org", "Ada Lovelace")
        assert is_closed(form)

    qt_loop.run_until_complete(scenario())


def test_a_duplicate_email_of_a_trashed_user_offers_to_restore_that_user(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        records = RecordService(ui_database)
        ada = await make_user(records, "ada@example.org", "Ada")
        await records.delete("users", ada["id"])
        form = form_for(qtbot, ui_database, "users")
        type_into(form, "email", "ada@example.org")
        type_into(form, "name", "Ada Byron")
        form.pending_password = PASSWORD
        outcome, _ = await saved_or_refused(form)
        assert outcome == "refused"
        assert "in the trash" in visible_errors(form)["email"]
        assert form.restore_button.isVisible()
        assert form.restore_button.text() == f"Restore User #{ada['id']}"
        restored = catch(form.restored)
        form.restore_button.click()
        await restored
        # The form now edits the restored user, what was typed still in it.
        assert form.record_id == ada["id"]
        assert form.editors["name"].value() == "Ada Byron"
        outcome, record = await saved_or_refused(form)
        assert outcome == "saved"
        assert record["name"] == "Ada Byron"
        assert record["deleted_at"] is None

    qt_loop.run_until_complete(scenario())


def test_editing_loads_the_record_and_saves_only_what_changed(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    seed(qt_loop, ui_database, 3, deleted_fraction=0)

    async def scenario() -> None:
        records = RecordService(ui_database)
        item = (await all_rows(ui_database, "order_items", QuerySpec()))[0]
        item_id = item[0]
        form = form_for(qtbot, ui_database, "order_items", item_id)
        await wait_for(form.loaded)
        assert form.windowTitle() == f"Edit Order item #{item_id}"
        type_into(form, "unit_price", "12.345")
        outcome, text = await saved_or_refused(form)
        assert outcome == "refused"
        assert "more than 2 decimal places" in visible_errors(form)["unit_price"]
        type_into(form, "unit_price", "12.34")
        # Someone else renames the product meanwhile: another field, merged by itself.
        await records.update("order_items", item_id, {"product": "Renamed elsewhere"})
        outcome, text = await saved_or_refused(form)
        assert outcome == "refused"
        assert "saved by someone else meanwhile" in text
        assert "Their change to Product is in the form now" in text
        assert form.isVisible()
        assert form.conflict_box.isHidden()
        assert form.editors["product"].value() == "Renamed elsewhere"
        assert str(form.editors["unit_price"].value()) == "12.34"
        stored = await records.get("order_items", item_id)
        price = catalog.entity("order_items").column_names.index("unit_price")
        assert stored["unit_price"] == item[price]  # nothing overwritten yet
        outcome, record = await saved_or_refused(form)
        assert outcome == "saved"
        assert (record["product"], str(record["unit_price"])) == ("Renamed elsewhere", "12.34")
        # The order's total followed its item, in the same transaction, and its form shows it.
        order = form_for(qtbot, ui_database, "orders", record["order_id"])
        await wait_for(order.loaded)
        stored_order = await records.get("orders", record["order_id"])
        assert order.derived_labels["total"].text() == f"{stored_order['total']:,}"
        assert not order.derived_labels["total"].isEnabled()
        async with ui_database.get_session() as session:
            assert await ledger.problems(session) == []

    qt_loop.run_until_complete(scenario())


def test_a_field_both_sides_changed_is_chosen_then_saved_on_the_new_version(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    """Another analyst (another session: the service, as a second window would) changes
    the same record's name and activity; this form changed the name and the email."""

    async def scenario() -> None:
        records = RecordService(ui_database)
        user = await make_user(records, "ada@example.org", "Ada")
        form = form_for(qtbot, ui_database, "users", user["id"])
        await wait_for(form.loaded)
        type_into(form, "name", "Ada Lovelace")
        type_into(form, "email", "ada@lovelace.org")
        await records.update("users", user["id"], {"name": "Ada Byron", "is_active": False})

        outcome, text = await saved_or_refused(form)

        assert outcome == "refused"
        assert "Choose for each field below" in text
        assert [c.name for c in form.conflicts] == ["name"]
        assert form.conflict_box.isVisible()
        assert form.editors["is_active"].value() is False  # theirs, merged by itself
        assert form.editors["email"].value() == "ada@lovelace.org"  # mine, merged
        outcome, text = await saved_or_refused(form)
        assert outcome == "refused"  # not chosen yet
        assert "Choose yours or the stored value" in text
        form.choose("name", "stored")
        outcome, record = await saved_or_refused(form)
        assert outcome == "saved"
        assert (record["name"], record["email"], record["is_active"]) == (
            "Ada Byron",
            "ada@lovelace.org",
            False,
        )
        assert record["version"] == user["version"] + 2

    qt_loop.run_until_complete(scenario())


def test_closing_a_changed_form_asks_first(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        form = form_for(qtbot, ui_database, "posts")
        type_into(form, "title", "Draft")
        form.reject()  # Esc
        box = form.discard_box
        assert box is not None
        assert box.isVisible()
        form.reject()  # Esc again while asking: still the one question
        assert form.discard_box is box
        box.button(QMessageBox.StandardButton.Cancel).click()
        assert form.isVisible()
        assert form.editors["title"].value() == "Draft"
        form.reject()
        box = form.discard_box
        assert box is not None
        box.button(QMessageBox.StandardButton.Discard).click()
        assert is_closed(form)

    qt_loop.run_until_complete(scenario())


def test_the_password_dialog_asks_twice_and_never_shows_it(qtbot: QtBot) -> None:
    dialog = PasswordDialog()
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    QTest.keyClicks(dialog.first, "correct horse")
    assert not ok.isEnabled()
    QTest.keyClicks(dialog.second, "correct horsE")
    assert dialog.problem.text() == "The two passwords differ."
    dialog.second.clear()
    QTest.keyClicks(dialog.second, "correct horse")
    assert ok.isEnabled()
    assert dialog.first.echoMode() is dialog.first.EchoMode.Password
    assert dialog.password() == "correct horse"


def test_new_from_a_browse_window_shows_the_record_there_and_in_the_counts(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
) -> None:
    seed(qt_loop, ui_database, 2, deleted_fraction=0)

    async def scenario() -> None:
        service = RecordService(ui_database)
        window = open_window(service, windows, qtbot, None, "posts")
        other = open_window(service, windows, qtbot, None, "posts")
        model = await settled(window)
        before = model.rowCount()
        opened = catch(window.editing.form_opened)
        window.editing.new_action.trigger()
        (form,) = await opened
        _OPEN.append(form)
        type_into(form, "title", "Fresh post")
        picker = form.editors["author_id"]
        assert isinstance(picker, RecordPicker)
        picker.combo.setEditText("#1")
        outcome, record = await saved_or_refused(form)
        assert outcome == "saved"
        await settled(other)
        assert other.model is not None
        assert other.model.rowCount() == before + 1
        assert record["author_id"] == 1

    qt_loop.run_until_complete(scenario())


def test_trash_with_related_records_then_restore_from_the_trash_view(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
) -> None:
    seed(qt_loop, ui_database, 3, deleted_fraction=0)

    async def scenario() -> None:
        async with ui_database.get_session(write=True) as session:
            # Emptied: an account holding money stays out of the trash (test_trash.py).
            await session.execute(sa_update(Account).values(balance=0))
        service = RecordService(ui_database)
        users = open_window(service, windows, qtbot, None, "users")
        posts = open_window(service, windows, qtbot, None, "posts")
        model = await settled(users)
        await settled(posts)
        posts_before = len(await all_rows(ui_database, "posts", QuerySpec()))
        select_rows(users.table, 0, 1)
        shown = catch(users.editing.confirmation_shown)
        finished = catch(users.editing.trash_finished)
        users.editing.trash_action.trigger()
        (box,) = await shown
        assert "Move 2 users" in box.text()
        assert "posts" in box.informativeText()
        together = next(b for b in box.buttons() if b.text() == "Trash with related")
        together.click()
        (counts,) = await finished
        assert counts["users"] == 2
        await settled(users)
        assert model.rowCount() == 1
        await settled(posts)
        posts_left = len(await all_rows(ui_database, "posts", QuerySpec()))
        assert posts_left == posts_before - counts.get("posts", 0)
        assert posts.model is not None
        assert posts.model.rowCount() == posts_left

        users.editing.trash_view_action.trigger()
        assert users.view.spec.deleted is DeletedRows.ONLY
        trash = await settled(users)
        assert trash.rowCount() == 2
        select_rows(users.table, 0, 1)
        finished = catch(users.editing.trash_finished)
        users.editing.restore_action.trigger()
        (back,) = await finished
        assert back == counts
        await settled(users)
        assert len(await all_rows(ui_database, "posts", QuerySpec())) == posts_before

    qt_loop.run_until_complete(scenario())


def test_an_edit_elsewhere_refreshes_the_row_in_place(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
) -> None:
    seed(qt_loop, ui_database, 3, deleted_fraction=0)

    async def scenario() -> None:
        service = RecordService(ui_database)
        window = open_window(service, windows, qtbot, None, "users")
        model = await settled(window)
        select_rows(window.table, 1, 1)
        user_id = model.record_id(1)
        assert user_id is not None
        resets: list[bool] = []
        model.modelReset.connect(lambda: resets.append(True))
        form = window.editing.open_form(user_id)
        assert isinstance(form, RecordFormDialog)
        _OPEN.append(form)
        await wait_for(form.loaded)
        type_into(form, "name", "Renamed In Place")
        outcome, _ = await saved_or_refused(form)
        assert outcome == "saved"
        await settle()
        column = model.column_index("name")
        assert model.index(1, column).data(Qt.ItemDataRole.DisplayRole) == "Renamed In Place"
        assert resets == []  # no reset: the selection and scroll position stay
        assert {index.row() for index in window.table.selectionModel().selectedIndexes()} == {1}

    qt_loop.run_until_complete(scenario())


def test_new_in_the_transfers_window_is_transfer_funds_and_a_refusal_changes_nothing(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
) -> None:
    async def scenario() -> None:
        records = RecordService(ui_database)
        owner = await make_user(records, "o@example.org", "Owner")
        rich = await records.create(
            "accounts", {"owner_id": owner["id"], "name": "Rich", "opening_balance": "50.00"}
        )
        poor = await records.create("accounts", {"owner_id": owner["id"], "name": "Poor"})
        window = open_window(records, windows, qtbot, None, "transfers")
        accounts = open_window(records, windows, qtbot, None, "accounts")
        await settled(window)
        await settled(accounts)
        assert not window.editing.edit_action.isEnabled()
        dialog = window.editing.open_form(None)
        assert isinstance(dialog, TransferDialog)
        _OPEN_DIALOGS.append(dialog)
        dialog.editors["from_account_id"].set_value(rich["id"])
        dialog.editors["to_account_id"].set_value(poor["id"])
        for amount, field, words in (
            ("80.00", "amount", "not enough"),
            ("0", "amount", "greater than zero"),
            ("1.001", "amount", "decimal"),
        ):
            type_into(dialog, "amount", amount)
            refused = catch(dialog.refused)
            dialog.save()
            await refused
            assert words in dialog.error_labels[field].text()
        dialog.editors["to_account_id"].set_value(rich["id"])
        type_into(dialog, "amount", "5")
        refused = catch(dialog.refused)
        dialog.save()
        await refused
        assert "must be different" in dialog.error_labels["to_account_id"].text()
        balances = [(await records.get("accounts", a["id"]))["balance"] for a in (rich, poor)]
        assert balances == [Decimal("50.00"), Decimal("0.00")]  # nothing changed

        dialog.editors["to_account_id"].set_value(poor["id"])
        type_into(dialog, "amount", "20.50")
        completed = catch(dialog.completed)
        dialog.save()
        (receipt,) = await completed
        assert (receipt.from_balance, receipt.to_balance) == (Decimal("29.50"), Decimal("20.50"))
        model = await settled(window)
        assert model.rowCount() == 1
        await settle()
        accounts_model = accounts.model
        assert accounts_model is not None
        balance = accounts_model.column_index("balance")
        shown = {
            accounts_model.record_id(row): accounts_model.index(row, balance).data(RAW_VALUE_ROLE)
            for row in range(accounts_model.rowCount())
        }
        assert shown == {rich["id"]: Decimal("29.50"), poor["id"]: Decimal("20.50")}

    qt_loop.run_until_complete(scenario())


def test_an_order_with_bad_items_keeps_the_good_ones_and_lists_the_others(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
) -> None:
    async def scenario() -> None:
        records = RecordService(ui_database)
        user = await make_user(records, "b@example.org", "Buyer")
        window = open_window(records, windows, qtbot, None, "orders")
        await settled(window)
        dialog = window.editing.open_form(None)
        assert isinstance(dialog, OrderDialog)
        _OPEN_DIALOGS.append(dialog)
        dialog.editors["user_id"].set_value(user["id"])
        dialog.items.removeRow(0)
        dialog.add_item("Lamp", "2", "10.00")
        dialog.add_item("Broken", "0", "1.00")
        dialog.add_item("P" * 201, "1", "1.00")
        dialog.add_item("Bulb", "4", "0.25")
        completed = catch(dialog.completed)
        dialog.save()
        (created,) = await completed
        assert created.total == Decimal("21.00")
        assert [skip.index for skip in created.skipped] == [1, 2]
        summary = order_summary(created)
        assert "2 items" in summary
        assert "Item 2 (Broken): Quantity: Must be at least 1." in summary
        assert "At most 200 characters" in summary
        model = await settled(window)
        assert model.rowCount() == 1
        box = window.editing.message
        assert box is not None
        assert box.isVisible()
        assert "These items were not saved" in box.text()
        box.accept()

    qt_loop.run_until_complete(scenario())


@pytest.fixture
def history(monkeypatch: pytest.MonkeyPatch) -> Iterator[UndoHistory]:
    async def refused(_parent: object, title: str, text: str) -> None:
        raise AssertionError(f"{title}: {text}")  # a box here would wait for a click

    monkeypatch.setattr(record_editing, "show_message", refused)
    undo_history().clear()
    yield undo_history()
    undo_history().clear()


def test_undo_and_redo_an_edit_a_creation_and_a_trash(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
    history: UndoHistory,
) -> None:
    async def scenario() -> None:
        records = RecordService(ui_database)
        window = open_window(records, windows, qtbot, None, "users")
        await settled(window)
        editing = window.editing
        assert not editing.undo_action.isEnabled()

        form = editing.open_form(None)
        assert isinstance(form, RecordFormDialog)
        _OPEN.append(form)
        type_into(form, "email", "ada@example.org")
        type_into(form, "name", "Ada")
        form.pending_password = PASSWORD
        outcome, user = await saved_or_refused(form)
        assert outcome == "saved"
        edit = editing.open_form(user["id"])
        assert isinstance(edit, RecordFormDialog)
        _OPEN.append(edit)
        await wait_for(edit.loaded)
        type_into(edit, "name", "Ada Lovelace")
        outcome, _ = await saved_or_refused(edit)
        assert outcome == "saved"
        assert editing.undo_action.text() == f"Undo edit of User #{user['id']}"

        assert await editing.undo() == f"Undid edit of User #{user['id']}."
        assert (await records.get("users", user["id"]))["name"] == "Ada"
        assert editing.redo_action.text() == f"Redo edit of User #{user['id']}"
        await editing.redo()
        assert (await records.get("users", user["id"]))["name"] == "Ada Lovelace"
        await settle()  # the row in the grid follows, version included

        select_rows(window.table, 0, 0)
        shown = catch(editing.confirmation_shown)
        finished = catch(editing.trash_finished)
        editing.trash_action.trigger()
        (box,) = await shown
        next(b for b in box.buttons() if b.text() == "Move to trash").click()
        await finished
        assert editing.undo_action.text() == f"Undo trash of User #{user['id']}"
        await editing.undo()
        assert (await records.get("users", user["id"]))["deleted_at"] is None
        await editing.undo()  # the edit
        await editing.undo()  # the creation: the user goes to the trash
        assert (await records.get("users", user["id"]))["deleted_at"] is not None
        assert not editing.undo_action.isEnabled()
        await editing.redo()
        assert (await records.get("users", user["id"]))["deleted_at"] is None
        model = await settled(window)
        assert model.rowCount() == 1

    qt_loop.run_until_complete(scenario())


def test_an_undo_blocked_by_someone_elses_change_opens_the_form_instead(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
    history: UndoHistory,
) -> None:
    async def scenario() -> None:
        records = RecordService(ui_database)
        user = await make_user(records, "ada@example.org", "Ada")
        window = open_window(records, windows, qtbot, None, "users")
        await settled(window)
        edit = window.editing.open_form(user["id"])
        assert isinstance(edit, RecordFormDialog)
        _OPEN.append(edit)
        await wait_for(edit.loaded)
        type_into(edit, "name", "Ada Lovelace")
        outcome, _ = await saved_or_refused(edit)
        assert outcome == "saved"
        # Another analyst changes the record after our save.
        await records.update("users", user["id"], {"name": "Ada King"})

        text = await window.editing.undo()

        assert "Someone else changed this record" in text
        stored = await records.get("users", user["id"])
        assert stored["name"] == "Ada King"  # not overwritten
        form = window.editing.conflict_form
        assert form is not None
        _OPEN.append(form)
        await wait_for(form.loaded)
        await settle()
        # The conflict view: the name is what the undo wanted, theirs, or what it was.
        assert [(c.original, c.mine, c.stored) for c in form.conflicts] == [
            ("Ada Lovelace", "Ada", "Ada King")
        ]
        assert form.conflict_box.isVisible()
        assert form.editors["name"].value() == "Ada"
        assert form.changed
        assert history.done  # the step stays, to try again
        form.choose("name", "stored")
        outcome, record = await saved_or_refused(form)
        assert outcome == "saved"
        assert record["name"] == "Ada King"


def test_a_value_too_long_to_edit_is_kept_as_it_is(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    """A 5 MB post: its content is not laid out in an editor (that held the window for
    1.5 s), and saving the title leaves every character of it."""
    seed(qt_loop, ui_database, 1, deleted_fraction=0)
    content = "word " * 1_000_000

    async def scenario() -> None:
        records = RecordService(ui_database)
        post_id = (await all_rows(ui_database, "posts", QuerySpec()))[0][0]
        await records.update("posts", post_id, {"content": content})
        form = form_for(qtbot, ui_database, "posts", post_id)
        await wait_for(form.loaded)
        editor = form.editors["content"]
        assert editor.kept_as_is
        assert not editor.widget.isEnabled()
        # In the user's locale, as every number on screen.
        assert f"{QLocale().toString(5_000_000)} characters" in editor.widget.toolTip()
        assert "content" not in form.values()
        type_into(form, "title", "Retitled")
        outcome, record = await saved_or_refused(form)
        assert outcome == "saved"
        assert record["title"] == "Retitled"
        assert record["content"] == content

    qt_loop.run_until_complete(scenario())


def test_the_date_and_time_editor_keeps_a_moment_in_utc(qtbot: QtBot) -> None:
    """No form edits a date yet (a transfer's moment is Transfer funds'); the editor the
    catalog would give one keeps the moment, to the second, whatever the time zone."""
    column = catalog.entity("transfers").column("transferred_at")
    editor = MomentEditor(column)
    qtbot.addWidget(editor.widget)
    moment = datetime(2026, 6, 18, 0, 24, 5, tzinfo=UTC)
    editor.set_value(moment)
    assert editor.value() == moment


def test_undo_and_redo_have_their_standard_keys_once_each(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
) -> None:
    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, None, "users")
        await settled(window)
        redo = window.editing.redo_action.shortcuts()
        assert QKeySequence("Ctrl+Shift+Z") in redo
        assert len(redo) == len(set(key.toString() for key in redo))
        assert QKeySequence(QKeySequence.StandardKey.Undo) in window.editing.undo_action.shortcuts()

    qt_loop.run_until_complete(scenario())


def _press_save_again_and_again(dialog: QDialog, button: Any) -> None:
    """What a double click on Save, and Ctrl+S held down, deliver while the window is busy:
    the second and later presses reach it before the first save's first await returns."""
    button.click()
    for _ in range(3):
        QTest.keyClick(dialog, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    button.click()


def test_save_pressed_again_and_again_while_saving_saves_once(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
) -> None:
    """Every Save that makes something (a record, a transfer, an order) runs once however
    many presses arrive while it runs, and says nothing of the extra presses."""

    async def scenario() -> None:
        records = RecordService(ui_database)
        user = await make_user(records, "o@example.org", "Owner")
        rich = await records.create(
            "accounts", {"owner_id": user["id"], "name": "Rich", "opening_balance": "50.00"}
        )
        poor = await records.create("accounts", {"owner_id": user["id"], "name": "Poor"})

        form = form_for(qtbot, ui_database, "posts")
        type_into(form, "title", "Once")
        form.editors["author_id"].set_value(user["id"])
        saved = catch(form.saved)
        _press_save_again_and_again(form, form.save_button)
        await saved
        await settle()
        assert await records.count("posts", QuerySpec()) == 1

        window = open_window(records, windows, qtbot, None, "transfers")
        await settled(window)
        transfer = window.editing.open_transfer()
        _OPEN_DIALOGS.append(transfer)
        transfer.editors["from_account_id"].set_value(rich["id"])
        transfer.editors["to_account_id"].set_value(poor["id"])
        type_into(transfer, "amount", "10.00")
        refusals: list[str] = []
        transfer.refused.connect(refusals.append)
        completed = catch(transfer.completed)
        _press_save_again_and_again(transfer, transfer.save_button)
        await completed
        await settle()
        assert refusals == []
        assert (await records.get("accounts", rich["id"]))["balance"] == Decimal("40.00")
        assert await records.count("transfers", QuerySpec()) == 1

        order = window.editing.open_order()
        _OPEN_DIALOGS.append(order)
        order.editors["user_id"].set_value(user["id"])
        order.items.removeRow(0)
        order.add_item("Lamp", "2", "10.00")
        completed = catch(order.completed)
        _press_save_again_and_again(order, order.save_button)
        await completed
        await settle()
        assert await records.count("orders", QuerySpec()) == 1
        async with ui_database.get_session() as session:
            assert await ledger.problems(session) == []

    qt_loop.run_until_complete(scenario())


def test_cancel_while_saving_waits_for_the_save_and_says_so(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    """Esc during a save never reports "discarded" for a change that is written: the form
    stays, says it is saving, and closes once saved."""

    async def scenario() -> None:
        records = RecordService(ui_database)
        user = await make_user(records, "o@example.org", "Owner")
        form = form_for(qtbot, ui_database, "posts")
        type_into(form, "title", "Kept")
        form.editors["author_id"].set_value(user["id"])
        saved = catch(form.saved)
        form.save()
        QTest.keyClick(form, Qt.Key.Key_Escape)
        assert form.isVisible()
        assert "closes once the save is done" in form.status_label.text()
        assert form.discard_box is None  # nothing to discard: it is being saved
        (record,) = await saved
        await settle()
        assert is_closed(form)
        assert (await records.get("posts", record["id"]))["title"] == "Kept"

    qt_loop.run_until_complete(scenario())


def test_saving_a_record_trashed_meanwhile_offers_restore_and_keeps_the_typing(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        records = RecordService(ui_database)
        user = await make_user(records, "o@example.org", "Owner")
        post = await records.create("posts", {"title": "Old", "author_id": user["id"]})
        form = form_for(qtbot, ui_database, "posts", post["id"])
        await wait_for(form.loaded)
        type_into(form, "title", "New title")
        # Someone else moves it to the trash meanwhile (another window, another analyst).
        await RecordService(ui_database).trash("posts", {post["id"]: None}, with_related=False)
        outcome, text = await saved_or_refused(form)
        assert outcome == "refused"
        assert "moved to the trash meanwhile" in text
        assert (await records.get("posts", post["id"]))["title"] == "Old"  # not in the trash
        assert form.restore_button.isVisible()
        restored = catch(form.restored)
        form.restore_button.click()
        await restored
        assert form.editors["title"].value() == "New title"
        outcome, record = await saved_or_refused(form)
        assert outcome == "saved"
        assert (record["title"], record["deleted_at"]) == ("New title", None)

    qt_loop.run_until_complete(scenario())


def test_trashing_a_selection_beyond_the_loaded_rows_trashes_all_of_it_undo_and_redo_move_it(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
    small_pages: None,
    history: UndoHistory,
) -> None:
    """Ctrl+A over more rows than are loaded, then Delete: the question counts the whole
    selection, the database moves all of it in one go, Undo brings exactly it back and
    Redo moves it again."""
    seed(qt_loop, ui_database, 40, deleted_fraction=0)

    async def scenario() -> None:
        service = RecordService(ui_database)
        posts = open_window(service, windows, qtbot, None, "posts")
        model = await settled(posts)
        total = len(await all_rows(ui_database, "posts", QuerySpec()))
        posts.table.selectAll()
        loaded = len(posts.editing.selected_records())
        assert posts.editing.selected_row_count() == model.rowCount() == total > loaded
        shown = catch(posts.editing.confirmation_shown)
        finished = catch(posts.editing.trash_finished)
        posts.editing.trash_action.trigger()
        (box,) = await shown
        assert box.text() == f"Move all {total:,} selected posts to the trash?"
        next(b for b in box.buttons() if b.text() == "Move to trash").click()
        (counts,) = await finished
        assert counts == {"posts": total}
        assert await all_rows(ui_database, "posts", QuerySpec()) == []
        await wait_until(model.rows_loaded, lambda: model.rowCount() == 0)
        assert history.undo_text() == f"Undo trash of {total:,} posts"
        said = await history.undo(service)
        assert said == f"Undid trash of {total:,} posts."
        assert len(await all_rows(ui_database, "posts", QuerySpec())) == total
        # Redo moves exactly those rows again, but one edited meanwhile stays out.
        edited = (await all_rows(ui_database, "posts", QuerySpec()))[0][0]
        await service.update("posts", edited, {"title": "Edited since the undo"})
        assert history.redo_text() == f"Redo trash of {total:,} posts"
        assert await history.redo(service) == f"Redid trash of {total:,} posts."
        left = await all_rows(ui_database, "posts", QuerySpec())
        assert [row[0] for row in left] == [edited]
        assert history.undo_text() == f"Undo trash of {total - 1:,} posts"
        assert await history.undo(service) == f"Undid trash of {total - 1:,} posts."
        assert len(await all_rows(ui_database, "posts", QuerySpec())) == total

    qt_loop.run_until_complete(scenario())


def test_an_undo_step_whose_record_is_gone_is_said_once_and_dropped(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, history: UndoHistory
) -> None:
    async def scenario() -> None:
        records = RecordService(ui_database)
        user = await make_user(records, "o@example.org", "Owner")
        kept = await records.create("posts", {"title": "Kept", "author_id": user["id"]})
        history.push(Step("create", "posts", {kept["id"]: kept["version"]}))
        gone = await records.create("posts", {"title": "Gone", "author_id": user["id"]})
        edited = await records.update("posts", gone["id"], {"title": "Edited"})
        history.push(
            Step(
                "update",
                "posts",
                {gone["id"]: edited["version"]},
                {"title": "Gone"},
                {"title": "Edited"},
            )
        )
        # Deleted for good outside the app (another program, a DBA).
        async with ui_database.get_session(write=True) as session:
            await session.execute(sa_delete(Post).where(Post.id == gone["id"]))
        said = await history.undo(records)
        assert "does not exist" in said
        assert "was dropped" in said
        assert [step.entity for step in history.done] == ["posts"]  # the earlier step stays
        assert await history.undo(records) == f"Undid creation of Post #{kept['id']}."
        assert (await records.get("posts", kept["id"]))["deleted_at"] is not None

    qt_loop.run_until_complete(scenario())
