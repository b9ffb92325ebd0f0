"""Random sequences of what analysts do — create, edit, trash, restore, undo, redo, transfer,
new order, a replayed click — with a second session changing the same records in between,
and after every step: the ledger balances, totals are their items' sums, versions only
grow, no two users share an email ignoring case, a trashed record can be restored (or says
which parent to restore first), and the change feed heard each committed change once."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from app.changes import ChangeSet
from app.config import sqlite_url
from app.core.database import Database
from app.models import User
from app.repositories import REPOSITORIES
from app.services import ledger
from app.services.errors import RecordsDeskError, ReplayError
from app.services.intents import new_token
from app.services.orders import OrderItemInput, create_order_with_items
from app.services.records import RecordService
from app.services.transfers import transfer_funds
from tests.conftest import _truncate
from tests.services.test_record_changes import PASSWORD

KINDS = ("users", "orders", "order_items", "accounts", "transfers")
EMAILS = ("a@x.org", "A@X.org", " a@x.org\n", "b@x.org", "B@x.ORG ")
AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("150"), places=2)


class AnalystsAtWork(RuleBasedStateMachine):
    fresh_url: Callable[[], URL]

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        url = self.fresh_url()
        self.database = Database(url)
        self.elsewhere = Database(url)  # another analyst's session on the same data
        self.mine = RecordService(self.database)
        self.theirs = RecordService(self.elsewhere)
        self.heard: list[ChangeSet] = []
        self.database.changes.subscribe(self.heard.append)
        self.versions: dict[tuple[str, int], int] = {}
        # (entity, id, fields before, fields after): this session's edits, to undo/redo.
        self.done: list[tuple[str, int, dict[str, Any], dict[str, Any]]] = []
        self.undone: list[tuple[str, int, dict[str, Any], dict[str, Any]]] = []
        self.run(self._start())

    async def _start(self) -> None:
        user = await self.mine.create(
            "users", {"email": "owner@x.org", "name": "Owner"}, password=PASSWORD
        )
        for name, opening in (("Main", "200.00"), ("Spare", "0"), ("Savings", "35.50")):
            await self.mine.create(
                "accounts", {"owner_id": user["id"], "name": name, "opening_balance": opening}
            )
        await create_order_with_items(self.database, user["id"], [OrderItemInput("Pen", 2, "1.50")])

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coroutine)

    def attempt(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run one of this session's intents: committed, it was heard exactly once;
        refused in words, nothing was heard."""
        before = len(self.heard)
        try:
            result = self.run(coroutine)
        except RecordsDeskError:
            assert len(self.heard) == before
            return None
        assert len(self.heard) == before + 1, self.heard[before:]
        return result

    def elsewhere_does(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        before = len(self.heard)
        with contextlib.suppress(RecordsDeskError):
            self.run(coroutine)
        assert len(self.heard) == before  # another session's commits are its own

    def ids(self, entity: str, *, trashed: bool | None = None) -> list[int]:
        async def read() -> list[int]:
            model = REPOSITORIES[entity].model
            statement = select(model.id).order_by(model.id)
            if trashed is not None:
                column = model.deleted_at
                statement = statement.where(column.is_not(None) if trashed else column.is_(None))
            async with self.database.get_session() as session:
                return list((await session.scalars(statement)).all())

        return list(self.run(read()))

    def teardown(self) -> None:
        self.run(self.database.dispose())
        self.run(self.elsewhere.dispose())
        self.loop.close()

    # -- what analysts do --------------------------------------------------------------------

    @rule(data=st.data(), amount=AMOUNTS, replayed=st.booleans())
    def transfer(self, data: st.DataObject, amount: Decimal, replayed: bool) -> None:
        accounts = self.ids("accounts")
        source = data.draw(st.sampled_from(accounts))
        target = data.draw(st.sampled_from(accounts))
        token = new_token()
        done = self.attempt(transfer_funds(self.database, source, target, amount, token=token))
        if replayed and done is not None:
            # The same Save delivered again: refused, nothing moves.
            before = len(self.heard)
            try:
                self.run(transfer_funds(self.database, source, target, amount, token=token))
            except ReplayError:
                pass
            else:
                raise AssertionError("a replayed transfer moved money again")
            assert len(self.heard) == before

    @rule(data=st.data(), amount=AMOUNTS)
    def transfer_elsewhere(self, data: st.DataObject, amount: Decimal) -> None:
        accounts = self.ids("accounts")
        source, target = data.draw(st.sampled_from(accounts)), data.draw(st.sampled_from(accounts))
        self.elsewhere_does(transfer_funds(self.elsewhere, source, target, amount))

    @rule(items=st.lists(st.tuples(st.integers(0, 3), AMOUNTS), min_size=1, max_size=3))
    def new_order(self, items: list[tuple[int, Decimal]]) -> None:
        user = self.ids("users", trashed=False)
        if not user:
            return
        inputs = [
            OrderItemInput(f"Item {n}", quantity, price)
            for n, (quantity, price) in enumerate(items)
        ]
        self.attempt(create_order_with_items(self.database, user[0], inputs, token=new_token()))

    @rule(data=st.data(), quantity=st.integers(1, 9))
    def edit_item(self, data: st.DataObject, quantity: int) -> None:
        live = self.ids("order_items", trashed=False)
        if not live:
            return
        item_id = data.draw(st.sampled_from(live))
        stored = self.run(self.mine.get("order_items", item_id))
        changed = self.attempt(
            self.mine.update(
                "order_items",
                item_id,
                {"quantity": quantity},
                expected_version=stored["version"],
                token=new_token(),
            )
        )
        if changed is not None:
            self.done.append(
                ("order_items", item_id, {"quantity": stored["quantity"]}, {"quantity": quantity})
            )
            self.undone.clear()

    @rule(data=st.data(), price=AMOUNTS)
    def edit_item_elsewhere(self, data: st.DataObject, price: Decimal) -> None:
        items = self.ids("order_items")
        if items:
            item_id = data.draw(st.sampled_from(items))
            self.elsewhere_does(self.theirs.update("order_items", item_id, {"unit_price": price}))

    @rule(
        data=st.data(),
        kind=st.sampled_from(("orders", "order_items", "users")),
        with_related=st.booleans(),
        elsewhere=st.booleans(),
    )
    def trash(self, data: st.DataObject, kind: str, with_related: bool, elsewhere: bool) -> None:
        live = self.ids(kind, trashed=False)
        if not live:
            return
        record_id = data.draw(st.sampled_from(live))
        if elsewhere:
            self.elsewhere_does(
                self.theirs.trash(kind, {record_id: None}, with_related=with_related)
            )
        else:
            self.attempt(
                self.mine.trash(
                    kind, {record_id: None}, with_related=with_related, token=new_token()
                )
            )

    @rule(data=st.data(), kind=st.sampled_from(("orders", "order_items", "users")))
    def restore(self, data: st.DataObject, kind: str) -> None:
        trashed = self.ids(kind, trashed=True)
        if not trashed:
            return
        record_id = data.draw(st.sampled_from(trashed))
        before = len(self.heard)
        refusal = ""
        try:
            self.run(self.mine.restore_many(kind, {record_id: None}, token=new_token()))
        except RecordsDeskError as error:
            refusal = str(error)
        if refusal:
            # Only a parent still in the trash stands in the way, and it is named.
            assert "which is in the trash: restore" in refusal, refusal
            assert len(self.heard) == before
        else:
            assert len(self.heard) == before + 1

    @rule(email=st.sampled_from(EMAILS))
    def new_user(self, email: str) -> None:
        self.attempt(
            self.mine.create(
                "users", {"email": email, "name": "Someone"}, password=PASSWORD, token=new_token()
            )
        )

    @rule()
    def undo(self) -> None:
        self._move(self.done, self.undone, undo=True)

    @rule()
    def redo(self) -> None:
        self._move(self.undone, self.done, undo=False)

    def _move(self, source: list[Any], target: list[Any], *, undo: bool) -> None:
        if not source:
            return
        entity, record_id, before, after = source.pop()
        wanted, expected = (before, after) if undo else (after, before)
        stored = self.run(self.mine.get(entity, record_id))
        if any(stored[name] != value for name, value in expected.items()):
            return  # someone else changed it since: the app opens the merge view instead
        done = self.attempt(
            self.mine.update(
                entity, record_id, wanted, expected_version=stored["version"], token=new_token()
            )
        )
        if done is not None:
            target.append((entity, record_id, before, after))

    # -- what must hold after every step -----------------------------------------------------

    @invariant()
    def the_books_balance(self) -> None:
        async def check() -> list[str]:
            async with self.database.get_session() as session:
                return await ledger.problems(session)

        assert self.run(check()) == []

    @invariant()
    def versions_only_grow(self) -> None:
        async def read() -> dict[tuple[str, int], int]:
            found = {}
            async with self.database.get_session() as session:
                for kind in KINDS:
                    model = REPOSITORIES[kind].model
                    for record_id, version in await session.execute(
                        select(model.id, model.version)
                    ):
                        found[(kind, record_id)] = version
            return found

        now = self.run(read())
        for key, version in self.versions.items():
            assert now.get(key, version) >= version, key
        self.versions = now

    @invariant()
    def no_email_twice_ignoring_case(self) -> None:
        async def read() -> list[Any]:
            async with self.database.get_session() as session:
                lowered = func.lower(func.trim(User.email))
                result = await session.execute(
                    select(lowered).group_by(lowered).having(func.count() > 1)
                )
                return list(result.all())

        assert self.run(read()) == []


def test_no_sequence_of_actions_makes_money_or_breaks_a_total(
    engine_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    runs = iter(range(10_000))
    if engine_name == "sqlite":
        template: Path = request.getfixturevalue("migrated_sqlite_template")

        def fresh() -> URL:
            path = tmp_path / f"run-{next(runs)}.db"
            shutil.copyfile(template, path)
            return sqlite_url(path)
    else:
        url: URL = request.getfixturevalue("migrated_postgres_url")

        def fresh() -> URL:
            asyncio.run(_truncate(url))
            return url

    AnalystsAtWork.fresh_url = staticmethod(fresh)
    run_state_machine_as_test(
        AnalystsAtWork,
        settings=settings(
            max_examples=12,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
