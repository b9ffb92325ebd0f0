"""Back and Forward restore the place (issue 6, item 7): not just the query but the rows in
view, the selected cells and the current cell, as soon as the result has those rows — on
both engines."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest
from PySide6.QtCore import QItemSelection, QItemSelectionModel
from PySide6.QtWidgets import QAbstractItemView
from pytestqt.qtbot import QtBot

from app.core.database import Database
from app.models import Post
from app.query import Equals
from app.services.records import RecordService
from tests.ui.conftest import wait_until
from tests.ui.helpers import (
    ModelWatch,
    model_of,
    open_window,
    seed_users,
    settled,
)
from ui import record_table_model
from ui.browse_window import BrowseWindow
from ui.history import Place
from ui.selection import CellBlock

# Row 154 of the users (by id, none deleted) is user 155, who wrote enough posts to scroll.
AUTHOR_ROW = 154
AUTHOR_ID = AUTHOR_ROW + 1
POSTS = 60


async def add_posts(database: Database, author_id: int, count: int) -> None:
    async with database.get_session(write=True) as session:
        session.add_all(
            Post(title=f"Post {number}", content="…", author_id=author_id)
            for number in range(count)
        )


def go_to(window: BrowseWindow, top_row: int, block: CellBlock, current: tuple[int, int]) -> None:
    """Scroll so ``top_row`` is the first row in view, select a block of cells and make
    one cell current, as the user would with the mouse."""
    model = model_of(window)
    table = window.table
    table.scrollTo(model.index(top_row, 0), QAbstractItemView.ScrollHint.PositionAtTop)
    top, left, bottom, right = block
    table.selectionModel().select(
        QItemSelection(model.index(top, left), model.index(bottom, right)),
        QItemSelectionModel.SelectionFlag.ClearAndSelect,
    )
    table.selectionModel().setCurrentIndex(
        model.index(*current), QItemSelectionModel.SelectionFlag.NoUpdate
    )


def where(place: Place) -> tuple[int, tuple[int, int] | None, tuple[CellBlock, ...]]:
    return place.top_row, place.current, place.selection


async def rows_exist(window: BrowseWindow, *rows: int) -> None:
    """Wait until the result is counted and ``rows`` are loaded (the view in front of them
    asks for them as it paints; asked here too, so the wait does not hang on a paint)."""
    model = await settled(window)
    for row in rows:
        model.data(model.index(row, 0))
        await wait_until(model.rows_loaded, partial(model.is_loaded, row))


@pytest.mark.parametrize("page_size", [200, 10], ids=["in_the_first_page", "pages_later"])
def test_back_and_forward_restore_the_rows_in_view_the_selection_and_the_current_cell(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    monkeypatch: pytest.MonkeyPatch,
    page_size: int,
) -> None:
    # With pages of 10 rows, the rows of a place come pages after the first ones: the
    # place is restored once the count says they exist, and the view then loads them.
    monkeypatch.setattr(record_table_model, "PAGE_SIZE", page_size)
    seed_users(qt_loop, ui_database, 300)
    qt_loop.run_until_complete(add_posts(ui_database, AUTHOR_ID, POSTS))

    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, testers)
        await settled(window)
        go_to(window, 150, (152, 1, 155, 3), (AUTHOR_ROW, 2))
        await rows_exist(window, AUTHOR_ROW)
        users_place = window.history.current_place()
        assert where(users_place) == (150, (AUTHOR_ROW, 2), ((152, 1, 155, 3),))

        window.related_menu.aboutToShow.emit()
        posts_action = next(a for a in window.related_menu.actions() if a.text() == "Posts")
        posts_action.trigger()
        testers.attach(model_of(window))
        assert model_of(window).spec.filters == (Equals("author_id", AUTHOR_ID),)
        await settled(window)
        go_to(window, 20, (22, 0, 24, 1), (23, 1))
        posts_place = window.history.current_place()
        assert where(posts_place) == (20, (23, 1), ((22, 0, 24, 1),))

        window.history.back_action.trigger()
        testers.attach(model_of(window))
        assert window.entity.name == "users"
        await rows_exist(window, 150)
        assert window.table.rowAt(0) == 150
        assert where(window.history.current_place()) == where(users_place)
        assert window.table.currentIndex().row() == AUTHOR_ROW

        window.history.forward_action.trigger()
        testers.attach(model_of(window))
        assert window.entity.name == "posts"
        await rows_exist(window, 20)
        assert window.table.rowAt(0) == 20
        assert where(window.history.current_place()) == where(posts_place)

    qt_loop.run_until_complete(scenario())
