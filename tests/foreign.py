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


# Tables another program keeps, to edit: keyed by text, by an identity column, by two
# columns; foreign keys that cascade, clear and refuse; CHECKs the form reads and one it
# leaves to the database.
EDITABLE_SQLITE = """
CREATE TABLE shop (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL CONSTRAINT name_short CHECK (length(name) <= 20),
    opened DATE,
    rating REAL CHECK (rating >= 0),
    note TEXT DEFAULT 'new'
);
CREATE TABLE item (
    id INTEGER PRIMARY KEY,
    shop_code TEXT NOT NULL REFERENCES shop (code) ON DELETE CASCADE,
    label TEXT NOT NULL,
    price NUMERIC CONSTRAINT price_positive CHECK (price > 0),
    added DATETIME DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE review (
    id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES item (id) ON DELETE CASCADE, words TEXT
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY, shop_code TEXT REFERENCES shop (code) ON DELETE RESTRICT, what TEXT
);
CREATE TABLE tag (name TEXT PRIMARY KEY, shop_code TEXT REFERENCES shop (code) ON DELETE SET NULL);
CREATE TABLE stock (
    shop_code TEXT REFERENCES shop (code) ON DELETE CASCADE,
    slot INTEGER,
    amount INTEGER NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (shop_code, slot)
);
CREATE TABLE memo (id INTEGER PRIMARY KEY, body TEXT, deleted_at DATETIME);
"""
EDITABLE_POSTGRES = """
CREATE TABLE shop (
    code text PRIMARY KEY,
    name text NOT NULL CONSTRAINT name_short CHECK (length(name) <= 20),
    opened date,
    rating double precision CHECK (rating >= 0),
    note text DEFAULT 'new'
);
CREATE TABLE item (
    id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    shop_code text NOT NULL REFERENCES shop (code) ON DELETE CASCADE,
    label text NOT NULL,
    price numeric(10, 2) CONSTRAINT price_positive CHECK (price > 0),
    added timestamptz DEFAULT now()
);
CREATE TABLE review (
    id serial PRIMARY KEY, item_id integer REFERENCES item (id) ON DELETE CASCADE, words text
);
CREATE TABLE audit (
    id serial PRIMARY KEY, shop_code text REFERENCES shop (code) ON DELETE RESTRICT, what text
);
CREATE TABLE tag (name text PRIMARY KEY, shop_code text REFERENCES shop (code) ON DELETE SET NULL);
CREATE TABLE stock (
    shop_code text REFERENCES shop (code) ON DELETE CASCADE,
    slot integer,
    amount integer NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (shop_code, slot)
);
CREATE TABLE memo (id integer PRIMARY KEY, body text, deleted_at timestamp);
"""
EDITABLE_ROWS = """
INSERT INTO shop (code, name, opened, rating) VALUES
    ('S1', 'Corner', '2020-01-02', 4.5), ('S2', 'Straße', NULL, NULL), ('S3', 'Ωmega', NULL, 1);
INSERT INTO item (id, shop_code, label, price) VALUES
    (1, 'S1', 'tea', 2.50), (2, 'S1', 'cake', 3.00), (3, 'S2', 'bread', 1.10);
INSERT INTO review (id, item_id, words) VALUES (1, 1, 'good'), (2, 1, 'fine'), (3, 3, 'ok');
INSERT INTO audit (id, shop_code, what) VALUES (1, 'S2', 'inspected');
INSERT INTO tag (name, shop_code) VALUES ('cosy', 'S1'), ('busy', 'S3');
INSERT INTO stock (shop_code, slot, amount) VALUES ('S1', 1, 5), ('S1', 2, 0), ('S3', 1, 9);
INSERT INTO memo (id, body, deleted_at) VALUES
    (1, 'keep', NULL), (2, 'gone', '2026-01-01 00:00:00'), (3, 'also', NULL);
"""


def sqlite_editable(folder: Path) -> Path:
    path = folder / "shops.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(EDITABLE_SQLITE + EDITABLE_ROWS)
        connection.commit()
    return path


async def postgres_editable(url: URL) -> URL:
    """``url``'s empty database made another program's, with tables to edit."""
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        await connection.execute(EDITABLE_POSTGRES + EDITABLE_ROWS)
        # The identity and serial columns go on after the rows given their keys.
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('item', 'id'), 3); "
            "SELECT setval(pg_get_serial_sequence('review', 'id'), 3); "
            "SELECT setval(pg_get_serial_sequence('audit', 'id'), 1)"
        )
    finally:
        await connection.close()
    return url


# Shapes a delete must walk right: a table referring to itself (a chain of 15), a diamond
# (a comment cascades from its project and from its task), a foreign key to a unique
# column, a trigger refusing in its own words, and more rows than one statement holds.
GRAPH_TABLES = """
CREATE TABLE node (id integer PRIMARY KEY, parent integer REFERENCES node (id)
    ON DELETE CASCADE, label text);
CREATE TABLE project (id integer PRIMARY KEY, code text NOT NULL UNIQUE);
CREATE TABLE task (id integer PRIMARY KEY, project_id integer REFERENCES project (id)
    ON DELETE CASCADE);
CREATE TABLE comment (id integer PRIMARY KEY,
    project_id integer REFERENCES project (id) ON DELETE CASCADE,
    task_id integer REFERENCES task (id) ON DELETE CASCADE, body text);
CREATE TABLE badge (id integer PRIMARY KEY, project_code text REFERENCES project (code)
    ON DELETE CASCADE);
CREATE TABLE many (id integer PRIMARY KEY, n integer);
"""
GRAPH_ROWS = """
INSERT INTO project VALUES (1, 'P1');
INSERT INTO task VALUES (1, 1);
INSERT INTO comment VALUES (1, 1, 1, 'on the task'), (2, 1, NULL, 'on the project');
INSERT INTO badge VALUES (1, 'P1');
"""
GRAPH_SQLITE_EXTRA = """
CREATE TRIGGER many_not_negative BEFORE INSERT ON many WHEN NEW.n < 0
    BEGIN SELECT RAISE(ABORT, 'n must not be negative'); END;
"""
GRAPH_POSTGRES_EXTRA = """
CREATE FUNCTION many_not_negative() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.n < 0 THEN RAISE EXCEPTION 'n must not be negative'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER many_not_negative BEFORE INSERT ON many
    FOR EACH ROW EXECUTE FUNCTION many_not_negative();
CREATE TABLE span (id integer PRIMARY KEY, length interval, doc json, meta jsonb);
INSERT INTO span VALUES (1, '1 year 2 mons', '{"a": 1}', '{"b": [1, 2]}');
CREATE TABLE numbered (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, what text);
INSERT INTO numbered (what) VALUES ('one');
"""
CHAIN = 15
MANY = 1500


def _graph_rows() -> str:
    nodes = ", ".join(
        f"({number}, {number - 1 if number > 1 else 'NULL'}, 'node {number}')"
        for number in range(1, CHAIN + 1)
    )
    many = ", ".join(f"({number}, {number})" for number in range(1, MANY + 1))
    inserts = f"INSERT INTO node VALUES {nodes};\nINSERT INTO many VALUES {many};\n"  # noqa: S608
    return GRAPH_ROWS + inserts


def sqlite_graph(folder: Path) -> Path:
    path = folder / "graph.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(GRAPH_TABLES + GRAPH_SQLITE_EXTRA + _graph_rows())
        connection.commit()
    return path


async def postgres_graph(url: URL) -> URL:
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        await connection.execute(GRAPH_TABLES + GRAPH_POSTGRES_EXTRA + _graph_rows())
    finally:
        await connection.close()
    return url
