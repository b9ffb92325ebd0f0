"""The record window opens at once from the row in the table (which may hold only previews of
long text), then loads the full record; a 5 MB post or a 200,000-character line loads without
holding the window (issue 6, item 6). Hidden fields stay hidden unless asked for; a failure
is a readable line in the dialog."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit
from sqlalchemy import update

from app.core.database import Database
from app.models import User
from app.services.catalog import EntityInfo, entity
from app.services.records import RecordService
from tests.ui.conftest import seed, wait_for
from ui.dialogs.record_detail import RecordDetailDialog
from ui.widgets.long_text import DISPLAY_LINE_LIMIT, LongTextView

POSTS = entity("posts")
USERS = entity("users")
PARAGRAPH = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua; ünïcödé ✓ 😀.\n"
)
# Prose with pasted blobs (an image in base64): a run of 200,000 characters without a space
# costs Qt seconds to wrap. The dialog before this change took 6.2 s to open this post.
BLOCK = PARAGRAPH * 500 + "QUJD" * 50_000 + "\n"
FIVE_MB = BLOCK * (5_000_000 // len(BLOCK) + 1)
ONE_LINE = "N" * 200_000
# The longest the event loop may be held by any one step of opening and filling a dialog.
# The budget is 30 ms (DESIGN.md); on a loaded shared box these tests measure 10-40 ms for
# the long line and up to ~170 ms for the 5 MB post (the first dialog's one-time widget
# set-up, and the driver reading 5 MB), while the dialog before this change held the loop
# 2-6 s. Tests never assert tight times: 500 ms is 3 times the worst seen, 4 times under
# the smallest naive stall.
STALL_BOUND_S = 0.5


class StallMeter:
    """The longest gap between ticks of a 1 ms Qt timer while it runs: how long the event
    loop was held by one step (ours or Qt's layout and paint)."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(1)
        self.timer.timeout.connect(self.on_timer_timeout)
        self.longest = 0.0
        self._last = 0.0

    async def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()
        await wait_for(self.timer.timeout)

    async def stop(self) -> float:
        await wait_for(self.timer.timeout)  # the step before counts too
        self.timer.stop()
        return self.longest

    def on_timer_timeout(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last)
        self._last = now


@pytest.fixture
def seeded(qt_loop: asyncio.AbstractEventLoop, ui_database: Database) -> Database:
    seed(qt_loop, ui_database, 3, posts_per_user=2.0, deleted_fraction=0.0)
    return ui_database


@pytest.fixture
def dialogs() -> Iterator[list[RecordDetailDialog]]:
    made: list[RecordDetailDialog] = []
    yield made
    for dialog in made:
        if not dialog.load_task.done():
            dialog.load_task.cancel()


def preview_row(info: EntityInfo, record: dict[str, Any], chars: int) -> tuple[Any, ...]:
    """The row as the grid hands it over: long text cut to a preview of ``chars``."""
    return tuple(
        value[:chars] + "…" if isinstance(value, str) and len(value) > chars else value
        for value in (record[name] for name in info.column_names)
    )


async def first_id(records: RecordService, name: str) -> int:
    rows = await records.lookup(name, "", limit=1)
    return rows[0][0]


async def open_measured(
    info: EntityInfo, row: tuple[Any, ...], records: RecordService, made: list[RecordDetailDialog]
) -> tuple[RecordDetailDialog, float]:
    meter = StallMeter()
    await meter.start()
    dialog = RecordDetailDialog(info, row, records)
    made.append(dialog)
    loaded = asyncio.ensure_future(wait_for(dialog.loaded))
    dialog.resize(700, 600)
    dialog.show()
    await loaded
    return dialog, await meter.stop()


def whole_text(view: LongTextView) -> str:
    view.selectAll()
    return view.selected_text()


def test_a_five_megabyte_post_opens_at_once_and_fills_without_a_stall(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, dialogs: list[RecordDetailDialog]
) -> None:
    records = RecordService(seeded)

    async def scenario() -> None:
        post_id = await first_id(records, "posts")
        post = await records.update("posts", post_id, {"content": FIVE_MB})
        row = preview_row(POSTS, post, 200)

        dialog, longest = await open_measured(POSTS, row, records, dialogs)

        content = dialog.fields["content"]
        assert isinstance(content, LongTextView)
        assert content.isReadOnly()
        assert whole_text(content) == FIVE_MB
        assert not dialog.status_label.isVisible()
        assert longest < STALL_BOUND_S, f"the loop was held {longest * 1000:.0f} ms"

    qt_loop.run_until_complete(scenario())


def test_a_line_of_200000_characters_opens_without_a_stall(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, dialogs: list[RecordDetailDialog]
) -> None:
    """A short preview (a one-line field at first) whose full value is one huge line."""
    records = RecordService(seeded)

    async def scenario() -> None:
        post_id = await first_id(records, "posts")
        post = await records.update("posts", post_id, {"content": ONE_LINE})
        row = preview_row(POSTS, post, 40)

        meter = StallMeter()
        await meter.start()
        dialog = RecordDetailDialog(POSTS, row, records)
        dialogs.append(dialog)
        assert isinstance(dialog.fields["content"], QLineEdit)  # the preview fits one line
        loaded = asyncio.ensure_future(wait_for(dialog.loaded))
        dialog.show()
        await loaded
        longest = await meter.stop()

        content = dialog.fields["content"]
        assert isinstance(content, LongTextView)
        # Shown cut into lines Qt can lay out quickly, copied whole.
        assert content.blockCount() == len(ONE_LINE) // DISPLAY_LINE_LIMIT
        assert whole_text(content) == ONE_LINE
        assert longest < STALL_BOUND_S, f"the loop was held {longest * 1000:.0f} ms"

    qt_loop.run_until_complete(scenario())


@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_a_name_of_200000_characters_opens_without_a_stall(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, dialogs: list[RecordDetailDialog]
) -> None:
    """SQLite only: PostgreSQL's VARCHAR(100) refuses such a name, which SQLite stores."""
    records = RecordService(seeded)

    async def scenario() -> None:
        user_id = await first_id(records, "users")
        # Written as another program would: the app's own forms keep to 100 characters.
        async with seeded.get_session(write=True) as session:
            await session.execute(update(User).where(User.id == user_id).values(name=ONE_LINE))
        user = await records.get("users", user_id)
        dialog, longest = await open_measured(
            USERS, preview_row(USERS, user, 200), records, dialogs
        )

        name = dialog.fields["name"]
        assert isinstance(name, LongTextView)
        assert whole_text(name) == ONE_LINE
        assert len(dialog.windowTitle()) < 150  # not a 200,000-character title bar
        assert longest < STALL_BOUND_S, f"the loop was held {longest * 1000:.0f} ms"

    qt_loop.run_until_complete(scenario())


def test_the_password_hash_is_hidden_unless_asked_for(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, dialogs: list[RecordDetailDialog]
) -> None:
    records = RecordService(seeded)

    async def scenario() -> None:
        user = await records.get("users", await first_id(records, "users"))
        dialog, _ = await open_measured(USERS, preview_row(USERS, user, 200), records, dialogs)

        hashed = dialog.fields["hashed_password"]
        assert not hashed.isVisible()
        assert dialog.fields["email"].isVisible()
        box = dialog.show_hidden_box
        assert box is not None
        assert box.isVisible()
        assert box.accessibleName() == box.text() == "Show hidden fields"
        assert not box.isChecked()

        box.click()
        assert hashed.isVisible()
        assert isinstance(hashed, QLineEdit)
        assert hashed.text() == user["hashed_password"]
        box.click()
        assert not hashed.isVisible()

    qt_loop.run_until_complete(scenario())


def test_every_control_is_named_as_it_is_labelled(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, dialogs: list[RecordDetailDialog]
) -> None:
    records = RecordService(seeded)

    async def scenario() -> None:
        post = await records.get("posts", await first_id(records, "posts"))
        dialog, _ = await open_measured(POSTS, preview_row(POSTS, post, 200), records, dialogs)

        assert dialog.show_hidden_box is None  # posts hide nothing
        for column in POSTS.columns:
            widget = dialog.fields[column.name]
            assert widget.accessibleName() == column.label
            row = widget.parentWidget()
            assert row is not None
            label = dialog.form.labelForField(row)
            assert isinstance(label, QLabel)
            assert label.text() == column.label
        buttons = dialog.findChildren(QAbstractButton)
        assert {button.text() for button in buttons} >= {"Open author", "Close"}
        for button in buttons:
            assert button.accessibleName() == button.text().replace("&", "")

    qt_loop.run_until_complete(scenario())


def test_a_record_that_cannot_be_loaded_is_a_line_in_the_dialog(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, dialogs: list[RecordDetailDialog]
) -> None:
    records = RecordService(seeded)

    async def scenario() -> None:
        post = await records.get("posts", await first_id(records, "posts"))
        row = preview_row(POSTS, {**post, "id": 999_999}, 200)  # deleted for good meanwhile
        dialog = RecordDetailDialog(POSTS, row, records)
        dialogs.append(dialog)
        failed = asyncio.ensure_future(wait_for(dialog.load_failed))
        dialog.show()

        (message,) = await failed
        assert message == "Could not load the full record: Post 999999 does not exist."
        assert dialog.status_label.text() == message
        assert dialog.status_label.isVisible()
        title = dialog.fields["title"]
        assert isinstance(title, QLineEdit)
        assert title.text() == post["title"]  # the row's values stay

    qt_loop.run_until_complete(scenario())


def test_a_bug_while_loading_is_a_line_and_a_report(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, dialogs: list[RecordDetailDialog]
) -> None:
    records = RecordService(seeded)
    reported: list[BaseException] = []

    class Broken(RecordService):
        async def get(self, entity: str, record_id: int) -> dict[str, Any]:
            raise KeyError("a bug of ours")

    qt_loop.set_exception_handler(lambda _loop, context: reported.append(context["exception"]))

    async def scenario() -> None:
        post = await records.get("posts", await first_id(records, "posts"))
        dialog = RecordDetailDialog(POSTS, preview_row(POSTS, post, 200), Broken(seeded))
        dialogs.append(dialog)
        messages: list[str] = []
        dialog.load_failed.connect(messages.append)  # before the load's first turn
        dialog.show()
        await asyncio.wait({dialog.load_task})
        await asyncio.sleep(0)  # the task's failure reaches the hook on the next turn

        assert messages == ["Could not load the full record; the details are in the log."]
        assert [type(error) for error in reported] == [KeyError]

    try:
        qt_loop.run_until_complete(scenario())
    finally:
        qt_loop.set_exception_handler(None)


def test_closing_stops_filling_the_fields(
    qt_loop: asyncio.AbstractEventLoop, seeded: Database, dialogs: list[RecordDetailDialog]
) -> None:
    records = RecordService(seeded)

    async def scenario() -> None:
        post_id = await first_id(records, "posts")
        post = await records.update("posts", post_id, {"content": FIVE_MB})
        dialog = RecordDetailDialog(POSTS, preview_row(POSTS, post, 200), records)
        task = dialog.load_task
        dialog.show()
        dialog.close()
        await asyncio.wait({task})
        assert task.cancelled()

    qt_loop.run_until_complete(scenario())
