"""The record form: create a record of any kind, or edit one, with an editor per column
made from the catalog and every refusal shown beside its field.

Nothing the user typed is lost: the form stays open with its contents until a save
succeeds or the user chooses to discard them (Esc, Cancel or closing a changed form asks
first). A save names the version the form was opened at, so a record someone else changed
meanwhile is refused rather than overwritten.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.services.catalog import ColumnInfo, EntityInfo
from app.services.errors import (
    DuplicateInTrashError,
    EditConflictError,
    FieldValuesError,
    InTrashError,
    RecordsDeskError,
)
from app.services.intents import new_token
from app.services.merging import FieldConflict, merge
from app.services.records import Record, RecordService
from app.services.row_edits import key_of
from app.services.validation import PASSWORD_MIN_CHARS
from ui.column_looks import display_text
from ui.messages import finished
from ui.tasks import spawn
from ui.widgets.field_editors import FieldEditor, Invalid, add_field_row, editor_for

TITLE_CHARS = 80


class RecordFormDialog(QDialog):
    # The record as stored after a save (a Record dict).
    saved = Signal(object)
    # A save or a load ended with this message shown (for tests and the status bar).
    refused = Signal(str)
    # The record to edit has loaded into the fields.
    loaded = Signal()
    # A record in the trash holding a unique value was restored from here (its Record).
    restored = Signal(object)

    def __init__(
        self,
        entity: EntityInfo,
        records: RecordService,
        record_id: Any = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.entity = entity
        self.records = records
        self.record_id = record_id
        # What a save is checked against: our kinds' version, or (another program's table,
        # without one) the row as the form read it, every value of which must still hold.
        self.version: int | None = None
        self.expected_row: Record | None = None
        # A password set for a record not saved yet (stored hashed with it).
        self.pending_password: str | None = None
        self._original: dict[str, Any] = {}
        # The fields the user changed since the form opened.
        self._touched: set[str] = set()
        self._dirty = False
        self._closing = False
        self._task: Any = None
        # The save under way: a second Save while it runs is the same intent, not another.
        self._saving: asyncio.Task[None] | None = None
        # The form's intent, which the service commits once (app.services.intents).
        self._token = new_token()
        # A record in the trash the save met (one holding a unique value, or this record).
        self._trashed_holder: DuplicateInTrashError | InTrashError | None = None
        # The question before discarding changes, while it is open.
        self.discard_box: QMessageBox | None = None
        self.last_change: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
        # Fields changed here and by someone else, while the user has not chosen for each.
        self.conflicts: list[FieldConflict] = []
        self._choices: dict[str, QButtonGroup] = {}

        self.editors: dict[str, FieldEditor] = {}
        self.error_labels: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # Values the data layer keeps (a balance, an order's total): shown, never typed.
        self.derived_labels: dict[str, QLabel] = {}
        # What Tab visits in the form, top to bottom.
        self._fields: list[QWidget] = []
        for column in entity.columns:
            if column.editable:
                self._field(form, column)
            elif column.derived:
                form.addRow(column.label, self._derived(column))
        self.password_button: QPushButton | None = None
        if any(column.secret for column in entity.columns):
            self.password_button = QPushButton("Set password…", self)
            self.password_button.setAccessibleName("Set password…")
            self.password_button.clicked.connect(self.on_password_button_clicked)
            secret = next(column for column in entity.columns if column.secret)
            label = QLabel("Password")
            label.setBuddy(self.password_button)
            self.error_labels[secret.name] = add_field_row(
                form, label, self.password_button, secret.label
            )
            self._fields.append(self.password_button)
        body = QWidget(self)
        body.setLayout(form)
        scroll = QScrollArea(self)
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # Not a Tab stop of its own: an unnamed first stop before the fields, and the area
        # scrolls to whichever field has the focus anyway.
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.status_label = QLabel(self)
        self.status_label.setAccessibleName("Status")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.restore_button = QPushButton(self)
        self.restore_button.setAccessibleName("Restore from the trash")
        self.restore_button.clicked.connect(self.on_restore_button_clicked)
        self.restore_button.hide()
        status = QHBoxLayout()
        status.addWidget(self.status_label, 1)
        status.addWidget(self.restore_button)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        for button in self.buttons.buttons():
            button.setAccessibleName(button.text().replace("&", ""))
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save_action = QAction("Save", self)
        save_action.setShortcut(QKeySequence.StandardKey.Save)
        save_action.triggered.connect(self.save)
        self.addAction(save_action)

        self.conflict_box = QGroupBox("Changed by someone else meanwhile", self)
        self.conflict_box.setAccessibleName("Edit conflict")
        self.conflict_grid = QGridLayout(self.conflict_box)
        self.conflict_box.hide()

        layout = QVBoxLayout(self)
        if entity.version is None:
            # Say which rule keeps someone else's change from being overwritten.
            self.rule_label = QLabel(
                "Saved only if nobody changed this row since you opened it: the values you "
                "opened are compared with the stored ones, and only the fields you edit change.",
                self,
            )
            self.rule_label.setAccessibleName("How a save is checked")
            self.rule_label.setWordWrap(True)
            self.rule_label.setTextFormat(Qt.TextFormat.PlainText)
            layout.addWidget(self.rule_label)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.conflict_box)
        layout.addLayout(status)
        layout.addWidget(self.buttons)
        self.resize(560, min(120 + 56 * len(self.editors), 720))
        self._order_tabs()

        if record_id is None:
            for column in entity.columns:
                if column.name in self.editors and column.default is not None:
                    self.editors[column.name].set_value(column.default)
            self._take_original()
            self._show_title()
            self._focus_first_field()
        else:
            self._set_enabled(False)
            self.status_label.setText("Loading the record…")
            self._show_title()
            self._task = spawn(self._load(record_id), name=f"form {entity.name} {record_id}")

    # -- building ----------------------------------------------------------------------------

    def _field(self, form: QFormLayout, column: ColumnInfo) -> None:
        editor = editor_for(column, self.records, self)
        editor.changed.connect(lambda name=column.name: self._on_edited(name))
        if column.rules:
            # The database's CHECKs on this field, as it states them.
            rules = "Rule: " + "; ".join(column.rules)
            editor.widget.setToolTip(rules)
            editor.widget.setAccessibleDescription(rules)
        self.editors[column.name] = editor
        label = editor.label(required=column.required)
        self.error_labels[column.name] = add_field_row(form, label, editor.widget, column.label)
        self._fields.append(editor.widget)

    def _derived(self, column: ColumnInfo) -> QLabel:
        label = QLabel(column.derived, self)
        label.setAccessibleName(column.label)
        label.setToolTip(column.derived)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setEnabled(False)  # read as not editable, like a disabled field
        self.derived_labels[column.name] = label
        return label

    def _order_tabs(self) -> None:
        """Tab follows the layout: the fields top to bottom, the choices of a conflict,
        Restore, Save, Cancel. Qt's own order is the order widgets were made in, and the
        fields are made before the form that holds them."""
        choices = [
            button
            for group in self._choices.values()
            for button in sorted(group.buttons(), key=group.id)
        ]
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        chain = [*self._fields, *choices, self.restore_button, self.save_button, cancel]
        for before, after in itertools.pairwise(chain):
            QWidget.setTabOrder(before, after)

    def _focus_first_field(self) -> None:
        """The form opens on its first field that takes typing (a fixed one is disabled)."""
        for widget in self._fields:
            if widget.isEnabled():
                widget.setFocus(Qt.FocusReason.OtherFocusReason)
                return

    def _show_title(self) -> None:
        if self.record_id is None:
            self.setWindowTitle(f"New {self.entity.singular.lower()}")
        else:
            self.setWindowTitle(f"Edit {self.entity.singular} {record_name(self.record_id)}")
        self.setAccessibleName(self.windowTitle())

    # -- state -------------------------------------------------------------------------------

    async def _load(self, record_id: Any) -> None:
        try:
            record = await self.records.get(self.entity.name, record_id)
        except RecordsDeskError as error:
            self._tell(f"Could not load the record: {error}")
            return
        self.show_record(record)
        self._set_enabled(True)
        self.status_label.setText("")
        self._focus_first_field()
        self.loaded.emit()

    def show_record(self, record: Record) -> None:
        """Fill the fields from ``record``, which they now edit."""
        self.record_id = key_of(self.entity, record)
        self._take_version(record)
        for name, editor in self.editors.items():
            editor.set_value(record.get(name))
        for name, label in self.derived_labels.items():
            label.setText(display_text(self.entity.column(name), record.get(name)))
        self._take_original()
        self._show_title()

    def _take_version(self, record: Record) -> None:
        """What the next save is checked against: the version, or the row itself."""
        if self.entity.version is not None:
            self.version = int(record[self.entity.version])
        else:
            self.expected_row = dict(record)

    def _take_original(self) -> None:
        self._original = {name: editor.value() for name, editor in self.editors.items()}
        self._dirty = False

    def _on_edited(self, name: str) -> None:
        self._touched.add(name)
        self._dirty = True
        self.error_labels[name].hide()

    @property
    def changed(self) -> bool:
        """Whether the form holds something the database does not."""
        return self._dirty and (
            self.pending_password is not None or self.values() != self._original
        )

    def unsaved(self) -> dict[str, Any]:
        """The fields changed here and not saved, as each holds them (text typed that is
        not a value yet included): what a session journal keeps of the form."""
        return {
            name: editor.typed()
            for name, editor in self.editors.items()
            if not editor.kept_as_is and editor.value() != self._original.get(name)
        }

    def restore_unsaved(
        self, values: dict[str, Any], *, version: Any = None, expected_row: Any = None
    ) -> None:
        """Put back what the journal of a session that ended without saving kept: the
        fields' values, and the version (or the row) the form had started from, which
        the save is checked against: someone's change since opens the merge view."""
        for name, value in values.items():
            editor = self.editors.get(name)
            if editor is not None and not editor.kept_as_is:
                editor.set_value(value)
                self._touched.add(name)
        if version is not None and self.entity.version is not None:
            self.version = int(version)
        if isinstance(expected_row, dict) and self.entity.version is None:
            self.expected_row = expected_row
        self._dirty = True
        self.status_label.setText("Restored from the last session: not saved yet.")

    def values(self) -> dict[str, Any]:
        """What the fields hold (a value too long to edit is left out: it stays as it is)."""
        return {
            name: editor.value() for name, editor in self.editors.items() if not editor.kept_as_is
        }

    def _set_enabled(self, enabled: bool) -> None:
        editing = self.record_id is not None
        for name, editor in self.editors.items():
            fixed = editing and self.entity.column(name).fixed  # given once, at creation
            editor.widget.setEnabled(enabled and not editor.kept_as_is and not fixed)
        self.save_button.setEnabled(enabled)
        if self.password_button is not None:
            self.password_button.setEnabled(enabled)

    # -- saving ------------------------------------------------------------------------------

    @property
    def saving(self) -> bool:
        return self._saving is not None and not self._saving.done()

    def save(self) -> None:
        """Save once: Save pressed again (a double click, a held Ctrl+S) while the save runs
        is the same intent; the button is busy until the save ends."""
        if self.saving or not self.save_button.isEnabled():
            return
        self.save_button.setEnabled(False)
        self._saving = self._task = spawn(self._save_then_settle(), name=f"save {self.entity.name}")

    async def _save_then_settle(self) -> None:
        try:
            await self._save()
        finally:
            if shiboken6.isValid(self) and not self._closing:
                self.save_button.setEnabled(True)

    async def _save(self) -> None:
        if self.conflicts and not self._take_choices():
            self._tell("Choose yours or the stored value for each field in conflict.")
            return
        self._clear_errors()
        values = self.values()
        if self.record_id is not None:
            # Only what changed: a field left alone is not rewritten over someone else's
            # (nor refused for a stored value this editor cannot read).
            values = {
                name: value for name, value in values.items() if value != self._original.get(name)
            }
        elif self.entity.version is None:
            # Another program's new row: a field left alone is the database's default (a
            # check box cannot say "no value", nor a date "none").
            values = {name: value for name, value in values.items() if name in self._touched}
        invalid = {
            name: value.reason for name, value in values.items() if isinstance(value, Invalid)
        }
        if invalid:
            self._show_field_errors(invalid)
            return
        self._set_enabled(False)
        self.status_label.setText("Saving…")
        try:
            if self.record_id is None:
                record = await self.records.create(
                    self.entity.name, values, password=self.pending_password, token=self._token
                )
            else:
                record = await self.records.update(
                    self.entity.name,
                    self.record_id,
                    values,
                    expected_version=self.version,
                    expected_row=self.expected_row,
                    token=self._token,
                )
        except FieldValuesError as error:
            self._show_field_errors(error.errors)
            return
        except EditConflictError:
            await self._merge_with_stored()
            return
        except DuplicateInTrashError as error:
            self._trashed_holder = error
            self._show_field_errors({error.field or "": str(error)})
            self.restore_button.setText(f"Restore {self.entity.singular} #{error.record_id}")
            self.restore_button.show()
            return
        except InTrashError as error:
            # Trashed by someone else meanwhile: nothing was saved; Restore brings it back
            # with what is typed here still in the form.
            self._trashed_holder = error
            self._tell(str(error))
            self.restore_button.setText(f"Restore {self.entity.singular} #{error.record_id}")
            self.restore_button.show()
            return
        except RecordsDeskError as error:
            if error.field in self.error_labels:
                self._show_field_errors({error.field: str(error)})
            else:
                self._tell(str(error))
            return
        finally:
            self._set_enabled(True)
        self.pending_password = None
        # What changed, for Undo: the fields' values before and after this save (as the
        # database held them, where the form read the row whole).
        before = self.expected_row if self.expected_row is not None else self._original
        self.last_change = (
            {name: before.get(name) for name in values},
            {name: record.get(name) for name in values},
        )
        self.show_record(record)
        self.status_label.setText("")
        self.saved.emit(record)
        self._closing = True
        self.accept()

    # -- edit conflicts ----------------------------------------------------------------------

    async def merge_change(self, expected: dict[str, Any], wanted: dict[str, Any]) -> None:
        """A change made from elsewhere (an undo) met someone else's: the fields were
        ``expected`` to hold one thing and are to become ``wanted``. The conflict view:
        merged where only one side changed a field, chosen by the user where both did."""
        original = {**self._original, **expected}
        mine = {**self.values(), **wanted}
        await self._merge_with_stored(original, mine)

    async def _merge_with_stored(
        self, original: dict[str, Any] | None = None, mine: dict[str, Any] | None = None
    ) -> None:
        """Someone saved this record since the form opened: merge their change with the
        user's, field by field, and ask only where both changed the same field."""
        assert self.record_id is not None
        mine = self.values() if mine is None else mine
        original = self._original if original is None else original
        try:
            stored = await self.records.get(self.entity.name, self.record_id)
        except RecordsDeskError as error:
            self._tell(f"Someone else changed this record, and it cannot be read now: {error}")
            return
        # Compared as the fields hold values (a date as typed, a time to the second), so
        # a field nobody changed is never a conflict for how an editor shows it.
        for name, editor in self.editors.items():
            editor.set_value(stored.get(name))
        shown = {name: editor.value() for name, editor in self.editors.items()}
        merged, conflicts = merge(original, mine, shown)
        # From now on the form edits the stored version, with the merge in its fields.
        self._take_version(stored)
        self._original = shown
        for name, value in merged.items():
            self.editors[name].set_value(value)
        self._dirty = True
        self.conflicts = conflicts
        self._show_conflicts(stored)
        taken = [
            self.entity.column(name).label
            for name, value in merged.items()
            if value != mine.get(name) and name not in {c.name for c in conflicts}
        ]
        named = record_name(self.record_id)
        parts = [f"{self.entity.singular} {named} was saved by someone else meanwhile."]
        if taken:
            parts.append(f"Their change to {', '.join(taken)} is in the form now.")
        if conflicts:
            parts.append("Choose for each field below, then save.")
        else:
            parts.append("Save again to store your changes on top of theirs.")
        self._tell(" ".join(parts))

    def _show_conflicts(self, stored: Record) -> None:
        while self.conflict_grid.count():
            item = self.conflict_grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self._choices = {}
        if not self.conflicts:
            self.conflict_box.hide()
            return
        for column, title in enumerate(("Field", "When you opened it", "Yours", "Stored now")):
            header = QLabel(f"<b>{title}</b>", self.conflict_box)
            self.conflict_grid.addWidget(header, 0, column)
        for row, conflict in enumerate(self.conflicts, start=1):
            info = self.entity.column(conflict.name)
            self.conflict_grid.addWidget(QLabel(info.label, self.conflict_box), row, 0)
            self.conflict_grid.addWidget(self._shown(info, conflict.original), row, 1)
            group = QButtonGroup(self.conflict_box)
            for column, (value, name) in enumerate(
                ((conflict.mine, "Yours"), (conflict.stored, "Stored")), start=2
            ):
                text = display_text(info, value) if not isinstance(value, Invalid) else "?"
                button = QRadioButton(_shortened(text) or "(empty)", self.conflict_box)
                button.setAccessibleName(f"{info.label}: {name.lower()}")
                button.setToolTip(text)
                group.addButton(button, column)
                self.conflict_grid.addWidget(button, row, column)
            self._choices[conflict.name] = group
        self.conflict_box.show()
        self._order_tabs()

    def _shown(self, column: ColumnInfo, value: Any) -> QLabel:
        text = display_text(column, value)
        label = QLabel(_shortened(text) or "(empty)", self.conflict_box)
        label.setToolTip(text)
        label.setTextFormat(Qt.TextFormat.PlainText)
        return label

    def choose(self, name: str, side: str) -> None:
        """Pick ``"mine"`` or ``"stored"`` for a field in conflict (what its buttons do)."""
        self._choices[name].button(2 if side == "mine" else 3).setChecked(True)

    def _take_choices(self) -> bool:
        """Put each chosen value in its field; False while a field is not chosen yet."""
        if any(group.checkedId() < 0 for group in self._choices.values()):
            return False
        for conflict in self.conflicts:
            side = self._choices[conflict.name].checkedId()
            self.editors[conflict.name].set_value(conflict.mine if side == 2 else conflict.stored)
        self.conflicts = []
        self._choices = {}
        self.conflict_box.hide()
        return True

    def _clear_errors(self) -> None:
        for label in self.error_labels.values():
            label.hide()
        self.restore_button.hide()
        self._trashed_holder = None
        self.status_label.setText("")

    def _show_field_errors(self, errors: dict[str, str]) -> None:
        shown = []
        first: QWidget | None = None
        for name, message in errors.items():
            label = self.error_labels.get(name)
            if label is None:
                shown.append(message)
                continue
            label.setText(message)
            label.show()
            editor = self.editors.get(name)
            if first is None and editor is not None:
                first = editor.widget
        if first is not None:
            first.setFocus()
        count = len(errors)
        summary = "1 field needs attention." if count == 1 else f"{count} fields need attention."
        self._tell(" ".join([summary, *shown]))

    def _tell(self, text: str) -> None:
        self.status_label.setText(text)
        self.refused.emit(text)

    async def _restore_holder(self) -> None:
        holder = self._trashed_holder
        if holder is None:
            return
        typed = self.values()
        try:
            record = await self.records.restore(holder.entity, holder.record_id)
        except RecordsDeskError as error:
            self._tell(str(error))
            return
        self.restore_button.hide()
        self._trashed_holder = None
        # The form now edits the restored record, with what the user typed still in it.
        self.show_record(record)
        for name, value in typed.items():
            if value != self._original.get(name) and not isinstance(value, Invalid):
                self.editors[name].set_value(value)
        self._dirty = True
        self._clear_errors()
        self.status_label.setText(
            f"{self.entity.singular} #{record['id']} is back from the trash. "
            "Save to apply what you typed to it."
        )
        self.restored.emit(record)

    def on_restore_button_clicked(self) -> None:
        self._task = spawn(self._restore_holder(), name="restore from the form")

    # -- password ----------------------------------------------------------------------------

    def on_password_button_clicked(self) -> None:
        self._task = spawn(self._ask_password(), name="set password")

    async def _ask_password(self) -> None:
        dialog = PasswordDialog(self)
        if await finished(dialog) != QDialog.DialogCode.Accepted:
            return
        password = dialog.password()
        secret = next(column for column in self.entity.columns if column.secret)
        if self.record_id is None:
            self.pending_password = password
            self._dirty = True
            self.error_labels[secret.name].hide()
            self.status_label.setText("The password is stored when you save.")
            return
        try:
            record = await self.records.set_password(
                self.entity.name, self.record_id, password, expected_version=self.version
            )
        except RecordsDeskError as error:
            self._tell(str(error))
            return
        self.version = int(record["version"])
        self.status_label.setText("The new password is stored.")
        self.last_change = ({}, {})  # a password's hash is not undone
        self.saved.emit(record)

    # -- leaving -----------------------------------------------------------------------------

    def reject(self) -> None:
        if self.saving:
            # The save may be committing right now: closing could not take it back, and
            # "discarded" would be untrue. The form closes by itself once it is saved.
            self._tell("Saving… the form closes once the save is done.")
            return
        if self._closing or not self.changed:
            self._closing = True
            super().reject()
            return
        if self.discard_box is not None:
            return  # already asking
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Discard changes?",
            "This form holds changes that are not saved. Discard them?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setAccessibleName("Discard changes?")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(self._on_discard_box_finished)
        self.discard_box = box
        box.open()

    def discard(self) -> None:
        """Close without asking, whatever is typed (the user agreed to lose it elsewhere)."""
        if self.discard_box is not None:
            self.discard_box.reject()
        self._closing = True
        super().reject()

    def _on_discard_box_finished(self, _result: int) -> None:
        box, self.discard_box = self.discard_box, None
        if box is not None and box.clickedButton() is box.button(
            QMessageBox.StandardButton.Discard
        ):
            self._closing = True
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self._closing or not self.changed:
            self._closing = True
            event.accept()
            return
        event.ignore()
        self.reject()


def record_name(key: Any) -> str:
    """``#5`` for a number, ``S1`` for text, ``(EPSG, 9001)`` for a key of several."""
    if isinstance(key, tuple):
        return "(" + ", ".join(str(part) for part in key) + ")"
    return f"#{key}" if isinstance(key, int) else str(key)


def _shortened(text: str, limit: int = 40) -> str:
    line = text.replace("\n", " ")
    return line if len(line) <= limit else line[: limit - 1] + "…"


class PasswordDialog(QDialog):
    """A new password, typed twice and never shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Set password")
        self.setAccessibleName("Set password")
        self.first = QLineEdit(self)
        self.second = QLineEdit(self)
        for line, name in ((self.first, "New password"), (self.second, "Repeat password")):
            line.setEchoMode(QLineEdit.EchoMode.Password)
            line.setAccessibleName(name)
            line.textEdited.connect(self._check)
        self.problem = QLabel(self)
        self.problem.setAccessibleName("Password problem")
        self.problem.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("New password", self.first)
        form.addRow("Repeat password", self.second)
        form.addRow(self.problem)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self._check()

    def password(self) -> str:
        return self.first.text()

    def _check(self, *_: object) -> None:
        first, second = self.first.text(), self.second.text()
        problem = ""
        if len(first) < PASSWORD_MIN_CHARS:
            problem = f"At least {PASSWORD_MIN_CHARS} characters."
        elif first != second:
            problem = "The two passwords differ."
        self.problem.setText(problem)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(not problem)
