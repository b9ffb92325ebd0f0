"""The packaged app's checks, for .ci/run and .github/workflows/bundles.yml alike: one copy
of the size budget and of the smoke test's rules, so the Linux CI and the Windows and macOS
builds cannot come to judge a bundle differently. Also writes constraints/bundle.txt.

    python .ci/bundle_check.py budget dist
    python .ci/bundle_check.py smoke dist --qpa offscreen
    python .ci/bundle_check.py smoke dist --qpa xcb -- xvfb-run -a
    python .ci/bundle_check.py constraints

Standard library only: it runs on any Python the runner has, before or after the build.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "build.spec"
CONSTRAINTS = ROOT / "constraints" / "bundle.txt"
BUDGET_MB = 120
# Generous for a slow CI machine; the smoke test's own timeout is 60 s.
SMOKE_TIMEOUT_S = 180
# Where the smoke test writes its JSON when the process has no stdout (ui/smoke_test.py).
SMOKE_REPORT_FILE_NAME = "smoke-test.json"
CONSTRAINTS_HEADER = """\
# The versions CI last tested, for .github/workflows/bundles.yml: names and versions only.
# Refresh after `uv sync` has passed .ci/run: uv run python .ci/bundle_check.py constraints
"""


def spec_values() -> tuple[str, dict[str, dict[str, Any]]]:
    """build.spec's NAME and PLATFORMS table, read without running the spec (which needs
    PyInstaller's build classes)."""
    values: dict[str, Any] = {}
    for node in ast.parse(SPEC.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in ("NAME", "PLATFORMS"):
                values[target.id] = ast.literal_eval(node.value)
    return values["NAME"], values["PLATFORMS"]


def platform_key(platform: str = sys.platform) -> str:
    return "linux" if platform.startswith("linux") else platform


def shipped(dist: Path, platform: str = sys.platform) -> tuple[Path, Path]:
    """What the build for ``platform`` ships under ``dist`` (the folder, or the macOS app),
    and its executable."""
    name, platforms = spec_values()
    target = platforms[platform_key(platform)]
    bundle = target["app_bundle"]
    folder = dist / (bundle["name"] if bundle else name)
    return folder, folder / target["executable"]


def disk_usage_bytes(folder: Path) -> int:
    """What ``du -s`` counts: the blocks each file takes once (hard links once, symbolic
    links as links), or the file sizes where the system gives no block counts (Windows)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for path in [folder, *folder.rglob("*")]:
        status = path.lstat()
        if status.st_nlink > 1:
            if (status.st_dev, status.st_ino) in seen:
                continue
            seen.add((status.st_dev, status.st_ino))
        blocks = getattr(status, "st_blocks", None)
        total += blocks * 512 if blocks is not None else status.st_size
    return total


def size_mb(folder: Path) -> int:
    # Rounded up, as `du -m` does: a bundle 1 byte over 120 MB is over.
    return math.ceil(disk_usage_bytes(folder) / 2**20)


def check_budget(dist: Path) -> int:
    folder, _executable = shipped(dist)
    if not folder.is_dir():
        print(f"no bundle at {folder}", file=sys.stderr)
        return 1
    size = size_mb(folder)
    print(f"{folder.name} is {size} MB (budget {BUDGET_MB} MB)")
    if size > BUDGET_MB:
        print(f"the bundle is over its {BUDGET_MB} MB budget", file=sys.stderr)
        return 1
    return 0


def smoke_environment(qpa: str) -> dict[str, str]:
    """This environment with Qt's platform plugin chosen; "native" leaves Qt to choose, as a
    double-click would."""
    environment = dict(os.environ)
    environment.pop("QT_QPA_PLATFORM", None)
    if qpa != "native":
        environment["QT_QPA_PLATFORM"] = qpa
    return environment


def smoke(dist: Path, qpa: str, wrapper: list[str]) -> int:
    """The bundle's own smoke test: its JSON printed, nothing on stderr, exit 0."""
    _folder, executable = shipped(dist)
    report = executable.with_name(SMOKE_REPORT_FILE_NAME)
    report.unlink(missing_ok=True)  # a windowed Windows build writes here: not last run's
    try:
        run = subprocess.run(
            [*wrapper, str(executable), "--smoke-test"],
            env=smoke_environment(qpa),
            capture_output=True,
            text=True,
            timeout=SMOKE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        print(f"the {qpa} smoke test took over {SMOKE_TIMEOUT_S} s", file=sys.stderr)
        return 1
    output = run.stdout if run.stdout.strip() else _read(report)
    print(output.strip())
    problems = smoke_problems(output, run.stderr, run.returncode)
    for problem in problems:
        print(f"the {qpa} smoke test {problem}", file=sys.stderr)
    return 1 if problems else 0


def smoke_problems(output: str, errors: str, exit_code: int) -> list[str]:
    problems = []
    if errors:
        problems.append(f"wrote to stderr:\n{errors}")
    if exit_code != 0:
        problems.append(f"failed with exit code {exit_code}")
    try:
        if json.loads(output).get("ok") is not True:
            problems.append("did not report ok")
    except ValueError:
        problems.append("printed no JSON")
    return problems


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def constraint_lines(exported: str) -> list[str]:
    """``name==version`` lines from ``uv export`` output: without the markers (a constraint
    on a package that is not installed is harmless, and the universal lock pins each name
    once), hashes, URLs, comments, options and the project itself."""
    lines = []
    for line in exported.splitlines():
        requirement = line.split(";")[0].rstrip("\\ ").strip()
        if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[^\s@]+", requirement):
            lines.append(requirement)
    return sorted(set(lines), key=lambda line: line.split("==")[0].lower())


def write_constraints() -> int:
    exported = subprocess.run(
        [
            "uv", "export", "--frozen", "--format", "requirements-txt", "--no-hashes",
            "--no-emit-project", "--no-annotate", "--no-header",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout  # fmt: skip
    CONSTRAINTS.parent.mkdir(exist_ok=True)
    lines = constraint_lines(exported)
    CONSTRAINTS.write_text(CONSTRAINTS_HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{CONSTRAINTS.relative_to(ROOT)}: {len(lines)} packages")
    return 0


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    budget = commands.add_parser("budget", help=f"fail over {BUDGET_MB} MB")
    budget.add_argument("dist", type=Path)
    smoke_ = commands.add_parser(
        "smoke",
        help="run records-desk --smoke-test",
        usage="%(prog)s [-h] dist --qpa QPA [-- COMMAND…]",
        epilog="After --, a command to run it under (xvfb-run …).",
    )
    smoke_.add_argument("dist", type=Path)
    smoke_.add_argument("--qpa", required=True, help="offscreen, xcb… or native")
    commands.add_parser("constraints", help=f"rewrite {CONSTRAINTS.relative_to(ROOT)}")
    return parser


def parse(arguments: list[str]) -> argparse.Namespace:
    """The arguments, with what follows ``--`` as the command to run the smoke test under
    (split off here: argparse gives a subcommand's trailing positionals nothing after ``--``)."""
    wrapper: list[str] = []
    if "--" in arguments:
        split = arguments.index("--")
        arguments, wrapper = arguments[:split], arguments[split + 1 :]
    parsed = parser().parse_args(arguments)
    parsed.wrapper = wrapper
    return parsed


def main(arguments: list[str]) -> int:
    parsed = parse(arguments)
    if parsed.command == "budget":
        return check_budget(parsed.dist)
    if parsed.command == "smoke":
        return smoke(parsed.dist, parsed.qpa, parsed.wrapper)
    return write_constraints()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
