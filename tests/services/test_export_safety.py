"""CSV that no reader mis-splits and no spreadsheet runs, and the Excel preset's numbers and
dates, on both engines: every export is read back field by field, with Python's csv module
using its own delimiter and with a reader that splits on all three separators at once (as
LibreOffice Calc's import dialog does by default)."""

from __future__ import annotations

import csv
import io
import os
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import tzlocal
from sqlalchemy import text

from app.core.database import Database
from app.query import OffsetPage, QuerySpec, SortKey, ViewState
from app.repositories.export_columns import FORMULA_STARTS, SEPARATORS, zone_time
from app.services import export as export_module
from app.services.errors import ValidationError
from app.services.export import (
    CsvOptions,
    ExportProgress,
    ExportRequest,
    _CopySink,
    excel_options,
    export_csv,
    export_table,
    local_time_zone,
)
from app.services.records import RecordService
from tests.repositories.factories import force, make_account, make_post, make_user

csv.field_size_limit(sys.maxsize)

NUL_SHOWN = "\u2400"
# Every guard character at the start of a value and after each separator, and the text a
# spreadsheet user meets: CR, CRLF, CJK, right-to-left, a long value.
HOSTILE = [
    *(f"{start}1+1" for start in FORMULA_STARTS if start != "\0"),
    *(
        f"x{separator}{start}2+2"
        for separator in SEPARATORS
        for start in FORMULA_STARTS
        if start != "\0"
    ),
    "x;=2+2",
    "a\rb",
    "a\r\nb",
    "東京 の 顧客",
    "שלום, עולם",  # Hebrew, with a comma
    "مرحبا;بالعالم",  # Arabic, with a semicolon
    "q" * 40_000,
    '"quoted", she said;\ttab',
    "plain",
]
# PostgreSQL's text cannot hold NUL; on SQLite another program may have written one.
WITH_NUL = ["\0=1+1", "ab\0cd", "\0", *(f"x{separator}\0=1" for separator in SEPARATORS)]


def shown(value: str, protection: bool) -> str:
    """What the export writes for ``value`` (before CSV quoting)."""
    if protection and value.startswith(FORMULA_STARTS):
        value = "'" + value
    return value.replace("\0", NUL_SHOWN)


def split_on_every_separator(content: str) -> list[list[str]]:
    """Rows as a reader splitting on , ; and TAB together reads them: quotes open only at
    the start of a field, a doubled quote inside one is a quote."""
    rows: list[list[str]] = []
    row: list[str] = []
    field: list[str] = []
    index = 0
    quoted = False
    while index < len(content):
        character = content[index]
        if quoted:
            if character == '"' and content[index + 1 : index + 2] == '"':
                field.append('"')
                index += 1
            elif character == '"':
                quoted = False
            else:
                field.append(character)
        elif character == '"' and not field:
            quoted = True
        elif character in SEPARATORS:
            row.append("".join(field))
            field = []
        elif character in "\r\n":
            if character == "\r" and content[index + 1 : index + 2] == "\n":
                index += 1
            row.append("".join(field))
            rows.append(row)
            row, field = [], []
        else:
            field.append(character)
        index += 1
    assert not field, "the last row has no line end"
    assert not row, "the last row has no line end"
    return rows


async def seed_posts(database: Database, values: list[str]) -> None:
    async with database.get_session(write=True) as session:
        author = await make_user(session)
        for _ in values:
            await make_post(session, author, title="t")
        # Not through the repository: it refuses NUL, which another program may write.
        ids = (await session.execute(text("SELECT id FROM posts ORDER BY id"))).scalars()
        for post_id, value in zip(ids, values, strict=True):
            await session.execute(
                text("UPDATE posts SET title = :title, content = :content WHERE id = :id"),
                {"title": value[:200] or "t", "content": value, "id": post_id},
            )


async def export_bytes(
    database: Database, view: ViewState, path: Path, options: CsvOptions
) -> bytes:
    await export_csv(database, ExportRequest(view), options, path)
    return bytes_of(path)


def bytes_of(path: Path) -> bytes:
    return path.read_bytes()


POSTS = ViewState("posts", QuerySpec(sort=(SortKey("id"),)), ("id", "title", "content"))


@pytest.mark.parametrize("protection", [True, False], ids=["guarded", "unguarded"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
async def test_hostile_text_reads_back_whole_with_each_reader(
    database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    delimiter: str,
    protection: bool,
) -> None:
    values = HOSTILE + (WITH_NUL if database.is_sqlite else [])
    await seed_posts(database, values)
    options = CsvOptions(delimiter=delimiter, formula_protection=protection)
    content = (await export_bytes(database, POSTS, tmp_path / "a.csv", options)).decode()
    expected = [
        [str(number), shown(value[:200] or "t", protection), shown(value, protection)]
        for number, value in enumerate(values, start=1)
    ]
    header = ["id", "title", "content"]
    rows = list(csv.reader(io.StringIO(content, newline=""), delimiter=delimiter))
    assert rows == [header, *expected]
    assert split_on_every_separator(content) == [header, *expected]
    # A NUL is never written, and never cut: the same bytes whatever the block of lines.
    assert "\0" not in content
    monkeypatch.setattr(export_module, "SQLITE_LINES_PER_FETCH", 1)
    assert (await export_bytes(database, POSTS, tmp_path / "b.csv", options)).decode() == content


async def test_text_after_an_embedded_separator_is_quoted_not_guarded(
    database: Database, tmp_path: Path
) -> None:
    await seed_posts(database, ["x;=2+2", "x,=2+2", "x\t=2+2", "x=2+2"])
    view = ViewState("posts", QuerySpec(sort=(SortKey("id"),)), ("content",))
    content = await export_bytes(database, view, tmp_path / "a.csv", CsvOptions())
    assert content == b'content\r\n"x;=2+2"\r\n"x,=2+2"\r\n"x\t=2+2"\r\nx=2+2\r\n'


async def test_a_nul_is_shown_and_a_leading_one_guarded_whatever_the_other_rows(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database.is_sqlite:
        pytest.skip("PostgreSQL's text cannot hold NUL")
    # Alone in its block of lines, and beside a row that needs quoting.
    await seed_posts(database, ["ab\0cd", "\0=1+1", "x,y", "ab\0cd"])
    view = ViewState("posts", QuerySpec(sort=(SortKey("id"),)), ("content",))
    expected = 'content\r\nab\u2400cd\r\n\'\u2400=1+1\r\n"x,y"\r\nab\u2400cd\r\n'.encode()
    for lines_per_fetch in (1_000, 1, 2):
        monkeypatch.setattr(export_module, "SQLITE_LINES_PER_FETCH", lines_per_fetch)
        assert await export_bytes(database, view, tmp_path / "a.csv", CsvOptions()) == expected


async def test_a_table_in_memory_is_written_as_rows_are(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    await export_table(["name"], [["x;=2+2"], ["\0=1"], ["\uff1d1"]], CsvOptions(), path)
    assert bytes_of(path).decode() == "name\r\n\"x;=2+2\"\r\n'\u2400=1\r\n'\uff1d1\r\n"


async def test_a_table_in_memory_takes_the_excel_forms(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    rows = [[Decimal("1234.56"), 0.5, 3, datetime(2026, 1, 1, 23, 30, tzinfo=UTC)]]
    headings = ["amount", "share", "count", "at"]
    await export_table(headings, rows, excel_options(",", "Europe/Berlin"), path)
    assert bytes_of(path).decode("utf-8-sig") == (
        'amount;share;count;at\r\n"1234,56";"0,5";3;2026-01-02 00:30:00\r\n'
    )
    await export_table(headings, rows, CsvOptions(), path)
    assert bytes_of(path).decode() == (
        "amount,share,count,at\r\n1234.56,0.5,3,2026-01-01 23:30:00+00:00\r\n"
    )


async def test_copy_output_is_quoted_for_every_separator_across_chunks() -> None:
    written: list[bytes] = []

    class Collect:
        def __init__(self) -> None:
            self.bytes = 0

        async def write_soon(self, data: bytes) -> None:
            written.append(data)

    sink = _CopySink(Collect(), CsvOptions(), ExportProgress())  # type: ignore[arg-type]
    # Cut mid-field, mid-quote and between a CR and its row's end.
    pieces = [b"1,x;=2", b'+2,"a\nb",c\td\n2,"say ""', b'hi;""",plain\n3,', b"a;b\n"]
    for piece in pieces:
        await sink.write(piece)
    await sink.finish()
    assert b"".join(written) == (
        b'1,"x;=2+2","a\nb","c\td"\r\n2,"say ""hi;""",plain\r\n3,"a;b"\r\n'
    )


# -- the Excel preset: numbers and dates a spreadsheet reads ------------------------------


@pytest.mark.parametrize(
    ("locale", "decimal_point", "delimiter", "written"),
    [
        ("de-DE", ",", ";", ['"1234,56"', '"0,05"', '"999999999999,99"', '"0,00"', ""]),
        ("en-US", ".", ",", ["1234.56", "0.05", "999999999999.99", "0.00", ""]),
        ("C", ".", ",", ["1234.56", "0.05", "999999999999.99", "0.00", ""]),
    ],
)
async def test_the_excel_preset_writes_amounts_in_the_locales_form(
    database: Database,
    tmp_path: Path,
    locale: str,
    decimal_point: str,
    delimiter: str,
    written: list[str],
) -> None:
    async with database.get_session(write=True) as session:
        owner = await make_user(session)
        for balance in ("1234.56", "0.05", "999999999999.99", "0.00"):
            await make_account(session, owner, balance=Decimal(balance), name="n")
    options = excel_options(decimal_point, "UTC")
    assert (options.delimiter, options.decimal_point) == (delimiter, decimal_point)
    view = ViewState("accounts", QuerySpec(sort=(SortKey("id"),)), ("balance", "name"))
    content = await export_bytes(database, view, tmp_path / "a.csv", options)
    assert content.startswith(b"\xef\xbb\xbfbalance" + delimiter.encode() + b"name\r\n")
    lines = content[3:].decode().split("\r\n")[1:-1]
    assert [line.split(delimiter)[0] for line in lines] == written[:4]
    # Read back as the locale's spreadsheet would: every amount is a number.
    for line in csv.reader(io.StringIO(content[3:].decode(), newline=""), delimiter=delimiter):
        if line[0] != "balance":
            assert Decimal(line[0].replace(decimal_point, ".")) in {
                Decimal("1234.56"),
                Decimal("0.05"),
                Decimal("999999999999.99"),
                Decimal("0.00"),
            }


WINTER = datetime(2026, 1, 1, 10, 0, 5, 750000, UTC)
SUMMER = datetime(2026, 7, 1, 10, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "winter", "summer"),
    [
        ("UTC", "2026-01-01 10:00:05", "2026-07-01 10:00:05"),
        ("Europe/Berlin", "2026-01-01 11:00:05", "2026-07-01 12:00:05"),
        ("America/New_York", "2026-01-01 05:00:05", "2026-07-01 06:00:05"),
    ],
)
async def test_spreadsheet_dates_are_local_time_in_the_zone_named(
    database: Database, tmp_path: Path, zone: str, winter: str, summer: str
) -> None:
    async with database.get_session(write=True) as session:
        for moment in (WINTER, SUMMER):
            await force(session, await make_user(session), created_at=moment)
    view = ViewState("users", QuerySpec(sort=(SortKey("id"),)), ("created_at", "deleted_at"))
    options = CsvOptions(time_zone=zone)
    content = await export_bytes(database, view, tmp_path / "a.csv", options)
    assert content.decode() == f"created_at,deleted_at\r\n{winter},\r\n{summer},\r\n"


# Text another program wrote into SQLite's date column (PostgreSQL reads it on the way in).
FOREIGN_TIMES = [
    ("2026-01-01T10:00:00Z", datetime(2026, 1, 1, 10, 0, tzinfo=UTC)),
    ("2026-01-01T12:00:00+02:00", datetime(2026, 1, 1, 10, 0, tzinfo=UTC)),
    ("2026-01-01 07:30:00.25-02:30", datetime(2026, 1, 1, 10, 0, 0, 250000, UTC)),
    ("2026-01-01 10:00:00.12345Z", datetime(2026, 1, 1, 10, 0, 0, 123450, UTC)),
    ("2026-01-01 12:00:00+02:00", datetime(2026, 1, 1, 10, 0, tzinfo=UTC)),
    ("2026-01-01T10:00:00", datetime(2026, 1, 1, 10, 0, tzinfo=UTC)),
    ("2026-01-01 10:00:00.123456", datetime(2026, 1, 1, 10, 0, 0, 123456, UTC)),
]


async def store_foreign_times(database: Database) -> None:
    """One user a time of FOREIGN_TIMES, stored as the text arrives: SQLite keeps it,
    PostgreSQL reads the instant from it."""
    update = (
        "UPDATE users SET created_at = :stored WHERE id = :id"
        if database.is_sqlite
        else "UPDATE users SET created_at = CAST(CAST(:stored AS TEXT) AS TIMESTAMPTZ) "
        "WHERE id = :id"
    )
    async with database.get_session(write=True) as session:
        for stored, _ in FOREIGN_TIMES:
            user = await make_user(session)
            await session.execute(text(update), {"stored": stored, "id": user.id})


async def test_times_other_programs_stored_are_written_as_the_instant_they_denote(
    database: Database, tmp_path: Path
) -> None:
    await store_foreign_times(database)
    spec = QuerySpec(sort=(SortKey("id"),))
    view = ViewState("users", spec, ("created_at",))
    exact = (await export_bytes(database, view, tmp_path / "a.csv", CsvOptions())).decode()
    instants = [datetime.fromisoformat(cell) for cell in exact.split("\r\n")[1:-1]]
    assert instants == [instant for _, instant in FOREIGN_TIMES]
    assert all(cell.endswith("+00:00") for cell in exact.split("\r\n")[1:-1])
    # As the record window reads them.
    page = await RecordService(database).browse("users", spec, OffsetPage(0, 100))
    assert [row[page.columns.index("created_at")] for row in page.rows] == instants
    berlin = CsvOptions(time_zone="Europe/Berlin")
    local = (await export_bytes(database, view, tmp_path / "b.csv", berlin)).decode()
    assert local.split("\r\n")[1:-1] == ["2026-01-01 11:00:00"] * len(FOREIGN_TIMES)


def test_zone_time_reads_what_the_record_window_reads() -> None:
    assert zone_time("2026-01-01 10:00:00.5", "Europe/Berlin") == "2026-01-01 11:00:00"
    assert zone_time("2026-01-01T10:00:00Z", "Asia/Tokyo") == "2026-01-01 19:00:00"
    assert zone_time("not a date", "UTC") == "not a date"
    assert zone_time(None, "UTC") is None


def test_the_local_zone_is_named_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert local_time_zone() == "Europe/Berlin"
    monkeypatch.setenv("TZ", ":Asia/Tokyo")
    assert local_time_zone() == "Asia/Tokyo"
    monkeypatch.setenv("TZ", "Nowhere/Atlantis")
    assert local_time_zone() == "UTC"


def test_options_a_reader_would_misread_are_refused() -> None:
    for options in (
        CsvOptions(empty_text=";"),
        CsvOptions(empty_text="a\tb"),
        CsvOptions(empty_text="a,b", delimiter=";"),
        CsvOptions(decimal_point=";"),
        CsvOptions(time_zone="Nowhere/Atlantis"),
    ):
        with pytest.raises(ValidationError):
            options.validated()
    assert CsvOptions(decimal_point=",", time_zone="Europe/Berlin").validated()


def test_without_tz_or_a_zone_file_the_system_names_the_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Windows and macOS have no /etc/localtime in the zone folder: tzlocal asks the
    system, and anything it cannot name is UTC."""
    monkeypatch.delenv("TZ", raising=False)
    monkeypatch.setattr(os.path, "realpath", lambda _path: "/nowhere/localtime")
    monkeypatch.setattr(tzlocal, "get_localzone_name", lambda: "America/Chicago")
    assert local_time_zone() == "America/Chicago"

    def unknown() -> str:
        raise LookupError("no zone")

    monkeypatch.setattr(tzlocal, "get_localzone_name", unknown)
    assert local_time_zone() == "UTC"
