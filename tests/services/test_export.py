"""CSV export: the file read back equals the database, on both engines, for every kind of
value and option; it follows the view; a cancel or a failure never leaves a file behind."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import errno
import io
import os
import socket
import stat
import sys
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import URL

from app.core.database import Database
from app.query import (
    DeletedRows,
    Equals,
    KeyRange,
    OffsetPage,
    QuerySpec,
    Range,
    SortKey,
    ViewState,
    sort_key_of,
)
from app.services import export as export_module
from app.services.errors import DatabaseUnavailableError, ValidationError
from app.services.export import (
    CsvOptions,
    ExportError,
    ExportProgress,
    ExportRequest,
    _CopySink,
    csv_field,
    excel_options,
    export_csv,
    export_table,
    proposed_file_name,
)
from app.services.records import RecordService
from tests.conftest import _truncate as truncate
from tests.repositories.factories import (
    force,
    make_account,
    make_post,
    make_profile,
    make_user,
    moment,
)

USER_COLUMNS = ("id", "email", "name", "is_active", "created_at", "updated_at", "deleted_at")
TRICKY_TEXTS = [
    'say "hello"',
    "comma, inside",
    "semi; colon",
    "tab\tinside",
    "line\nbreak",
    "windows\r\nbreak",
    "carriage\rreturn",
    "Chloé 東京 🦆 Ünïcödé",
    "  spaces kept  ",
    "'already quoted'",
    "\\. alone",
    "x" * 300_000,
]


async def export_text(
    database: Database,
    view: ViewState,
    folder: Path,
    options: CsvOptions | None = None,
    *,
    ranges: tuple[KeyRange, ...] = (),
    all_columns: bool = False,
) -> str:
    path = folder / "out.csv"
    request = ExportRequest(view, ranges, all_columns)
    await export_csv(database, request, options or CsvOptions(), path)
    return bytes_of(path).decode("utf-8")


def bytes_of(path: Path) -> bytes:
    return path.read_bytes()


def files_in(folder: Path) -> list[Path]:
    return list(folder.iterdir())


# Values of megabytes are part of the test.
csv.field_size_limit(sys.maxsize)


def read_back(content: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(content, newline=""), delimiter=delimiter))


async def all_rows(database: Database, entity: str, spec: QuerySpec) -> list[dict[str, Any]]:
    page = await RecordService(database).browse(entity, spec, OffsetPage(0, 10_000))
    return [dict(zip(page.columns, row, strict=True)) for row in page.rows]


def parsed(cell: str, value: Any) -> Any:
    """The cell read as the type of ``value`` (the database's), for comparing."""
    if value is None:
        return None if cell == "" else cell
    if isinstance(value, bool):
        return {"true": True, "false": False}[cell]
    if isinstance(value, datetime):
        return datetime.fromisoformat(cell)
    if isinstance(value, Decimal):
        return Decimal(cell)
    if isinstance(value, int):
        return int(cell)
    return cell


def assert_matches(content: str, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    header, *lines = read_back(content)
    assert header == list(columns)
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows, strict=True):
        assert [parsed(cell, row[name]) for cell, name in zip(line, columns, strict=True)] == [
            row[name] for name in columns
        ]


# -- values ------------------------------------------------------------------------------


async def test_every_kind_of_value_reads_back_as_stored(database: Database, tmp_path: Path) -> None:
    async with database.get_session(write=True) as session:
        for index, value in enumerate(TRICKY_TEXTS):
            user = await make_user(session, name=value[:100], email=f"u{index}@example.org")
            await make_post(session, user, title=value[:200], content=value)
            await make_profile(session, user, bio=None if index % 3 == 0 else value)
        account = await make_account(session, user, balance=Decimal("1234.50"))
        await make_account(session, user, balance=Decimal("0.05"), name="small")
        await make_account(session, user, balance=Decimal("999999999999.99"), name="large")
        await force(session, account, created_at=datetime(2024, 3, 1, 12, 30, 5, 250000, UTC))
        await make_user(session, is_active=False)
    for entity in ("users", "posts", "profiles", "accounts"):
        spec = QuerySpec()
        rows = await all_rows(database, entity, spec)
        columns = tuple(rows[0])
        content = await export_text(
            database, ViewState(entity, spec, columns), tmp_path, CsvOptions(line_ending="\n")
        )
        assert_matches(content, rows, columns)


async def test_money_is_written_as_exact_decimals(database: Database, tmp_path: Path) -> None:
    async with database.get_session(write=True) as session:
        user = await make_user(session)
        for balance in ("1234.50", "0.05", "0.00", "999999999999.99", "10"):
            await make_account(session, user, balance=Decimal(balance))
    content = await export_text(
        database, ViewState("accounts", QuerySpec(), ("balance",)), tmp_path
    )
    assert content.split("\r\n") == [
        "balance",
        "1234.50",
        "0.05",
        "0.00",
        "999999999999.99",
        "10.00",
        "",
    ]


async def test_dates_are_rfc_3339_in_utc_with_their_offset(
    database: Database, tmp_path: Path
) -> None:
    async with database.get_session(write=True) as session:
        user = await make_user(session)
        await force(session, user, created_at=datetime(2024, 3, 1, 12, 30, 5, 250000, UTC))
    content = await export_text(
        database, ViewState("users", QuerySpec(), ("created_at",)), tmp_path
    )
    written = content.split("\r\n")[1]
    assert written.startswith("2024-03-01 12:30:05.25")
    assert written.endswith("+00:00")
    assert datetime.fromisoformat(written) == datetime(2024, 3, 1, 12, 30, 5, 250000, UTC)


async def test_empty_text_and_no_value_are_told_apart(database: Database, tmp_path: Path) -> None:
    async with database.get_session(write=True) as session:
        user = await make_user(session)
        await make_profile(session, user, bio=None, avatar_url="")
        await make_profile(session, await make_user(session), bio="NULL", avatar_url="x")
    view = ViewState("profiles", QuerySpec(), ("bio", "avatar_url"))
    assert await export_text(database, view, tmp_path) == 'bio,avatar_url\r\n,""\r\nNULL,x\r\n'
    as_null = await export_text(database, view, tmp_path, CsvOptions(empty_text="NULL"))
    assert as_null == 'bio,avatar_url\r\nNULL,\r\n"NULL",x\r\n'


async def test_a_number_that_reads_like_the_empty_text_is_quoted(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database.get_session(write=True) as session:
        user = await make_user(session)
        await make_account(session, user, balance=Decimal("0.00"), name='a "quoted" one')
        await make_account(session, user, balance=Decimal("1.00"), name="plain")
    view = ViewState("accounts", QuerySpec(), ("name", "balance"))
    options = CsvOptions(empty_text="0.00")
    expected = 'name,balance\r\n"a ""quoted"" one","0.00"\r\nplain,1.00\r\n'
    assert await export_text(database, view, tmp_path, options) == expected
    # Block by block on SQLite: the quoted line and the plain one alike.
    monkeypatch.setattr(export_module, "SQLITE_LINES_PER_FETCH", 1)
    assert await export_text(database, view, tmp_path, options) == expected


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
async def test_formula_protection_makes_a_spreadsheet_show_text(
    database: Database, tmp_path: Path, start: str
) -> None:
    formula = f'{start}HYPERLINK("http://evil","x")'
    async with database.get_session(write=True) as session:
        await make_user(session, name=formula)
        await make_user(session, name="plain = text")
    view = ViewState("users", QuerySpec(sort=(SortKey("id"),)), ("name",))
    protected = read_back(await export_text(database, view, tmp_path))
    assert protected[1:] == [["'" + formula], ["plain = text"]]
    unprotected = read_back(
        await export_text(database, view, tmp_path, CsvOptions(formula_protection=False))
    )
    assert unprotected[1:] == [[formula], ["plain = text"]]


async def test_numbers_and_dates_are_never_guarded(database: Database, tmp_path: Path) -> None:
    async with database.get_session(write=True) as session:
        user = await make_user(session, name="-5")
        await make_account(session, user, balance=Decimal("5.00"), name="+1")
    content = await export_text(
        database, ViewState("accounts", QuerySpec(), ("name", "balance")), tmp_path
    )
    assert read_back(content)[1] == ["'+1", "5.00"]


# -- options -----------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
async def test_each_delimiter_reads_back(
    database: Database, tmp_path: Path, delimiter: str
) -> None:
    async with database.get_session(write=True) as session:
        for index, value in enumerate(TRICKY_TEXTS[:9]):
            await make_user(session, name=value, email=f"d{index}@example.org")
    rows = await all_rows(database, "users", QuerySpec())
    options = CsvOptions(delimiter=delimiter, line_ending="\n")
    content = await export_text(
        database, ViewState("users", QuerySpec(), ("id", "name")), tmp_path, options
    )
    lines = read_back(content, delimiter)
    assert [line[1] for line in lines[1:]] == [row["name"] for row in rows]


async def test_header_bom_and_line_endings(database: Database, tmp_path: Path) -> None:
    async with database.get_session(write=True) as session:
        await make_user(session, name="two\nlines", email="a@example.org")
        await make_user(session, name="one", email="b@example.org")
    view = ViewState("users", QuerySpec(), ("name", "email"))
    path = tmp_path / "out.csv"
    options = CsvOptions(bom=True, header=False, line_ending="\r\n")
    await export_csv(database, ExportRequest(view), options, path)
    # The line break inside a value is data and stays as it was.
    assert bytes_of(path) == b'\xef\xbb\xbf"two\nlines",a@example.org\r\none,b@example.org\r\n'
    await export_csv(database, ExportRequest(view), CsvOptions(line_ending="\n"), path)
    assert bytes_of(path) == b'name,email\n"two\nlines",a@example.org\none,b@example.org\n'


def test_options_that_would_read_back_wrong_are_refused() -> None:
    for options in (
        CsvOptions(delimiter="|"),
        CsvOptions(line_ending="\r"),
        CsvOptions(empty_text=","),
        CsvOptions(empty_text='"'),
        CsvOptions(empty_text="a\nb"),
        CsvOptions(empty_text="=NA()"),
        CsvOptions(empty_text="x" * 21),
    ):
        with pytest.raises(ValidationError):
            options.validated()
    assert CsvOptions(empty_text="=NA()", formula_protection=False).validated()


def test_the_excel_preset_follows_the_locale_list_separator() -> None:
    assert excel_options(".", "UTC") == CsvOptions(
        delimiter=",", bom=True, line_ending="\r\n", time_zone="UTC"
    )
    german = excel_options(
        ",", "Europe/Berlin", CsvOptions(empty_text="-", formula_protection=False)
    )
    assert (german.delimiter, german.decimal_point, german.bom, german.empty_text) == (
        ";",
        ",",
        True,
        "-",
    )
    assert german.time_zone == "Europe/Berlin"


def test_proposed_file_names() -> None:
    today = datetime(2026, 12, 2).date()
    assert proposed_file_name(ViewState("users"), today) == "users-2026-12-02.csv"
    related = ViewState("orders", QuerySpec(filters=(Equals("user_id", 12),)))
    assert proposed_file_name(related, today) == "orders-of-user-12-2026-12-02.csv"
    items = ViewState("order_items", QuerySpec(deleted=DeletedRows.ONLY))
    assert proposed_file_name(items, today) == "order-items-trash-2026-12-02.csv"


def test_another_programs_table_names_make_safe_file_names() -> None:
    from app.services.catalog import Catalog, ColumnInfo, ColumnKind, EntityInfo

    odd = EntityInfo(
        name="sales/2026: Q1",
        label="sales/2026: Q1",
        singular="sales/2026: Q1",
        columns=(ColumnInfo("id", "id", ColumnKind.INTEGER),),
        searchable=(),
        title_columns=(),
        relations=(),
    )
    known = Catalog([odd], ours=False)
    name = proposed_file_name(ViewState(odd.name), datetime(2026, 12, 2).date(), known)
    assert name == "sales-2026-Q1-2026-12-02.csv"


def test_a_field_is_quoted_exactly_when_it_must_be() -> None:
    options = CsvOptions()
    assert csv_field(None, options) == ""
    assert csv_field("", options) == '""'
    assert csv_field("", CsvOptions(empty_text="NULL")) == ""
    assert csv_field('a"b', options) == '"a""b"'
    assert csv_field("a,b", options) == '"a,b"'
    # Every separator, whichever the delimiter: a reader splitting on all three.
    for delimiter in (",", ";", "\t"):
        every = CsvOptions(delimiter=delimiter)
        for value in ("a;b", "a,b", "a\tb", "a\rb", "a\nb"):
            assert csv_field(value, every) == f'"{value}"'
        assert csv_field("a b", every) == "a b"
    assert csv_field("a\0b", options) == "a\u2400b"
    assert csv_field(12, options) == "12"


async def test_crlf_is_put_only_between_rows_even_across_chunks() -> None:
    chunks: list[bytes] = []

    class Collect:
        def __init__(self) -> None:
            self.bytes = 0

        async def write_soon(self, data: bytes) -> None:
            chunks.append(data)

    collected = Collect()
    sink = _CopySink(collected, CsvOptions(), ExportProgress())  # type: ignore[arg-type]
    pieces = [b'1,"a\nb', b'",x\n2,"say ""', b'hi""\n",y\n3,z\n']
    for piece in pieces:
        await sink.write(piece)
    assert b"".join(chunks) == b'1,"a\nb",x\r\n2,"say ""hi""\n",y\r\n3,z\r\n'


# -- the rows of the view ------------------------------------------------------------------


async def seed_people(database: Database) -> None:
    async with database.get_session(write=True) as session:
        for index in range(30):
            user = await make_user(
                session,
                name=f"{'Hansen' if index % 3 == 0 else 'Other'} {index:02d}",
                email=f"p{index:02d}@example.org",
                is_active=index % 2 == 0,
            )
            await force(session, user, created_at=moment(1 + index % 20))
            if index % 7 == 0:
                await force(session, user, deleted_at=moment(25))


@pytest.mark.parametrize(
    "spec",
    [
        QuerySpec(search="hansen"),
        QuerySpec(filters=(Equals("is_active", True),), sort=(SortKey("name", True),)),
        QuerySpec(filters=(Range("created_at", low=moment(5), high=moment(10)),)),
        QuerySpec(sort=(SortKey("created_at"), SortKey("name", True))),
        QuerySpec(deleted=DeletedRows.INCLUDE, sort=(SortKey("email", True),)),
        QuerySpec(deleted=DeletedRows.ONLY),
    ],
    ids=["search", "filter+sort", "range", "two-keys", "with-trash", "only-trash"],
)
async def test_the_export_is_exactly_the_view(
    database: Database, tmp_path: Path, spec: QuerySpec
) -> None:
    await seed_people(database)
    rows = await all_rows(database, "users", spec)
    assert rows  # each view shows something
    columns = ("name", "id", "created_at")  # reordered, most columns hidden
    content = await export_text(database, ViewState("users", spec, columns), tmp_path)
    assert_matches(content, rows, columns)


async def test_money_filters_convert_as_the_app_does(database: Database, tmp_path: Path) -> None:
    async with database.get_session(write=True) as session:
        user = await make_user(session)
        for balance in ("1.49", "1.50", "2.00"):
            await make_account(session, user, balance=Decimal(balance))
    spec = QuerySpec(filters=(Range("balance", low=Decimal("1.50")),))
    content = await export_text(database, ViewState("accounts", spec, ("balance",)), tmp_path)
    assert read_back(content)[1:] == [["1.50"], ["2.00"]]


async def test_selected_blocks_export_only_those_rows_in_view_order(
    database: Database, tmp_path: Path
) -> None:
    await seed_people(database)
    spec = QuerySpec(sort=(SortKey("name", True),))
    rows = await all_rows(database, "users", spec)
    columns = tuple(rows[0])
    keys = [sort_key_of(spec, ("id",), columns, tuple(row.values())) for row in rows]
    blocks = (KeyRange(keys[2], keys[5]), KeyRange(keys[9], keys[9]), KeyRange(keys[12], keys[13]))
    content = await export_text(
        database, ViewState("users", spec, ("id",)), tmp_path, ranges=blocks
    )
    wanted = [rows[i]["id"] for i in (2, 3, 4, 5, 9, 12, 13)]
    assert [int(line[0]) for line in read_back(content)[1:]] == wanted


async def test_all_columns_leave_the_secret_out_unless_shown(
    database: Database, tmp_path: Path
) -> None:
    async with database.get_session(write=True) as session:
        await make_user(session)
    view = ViewState("users", QuerySpec(), ("name",))
    header = read_back(await export_text(database, view, tmp_path, all_columns=True))[0]
    assert "hashed_password" not in header
    assert header[:3] == ["id", "email", "name"]
    shown = ViewState("users", QuerySpec(), ("name", "hashed_password"))
    assert (
        "hashed_password"
        in read_back(await export_text(database, shown, tmp_path, all_columns=True))[0]
    )


async def test_the_count_shown_is_the_rows_written(database: Database, tmp_path: Path) -> None:
    await seed_people(database)
    progress = ExportProgress()
    result = await export_csv(
        database, ExportRequest(ViewState("users")), CsvOptions(), tmp_path / "x.csv", progress
    )
    assert result.rows == progress.total == progress.rows == 25
    assert result.bytes == len(bytes_of(tmp_path / "x.csv"))


async def test_quoted_and_plain_blocks_of_lines_give_the_same_bytes(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite finishes a block of lines that needs quoting from the values: whatever the
    block size, the file is the same (and PostgreSQL's COPY agrees)."""
    async with database.get_session(write=True) as session:
        for index, value in enumerate(["plain", 'q"uote', "plain2", "", "x,y", "last"]):
            await make_user(session, name=value or "-", email=f"b{index}@example.org")
            await make_profile(session, None, bio=value)
    view = ViewState("profiles", QuerySpec(), ("id", "bio", "created_at"))
    whole = await export_text(database, view, tmp_path)
    monkeypatch.setattr(export_module, "SQLITE_LINES_PER_FETCH", 2)
    assert await export_text(database, view, tmp_path) == whole
    assert [line[1] for line in read_back(whole)[1:]] == [
        "plain",
        'q"uote',
        "plain2",
        "",
        "x,y",
        "last",
    ]


TEXT_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# What a database can store: no NUL and no lone surrogates (UTF-8 has no room for them).
STORABLE_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\0"), min_size=1, max_size=60
)


@TEXT_SETTINGS
@given(values=st.lists(STORABLE_TEXT, min_size=1, max_size=5))
async def test_any_text_reads_back_as_itself(
    database: Database, tmp_path: Path, values: list[str]
) -> None:
    async with database.get_session(write=True) as session:
        await session.execute(text("DELETE FROM posts"))
        author = await make_user(session)
        for value in values:
            await make_post(session, author, title=value, content=value)
    view = ViewState("posts", QuerySpec(), ("title", "content"))
    for protection in (True, False):
        options = CsvOptions(formula_protection=protection)
        lines = read_back(await export_text(database, view, tmp_path, options))[1:]
        guard: Callable[[str], str] = (
            (lambda value: "'" + value if value.startswith(export_module.FORMULA_STARTS) else value)
            if protection
            else (lambda value: value)
        )
        assert lines == [[guard(value), guard(value)] for value in values]


# -- failures and cancel -------------------------------------------------------------------


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    # A folder of its own: the SQLite database lives in tmp_path.
    path = tmp_path / "exports" / "out.csv"
    path.parent.mkdir()
    path.write_bytes(b"the previous export\n")
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name != "out.csv")


class PausedWrites:
    """Holds the export at its first block of rows until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()
        self.loop_reached = asyncio.Event()
        original_write = export_module._Destination.write
        original_write_soon = export_module._Destination.write_soon
        paused = self

        def write(destination: Any, data: bytes) -> None:
            if threading.current_thread() is not threading.main_thread():  # SQLite's worker
                paused.reached.set()
                paused.release.wait()
            original_write(destination, data)

        async def write_soon(destination: Any, data: bytes) -> None:  # PostgreSQL's COPY
            paused.reached.set()
            await asyncio.to_thread(paused.release.wait)
            await original_write_soon(destination, data)

        monkeypatch.setattr(export_module._Destination, "write", write)
        monkeypatch.setattr(export_module._Destination, "write_soon", write_soon)

    async def wait(self) -> None:
        await asyncio.to_thread(self.reached.wait)


async def test_cancel_leaves_no_file_and_the_old_one_intact(
    database: Database, existing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_people(database)
    # Blocks of two lines: the statement is still running when the export is cancelled.
    monkeypatch.setattr(export_module, "SQLITE_LINES_PER_FETCH", 2)
    paused = PausedWrites(monkeypatch)
    task = asyncio.ensure_future(
        export_csv(database, ExportRequest(ViewState("users")), CsvOptions(), existing)
    )
    try:
        await paused.wait()
        assert len(leftovers(existing.parent)) == 1  # the temporary file, beside the target
        task.cancel()
    finally:
        paused.release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert bytes_of(existing) == b"the previous export\n"
    assert leftovers(existing.parent) == []
    # The connection went back clean: the next export works.
    monkeypatch.undo()
    await export_csv(database, ExportRequest(ViewState("users")), CsvOptions(), existing)
    assert len(read_back(bytes_of(existing).decode())) == 1 + 25


async def test_a_full_disk_leaves_no_file_and_the_old_one_intact(
    database: Database, existing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_people(database)

    def full(_descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_module, "_SYNC_EVERY_BYTES", 1)
    monkeypatch.setattr("os.fdatasync", full)
    with pytest.raises(ExportError, match="not enough space"):
        await export_csv(database, ExportRequest(ViewState("users")), CsvOptions(), existing)
    assert bytes_of(existing) == b"the previous export\n"
    assert leftovers(existing.parent) == []


async def test_without_fdatasync_the_file_is_still_synced(
    database: Database, existing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """macOS and Windows have no fdatasync; the writer falls back to fsync (and a writer
    that failed otherwise would be reported, never left with a queue no one drains)."""
    await seed_people(database)
    monkeypatch.setattr(export_module, "_SYNC_EVERY_BYTES", 1)
    monkeypatch.delattr("os.fdatasync")
    result = await export_csv(database, ExportRequest(ViewState("users")), CsvOptions(), existing)
    assert result.rows == 25


@pytest.fixture
async def postgres_database(migrated_postgres_url: URL) -> AsyncIterator[Database]:
    await truncate(migrated_postgres_url)
    database = Database(migrated_postgres_url)
    yield database
    await database.dispose()


@pytest.mark.postgresql
async def test_a_lost_server_leaves_no_file_and_the_old_one_intact(
    postgres_database: Database, existing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = postgres_database
    await seed_people(database)
    paused = PausedWrites(monkeypatch)
    task = asyncio.ensure_future(
        export_csv(database, ExportRequest(ViewState("users")), CsvOptions(), existing)
    )
    try:
        await paused.wait()
        async with database.get_session() as session:
            await session.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'COPY (%' AND pid <> pg_backend_pid()"
                )
            )
    finally:
        paused.release.set()
    with pytest.raises(DatabaseUnavailableError):
        await task
    assert bytes_of(existing) == b"the previous export\n"
    assert leftovers(existing.parent) == []


async def test_bad_requests_are_refused_before_any_file_is_made(
    database: Database, tmp_path: Path
) -> None:
    (tmp_path / "exports").mkdir()
    target = tmp_path / "exports" / "out.csv"
    for request in (
        ExportRequest(ViewState("users", QuerySpec(), ("nope",))),
        ExportRequest(ViewState("users", QuerySpec(filters=(Equals("is_active", "maybe"),)))),
        ExportRequest(ViewState("users", QuerySpec(sort=(SortKey("nope"),)))),
        ExportRequest(ViewState("nothing")),
    ):
        with pytest.raises(ValidationError):
            await export_csv(database, request, CsvOptions(), target)
    assert files_in(tmp_path / "exports") == []


async def test_unwritable_places_are_named(database: Database, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="does not exist"):
        await export_csv(
            database, ExportRequest(ViewState("users")), CsvOptions(), tmp_path / "no" / "x.csv"
        )
    with pytest.raises(ExportError, match="is a folder"):
        await export_csv(database, ExportRequest(ViewState("users")), CsvOptions(), tmp_path)


# -- targets the app does not own: written into, followed, or refused -----------------------

NAMES = ExportRequest(ViewState("users", QuerySpec(), ("id", "name")))
TABLE = (["name", "amount"], [["Ada", 1], ["Chloé", 2]])
TABLE_BYTES = b"name,amount\r\nAda,1\r\nChlo\xc3\xa9,2\r\n"


class FifoReader:
    """Reads a FIFO to its end in a thread of its own, as a program at its other end would."""

    def __init__(self, path: Path) -> None:
        self.data = b""
        self._thread = threading.Thread(target=self._read, args=(path,), daemon=True)
        self._thread.start()

    def _read(self, path: Path) -> None:
        with path.open("rb") as fifo:
            self.data = fifo.read()

    def received(self) -> bytes:
        # A bound for a broken export, which leaves the reader waiting for good.
        self._thread.join(timeout=60)
        assert not self._thread.is_alive(), "the FIFO's reader never got an end of file"
        return self.data


def private_null_device(folder: Path) -> Path | None:
    """A character device of our own (the null device's numbers) in ``folder``, where making
    one is allowed (root, a file system without nodev); None elsewhere."""
    path = folder / "null"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        os.close(os.open(path, os.O_WRONLY))
    except (OSError, AttributeError):
        path.unlink(missing_ok=True)
        return None
    return path


def leftovers_of(folder: Path, *kept: str) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name not in kept)


async def test_a_fifo_is_written_into_and_its_reader_gets_the_export(
    database: Database, tmp_path: Path
) -> None:
    await seed_people(database)
    folder = tmp_path / "exports"
    folder.mkdir()
    await export_csv(database, NAMES, CsvOptions(), folder / "file.csv")
    fifo = folder / "fifo"
    os.mkfifo(fifo)
    reader = FifoReader(fifo)

    result = await export_csv(database, NAMES, CsvOptions(), fifo)

    assert reader.received() == bytes_of(folder / "file.csv")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # not renamed onto
    assert result.path == fifo
    assert result.rows == 25
    assert leftovers_of(folder, "file.csv", "fifo") == []


async def test_a_cancel_while_no_one_reads_the_fifo_ends_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    waiting, opened = threading.Event(), threading.Event()
    real_open = os.open

    def watched_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        writing = Path(path) == fifo and flags & os.O_WRONLY
        if writing:
            waiting.set()
        descriptor = real_open(path, flags, *args, **kwargs)
        if writing:
            opened.set()
        return descriptor

    monkeypatch.setattr(os, "open", watched_open)
    task = asyncio.ensure_future(export_table(*TABLE, CsvOptions(), fifo))
    assert await asyncio.to_thread(waiting.wait, 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # The open waiting in its thread returned, and both ends of the FIFO are closed again.
    assert await asyncio.to_thread(opened.wait, 60)
    for _ in range(1_000):
        if not descriptors_of(fifo):
            break
        await asyncio.sleep(0)  # a pass of the loop: the ends are closed by a callback
    assert descriptors_of(fifo) == []
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert leftovers_of(tmp_path, "fifo") == []


def descriptors_of(path: Path) -> list[str]:
    """This process's open descriptors of ``path`` (Linux; none known elsewhere)."""
    folder = Path("/proc/self/fd")
    if not folder.is_dir():
        return []
    found = []
    for name in os.listdir(folder):
        try:
            if os.readlink(folder / name) == str(path):
                found.append(name)
        except OSError:
            pass  # closed meanwhile (the listing's own descriptor)
    return found


async def test_a_symlink_is_followed_and_its_file_replaced_with_its_mode(
    database: Database, tmp_path: Path
) -> None:
    await seed_people(database)
    elsewhere, links = tmp_path / "elsewhere", tmp_path / "links"
    elsewhere.mkdir()
    links.mkdir()
    real = elsewhere / "users.csv"
    real.write_bytes(b"the previous export\n")
    real.chmod(0o640)
    link = links / "users.csv"
    link.symlink_to(real)
    await export_csv(database, NAMES, CsvOptions(), links / "expected.csv")

    await export_csv(database, NAMES, CsvOptions(), link)

    assert link.is_symlink()
    assert os.readlink(link) == str(real)
    assert bytes_of(real) == bytes_of(links / "expected.csv")
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert leftovers_of(elsewhere, "users.csv") == []
    assert leftovers_of(links, "users.csv", "expected.csv") == []


async def test_a_symlink_to_a_file_not_made_yet_makes_that_file(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    real = tmp_path / "elsewhere" / "new.csv"
    link = tmp_path / "new.csv"
    link.symlink_to(real)

    await export_table(*TABLE, CsvOptions(), link)

    assert link.is_symlink()
    assert bytes_of(real) == TABLE_BYTES


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604], ids=oct)
async def test_replacing_a_file_keeps_its_mode(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "private.csv"
    path.write_bytes(b"secret\n")
    path.chmod(mode)

    await export_table(*TABLE, CsvOptions(), path)

    assert bytes_of(path) == TABLE_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == mode


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root gives a file away"
)
async def test_replacing_a_file_keeps_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "theirs.csv"
    path.write_bytes(b"someone else's\n")
    os.chown(path, 4242, 4343)
    path.chmod(0o640)

    await export_table(*TABLE, CsvOptions(), path)

    status = path.stat()
    assert (status.st_uid, status.st_gid) == (4242, 4343)
    assert stat.S_IMODE(status.st_mode) == 0o640  # the chown cleared nothing it should keep


async def test_a_character_device_is_written_into_never_replaced(tmp_path: Path) -> None:
    # A private device where one can be made: a broken export replaces only that one.
    device = private_null_device(tmp_path) or Path("/dev/null")
    before = os.lstat(device)

    result = await export_table(*TABLE, CsvOptions(), device)

    after = os.lstat(device)
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert result.bytes == len(TABLE_BYTES)
    assert [name for name in os.listdir(device.parent) if name.startswith(".null.")] == []


@pytest.mark.skipif(not os.path.isdir("/dev/fd"), reason="no /dev/fd here")
async def test_a_file_reached_through_dev_fd_is_appended_to_in_place(tmp_path: Path) -> None:
    """``--output /dev/stdout`` with standard output sent to a file: that open file gets the
    rows; replacing the name would leave the shell writing to a file no longer there."""
    path = tmp_path / "redirected.csv"
    path.write_bytes(b"before\n")
    inode = path.stat().st_ino
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        await export_table(*TABLE, CsvOptions(), Path(f"/dev/fd/{descriptor}"))
    finally:
        os.close(descriptor)

    assert bytes_of(path) == b"before\n" + TABLE_BYTES
    assert path.stat().st_ino == inode


async def test_a_folder_a_socket_or_a_disk_device_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a short name: socket paths have a length limit
    refused: list[tuple[Path, str]] = [(tmp_path, "is a folder")]
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind("socket")
        refused.append((tmp_path / "socket", "is a socket, not a file"))
        with contextlib.suppress(OSError, AttributeError):
            os.mknod(tmp_path / "disk", stat.S_IFBLK | 0o600, os.makedev(7, 0))
            refused.append((tmp_path / "disk", "is a disk device, not a file"))
        kinds = {path: stat.S_IFMT(os.lstat(path).st_mode) for path, _ in refused}

        for path, words in refused:
            with pytest.raises(ExportError, match=words) as raised:
                await export_table(*TABLE, CsvOptions(), path)
            assert "\n" not in str(raised.value)
            assert stat.S_IFMT(os.lstat(path).st_mode) == kinds[path]
    assert leftovers_of(tmp_path, "socket", "disk") == []


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write to any file"
)
async def test_a_read_only_file_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "kept.csv"
    path.write_bytes(b"do not touch\n")
    path.chmod(0o444)

    with pytest.raises(ExportError, match="read-only"):
        await export_table(*TABLE, CsvOptions(), path)
    assert bytes_of(path) == b"do not touch\n"
