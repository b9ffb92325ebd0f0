"""Databases another program made, for the tests of opening any database.

``proj.db`` is a real one nobody here wrote: PROJ's database of coordinate reference
systems, shipped inside the ``pyproj`` wheel (a test dependency; never copied into the
repository). The others are built here with every type an analyst meets, on both engines.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL

# What proj.db holds (PROJ 9): tables and views, as its own sqlite_master lists them.
PROJ_TABLES = 37
PROJ_VIEWS = 7


def proj_db(folder: Path) -> Path:
    """A copy of pyproj's proj.db in ``folder`` (the wheel's own file is never opened)."""
    import pyproj

    source = Path(pyproj.datadir.get_data_dir()) / "proj.db"
    copy = folder / "proj.db"
    shutil.copyfile(source, copy)
    return copy


def native_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows as Python's own sqlite3 reads them, read-only: the reference for our reads."""
    with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as connection:
        return list(connection.execute(sql))


# A SQLite file of another program: declared types are hints, values are what it stored.
SQLITE_SCRIPT = """
CREATE TABLE track (
    track_key TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    seconds INTEGER,
    price NUMERIC,
    rating REAL,
    released DATE,
    added DATETIME,
    live BOOLEAN,
    cover BLOB,
    anything
);
CREATE TABLE play (track_key TEXT REFERENCES track (track_key), at DATETIME, note TEXT);
CREATE TABLE pair (a INTEGER, b TEXT, note TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
CREATE VIEW long_tracks AS SELECT title, seconds FROM track WHERE seconds > 200;
INSERT INTO track VALUES
    ('t-001', 'Águas de Março', 185, 1.25, 4.5, '1972-01-01', '2026-01-01T10:00:00Z', 1,
     X'DEADBEEF', 42),
    ('t-002', 'ΣΊΣΥΦΟΣ', 240, '2.50', NULL, 'sometime', '2026-01-01 10:00:00+02:00', 0,
     NULL, 'text'),
    ('t-003', 'Straße', 'long', 3, 'n/a', NULL, 'yesterday', 'maybe', 'not bytes', X'00FF'),
    ('t-004', 'Ünïcödé', 301, NULL, 3.0, '2020-02-29', NULL, NULL, NULL, NULL);
INSERT INTO play VALUES ('t-001', '2026-02-01 08:00:00', 'first'), ('t-002', NULL, NULL),
    ('t-001', '2026-02-02 09:00:00', 'again');
INSERT INTO pair VALUES (1, 'x', 'one'), (1, 'y', 'two'), (2, 'x', 'three');
"""


def sqlite_foreign(folder: Path) -> Path:
    path = folder / "another-program.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(SQLITE_SCRIPT)
        connection.commit()
    return path


# A PostgreSQL database of another program: every type of issue 24's list, two schemas.
POSTGRES_SCRIPT = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE SCHEMA music;
CREATE TABLE music.artist (
    artist_id text PRIMARY KEY, name text NOT NULL UNIQUE, founded date, mood mood
);
CREATE TABLE music.track (
    track_id uuid PRIMARY KEY,
    artist_id text REFERENCES music.artist,
    title text,
    length interval,
    price numeric(30, 10),
    rating double precision,
    tags text[],
    meta jsonb,
    cover bytea,
    released timestamp,
    added timestamptz,
    live boolean,
    plays bigint,
    small smallint,
    at_time time
);
CREATE TABLE pair (a int, b text, note text, PRIMARY KEY (a, b));
CREATE TABLE no_key (x int, y text);
CREATE VIEW artist_names AS SELECT name FROM music.artist;
CREATE TABLE odd (id int PRIMARY KEY, doc json, spot point, markup xml);
CREATE VIEW odd_view AS SELECT doc, spot, markup FROM odd;
INSERT INTO odd VALUES (1, '{"a": 1}', '(1,2)', '<a/>'), (2, '{"a": 1}', NULL, NULL);
INSERT INTO music.artist VALUES
    ('A1', 'Ábba', '1972-01-01', 'happy'), ('b2', 'straße', '1990-05-05', NULL),
    ('C3', 'ΣΊΣΥΦΟΣ', NULL, 'sad');
INSERT INTO music.track VALUES
    ('00000000-0000-0000-0000-000000000001', 'A1', 'Waterloo', '3 minutes',
     12345678901234567890.0123456789, 4.5, '{a,b}', '{"k": [1, 2]}', '\\xdeadbeef',
     '2020-01-01 10:00', '2020-01-01 10:00+02', true, 12345678901, 3, '10:30'),
    ('00000000-0000-0000-0000-000000000002', 'b2', 'Groß', NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO pair VALUES (1, 'x', 'one'), (1, 'y', 'two'), (2, 'x', 'three');
INSERT INTO no_key VALUES (1, 'a'), (1, 'a'), (2, 'b');
"""


async def postgres_foreign(url: URL) -> URL:
    """``url``'s empty database made another program's (POSTGRES_SCRIPT)."""
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        await connection.execute(POSTGRES_SCRIPT)
    finally:
        await connection.close()
    return url


def many_tables(path: Path, count: int) -> Path:
    """A SQLite file of ``count`` small tables, keyed and linked as programs make them."""
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE t0000 (id INTEGER PRIMARY KEY, name TEXT)")
        for number in range(1, count):
            connection.execute(
                f"CREATE TABLE t{number:04d} (id INTEGER PRIMARY KEY, name TEXT, "
                f"parent_id INTEGER REFERENCES t{number - 1:04d} (id), amount NUMERIC)"
            )
        connection.commit()
    return path
