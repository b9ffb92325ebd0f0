"""Records Desk: the data layer, services and command line (no Qt here)."""

# The one place the version is written: pyproject.toml reads it from here (hatch's dynamic
# version), so the package metadata, the bundle and Help → About agree, and no start pays
# for a metadata lookup.
__version__ = "0.1.0"
