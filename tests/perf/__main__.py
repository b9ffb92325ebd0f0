"""uv run python -m tests.perf <benchmark> [options]: one JSON object on stdout."""

from __future__ import annotations

import os

# Before anything imports Qt: the benchmarks drive the real widgets offscreen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse
import sys

from tests.perf import browse, export, insights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf", description="Records Desk benchmarks (JSON on stdout)."
    )
    benchmarks = parser.add_subparsers(dest="benchmark", required=True)
    browse_parser = benchmarks.add_parser(
        "browse", help="a browse window on users: first rows, jumps, search, stalls, memory"
    )
    browse.add_arguments(browse_parser)
    browse_parser.set_defaults(run=browse.run)
    export_parser = benchmarks.add_parser(
        "export", help="every live user to CSV: ours vs the native tool, stalls, memory"
    )
    export.add_arguments(export_parser)
    export_parser.set_defaults(run=export.run)
    insights_parser = benchmarks.add_parser(
        "insights",
        help="totals, frequency tables, describe and the Insights reports over users and "
        "their orders, posts and accounts: times, stalls, a cancel",
    )
    insights.add_arguments(insights_parser)
    insights_parser.set_defaults(run=insights.run)
    arguments = parser.parse_args(argv)
    result: int = arguments.run(arguments)
    return result


if __name__ == "__main__":
    sys.exit(main())
