"""Opening the chosen database, for the GUI and the command line alike."""

from __future__ import annotations

from app.config import Settings, SettingsSource
from app.core.database import Database
from app.services.errors import DatabaseUnavailableError


def open_database(settings: Settings, *, echo: bool = False) -> Database:
    """The Database for the chosen settings; the default local file's folder is created."""
    path = settings.sqlite_path
    if path is not None and settings.source is SettingsSource.DEFAULT:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnavailableError(
                f"Cannot create the folder {path.parent} for the local database: {error.strerror}."
            ) from None
    return Database(settings.database_url, echo=echo)


__all__ = ["Database", "open_database"]
