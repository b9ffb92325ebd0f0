"""File → Connections…: the saved connections, each a local file or a server, with Test
connection and Connect; and the prompt that asks for a server's password once per run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.connections import (
    DEFAULT_PORT,
    MAX_CONNECT_TIMEOUT_S,
    MIN_CONNECT_TIMEOUT_S,
    ConnectionKind,
    PasswordStorage,
    SavedConnection,
    SavedConnections,
    SslMode,
    new_connection_id,
    save_connections,
)
from app.desktop import Settings, SettingsError, credentials, settings_for
from app.services.connection import check_connection, expanded_path
from app.services.errors import RecordsDeskError
from ui.first_run import SQLITE_FILTER
from ui.tasks import spawn
from ui.widgets.field_editors import with_problem_label

# Connect: try the Settings; None when the windows now show it, else why not in words.
Connector = Callable[[Settings], Awaitable[str | None]]

_STORAGE_LABELS = {
    PasswordStorage.KEYRING: "Save in the system keyring",
    PasswordStorage.ASK: "Ask once each time Records Desk starts",
    PasswordStorage.NONE: "No password (the server does not ask for one)",
}
_SSL_LABELS = {
    SslMode.DISABLE: "Off",
    SslMode.PREFER: "When the server offers it",
    SslMode.REQUIRE: "Required",
    SslMode.VERIFY_CA: "Required, certificate checked",
    SslMode.VERIFY_FULL: "Required, certificate and host name checked",
}


class ConnectionsDialog(QDialog):
    # Save (or Connect) wrote the list: the SavedConnections.
    saved = Signal(object)
    # Test connection ended: what it says.
    tested = Signal(str)

    def __init__(
        self,
        saved: SavedConnections,
        connect: Connector,
        parent: QWidget | None = None,
        *,
        current_id: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connections")
        self.setAccessibleName("Connections")
        self.resize(760, 520)
        self._connect = connect
        self._list = saved
        self._drafts: dict[str, SavedConnection] = {c.id: c for c in saved.connections}
        self._order: list[str] = [c.id for c in saved.connections]
        self._passwords: dict[str, str] = {}
        self._showing = False
        self._dirty = False
        self._task: asyncio.Task[str | None] | None = None
        self.message: QMessageBox | None = None

        self.connection_list = QListWidget(self)
        self.connection_list.setAccessibleName("Saved connections")
        self.connection_list.currentRowChanged.connect(self.on_connection_list_current_row_changed)
        self.add_file_button = QPushButton("Add local file", self)
        self.add_file_button.clicked.connect(lambda: self.add(ConnectionKind.FILE))
        self.add_server_button = QPushButton("Add server", self)
        self.add_server_button.clicked.connect(lambda: self.add(ConnectionKind.SERVER))
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.clicked.connect(self.remove_current)
        left = QVBoxLayout()
        left.addWidget(self.connection_list, 1)
        for button in (self.add_file_button, self.add_server_button, self.remove_button):
            button.setAccessibleName(button.text())
            left.addWidget(button)

        self.problem_labels: dict[str, QLabel] = {}
        form = QFormLayout()
        self.name_edit = self._line("Name", "name")
        form.addRow("&Name:", self._with_problem("Name", "name", self.name_edit))
        self.file_radio = QRadioButton("&Local file", self)
        self.server_radio = QRadioButton("&Server", self)
        kinds = QHBoxLayout()
        kinds.addWidget(self.file_radio)
        kinds.addWidget(self.server_radio)
        kinds.addStretch(1)
        self.file_radio.toggled.connect(self.on_kind_toggled)
        form.addRow("Kind:", kinds)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self._file_page())
        self.pages.addWidget(self._server_page())
        form.addRow(self.pages)
        self.colour_button = QPushButton("Choose…", self)
        self.colour_button.setAccessibleName("Colour")
        self.colour_button.clicked.connect(self.on_colour_button_clicked)
        self.no_colour_button = QPushButton("None", self)
        self.no_colour_button.setAccessibleName("No colour")
        self.no_colour_button.clicked.connect(lambda: self.set_colour(""))
        colours = QHBoxLayout()
        colours.addWidget(self.colour_button)
        colours.addWidget(self.no_colour_button)
        colours.addStretch(1)
        form.addRow("Colour:", colours)
        self.read_only_box = QCheckBox("&Read-only: no window can change anything", self)
        self.read_only_box.setAccessibleName("Read-only")
        self.read_only_box.toggled.connect(self.on_edited)
        form.addRow(self.read_only_box)
        self.allow_editing_box = QCheckBox(
            "Allow &editing when it is another program's database", self
        )
        self.allow_editing_box.setAccessibleName("Allow editing of another program's database")
        self.allow_editing_box.setToolTip(
            "Off, a database Records Desk did not make opens read-only. On, its rows can be "
            "created, edited and deleted; each save checks that nobody changed the row meanwhile."
        )
        self.allow_editing_box.toggled.connect(self.on_edited)
        self.read_only_box.toggled.connect(self.allow_editing_box.setDisabled)
        form.addRow(self.allow_editing_box)
        self.details = QWidget(self)
        self.details.setLayout(form)

        self.status_label = QLabel(self)
        self.status_label.setAccessibleName("Connection status")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(self)
        self.test_button = buttons.addButton(
            "&Test connection", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.test_button.clicked.connect(self.on_test_button_clicked)
        self.connect_button = buttons.addButton("&Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.connect_button.setDefault(True)
        self.connect_button.clicked.connect(self.on_connect_button_clicked)
        self.save_button = buttons.addButton(QDialogButtonBox.StandardButton.Save)
        self.save_button.clicked.connect(self.on_save_button_clicked)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.clicked.connect(self.reject)
        for button in (self.test_button, self.connect_button, self.save_button, self.close_button):
            button.setAccessibleName(button.text().replace("&", ""))

        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addWidget(self.details, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(columns, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(buttons)

        for connection_id in self._order:
            self.connection_list.addItem(self._item(self._drafts[connection_id]))
        first = self._order.index(current_id) if current_id in self._order else 0
        self.connection_list.setCurrentRow(first)

    # -- building ----------------------------------------------------------------------------

    def _line(self, label: str, name: str, *, password: bool = False) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setAccessibleName(label)
        if password:
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.textEdited.connect(self.on_edited)
        return edit

    def _with_problem(self, label: str, name: str, widget: QWidget) -> QWidget:
        holder, self.problem_labels[name] = with_problem_label(label, widget)
        return holder

    def _file_page(self) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.path_edit = self._line("Database file", "path")
        browse = QPushButton("&Browse…", page)
        browse.setAccessibleName("Browse…")
        browse.clicked.connect(self.on_browse_button_clicked)
        new = QPushButton("Ne&w…", page)
        new.setAccessibleName("New…")
        new.clicked.connect(self.on_new_button_clicked)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        row.addWidget(new)
        holder = QWidget(page)
        holder.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        form.addRow("&File:", self._with_problem("Database file", "path", holder))
        self.recent_box = QComboBox(page)
        self.recent_box.setAccessibleName("Recent files")
        self.recent_box.addItem("Recent files…")
        for path in self._list.recent_files:
            self.recent_box.addItem(path, path)
        self.recent_box.setEnabled(bool(self._list.recent_files))
        self.recent_box.activated.connect(self.on_recent_box_activated)
        form.addRow("", self.recent_box)
        self.file_dialog: QFileDialog | None = None
        return page

    def _server_page(self) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.host_edit = self._line("Host", "host")
        form.addRow("&Host:", self._with_problem("Host", "host", self.host_edit))
        self.port_box = QSpinBox(page)
        self.port_box.setAccessibleName("Port")
        self.port_box.setRange(1, 65_535)
        self.port_box.setValue(DEFAULT_PORT)
        self.port_box.valueChanged.connect(self.on_edited)
        form.addRow("&Port:", self.port_box)
        self.database_edit = self._line("Database", "database")
        form.addRow("&Database:", self._with_problem("Database", "database", self.database_edit))
        self.user_edit = self._line("User", "user")
        form.addRow("&User:", self.user_edit)
        self.password_edit = self._line("Password", "password", password=True)
        form.addRow("Pass&word:", self.password_edit)
        self.storage_box = QComboBox(page)
        self.storage_box.setAccessibleName("Keep the password")
        for storage, label in _STORAGE_LABELS.items():
            self.storage_box.addItem(label, storage)
        problem = credentials().keyring_problem
        if problem is not None:
            # The keyring choice stays listed, as a saved choice may name it, but says
            # what it does here: the password is kept in memory for this run only.
            self.storage_box.setItemText(
                0, "Keep until Records Desk closes (no system keyring here)"
            )
            self.storage_box.setItemData(0, problem, Qt.ItemDataRole.ToolTipRole)
        self.storage_box.currentIndexChanged.connect(self.on_edited)
        form.addRow("Password is:", self.storage_box)
        self.ssl_box = QComboBox(page)
        self.ssl_box.setAccessibleName("Encryption (SSL)")
        for mode, label in _SSL_LABELS.items():
            self.ssl_box.addItem(label, mode)
        self.ssl_box.currentIndexChanged.connect(self.on_edited)
        form.addRow("&Encryption:", self.ssl_box)
        self.timeout_box = QSpinBox(page)
        self.timeout_box.setAccessibleName("Connect timeout")
        self.timeout_box.setRange(MIN_CONNECT_TIMEOUT_S, MAX_CONNECT_TIMEOUT_S)
        self.timeout_box.setSuffix(" s")
        self.timeout_box.valueChanged.connect(self.on_edited)
        form.addRow("Connect &timeout:", self.timeout_box)
        return page

    def _item(self, connection: SavedConnection) -> QListWidgetItem:
        item = QListWidgetItem(connection.name or "(no name)")
        item.setData(Qt.ItemDataRole.UserRole, connection.id)
        item.setToolTip(connection.description if connection.problems() == {} else "")
        pixmap = QPixmap(12, 12)
        pixmap.fill(QColor(connection.colour) if connection.colour else Qt.GlobalColor.transparent)
        item.setIcon(QIcon(pixmap))
        return item

    # -- the connection shown ---------------------------------------------------------------

    @property
    def current_id(self) -> str | None:
        row = self.connection_list.currentRow()
        return self._order[row] if 0 <= row < len(self._order) else None

    def current(self) -> SavedConnection | None:
        """The shown connection as its fields now say."""
        connection_id = self.current_id
        return self._drafts.get(connection_id) if connection_id is not None else None

    def on_connection_list_current_row_changed(self, _row: int) -> None:
        connection = self.current()
        self.details.setEnabled(connection is not None)
        self.remove_button.setEnabled(connection is not None and len(self._order) > 1)
        if connection is not None:
            self._show(connection)
        self.status_label.clear()

    def _show(self, connection: SavedConnection) -> None:
        self._showing = True
        try:
            self.name_edit.setText(connection.name)
            self.file_radio.setChecked(connection.is_file)
            self.server_radio.setChecked(not connection.is_file)
            self.pages.setCurrentIndex(0 if connection.is_file else 1)
            self.path_edit.setText(connection.path)
            self.host_edit.setText(connection.host)
            self.port_box.setValue(connection.port)
            self.database_edit.setText(connection.database)
            self.user_edit.setText(connection.user)
            self.password_edit.setText(self._passwords.get(connection.id, ""))
            known = connection.id in self._passwords or credentials().get(connection.id)
            self.password_edit.setPlaceholderText("(kept: type to replace it)" if known else "")
            self.storage_box.setCurrentIndex(self.storage_box.findData(connection.password_storage))
            self.ssl_box.setCurrentIndex(self.ssl_box.findData(connection.ssl_mode))
            self.timeout_box.setValue(connection.connect_timeout_s)
            self.read_only_box.setChecked(connection.read_only)
            self.allow_editing_box.setChecked(connection.allow_editing)
            self.allow_editing_box.setDisabled(connection.read_only)
            self._show_colour(connection.colour)
            self._show_problems({})
        finally:
            self._showing = False

    def _show_colour(self, colour: str) -> None:
        pixmap = QPixmap(16, 16)
        pixmap.fill(QColor(colour) if colour else Qt.GlobalColor.transparent)
        self.colour_button.setIcon(QIcon(pixmap))
        self.colour_button.setToolTip(colour or "No colour")
        self.no_colour_button.setEnabled(bool(colour))

    def _from_fields(self, connection: SavedConnection) -> SavedConnection:
        return replace(
            connection,
            name=self.name_edit.text(),
            kind=ConnectionKind.FILE if self.file_radio.isChecked() else ConnectionKind.SERVER,
            path=_typed_path(self.path_edit.text()),
            host=self.host_edit.text().strip(),
            port=self.port_box.value(),
            database=self.database_edit.text().strip(),
            user=self.user_edit.text().strip(),
            password_storage=PasswordStorage(self.storage_box.currentData()),
            ssl_mode=SslMode(self.ssl_box.currentData()),
            connect_timeout_s=self.timeout_box.value(),
            read_only=self.read_only_box.isChecked(),
            allow_editing=self.allow_editing_box.isChecked(),
        )

    def on_edited(self, *_: object) -> None:
        connection = self.current()
        if self._showing or connection is None:
            return
        draft = self._from_fields(connection)
        self._drafts[draft.id] = draft
        if self.password_edit.text():
            self._passwords[draft.id] = self.password_edit.text()
        self._dirty = True
        item = self.connection_list.currentItem()
        if item is not None:
            item.setText(draft.name or "(no name)")

    def on_kind_toggled(self, file: bool) -> None:
        self.pages.setCurrentIndex(0 if file else 1)
        self.on_edited()

    def set_colour(self, colour: str) -> None:
        connection = self.current()
        if connection is None:
            return
        self._drafts[connection.id] = replace(connection, colour=colour)
        self._dirty = True
        self._show_colour(colour)
        row = self.connection_list.currentRow()
        self.connection_list.item(row).setIcon(self._item(self._drafts[connection.id]).icon())

    def on_colour_button_clicked(self) -> None:
        connection = self.current()
        start = QColor(connection.colour) if connection and connection.colour else QColor("#1e88e5")
        dialog = QColorDialog(start, self)
        dialog.setAccessibleName("Connection colour")
        dialog.colorSelected.connect(lambda colour: self.set_colour(colour.name()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    # -- files -------------------------------------------------------------------------------

    def _folder(self) -> str:
        text = self.path_edit.text().strip()
        return str(expanded_path(text).parent) if text else str(Path.home())

    def on_browse_button_clicked(self) -> None:
        dialog = QFileDialog(self, "Choose a database file", self._folder(), SQLITE_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        self._open_file_dialog(dialog, create=False)

    def on_new_button_clicked(self) -> None:
        dialog = QFileDialog(self, "New database file", self._folder(), SQLITE_FILTER)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("db")
        self._open_file_dialog(dialog, create=True)

    def _open_file_dialog(self, dialog: QFileDialog, *, create: bool) -> None:
        dialog.setAccessibleName(dialog.windowTitle())
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda name: self.choose_file(name, create=create))
        self.file_dialog = dialog
        dialog.open()

    def choose_file(self, name: str, *, create: bool = False) -> None:
        """Use the file ``name``; with ``create``, a new empty one is made there (an
        existing file is kept as it is: it is opened, never emptied)."""
        path = expanded_path(name).absolute()
        if create and not path.exists():
            try:
                path.touch(exist_ok=True)
            except OSError as error:
                self._show_problems({"path": f"Cannot make {path}: {error.strerror}."})
                return
        self.path_edit.setText(str(path))
        connection = self.current()
        if connection is not None and not self.name_edit.text().strip():
            self.name_edit.setText(path.name)
        self.on_edited()

    def on_recent_box_activated(self, index: int) -> None:
        path = self.recent_box.itemData(index)
        if isinstance(path, str):
            self.choose_file(path)
        self.recent_box.setCurrentIndex(0)

    # -- the list ----------------------------------------------------------------------------

    def add(self, kind: ConnectionKind) -> SavedConnection:
        """A new connection of ``kind``, shown for the user to fill in."""
        connection = SavedConnection(
            id=new_connection_id(),
            name="",
            kind=kind,
            host="localhost" if kind is ConnectionKind.SERVER else "",
        )
        self._drafts[connection.id] = connection
        self._order.append(connection.id)
        self.connection_list.addItem(self._item(connection))
        self.connection_list.setCurrentRow(len(self._order) - 1)
        self._dirty = True
        self.name_edit.setFocus()
        return connection

    def remove_current(self) -> None:
        row = self.connection_list.currentRow()
        if not 0 <= row < len(self._order) or len(self._order) == 1:
            return
        removed = self._order.pop(row)
        self._drafts.pop(removed, None)
        self._passwords.pop(removed, None)
        self.connection_list.takeItem(row)
        self._dirty = True

    # -- checking, saving, connecting ---------------------------------------------------------

    def _problems(self, connection: SavedConnection) -> dict[str, str]:
        problems = connection.problems()
        others = [self._drafts[i] for i in self._order if i != connection.id]
        if "name" not in problems and any(
            other.name.strip().casefold() == connection.name.strip().casefold() for other in others
        ):
            problems["name"] = "Another saved connection has this name."
        return problems

    def _show_problems(self, problems: dict[str, str]) -> None:
        for name, label in self.problem_labels.items():
            label.setText(problems.get(name, ""))
            label.setVisible(name in problems)
        if problems:
            self.status_label.setText("Correct the fields marked, then try again.")

    def _checked(self) -> SavedConnections | None:
        """The list as the fields say, or None (the first connection with a problem shown,
        its problems beside its fields)."""
        # The connection shown first: its problems are the ones the user is looking at.
        shown = self.current_id
        for connection_id in sorted(self._order, key=lambda i: i != shown):
            problems = self._problems(self._drafts[connection_id])
            if problems:
                self.connection_list.setCurrentRow(self._order.index(connection_id))
                self._show_problems(problems)
                return None
        self._show_problems({})
        connections = tuple(self._drafts[i] for i in self._order)
        current = self._list.current if self._list.current in self._order else self._order[0]
        return replace(self._list, connections=connections, current=current)

    def save(self) -> SavedConnections | None:
        """Write the list and keep the passwords typed; None when something is wrong (it
        is shown, and everything typed stays)."""
        checked = self._checked()
        if checked is None:
            return None
        try:
            save_connections(checked)
        except (OSError, SettingsError) as error:
            reason = error.strerror if isinstance(error, OSError) else str(error)
            self.status_label.setText(f"The connections could not be saved: {reason}")
            return None
        notes = []
        store = credentials()
        for connection in checked.connections:
            if not connection.needs_password:
                store.forget(connection.id)
            elif connection.id in self._passwords:
                why_not = store.remember(
                    connection.id,
                    self._passwords[connection.id],
                    in_keyring=connection.password_storage is PasswordStorage.KEYRING,
                )
                if why_not and connection.password_storage is PasswordStorage.KEYRING:
                    notes.append(
                        f"The password of {connection.name} is kept until Records Desk "
                        f"closes: {why_not}."
                    )
        removed = {c.id for c in self._list.connections} - set(self._order)
        for connection_id in removed:
            store.forget(connection_id)
        self._list = checked
        self._dirty = False
        self.status_label.setText(" ".join(notes) or "Saved.")
        self.saved.emit(checked)
        return checked

    def on_save_button_clicked(self) -> None:
        self.save()

    def _settings(self, connection: SavedConnection) -> Settings:
        settings = settings_for(connection)
        typed = self._passwords.get(connection.id)
        if typed and connection.needs_password:
            settings = replace(settings, database_url=settings.database_url.set(password=typed))
        return settings

    def on_test_button_clicked(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            return
        connection = self.current()
        if connection is None:
            return
        problems = self._problems(connection)
        self._show_problems(problems)
        if problems:
            return
        # Said at once: the test itself starts on the loop's next turn.
        self.test_button.setText("S&top test")
        self.status_label.setText(f"Connecting to {connection.description}…")
        self._task = spawn(self.test(connection), name="test connection")

    async def test(self, connection: SavedConnection) -> str:
        """Connect to ``connection`` as its fields say; what the status line then says."""
        self.test_button.setText("S&top test")
        self.status_label.setText(f"Connecting to {connection.description}…")
        try:
            report = await check_connection(self._settings(connection))
            text = report.summary
        except RecordsDeskError as error:
            text = str(error)
        except asyncio.CancelledError:
            text = "Test stopped."
        finally:
            self.test_button.setText("&Test connection")
        self.status_label.setText(text)
        self.tested.emit(text)
        return text

    def on_connect_button_clicked(self) -> None:
        self._task = spawn(self.connect_current(), name="connect")

    async def connect_current(self) -> str | None:
        """Save, then switch every window to the shown connection; the dialog closes when
        that worked and says why not (staying open) when it did not."""
        connection = self.current()
        if connection is None:
            return None
        saved = self.save()
        if saved is None:
            return self.status_label.text()
        self._set_busy(True)
        self.status_label.setText(f"Opening {connection.description}…")
        try:
            problem = await self._connect(self._settings(connection))
        finally:
            self._set_busy(False)
        if problem is None:
            self._list = replace(self._list, current=connection.id)
            self.accept()
            return None
        self.status_label.setText(problem)
        return problem

    def _set_busy(self, busy: bool) -> None:
        for button in (self.connect_button, self.save_button, self.test_button):
            button.setEnabled(not busy)

    def reject(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if not self._dirty:
            super().reject()
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Save the connections?",
            "The connections have changes that are not saved.",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setAccessibleName("Save the connections?")
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        box.finished.connect(lambda _result: self._on_close_box_finished(box))
        self.message = box
        box.open()

    def _on_close_box_finished(self, box: QMessageBox) -> None:
        clicked = box.standardButton(box.clickedButton())
        if clicked == QMessageBox.StandardButton.Discard:
            self._dirty = False
            super().reject()
        elif clicked == QMessageBox.StandardButton.Save and self.save() is not None:
            super().reject()


class PasswordPrompt(QDialog):
    """Asks for a server's password, once per run; offers to keep it in the keyring."""

    def __init__(self, connection: SavedConnection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Password")
        self.setAccessibleName("Password")
        who = f"{connection.user} on " if connection.user else ""
        label = QLabel(f"The password of {who}{connection.host} ({connection.name}):", self)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        self.password_edit = QLineEdit(self)
        self.password_edit.setAccessibleName("Password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.keep_box = QCheckBox("&Save it in the system keyring", self)
        self.keep_box.setAccessibleName("Save it in the system keyring")
        problem = credentials().keyring_problem
        keyring_chosen = connection.password_storage is PasswordStorage.KEYRING
        self.keep_box.setChecked(keyring_chosen and problem is None)
        self.keep_box.setEnabled(problem is None)
        if problem is not None:
            self.keep_box.setToolTip(f"It is kept until Records Desk closes: {problem}.")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.password_edit)
        layout.addWidget(self.keep_box)
        layout.addWidget(buttons)

    @property
    def password(self) -> str:
        return self.password_edit.text()


def _typed_path(text: str) -> str:
    """The file a typed path names, kept with ``~`` expanded: ``~/shop.db`` is the file in
    the home folder, as in a shell, not a folder named "~"."""
    typed = text.strip()
    return str(expanded_path(typed)) if typed else ""


__all__ = ["ConnectionsDialog", "Connector", "PasswordPrompt"]
