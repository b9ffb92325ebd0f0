"""Records Desk: the data layer, services and command line (no Qt here)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION_NAME = "records-desk"
UNKNOWN_VERSION = "unknown"


def installed_version(distribution: str = DISTRIBUTION_NAME) -> str:
    """The version the installed metadata names, or "unknown" where there is none (a
    bundle built without PyInstaller's copy_metadata, a source tree never installed)."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return UNKNOWN_VERSION


__version__ = installed_version()
