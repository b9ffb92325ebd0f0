"""The packaging files the bundle tests read: .ci/bundle_check.py (a script, not a package,
so loaded from its path), the workflow and the constraints file."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "bundles.yml"


def bundle_check() -> ModuleType:
    if "bundle_check" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "bundle_check", ROOT / ".ci" / "bundle_check.py"
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bundle_check"] = module
        spec.loader.exec_module(module)
    return sys.modules["bundle_check"]
