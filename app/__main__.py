"""The composition root: ``records-desk`` (or ``python -m app``).

With no command it starts the GUI (imported lazily: the only place app/ reaches the UI).
``migrate`` and ``seed`` work on the same settings and services. Every failure a user can
fix is one line on stderr and a non-zero exit; our own bugs are logged with their traceback
and summarised in one line that points at the log.
"""

from __future__ import annotations

import gc
import time

# The smoke test's clock where the OS does not say when the process started.
FIRST_LINE_RAN = time.perf_counter()
if __name__ == "__main__":  # the program itself (the bundle, python -m app), not an import
    # Startup makes objects that live as long as the process (modules, mappers, widgets):
    # the collector walking them again and again as they are made is time the first window
    # waits for. It runs again once a command starts, or once the window is up (ui.main).
    gc.disable()

import argparse
import asyncio
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, BinaryIO, NoReturn

from app.config import (
    ENV_DATABASE_URL,
    Settings,
    SettingsError,
    SettingsSource,
    default_database_url,
    load_settings,
)
from app.core.logs import configure_logging
from app.services.errors import RecordsDeskError, ValidationError
from app.services.seeding import OPTION_BOUNDS, SeedOptions

if TYPE_CHECKING:
    from app.core.database import Database

log = logging.getLogger("app")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A command line argparse refused; ``str()`` is the one line to show."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        # Raised, not printed: main() first blanks out any URL the message quotes.
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="records-desk",
        description="Browse the records of an application database. "
        "With no command, opens the Records Desk window.",
    )
    _add_common_options(parser, default=None)
    _add_smoke_test_option(parser)
    commands = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser)
    # The options are accepted after the command too; SUPPRESS keeps a value given before it.
    common = _Parser(add_help=False)
    _add_common_options(common, default=argparse.SUPPRESS)

    migrate = commands.add_parser(
        "migrate", parents=[common], help="upgrade the database schema to this version"
    )
    migrate.add_argument(
        "--revision",
        default="head",
        help="schema revision to upgrade to: head, or a revision id or its first "
        "4 characters or more (default: head)",
    )

    seed = commands.add_parser(
        "seed", parents=[common], help="fill the database with realistic demo data"
    )
    for field, metavar, meaning in _SEED_OPTIONS:
        seed.add_argument(
            f"--{field.replace('_', '-')}",
            type=_bounded(field),
            default=getattr(_SEED_DEFAULTS, field),
            metavar=metavar,
            help=f"{meaning}: {OPTION_BOUNDS[field].describe()} "
            f"(default {_plain(getattr(_SEED_DEFAULTS, field))})",
        )
    seed.add_argument(
        "--random-seed",
        type=_whole_number,
        default=_SEED_DEFAULTS.random_seed,
        metavar="N",
        help=f"same seed, same data: a whole number (default {_SEED_DEFAULTS.random_seed})",
    )

    export = commands.add_parser(
        "export",
        parents=[common],
        help="write records to a CSV, XLSX or JSON Lines file, as a browse window exports them",
        description="Write the records of one kind to CSV, an Excel workbook or JSON Lines: "
        "the same rows and columns as Export… in a browse window with the same choices "
        "(and, for CSV, the same bytes).",
    )
    export.add_argument(
        "kind",
        metavar="KIND",
        nargs="?",
        help="kind of record: " + ", ".join(_KINDS) + " (or a table of another program's "
        "database); not with --view",
    )
    export.add_argument(
        "--view",
        metavar="FILE",
        help="a view saved by a browse window (Save view…): its table, search, filters, "
        "sort and columns, exported as the window exports it",
    )
    export.add_argument(
        "--allow-dropped",
        action="store_true",
        help="with --view: export even when a filter, sort or column of the view is no "
        "longer there (by default that is refused: the rows would not be the view's)",
    )
    export.add_argument("--search", default="", metavar="TEXT", help="the search box's text")
    export.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="only records whose FIELD equals VALUE (repeat for more filters)",
    )
    export.add_argument(
        "--sort",
        action="append",
        default=[],
        metavar="FIELD[:desc]",
        help="sort by FIELD, descending with :desc (repeat for more keys; default: id)",
    )
    deleted = export.add_mutually_exclusive_group()
    deleted.add_argument(
        "--include-deleted", action="store_true", help="also the records in the trash"
    )
    deleted.add_argument("--only-deleted", action="store_true", help="only the trash")
    export.add_argument(
        "--columns",
        metavar="a,b,…",
        help="the columns in this order (default: all but the password hash)",
    )
    export.add_argument(
        "--delimiter",
        type=_delimiter,
        default=",",
        metavar="X",
        help="comma (default), semicolon or tab; also , ; or \\t",
    )
    export.add_argument("--bom", action="store_true", help="start with a UTF-8 byte order mark")
    export.add_argument("--no-header", action="store_true", help="no row of column names")
    export.add_argument(
        "--line-ending",
        choices=("crlf", "lf"),
        default="crlf",
        help="end lines with CR LF (default, RFC 4180) or LF",
    )
    export.add_argument(
        "--empty", default="", metavar="TEXT", help="text for empty values (default: nothing)"
    )
    export.add_argument(
        "--no-formula-protection",
        action="store_true",
        help="write text starting with = + - @ tab CR LF or NUL as it is, for a program to "
        "read (by default such text gets a leading ' so a spreadsheet never runs it)",
    )
    export.add_argument(
        "--decimal-comma",
        action="store_true",
        help="write amounts as 1234,56, as a spreadsheet in a comma-decimal locale reads them",
    )
    export.add_argument(
        "--time-zone",
        default="",
        metavar="ZONE",
        help="write date-times as YYYY-MM-DD HH:MM:SS in ZONE (local, UTC or a name such as "
        "Europe/Berlin), as spreadsheets read them (default: exact, ISO 8601 in UTC with "
        "the offset)",
    )
    export.add_argument(
        "--format",
        choices=("csv", "xlsx", "jsonl"),
        help="the file type (default: from the --output file's extension, else csv)",
    )
    export.add_argument(
        "--one-sheet",
        action="store_true",
        help="xlsx: refuse a view longer than one sheet holds (1,048,575 rows) rather than "
        "continue it on further sheets",
    )
    export.add_argument(
        "--money-as-numbers",
        action="store_true",
        help="jsonl: amounts as JSON numbers (exact digits) rather than strings",
    )
    export.add_argument(
        "--output", required=True, metavar="FILE", help="the file to write, or - for stdout"
    )
    return parser


_DELIMITER_NAMES = {
    ",": ",",
    "comma": ",",
    ";": ";",
    "semicolon": ";",
    "tab": "\t",
    "\t": "\t",
    "\\t": "\t",
}


def _delimiter(text: str) -> str:
    try:
        return _DELIMITER_NAMES[text.lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a delimiter: use comma, semicolon or tab"
        ) from None


# The seed options a user can give, each named after its SeedOptions field.
_SEED_OPTIONS = [
    ("users", "N", "users to create"),
    ("posts_per_user", "N", "average posts per user"),
    ("orders_per_user", "N", "average orders per user"),
    ("items_per_order", "N", "average items per order"),
    ("accounts_per_user", "N", "average accounts per user"),
    ("transfers_per_account", "N", "average transfers per account"),
    ("deleted_fraction", "F", "share of rows put in the trash"),
]
_SEED_DEFAULTS = SeedOptions()


def _add_common_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--database-url",
        metavar="URL",
        default=default,
        help="database to use, e.g. sqlite:///records.db or postgresql://user@host/db "
        "(overrides RECORDS_DESK_DATABASE_URL and the saved settings)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=default if default is not None else False,
        help="log SQL and details to stderr",
    )


def _add_smoke_test_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="start the GUI on a throwaway local database with a little demo data, open "
        "one window per kind, print timings as JSON and exit (0 when all went well)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        arguments = parser.parse_args(words)
    except UsageError as error:
        print(_without_urls(str(error), words), file=sys.stderr)
        return EXIT_USAGE
    if arguments.smoke_test:
        if arguments.command is not None or arguments.database_url is not None:
            return _fail(parser.prog, "--smoke-test takes no command and no database", EXIT_USAGE)
        from ui.smoke_test import run_smoke_test

        return run_smoke_test(FIRST_LINE_RAN)
    log_path = configure_logging(verbose=arguments.verbose)
    notice = ""
    try:
        settings = load_settings(arguments.database_url)
    except SettingsError as error:
        chosen_here = arguments.database_url is not None or os.environ.get(ENV_DATABASE_URL)
        if arguments.command is not None or chosen_here:
            return _fail(parser.prog, str(error), EXIT_USAGE)
        # A double-clicked app has no console to print to: the window says it instead,
        # on the local database, and the settings file stays as it is for the user to fix.
        notice = f"{error} The local database is open instead."
        settings = Settings(default_database_url(), SettingsSource.DEFAULT)

    if arguments.command is None:
        from ui.main import run_gui  # Qt loads only when a window is wanted.

        return run_gui(settings, verbose=arguments.verbose, notice=notice)

    if settings.password_missing and sys.stdin.isatty():
        import getpass

        password = getpass.getpass(f"Password for {settings.display_name}: ")
        settings = replace(settings, database_url=settings.database_url.set(password=password))

    gc.enable()
    handlers: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
        "migrate": _migrate,
        "seed": _seed,
        "export": _export,
    }
    try:
        return handlers[arguments.command](settings, arguments)
    except ValidationError as error:
        # What was asked for cannot be done as asked (a revision, a mix of seed sizes).
        return _fail(parser.prog, str(error), EXIT_USAGE)
    except RecordsDeskError as error:
        return _fail(parser.prog, str(error), EXIT_FAILURE)
    except KeyboardInterrupt:
        return _fail(parser.prog, "interrupted", EXIT_INTERRUPTED)
    except Exception:
        log.exception("records-desk %s failed", arguments.command)
        where = f"; details are in {log_path}" if log_path else ""
        return _fail(parser.prog, f"internal error{where}", EXIT_FAILURE)


def _migrate(settings: Settings, arguments: argparse.Namespace) -> int:
    from app.services import migrations
    from app.services.connection import open_database

    migrations.resolve_revision(arguments.revision)  # a typo is refused before any file is made

    async def run() -> migrations.Upgrade:
        database = open_database(settings, echo=arguments.verbose)
        try:
            return await migrations.upgrade_with_report(
                database, arguments.revision, waiting=_say_waiting
            )
        finally:
            await database.dispose()

    report = asyncio.run(run())
    before, after = report.before.current, report.after.current
    if before == after:
        print(f"{settings.display_name} is already at revision {after}.")
    else:
        print(
            f"{settings.display_name}: upgraded from {before or 'an empty schema'} "
            f"to {after}" + (" (head)." if report.after.up_to_date else ".")
        )
    return EXIT_OK


def _seed(settings: Settings, arguments: argparse.Namespace) -> int:
    from app.services import migrations
    from app.services.connection import open_database
    from app.services.seeding import seed_demo_data, validate_options, with_batch_that_fits

    options = with_batch_that_fits(
        SeedOptions(
            users=arguments.users,
            posts_per_user=arguments.posts_per_user,
            orders_per_user=arguments.orders_per_user,
            items_per_order=arguments.items_per_order,
            accounts_per_user=arguments.accounts_per_user,
            transfers_per_account=arguments.transfers_per_account,
            deleted_fraction=arguments.deleted_fraction,
            random_seed=arguments.random_seed,
        )
    )
    validate_options(options)  # before opening: sizes that cannot be made touch nothing
    interactive = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if interactive:
            print(f"\rseeding: {done:,} of {total:,} users", end="", file=sys.stderr, flush=True)

    async def run() -> None:
        database = open_database(settings, echo=arguments.verbose)
        try:
            await migrations.prepare_for_use(database, waiting=_say_waiting)
            report = await seed_demo_data(database, options, progress)
        finally:
            await database.dispose()
        if interactive:
            print(file=sys.stderr)
        rows = ", ".join(f"{count:,} {table}" for table, count in report.counts.items())
        print(f"{settings.display_name}: added {rows} in {report.seconds:.1f} s.")

    asyncio.run(run())
    return EXIT_OK


def _export(settings: Settings, arguments: argparse.Namespace) -> int:
    from pathlib import Path

    from app.query import DeletedRows, Equals, QuerySpec, SortKey, ViewState
    from app.saved_views import read_view
    from app.services import catalog
    from app.services.catalog import EntityInfo
    from app.services.connection import another_programs_file
    from app.services.export import (
        CsvOptions,
        ExportError,
        ExportRequest,
        export_target,
        local_time_zone,
    )
    from app.services.export_formats import ExportFormat, ExportOptions, export, format_of
    from app.services.export_jsonl import JsonLinesOptions
    from app.services.export_xlsx import XlsxOptions

    # Everything that can be refused is refused before the database or a file is opened;
    # another program's table is known only once its database is open, and checked then.
    def checked(info: EntityInfo) -> None:
        for filter_ in filters:
            info.column(filter_.column)
        for key in sort:
            info.column(key.column)
        ExportRequest(ViewState(info.name, spec, columns)).columns(info)  # unknown, in words

    view_file = Path(arguments.view).expanduser() if arguments.view else None
    if view_file is None and not arguments.kind:
        raise ValidationError("Name the kind of record to export, or give --view FILE.")
    if view_file is not None:
        given = [
            option
            for option, value in (
                ("KIND", arguments.kind),
                ("--search", arguments.search),
                ("--filter", arguments.filter),
                ("--sort", arguments.sort),
                ("--columns", arguments.columns),
                ("--include-deleted", arguments.include_deleted),
                ("--only-deleted", arguments.only_deleted),
            )
            if value
        ]
        if given:
            raise ValidationError(
                f"--view holds the table, search, filters, sort and columns: give them there, "
                f"not as {', '.join(given)}."
            )
        if not view_file.is_file():
            raise ValidationError(f"--view: {view_file} is not a file.")
    filters = []
    for word in arguments.filter:
        name, equals, value = word.partition("=")
        if not equals or not name:
            raise ValidationError(f"--filter {word!r}: write it as FIELD=VALUE.")
        filters.append(Equals(name.strip(), value))
    sort = []
    for word in arguments.sort:
        name, _, direction = word.partition(":")
        if direction not in ("", "asc", "desc"):
            raise ValidationError(f"--sort {word!r}: the direction is asc or desc.")
        sort.append(SortKey(name, descending=direction == "desc"))
    columns: tuple[str, ...] = ()
    if arguments.columns is not None:
        columns = tuple(name.strip() for name in arguments.columns.split(",") if name.strip())
        if not columns:
            raise ValidationError("--columns names no column.")
    deleted = DeletedRows.EXCLUDE
    if arguments.include_deleted:
        deleted = DeletedRows.INCLUDE
    elif arguments.only_deleted:
        deleted = DeletedRows.ONLY
    spec = QuerySpec(
        search=arguments.search, filters=tuple(filters), sort=tuple(sort), deleted=deleted
    )
    request = ExportRequest(ViewState(arguments.kind or "", spec, columns))
    path = settings.sqlite_path
    foreign_file = path is not None and path.exists() and another_programs_file(path)
    if view_file is None and arguments.kind in catalog.OURS and not foreign_file:
        # Another program's file may have a table of that name with columns of its own:
        # it is checked once that file is open.
        checked(catalog.entity(arguments.kind))
    options = CsvOptions(
        delimiter=arguments.delimiter,
        header=not arguments.no_header,
        bom=arguments.bom,
        line_ending="\r\n" if arguments.line_ending == "crlf" else "\n",
        empty_text=arguments.empty,
        formula_protection=not arguments.no_formula_protection,
        decimal_point="," if arguments.decimal_comma else ".",
        time_zone=local_time_zone() if arguments.time_zone == "local" else arguments.time_zone,
    ).validated()
    kind = ExportFormat(arguments.format) if arguments.format else format_of(Path(arguments.output))
    if kind is ExportFormat.XLSX and arguments.time_zone not in ("", "local", "UTC"):
        raise ValidationError(
            "--time-zone: a workbook's date-times are in local time (the default) or UTC."
        )
    chosen = ExportOptions(
        kind,
        options,
        XlsxOptions(utc=arguments.time_zone == "UTC", split_sheets=not arguments.one_sheet),
        JsonLinesOptions(decimals_as_numbers=arguments.money_as_numbers),
    )
    to_stdout = arguments.output == "-"
    target: Path | BinaryIO
    if to_stdout:
        if sys.stdout is None:  # started without one (a GUI launcher)
            raise ValidationError("There is no standard output here; give --output FILE.")
        target = sys.stdout.buffer
    else:
        target = Path(arguments.output)
        # Said before the database is opened (or, for a new file, made); the export looks
        # again when it opens the file, through the same function.
        try:
            export_target(target)
        except ExportError as error:
            raise ValidationError(f"--output: {error}") from None

    async def run() -> None:
        database = await _open_to_read(settings, verbose=arguments.verbose)
        notes: list[str] = []
        try:
            known = catalog.catalog_of(database)
            wanted = request
            if view_file is not None:
                opened = read_view(view_file, known)
                if opened.dropped and not arguments.allow_dropped:
                    # A scheduled job must not quietly export more rows than it asks for.
                    raise ValidationError(
                        f"--view: {view_file.name} no longer applies whole here: "
                        + "; ".join(opened.dropped)
                        + ". Save it again, or give --allow-dropped to export the rest."
                    )
                wanted = ExportRequest(opened.saved.view)
                notes = [f"Left out of {view_file.name}: {what}." for what in opened.dropped]
            info = known.entity(wanted.view.entity)
            checked(info)
            result = await export(database, wanted, chosen, target)
        finally:
            await database.dispose()
        where = "standard output" if to_stdout else str(result.path)
        print(
            f"records-desk: wrote {result.rows:,} {info.label.lower()} to {where} "
            f"({result.bytes:,} bytes) in {result.seconds:.1f} s.",
            *notes,
            *result.notes,
            file=sys.stderr,
        )

    asyncio.run(run())
    return EXIT_OK


_KINDS = ("users", "profiles", "posts", "orders", "order_items", "accounts", "transfers")


async def _open_to_read(settings: Settings, *, verbose: bool) -> Database:
    """The database of ``settings``, ready to be read: ours made or upgraded as a window
    would (app.services.migrations), another program's opened read-only as it is."""
    from app.services import migrations
    from app.services.connection import open_database
    from app.services.errors import ForeignDatabaseError

    database = open_database(settings, echo=verbose)
    try:
        await migrations.prepare_for_use(database, waiting=_say_waiting)
    except ForeignDatabaseError:
        await database.dispose()
        database = open_database(settings, echo=verbose, read_only=True)
        try:
            await migrations.prepare_for_use(database, waiting=_say_waiting)
        except BaseException:
            await database.dispose()
            raise
    except BaseException:
        await database.dispose()
        raise
    return database


def _say_waiting(message: str) -> None:
    print(f"records-desk: {message}…", file=sys.stderr, flush=True)


def _without_urls(message: str, words: Sequence[str]) -> str:
    """``message`` without the words that look like a URL or credentials: argparse quotes a
    misplaced word ("invalid choice", "unrecognized arguments"), and one holding a password
    must not be echoed."""
    for word in sorted(words, key=len, reverse=True):
        if "://" in word or "@" in word:
            # As typed, and as repr() escapes it when argparse quotes it with %r.
            message = message.replace(repr(word)[1:-1], "<URL>").replace(word, "<URL>")
    return message


def _fail(prog: str, message: str, code: int) -> int:
    print(f"{prog}: {message}", file=sys.stderr)
    return code


# Digits only (a sign aside), grouped in threes by ',' or '_' if at all: int() would read
# "1,000,0" with the commas dropped as 10,000, and takes "٣" or "1_0" too.
_WHOLE = re.compile(r"-?(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,3}(?:_[0-9]{3})+)")
_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _whole_number(text: str) -> int:
    if not _WHOLE.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number (digits, grouped in threes as 1,000,000 "
            "or 1_000_000 if you like)"
        )
    return int(text.replace(",", "").replace("_", ""))


def _decimal_number(text: str) -> float:
    if not _DECIMAL.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (digits and a point: 2.5)")
    return float(text)


def _bounded(field: str) -> Callable[[str], float]:
    """The argparse type of a seed option: exactly what SeedOptions accepts for ``field``."""
    bounds = OPTION_BOUNDS[field]

    def parse(text: str) -> float:
        value = _whole_number(text) if bounds.whole else _decimal_number(text)
        if not bounds.accepts(value):
            raise argparse.ArgumentTypeError(f"must be {bounds.describe()}, not {text!r}")
        return value

    parse.__name__ = field  # argparse names the type in some messages
    return parse


def _plain(number: float) -> str:
    return f"{number:,}" if isinstance(number, int) else f"{number:g}"


if __name__ == "__main__":
    sys.exit(main())
