"""What a screen reader finds in every window and dialog, read the way one reads it: the
QAccessible tree Qt hands to AT-SPI (Orca), not the widgets' own properties.

Each window is walked and fails on a control (button, edit, combo, check box, spin box,
table, list, tab) with no name and no label, on a widget whose role is not its kind's, on
a combo box without a labelled-by relation (on Linux Qt names a combo by its value: only a
label whose buddy it is gives its field's name), and on a control Tab cannot reach from
where the window opens. The forms open on their first field and Tab follows the layout;
a column the browse window hides is not in its table at all, name or value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtGui import QAccessible, QAccessibleInterface
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QListView,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QTabBar,
    QTableView,
    QTextEdit,
    QToolButton,
    QTreeView,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.connections import SavedConnections
from app.core.database import Database
from app.desktop import Settings
from app.query import ViewState
from app.services import catalog
from app.services.records import RecordService
from app.workspace import Desk, Workspace
from tests.ui.conftest import drain, seed, settle, wait_for
from tests.ui.helpers import open_window, settled
from ui.browse_window import BrowseWindow
from ui.connection_look import ConnectionLook
from ui.dialogs.about_dialog import AboutDialog
from ui.dialogs.connections_dialog import ConnectionsDialog
from ui.dialogs.error_report import ErrorReportDialog
from ui.dialogs.export_dialog import ExportDialog
from ui.dialogs.record_form import RecordFormDialog
from ui.dialogs.transactions import OrderDialog, TransferDialog
from ui.export_settings import ExportSettings
from ui.insights_window import InsightsWindow
from ui.main_window import MainWindow
from ui.record_table_model import RAW_VALUE_ROLE
from ui.window_state import WindowState

Role = QAccessible.Role

# The roles a user acts on: each must be named, by itself or by its label.
INTERACTIVE = {
    Role.PushButton,
    Role.Button,
    Role.ButtonMenu,
    Role.ButtonDropDown,
    Role.CheckBox,
    Role.RadioButton,
    Role.ComboBox,
    Role.EditableText,
    Role.SpinBox,
    Role.Slider,
    Role.Table,
    Role.List,
    Role.Tree,
    Role.PageTab,
}

# The role each kind of widget must have, most specific first. A combo box's line edit
# and a date's spin box are checked as what they are.
ROLES: list[tuple[type[QWidget], set[QAccessible.Role]]] = [
    (QRadioButton, {Role.RadioButton}),
    (QCheckBox, {Role.CheckBox}),
    (QToolButton, {Role.Button, Role.ButtonMenu, Role.ButtonDropDown, Role.PushButton}),
    (QPushButton, {Role.Button, Role.PushButton, Role.ButtonMenu}),
    (QComboBox, {Role.ComboBox}),
    (QDateTimeEdit, {Role.SpinBox}),
    (QAbstractSpinBox, {Role.SpinBox}),
    (QLineEdit, {Role.EditableText}),
    (QPlainTextEdit, {Role.EditableText, Role.StaticText}),
    (QTextEdit, {Role.EditableText, Role.StaticText}),
    (QTableView, {Role.Table}),
    (QTreeView, {Role.Tree, Role.Table}),
    (QListView, {Role.List}),
    (QTabBar, {Role.PageTabList}),
]

# A table's children are its header and cells; a screen reader reads a few, not all.
CHILDREN_READ = 200


@dataclass(frozen=True)
class Node:
    """One element of the accessible tree as a screen reader gets it."""

    role: QAccessible.Role
    name: str
    labelled: bool
    invisible: bool
    widget: QWidget | None

    def __str__(self) -> str:
        kind = type(self.widget).__name__ if self.widget is not None else "item"
        return f"{self.role.name} {kind} {self.name!r}"


def nodes(interface: QAccessibleInterface | None) -> Iterator[Node]:
    """Every element under ``interface``, itself first; what is hidden is left out with
    everything under it, as a screen reader leaves it."""
    if interface is None or not interface.isValid():
        return
    state = interface.state()
    obj = interface.object()
    widget = obj if isinstance(obj, QWidget) else None
    labelled = any(
        relation & QAccessible.RelationFlag.Label for _, relation in interface.relations()
    )
    node = Node(
        interface.role(),
        interface.text(QAccessible.Text.Name),
        labelled,
        bool(state.invisible),
        widget,
    )
    if node.invisible:
        return
    yield node
    for index in range(min(interface.childCount(), CHILDREN_READ)):
        yield from nodes(interface.child(index))


def tree(window: QWidget) -> list[Node]:
    return list(nodes(QAccessible.queryAccessibleInterface(window)))


def problems(window: QWidget) -> list[str]:
    """What a screen reader user would miss in ``window``, in words."""
    found = []
    for node in tree(window):
        if node.widget is not None and not node.widget.isEnabled():
            continue  # read as unavailable; its name is checked when it is usable
        if node.role in INTERACTIVE and not node.name.strip() and not node.labelled:
            found.append(f"no name: {node}")
        if isinstance(node.widget, QComboBox) and not node.labelled:
            found.append(f"no label whose buddy it is: {node}")
        if node.widget is not None:
            expected = _expected_roles(node.widget)
            if expected is not None and node.role not in expected:
                found.append(f"role {node.role.name}, not {sorted(r.name for r in expected)}")
    found.extend(f"Tab never reaches {_described(w)}" for w in unreachable(window))
    return found


def _expected_roles(widget: QWidget) -> set[QAccessible.Role] | None:
    if isinstance(widget, QPushButton | QToolButton) and widget.isCheckable():
        return {Role.CheckBox}  # a toggle: Qt says pressed or not as a check box's state
    for kind, roles in ROLES:
        if isinstance(widget, kind):
            return roles
    return None


def _described(widget: QWidget) -> str:
    return f"{type(widget).__name__} {widget.accessibleName()!r}"


def is_tab_stop(widget: QWidget, window: QWidget) -> bool:
    """Whether Tab stops at ``widget``: the test Qt's own focusNextPrevChild makes."""
    return (
        bool(widget.focusPolicy() & widget.focusPolicy().TabFocus)
        and widget.focusProxy() is None
        and widget.isVisibleTo(window)
        and widget.isEnabled()
        and widget.window() is window
    )


def tab_stops(window: QWidget) -> list[QWidget]:
    """The controls Tab visits, in order, from where the window puts the focus on opening
    (its focus widget, or the first stop of its focus chain)."""
    start = window.focusWidget() or window
    stops: list[QWidget] = []
    widget: QWidget | None = start
    while widget is not None:
        if is_tab_stop(widget, window) and widget not in stops:
            stops.append(widget)
        widget = widget.nextInFocusChain()
        if widget is start:
            break
    return stops


def unreachable(window: QWidget) -> list[QWidget]:
    """The enabled, visible controls that take Tab and that Tab does not visit."""
    reached = tab_stops(window)
    return [
        widget
        for widget in window.findChildren(QWidget)
        if is_tab_stop(widget, window) and widget not in reached
    ]


def assert_readable(window: QWidget) -> None:
    assert problems(window) == [], window.windowTitle()


@pytest.fixture
def opened(qt_loop: asyncio.AbstractEventLoop) -> Iterator[list[QWidget]]:
    """Windows and dialogs a test opened, closed with their work finished."""
    made: list[QWidget] = []
    yield made
    for widget in made:
        if shiboken6.isValid(widget):
            if isinstance(widget, RecordFormDialog):
                widget.discard()
            widget.close()
    drain(qt_loop)


def shown(widget: QWidget, qtbot: QtBot, opened: list[QWidget]) -> QWidget:
    qtbot.addWidget(widget)
    opened.append(widget)
    widget.show()
    return widget


@pytest.fixture
def demo(qt_loop: asyncio.AbstractEventLoop, ui_database: Database) -> Database:
    seed(qt_loop, ui_database, 3)
    return ui_database


# The tree Qt builds does not depend on the engine: one is enough.
sqlite_only = pytest.mark.parametrize("engine_name", ["sqlite"])


@sqlite_only
def test_the_main_window_and_a_browse_window_of_each_kind_are_readable(
    qt_loop: asyncio.AbstractEventLoop,
    demo: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
    opened: list[QWidget],
) -> None:
    async def scenario() -> None:
        main = MainWindow("test database", Desk.on(demo))
        qtbot.addWidget(main)
        main.show()
        await settle()
        assert_readable(main)
        main.close()  # inside the loop: the main window closes in a task of its own
        await wait_for(main.closed)
        for entity in catalog.entities():
            window = open_window(RecordService(demo), windows, qtbot, None, entity.name)
            await settled(window)
            assert_readable(window)

    qt_loop.run_until_complete(scenario())


@sqlite_only
def test_a_hidden_column_is_not_in_the_table_a_screen_reader_reads(
    qt_loop: asyncio.AbstractEventLoop,
    demo: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
) -> None:
    async def scenario() -> None:
        window = open_window(RecordService(demo), windows, qtbot, None, "users")
        model = await settled(window)
        hashed = model.column_index("hashed_password")
        assert window.table.isColumnHidden(hashed)
        secret = model.data(model.index(0, hashed), RAW_VALUE_ROLE)
        assert secret
        read = [node.name for node in tree(window.table)]
        assert "Email" in read
        assert "Hashed password" not in read
        assert not any(secret in text for text in read)

        # Shown from Columns, it is read like any other.
        window.table.setColumnHidden(hashed, False)
        await settle()
        assert "Hashed password" in [node.name for node in tree(window.table)]

    qt_loop.run_until_complete(scenario())


@sqlite_only
@pytest.mark.parametrize("entity", [entity.name for entity in catalog.entities()])
def test_each_record_form_opens_on_its_first_field_and_tabs_down_then_to_save_and_cancel(
    qt_loop: asyncio.AbstractEventLoop,
    demo: Database,
    qtbot: QtBot,
    opened: list[QWidget],
    entity: str,
) -> None:
    async def scenario() -> None:
        form = RecordFormDialog(catalog.entity(entity), RecordService(demo))
        shown(form, qtbot, opened)
        await settle()
        assert_readable(form)
        fields = [editor.widget for editor in form.editors.values() if editor.widget.isEnabled()]
        if form.password_button is not None:
            fields.append(form.password_button)
        fields = sorted(fields, key=lambda widget: widget.mapTo(form, widget.rect().topLeft()).y())
        buttons = [form.buttons.button(QDialogButtonBox.StandardButton.Save)]
        buttons.append(form.buttons.button(QDialogButtonBox.StandardButton.Cancel))
        assert form.focusWidget() is fields[0]
        assert tab_stops(form) == [*fields, *buttons]
        required = [e for e in form.editors.values() if e.column.required]
        for editor in required:
            assert editor.widget.accessibleName() == f"{editor.column.label}, required"

    qt_loop.run_until_complete(scenario())


@sqlite_only
def test_an_edited_record_opens_on_its_first_field_once_loaded(
    qt_loop: asyncio.AbstractEventLoop, demo: Database, qtbot: QtBot, opened: list[QWidget]
) -> None:
    async def scenario() -> None:
        form = RecordFormDialog(catalog.entity("posts"), RecordService(demo), 1)
        shown(form, qtbot, opened)
        await settle()
        assert form.focusWidget() is form.editors["title"].widget
        assert_readable(form)

    qt_loop.run_until_complete(scenario())


@sqlite_only
def test_the_transfer_and_order_dialogs_are_readable(
    qt_loop: asyncio.AbstractEventLoop, demo: Database, qtbot: QtBot, opened: list[QWidget]
) -> None:
    async def scenario() -> None:
        for dialog in (TransferDialog(Workspace(demo)), OrderDialog(Workspace(demo))):
            shown(dialog, qtbot, opened)
            await settle()
            assert_readable(dialog)
            first = next(iter(dialog.editors.values())).widget
            assert tab_stops(dialog)[0] is first

    qt_loop.run_until_complete(scenario())


@sqlite_only
def test_insights_and_frequency_windows_are_readable(
    qt_loop: asyncio.AbstractEventLoop,
    demo: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
    opened: list[QWidget],
) -> None:
    async def scenario() -> None:
        insights = InsightsWindow(
            Desk.on(demo), dict, WindowState(), ConnectionLook.of(None, Workspace(demo))
        )
        shown(insights, qtbot, opened)
        await settle()
        assert_readable(insights)

        window = open_window(RecordService(demo), windows, qtbot, None, "orders")
        await settled(window)
        frequency = window.open_frequency("status")
        await settle()
        assert_readable(frequency)

    qt_loop.run_until_complete(scenario())


async def _no_switch(_settings: Settings) -> str | None:
    return None


def test_export_connections_about_and_error_report_dialogs_are_readable(
    qt_loop: asyncio.AbstractEventLoop, qtbot: QtBot, opened: list[QWidget], tmp_path: Path
) -> None:
    async def scenario() -> None:
        made: list[QDialog] = [
            ExportDialog(
                ViewState("users", columns=("id", "email", "name")), "5", 2, ExportSettings()
            ),
            ConnectionsDialog(SavedConnections(), _no_switch),
            AboutDialog("SQLite file /data/shop.db", tmp_path),
            ErrorReportDialog("Records Desk"),
        ]
        for dialog in made:
            shown(dialog, qtbot, opened)
            await settle()
            assert_readable(dialog)

    qt_loop.run_until_complete(scenario())
