"""Which database Records Desk opens: command line, environment, saved file, default."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.config import (
    ENV_DATABASE_URL,
    MAX_PORT,
    UNREADABLE_URL,
    SettingsError,
    SettingsSource,
    data_dir,
    describe_url,
    load_settings,
    parse_database_url,
    postgresql_url,
    settings_file,
)
from app.connections import SavedConnections, file_connection, save_connections


def test_default_is_a_sqlite_file_in_the_user_data_folder(tmp_path: Path) -> None:
    settings = load_settings()

    assert settings.source is SettingsSource.DEFAULT
    assert settings.is_sqlite
    assert settings.sqlite_path == data_dir() / "records.db"
    assert data_dir().is_relative_to(tmp_path)


def test_command_line_beats_environment_beats_saved_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_connections(SavedConnections().chosen(file_connection(tmp_path / "saved.db")))
    assert load_settings().source is SettingsSource.SETTINGS_FILE
    assert load_settings().sqlite_path == tmp_path / "saved.db"

    monkeypatch.setenv(ENV_DATABASE_URL, f"sqlite:///{tmp_path / 'env.db'}")
    assert load_settings().source is SettingsSource.ENVIRONMENT
    assert load_settings().sqlite_path == tmp_path / "env.db"

    settings = load_settings(f"sqlite:///{tmp_path / 'cli.db'}")
    assert settings.source is SettingsSource.COMMAND_LINE
    assert settings.sqlite_path == tmp_path / "cli.db"


@pytest.mark.parametrize(
    ("typed", "driver"),
    [
        ("sqlite:///records.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///records.db", "sqlite+aiosqlite"),
        ("postgresql://analyst@db.example.org:5433/shop", "postgresql+asyncpg"),
        ("postgresql+asyncpg://analyst@db.example.org/shop", "postgresql+asyncpg"),
    ],
)
def test_plain_and_async_urls_use_the_async_driver(typed: str, driver: str) -> None:
    assert parse_database_url(typed).drivername == driver


def test_relative_sqlite_path_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert parse_database_url("sqlite:///records.db").database == str(tmp_path / "records.db")


def test_a_sqlite_path_from_the_home_folder_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)

    assert parse_database_url("sqlite:///~/shop.db").database == str(tmp_path / "home/shop.db")
    # An unknown user's ~name is kept as typed (a relative path), not a crash.
    unknown = parse_database_url("sqlite:///~no-such-user-here/shop.db").database
    assert unknown == str(tmp_path / "~no-such-user-here/shop.db")


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("not a url", "not valid"),
        ("mysql://root@localhost/shop", "not 'mysql'"),
        ("postgresql+psycopg2://u@h/db", "not supported"),
        ("sqlite://", "file path"),
        ("sqlite:///:memory:", "file path"),
        ("postgresql://analyst@db.example.org", "database name"),
    ],
)
def test_unusable_urls_are_refused_in_words(typed: str, reason: str) -> None:
    with pytest.raises(SettingsError, match=reason):
        parse_database_url(typed)


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DATABASE_URL, "oracle://scott@tiger/db")

    with pytest.raises(SettingsError, match=ENV_DATABASE_URL):
        load_settings()


def test_shown_database_name_never_contains_the_password() -> None:
    url = postgresql_url(host="h", database="d", username="me", password="hunter2")

    assert "hunter2" not in describe_url(url)
    assert describe_url(url) == "PostgreSQL me@h/d"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"database_url": 42}', "must be text"),
        ('{"database_url": "ftp://x/y"}', "not 'ftp'"),
    ],
)
def test_broken_settings_file_is_reported_with_its_path(content: str, reason: str) -> None:
    settings_file().parent.mkdir(parents=True)
    settings_file().write_text(content, encoding="utf-8")

    with pytest.raises(SettingsError, match=reason) as raised:
        load_settings()
    assert str(settings_file()) in str(raised.value)


# Passwords holding what a URL uses as punctuation, typed without percent-encoding, and each
# in the URL it was typed into. Letters are odd on purpose: any three of them in a row, seen
# in a message, can only have come from the password.
UNENCODED_PASSWORDS = [
    ("Qx#99%zJ", "postgresql://alice:Qx#99%zJ@127.0.0.1/shop"),
    ("Kv@Wq/Zj", "postgresql://bob:Kv@Wq/Zj@db.example.org/x"),
    ("Zp%zzJq", "postgresql://carol:Zp%zzJq@127.0.0.1:5432/shop"),
    ("Jq/XvYw", "postgresql://dave:Jq/XvYw@127.0.0.1/shop"),
    ("Hm?Qz7x", "postgresql://erin:Hm?Qz7x@127.0.0.1/shop"),
    ("Tw@@Vq", "postgresql://frank:Tw@@Vq@127.0.0.1/shop"),
    ("Yk/9@", "postgresql+asyncpg://gina:Yk/9@@127.0.0.1/shop"),
]


def trigrams(secret: str) -> set[str]:
    """Every three characters in a row: a longer piece of the secret holds one of them."""
    return {secret[start : start + 3] for start in range(len(secret) - 2)}


def assert_reveals_nothing_of(secret: str, text: str) -> None:
    shown = sorted(piece for piece in trigrams(secret) if piece in text)
    assert not shown, f"{shown} of the password shows in {text!r}"


@pytest.mark.parametrize(("password", "typed"), UNENCODED_PASSWORDS)
def test_unencoded_password_makes_the_url_unreadable_and_is_not_echoed(
    password: str, typed: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_database_url(typed)

    assert str(raised.value) == UNREADABLE_URL
    assert_reveals_nothing_of(password, str(raised.value))


def test_the_unreadable_url_message_explains_percent_encoding() -> None:
    for escape in ("@ is %40", "# is %23", "% is %25", "/ is %2F"):
        assert escape in UNREADABLE_URL
    assert "cannot be read" in UNREADABLE_URL


@pytest.mark.parametrize(
    "typed",
    [
        "postgresql://me@db.example.org:5x32/shop",  # a port that is not a number
        "postgresql://me@db.example.org:54:32/shop",
        "postgresql://me@db.example.org/shop/more",  # a '/' in the database name
        "postgresql://me@db.exa!mple.org/shop",
        "postgresql://me@[::1/shop",
        "postgresql://me@db.example.org/shop?x=%zz",
    ],
)
def test_other_ambiguous_urls_are_unreadable(typed: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_database_url(typed)

    assert str(raised.value) == UNREADABLE_URL


def test_the_environment_variable_gets_the_same_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DATABASE_URL, "postgresql://alice:Qx#99%zJ@127.0.0.1/shop")

    with pytest.raises(SettingsError) as raised:
        load_settings()

    assert str(raised.value) == f"{ENV_DATABASE_URL}: {UNREADABLE_URL}"


@pytest.mark.parametrize("port", ["99999", "-5", "0", "65536"])
def test_a_port_out_of_range_is_refused_in_one_sentence(port: str) -> None:
    with pytest.raises(SettingsError, match=f"whole number from 1 to {MAX_PORT}"):
        parse_database_url(f"postgresql://me@db.example.org:{port}/shop")
    with pytest.raises(SettingsError, match=f"whole number from 1 to {MAX_PORT}"):
        postgresql_url(host="db.example.org", database="shop", port=int(port))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("postgresql://me:Qx%2399%25zJ@db.example.org:5432/shop", ("me", "Qx#99%zJ", 5432)),
        ("postgresql://me:Kv%40Wq%2FZj@db.example.org/shop", ("me", "Kv@Wq/Zj", None)),
        ("postgresql://me:Hm%3FQz%3A7@db.example.org/shop", ("me", "Hm?Qz:7", None)),
        ("postgresql://me:ab:cd@db.example.org/shop", ("me", "ab:cd", None)),
        ("postgresql://m%40e@db.example.org/shop", ("m@e", None, None)),
    ],
)
def test_percent_encoded_passwords_keep_working(
    typed: str, expected: tuple[str, str | None, int | None]
) -> None:
    url = parse_database_url(typed)

    assert (url.username, url.password, url.port) == expected
    assert (url.host, url.database) == ("db.example.org", "shop")
    assert url.drivername == "postgresql+asyncpg"


def test_url_parts_and_options_are_read_like_sqlalchemy_reads_them() -> None:
    url = parse_database_url("postgresql://[::1]:5433/my%20shop?ssl=require&x=1&x=2")

    assert (url.host, url.port, url.database) == ("::1", 5433, "my shop")
    assert dict(url.query) == {"ssl": "require", "x": ("1", "2")}
    assert parse_database_url("postgresql:///shop").host is None


@given(st.text(min_size=1))
def test_any_password_percent_encoded_comes_back_whole(password: str) -> None:
    typed = f"postgresql://me:{quote(password, safe='')}@db.example.org:5432/shop"

    url = parse_database_url(typed)

    assert url.password == password
    assert (url.username, url.host, url.port, url.database) == (
        "me",
        "db.example.org",
        5432,
        "shop",
    )


@given(st.text(st.characters(exclude_characters="%"), min_size=1))
def test_any_password_typed_as_is_is_read_whole_or_refused(password: str) -> None:
    typed = f"postgresql://me:{password}@db.example.org:5432/shop"

    refused: SettingsError | None = None
    try:
        url = parse_database_url(typed)
    except SettingsError as error:
        refused = error
    if refused is not None:
        assert str(refused) == UNREADABLE_URL
    else:
        assert url.password == password
        assert (url.host, url.port, url.database) == ("db.example.org", 5432, "shop")


def test_shown_name_of_a_password_with_url_characters() -> None:
    url = parse_database_url("postgresql://me:Kv%40Wq%2FZj@db.example.org:5432/shop")

    assert describe_url(url) == "PostgreSQL me@db.example.org:5432/shop"
    assert_reveals_nothing_of("Kv@Wq/Zj", repr(url) + str(url))


def test_every_folder_of_the_user_can_be_moved_under_one_root(tmp_path: Path) -> None:
    from app.config import config_dir, data_dir, log_dir, use_folders_under
    from app.core.logs import log_file

    root = tmp_path / "elsewhere"
    use_folders_under(root)
    try:
        assert config_dir() == root / "config"
        assert data_dir() == root / "data"
        assert log_dir() == root / "log"
        assert log_file().parent == root / "log"
        assert settings_file().is_relative_to(root)
        assert load_settings(environ={}).sqlite_path == root / "data" / "records.db"
    finally:
        use_folders_under(None)
    assert not config_dir().is_relative_to(root)
