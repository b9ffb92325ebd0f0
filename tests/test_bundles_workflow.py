"""The Windows, macOS and Linux bundles' workflow, which cannot run here: checked for what it
must do (its shape against GitHub's schema is .ci/run's check-jsonschema line)."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.bundles import ROOT, WORKFLOW, bundle_check


@pytest.fixture(scope="module")
def job() -> dict[str, Any]:
    workflow = YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))
    jobs: dict[str, dict[str, Any]] = workflow["jobs"]
    assert list(jobs) == ["bundle"]
    return jobs["bundle"]


def steps_running(job: dict[str, Any], words: str) -> list[dict[str, Any]]:
    return [step for step in job["steps"] if words in step.get("run", "")]


def test_it_builds_on_windows_x64_both_macs_and_linux(job: dict[str, Any]) -> None:
    runners = {entry["name"]: entry["runner"] for entry in job["strategy"]["matrix"]["include"]}

    # macos-14 and later are Apple Silicon; macos-15-intel is GitHub's last Intel image
    # (macos-13 is retired). Both are at or above the macOS 13 that PySide6's wheels need.
    assert runners == {
        "Linux x64": "ubuntu-22.04",
        "Windows x64": "windows-2022",
        "macOS arm64": "macos-14",
        "macOS Intel": "macos-15-intel",
    }
    assert job["runs-on"] == "${{ matrix.runner }}"
    assert job["strategy"]["fail-fast"] is False  # one system's failure hides no other's


def test_it_installs_the_versions_ci_tested(job: dict[str, Any]) -> None:
    (install,) = steps_running(job, "uv pip install")
    assert "--constraint constraints/bundle.txt" in install["run"]
    assert (ROOT / "constraints" / "bundle.txt").is_file()
    assert not steps_running(job, "uv sync")  # which would resolve afresh, uv.lock being local


def test_it_builds_with_the_spec_then_checks_the_budget_then_smoke_tests(
    job: dict[str, Any],
) -> None:
    runs = [step.get("run", "") for step in job["steps"]]
    build = next(i for i, run in enumerate(runs) if "pyinstaller build.spec" in run)
    budget = runs.index("uv run --no-sync python .ci/bundle_check.py budget dist")
    smoke = runs.index("uv run --no-sync python .ci/bundle_check.py smoke dist --qpa offscreen")
    desktop = next(i for i, run in enumerate(runs) if "${{ matrix.desktop_smoke }}" in run)

    assert build < budget < smoke < desktop
    for step in (budget, smoke, desktop):
        assert "if" not in job["steps"][step]  # on every system, signed or not


def test_the_budget_is_the_one_ci_run_checks() -> None:
    ci_run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")

    assert ".ci/bundle_check.py budget" in ci_run
    assert "du -sm" not in ci_run  # the old copy of the check is gone
    assert bundle_check().BUDGET_MB == 120


@pytest.mark.parametrize("entry", range(4))
def test_every_desktop_smoke_test_parses(job: dict[str, Any], entry: int) -> None:
    options = job["strategy"]["matrix"]["include"][entry]["desktop_smoke"]
    arguments = ["smoke", "dist", *shlex.split(options)]

    parsed = bundle_check().parse(arguments)

    assert parsed.qpa in {"xcb", "native"}
    assert parsed.wrapper[:1] in ([], ["xvfb-run"])


def test_signing_steps_run_only_where_their_secrets_exist(job: dict[str, Any]) -> None:
    signing = [step for step in job["steps"] if "secrets." in str(step.get("env", {}))]

    assert {step["name"] for step in signing} == {
        "Sign (Windows)",
        "Sign (macOS)",
        "Notarize (macOS)",
    }
    for step in signing:
        guard = step["if"]
        flag = guard.split("env.")[1].split()[0]
        assert guard.endswith(f"env.{flag} != ''")
        assert "secrets." in job["env"][flag]
    # The secrets themselves reach only the signing steps.
    for key, value in job["env"].items():
        assert value.endswith("&& 'yes' || '' }}"), key


def test_every_environment_value_is_an_expression(job: dict[str, Any]) -> None:
    # Secrets come from the repository's settings, never from this file.
    environments = [job["env"], *(step.get("env", {}) for step in job["steps"])]
    for environment in environments:
        for name, value in environment.items():
            assert value.startswith("${{ "), name
            assert value.endswith(" }}"), name
