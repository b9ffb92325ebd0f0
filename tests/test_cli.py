"""The command line: migrate and seed on both engines; bad input is one readable line."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import pytest
from _pytest.capture import CaptureResult
from sqlalchemy.engine import URL

from app.__main__ import UsageError, build_parser, main
from app.config import UNREADABLE_URL, Settings, SettingsSource, settings_file, sqlite_url
from app.core.database import Database
from app.query import QuerySpec
from app.services import migrations
from app.services.records import RecordService
from app.services.seeding import (
    OPTION_BOUNDS,
    SeedOptions,
    validate_options,
    with_batch_that_fits,
)
from tests.services.test_migrations import migration_lock_held_elsewhere
from tests.test_config import UNENCODED_PASSWORDS, assert_reveals_nothing_of
from tests.test_connections import BROKEN_SETTINGS

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

    # No trash: every user made is a live one, whatever the random stream.
    seeded = records_desk(
        "seed",
        "--users",
        "40",
        "--deleted-fraction",
        "0",
        "--database-url",
        plain(empty_database_url),
    )
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
        (["seed", "--users", "-5"], "--users: must be a whole number from 0 to 10,000,000"),
        (["seed", "--deleted-fraction", "2"], "must be a number from 0 to 1, not '2'"),
        (["seed", "--items-per-order", "0"], "--items-per-order: must be a number from 1 to 100"),
        (["seed", "--items-per-order", "1000"], "must be a number from 1 to 100, not '1000'"),
        (["seed", "--posts-per-user", "1001"], "--posts-per-user: must be a number from 0 to"),
        (["seed", "--posts-per-user", "1e3"], "'1e3' is not a number"),
        (["seed", "--orders-per-user", "nan"], "'nan' is not a number"),
        (["seed", "--users", "1,000,0"], "--users: '1,000,0' is not a whole number"),
        (["seed", "--users", "1,0000"], "'1,0000' is not a whole number"),
        (["seed", "--users", "1_0"], "'1_0' is not a whole number"),
        (["seed", "--users", "1,000_000"], "'1,000_000' is not a whole number"),
        (["seed", "--users", "\u0663"], "is not a whole number"),  # an Arabic-Indic 3
        (["seed", "--random-seed", "1.5"], "--random-seed: '1.5' is not a whole number"),
        (
            ["seed", "--users", "9000000", "--posts-per-user", "500"],
            "more than a table can number. Ask for fewer users or fewer rows per user.",
        ),
        (["migrate", "--revision", "nonsense"], "There is no schema revision 'nonsense'"),
        (["migrate", "--revision", "41f"], "Give at least 4 characters"),
        (
            ["migrate", "--database-url", "postgresql://me@127.0.0.1:99999/shop"],
            "records-desk: The port in the database URL must be a whole number from 1 to 65535.",
        ),
        (
            ["migrate", "--database-url", "postgresql://me@127.0.0.1:-5/shop"],
            "records-desk: The port in the database URL must be a whole number from 1 to 65535.",
        ),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["--database-url", "mysql://root@localhost/shop", "migrate"], "not 'mysql'"),
        (["migrate", "--database-url", ""], "The database URL is empty"),
        (["--smoke-test", "migrate"], "--smoke-test takes no command and no database"),
        (
            ["--smoke-test", "--database-url", "sqlite:///x.db"],
            "--smoke-test takes no command and no database",
        ),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(
    arguments: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(arguments)

    stderr = capsys.readouterr().err
    assert code == 2
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert "Traceback" not in stderr
    # Refused before anything is opened: the default database file is not even made.
    assert not list((tmp_path / "data").rglob("*.db"))
    # Only options that exist are named (the seeder's own field names are not options).
    assert "_per_" not in stderr
    assert "batch" not in stderr


def test_bad_arguments_from_a_real_process_get_one_line_and_exit_2() -> None:
    result = records_desk("seed", "--users", "1,000,0")

    assert result.returncode == 2
    assert result.stderr.startswith("records-desk seed: argument --users: '1,000,0' is not")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("typed", "users"),
    [("1000", 1_000), ("1,000,000", 1_000_000), ("1_000_000", 1_000_000), ("007", 7), ("0", 0)],
)
def test_user_counts_are_read_digit_for_digit(typed: str, users: int) -> None:
    assert build_parser().parse_args(["seed", "--users", typed]).users == users


def test_seed_options_offer_exactly_what_the_seeder_accepts() -> None:
    parser = build_parser()
    seed_help = next(
        action.choices["seed"].format_help()
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    defaults = SeedOptions()
    offered = {name for name in OPTION_BOUNDS if f"--{name.replace('_', '-')}" in seed_help}
    # batch_users is the seeder's to choose (with_batch_that_fits), not the user's.
    assert offered == set(OPTION_BOUNDS) - {"batch_users"}
    for name in offered:
        option, bounds = f"--{name.replace('_', '-')}", OPTION_BOUNDS[name]
        assert bounds.describe() in " ".join(seed_help.split()), name
        low, high = bounds.low, bounds.high
        for accepted in (low, high):
            text = str(int(accepted)) if accepted == int(accepted) else str(accepted)
            arguments = parser.parse_args(["seed", option, text])
            value = getattr(arguments, name)
            validate_options(with_batch_that_fits(replace(defaults, **{name: value})))
        for refused in (low - 1, high + 1):
            with pytest.raises(UsageError, match=f"must be {bounds.describe()}"):
                parser.parse_args(["seed", option, str(int(refused))])


def test_the_largest_averages_the_help_allows_are_seeded(tmp_path: Path) -> None:
    url = plain(sqlite_url(tmp_path / "big.db"))
    # 1,000 posts per user once asked for "batch_users", an option no one can give.
    result = records_desk("seed", "--users", "2", "--posts-per-user", "1000", "--database-url", url)

    assert result.returncode == 0, result.stderr
    assert "2 users" in result.stdout


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
    async def broken(*_: object, **__: object) -> migrations.Upgrade:
        raise ZeroDivisionError("a bug of ours")

    monkeypatch.setattr(migrations, "upgrade_with_report", broken)

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


async def test_migrate_waits_for_another_migration_and_says_so(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "new.db")
    async with migration_lock_held_elsewhere(url):
        process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "app", "migrate", "--database-url", plain(url)],
            cwd=PROJECT_ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stderr is not None
        said = await asyncio.wait_for(process.stderr.readline(), timeout=60)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)

    assert said.decode() == (
        f"records-desk: waiting for another migration of SQLite file {url.database} to finish "
        "(or another program to stop writing to it)…\n"
    )
    assert process.returncode == 0, stderr
    assert stderr == b""
    assert "upgraded from an empty schema" in stdout.decode()


def test_a_broken_settings_file_starts_the_window_on_the_local_database_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Double-clicked, the app has no console for the message: its window gets it."""
    from ui import main as ui_main

    settings_file().parent.mkdir(parents=True)
    settings_file().write_text("{not json", encoding="utf-8")
    started: list[tuple[Settings, str]] = []

    def run_gui(settings: Settings, *, verbose: bool, notice: str) -> int:
        started.append((settings, notice))
        return 0

    monkeypatch.setattr(ui_main, "run_gui", run_gui)

    assert main([]) == 0

    ((settings, notice),) = started
    assert settings.source is SettingsSource.DEFAULT
    assert notice == (
        f"The settings file {settings_file()} is not valid JSON (line 1); fix or delete it. "
        "The local database is open instead."
    )
    assert settings_file().read_text(encoding="utf-8") == "{not json"  # left for the user
    # A command, which has a console, still stops with the reason.
    assert main(["migrate"]) == 2
    assert "is not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "reason"), BROKEN_SETTINGS)
def test_a_settings_file_that_cannot_be_read_opens_the_window_with_a_banner(
    content: bytes, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not UTF-8, not JSON, nested too deeply, too big: each a banner, never a traceback."""
    from ui import main as ui_main

    settings_file().parent.mkdir(parents=True)
    settings_file().write_bytes(content)
    started: list[tuple[Settings, str]] = []

    def run_gui(settings: Settings, *, verbose: bool, notice: str) -> int:
        started.append((settings, notice))
        return 0

    monkeypatch.setattr(ui_main, "run_gui", run_gui)

    assert main([]) == 0

    ((settings, notice),) = started
    assert settings.source is SettingsSource.DEFAULT
    assert reason in notice
    assert notice.endswith("The local database is open instead.")
    assert settings_file().read_bytes() == content
