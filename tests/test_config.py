"""Which database Records Desk opens: command line, environment, saved file, default."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.config import (
    ENV_DATABASE_URL,
    SettingsError,
    SettingsSource,
    data_dir,
    describe_url,
    load_settings,
    parse_database_url,
    postgresql_url,
    save_database_url,
    settings_file,
    sqlite_url,
)


def test_default_is_a_sqlite_file_in_the_user_data_folder(tmp_path: Path) -> None:
    settings = load_settings()

    assert settings.source is SettingsSource.DEFAULT
    assert settings.is_sqlite
    assert settings.sqlite_path == data_dir() / "records.db"
    assert data_dir().is_relative_to(tmp_path)


def test_command_line_beats_environment_beats_saved_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_database_url(sqlite_url(tmp_path / "saved.db"))
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


def test_password_with_url_characters_survives_save_and_load() -> None:
    password = "p@ss#word/with:odd?chars%"
    url = postgresql_url(host="db.example.org", database="shop", username="me", password=password)

    save_database_url(url)
    loaded = load_settings().database_url

    assert loaded.password == password
    assert loaded.host == "db.example.org"
    assert loaded.database == "shop"


def test_settings_file_is_private_because_it_may_hold_a_password() -> None:
    path = save_database_url(postgresql_url(host="h", database="d", password="secret"))

    assert path == settings_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


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


def test_saving_keeps_other_settings(tmp_path: Path) -> None:
    settings_file().parent.mkdir(parents=True)
    settings_file().write_text('{"theme": "dark"}', encoding="utf-8")

    save_database_url(sqlite_url(tmp_path / "x.db"))

    assert '"theme": "dark"' in settings_file().read_text(encoding="utf-8")
