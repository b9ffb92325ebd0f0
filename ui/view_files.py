"""Views saved as files (app/saved_views.py) from a browse window, and opened again from
the main window: File → Open view…, the Views menu of the views folder's files, or a
file dropped on the main window."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QWidget

from app.query import Range, ViewState
from app.saved_views import (
    SUFFIX,
    OpenedView,
    SavedView,
    typed_filters,
    views_folder,
    write_view,
)
from app.services.errors import RecordsDeskError
from ui.messages import chosen_file, save_file_dialog, show_message
from ui.widgets import filter_values
from ui.widgets.filter_values import matching_period

if TYPE_CHECKING:
    from ui.browse_window import BrowseWindow
    from ui.connection_look import ConnectionLook

KINDS = f"Saved views (*{SUFFIX});;All files (*)"


def connection_name(look: ConnectionLook) -> str:
    """The saved connection's name a view file names; "" for a database opened without
    one (its description would say where it is)."""
    return look.name if look.name != look.description else ""


def saved_view_of(window: BrowseWindow, connection: str, *, widths: bool = True) -> SavedView:
    """What ``window`` shows, as a view file keeps it: a date range that is one of the
    periods today ("Last 7 days") kept as that period, the visible columns' widths (with
    ``widths``; only the ones the user chose otherwise)."""
    view = window.view
    today = filter_values.today()
    periods = {
        place: period.name
        for place, filter_ in enumerate(view.spec.filters)
        if isinstance(filter_, Range) and (period := matching_period(filter_, today)) is not None
    }
    header = window.table.horizontalHeader()
    names = window.entity.column_names
    sized = {
        name: header.sectionSize(names.index(name))
        for name in view.columns
        if name in names and header.sectionSize(names.index(name)) > 0
    }
    chosen = sized if widths or window.widths_chosen else {}
    return SavedView(view, chosen, connection, periods)


async def save_view(window: BrowseWindow, connection: str) -> Path | None:
    """Save view…: the file chosen (a name in the views folder proposed), written whole;
    None when cancelled or refused (said in a message)."""
    folder = views_folder()
    proposed = folder / f"{window.entity.name}{SUFFIX}"
    dialog = save_file_dialog(window, "Save view", proposed, KINDS)
    dialog.setDefaultSuffix(SUFFIX.lstrip("."))
    path = await chosen_file(dialog)
    if path is None:
        return None
    try:
        write_view(path, saved_view_of(window, connection))
    except RecordsDeskError as error:
        await show_message(window, "Save view", str(error))
        return None
    window.tell(f"Saved the view as {path}.", 8000)
    return path


def open_view_dialog(parent: QWidget) -> QFileDialog:
    folder = views_folder()
    dialog = QFileDialog(parent, "Open view", str(folder if folder.is_dir() else Path.home()))
    dialog.setAccessibleName("Open view")
    dialog.setNameFilter(KINDS)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    return dialog


def view_to_show(opened: OpenedView, window: BrowseWindow) -> ViewState:
    """The view a window opened on a saved view shows: its filters' values typed as the
    filter bar holds them, its columns (the window's own when it names none)."""
    view = opened.saved.view
    known = window.desk.workspace.catalog
    spec = replace(view.spec, filters=typed_filters(view, known))
    return ViewState(view.entity, spec, view.columns or window.view.columns)
