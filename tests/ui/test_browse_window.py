"""Browse windows driven as an analyst drives them: search, deleted rows, sorting, following
relations with Back/Forward, copying, remembered layout — on both engines."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot
from sqlalchemy import update as sa_update

from app.core.database import Database
from app.models import Account
from app.query import DeletedRows, Equals, OffsetPage, QuerySpec, SortKey
from app.services import catalog
from app.services.records import RecordService
from app.workspace import Desk
from tests.ui.conftest import drain, seed, wait_for, wait_until
from ui.browse_window import CONTENT_WIDTH_CHARS, BrowseWindow
from ui.dialogs.record_detail import RecordDetailDialog
from ui.dialogs.record_form import RecordFormDialog
from ui.main_window import MainWindow
from ui.record_table_model import RAW_VALUE_ROLE, CountState, RecordTableModel
from ui.selection import select_rows
from ui.window_state import WindowState


@pytest.fixture
def seeded(qt_loop: asyncio.AbstractEventLoop, ui_database: Database) -> Database:
    seed(qt_loop, ui_database, 60, deleted_fraction=0.1)
    return ui_database


@pytest.fixture
def windows(qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot) -> Iterator[list[BrowseWindow]]:
    """Windows the test opened, closed afterwards with their work finished while the loop
    still runs: Qt's own teardown then finds no asyncio work to step outside the loop."""
    opened: list[BrowseWindow] = []
    yield opened
    for window in opened:
        window.close()
    drain(qt_loop)


def open_window(
    database: Database, windows: list[BrowseWindow], qtbot: QtBot, entity: str = "users"
) -> BrowseWindow:
    window = BrowseWindow(Desk.on(database), catalog.entity(entity), WindowState())
    qtbot.addWidget(window)
    windows.append(window)
    window.show()
    return window


def model_of(window: BrowseWindow) -> RecordTableModel:
    assert window.model is not None
    return window.model


async def settled(window: BrowseWindow) -> RecordTableModel:
    """Wait until the window's current result is counted and its first rows are in."""
    model = model_of(window)
    await wait_until(model.count_changed, lambda: model.count_state is CountState.EXACT)
    if model.rowCount():
        await wait_until(model.rows_loaded, lambda: model.is_loaded(0))
    return model


async def ids_for(database: Database, entity: str, spec: QuerySpec) -> list[int]:
    page = await RecordService(database).browse(entity, spec, OffsetPage(0, 10_000))
    return [row[0] for row in page.rows]


def shown_ids(model: RecordTableModel) -> list[int]:
    return [model.data(model.index(row, 0), RAW_VALUE_ROLE) for row in range(model.rowCount())]


async def all_ids(model: RecordTableModel) -> list[int]:
    """The ids of every row of the result, fetched as a copy would."""
    rows = await model.fetch_rows([(0, model.rowCount() - 1)])
    return [rows[row][0] for row in range(model.rowCount())]


def test_search_box_filters_after_a_pause(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot)
        model = await settled(window)
        # A last name: a prefix of the whole name may end in the space the search trims.
        term = (await RecordService(seeded).get("users", 3))["name"].split()[-1]
        QTest.keyClicks(window.search_box, term)
        assert model.spec.search == ""  # debounced: no query per keystroke
        await wait_until(model.modelReset, lambda: model.spec.search == term)
        await settled(window)
        assert shown_ids(model) == await ids_for(seeded, "users", QuerySpec(search=term))
        assert window.status_label.text().startswith("rows 1–")

    qt_loop.run_until_complete(scenario())


def test_ctrl_f_focuses_the_search_box(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot)
        window.table.setFocus()

        window.find_action.trigger()

        assert window.find_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Find)
        assert window.focusWidget() is window.search_box
        await settled(window)

    qt_loop.run_until_complete(scenario())


def test_show_deleted_marks_the_deleted_rows(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot)
        model = await settled(window)
        live = model.rowCount()
        window.show_deleted_action.trigger()
        assert model.spec.deleted is DeletedRows.INCLUDE
        await settled(window)
        everything = await ids_for(seeded, "users", QuerySpec(deleted=DeletedRows.INCLUDE))
        assert model.rowCount() == len(everything) > live
        assert model.is_loaded(model.rowCount() - 1)  # one page holds them all
        struck = [
            row
            for row in range(model.rowCount())
            if model.data(model.index(row, 1), Qt.ItemDataRole.FontRole) is not None
        ]
        assert len(struck) == len(everything) - live

    qt_loop.run_until_complete(scenario())


def test_clicking_a_header_sorts_in_the_database(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot)
        model = await settled(window)
        header = window.table.horizontalHeader()
        section = model.column_index("name")
        where = QPoint(header.sectionViewportPosition(section) + 5, header.height() // 2)
        QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=where)
        assert model.spec.sort[0].column == "name"
        await settled(window)
        expected = await ids_for(seeded, "users", QuerySpec(sort=model.spec.sort))
        assert await all_ids(model) == expected
        assert model.spec.sort[0].column == "name"

    qt_loop.run_until_complete(scenario())


def test_relations_back_and_forward(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot)
        model = await settled(window)
        window.table.setCurrentIndex(model.index(0, 0))
        user_id = model.record_id(0)
        assert user_id is not None
        window.related_menu.aboutToShow.emit()
        posts_action = next(a for a in window.related_menu.actions() if a.text() == "Posts")
        posts_action.trigger()

        assert window.entity.name == "posts"
        posts = await settled(window)
        expected = await ids_for(
            seeded, "posts", QuerySpec(filters=(Equals("author_id", user_id),))
        )
        assert shown_ids(posts) == expected
        assert window.filter_bar is not None
        assert window.filter_bar.filters() == (Equals("author_id", user_id),)
        assert window.history.back_action.isEnabled()

        QTest.keySequence(window, window.history.back_action.shortcut())
        assert window.entity.name == "users"
        await settled(window)
        assert window.history.forward_action.isEnabled()
        window.history.forward_action.trigger()
        assert window.entity.name == "posts"
        assert model_of(window).spec.filters == (Equals("author_id", user_id),)

    qt_loop.run_until_complete(scenario())


def test_a_reference_cell_opens_the_referenced_record(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot, "orders")
        model = await settled(window)
        user_cell = model.index(0, model.column_index("user_id"))
        user_id = model.data(user_cell, RAW_VALUE_ROLE)
        window.table.doubleClicked.emit(user_cell)
        assert window.entity.name == "users"
        users = await settled(window)
        assert shown_ids(users) == [user_id]
        window.history.back_action.trigger()
        assert window.entity.name == "orders"

    qt_loop.run_until_complete(scenario())


def test_copy_puts_a_spreadsheet_table_on_the_clipboard(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        service = RecordService(seeded)
        await service.update("accounts", 1, {"name": 'Joint "A"\tsavings'})
        # Written as another program would: a balance moves by transfers only in the app.
        async with seeded.get_session(write=True) as session:
            await session.execute(
                sa_update(Account).where(Account.id == 1).values(balance=Decimal("1234.50"))
            )
        window = open_window(seeded, windows, qtbot, "accounts")
        model = await settled(window)
        for hidden in ("opening_balance", "created_at", "updated_at", "deleted_at", "version"):
            window.table.setColumnHidden(model.column_index(hidden), True)
        select_rows(window.table, 0, 1)
        await window.copying.copy_selection()
        first, second = (await service.browse("accounts", QuerySpec(), OffsetPage(0, 2))).rows
        text = QGuiApplication.clipboard().text()
        assert text == (
            "ID\tOwner\tName\tBalance\n"
            f'{first[0]}\t{first[1]}\t"Joint ""A""\tsavings"\t1234.50\n'
            f"{second[0]}\t{second[1]}\t{second[2]}\t{second[3]}\n"
        )

    qt_loop.run_until_complete(scenario())


def test_layout_sort_and_geometry_are_remembered_per_entity(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot)
        model = await settled(window)
        header = window.table.horizontalHeader()
        window.table.setColumnHidden(model.column_index("hashed_password"), True)
        header.moveSection(header.visualIndex(model.column_index("email")), 0)
        header.resizeSection(model.column_index("name"), 333)
        header.setSortIndicator(model.column_index("email"), Qt.SortOrder.DescendingOrder)
        window.resize(777, 555)
        window.close()

        again = open_window(seeded, windows, qtbot)
        restored = model_of(again)
        assert restored.spec.sort == (SortKey("email", descending=True),)
        header = again.table.horizontalHeader()
        assert header.isSectionHidden(restored.column_index("hashed_password"))
        assert header.visualIndex(restored.column_index("email")) == 0
        assert header.sectionSize(restored.column_index("name")) == 333
        assert (again.width(), again.height()) == (777, 555)
        assert header.sortIndicatorSection() == restored.column_index("email")
        await settled(again)

    qt_loop.run_until_complete(scenario())


def test_main_window_counts_and_opens_independent_windows(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        main = MainWindow("test database", Desk.on(seeded))
        qtbot.addWidget(main)
        main.show()
        names = [entity.name for entity in main.entities]
        await wait_until(
            main.count_loaded,
            lambda: all(main.count_text(name).replace(",", "").isdigit() for name in names),
        )
        users = await RecordService(seeded).count("users", QuerySpec())
        assert main.count_text("users") == f"{users:,}"
        # A record made elsewhere (another service on the database, as the command line
        # in this run would): the count follows the change feed, nobody announces it.
        await RecordService(seeded).create(
            "users", {"email": "new@example.org", "name": "New"}, password="long enough"
        )
        await wait_until(main.count_loaded, lambda: main.count_text("users") == f"{users + 1:,}")

        main.entity_table.selectRow(0)
        main.open_action.trigger()
        main.open_action.trigger()
        first, second = main.browse_windows
        assert first.entity.name == second.entity.name == "users"
        first.search_box.setText("zzz")
        first.on_search_committed()
        assert model_of(first).spec.search == "zzz"
        assert model_of(second).spec.search == ""
        await settled(first)
        await settled(second)
        main.close()
        assert main.browse_windows == []

    qt_loop.run_until_complete(scenario())


def test_enter_opens_the_record_form_and_shift_enter_the_record_with_its_relations(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot)
        model = await settled(window)
        window.table.setFocus()
        window.table.setCurrentIndex(model.index(0, model.column_index("name")))
        user = await RecordService(seeded).get("users", model.record_id(0) or 0)

        QTest.keyClick(window.table, Qt.Key.Key_Return)

        form = window.findChild(RecordFormDialog)
        assert form is not None
        assert form.record_id == user["id"]
        await wait_for(form.loaded)
        assert form.editors["email"].value() == user["email"]
        form.reject()  # unchanged: closes unasked
        # Shift+Enter is View record (offscreen, the window is not active again after a
        # dialog, so Qt would deliver no shortcut: the action is triggered instead).
        assert QKeySequence("Shift+Return") in window.view_action.shortcuts()
        window.view_action.trigger()

        dialog = window.findChild(RecordDetailDialog)
        assert dialog is not None
        assert dialog.isVisible()
        email = dialog.fields["email"]
        assert isinstance(email, QLineEdit)
        assert email.text() == user["email"]
        assert email.isReadOnly()
        orders = next(
            button for button in dialog.findChildren(QPushButton) if button.text() == "Orders"
        )
        orders.click()
        assert window.entity.name == "orders"
        assert model_of(window).spec.filters == (Equals("user_id", user["id"]),)
        await settled(window)

    qt_loop.run_until_complete(scenario())


def test_every_control_has_an_accessible_name(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot)
        await settled(window)
        controls = window.findChildren(QLineEdit) + window.findChildren(QAbstractButton)
        unnamed = [
            control
            for control in controls
            if control.isVisible() and not control.accessibleName() and not control.text()
        ]
        assert unnamed == []
        assert window.table.accessibleName() == "Results"
        assert window.search_box.accessibleName() == "Search"
        assert window.status_label.accessibleName() == "Rows"

    qt_loop.run_until_complete(scenario())


def test_text_typed_just_before_another_change_is_kept(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    """Typing, then Show deleted within the search pause: both make the new view."""

    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot)
        model = await settled(window)
        window.search_box.setFocus()
        QTest.keyClicks(window.search_box, "example")
        window.show_deleted_action.trigger()
        assert window.search_box.text() == "example"
        assert model.spec.search == "example"
        assert model.spec.deleted is DeletedRows.INCLUDE
        await settled(window)

    qt_loop.run_until_complete(scenario())


def test_a_copy_overtaken_by_a_new_search_says_so(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot)
        model = await settled(window)
        model._pages.clear()  # nothing in memory: the copy must fetch
        select_rows(window.table, 0, 5)
        copying = asyncio.ensure_future(window.copying.copy_selection())
        await asyncio.sleep(0)
        window.search_box.setText("zzz")
        window.on_search_committed()
        await copying
        assert window.statusBar().currentMessage().startswith("Nothing was copied: the rows")
        await settled(window)

    qt_loop.run_until_complete(scenario())


def test_a_place_not_yet_restored_is_forgotten_when_the_query_changes(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot)
        await settled(window)
        # Back to a place whose rows were not there yet (its count still running)…
        window.history._pending = replace(window.history.current_place(), top_row=40)
        window.search_box.setText("example")
        window.on_search_committed()  # …and a new search before they came
        await settled(window)
        assert window.table.rowAt(0) == 0  # the new result is not scrolled to the old place

    qt_loop.run_until_complete(scenario())


def test_rows_carry_no_second_number_and_their_headers_still_select_them(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot)
        model = await settled(window)
        rows = window.table.verticalHeader()
        assert rows.isVisible()
        shown = [model.headerData(r, Qt.Orientation.Vertical) for r in range(model.rowCount())]
        assert shown == [None] * model.rowCount()  # the ID column is the only number
        assert 0 < rows.width() < window.table.columnWidth(model.column_index("id"))

        middle = rows.sectionViewportPosition(2) + rows.sectionSize(2) // 2
        handle = QPoint(rows.width() // 2, middle)
        QTest.mouseClick(rows.viewport(), Qt.MouseButton.LeftButton, pos=handle)

        selection = window.table.selectionModel()
        assert selection.isRowSelected(2)
        assert not selection.isRowSelected(1)
        assert {index.column() for index in selection.selectedIndexes()} == set(
            range(model.columnCount())
        )

    qt_loop.run_until_complete(scenario())


def test_columns_take_their_widths_from_the_first_rows_within_bounds(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot)
        model = await settled(window)
        header = window.table.horizontalHeader()
        metrics = window.table.fontMetrics()
        char = metrics.averageCharWidth()
        email = model.column_index("email")
        emails = [model.data(model.index(row, email)) for row in range(model.rowCount())]
        widest = max(metrics.horizontalAdvance(text) for text in emails)
        assert widest < CONTENT_WIDTH_CHARS[1] * char  # the bound leaves email whole
        assert widest < header.sectionSize(email) <= widest + 4 * char  # whole, not roomy
        # A one-digit id still gets a column wide enough to read its label and click.
        narrowest = CONTENT_WIDTH_CHARS[0] * char
        assert header.sectionSize(model.column_index("id")) >= narrowest

        posts = open_window(seeded, windows, qtbot, "posts")
        post_model = await settled(posts)
        content = posts.table.horizontalHeader().sectionSize(post_model.column_index("content"))
        assert content == CONTENT_WIDTH_CHARS[1] * char  # paragraphs stop at the bound

    qt_loop.run_until_complete(scenario())


def test_widths_the_user_chose_win_over_the_rows(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, windows: list[BrowseWindow], qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = open_window(seeded, windows, qtbot)
        model = await settled(window)
        email = model.column_index("email")
        sized = window.table.horizontalHeader().sectionSize(email)
        window.close()
        again = open_window(seeded, windows, qtbot)
        # Never chosen, so nothing saved: the rows size it again, the same way.
        await settled(again)
        assert again.table.horizontalHeader().sectionSize(email) == sized
        again.table.horizontalHeader().resizeSection(email, 55)  # as a drag does
        again.close()

        chosen = open_window(seeded, windows, qtbot)
        assert chosen.table.horizontalHeader().sectionSize(email) == 55
        await settled(chosen)  # the rows arrive and leave it be
        assert chosen.table.horizontalHeader().sectionSize(email) == 55

    qt_loop.run_until_complete(scenario())
