"""The composition root: ``records-desk`` (or ``python -m app``).

With no command it starts the GUI (imported lazily: the only place app/ reaches the UI).
``migrate`` and ``seed`` work on the same settings and services. Every failure a user can
fix is one line on stderr and a non-zero exit; our own bugs are logged with their traceback
and summarised in one line that points at the log.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from app.config import Settings, SettingsError, load_settings
from app.core.logs import configure_logging

log = logging.getLogger("app")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _UsageError(Exception):
    """A command line argparse refused; ``str()`` is the one line to show."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        # Raised, not printed: main() first blanks out any URL the message quotes.
        raise _UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="records-desk",
        description="Browse the records of an application database. "
        "With no command, opens the Records Desk window.",
    )
    _add_common_options(parser, default=None)
    commands = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser)
    # The options are accepted after the command too; SUPPRESS keeps a value given before it.
    common = _Parser(add_help=False)
    _add_common_options(common, default=argparse.SUPPRESS)

    migrate = commands.add_parser(
        "migrate", parents=[common], help="upgrade the database schema to this version"
    )
    migrate.add_argument("--revision", default="head", help="target revision (default: head)")

    seed = commands.add_parser(
        "seed", parents=[common], help="fill the database with realistic demo data"
    )
    seed.add_argument("--users", type=_count, default=1_000, help="users to create (1000)")
    seed.add_argument("--posts-per-user", type=_average, default=2.0, metavar="N")
    seed.add_argument("--orders-per-user", type=_average, default=1.0, metavar="N")
    seed.add_argument("--items-per-order", type=_average, default=3.0, metavar="N")
    seed.add_argument("--accounts-per-user", type=_average, default=1.0, metavar="N")
    seed.add_argument("--transfers-per-account", type=_average, default=1.0, metavar="N")
    seed.add_argument(
        "--deleted-fraction",
        type=_fraction,
        default=0.01,
        metavar="F",
        help="share of rows put in the trash (0.01)",
    )
    seed.add_argument(
        "--random-seed", type=int, default=0, metavar="N", help="same seed, same data"
    )
    return parser


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        arguments = parser.parse_args(words)
    except _UsageError as error:
        print(_without_urls(str(error), words), file=sys.stderr)
        return EXIT_USAGE
    log_path = configure_logging(verbose=arguments.verbose)
    try:
        settings = load_settings(arguments.database_url)
    except SettingsError as error:
        return _fail(parser.prog, str(error), EXIT_USAGE)

    if arguments.command is None:
        from ui.main import run_gui  # Qt loads only when a window is wanted.

        return run_gui(settings, verbose=arguments.verbose)

    handlers: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
        "migrate": _migrate,
        "seed": _seed,
    }
    from app.services.errors import RecordsDeskError

    try:
        return handlers[arguments.command](settings, arguments)
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

    async def run() -> migrations.SchemaState:
        database = open_database(settings, echo=arguments.verbose)
        try:
            before = await migrations.schema_state(database)
            after = await migrations.upgrade(database, arguments.revision)
        finally:
            await database.dispose()
        if before.current == after.current:
            print(f"{settings.display_name} is already at revision {after.current}.")
        else:
            print(
                f"{settings.display_name}: upgraded from {before.current or 'an empty schema'} "
                f"to {after.current}" + (" (head)." if after.up_to_date else ".")
            )
        return after

    asyncio.run(run())
    return EXIT_OK


def _seed(settings: Settings, arguments: argparse.Namespace) -> int:
    from app.services import migrations
    from app.services.connection import open_database
    from app.services.seeding import SeedOptions, seed_demo_data

    options = SeedOptions(
        users=arguments.users,
        posts_per_user=arguments.posts_per_user,
        orders_per_user=arguments.orders_per_user,
        items_per_order=arguments.items_per_order,
        accounts_per_user=arguments.accounts_per_user,
        transfers_per_account=arguments.transfers_per_account,
        deleted_fraction=arguments.deleted_fraction,
        random_seed=arguments.random_seed,
    )
    interactive = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if interactive:
            print(f"\rseeding: {done:,} of {total:,} users", end="", file=sys.stderr, flush=True)

    async def run() -> None:
        database = open_database(settings, echo=arguments.verbose)
        try:
            await migrations.prepare_for_use(database)
            report = await seed_demo_data(database, options, progress)
        finally:
            await database.dispose()
        if interactive:
            print(file=sys.stderr)
        rows = ", ".join(f"{count:,} {table}" for table, count in report.counts.items())
        print(f"{settings.display_name}: added {rows} in {report.seconds:.1f} s.")

    asyncio.run(run())
    return EXIT_OK


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


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return value


def _average(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1_000:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1000")
    return value


def _fraction(text: str) -> float:
    value = _average(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1")
    return value


if __name__ == "__main__":
    sys.exit(main())
