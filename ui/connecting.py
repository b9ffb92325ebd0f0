"""Opening a connection from the GUI: its password asked for once per run where needed,
the database opened and its schema made ready with progress, and every way that can fail
turned into a sentence for the user."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, replace

from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from app.desktop import Settings, credentials
from app.services import migrations
from app.services.connection import Database, open_database
from app.services.errors import (
    DatabaseOutdatedError,
    ForeignDatabaseError,
    RecordsDeskError,
)
from app.workspace import Workspace
from ui.messages import finished
from ui.progress import Progress, with_progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Opened:
    """What opening ``settings`` came to: a workspace ready for windows, or why not."""

    settings: Settings
    workspace: Workspace | None
    problem: str = ""


async def open_connection(
    settings: Settings,
    parent: QWidget | None = None,
    *,
    verbose: bool = False,
    read_only: bool = False,
) -> Opened:
    """Open ``settings`` for the windows: asks for a password the run does not know yet,
    upgrades a local file (backed up first) with progress, asks before upgrading a server
    that is behind (or opens it read-only meanwhile), opens another program's database
    read-only (``read_only`` opens any that way). Never raises for what the user or
    the environment did; our own bugs are reported and come back as a problem too."""
    name = settings.display_name
    if settings.password_missing:
        asked = await _ask_password(settings, parent)
        if asked is None:
            return Opened(settings, None, f"No password was given for {name}: not connected.")
        settings = asked
    database: Database | None = None
    try:
        database = open_database(settings, echo=verbose, read_only=read_only)
        progress = Progress(f"Opening {name}…")
        states: list[migrations.SchemaState] = []

        async def prepare(database: Database) -> None:
            states.append(await migrations.prepare_for_use(database, waiting=progress.say))

        if not await with_progress(prepare(database), progress, parent=parent):
            await database.dispose()
            return Opened(settings, None, f"Opening {name} was cancelled.")
        backup = states[0].backup
        if backup is not None:
            database.notices = (
                *database.notices,
                f"{name} was upgraded to this Records Desk's schema; its copy from before "
                f"the upgrade is {backup}.",
            )
    except ForeignDatabaseError as error:
        if database is None or database.read_only:
            return await _failed(settings, database, str(error))
        # Another program's database: browsed read-only, never migrated or written.
        await database.dispose()
        return await open_connection(settings, parent, verbose=verbose, read_only=True)
    except DatabaseOutdatedError as error:
        if database is None or database.is_sqlite or database.read_only:
            return await _failed(settings, database, str(error))
        return await _outdated_server(settings, database, error, parent, verbose=verbose)
    except RecordsDeskError as error:
        return await _failed(settings, database, str(error))
    except Exception as error:
        # Our bug: logged and reported like any other (ui.main.install_exception_hooks).
        sys.excepthook(type(error), error, error.__traceback__)
        return await _failed(settings, database, f"Opening {name} failed; the error is reported.")
    return Opened(settings, Workspace(database))


def unopened(settings: Settings) -> Workspace:
    """A workspace on ``settings`` that could not be opened, for the window to show while
    it offers Connections… and Retry: nothing ever queries it."""
    return Workspace(Database(settings.database_url))


async def _failed(settings: Settings, database: Database | None, problem: str) -> Opened:
    if database is not None:
        await database.dispose()
    return Opened(settings, None, problem)


async def _ask_password(settings: Settings, parent: QWidget | None) -> Settings | None:
    connection = settings.connection
    assert connection is not None
    from ui.dialogs.connections_dialog import PasswordPrompt  # a big dialog most starts never show

    prompt = PasswordPrompt(connection, parent)
    if await finished(prompt) != QDialog.DialogCode.Accepted or not prompt.password:
        return None
    why_not = credentials().remember(
        connection.id, prompt.password, in_keyring=prompt.keep_box.isChecked()
    )
    if why_not is not None:
        log.info("The password is kept for this run only: %s", why_not)
    return replace(settings, database_url=settings.database_url.set(password=prompt.password))


async def _outdated_server(
    settings: Settings,
    database: Database,
    error: DatabaseOutdatedError,
    parent: QWidget | None,
    *,
    verbose: bool,
) -> Opened:
    """A server behind the code may be shared: the user decides whether it is upgraded
    now, or browsed read-only until someone upgrades it."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Upgrade the database?",
        f"{error}\n\nOther people may use this database with an older Records Desk. "
        "Upgrade it now, or open it read-only as it is?",
        QMessageBox.StandardButton.NoButton,
        parent,
    )
    box.setAccessibleName("Upgrade the database?")
    upgrade = box.addButton("&Upgrade now", QMessageBox.ButtonRole.AcceptRole)
    read_only = box.addButton("Open &read-only", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(read_only)
    await finished(box)
    clicked = box.clickedButton()
    name = settings.display_name
    if clicked is upgrade:
        progress = Progress(f"Upgrading {name}…")
        try:
            done = await with_progress(
                migrations.upgrade(database, waiting=progress.say), progress, parent=parent
            )
        except RecordsDeskError as failure:
            return await _failed(settings, database, str(failure))
        if not done:
            return await _failed(settings, database, f"Upgrading {name} was cancelled.")
        return Opened(settings, Workspace(database))
    await database.dispose()
    if clicked is not read_only:
        return Opened(settings, None, f"{name} was not opened: its schema is behind.")
    browsed = open_database(settings, echo=verbose, read_only=True)
    try:
        state = await migrations.schema_state(browsed)
    except RecordsDeskError as failure:
        return await _failed(settings, browsed, str(failure))
    browsed.notices = (
        *browsed.notices,
        f"{name} is open read-only: its schema is behind this Records Desk (revision "
        f"{state.current}, expected {state.head}). Connect to it again to upgrade it.",
    )
    return Opened(settings, Workspace(browsed))
