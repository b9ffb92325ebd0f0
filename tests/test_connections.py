"""Saved connections: kept in the settings file without a password, which goes to the
keyring (or, where there is none, stays in memory for the run)."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.config import SettingsError, SettingsSource, load_settings, settings_file
from app.connections import (
    LOCAL_CONNECTION_ID,
    MAX_SETTINGS_BYTES,
    ConnectionKind,
    PasswordStorage,
    SavedConnection,
    SavedConnections,
    SslMode,
    file_connection,
    load_connections,
    local_connection,
    save_connections,
)
from app.core.credentials import KEYRING_SERVICE, Credentials, credentials, use_credentials
from tests.keyrings import MemoryKeyring, no_keyring

# Letters no field of a connection holds: seen anywhere, they came from the password.
PASSWORD = "Qx#9@z/J%kW"


def server(**changes: object) -> SavedConnection:
    connection = SavedConnection(
        id="shop",
        name="Shop",
        kind=ConnectionKind.SERVER,
        host="db.example.org",
        port=5433,
        database="shop",
        user="analyst",
        ssl_mode=SslMode.REQUIRE,
        connect_timeout_s=7,
        colour="#c62828",
        read_only=True,
    )
    return replace(connection, **changes)  # type: ignore[arg-type]


def test_without_a_settings_file_there_is_the_local_database() -> None:
    saved = load_connections()

    assert [c.id for c in saved.connections] == [LOCAL_CONNECTION_ID]
    assert saved.current_connection.is_file
    assert load_settings().source is SettingsSource.DEFAULT


def test_connections_round_trip_through_the_settings_file(tmp_path: Path) -> None:
    local = file_connection(tmp_path / "orders.db", name="Orders")
    saved = SavedConnections().chosen(local).chosen(server())

    save_connections(saved)
    loaded = load_connections()

    assert loaded == saved
    assert loaded.current == "shop"
    assert loaded.recent_files == (str(tmp_path / "orders.db"),)


def test_the_server_password_goes_to_the_keyring_never_the_file(
    memory_keyring: MemoryKeyring,
) -> None:
    credentials().remember("shop", PASSWORD, in_keyring=True)
    save_connections(SavedConnections().chosen(server()))

    assert PASSWORD not in settings_file().read_text(encoding="utf-8")
    assert memory_keyring.passwords == {(KEYRING_SERVICE, "shop"): PASSWORD}
    # A new run (nothing in memory) finds it in the keyring.
    use_credentials(Credentials(memory_keyring))
    settings = load_settings()
    assert settings.database_url.password == PASSWORD
    assert settings.database_url.host == "db.example.org"
    assert settings.database_url.query == {"ssl": "require"}
    assert settings.read_only
    assert not settings.password_missing
    assert PASSWORD not in settings.display_name


def test_with_no_keyring_the_password_lasts_the_run_and_is_asked_for_next_time() -> None:
    store = Credentials(no_keyring())
    use_credentials(store)
    assert store.keyring_problem is not None
    assert "no keyring" in store.keyring_problem

    why_not = store.remember("shop", PASSWORD, in_keyring=True)
    save_connections(SavedConnections().chosen(server()))

    assert why_not == store.keyring_problem
    assert load_settings().database_url.password == PASSWORD  # this run
    use_credentials(Credentials(no_keyring()))  # the next run
    assert load_settings().password_missing
    assert PASSWORD not in settings_file().read_text(encoding="utf-8")


def test_an_old_settings_file_is_migrated_and_its_password_moved_to_the_keyring(
    memory_keyring: MemoryKeyring,
) -> None:
    settings_file().parent.mkdir(parents=True)
    settings_file().write_text(
        json.dumps(
            {
                "database_url": "postgresql://analyst:Qx%239%40z%2FJ%25kW@db.example.org:5433/shop"
                "?ssl=require",
                "theme": "dark",
            }
        ),
        encoding="utf-8",
    )

    settings = load_settings()

    assert settings.source is SettingsSource.SETTINGS_FILE
    assert settings.database_url.password == PASSWORD
    connection = settings.connection
    assert connection is not None
    assert (connection.host, connection.port, connection.database, connection.user) == (
        "db.example.org",
        5433,
        "shop",
        "analyst",
    )
    assert connection.ssl_mode is SslMode.REQUIRE
    assert memory_keyring.passwords == {(KEYRING_SERVICE, connection.id): PASSWORD}
    document = json.loads(settings_file().read_text(encoding="utf-8"))
    assert "database_url" not in document
    assert document["theme"] == "dark"
    assert "9@z" not in settings_file().read_text(encoding="utf-8")
    assert stat.S_IMODE(settings_file().stat().st_mode) == 0o600


def test_an_old_file_migrated_without_a_keyring_asks_for_the_password_later() -> None:
    use_credentials(Credentials(no_keyring()))
    settings_file().parent.mkdir(parents=True)
    settings_file().write_text(
        json.dumps({"database_url": "postgresql://analyst:secretpw@db.example.org/shop"}),
        encoding="utf-8",
    )

    settings = load_settings()

    assert settings.database_url.password == "secretpw"  # this run still connects
    assert settings.connection is not None
    assert settings.connection.password_storage is PasswordStorage.ASK
    assert "secretpw" not in settings_file().read_text(encoding="utf-8")


def test_an_old_file_of_a_local_database_becomes_a_file_connection(tmp_path: Path) -> None:
    settings_file().parent.mkdir(parents=True)
    settings_file().write_text(
        json.dumps({"database_url": f"sqlite:///{tmp_path / 'old.db'}"}), encoding="utf-8"
    )

    settings = load_settings()

    assert settings.sqlite_path == tmp_path / "old.db"
    assert settings.connection is not None
    assert settings.connection.name == "old.db"


def test_the_settings_file_is_private_from_the_first_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    modes: list[int] = []
    real_open = os.open

    def watched_open(path: str, flags: int, mode: int = 0o777, *args: object) -> int:
        modes.append(mode)
        return real_open(path, flags, mode, *args)

    monkeypatch.setattr(os, "open", watched_open)
    path = save_connections(SavedConnections().chosen(server()))

    # The settings and their lock file: created private, not chmod'ed after writing.
    assert modes == [0o600, 0o600]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_saving_keeps_other_settings() -> None:
    settings_file().parent.mkdir(parents=True)
    settings_file().write_text('{"theme": "dark"}', encoding="utf-8")

    save_connections(SavedConnections().chosen(server()))

    assert json.loads(settings_file().read_text(encoding="utf-8"))["theme"] == "dark"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"connections": {}}, "must be a list"),
        ({"connections": [{"id": "a", "name": "A", "kind": "tape"}]}, "unknown value"),
        ({"connections": [{"id": "a", "name": "", "kind": "file", "path": "/x"}]}, "name"),
        (
            {"connections": [{"id": "a", "name": "A", "kind": "server", "port": "x"}]},
            "whole number",
        ),
        ({"connections": [{"id": "a", "name": "A", "kind": "file", "path": "/x"}] * 2}, "same id"),
    ],
)
def test_a_broken_list_is_reported_with_the_file(document: object, reason: str) -> None:
    settings_file().parent.mkdir(parents=True)
    settings_file().write_text(json.dumps(document), encoding="utf-8")

    with pytest.raises(SettingsError, match=reason) as raised:
        load_connections()
    assert str(settings_file()) in str(raised.value)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"name": "  "}, "name", "name"),
        ({"host": ""}, "host", "host"),
        ({"host": "a b"}, "host", "no spaces"),
        ({"port": 0}, "port", "1 to 65535"),
        ({"database": ""}, "database", "database"),
        ({"connect_timeout_s": 0}, "connect_timeout_s", "seconds"),
        ({"colour": "red"}, "colour", "#rrggbb"),
        ({"user": "a\x00b"}, "user", "NUL"),
    ],
)
def test_each_bad_field_is_named(changes: dict[str, object], field: str, words: str) -> None:
    problems = server(**changes).problems()

    assert list(problems) == [field]
    assert words in problems[field]


def test_a_file_connection_needs_a_path() -> None:
    assert file_connection(Path("x.db")).problems() == {}
    empty = SavedConnection(id="x", name="x", kind=ConnectionKind.FILE)
    assert empty.problems() == {"path": "Choose the database file."}


def test_removing_the_current_connection_falls_back_to_another() -> None:
    saved = SavedConnections().chosen(server())

    after = saved.without("shop")

    assert after.current == LOCAL_CONNECTION_ID
    assert SavedConnections().without(LOCAL_CONNECTION_ID).connections  # never empty


def test_a_file_opened_twice_is_one_connection(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    saved = SavedConnections().chosen(SavedConnections().for_file(path))

    assert saved.for_file(path) == saved.current_connection
    other = tmp_path / "sub" / "a.db"
    assert saved.for_file(other).name == "a.db (2)"


def test_forgetting_removes_the_password_from_the_keyring(memory_keyring: MemoryKeyring) -> None:
    credentials().remember("shop", PASSWORD, in_keyring=True)

    credentials().forget("shop")

    assert memory_keyring.passwords == {}
    assert credentials().get("shop") is None


# -- a settings file that cannot be read is left as it is -----------------------------------

BROKEN_SETTINGS = [
    pytest.param(b'{"connections": [], "theme": "d\xe4rk"}', "is not UTF-8 text", id="latin-1"),
    pytest.param(b"{not json", "is not valid JSON", id="not-json"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "nested too deeply", id="deep"),
    pytest.param(b'{"port": ' + b"9" * 5_000 + b"}", "number too long", id="long-number"),
    pytest.param(
        b'{"connections": []' + b" " * MAX_SETTINGS_BYTES + b"}", "larger than 1 MB", id="big"
    ),
]


@pytest.mark.parametrize(("content", "reason"), BROKEN_SETTINGS)
def test_a_settings_file_that_cannot_be_read_is_reported_and_kept(
    content: bytes, reason: str
) -> None:
    settings_file().parent.mkdir(parents=True)
    settings_file().write_bytes(content)

    with pytest.raises(SettingsError, match=reason) as raised:
        load_connections()
    assert str(settings_file()) in str(raised.value)
    assert "\n" not in str(raised.value)
    # A save refuses to write over it: the user's file stays for them to fix.
    with pytest.raises(SettingsError, match=reason):
        save_connections(SavedConnections().chosen(server()))
    assert settings_file().read_bytes() == content


def test_a_byte_order_mark_is_read_past() -> None:
    settings_file().parent.mkdir(parents=True)
    settings_file().write_bytes(b'\xef\xbb\xbf{"theme": "dark"}')

    assert load_connections().connections == (local_connection(),)


def test_a_settings_file_that_is_a_fifo_is_refused_without_waiting_for_a_writer() -> None:
    settings_file().parent.mkdir(parents=True)
    os.mkfifo(settings_file())
    outcome: list[BaseException | SavedConnections] = []

    def load() -> None:
        try:
            outcome.append(load_connections())
        except BaseException as error:
            outcome.append(error)

    loading = threading.Thread(target=load, daemon=True)
    loading.start()
    loading.join(timeout=60)  # a bound for a start that waits for good, not a timing
    if loading.is_alive():  # it opened the FIFO: a writer that goes at once sets it free
        os.close(os.open(settings_file(), os.O_WRONLY | os.O_NONBLOCK))
        loading.join()
        pytest.fail("reading the settings waited for a program to write into the FIFO")
    (error,) = outcome
    assert isinstance(error, SettingsError)
    assert "is not a file" in str(error)


def test_a_path_that_is_not_unicode_is_saved_and_read_back(tmp_path: Path) -> None:
    # A Linux file name in another encoding, as Python hands it over (surrogate escapes).
    path = tmp_path / os.fsdecode(b"caf\xe9.db")
    connection = file_connection(path)

    save_connections(SavedConnections().chosen(connection))

    settings_file().read_bytes().decode("utf-8")  # still UTF-8 text
    assert load_connections().current_connection.path == str(path)


def test_a_symlinked_settings_file_stays_a_link(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "settings.json"
    real.write_text('{"theme": "dark"}', encoding="utf-8")
    settings_file().parent.mkdir(parents=True)
    settings_file().symlink_to(real)

    save_connections(SavedConnections().chosen(server()))

    assert settings_file().is_symlink()
    document = json.loads(real.read_text(encoding="utf-8"))
    assert document["theme"] == "dark"
    assert document["current"] == "shop"
    assert sorted(os.listdir(dotfiles)) == ["settings.json"]


# -- two running copies saving at once --------------------------------------------------------


def test_changes_of_another_copy_since_reading_are_kept() -> None:
    save_connections(SavedConnections().chosen(server()).with_connection(server(id="old")))
    here, there = load_connections(), load_connections()
    save_connections(
        there.with_connection(server(id="theirs", name="Theirs"))
        .with_connection(server(name="Shop renamed there"))
        .without("old")
    )

    save_connections(here.chosen(server(id="ours", name="Ours")))

    after = load_connections()
    assert [c.id for c in after.connections] == [LOCAL_CONNECTION_ID, "shop", "ours", "theirs"]
    assert after.find("shop") == server(name="Shop renamed there")
    assert after.current == "ours"


def test_a_connection_removed_here_stays_removed_and_the_other_choice_of_current_stays() -> None:
    save_connections(SavedConnections().chosen(server()))
    here, there = load_connections(), load_connections()
    save_connections(there.chosen(server(id="theirs", name="Theirs")))

    save_connections(here.without("shop"))

    after = load_connections()
    assert [c.id for c in after.connections] == [LOCAL_CONNECTION_ID, "theirs"]
    assert after.current == "theirs"  # not changed here: the other copy's choice


def test_recent_files_of_both_copies_are_kept(tmp_path: Path) -> None:
    here, there = load_connections(), load_connections()
    save_connections(there.with_recent_file(str(tmp_path / "b.db")))

    save_connections(here.with_recent_file(str(tmp_path / "a.db")))

    assert load_connections().recent_files == (str(tmp_path / "a.db"), str(tmp_path / "b.db"))


@pytest.mark.parametrize("read", [True, False], ids=["read", "made-in-memory"])
def test_a_second_save_of_one_list_removes_what_its_first_added(read: bool) -> None:
    """A dialog kept open: its second save is not another copy that never saw the first."""
    saved = (load_connections() if read else SavedConnections()).with_connection(server())
    save_connections(saved)

    save_connections(saved.without("shop"))

    assert [c.id for c in load_connections().connections] == [LOCAL_CONNECTION_ID]


SAVES_PER_COPY = 40


def _save_many(settings: str, who: str, start: Any, fresh: bool) -> None:
    """One running copy: adds its own connections one by one, saving after each; ``fresh``
    reads the file before each change, otherwise it keeps the list it read first (a dialog
    left open)."""
    path = Path(settings)
    saved = load_connections(path)
    start.wait()
    for number in range(SAVES_PER_COPY):
        if fresh:
            saved = load_connections(path)
        connection = file_connection(Path(f"/data/{who}-{number}.db"), name=f"{who} {number}")
        saved = saved.with_connection(connection)
        save_connections(saved, path)


@pytest.mark.parametrize("fresh", [True, False], ids=["reading-each-time", "reading-once"])
def test_two_copies_saving_at_once_lose_nothing(tmp_path: Path, fresh: bool) -> None:
    path = tmp_path / "config" / "settings.json"
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    copies = [
        context.Process(target=_save_many, args=(str(path), who, start, fresh))
        for who in ("first", "second")
    ]
    for copy in copies:
        copy.start()
    start.set()
    for copy in copies:
        copy.join(timeout=300)  # a bound for a copy that hangs, not a timing
        assert copy.exitcode == 0

    names = {c.name for c in load_connections(path).connections}
    wanted = {f"{who} {n}" for who in ("first", "second") for n in range(SAVES_PER_COPY)}
    assert wanted - names == set()
    assert sorted(os.listdir(path.parent)) == ["settings.json", "settings.json.lock"]


# -- private files ------------------------------------------------------------------------------


def test_the_settings_folder_made_here_is_private() -> None:
    assert not settings_file().parent.exists()

    save_connections(SavedConnections().chosen(server()))

    assert stat.S_IMODE(settings_file().parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(settings_file().stat().st_mode) == 0o600
    lock = settings_file().with_name("settings.json.lock")
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
