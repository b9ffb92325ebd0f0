"""The version is the package's own, with no metadata lookup; the environment
lines name the version, Python, the libraries the UI adds, the OS and whether it is a bundle."""

from __future__ import annotations

import importlib.metadata
import platform
import sys

import pytest

import app
from app.core.about import environment_lines


def test_the_version_is_the_installed_distributions() -> None:
    """pyproject.toml takes its version from app/__init__.py: the two cannot differ."""
    assert app.__version__ == importlib.metadata.version("records-desk")


def test_the_environment_lines_name_version_python_libraries_and_os() -> None:
    lines = environment_lines({"Qt": "6.11.3", "PySide6": "6.11.3"})

    assert lines == [
        f"Records Desk {app.__version__}",
        f"Python {platform.python_version()}",
        "Qt 6.11.3",
        "PySide6 6.11.3",
        f"OS: {platform.platform()}",
        "Frozen: no",
    ]


def test_a_bundle_says_it_is_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert environment_lines()[-1] == "Frozen: yes"
    assert not any(line.startswith("Qt") for line in environment_lines())
