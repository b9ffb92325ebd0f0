"""A workspace per open database, and the desk that replaces it on a switch: the desk's
feed follows whichever workspace is current, and the services work on their own database."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from app.changes import ChangeSet
from app.core.database import Database
from app.query import QuerySpec
from app.services import insight_reports
from app.services.export import CsvOptions
from app.services.orders import OrderItemInput
from app.services.records import RecordService
from app.workspace import Desk, Workspace
from tests.services.test_record_changes import PASSWORD


async def test_the_desk_follows_the_workspace_that_replaced_the_one_before(
    database: Database, sqlite_database: Database
) -> None:
    desk = Desk.on(sqlite_database)
    before = desk.workspace
    heard: list[ChangeSet] = []
    desk.changes.subscribe(heard.append)

    replaced = desk.replace(Workspace(database))
    assert replaced is before
    assert desk.records.database is database

    await RecordService(sqlite_database).create(
        "users", {"email": "old@x.org", "name": "Old"}, password=PASSWORD
    )
    assert heard == []  # the database before is not followed any more
    await RecordService(database).create(
        "users", {"email": "new@x.org", "name": "New"}, password=PASSWORD
    )
    assert [changes.entities for changes in heard] == [{"users"}]
    assert await desk.records.count("users", QuerySpec()) == 1


async def test_the_services_of_a_workspace_work_on_its_database_and_publish_there(
    database: Database,
) -> None:
    workspace = Workspace(database)
    heard: list[ChangeSet] = []
    workspace.changes.subscribe(heard.append)
    records = workspace.records
    user = await records.create("users", {"email": "a@x.org", "name": "A"}, password=PASSWORD)
    rich = await records.create(
        "accounts", {"owner_id": user["id"], "name": "Rich", "opening_balance": "10.00"}
    )
    poor = await records.create("accounts", {"owner_id": user["id"], "name": "Poor"})

    await workspace.transfer(rich["id"], poor["id"], "2.50", token="t1")
    order = await workspace.create_order(
        user["id"], [OrderItemInput("Pen", 2, Decimal("1.25"))], "pending", token="t2"
    )
    totals = await workspace.totals("orders", QuerySpec())
    report = await workspace.report(insight_reports.orders_by_status, {})

    assert (await records.get("accounts", poor["id"]))["balance"] == Decimal("2.50")
    assert totals.rows == 1
    assert totals.of("total").sum == Decimal("2.50")
    assert order.order_id == (await records.get("orders", order.order_id))["id"]
    assert report.rows == (("pending", 1, Decimal("2.50")),)
    assert {"transfers", "orders"} <= set().union(*(changes.entities for changes in heard))


async def test_a_table_from_memory_is_written_without_the_database(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "answer.csv"
    result = await Workspace(database).export_table(
        ("Name", "Count"), [("a", 1)], CsvOptions(), path
    )
    assert result.rows == 1
    assert path.read_bytes() == b"Name,Count\r\na,1\r\n"
