"""What the desktop windows may know of the application besides its records: which
database a run opens (settings and saved-connection choices), the folders and the log it
keeps, where passwords live, how secrets are kept out of text, and what the product is.

ui/ imports these from here and never from app.config or app.core (an import-linter
contract): the engine, sessions and the rest of the core stay behind the services.
"""

from __future__ import annotations

from app.config import (
    Settings,
    SettingsError,
    config_dir,
    load_settings,
    settings_for,
    state_dir,
    use_folders_under,
)
from app.core.about import PRODUCT_NAME, SUMMARY, environment_lines, is_frozen
from app.core.credentials import credentials, keyring_problem
from app.core.files import create_private, make_private_folder, write_private
from app.core.logs import SHOWN_ON_STDERR, configure_logging, log_file, stop_logging
from app.core.redaction import redact

__all__ = [
    "PRODUCT_NAME",
    "SHOWN_ON_STDERR",
    "SUMMARY",
    "Settings",
    "SettingsError",
    "config_dir",
    "configure_logging",
    "create_private",
    "credentials",
    "environment_lines",
    "is_frozen",
    "keyring_problem",
    "load_settings",
    "log_file",
    "make_private_folder",
    "redact",
    "settings_for",
    "state_dir",
    "stop_logging",
    "use_folders_under",
    "write_private",
]
