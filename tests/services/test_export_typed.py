"""The XLSX and JSON Lines exports read back as a spreadsheet and a program would (openpyxl,
json), value for value against the database, on both engines: typed cells, money at the
cent, times in the chosen zone, hostile text as text, the sheet limit, cut text, the view
exactly, and no file left by a cancel or a failure."""

from __future__ import annotations

import asyncio
import json
import random
import struct
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils.escape import unescape
from sqlalchemy import insert, text

from app.core.database import Database
from app.models import Account
from app.query import DeletedRows, QuerySpec, SortKey, ViewState
from app.services import export_rows, export_xlsx
from app.services.errors import ValidationError
from app.services.export import ExportError, ExportRequest
from app.services.export_jsonl import JsonLinesOptions, jsonl_writer
from app.services.export_rows import export_typed
from app.services.export_xlsx import XlsxOptions, XlsxReport, export_workbook
from tests.repositories.factories import force, make_account, make_post, make_user, moment
from tests.services.test_export import TRICKY_TEXTS, all_rows, bytes_of, files_in, seed_people
from tests.services.test_export_safety import FOREIGN_TIMES, store_foreign_times

HOSTILE = [
    *TRICKY_TEXTS[:-1],
    "=1+1",
    "+SUM(A1:A9)",
    "-2+3",
    "@cmd",
    "\t=tab",
    "x;=2+2",
    "x,=2+2",
    "mid\x01control",
    "nul\x00inside",
    "_x0041_ looks like an escape",
    "_x0041_x0042_ two of them",
    "non-characters \ufffe and \uffff",
    'a row\'s <@ mark & <c r="A1"> markup',
    "עברית مرحبا",
    "y" * 40_000,
]


def stored_by(database: Database, texts: list[str]) -> list[str]:
    """The texts ``database`` can hold: PostgreSQL refuses a NUL in text."""
    return [text for text in texts if database.is_sqlite or "\0" not in text]


async def xlsx_of(
    database: Database,
    view: ViewState,
    path: Path,
    options: XlsxOptions | None = None,
    report: XlsxReport | None = None,
) -> Path:
    await export_workbook(
        database, ExportRequest(view), options or XlsxOptions(), path, report=report
    )
    return path


def sheet_rows(path: Path) -> list[list[list[Any]]]:
    """Every sheet's rows as a spreadsheet reads them: text with OOXML's escapes of
    control characters (``_x000D_``) turned back into them, as Excel and Calc do."""
    workbook = openpyxl.load_workbook(path, read_only=True)
    return [
        [
            [unescape(v) if isinstance(v, str) else v for v in row]
            for row in sheet.iter_rows(values_only=True)
        ]
        for sheet in workbook
    ]


async def test_every_cell_is_typed_and_text_is_never_a_formula(
    database: Database, tmp_path: Path
) -> None:
    async with database.get_session(write=True) as session:
        for index, value in enumerate(stored_by(database, HOSTILE)):
            user = await make_user(session, name=value[:100], email=f"u{index}@example.org")
            await make_post(session, user, title=value[:200], content=value)
        owner = await make_user(session, is_active=False, email="owner@example.org")
        account = await make_account(session, owner, balance=Decimal("1234.56"))
        await force(session, account, created_at=datetime(2024, 3, 1, 12, 30, 5, tzinfo=UTC))
    columns = ("id", "title", "content", "author_id", "created_at")
    rows = await all_rows(database, "posts", QuerySpec())
    report = XlsxReport()
    path = await xlsx_of(
        database,
        ViewState("posts", QuerySpec(), columns),
        tmp_path / "posts.xlsx",
        XlsxOptions(utc=True),
        report,
    )
    (sheet,) = sheet_rows(path)
    header, *cells = sheet
    assert header == ["ID", "Title", "Content", "Author", "Created (UTC)"]
    assert len(cells) == len(rows)
    for line, row in zip(cells, rows, strict=True):
        assert line[0] == row["id"]
        assert line[3] == row["author_id"]
        assert line[1] == row["title"].replace("\0", "\u2400")
        expected = row["content"].replace("\0", "\u2400")
        assert line[2] == (expected if len(expected) <= 32_767 else expected[:32_767])
        # Excel keeps times to the millisecond.
        written = line[4].replace(tzinfo=UTC)
        assert abs(written - row["created_at"]) < timedelta(milliseconds=1)
    assert report.cut_cells == 1  # the 40,000 characters, with a note in its comment
    workbook = openpyxl.load_workbook(path)
    sheet_ = workbook.active
    assert sheet_.freeze_panes == "A2"
    assert sheet_.auto_filter.ref == f"A1:E{len(rows) + 1}"
    assert sheet_["A1"].font.b
    cut = next(c for c in sheet_["C"] if isinstance(c.value, str) and len(c.value) == 32_767)
    assert "40,000 characters" in cut.comment.text
    # Text is a string cell: nothing that starts with = is stored as a formula.
    assert all(cell.data_type != "f" for column in sheet_.iter_cols() for cell in column)

    accounts = await xlsx_of(
        database,
        ViewState("accounts", QuerySpec(), ("name", "balance", "created_at")),
        tmp_path / "accounts.xlsx",
        XlsxOptions(utc=True),
    )
    sheet_ = openpyxl.load_workbook(accounts).active
    assert sheet_["B2"].value == pytest.approx(1234.56)
    assert sheet_["B2"].number_format == "#,##0.00"
    assert sheet_["C2"].value == datetime(2024, 3, 1, 12, 30, 5)
    assert sheet_["C2"].is_date


async def test_money_is_exact_to_the_cent(database: Database, tmp_path: Path) -> None:
    generator = random.Random(7)
    amounts = [Decimal(generator.randint(0, 99_999_999_999)) / 100 for _ in range(10_000)]
    async with database.get_session(write=True) as session:
        owner = await make_user(session)
        moment_ = datetime(2024, 3, 1, tzinfo=UTC)
        await session.execute(
            insert(Account),
            [
                {
                    "owner_id": owner.id,
                    "name": f"a{index}",
                    "balance": amount,
                    "opening_balance": amount,
                    "created_at": moment_,
                    "updated_at": moment_,
                }
                for index, amount in enumerate(amounts)
            ],
        )
    view = ViewState("accounts", QuerySpec(sort=(SortKey("id"),)), ("id", "balance"))
    path = await xlsx_of(database, view, tmp_path / "money.xlsx")
    (sheet,) = sheet_rows(path)
    # A cell holds a double; read back to the cent it is the amount, every one of them.
    written = [Decimal(repr(line[1])).quantize(Decimal("0.01")) for line in sheet[1:]]
    assert written == amounts
    lines = await jsonl_of(database, view, tmp_path / "money.jsonl")
    assert [Decimal(line["balance"]) for line in lines] == amounts


async def test_times_are_written_in_the_local_zone_by_default(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    import time

    time.tzset()
    try:
        async with database.get_session(write=True) as session:
            winter = await make_user(session, email="w@example.org")
            summer = await make_user(session, email="s@example.org")
            await force(session, winter, created_at=datetime(2024, 1, 15, 12, 0, tzinfo=UTC))
            # The night the clocks go forward, after the jump.
            await force(session, summer, created_at=datetime(2024, 3, 31, 1, 30, tzinfo=UTC))
            # The night they go back: 02:30 happens twice, once in summer time, once not.
            for hour in (0, 1):
                twice = await make_user(session, email=f"back{hour}@example.org")
                await force(session, twice, created_at=datetime(2024, 10, 27, hour, 30, tzinfo=UTC))
        view = ViewState("users", QuerySpec(sort=(SortKey("id"),)), ("email", "created_at"))
        (sheet,) = sheet_rows(await xlsx_of(database, view, tmp_path / "local.xlsx"))
        assert sheet[0] == ["Email", "Created (local time)"]
        assert [line[1] for line in sheet[1:]] == [
            datetime(2024, 1, 15, 13, 0),
            datetime(2024, 3, 31, 3, 30),
            datetime(2024, 10, 27, 2, 30),
            datetime(2024, 10, 27, 2, 30),
        ]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


async def test_times_other_programs_stored_are_the_instants_they_denote(
    database: Database, tmp_path: Path
) -> None:
    await store_foreign_times(database)
    view = ViewState("users", QuerySpec(sort=(SortKey("id"),)), ("created_at",))
    instants = [instant for _, instant in FOREIGN_TIMES]
    lines = await jsonl_of(database, view, tmp_path / "times.jsonl")
    assert [datetime.fromisoformat(line["created_at"]) for line in lines] == instants
    (sheet,) = sheet_rows(await xlsx_of(database, view, tmp_path / "t.xlsx", XlsxOptions(True)))
    assert [line[0] for line in sheet[1:]] == [
        instant.replace(tzinfo=None, microsecond=instant.microsecond // 1000 * 1000)
        for instant in instants
    ]


async def test_text_another_program_put_in_a_number_or_date_column_is_shown_as_text(
    sqlite_database: Database, tmp_path: Path
) -> None:
    """SQLite keeps whatever it is given: text in a date or number column is written as a
    text cell (never inside a number, never read as markup), and the export still works."""
    database = sqlite_database  # PostgreSQL refuses such values on the way in
    async with database.get_session(write=True) as session:
        user = await make_user(session, email="odd@example.org")
        await session.execute(
            text("UPDATE users SET created_at = :when, version = :version WHERE id = :id"),
            {"when": "not a date <@", "version": "n/a <b>", "id": user.id},
        )
    view = ViewState("users", QuerySpec(), ("email", "created_at", "version"))
    (sheet,) = sheet_rows(await xlsx_of(database, view, tmp_path / "odd.xlsx"))
    assert sheet[1] == ["odd@example.org", "not a date <@", "n/a <b>"]


async def test_text_is_cut_at_excels_length_counting_as_excel_counts(
    database: Database, tmp_path: Path
) -> None:
    """Excel's 32,767 characters are UTF-16 units: an emoji is two of them."""
    async with database.get_session(write=True) as session:
        user = await make_user(session)
        await make_post(session, user, title="emoji", content="\U0001f600" * 20_000)
    report = XlsxReport()
    view = ViewState("posts", QuerySpec(), ("content",))
    path = await xlsx_of(database, view, tmp_path / "emoji.xlsx", report=report)
    (sheet,) = sheet_rows(path)
    assert sheet[1] == ["\U0001f600" * 16_383]  # 32,766 units: the next would split a pair
    assert report.cut_cells == 1
    cell = openpyxl.load_workbook(path).active["A2"]
    assert "40,000 characters" in cell.comment.text


async def test_a_sheet_is_stored_without_zip64_when_it_does_not_need_it(
    database: Database, tmp_path: Path
) -> None:
    """Excel has refused parts carrying ZIP64 fields they do not need."""
    await seed_people(database)
    path = await xlsx_of(database, ViewState("users", QuerySpec()), tmp_path / "plain.xlsx")
    data = path.read_bytes()
    with zipfile.ZipFile(path) as package:
        infos = package.infolist()
    for info in infos:
        # The local header: its name's and extra field's lengths at 26, then both.
        start = info.header_offset
        name_length, extra_length = struct.unpack("<HH", data[start + 26 : start + 30])
        extra = data[start + 30 + name_length : start + 30 + name_length + extra_length]
        fields = []
        while extra:
            field_id, size = struct.unpack("<HH", extra[:4])
            fields.append(field_id)
            extra = extra[4 + size :]
        assert 0x0001 not in fields, info.filename  # 0x0001: ZIP64's extra field


def test_the_sheet_limit_is_excels() -> None:
    assert export_xlsx.SHEET_ROWS == 1_048_576  # Excel specifications and limits
    assert export_xlsx.data_rows_per_sheet() == 1_048_575


async def test_a_view_longer_than_a_sheet_goes_on_to_the_next_or_is_refused(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limit is Excel's 1,048,576 rows; a small one stands in for it.
    monkeypatch.setattr(export_xlsx, "SHEET_ROWS", 11)
    monkeypatch.setattr(export_rows, "ROWS_PER_BATCH", 4)
    await seed_people(database)
    spec = QuerySpec(deleted=DeletedRows.INCLUDE, sort=(SortKey("id"),))
    rows = await all_rows(database, "users", spec)
    view = ViewState("users", spec, ("id", "name"))
    report = XlsxReport()
    sheets = sheet_rows(await xlsx_of(database, view, tmp_path / "split.xlsx", report=report))
    assert report.sheets == len(sheets) == 3  # 30 rows: 10, 10 and 10 below each header
    assert all(sheet[0] == ["ID", "Name"] for sheet in sheets)
    assert [line[0] for sheet in sheets for line in sheet[1:]] == [row["id"] for row in rows]
    assert openpyxl.load_workbook(tmp_path / "split.xlsx").sheetnames == [
        "Users",
        "Users (2)",
        "Users (3)",
    ]

    with pytest.raises(ValidationError, match="do not fit on one sheet"):
        await xlsx_of(database, view, tmp_path / "refused.xlsx", XlsxOptions(split_sheets=False))
    assert not (tmp_path / "refused.xlsx").exists()


async def jsonl_of(
    database: Database, view: ViewState, path: Path, options: JsonLinesOptions | None = None
) -> list[dict[str, Any]]:
    await export_typed(
        database, ExportRequest(view), jsonl_writer(options or JsonLinesOptions()), path
    )
    return [json.loads(line) for line in bytes_of(path).decode("utf-8").splitlines()]


async def test_json_lines_hold_every_value_exactly(database: Database, tmp_path: Path) -> None:
    async with database.get_session(write=True) as session:
        for index, value in enumerate(stored_by(database, HOSTILE)):
            user = await make_user(session, name=value[:100], email=f"j{index}@example.org")
            await force(session, user, created_at=moment(1 + index % 20, 7, 5))
        owner = await make_user(session, is_active=False, email="owner@example.org")
        await make_account(session, owner, balance=Decimal("1E+2"), name="hundred")
    rows = await all_rows(database, "users", QuerySpec())
    columns = ("id", "name", "email", "is_active", "created_at", "deleted_at")
    lines = await jsonl_of(database, ViewState("users", QuerySpec(), columns), tmp_path / "u.jsonl")
    assert [list(line) for line in lines] == [list(columns)] * len(rows)
    for line, row in zip(lines, rows, strict=True):
        assert line["id"] == row["id"]
        assert line["name"] == row["name"]
        assert line["is_active"] is row["is_active"]
        assert datetime.fromisoformat(line["created_at"]) == row["created_at"]
        assert line["created_at"].endswith("+00:00")
        assert line["deleted_at"] is None
    view = ViewState("accounts", QuerySpec(), ("name", "balance"))
    (account,) = await jsonl_of(database, view, tmp_path / "a.jsonl")
    assert account == {"name": "hundred", "balance": "100.00"}
    text = tmp_path / "b.jsonl"
    await export_typed(
        database,
        ExportRequest(view),
        jsonl_writer(JsonLinesOptions(decimals_as_numbers=True)),
        text,
    )
    assert text.read_text() == '{"name":"hundred","balance":100.00}\n'


async def test_a_workbook_cancelled_mid_way_leaves_no_file_and_what_was_there_untouched(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_xlsx, "ROWS_PER_FETCH", 2)
    await seed_people(database)
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "kept.xlsx"
    target.write_bytes(b"what was there")
    loop = asyncio.get_running_loop()
    written_some = asyncio.Event()
    write = export_xlsx._Deflater.write

    def announcing(deflater: Any, data: bytes) -> None:  # in the rows' thread
        write(deflater, data)
        loop.call_soon_threadsafe(written_some.set)

    monkeypatch.setattr(export_xlsx._Deflater, "write", announcing)
    request = ExportRequest(ViewState("users", QuerySpec(), ("id", "name")))
    task = asyncio.ensure_future(export_workbook(database, request, XlsxOptions(), target))
    await written_some.wait()  # rows are on their way into the file: cancel mid-export
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert target.read_bytes() == b"what was there"
    assert files_in(folder) == [target]


async def test_a_full_disk_under_a_workbook_leaves_no_file(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_people(database)

    def full(_deflater: Any, _data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_xlsx._Deflater, "write", full)
    folder = tmp_path / "out"
    folder.mkdir()
    request = ExportRequest(ViewState("users", QuerySpec(), ("id",)))
    with pytest.raises(ExportError, match="not enough space"):
        await export_workbook(database, request, XlsxOptions(), folder / "x.xlsx")
    assert files_in(folder) == []


@pytest.mark.parametrize("make", [lambda: jsonl_writer(JsonLinesOptions())], ids=["jsonl"])
async def test_a_cancel_leaves_no_file_and_what_was_there_untouched(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Any
) -> None:
    monkeypatch.setattr(export_rows, "ROWS_PER_BATCH", 2)
    await seed_people(database)
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "kept.out"
    target.write_bytes(b"what was there")
    view = ViewState("users", QuerySpec(), ("id", "name"))
    loop = asyncio.get_running_loop()
    written_some = asyncio.Event()
    inner = make()

    def make_announcing(total: int) -> Any:
        writer = inner(total)
        write = writer.write

        def announcing(rows: Any) -> None:  # in the writer's thread
            write(rows)
            loop.call_soon_threadsafe(written_some.set)

        writer.write = announcing
        return writer

    request = ExportRequest(view)
    task = asyncio.ensure_future(export_typed(database, request, make_announcing, target))
    await written_some.wait()  # a batch is in the file under way: cancel mid-export
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert target.read_bytes() == b"what was there"
    assert files_in(folder) == [target]


async def test_a_writer_failure_leaves_no_file(database: Database, tmp_path: Path) -> None:
    await seed_people(database)

    class Failing:
        def begin(self, columns: Any, stream: Any) -> None:
            stream.write(b"started")

        def write(self, rows: Any) -> None:
            raise OSError(28, "No space left on device")

        def end(self) -> None:
            pass

    view = ViewState("users", QuerySpec(), ("id",))
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(ExportError, match="not enough space"):
        await export_typed(database, ExportRequest(view), lambda _total: Failing(), folder / "x")
    assert files_in(folder) == []
