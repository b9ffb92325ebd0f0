"""Views saved as plain files (issue 26): every kind of filter survives the round trip, a
period stays relative, what no longer applies is left out and said, a file that is not a
view is refused in words, and ``records-desk export --view`` writes the bytes the window
writes for that view — on both engines."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from app.core.database import Database
from app.models import OrderStatus
from app.periods import Period, period_named
from app.query import (
    After,
    DeletedRows,
    Equals,
    IsEmpty,
    OneOf,
    QuerySpec,
    Range,
    SortKey,
    ViewState,
)
from app.saved_views import (
    FORMAT,
    SavedView,
    from_text,
    read_view,
    to_text,
    typed_filters,
    write_view,
)
from app.services.catalog import OURS
from app.services.errors import ValidationError
from app.services.export import CsvOptions, ExportRequest, export_csv
from app.services.records import RecordService
from tests.repositories.factories import force, make_order, make_user
from tests.test_cli import plain, records_desk

TODAY = date(2026, 12, 8)


def _week() -> Period:
    period = period_named("Last 7 days")
    assert period is not None
    return period


WEEK = _week()


def every_kind_of_filter() -> ViewState:
    """Orders: a choice, an amount range, a reference, a period, an empty test, a sort."""
    return ViewState(
        "orders",
        QuerySpec(
            search="",
            filters=(
                OneOf("status", ("pending", "shipped")),
                Range("total", Decimal("10.50"), Decimal("999.99")),
                Equals("user_id", 1),
                WEEK.range_for("created_at", TODAY),
                IsEmpty("deleted_at", empty=True),
            ),
            sort=(SortKey("total", descending=True),),
            deleted=DeletedRows.INCLUDE,
        ),
        ("id", "status", "total", "created_at"),
    )


def test_a_view_file_is_sorted_readable_json_one_field_a_line() -> None:
    saved = SavedView(every_kind_of_filter(), {"total": 120}, "Local", {3: "Last 7 days"})
    text = to_text(saved)
    document = json.loads(text)
    assert list(document) == sorted(document)
    assert document["format"] == FORMAT
    assert document["table"] == "orders"
    assert document["connection"] == "Local"
    assert document["filters"] == [
        {"column": "status", "one_of": ["pending", "shipped"]},
        {"column": "total", "from": "10.50", "to": "999.99", "to_included": True},
        {"column": "user_id", "equals": 1},
        {"column": "created_at", "period": "Last 7 days"},
        {"column": "deleted_at", "empty": True},
    ]
    assert document["widths"] == {"total": 120}
    assert "postgresql" not in text
    assert "password" not in text
    assert text.count("\n") > 20  # one field a line: a diff says what changed


def test_every_filter_comes_back_and_a_period_stays_relative() -> None:
    view = every_kind_of_filter()
    saved = SavedView(view, {}, "Local", {3: "Last 7 days"})
    opened = from_text(to_text(saved), OURS, today=TODAY)
    assert opened.dropped == ()
    assert typed_filters(opened.saved.view, OURS) == view.spec.filters
    assert opened.saved.view.spec.sort == view.spec.sort
    assert opened.saved.view.spec.deleted is DeletedRows.INCLUDE
    assert opened.saved.view.columns == view.columns
    assert opened.saved.periods == {3: "Last 7 days"}
    # A week later the period is that week's.
    later = from_text(to_text(saved), OURS, today=TODAY + timedelta(days=7))
    assert later.saved.view.spec.filters[3] == WEEK.range_for("created_at", TODAY + timedelta(7))


def test_what_no_longer_applies_is_left_out_and_said() -> None:
    document = json.loads(to_text(SavedView(every_kind_of_filter())))
    document["columns"].append("nickname")
    document["filters"].append({"column": "nickname", "equals": "x"})
    document["filters"].append({"column": "status", "one_of": ["lost"]})
    document["filters"].append({"column": "total", "from": "a lot"})
    document["sort"].insert(0, {"column": "nickname"})
    opened = from_text(json.dumps(document), OURS)
    assert opened.saved.view.columns == ("id", "status", "total", "created_at")
    assert [f.column for f in opened.saved.view.spec.filters].count("nickname") == 0
    assert len(opened.saved.view.spec.filters) == 5
    assert opened.saved.view.spec.sort == (SortKey("total", descending=True),)
    assert opened.dropped == (
        "the filter of 'nickname', which orders no longer has",
        "the filter on status (lost is no longer a choice)",
        "the filter on total ('a lot' is not an amount of money)",
        "the sort of 'nickname', which orders no longer has",
        "the column of 'nickname', which orders no longer has",
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("not json", "is not a saved view (it is not JSON)"),
        ("[1, 2]", "is not a saved view (it names no table)"),
        ('{"table": "ships"}', "shows 'ships', which this database does not have"),
        ('{"table": "users", "format": 99}', "saved by a newer Records Desk (format 99)"),
        ('{"table": "users", "filters": {"a": 1}}', "(filters is not a list)"),
    ],
)
def test_what_is_not_a_view_is_refused_in_words(text: str, said: str) -> None:
    with pytest.raises(ValidationError) as caught:
        from_text(text, OURS, where="v.view.json")
    assert said in str(caught.value)


def test_a_file_that_cannot_be_read_is_refused_in_words(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        read_view(tmp_path / "gone.view.json", OURS)
    with pytest.raises(ValidationError, match="is a folder"):
        read_view(tmp_path, OURS)
    binary = tmp_path / "bytes.view.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ValidationError, match="not text"):
        read_view(binary, OURS)


async def seed(database: Database) -> None:
    now = datetime.now(UTC)
    async with database.get_session(write=True) as session:
        ada = await make_user(session, name="Ada")
        bob = await make_user(session, name="Bob")
        for user, status, total, age in (
            (ada, OrderStatus.PENDING, "120.00", 1),
            (ada, OrderStatus.SHIPPED, "15.25", 2),
            (ada, OrderStatus.PENDING, "9.99", 3),  # under the range
            (bob, OrderStatus.PENDING, "50.00", 1),  # another user
            (ada, OrderStatus.CANCELLED, "70.00", 1),  # another status
            (ada, OrderStatus.PENDING, "80.00", 30),  # out of the week
        ):
            order = await make_order(session, user, status=status, total=Decimal(total))
            await force(session, order, created_at=now - timedelta(days=age))


async def test_a_saved_view_gives_the_same_rows_and_the_cli_the_windows_bytes(
    database: Database, database_url: URL, tmp_path: Path
) -> None:
    await seed(database)
    today = date.today()
    view = ViewState(
        "orders",
        QuerySpec(
            filters=(
                OneOf("status", ("pending", "shipped")),
                Range("total", Decimal("10.00"), None),
                Equals("user_id", 1),
                WEEK.range_for("created_at", today),
                IsEmpty("deleted_at"),
            ),
            sort=(SortKey("total", descending=True),),
        ),
        ("id", "status", "total"),
    )
    path = write_view(tmp_path / "pending.view.json", SavedView(view, {}, "", {3: WEEK.name}))
    opened = read_view(path, OURS)
    again = ViewState("orders", opened.saved.view.spec, opened.saved.view.columns)
    records = RecordService(database)
    first = await records.browse("orders", view.spec, After(None, 50))
    second = await records.browse("orders", again.spec, After(None, 50))
    assert second.rows == first.rows
    assert [row[first.columns.index("total")] for row in first.rows] == [
        Decimal("120.00"),
        Decimal("15.25"),
    ]
    from_window = tmp_path / "window.csv"
    await export_csv(database, ExportRequest(view), CsvOptions(), from_window)
    from_cli = tmp_path / "cli.csv"
    result = records_desk(
        "export",
        "--view",
        str(path),
        "--database-url",
        plain(database_url),
        "--output",
        str(from_cli),
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 2 orders" in result.stderr
    assert from_cli.read_bytes() == from_window.read_bytes()


def test_the_cli_takes_a_view_or_options_not_both(tmp_path: Path) -> None:
    path = write_view(tmp_path / "v.view.json", SavedView(ViewState("users")))
    both = records_desk("export", "users", "--view", str(path), "--output", "-")
    assert both.returncode == 2
    assert "--view holds the table" in both.stderr
    assert "Traceback" not in both.stderr
    missing = records_desk("export", "--view", str(tmp_path / "nope.view.json"), "--output", "-")
    assert missing.returncode == 2
    assert "is not a file" in missing.stderr
    neither = records_desk("export", "--output", "-")
    assert neither.returncode == 2
    assert "or give --view FILE" in neither.stderr


async def test_a_date_range_on_another_programs_sqlite_file_gives_the_same_rows(
    tmp_path: Path,
) -> None:
    from app.config import sqlite_url
    from app.periods import local_midnight
    from app.services import migrations
    from app.services.catalog import catalog_of
    from tests import foreign

    database = Database(sqlite_url(foreign.sqlite_editable(tmp_path)), read_only=True)
    await migrations.prepare_for_use(database)
    try:
        known = catalog_of(database)
        # The date pickers' range: whole local days, 2020-01-01 through 2020-01-02.
        days = Range("opened", local_midnight(date(2020, 1, 1)), local_midnight(date(2020, 1, 3)))
        view = ViewState("shop", QuerySpec(filters=(days,)), ("code", "opened"))
        text = to_text(SavedView(view))
        assert '"$": "datetime"' in text
        opened = from_text(text, known)
        assert opened.dropped == ()
        records = RecordService(database)
        first = await records.browse("shop", view.spec, After(None, 10))
        again = await records.browse("shop", opened.saved.view.spec, After(None, 10))
        assert [row[0] for row in first.rows] == ["S1"]
        assert again.rows == first.rows
    finally:
        await database.dispose()


async def test_the_cli_refuses_a_view_that_no_longer_applies_whole(
    database: Database, database_url: URL, tmp_path: Path
) -> None:
    path = write_view(tmp_path / "v.view.json", SavedView(ViewState("users")))
    document = json.loads(path.read_text(encoding="utf-8"))
    document["filters"] = [{"column": "nickname", "equals": "x"}]
    path.write_text(json.dumps(document), encoding="utf-8")
    url = plain(database_url)
    refused = records_desk("export", "--view", str(path), "--database-url", url, "--output", "-")
    assert refused.returncode == 2
    assert "no longer applies whole here: the filter of 'nickname'" in refused.stderr
    assert "Traceback" not in refused.stderr
    allowed = records_desk(
        "export", "--view", str(path), "--allow-dropped", "--database-url", url, "--output", "-"
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "Left out of v.view.json: the filter of 'nickname'" in allowed.stderr


def test_saving_a_view_again_keeps_the_files_mode(tmp_path: Path) -> None:
    path = write_view(tmp_path / "shared" / "v.view.json", SavedView(ViewState("users")))
    path.chmod(0o644)
    write_view(path, SavedView(ViewState("orders")))
    assert path.stat().st_mode & 0o777 == 0o644
    assert json.loads(path.read_text(encoding="utf-8"))["table"] == "orders"


def test_a_view_never_replaces_a_folder_or_a_pipe(tmp_path: Path) -> None:
    import os

    pipe = tmp_path / "pipe.view.json"
    os.mkfifo(pipe)
    for target in (tmp_path, pipe):
        with pytest.raises(ValidationError, match="choose a file name"):
            write_view(target, SavedView(ViewState("users")))
    assert pipe.exists()
    assert not pipe.is_file()
