"""The command line: migrate and seed on both engines; bad input is one readable line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from _pytest.capture import CaptureResult
from sqlalchemy.engine import URL

from app.__main__ import main
from app.config import UNREADABLE_URL, sqlite_url
from app.core.database import Database
from app.query import QuerySpec
from app.services import migrations
from app.services.records import RecordService
from tests.test_config import UNENCODED_PASSWORDS, assert_reveals_nothing_of

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def records_desk(
    *arguments: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *arguments],
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def plain(url: URL) -> str:
    return url.render_as_string(hide_password=False)


async def count(url: URL, entity: str) -> int:
    database = Database(url)
    try:
        return await RecordService(database).count(entity, QuerySpec())
    finally:
        await database.dispose()


async def test_migrate_then_seed_on_a_new_database(empty_database_url: URL) -> None:
    migrated = records_desk("migrate", "--database-url", plain(empty_database_url))
    assert migrated.returncode == 0, migrated.stderr
    assert "upgraded from an empty schema" in migrated.stdout

    again = records_desk("--database-url", plain(empty_database_url), "migrate")
    assert again.returncode == 0, again.stderr
    assert "already at revision" in again.stdout

    seeded = records_desk("seed", "--users", "40", "--database-url", plain(empty_database_url))
    assert seeded.returncode == 0, seeded.stderr
    assert "40 users" in seeded.stdout
    assert await count(empty_database_url, "users") == 40
    assert await count(empty_database_url, "orders") > 0


def test_environment_variable_chooses_the_database(tmp_path: Path) -> None:
    path = tmp_path / "from-env.db"

    result = records_desk("migrate", env={"RECORDS_DESK_DATABASE_URL": f"sqlite:///{path}"})

    assert result.returncode == 0, result.stderr
    assert str(path) in result.stdout
    assert path.exists()


def test_default_database_is_created_in_the_user_data_folder(tmp_path: Path) -> None:
    result = records_desk("migrate")

    assert result.returncode == 0, result.stderr
    created = list((tmp_path / "data").rglob("records.db"))
    assert len(created) == 1
    assert str(created[0]) in result.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["seed", "--users", "many"], "argument --users: 'many' is not a whole number"),
        (["seed", "--users", "-5"], "argument --users: '-5' is negative"),
        (["seed", "--deleted-fraction", "2"], "must be between 0 and 1"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["--database-url", "mysql://root@localhost/shop", "migrate"], "not 'mysql'"),
        (["migrate", "--database-url", ""], "The database URL is empty"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(arguments: list[str], message: str) -> None:
    result = records_desk(*arguments)

    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["migrate", "seed"])
def test_unreachable_database_gets_one_line_without_the_password(command: str) -> None:
    result = records_desk(command, "--database-url", "postgresql://me:hunter2@127.0.0.1:1/shop")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "records-desk: Cannot reach PostgreSQL me@127.0.0.1:1/shop: "
        "the server refused the connection. Is it running?"
    ]


def test_sqlite_file_in_a_missing_folder_gets_one_line(tmp_path: Path) -> None:
    result = records_desk("migrate", "--database-url", f"sqlite:///{tmp_path}/nope/x.db")

    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "check that its folder exists" in result.stderr


def test_our_own_bug_is_logged_not_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_: object) -> migrations.SchemaState:
        raise ZeroDivisionError("a bug of ours")

    monkeypatch.setattr(migrations, "schema_state", broken)

    code = main(["migrate", "--database-url", plain(sqlite_url(tmp_path / "x.db"))])

    stderr = capsys.readouterr().err
    assert code == 1
    assert "internal error; details are in" in stderr
    assert "Traceback" not in stderr
    log_text = next((tmp_path / "state").rglob("records-desk.log")).read_text()
    assert "ZeroDivisionError: a bug of ours" in log_text


def everything_shown(tmp_path: Path, captured: CaptureResult[str]) -> str:
    """All a run wrote where a person could read it: stdout, stderr and the log files."""
    logs = [path.read_text(encoding="utf-8") for path in (tmp_path / "state").rglob("*.log*")]
    return "\n".join([captured.out, captured.err, *logs])


@pytest.mark.parametrize("verbose", [[], ["--verbose"]], ids=["quiet", "verbose"])
@pytest.mark.parametrize("command", ["migrate", "seed"])
@pytest.mark.parametrize(("password", "typed"), UNENCODED_PASSWORDS)
def test_unencoded_password_is_refused_without_showing_any_of_it(
    password: str,
    typed: str,
    command: str,
    verbose: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main([*verbose, command, "--database-url", typed])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.splitlines() == [f"records-desk: {UNREADABLE_URL}"]
    assert_reveals_nothing_of(password, everything_shown(tmp_path, captured))


@pytest.mark.parametrize(
    "arguments",
    [
        ["postgresql://alice:Qx#99%zJ@127.0.0.1/shop"],
        ["migrate", "postgresql://alice:Qx#99%zJ@127.0.0.1/shop"],
        ["seed", "--users", "postgresql://alice:Qx#99%zJ@127.0.0.1/shop"],
        ["seed", "--random-seed", "alice:Qx#99%zJ@'\"127.0.0.1"],
    ],
    ids=["as-command", "extra-argument", "as-a-number", "quoted"],
)
def test_a_url_in_the_wrong_place_is_not_echoed(
    arguments: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(arguments)

    captured = capsys.readouterr()
    assert code == 2
    assert len(captured.err.splitlines()) == 1
    assert "<URL>" in captured.err
    assert_reveals_nothing_of("Qx#99%zJ", everything_shown(tmp_path, captured))


PASSWORD = "Qx#99%zJ@Kv/W?q"


@pytest.mark.postgresql
@pytest.mark.parametrize("verbose", [[], ["--verbose"]], ids=["quiet", "verbose"])
def test_a_percent_encoded_password_connects_and_never_shows(
    verbose: list[str],
    new_postgres_database: Callable[[], URL],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = new_postgres_database()
    # The test server trusts every local login, so any password gets in: what matters is
    # that it is read whole and then never written anywhere.
    typed = (
        f"postgresql://{server.username}:{quote(PASSWORD, safe='')}"
        f"@{server.host}:{server.port}/{server.database}"
    )

    assert main([*verbose, "migrate", "--database-url", typed]) == 0
    assert main([*verbose, "seed", "--users", "3", "--database-url", typed]) == 0

    shown = everything_shown(tmp_path, capsys.readouterr())
    assert f"PostgreSQL {server.username}@{server.host}:{server.port}/{server.database}" in shown
    assert_reveals_nothing_of(PASSWORD, shown)
    assert quote(PASSWORD, safe="") not in shown


@pytest.mark.postgresql
@pytest.mark.usefixtures("postgres_available")
@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("127.0.0.1:1", "the server refused the connection"),
        ("no-such-host.invalid", "the host name does not resolve"),
    ],
)
def test_an_unreachable_server_is_named_without_its_password(
    host: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typed = f"postgresql://me:{quote(PASSWORD, safe='')}@{host}/shop"

    code = main(["--verbose", "migrate", "--database-url", typed])

    shown = everything_shown(tmp_path, capsys.readouterr())
    assert code == 1
    assert f"records-desk: Cannot reach PostgreSQL me@{host}/shop: {message}" in shown
    assert_reveals_nothing_of(PASSWORD, shown)
