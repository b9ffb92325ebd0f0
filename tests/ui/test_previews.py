"""Huge values never freeze the window (issue 6, item 6): the grid's pages carry a bounded
preview of long text — a 5 MB post, a 200,000-character name — shown as one line ending in
"…" with a tooltip saying there is more, while copy puts the whole value on the clipboard —
on both engines."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import update

from app.core.database import Database
from app.models import User
from app.query import QuerySpec
from tests.ui.conftest import seed
from tests.ui.helpers import (
    ModelWatch,
    RecordingService,
    all_rows,
    cell,
    open_window,
    raw,
    settled,
)
from ui.browse_window import BrowseWindow
from ui.record_table_model import PREVIEW_CHARS, RecordTableModel, is_cut

FIVE_MB = 5 * 1024 * 1024
LONG_NAME_CHARS = 200_000


def five_megabyte_post() -> str:
    """Paragraphs of text, 5 MB in all, with an end that only the whole value has."""
    paragraph = "A long post keeps going, paragraph after paragraph, about nothing much. " * 20
    paragraphs = (paragraph + "\n") * (FIVE_MB // (len(paragraph) + 1))
    return paragraphs + "And this is where it finally ends."


def assert_shown_as_a_preview(model: RecordTableModel, row: int, column: str) -> None:
    preview = raw(model, row, column)
    assert is_cut(preview)
    assert len(preview) == PREVIEW_CHARS + 1  # what the page carried: a prefix, not the value
    shown = cell(model, row, column)
    assert "\n" not in shown  # one line
    assert shown.endswith("…")
    assert len(shown) < 2 * PREVIEW_CHARS
    assert "Long text" in cell(model, row, column, Qt.ItemDataRole.ToolTipRole)


async def copied_cell(window: BrowseWindow, row: int, column: str) -> str:
    model = window.model
    assert model is not None
    index = model.index(row, model.column_index(column))
    window.table.selectionModel().select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    await window.copying.copy_selection()
    return QGuiApplication.clipboard().text()


def test_a_five_megabyte_post_arrives_as_a_preview_and_copies_whole(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
) -> None:
    seed(qt_loop, ui_database, 3, deleted_fraction=0, posts_per_user=2)
    content = five_megabyte_post()
    assert len(content) >= FIVE_MB - PREVIEW_CHARS
    service = RecordingService(ui_database)

    async def scenario() -> None:
        posts = await all_rows(ui_database, "posts", QuerySpec())
        post_id = posts[1][0]
        await service.update("posts", post_id, {"content": content})
        window = open_window(service, windows, qtbot, testers, "posts")
        model = await settled(window)
        row = next(r for r in range(model.rowCount()) if model.record_id(r) == post_id)

        content_column = model.column_index("content")
        assert service.previews
        assert set(service.previews) == {PREVIEW_CHARS}
        carried = [len(values[content_column]) for page in service.pages for values in page.rows]
        assert max(carried) == PREVIEW_CHARS + 1
        assert_shown_as_a_preview(model, row, "content")
        assert not is_cut(raw(model, row, "title"))

        clipboard = await copied_cell(window, row, "content")

        assert clipboard == f'Content\n"{content}"\n'  # quoted: it holds line breaks
        assert service.values_calls == [([post_id], ["content"])]

    qt_loop.run_until_complete(scenario())


def test_a_name_of_200_000_characters_arrives_as_a_preview_and_copies_whole(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
) -> None:
    seed(qt_loop, ui_database, 3, deleted_fraction=0)
    name = ("Wolfeschlegelsteinhausenbergerdorff " * (LONG_NAME_CHARS // 36 + 1))[:LONG_NAME_CHARS]
    service = RecordingService(ui_database)

    async def scenario() -> None:
        users = await all_rows(ui_database, "users", QuerySpec())
        user_id = users[0][0]
        if ui_database.is_sqlite:
            # SQLite holds any length (another program may have written it); the app's
            # own forms refuse more than the column's 100 characters.
            async with ui_database.get_session(write=True) as session:
                await session.execute(update(User).where(User.id == user_id).values(name=name))
            expected = name
        else:
            # PostgreSQL's varchar(100) refuses such a name: its longest name is the test.
            expected = "N" * 100
            await service.update("users", user_id, {"name": expected})
        window = open_window(service, windows, qtbot, testers)
        model = await settled(window)

        if ui_database.is_sqlite:
            assert len(expected) == LONG_NAME_CHARS
            assert_shown_as_a_preview(model, 0, "name")
        else:
            assert raw(model, 0, "name") == expected  # short enough to arrive whole
            assert cell(model, 0, "name", Qt.ItemDataRole.ToolTipRole) is None

        clipboard = await copied_cell(window, 0, "name")

        assert clipboard == f"Name\n{expected}\n"

    qt_loop.run_until_complete(scenario())
