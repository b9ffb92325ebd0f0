"""``records-desk export``: the same bytes as the window's export for the same choices;
every refusal is one line, exit 2, and no file."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy.engine import URL

from app.__main__ import _KINDS, main
from app.core.database import Database
from app.query import DeletedRows, Equals, QuerySpec, SortKey, ViewState
from app.services import catalog
from app.services.export import CsvOptions, ExportRequest, excel_options, export_csv
from app.services.export_formats import ExportFormat, ExportOptions, export
from tests.repositories.factories import force, make_account, make_user, moment
from tests.services.test_export import FifoReader, private_null_device
from tests.test_cli import PROJECT_ROOT, plain, records_desk


async def seed(database: Database) -> None:
    async with database.get_session(write=True) as session:
        for index, name in enumerate(["Ada; Lovelace", '=cmd|"/c calc"', "Chloé", "Ada B"]):
            user = await make_user(
                session, name=name, email=f"u{index}@example.org", is_active=index != 1
            )
            if index == 3:
                await force(session, user, deleted_at=moment(2))


def file_bytes(path: Path) -> bytes:
    return path.read_bytes()


async def test_the_command_line_writes_the_bytes_the_window_writes(
    database: Database, database_url: URL, tmp_path: Path
) -> None:
    await seed(database)
    from_cli = tmp_path / "cli.csv"
    result = records_desk(
        "export",
        "users",
        "--database-url",
        plain(database_url),
        "--search",
        "ada",
        "--sort",
        "name:desc",
        "--include-deleted",
        "--columns",
        "name,email,is_active,deleted_at",
        "--delimiter",
        "semicolon",
        "--bom",
        "--output",
        str(from_cli),
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 2 users" in result.stderr
    view = ViewState(
        "users",
        QuerySpec(search="ada", sort=(SortKey("name", True),), deleted=DeletedRows.INCLUDE),
        ("name", "email", "is_active", "deleted_at"),
    )
    from_window = tmp_path / "window.csv"
    options = CsvOptions(delimiter=";", bom=True)
    await export_csv(database, ExportRequest(view), options, from_window)
    assert file_bytes(from_cli) == file_bytes(from_window)
    assert file_bytes(from_cli).startswith(b'\xef\xbb\xbfname;email;is_active;deleted_at\r\n"Ada;')


async def test_standard_output_and_the_machine_options(
    database: Database, database_url: URL, tmp_path: Path
) -> None:
    await seed(database)
    result = records_desk(
        "export",
        "users",
        "--database-url",
        plain(database_url),
        "--filter",
        "is_active=false",
        "--columns",
        "name",
        "--no-header",
        "--no-formula-protection",
        "--line-ending",
        "lf",
        "--output",
        "-",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == '"=cmd|""/c calc"""\n'
    view = ViewState("users", QuerySpec(filters=(Equals("is_active", "false"),)), ("name",))
    path = tmp_path / "same.csv"
    options = CsvOptions(header=False, formula_protection=False, line_ending="\n")
    await export_csv(database, ExportRequest(view), options, path)
    assert file_bytes(path).decode() == result.stdout


async def test_the_excel_forms_are_the_bytes_the_window_writes(
    database: Database, database_url: URL, tmp_path: Path
) -> None:
    """Amounts with a decimal comma and date-times in the local zone: the zone the command
    line calls local is the one the window's preset names (both ask the same function)."""
    async with database.get_session(write=True) as session:
        account = await make_account(session, balance=Decimal("1234.56"), name="a,b")
        # 23:30 UTC is half past midnight, the next day, in Berlin.
        await force(session, account, created_at=moment(3, 23, 30))
    from_cli = tmp_path / "cli.csv"
    result = records_desk(
        "export",
        "accounts",
        "--database-url",
        plain(database_url),
        "--columns",
        "name,balance,created_at",
        "--delimiter",
        ";",
        "--bom",
        "--decimal-comma",
        "--time-zone",
        "local",
        "--output",
        str(from_cli),
        env={"TZ": "Europe/Berlin"},
    )
    assert result.returncode == 0, result.stderr
    view = ViewState("accounts", QuerySpec(), ("name", "balance", "created_at"))
    options = excel_options(",", "Europe/Berlin")
    from_window = tmp_path / "window.csv"
    await export_csv(database, ExportRequest(view), options, from_window)
    assert file_bytes(from_cli) == file_bytes(from_window)
    assert file_bytes(from_cli).decode("utf-8-sig") == (
        'name;balance;created_at\r\n"a,b";"1234,56";2024-03-04 00:30:00\r\n'
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["export", "user"], "There are no 'user' records"),
        (["export", "users", "--filter", "colour=red"], "Users have no column 'colour'"),
        (["export", "users", "--filter", "is_active"], "write it as FIELD=VALUE"),
        (["export", "users", "--filter", "is_active=maybe"], "'maybe' is not a valid yes/no"),
        (["export", "users", "--filter", "id=12x"], "id: "),
        (["export", "users", "--sort", "name:up"], "the direction is asc or desc"),
        (["export", "users", "--sort", "colour"], "no column 'colour'"),
        (["export", "users", "--columns", "name,colour"], "no column 'colour'"),
        (["export", "users", "--columns", ","], "--columns names no column"),
        (["export", "users", "--delimiter", "|"], "is not a delimiter"),
        (["export", "users", "--empty", "a,b"], "cannot hold a comma"),
        (["export", "users", "--include-deleted", "--only-deleted"], "not allowed with"),
        (["export", "users", "--time-zone", "Nowhere/Atlantis"], "not a time zone"),
        (["export", "users", "--output", "/nonexistent/x.csv"], "does not exist"),
        (["export", "users", "--output", "/tmp"], "is a folder"),
        (["export", "users", "--format", "xlsx", "--time-zone", "Europe/Berlin"], "local time"),
        (["export", "users", "--format", "pdf"], "invalid choice"),
    ],
)
def test_refusals_are_one_line_exit_2_and_leave_no_file(
    arguments: list[str],
    message: str,
    migrated_sqlite_template: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "out.csv"
    url = f"sqlite:///{migrated_sqlite_template}"
    code = main(["--database-url", url, *arguments[:2], "--output", str(output), *arguments[2:]])
    stderr = capsys.readouterr().err
    assert code == 2
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert "Traceback" not in stderr
    assert not output.exists()


def test_a_database_that_is_down_is_one_line_exit_1_and_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out.csv"
    code = main(
        [
            "export",
            "users",
            "--database-url",
            "postgresql://nobody:secret@127.0.0.1:1/nothing",
            "--output",
            str(output),
        ]
    )
    stderr = capsys.readouterr().err
    assert code == 1
    assert "refused the connection" in stderr
    assert "secret" not in stderr
    assert not output.exists()


def test_the_help_names_every_kind() -> None:
    assert tuple(entity.name for entity in catalog.entities()) == _KINDS


async def test_a_fifo_named_by_output_gets_the_bytes_the_window_writes(
    database: Database, database_url: URL, tmp_path: Path
) -> None:
    await seed(database)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = FifoReader(fifo)

    code = await asyncio.to_thread(
        main, ["export", "users", "--database-url", plain(database_url), "--output", str(fifo)]
    )

    assert code == 0
    from_window = tmp_path / "window.csv"
    await export_csv(database, ExportRequest(ViewState("users")), CsvOptions(), from_window)
    assert reader.received() == file_bytes(from_window)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_character_device_named_by_output_stays_one(
    migrated_sqlite_template: Path, tmp_path: Path
) -> None:
    """As root, ``--output /dev/null`` once replaced /dev/null with a file of rows."""
    device = private_null_device(tmp_path) or Path("/dev/null")
    before = os.lstat(device)

    code = main(
        [
            "export",
            "users",
            "--database-url",
            f"sqlite:///{migrated_sqlite_template}",
            "--output",
            str(device),
        ]
    )

    assert code == 0
    after = os.lstat(device)
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_a_socket_named_by_output_is_refused_in_one_line(
    migrated_sqlite_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # a short name: socket paths have a length limit
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind("socket")
        code = main(
            [
                "export",
                "users",
                "--database-url",
                f"sqlite:///{migrated_sqlite_template}",
                "--output",
                "socket",
            ]
        )
        assert stat.S_ISSOCK(os.lstat("socket").st_mode)
    stderr = capsys.readouterr().err
    assert code == 2
    assert stderr == (
        "records-desk: --output: socket is a socket, not a file; choose a file name for "
        "the export.\n"
    )


async def test_standard_output_sent_to_a_file_is_written_there(
    database: Database, database_url: URL, tmp_path: Path
) -> None:
    """``--output /dev/stdout >> file``: the shell's file gets the rows after what it held,
    and stays the file the shell has open."""
    await seed(database)
    path = tmp_path / "appended.csv"
    path.write_bytes(b"kept\n")
    inode = path.stat().st_ino
    with path.open("ab") as output:
        result = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "app",
                "export",
                "users",
                "--database-url",
                plain(database_url),
                "--output",
                "/dev/stdout",
            ],
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    from_window = tmp_path / "window.csv"
    await export_csv(database, ExportRequest(ViewState("users")), CsvOptions(), from_window)
    assert file_bytes(path) == b"kept\n" + file_bytes(from_window)
    assert path.stat().st_ino == inode


async def test_a_workbook_and_json_lines_from_the_command_line_read_back(
    database: Database, database_url: URL, tmp_path: Path
) -> None:
    """The type follows --format, or the output's extension; the workbook reads back in a
    spreadsheet reader cell for cell, and the lines as JSON, as the window writes them."""
    await seed(database)
    workbook = tmp_path / "users.xlsx"
    common = ["--database-url", plain(database_url), "--columns", "name,is_active", "--sort", "id"]
    result = records_desk("export", "users", *common, "--output", str(workbook))
    assert result.returncode == 0, result.stderr
    sheet = openpyxl.load_workbook(workbook, read_only=True).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["Name", "Active"],
        ["Ada; Lovelace", True],
        ['=cmd|"/c calc"', False],  # text in a text cell: nothing to guard
        ["Chloé", True],
    ]
    lines = records_desk(
        "export", "users", *common, "--format", "jsonl", "--one-sheet", "--output", "-"
    )
    assert lines.returncode == 0, lines.stderr
    assert [json.loads(line) for line in lines.stdout.splitlines()] == [
        {"name": "Ada; Lovelace", "is_active": True},
        {"name": '=cmd|"/c calc"', "is_active": False},
        {"name": "Chloé", "is_active": True},
    ]
    view = ViewState("users", QuerySpec(sort=(SortKey("id"),)), ("name", "is_active"))
    from_window = tmp_path / "window.jsonl"
    await export(database, ExportRequest(view), ExportOptions(ExportFormat.JSONL), from_window)
    assert file_bytes(from_window).decode() == lines.stdout


def exported_through_standard_output(path: Path, *arguments: str) -> int:
    """Run ``records-desk export … --output -`` with its standard output sent to ``path``."""
    with path.open("wb") as out:
        return subprocess.run(
            [sys.executable, "-m", "app", "export", *arguments, "--output", "-"],
            stdout=out,
            stderr=subprocess.DEVNULL,
            check=False,
            cwd=PROJECT_ROOT,
            timeout=300,
        ).returncode


async def test_a_workbook_written_to_standard_output_opens(
    database: Database, database_url: URL, tmp_path: Path
) -> None:
    """Standard output is written as a stream that never seeks, as a pipe needs: the
    workbook's ZIP carries data descriptors and opens all the same."""
    await seed(database)
    path = tmp_path / "piped.xlsx"
    code = exported_through_standard_output(
        path, "users", "--database-url", plain(database_url), "--format", "xlsx"
    )
    assert code == 0
    rows = list(openpyxl.load_workbook(path, read_only=True).active.iter_rows(values_only=True))
    assert len(rows) == 4  # the header and the three live users


def test_another_programs_table_named_like_ours_is_checked_against_its_own_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `users` table of another program's SQLite file has columns of its own: they are
    what `--columns` and `--filter` are checked against, and the file is left as it was."""
    import sqlite3

    shop = tmp_path / "shop.db"
    with sqlite3.connect(shop) as connection:
        connection.execute("CREATE TABLE users (login TEXT PRIMARY KEY, plan TEXT)")
        connection.execute("INSERT INTO users VALUES ('ada', 'gold'), ('bob', 'free')")
    connection.close()
    before = shop.read_bytes()
    output = tmp_path / "users.csv"

    code = main(
        [
            "--database-url",
            f"sqlite:///{shop}",
            "export",
            "users",
            "--columns",
            "login,plan",
            "--filter",
            "plan=gold",
            "--output",
            str(output),
        ]
    )

    assert code == 0, capsys.readouterr().err
    assert output.read_bytes() == b"login,plan\r\nada,gold\r\n"
    assert shop.read_bytes() == before
