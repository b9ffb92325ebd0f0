"""Another program's database: opened read-only, never migrated or written, described from
its own schema, and every table and view of it browsed, searched, filtered, counted and
exported like our own tables — on proj.db (a real database nobody here wrote) and on
databases built with every type an analyst meets, on both engines."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL

from app.column_kinds import ColumnKind
from app.config import sqlite_url
from app.connections import file_connection
from app.core.database import Database
from app.desktop import settings_for
from app.query import (
    After,
    Before,
    Equals,
    IsEmpty,
    KeyRange,
    OffsetPage,
    QuerySpec,
    Range,
    SortKey,
    ViewState,
    sort_key_of,
)
from app.services import migrations
from app.services.catalog import catalog_of
from app.services.connection import open_database
from app.services.errors import ForeignDatabaseError, ValidationError
from app.services.export import CsvOptions, ExportRequest
from app.services.export_formats import ExportFormat, ExportOptions, export
from app.services.records import RecordService
from app.services.reflection import reflect
from tests import foreign

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:aiosqlite")


def files_in(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def opened(url: URL) -> Database:
    """``url`` opened read-only and described, as a window opens another program's."""
    database = Database(url, read_only=True)
    await migrations.prepare_for_use(database)
    return database


@pytest.fixture
async def proj(tmp_path: Path) -> AsyncIterator[tuple[Database, Path]]:
    path = foreign.proj_db(tmp_path)
    database = await opened(sqlite_url(path))
    yield database, path
    await database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def built_url(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[URL, str]:
    """The database built with every type (tests/foreign.py), on the engine under test."""
    if request.param == "sqlite":
        return sqlite_url(foreign.sqlite_foreign(tmp_path)), "sqlite"
    make: Callable[[], URL] = request.getfixturevalue("new_postgres_database")
    return asyncio.run(foreign.postgres_foreign(make())), "postgresql"


@pytest.fixture
async def built(built_url: tuple[URL, str]) -> AsyncIterator[tuple[Database, str]]:
    url, engine = built_url
    database = await opened(url)
    yield database, engine
    await database.dispose()


async def every_row(
    records: RecordService, entity: str, spec: QuerySpec, key: tuple[str, ...], page: int
) -> list[tuple[Any, ...]]:
    """The whole result read page by page as the browse model reads it: by keyset where
    the table has a key, by OFFSET where it has none."""
    rows: list[tuple[Any, ...]] = []
    request: Any = After(None, page) if key else OffsetPage(0, page)
    while True:
        found = await records.browse(entity, spec, request)
        rows.extend(found.rows)
        if len(found.rows) < page:
            return rows
        if key:
            request = After(sort_key_of(spec, key, found.columns, found.rows[-1]), page)
        else:
            request = OffsetPage(len(rows), page)


# -- proj.db ----------------------------------------------------------------------------------


async def test_proj_db_is_described_from_its_own_schema(proj: tuple[Database, Path]) -> None:
    database, path = proj
    known = catalog_of(database)
    assert not known.ours
    assert database.read_only
    kinds = known.entities()
    views = [info for info in kinds if info.view]
    assert len(kinds) - len(views) == foreign.PROJ_TABLES
    assert len(views) == foreign.PROJ_VIEWS
    native = {name for (name,) in foreign.native_rows(path, "SELECT name FROM sqlite_master")}
    assert {info.name for info in kinds} <= native
    crs = known.entity("geodetic_crs")
    assert crs.key == ("auth_name", "code")  # a composite key of text and integer
    assert crs.soft_delete is None
    assert crs.version is None
    assert crs.title_columns == ("name",)
    assert "another program" in crs.read_only_reason
    assert [column.kind for column in crs.columns][:3] == [
        ColumnKind.TEXT,
        ColumnKind.UNKNOWN,
        ColumnKind.TEXT,
    ]
    # Every declared type proj.db uses has a kind; INTEGER_OR_TEXT holds 1024 and 'RGNC'.
    assert known.entity("alias_name").column("code").kind is ColumnKind.UNKNOWN
    assert known.entity("unit_of_measure").column("conv_factor").kind is ColumnKind.REAL
    assert known.entity("geodetic_crs").column("deprecated").kind is ColumnKind.BOOLEAN
    assert any("open read-only" in notice for notice in database.notices)


async def test_every_table_and_view_of_proj_db_browses_counts_and_searches(
    proj: tuple[Database, Path],
) -> None:
    database, path = proj
    records = RecordService(database)
    for info in catalog_of(database).entities():
        # The names are the file's own, read from it: quoted as identifiers.
        count = f'SELECT count(*) FROM "{info.name}"'  # noqa: S608
        native = foreign.native_rows(path, count)[0][0]
        assert await records.count(info.name, QuerySpec()) == native, info.name
        first = await records.browse(
            info.name, QuerySpec(), After(None, 5) if info.key else OffsetPage(0, 5)
        )
        assert first.columns == info.column_names
        assert len(first.rows) == min(5, native)
        last, total = await records.browse_last(info.name, QuerySpec(), 3)
        assert total == native
        assert len(last.rows) == min(3, native)
        await records.browse(info.name, QuerySpec(search="wgs 84"), After(None, 5))


async def test_a_table_without_a_key_pages_by_rowid_and_a_composite_key_by_keyset(
    proj: tuple[Database, Path],
) -> None:
    database, path = proj
    known = catalog_of(database)
    records = RecordService(database)
    alias = known.entity("alias_name")  # no primary key in proj.db
    assert alias.key == ("rowid",)
    assert alias.column("rowid").internal  # there to page by, not one of the program's
    rows = await every_row(records, "alias_name", QuerySpec(), alias.key, 997)
    native = foreign.native_rows(path, "SELECT *, rowid FROM alias_name ORDER BY rowid")
    assert rows == native
    spec = QuerySpec(sort=(SortKey("name", descending=True),))
    crs = known.entity("geodetic_crs")
    rows = await every_row(records, "geodetic_crs", spec, crs.key, 333)
    native = foreign.native_rows(
        path,
        "SELECT * FROM geodetic_crs ORDER BY name DESC, auth_name DESC, code DESC",
    )
    assert [row[:3] for row in rows] == [row[:3] for row in native]
    # Backwards from a key, as the model reads the page before one it has.
    key = sort_key_of(spec, crs.key, crs.column_names, rows[500])
    before = await records.browse("geodetic_crs", spec, Before(key, 10))
    assert before.rows == rows[490:500]


async def test_a_view_pages_by_offset_in_one_order(proj: tuple[Database, Path]) -> None:
    database, path = proj
    records = RecordService(database)
    view = catalog_of(database).entity("crs_view")
    assert view.view
    assert view.key == ()
    rows = await every_row(records, "crs_view", QuerySpec(), (), 1000)
    assert sorted(rows, key=repr) == sorted(
        foreign.native_rows(path, "SELECT * FROM crs_view"), key=repr
    )
    assert len(set(rows)) == len(rows)  # no row read twice, none skipped


async def test_browsing_and_exporting_proj_db_leaves_its_bytes_as_they_were(
    tmp_path: Path,
) -> None:
    path = foreign.proj_db(tmp_path)
    before = digest(path)
    settings = settings_for(file_connection(path, name="proj"))
    database = open_database(settings)  # a saved connection, not marked read-only
    assert database.read_only  # another program's file: read-only whatever was asked
    try:
        await migrations.prepare_for_use(database)
        records = RecordService(database)
        for info in catalog_of(database).entities():
            await records.count(info.name, QuerySpec(search="europe"))
        target = tmp_path / "extent.csv"
        await export(
            database,
            ExportRequest(ViewState("extent")),
            ExportOptions(ExportFormat.CSV, CsvOptions()),
            target,
        )
    finally:
        await database.dispose()
    assert digest(path) == before
    assert files_in(tmp_path) == ["extent.csv", "proj.db"]


async def test_a_csv_export_of_a_proj_table_holds_every_value_sqlite_holds(
    proj: tuple[Database, Path], tmp_path: Path
) -> None:
    database, path = proj
    target = tmp_path / "extent.csv"
    result = await export(
        database,
        ExportRequest(ViewState("extent")),
        ExportOptions(ExportFormat.CSV, CsvOptions()),
        target,
    )
    read = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"), newline="")))
    native = foreign.native_rows(path, "SELECT * FROM extent ORDER BY auth_name, code")
    assert result.rows == len(native) == len(read) - 1
    assert read[0] == [
        "auth_name", "code", "name", "description", "south_lat", "north_lat", "west_lon",
        "east_lon", "deprecated",
    ]  # fmt: skip
    for written, row in zip(read[1:], native, strict=True):
        assert written[:4] == [str(value) for value in row[:4]]
        # Floats as SQLite's shortest spelling; an empty cell where it holds NULL or ''.
        assert [float(value) if value else None for value in written[4:8]] == [
            value if value != "" else None for value in row[4:8]
        ]


# -- every type, both engines ---------------------------------------------------------------


async def test_a_foreign_database_is_refused_unless_read_only(
    built_url: tuple[URL, str],
) -> None:
    url, _engine = built_url
    writable = Database(url)
    try:
        with pytest.raises(ForeignDatabaseError, match="another program"):
            await migrations.prepare_for_use(writable)
    finally:
        await writable.dispose()
    database = await opened(url)
    try:
        assert not catalog_of(database).ours
        state = await migrations.schema_state(database)
        assert state.current is None  # nothing of ours was written into it
    finally:
        await database.dispose()


async def test_every_type_has_a_kind_and_is_read_as_stored(
    built: tuple[Database, str],
) -> None:
    database, engine = built
    known = catalog_of(database)
    records = RecordService(database)
    if engine == "sqlite":
        track = known.entity("track")
        kinds = {column.name: column.kind for column in track.columns}
        assert kinds == {
            "track_key": ColumnKind.TEXT,
            "title": ColumnKind.TEXT,
            "seconds": ColumnKind.INTEGER,
            "price": ColumnKind.DECIMAL,
            "rating": ColumnKind.REAL,
            "released": ColumnKind.DATE,
            "added": ColumnKind.TIMESTAMP,
            "live": ColumnKind.BOOLEAN,
            "cover": ColumnKind.BLOB,
            "anything": ColumnKind.UNKNOWN,
        }
        page = await records.browse("track", QuerySpec(), After(None, 10))
        by_key = {row[0]: dict(zip(page.columns, row, strict=True)) for row in page.rows}
        # Each value as another program stored it: never a failed page.
        assert by_key["t-001"]["added"] == "2026-01-01T10:00:00Z"
        assert by_key["t-003"]["added"] == "yesterday"
        assert by_key["t-003"]["seconds"] == "long"
        assert by_key["t-003"]["live"] == "maybe"
        assert by_key["t-001"]["cover"] == b"\xde\xad\xbe\xef"
        assert by_key["t-003"]["anything"] == b"\x00\xff"
        assert by_key["t-002"]["price"] == 2.5  # NUMERIC affinity made the text a number
        assert known.entity("play").column("track_key").references == "track"
        assert known.entity("pair").key == ("a", "b")  # WITHOUT ROWID, composite
        assert known.entity("long_tracks").view
    else:
        track = known.entity("music.track")
        assert track.schema == "music"
        kinds = {column.name: column.kind for column in track.columns}
        assert kinds == {
            "track_id": ColumnKind.UUID,
            "artist_id": ColumnKind.REFERENCE,
            "title": ColumnKind.TEXT,
            "length": ColumnKind.INTERVAL,
            "price": ColumnKind.DECIMAL,
            "rating": ColumnKind.REAL,
            "tags": ColumnKind.ARRAY,
            "meta": ColumnKind.JSON,
            "cover": ColumnKind.BLOB,
            "released": ColumnKind.TIMESTAMP,
            "added": ColumnKind.DATETIME,
            "live": ColumnKind.BOOLEAN,
            "plays": ColumnKind.INTEGER,
            "small": ColumnKind.INTEGER,
            "at_time": ColumnKind.TIME,
        }
        assert track.column("artist_id").references == "music.artist"
        assert known.entity("music.artist").column("mood").choices == ("sad", "ok", "happy")
        assert known.entity("music.artist").relations[0].entity == "music.track"
        page = await records.browse("music.track", QuerySpec(), After(None, 10))
        first = dict(zip(page.columns, page.rows[0], strict=True))
        # NUMERIC(30, 10) exact, never a float; a naive timestamp never shifted.
        assert first["price"] == Decimal("12345678901234567890.0123456789")
        assert str(first["released"]) == "2020-01-01 10:00:00"
        assert first["cover"] == b"\xde\xad\xbe\xef"
        assert first["tags"] == ["a", "b"]
        assert first["meta"] == {"k": [1, 2]}
        assert known.entity("no_key").key == ()
        assert known.entity("artist_names").view
        # Only the default schema's tables go by their bare names.
        assert "pair" in known
        assert "music.artist" in known


async def test_typed_filters_sort_and_search_work_on_another_programs_tables(
    built: tuple[Database, str],
) -> None:
    database, engine = built
    records = RecordService(database)
    entity = "track" if engine == "sqlite" else "music.track"

    async def titles(spec: QuerySpec) -> list[str]:
        page = await records.browse(entity, spec, After(None, 50))
        return [row[page.columns.index("title")] for row in page.rows]

    if engine == "sqlite":
        # BINARY collation: code point order, as Python sorts.
        assert await titles(QuerySpec(sort=(SortKey("title"),))) == sorted(
            await titles(QuerySpec())
        )
        assert await titles(QuerySpec(search="σίσυφος")) == ["ΣΊΣΥΦΟΣ"]  # folded in any script
        assert await titles(QuerySpec(search="ÁGUAS")) == ["Águas de Março"]
        # SQLite compares as it stores: text sorts after every number, so the 'n/a' in a
        # REAL column and the 'sometime' in a DATE column pass a "from" bound.
        assert await titles(QuerySpec(filters=(Range("rating", low="4"),))) == [
            "Águas de Março",
            "Straße",
        ]
        assert await titles(
            QuerySpec(filters=(Range("released", low="2000-01-01"),), sort=(SortKey("title"),))
        ) == ["Ünïcödé", "ΣΊΣΥΦΟΣ"]
        assert await titles(QuerySpec(filters=(IsEmpty("price"),))) == ["Ünïcödé"]
        assert await titles(QuerySpec(filters=(Equals("track_key", "t-002"),))) == ["ΣΊΣΥΦΟΣ"]
    else:
        assert await titles(QuerySpec(search="GROSS")) == []  # a fold, not a transliteration
        assert await titles(QuerySpec(search="groß")) == ["Groß"]
        assert await titles(QuerySpec(filters=(Range("price", low="1e19"),))) == ["Waterloo"]
        assert await titles(QuerySpec(filters=(Range("released", high="2021-01-01"),))) == [
            "Waterloo"
        ]
        assert await titles(QuerySpec(filters=(Equals("live", "yes"),))) == ["Waterloo"]
        assert await titles(
            QuerySpec(filters=(Equals("track_id", "00000000-0000-0000-0000-000000000002"),))
        ) == ["Groß"]
        artists = await records.browse("music.artist", QuerySpec(search="σίσυφος"), After(None, 5))
        assert [row[0] for row in artists.rows] == ["C3"]
    with pytest.raises(ValidationError):
        await records.browse(entity, QuerySpec(filters=(Range("title", low="a"),)), After(None, 5))


async def test_a_composite_key_and_no_key_page_exactly(built: tuple[Database, str]) -> None:
    database, engine = built
    records = RecordService(database)
    spec = QuerySpec(sort=(SortKey("note"),))
    rows = await every_row(records, "pair", spec, ("a", "b"), 1)
    assert [row[2] for row in rows] == ["one", "three", "two"]
    if engine == "postgresql":
        assert len(await every_row(records, "no_key", QuerySpec(), (), 1)) == 3
        last, total = await records.browse_last("no_key", QuerySpec(), 2)
        assert total == 3
        assert len(last.rows) == 2


async def test_references_to_another_programs_rows_show_their_titles(
    built: tuple[Database, str],
) -> None:
    database, engine = built
    records = RecordService(database)
    if engine == "sqlite":
        page = await records.browse("play", QuerySpec(), After(None, 10))
        titles = await records.reference_titles("play", page.rows)
        assert titles[("track", "t-001")] == "t-001 · Águas de Março"  # a column named title
    else:
        page = await records.browse("music.track", QuerySpec(), After(None, 10))
        titles = await records.reference_titles("music.track", page.rows)
        assert titles[("music.artist", "A1")] == "A1 · Ábba"  # its unique name
        record = await records.get("music.artist", "b2")
        assert record["name"] == "straße"


# -- size ------------------------------------------------------------------------------------


def test_a_thousand_tables_are_described_and_their_list_made(tmp_path: Path) -> None:
    """The budget is the main window's list within 1 s; this measures the description
    (printed, never asserted: tests do not time) and checks what it holds."""
    import sqlite3
    from contextlib import closing

    from sqlalchemy import create_engine

    path = foreign.many_tables(tmp_path / "many.db", 1000)
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            started = time.perf_counter()
            known = reflect(connection)
            seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    print(f"1,000 tables described in {seconds:.3f} s")
    assert len(known.entities()) == 1000
    assert known.entity("t0999").column("parent_id").references == "t0998"
    assert known.entity("t0998").relations[0].entity == "t0999"
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


async def test_every_export_form_reads_back_another_programs_values(
    built: tuple[Database, str], tmp_path: Path
) -> None:
    """CSV, XLSX and JSON Lines of a table of every type: each parses, every row is there,
    bytes are base64 and text that starts a formula is guarded — never an internal error."""
    import json

    import openpyxl

    database, engine = built
    entity = "track" if engine == "sqlite" else "music.track"
    written: dict[str, Path] = {}
    for kind in (ExportFormat.CSV, ExportFormat.XLSX, ExportFormat.JSONL):
        target = tmp_path / f"track.{kind.value}"
        result = await export(
            database, ExportRequest(ViewState(entity)), ExportOptions(kind, CsvOptions()), target
        )
        assert result.rows == (4 if engine == "sqlite" else 2)
        written[kind.value] = target
    rows = list(csv.DictReader(io.StringIO(written["csv"].read_text(encoding="utf-8"))))
    lines = [json.loads(line) for line in written["jsonl"].read_text("utf-8").splitlines()]
    sheet = openpyxl.load_workbook(written["xlsx"], read_only=True).worksheets[0]
    cells = list(sheet.iter_rows(values_only=True))
    if engine == "sqlite":
        key = {row["track_key"]: row for row in rows}
        assert key["t-001"]["cover"] == "3q2+7w=="  # X'DEADBEEF'
        assert key["t-003"]["anything"] == "AP8="  # X'00FF' in a column of no type
        assert key["t-003"]["seconds"] == "long"  # text in an INTEGER column, as stored
        assert key["t-002"]["released"] == "sometime"
        assert [line["cover"] for line in lines] == ["3q2+7w==", None, "not bytes", None]
        assert [line["seconds"] for line in lines] == [185, 240, "long", 301]
        assert cells[1][2] == 185
        assert cells[3][2] == "long"
        assert cells[1][8] == "3q2+7w=="
        # Dates are date cells where the text reads as one, the rest as it is.
        assert cells[1][5] == datetime(1972, 1, 1)
        assert cells[2][5] == "sometime"
        assert cells[1][6] == datetime(2026, 1, 1, 10, 0)
        assert cells[3][6] == "yesterday"
    else:
        assert rows[0]["cover"] == "3q2+7w=="
        assert rows[0]["price"] == "12345678901234567890.0123456789"
        assert lines[0]["price"] == "12345678901234567890.0123456789"
        assert lines[0]["meta"] == {"k": [1, 2]}
        assert lines[0]["tags"] == ["a", "b"]
        assert lines[0]["cover"] == "3q2+7w=="
        assert lines[0]["added"] == "2020-01-01T08:00:00+00:00"
        assert cells[1][8] == "3q2+7w=="
        assert cells[1][9] == datetime(2020, 1, 1, 10, 0)  # no zone: its wall time
        assert cells[1][12] == 12345678901


async def test_totals_frequencies_and_describe_work_on_every_column_of_every_table(
    built: tuple[Database, str],
) -> None:
    """No column of any type makes an aggregate fail: a PostgreSQL enum, a UUID (no min()),
    JSON, arrays, bytes, and text kept in a SQLite number column."""
    from app.services import insights

    database, engine = built
    for info in catalog_of(database).entities():
        totals = await insights.totals(database, info.name, QuerySpec())
        assert totals.rows == await RecordService(database).count(info.name, QuerySpec())
        for column in info.columns:
            for grouping in insights.groupings(column):
                found = await insights.frequencies(
                    database, info.name, QuerySpec(), column.name, grouping, top=5
                )
                assert found.rows == totals.rows
            described = await insights.describe(database, info.name, QuerySpec(), column.name)
            assert described.rows == totals.rows
    if engine == "sqlite":
        # Text among the numbers: counted value by value, not in ranges.
        seconds = await insights.frequencies(
            database, "track", QuerySpec(), "seconds", insights.Grouping.RANGE, top=5
        )
        assert seconds.grouping is insights.Grouping.VALUE
    else:
        mood = await insights.describe(database, "music.artist", QuerySpec(), "mood")
        assert (mood.minimum, mood.maximum) == ("sad", "happy")  # the enum's own order


async def test_composite_foreign_keys_of_proj_db_link_both_ways(
    proj: tuple[Database, Path],
) -> None:
    database, path = proj
    known = catalog_of(database)
    crs = known.entity("geodetic_crs")
    datum = crs.link_of("datum_code")
    assert datum is not None
    assert (datum.columns, datum.target) == (("datum_auth_name", "datum_code"), "geodetic_datum")
    assert crs.link_of("datum_auth_name") is datum
    relation = next(
        r for r in known.entity("geodetic_datum").relations if r.entity == "geodetic_crs"
    )
    assert relation.key_columns == ("datum_auth_name", "datum_code")
    # 49 of proj.db's 99 foreign keys are composite: each is a link or a relation.
    links = sum(len(info.links) for info in known.entities())
    native = foreign.native_rows(
        path,
        "SELECT count(*) FROM (SELECT m.name, f.id FROM sqlite_master AS m, "
        "pragma_foreign_key_list(m.name) AS f GROUP BY m.name, f.id HAVING count(*) > 1)",
    )[0][0]
    assert links == native


def odd_sqlite_file(path: Path) -> Path:
    """What SQLite lets another program do: text keys that are NULL, moments written with
    "Z", a view left over a dropped table, a key of two columns."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(
            """
            CREATE TABLE event (event_key TEXT PRIMARY KEY, at DATETIME, note TEXT);
            CREATE TABLE gone (x);
            CREATE VIEW stale AS SELECT x FROM gone;
            DROP TABLE gone;
            CREATE TABLE pair (a INTEGER NOT NULL, b TEXT NOT NULL, note TEXT,
                               PRIMARY KEY (a, b));
            """
        )
        connection.executemany(
            "INSERT INTO event VALUES (?, ?, ?)",
            [
                (
                    None if n % 50 == 0 else f"e{n:03d}",
                    f"2026-01-01T10:{n // 60:02d}:{n % 60:02d}Z",
                    "",
                )
                for n in range(300)
            ],
        )
        connection.executemany(
            "INSERT INTO pair VALUES (?, ?, ?)",
            [(n % 7, f"b{n:03d}", f"n{n}") for n in range(100)],
        )
        connection.commit()
    return path


async def test_what_sqlite_lets_another_program_store_pages_and_exports_whole(
    tmp_path: Path,
) -> None:
    path = odd_sqlite_file(tmp_path / "odd.db")
    before = digest(path)
    database = await opened(sqlite_url(path))
    try:
        known = catalog_of(database)
        assert "stale" not in known  # a view that cannot be read is left out
        assert "event" in known
        records = RecordService(database)
        # Sorted by text that reads as a moment: each page continues where the last ended.
        spec = QuerySpec(sort=(SortKey("at", descending=True),))
        rows = await every_row(records, "event", spec, ("rowid",), 7)
        assert [row[1] for row in rows] == [
            row[0] for row in foreign.native_rows(path, "SELECT at FROM event ORDER BY at DESC")
        ]
        # NULL keys (six of them) name no row: the table pages by its rowid, every row.
        assert known.entity("event").key == ("rowid",)
        by_key = await every_row(records, "event", QuerySpec(), ("rowid",), 11)
        assert len(by_key) == 300
        assert sum(1 for row in by_key if row[0] is None) == 6
        target = tmp_path / "event.csv"
        result = await export(
            database, ExportRequest(ViewState("event")), ExportOptions(ExportFormat.CSV), target
        )
        assert result.rows == 300
        # A selection of a table keyed by two columns, sorted by the second of them.
        pair = known.entity("pair")
        spec = QuerySpec(sort=(SortKey("b", descending=True),))
        page = await records.browse("pair", spec, After(None, 100))
        keys = [sort_key_of(spec, pair.key, page.columns, row) for row in page.rows]
        request = ExportRequest(
            ViewState("pair", spec),
            ranges=(KeyRange(keys[3], keys[9]), KeyRange(keys[20], keys[20])),
        )
        selected = tmp_path / "pair.csv"
        result = await export(database, request, ExportOptions(ExportFormat.CSV), selected)
        written = list(csv.DictReader(io.StringIO(selected.read_text(encoding="utf-8"))))
        assert [row["note"] for row in written] == [
            row[2] for row in [*page.rows[3:10], page.rows[20]]
        ]
    finally:
        await database.dispose()
    assert digest(path) == before


@pytest.mark.postgresql
def test_only_the_tables_the_user_may_read_are_listed(
    new_postgres_database: Callable[[], URL],
) -> None:
    import uuid

    import asyncpg

    url = asyncio.run(foreign.postgres_foreign(new_postgres_database()))
    role = f"records_desk_reader_{uuid.uuid4().hex[:8]}"
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def scenario() -> tuple[list[str], int]:
        admin = await asyncpg.connect(dsn, timeout=10)
        try:
            await admin.execute(f"CREATE ROLE {role} LOGIN")
            await admin.execute(f"GRANT USAGE ON SCHEMA music TO {role}")
            await admin.execute(f"GRANT SELECT ON music.artist, pair TO {role}")
            database = await opened(url.set(username=role))
            try:
                names = [info.name for info in catalog_of(database).entities()]
                return names, await RecordService(database).count("music.artist", QuerySpec())
            finally:
                await database.dispose()
        finally:
            await admin.execute(f"DROP OWNED BY {role}")
            await admin.execute(f"DROP ROLE {role}")
            await admin.close()

    names, artists = asyncio.run(scenario())

    assert names == ["pair", "music.artist"]  # no_key, the view and the tracks: not granted
    assert artists == 3


async def test_rows_are_read_again_by_a_key_of_several_columns(
    built: tuple[Database, str],
) -> None:
    """What copy and a selection need where the grid holds only the start of a text."""
    database, engine = built
    found = await RecordService(database).values("pair", [(1, "x"), (2, "x"), (9, "z")], ["note"])
    assert found == {(1, "x"): ("one",), (2, "x"): ("three",)}
    view, column = ("long_tracks", "title") if engine == "sqlite" else ("artist_names", "name")
    with pytest.raises(ValidationError, match="no key"):
        await RecordService(database).values(view, ["x"], [column])


@pytest.mark.postgresql
def test_types_without_an_order_browse_group_and_filter_by_their_text(
    new_postgres_database: Callable[[], URL],
) -> None:
    """PostgreSQL's json, point and xml have no "=" or order of their own: a view of them
    pages (ordered by what can be), and they group, count and match by their text."""
    from app.services import insights

    url = asyncio.run(foreign.postgres_foreign(new_postgres_database()))

    async def scenario() -> dict[str, Any]:
        database = await opened(url)
        try:
            known = catalog_of(database)
            records = RecordService(database)
            seen: dict[str, Any] = {
                "sortable": [column.sortable for column in known.entity("odd").columns],
                "view": len(await every_row(records, "odd_view", QuerySpec(), (), 1)),
                "matched": await records.count(
                    "odd", QuerySpec(filters=(Equals("doc", '{"a": 1}'),))
                ),
            }
            found = await insights.frequencies(
                database, "odd", QuerySpec(), "spot", insights.Grouping.VALUE, top=5
            )
            seen["groups"] = [(item.value, item.count) for item in found.items]
            described = await insights.describe(database, "odd", QuerySpec(), "markup")
            seen["distinct"] = described.distinct
            return seen
        finally:
            await database.dispose()

    seen = asyncio.run(scenario())

    assert seen["sortable"] == [True, False, False, False]
    assert seen["view"] == 2
    assert seen["matched"] == 2
    assert seen["groups"] == [("(1,2)", 1), (None, 1)]
    assert seen["distinct"] == 1
