"""Counts never contradict each other (issue 6, item 3): once the row count is exact, only a
real recount changes it — a short page that disagrees asks for one — and a jump past the
end of an estimate that was too high settles on the real last row in at most two queries,
with the count exact from then on — on both engines."""

from __future__ import annotations

import asyncio

import pytest
from pytestqt.modeltest import ModelTester
from sqlalchemy import text

from app.core.database import Database
from app.query import OffsetPage, QuerySpec
from tests.ui.conftest import settle, wait_until
from tests.ui.helpers import (
    USERS,
    ModelWatch,
    RecordingService,
    all_rows,
    raw,
    seed_users,
    show_row,
    statements_run,
    wait_exact,
)
from ui.record_table_model import CountState, RecordTableModel


class CountingService(RecordingService):
    """Remembers the last exact count the database gave."""

    last_count: int | None = None

    async def count(self, entity: str, spec: QuerySpec) -> int:
        counted = await super().count(entity, spec)
        self.last_count = counted
        return counted


class HighEstimate(RecordingService):
    """An estimate 500 rows above the truth (PostgreSQL's planner can be that far off), and
    an exact count that waits until the test lets it through."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.count_released = asyncio.Event()

    async def estimate_count(self, entity: str, spec: QuerySpec) -> int | None:
        return await RecordingService(self.database).count(entity, spec) + 500

    async def count(self, entity: str, spec: QuerySpec) -> int:
        await self.count_released.wait()
        return await super().count(entity, spec)


async def delete_behind_the_models_back(database: Database, first_id: int) -> None:
    async with database.get_session(write=True) as session:
        await session.execute(
            text("UPDATE users SET deleted_at = updated_at, version = version + 1 WHERE id >= :id"),
            {"id": first_id},
        )


@pytest.mark.parametrize("row", [70, 80], ids=["short_page", "empty_page"])
def test_a_short_page_never_shrinks_an_exact_count_only_a_recount_does(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtmodeltester: ModelTester,
    small_pages: None,
    row: int,
) -> None:
    seed_users(qt_loop, ui_database, 95)
    service = CountingService(ui_database)

    async def scenario() -> None:
        model = ModelWatch(qtmodeltester).attach(RecordTableModel(service, USERS))
        seen: list[tuple[CountState, int, int | None]] = []
        model.count_changed.connect(
            lambda: seen.append((model.count_state, model.rowCount(), service.last_count))
        )
        await wait_exact(model)
        await settle()
        assert model.rowCount() == 95
        # Only pages far from the row asked for stay cached: a cached neighbour would
        # serve it by keyset from rows that are no longer where they were (no model can
        # tell, and PostgreSQL's stale planner estimate can make the tester ask for the
        # last page early).
        for shown_row in (10, 20, 30):
            await show_row(model, shown_row)
        assert not any(model.is_loaded(r) for r in (row - 1, row + 10, 90))
        await delete_behind_the_models_back(ui_database, 76)  # rows 75..94 go

        model.data(model.index(row, 0))  # five rows or none come back where ten were expected
        try:
            await wait_until(model.count_changed, lambda: model.rowCount() == 75)
        except TimeoutError:
            raise AssertionError(
                f"no recount: error={model.error!r} state={model.count_state} "
                f"rows={model.rowCount()} counts={service.count_calls} "
                f"requests={service.requests} seen={seen}"
            ) from None

        assert model.count_state is CountState.EXACT
        assert service.count_calls == 2  # the first count, then one real recount
        exact = [(count, counted) for state, count, counted in seen if state is CountState.EXACT]
        assert exact, "the count never became exact"
        contradictions = [(count, counted) for count, counted in exact if count != counted]
        assert contradictions == []  # an exact count is always the database's last answer
        shown = [count for count, _ in exact]
        assert shown == sorted(shown, reverse=True)  # 95 … then 75, never back
        assert set(shown) == {95, 75}
        await show_row(model, 74)
        rows = await all_rows(ui_database, "users", QuerySpec())
        assert raw(model, 74, "id") == rows[74][0]

    qt_loop.run_until_complete(scenario())


def test_a_jump_past_an_estimate_that_is_too_high_settles_on_the_real_last_row(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtmodeltester: ModelTester,
    small_pages: None,
) -> None:
    seed_users(qt_loop, ui_database, 95)
    service = HighEstimate(ui_database)

    async def scenario() -> None:
        model = ModelWatch(qtmodeltester).attach(RecordTableModel(service, USERS))
        await wait_until(model.count_changed, lambda: model.count_state is CountState.ESTIMATED)
        await wait_until(model.rows_loaded, lambda: model.is_loaded(0))
        assert model.rowCount() == 595
        seen: list[tuple[CountState, int]] = []
        model.count_changed.connect(lambda: seen.append((model.count_state, model.rowCount())))
        service.forget()

        with statements_run(ui_database) as statements:
            model.data(model.index(500, 0))  # scrolled far below where the rows really end
            await wait_until(model.rows_loaded, lambda: model.is_loaded(94))

        assert len(statements.queries) == 2
        assert service.requests == [OffsetPage(500, 10)]  # comes back empty …
        assert service.browse_last_calls == 1  # … then the last rows and the true size
        assert (model.count_state, model.rowCount()) == (CountState.EXACT, 95)
        assert seen == [(CountState.EXACT, 95)]  # from the estimate straight to the truth
        rows = await all_rows(ui_database, "users", QuerySpec())
        assert raw(model, 94, "id") == rows[-1][0]

        service.count_released.set()  # the exact count, late, agrees
        await settle()
        assert (model.count_state, model.rowCount()) == (CountState.EXACT, 95)
        assert service.requests == [OffsetPage(500, 10)]
        assert service.browse_last_calls == 1

    qt_loop.run_until_complete(scenario())
