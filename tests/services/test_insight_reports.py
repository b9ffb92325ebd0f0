"""The Insights window's reports against figures worked out by hand on the seeded
database of test_insights, on both engines; and a report written to CSV."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from app.core.database import Database
from app.query import DeletedRows, Equals, QuerySpec, Range
from app.services import insight_reports as reports
from app.services.errors import ValidationError
from app.services.export import CsvOptions, export_table
from app.services.insights import ValueRange
from app.services.records import RecordService
from tests.services.test_insights import seed


@pytest.fixture
async def seeded(database: Database) -> Database:
    await seed(database)
    return database


async def test_orders_by_status_count_and_add_up_the_live_orders(seeded: Database) -> None:
    report = await reports.orders_by_status(seeded, {})

    assert report.rows == (
        ("delivered", 2, Decimal("10.30")),
        ("pending", 1, Decimal("5.05")),
        ("shipped", 1, Decimal("0.00")),
    )
    assert report.follows == ()


async def test_orders_by_status_follow_the_orders_view(seeded: Database) -> None:
    views = {"orders": QuerySpec(deleted=DeletedRows.INCLUDE)}

    report = await reports.orders_by_status(seeded, views)

    assert report.rows[0] == ("delivered", 3, Decimal("1010.29"))
    assert report.follows == ("orders",)


async def test_active_and_inactive_users(seeded: Database) -> None:
    report = await reports.users_by_activity(seeded, {})
    assert report.rows == (("Active", 2), ("Inactive", 1))  # the trashed user left out

    only_active = {"users": QuerySpec(filters=(Equals("is_active", True),))}
    assert (await reports.users_by_activity(seeded, only_active)).rows == (
        ("Active", 2),
        ("Inactive", 0),
    )


async def test_posts_per_author_over_a_threshold(seeded: Database) -> None:
    assert (await reports.posts_per_author(seeded, {}, more_than=1)).rows == (
        ("Ada", "ada@example.org", 3),
    )
    assert (await reports.posts_per_author(seeded, {}, more_than=0)).rows == (
        ("Ada", "ada@example.org", 3),
        ("Bob", "bob@example.org", 1),  # the trashed post is not counted
        ("Cy", "cy@example.org", 1),
    )
    assert (await reports.posts_per_author(seeded, {}, more_than=3)).rows == ()


async def test_posts_per_author_follow_the_posts_and_users_views(seeded: Database) -> None:
    views = {
        "posts": QuerySpec(filters=(Range("created_at", low="2025-06-01T00:00:00+00:00"),)),
        "users": QuerySpec(filters=(Equals("is_active", True),)),
    }

    report = await reports.posts_per_author(seeded, views, more_than=0)

    assert report.rows == (("Ada", "ada@example.org", 3), ("Bob", "bob@example.org", 1))
    assert report.follows == ("posts", "users")


async def test_a_negative_threshold_is_refused(seeded: Database) -> None:
    with pytest.raises(ValidationError, match="0 or more"):
        await reports.posts_per_author(seeded, {}, more_than=-1)


async def test_users_who_posted_since_a_date(seeded: Database) -> None:
    report = await reports.users_who_posted_since(seeded, {}, datetime(2026, 1, 2, tzinfo=UTC))

    assert report.rows == (
        ("Ada", "ada@example.org", 2, "2026-02-03 12:00+00:00"),
        ("Bob", "bob@example.org", 1, "2026-02-04 12:00+00:00"),
    )
    assert report.title == "Users who posted since 2026-01-02"


async def test_nobody_posted_after_the_last_post(seeded: Database) -> None:
    report = await reports.users_who_posted_since(seeded, {}, datetime(2027, 1, 1, tzinfo=UTC))
    assert report.rows == ()


async def test_orders_and_their_items_value_per_month(seeded: Database) -> None:
    report = await reports.orders_per_month(seeded, {})

    # January: 3 x 0.10 + 9.80 and 2 x 0.10; February: 5.05 and an order with no items.
    assert report.rows == (("2026-01", 2, Decimal("10.30")), ("2026-02", 2, Decimal("5.05")))


async def test_a_cut_month_series_keeps_its_newest_months(
    seeded: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A time series keeps its end: past REPORT_ROWS months the oldest go, not the newest."""
    assert not (await reports.orders_per_month(seeded, {})).cut
    monkeypatch.setattr(reports, "REPORT_ROWS", 1)

    report = await reports.orders_per_month(seeded, {})

    assert report.rows == (("2026-02", 2, Decimal("5.05")),)
    assert report.cut
    assert report.time_series


async def test_orders_per_month_follow_the_orders_view(seeded: Database) -> None:
    views = {"orders": QuerySpec(deleted=DeletedRows.ONLY)}

    report = await reports.orders_per_month(seeded, views)

    assert report.rows == (("2026-02", 1, Decimal("999.99")),)


async def test_balance_distribution_in_round_ranges(seeded: Database) -> None:
    report = await reports.balance_distribution(seeded, {})

    assert report.rows == (
        ("0.00 to under 20.00", 3),
        *((f"{low}.00 to under {low + 20}.00", 0) for low in range(20, 140, 20)),
        ("140.00 to 160.00", 1),
    )


async def test_reports_of_an_empty_view(seeded: Database) -> None:
    nothing = {kind: QuerySpec(search="zzz nobody") for kind in ("orders", "users", "accounts")}

    assert (await reports.orders_by_status(seeded, nothing)).rows == ()
    assert (await reports.users_by_activity(seeded, nothing)).rows == (
        ("Active", 0),
        ("Inactive", 0),
    )
    assert (await reports.orders_per_month(seeded, nothing)).rows == ()
    assert (await reports.balance_distribution(seeded, nothing)).rows == ()


async def test_a_report_is_written_to_csv_like_an_export(tmp_path: Path) -> None:
    target = tmp_path / "authors.csv"
    rows = [("=HYPERLINK(1)", "a@example.org", 3), ('Say "hi", Bo', None, Decimal("1.50"))]

    result = await export_table(("Author", "Email", "Posts"), rows, CsvOptions(), target)

    assert result.rows == 2
    assert target.read_bytes() == (
        b'Author,Email,Posts\r\n\'=HYPERLINK(1),a@example.org,3\r\n"Say ""hi"", Bo",,1.50\r\n'
    )


async def test_a_balance_range_no_account_falls_in_is_shown_empty(database: Database) -> None:
    service = RecordService(database)
    user = await service.create(
        "users", {"email": "a@example.org", "name": "A"}, password="correct horse"
    )
    for balance in ("0", "10", "10", "99.99", "100"):
        await service.create(
            "accounts", {"owner_id": user["id"], "name": "Main", "opening_balance": balance}
        )

    report = await reports.balance_distribution(database, {})

    assert report.rows == (
        ("0.00 to under 10.00", 1),
        ("10.00 to under 20.00", 2),
        *((f"{low}.00 to under {low + 10}.00", 0) for low in range(20, 90, 10)),
        ("90.00 to 100.00", 2),
    )


def test_range_ends_are_written_as_the_caller_writes_numbers() -> None:
    """The window passes its locale's money format: 5,000.00 in English, 5.000,00 in German."""
    value = ValueRange(Decimal("5000.00"), Decimal("10000.00"))
    assert reports.range_text(value) == "5000.00 to under 10000.00"
    assert reports.range_text(value, lambda d: f"{d:,}") == "5,000.00 to under 10,000.00"
