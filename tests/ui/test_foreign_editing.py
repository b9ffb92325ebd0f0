"""Editing another program's database in the real session (issue 25): editing is turned
on for its connection, then a form edits a row keyed by text, someone else's change is
caught and merged, a delete says what the foreign keys take with it (or why it is
refused), and Undo and Redo take each step back — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QDialog, QMessageBox
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import URL

from app.config import Settings, sqlite_url
from app.connections import PasswordStorage, connection_from_url, load_connections
from app.desktop import settings_for
from tests import foreign
from tests.services.test_row_edits import raw
from tests.ui.answering import answer_dialogs
from tests.ui.conftest import wait_for, wait_until
from tests.ui.forms import saved_or_refused, type_into
from tests.ui.sessions import in_session
from tests.ui.test_foreign_database import rows_of
from ui import main_window, record_editing
from ui.browse_window import BrowseWindow
from ui.dialogs.bulk_edit import BulkEditDialog
from ui.dialogs.record_form import RecordFormDialog
from ui.main_window import MainWindow
from ui.selection import select_rows
from ui.widgets.field_editors import LineEditor


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def shops(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[URL, Settings]:
    """Another program's database with tables to edit, behind a saved connection that
    does not allow editing yet."""
    if request.param == "sqlite":
        url = sqlite_url(foreign.sqlite_editable(tmp_path))
    else:
        make: Callable[[], URL] = request.getfixturevalue("new_postgres_database")
        url = asyncio.run(foreign.postgres_editable(make()))
    connection = replace(
        connection_from_url(url, name="shops"), password_storage=PasswordStorage.NONE
    )
    return url, settings_for(connection)


def click(text: str) -> Callable[[QDialog], None]:
    def answer(dialog: QDialog) -> None:
        assert isinstance(dialog, QMessageBox)
        (button,) = [b for b in dialog.buttons() if b.text().replace("&", "") == text]
        button.click()

    return answer


async def opened_form(browser: BrowseWindow, key: Any) -> RecordFormDialog:
    form = browser.editing.open_form(key)
    assert isinstance(form, RecordFormDialog)
    await wait_for(form.loaded)
    return form


def test_another_programs_database_is_edited_safely_once_allowed(
    qt_loop: asyncio.AbstractEventLoop,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    shops: tuple[URL, Settings],
) -> None:
    url, settings = shops
    seen: dict[str, Any] = {}
    told: list[str] = []

    async def refused(_parent: object, _title: str, text: str) -> None:
        told.append(text)

    monkeypatch.setattr(record_editing, "show_message", refused)

    async def scenario(window: MainWindow) -> None:
        await wait_for(window.counts_loaded)
        seen["offered"] = window.allow_editing_action.isVisible()
        seen["on before"] = window.allow_editing_action.isChecked()
        answer_dialogs(monkeypatch, main_window, click("Yes"))
        seen["allowed"] = await window.allow_editing(True)
        seen["on after"] = window.allow_editing_action.isChecked()
        seen["banner"] = window.banner.label.text()
        seen["kept"] = [
            c.allow_editing for c in load_connections().connections if c.name == "shops"
        ]

        browser = window.open_browser("shop")
        await rows_of(browser)
        editing = browser.editing
        seen["actions"] = (
            editing.edit_action.isEnabled(),
            editing.delete_action.isVisible(),
            editing.trash_action.isVisible(),
        )

        # An edit, its undo and its redo.
        form = await opened_form(browser, "S1")
        seen["title"] = form.windowTitle()
        seen["rule"] = form.rule_label.text()
        seen["name rule"] = form.editors["name"].widget.toolTip()
        type_into(form, "name", "Corner 2")
        seen["save"] = (await saved_or_refused(form))[0]
        seen["after save"] = await raw(url, "SELECT name FROM shop WHERE code = 'S1'")
        seen["undo"] = await editing.undo()
        seen["after undo"] = await raw(url, "SELECT name FROM shop WHERE code = 'S1'")
        seen["redo"] = await editing.redo()
        seen["after redo"] = await raw(url, "SELECT name FROM shop WHERE code = 'S1'")
        # An undo meeting someone else's change opens this table's form to merge.
        await raw(url, "UPDATE shop SET name = 'Theirs' WHERE code = 'S1'")
        seen["undo met"] = await editing.undo()
        conflict = editing.conflict_form
        assert conflict is not None
        await wait_for(conflict.loaded)
        seen["conflict form"] = (conflict.entity.name, conflict.record_id)
        conflict.discard()
        await raw(url, "UPDATE shop SET name = 'Corner 2' WHERE code = 'S1'")

        # Someone else changes the row while the form is open: caught, merged, saved.
        form = await opened_form(browser, "S1")
        await raw(url, "UPDATE shop SET rating = 2 WHERE code = 'S1'")
        type_into(form, "name", "Mine")
        seen["stale"] = await saved_or_refused(form)
        seen["merged name"] = form.values()["name"]
        seen["merged rating"] = form.values()["rating"]
        seen["resaved"] = (await saved_or_refused(form))[0]
        seen["after merge"] = await raw(url, "SELECT name, rating FROM shop WHERE code = 'S1'")

        # A new row: its identity key is the database's.
        new = browser.editing.open_form(None)
        assert isinstance(new, RecordFormDialog)
        seen["new title"] = new.windowTitle()
        type_into(new, "code", "S7")
        type_into(new, "name", "Seven")
        seen["new shop"] = (await saved_or_refused(new))[0]
        # What the form was not given is the database's own default.
        seen["defaults"] = await raw(url, "SELECT note, rating FROM shop WHERE code = 'S7'")
        items = window.open_browser("item")
        await rows_of(items)
        new_item = items.editing.open_form(None)
        assert isinstance(new_item, RecordFormDialog)
        type_into(new_item, "label", "jam")
        type_into(new_item, "price", "4.20")
        picker = new_item.editors["shop_code"]
        line = picker.combo.lineEdit()  # type: ignore[attr-defined]
        line.setText("S3")  # typed: the key itself, a text key has no #
        line.textEdited.emit("S3")
        outcome, row = await saved_or_refused(new_item)
        seen["created"] = (outcome, row["id"] if outcome == "saved" else row)
        items.close()

        # A delete names what the foreign keys take with the row; Undo puts it all back.
        model = browser.model
        assert model is not None
        answer_dialogs(monkeypatch, record_editing, click("Delete"))
        questions: list[QMessageBox] = []
        editing.confirmation_shown.connect(questions.append)
        browser.table.selectRow(2)  # S3: its stock goes with it, its tag is emptied
        seen["deleted"] = await editing.delete_selected()
        (question,) = questions
        seen["question"] = (question.text(), question.informativeText())
        seen["after delete"] = await raw(
            url,
            "SELECT (SELECT count(*) FROM shop WHERE code = 'S3'), "
            "(SELECT count(*) FROM stock WHERE shop_code = 'S3'), "
            "(SELECT shop_code FROM tag WHERE name = 'busy')",
        )
        await wait_until(model.rows_loaded, lambda: model.rowCount() == 3)
        seen["undo delete"] = await editing.undo()
        seen["after undo delete"] = await raw(
            url,
            "SELECT (SELECT count(*) FROM shop WHERE code = 'S3'), "
            "(SELECT count(*) FROM stock WHERE shop_code = 'S3'), "
            "(SELECT shop_code FROM tag WHERE name = 'busy')",
        )

        # One the database refuses: said in words, nothing deleted.
        await wait_until(model.rows_loaded, lambda: model.rowCount() == 4)
        browser.table.selectRow(1)  # S2, which an audit row refers to
        seen["refused"] = await editing.delete_selected()
        seen["still there"] = await raw(url, "SELECT count(*) FROM shop WHERE code = 'S2'")
        browser.close()

    code = qt_loop.run_until_complete(in_session(settings, scenario))

    assert code == 0
    assert seen["offered"] is True
    assert seen["on before"] is False
    assert seen["allowed"] is None
    assert seen["on after"] is True
    assert "open for editing" in seen["banner"]
    assert seen["kept"] == [True]
    assert seen["actions"] == (True, True, False)
    assert seen["title"] == "Edit shop S1"
    assert "nobody changed this row" in seen["rule"]
    assert "length(name) <= 20" in seen["name rule"]
    assert seen["save"] == "saved"
    assert seen["after save"] == [("Corner 2",)]
    assert seen["undo"] == "Undid edit of shop S1."
    assert seen["after undo"] == [("Corner",)]
    assert seen["redo"] == "Redid edit of shop S1."
    assert seen["after redo"] == [("Corner 2",)]
    outcome, text = seen["stale"]
    assert outcome == "refused"
    assert "saved by someone else meanwhile" in text
    assert seen["merged name"] == "Mine"
    assert seen["merged rating"] == "2" or float(seen["merged rating"]) == 2
    assert seen["resaved"] == "saved"
    assert seen["after merge"] == [("Mine", 2)]
    assert seen["undo met"].startswith("Someone else changed shop S1")
    assert seen["conflict form"] == ("shop", "S1")
    assert seen["new title"] == "New shop"
    assert seen["new shop"] == "saved"
    assert seen["defaults"] == [("new", None)]
    assert seen["created"] == ("saved", 4)
    assert seen["deleted"] == 1
    text, details = seen["question"]
    assert text == "Delete shop S3 for good?"
    assert "2 rows of stock" not in details
    assert "1 row of stock (shop_code) will be deleted with them." in details
    assert "1 row of tag will have shop_code emptied." in details
    assert seen["after delete"] == [(0, 0, None)]
    assert seen["undo delete"] == "Undid delete of shop S3."
    assert seen["after undo delete"] == [(1, 1, "S3")]
    assert seen["refused"] == 0
    assert told == [
        "shop S2 cannot be deleted. 1 row of audit refers to them (shop_code): the database "
        "refuses the delete while they do."
    ]
    assert seen["still there"] == [(1,)]


def test_a_deleted_at_column_becomes_the_trash_when_the_user_confirms_it(
    qt_loop: asyncio.AbstractEventLoop,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    shops: tuple[URL, Settings],
) -> None:
    url, settings = shops
    assert settings.connection is not None
    connection = replace(settings.connection, allow_editing=True)
    settings = replace(settings, connection=connection)
    seen: dict[str, Any] = {}

    async def scenario(window: MainWindow) -> None:
        await wait_for(window.counts_loaded)
        memos = window.open_browser("memo")
        editing = memos.editing
        seen["offered"] = (
            editing.use_trash_action.isVisible(),
            editing.use_trash_action.text(),
            editing.trash_action.isVisible(),
            editing.delete_action.isVisible(),
        )
        seen["rows before"] = await rows_of(memos)
        answer_dialogs(monkeypatch, record_editing, click("Use as the trash"))
        seen["used"] = await editing.use_trash(True)
        seen["rows after"] = await rows_of(memos)
        seen["now"] = (
            editing.use_trash_action.isChecked(),
            editing.trash_action.isVisible(),
            editing.delete_action.isVisible(),
        )
        model = memos.model
        assert model is not None
        await wait_until(model.rows_loaded, lambda: model.row_values(0) is not None)
        memos.table.selectRow(0)
        seen["trashed"] = await editing.trash_selected()
        seen["stamped"] = await raw(url, "SELECT deleted_at IS NOT NULL FROM memo WHERE id = 1")
        seen["undo"] = await editing.undo()
        seen["back"] = await raw(url, "SELECT deleted_at IS NULL FROM memo WHERE id = 1")
        memos.close()
        # Remembered for this database and table: the next window uses it at once.
        again = window.open_browser("memo")
        seen["remembered"] = again.entity.soft_delete
        seen["rows again"] = await rows_of(again)
        again.close()

    code = qt_loop.run_until_complete(in_session(settings, scenario))

    assert code == 0
    assert seen["offered"] == (True, "Use deleted_at as the trash…", False, True)
    assert seen["rows before"] == 3
    assert seen["used"] is True
    assert seen["rows after"] == 2
    assert seen["now"] == (True, True, False)
    assert seen["trashed"] == {"memo": 1}
    assert seen["stamped"] == [(True,)]
    assert seen["undo"] == "Undid trash of memo #1."
    assert seen["back"] == [(True,)]
    assert seen["remembered"] == "deleted_at"
    assert seen["rows again"] == 2


def test_one_field_of_many_rows_is_set_and_undone(
    qt_loop: asyncio.AbstractEventLoop,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    shops: tuple[URL, Settings],
) -> None:
    url, settings = shops
    assert settings.connection is not None
    settings = replace(settings, connection=replace(settings.connection, allow_editing=True))
    seen: dict[str, Any] = {}

    def fill(dialog: QDialog) -> None:
        assert isinstance(dialog, BulkEditDialog)
        dialog.field_box.setCurrentIndex(dialog.field_box.findData("rating"))
        editor = dialog.editor
        assert isinstance(editor, LineEditor)
        editor.line.setText("-1")
        dialog.accept()  # refused at the field: the dialog stays open with it
        seen["problem"] = dialog.problem.text()
        seen["still open"] = dialog.isVisible()
        editor.line.setText("5")
        dialog.accept()

    async def scenario(window: MainWindow) -> None:
        await wait_for(window.counts_loaded)
        shops_window = window.open_browser("shop")
        await rows_of(shops_window)
        editing = shops_window.editing
        seen["offered"] = editing.bulk_edit_action.isVisible()
        model = shops_window.model
        assert model is not None
        await wait_until(model.rows_loaded, lambda: model.row_values(2) is not None)
        select_rows(shops_window.table, 0, 2)
        answer_dialogs(monkeypatch, record_editing, fill)
        seen["changed"] = await editing.edit_selected_rows()
        seen["after"] = await raw(url, "SELECT rating FROM shop ORDER BY code")
        seen["undo"] = await editing.undo()
        seen["undone"] = await raw(url, "SELECT rating FROM shop ORDER BY code")
        seen["redo"] = await editing.redo()
        seen["redone"] = await raw(url, "SELECT rating FROM shop ORDER BY code")
        shops_window.close()

    code = qt_loop.run_until_complete(in_session(settings, scenario))

    assert code == 0
    assert seen["offered"] is True
    assert seen["problem"] == "Must be at least 0."
    assert seen["still open"] is True
    assert seen["changed"] == 3
    assert seen["after"] == [(5,), (5,), (5,)]
    assert seen["undo"] == "Undid change of 3 rows of shop (S1, S2, S3)."
    assert seen["undone"] == [(4.5,), (None,), (1,)]
    assert seen["redo"] == "Redid change of 3 rows of shop (S1, S2, S3)."
    assert seen["redone"] == [(5,), (5,), (5,)]
