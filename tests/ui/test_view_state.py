"""One owner of "what I am looking at" (issue 6, items 8 and 11): every control of a browse
window — the header's sort indicator, moving and hiding its sections, the search box, the
show-deleted toggle, the filter bar — makes a new ViewState that the model holds; only a
change of the query re-queries, a change of columns never resets the model; the saved
layout brings the columns back in order; the password hash is hidden until asked for — on
both engines."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QRadioButton
from pytestqt.qtbot import QtBot

from app.core.database import Database
from app.query import DeletedRows, Equals, SortKey, ViewState
from app.services.export import ExportRequest
from app.services.records import RecordService
from tests.ui.conftest import seed, settle
from tests.ui.helpers import (
    USERS,
    ModelWatch,
    RecordingService,
    all_rows,
    model_of,
    open_window,
    raw,
    settled,
)
from ui.browse_window import BrowseWindow
from ui.record_table_model import RecordTableModel
from ui.window_state import WindowState, default_columns, state_settings


@pytest.fixture
def seeded(qt_loop: asyncio.AbstractEventLoop, ui_database: Database) -> Database:
    seed(qt_loop, ui_database, 60, deleted_fraction=0.1, posts_per_user=0, orders_per_user=0)
    return ui_database


def section(name: str) -> int:
    return USERS.column_names.index(name)


def header_columns(window: BrowseWindow) -> tuple[str, ...]:
    """The columns the header shows, in on-screen order."""
    header = window.table.horizontalHeader()
    shown = [
        (header.visualIndex(number), name)
        for number, name in enumerate(USERS.column_names)
        if not header.isSectionHidden(number)
    ]
    return tuple(name for _, name in sorted(shown))


def click_sort_indicator(window: BrowseWindow) -> None:
    header = window.table.horizontalHeader()
    header.setSortIndicator(section("email"), Qt.SortOrder.DescendingOrder)


def move_email_first(window: BrowseWindow) -> None:
    header = window.table.horizontalHeader()
    header.moveSection(header.visualIndex(section("email")), 0)


def hide_name(window: BrowseWindow) -> None:
    window.table.horizontalHeader().setSectionHidden(section("name"), True)


def type_a_search(window: BrowseWindow) -> None:
    QTest.mouseClick(window.search_box, Qt.MouseButton.LeftButton)  # the cursor goes there
    QTest.keyClicks(window.search_box, "example")
    QTest.keyClick(window.search_box, Qt.Key.Key_Return)


def toggle_show_deleted(window: BrowseWindow) -> None:
    window.show_deleted_action.trigger()


def filter_active_users(window: BrowseWindow) -> None:
    bar = window.filter_bar
    assert bar is not None
    (active,) = [a for a in bar.add_filter_menu.actions() if a.text() == "Active"]
    active.trigger()
    assert bar.editor is not None
    (yes,) = [b for b in bar.editor.findChildren(QRadioButton) if b.accessibleName() == "Yes"]
    yes.click()
    bar.editor.apply_button.click()


def without(columns: tuple[str, ...], name: str) -> tuple[str, ...]:
    return tuple(column for column in columns if column != name)


Change = Callable[[ViewState], ViewState]
CONTROLS: list[tuple[Callable[[BrowseWindow], None], Change, bool]] = [
    (
        click_sort_indicator,
        lambda v: replace(v, spec=replace(v.spec, sort=(SortKey("email", descending=True),))),
        True,
    ),
    (
        move_email_first,
        lambda v: replace(v, columns=("email", *without(v.columns, "email"))),
        False,
    ),
    (hide_name, lambda v: replace(v, columns=without(v.columns, "name")), False),
    (type_a_search, lambda v: replace(v, spec=replace(v.spec, search="example")), True),
    (
        toggle_show_deleted,
        lambda v: replace(v, spec=replace(v.spec, deleted=DeletedRows.INCLUDE)),
        True,
    ),
    (
        filter_active_users,
        lambda v: replace(v, spec=replace(v.spec, filters=(Equals("is_active", True),))),
        True,
    ),
]


@pytest.mark.parametrize(
    ("control", "change", "requeries"),
    CONTROLS,
    ids=["sort_indicator", "move_section", "hide_section", "search_box", "show_deleted", "filter"],
)
def test_each_control_makes_a_new_view_and_only_a_new_query_requeries(
    qt_loop: asyncio.AbstractEventLoop,
    seeded: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    control: Callable[[BrowseWindow], None],
    change: Change,
    requeries: bool,
) -> None:
    service = RecordingService(seeded)

    async def scenario() -> None:
        window = open_window(service, windows, qtbot, testers)
        model = await settled(window)
        before = window.view
        resets: list[None] = []
        model.modelReset.connect(lambda: resets.append(None))
        service.forget()

        control(window)

        after = window.view
        assert after == change(before)
        assert after is not before
        assert model_of(window) is model  # the same model shows the new view …
        assert model.view is after  # … and holds it: one owner
        assert header_columns(window) == after.columns
        assert window.search_box.text() == after.spec.search
        assert window.show_deleted_action.isChecked() == (
            after.spec.deleted is not DeletedRows.EXCLUDE
        )
        assert window.filter_bar is not None
        assert window.filter_bar.filters() == after.spec.filters
        assert len(resets) == (1 if requeries else 0)
        if requeries:
            await settled(window)
            assert service.specs
            assert set(service.specs) == {after.spec}
            expected = [row[0] for row in await all_rows(seeded, "users", after.spec)]
            assert [raw(model, row, "id") for row in range(model.rowCount())] == expected
        else:
            await settle()
            assert service.requests == []  # the same rows, still in memory
            assert model.is_loaded(0)
        assert window.view is after  # nothing rebuilt it from the widgets meanwhile

    qt_loop.run_until_complete(scenario())


def test_the_saved_layout_brings_the_columns_back_in_their_order(
    qt_loop: asyncio.AbstractEventLoop,
    seeded: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
) -> None:
    async def scenario() -> None:
        window = open_window(RecordService(seeded), windows, qtbot, testers)
        await settled(window)
        move_email_first(window)
        window.columns_menu.aboutToShow.emit()
        (name,) = [a for a in window.columns_menu.actions() if a.text() == "Name"]
        name.trigger()  # unticked: hidden
        saved = window.view.columns
        assert saved[0] == "email"
        assert "name" not in saved
        window.close()

        again = open_window(RecordService(seeded), windows, qtbot, testers, "users", WindowState())
        assert again.view.columns == saved
        assert header_columns(again) == saved
        await settled(again)

    qt_loop.run_until_complete(scenario())


def test_the_password_hash_is_hidden_until_shown_from_the_columns_menu(
    qt_loop: asyncio.AbstractEventLoop,
    seeded: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
) -> None:
    async def scenario() -> None:
        window = open_window(RecordingService(seeded), windows, qtbot, testers)
        model: RecordTableModel = await settled(window)
        header = window.table.horizontalHeader()
        label = USERS.column("hashed_password").label
        assert USERS.column("hashed_password").hidden_by_default
        assert "hashed_password" not in default_columns(USERS)
        assert "hashed_password" not in window.view.columns
        assert header.isSectionHidden(section("hashed_password"))
        window.columns_menu.aboutToShow.emit()
        ticks = {a.text(): a.isChecked() for a in window.columns_menu.actions()}
        assert ticks[label] is False
        bookkeeping = {"Deleted", "Version"}  # hidden by default too (the test below)
        assert all(ticked for text, ticked in ticks.items() if text not in {label, *bookkeeping})
        resets: list[None] = []
        model.modelReset.connect(lambda: resets.append(None))

        (show,) = [a for a in window.columns_menu.actions() if a.text() == label]
        show.trigger()

        columns = window.view.columns
        assert "hashed_password" in columns
        assert columns.index("hashed_password") == columns.index("name") + 1  # table order
        assert not header.isSectionHidden(section("hashed_password"))
        assert header_columns(window) == columns
        assert resets == []
        window.columns_menu.aboutToShow.emit()
        assert {a.text(): a.isChecked() for a in window.columns_menu.actions()}[label]

    qt_loop.run_until_complete(scenario())


def test_bookkeeping_columns_wait_in_the_columns_menu_until_asked_for(
    qt_loop: asyncio.AbstractEventLoop,
    seeded: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
) -> None:
    async def scenario() -> None:
        window = open_window(RecordService(seeded), windows, qtbot, testers)
        await settled(window)
        bookkeeping = ("deleted_at", "version")
        assert all(USERS.column(name).internal for name in bookkeeping)
        assert not USERS.column("updated_at").internal  # when it changed: the analyst's
        assert not any(name in window.view.columns for name in bookkeeping)
        assert all(window.table.isColumnHidden(section(name)) for name in bookkeeping)
        assert "updated_at" in window.view.columns
        # Visible columns are what an export of visible columns writes; all columns
        # writes the bookkeeping too (it is no secret, unlike the password hash).
        assert ExportRequest(window.view).columns(window.entity) == window.view.columns
        everything = ExportRequest(window.view, all_columns=True).columns(window.entity)
        assert set(bookkeeping) <= set(everything)
        assert "hashed_password" not in everything

        window.columns_menu.aboutToShow.emit()
        ticks = {a.text(): a.isChecked() for a in window.columns_menu.actions()}
        assert (ticks["Deleted"], ticks["Version"]) == (False, False)
        (version,) = [a for a in window.columns_menu.actions() if a.text() == "Version"]
        version.trigger()
        assert window.view.columns[-1] == "version"
        assert not window.table.isColumnHidden(section("version"))
        window.close()

        # Asked for in this run, it stays in the saved layout.
        again = open_window(RecordService(seeded), windows, qtbot, testers, "users", WindowState())
        assert again.view.columns[-1] == "version"
        assert "deleted_at" not in again.view.columns
        await settled(again)

    qt_loop.run_until_complete(scenario())


def test_a_layout_saved_before_bookkeeping_was_hidden_does_not_bring_it_back() -> None:
    settings = state_settings()
    # As an older run saved it: every column it showed, and no note of what was hidden.
    older = ("email", "id", "name", "updated_at", "deleted_at", "version", "hashed_password")
    settings.setValue("users/columns", ",".join(older))
    settings.sync()

    assert WindowState().known_columns(USERS) == (
        "email",
        "id",
        "name",
        "updated_at",
        "hashed_password",  # a secret was hidden then too: shown then because asked for
    )
