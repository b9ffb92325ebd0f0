"""A browse window's changes to records: New, Edit, Move to trash, Restore and the Trash
view, with what each needs asked first. Each intent runs once however many clicks or key
repeats arrive while it runs (and the service refuses a replay of its token). Other
windows learn of the change from the change feed, not from here."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMenu, QMessageBox

from app.changes import ChangeSet
from app.query import DeletedRows
from app.services import catalog
from app.services.errors import EditConflictError, RecordsDeskError
from app.services.intents import new_token
from app.services.orders import OrderCreated
from app.services.records import Record, RelatedCount
from app.services.row_edits import MAX_DELETE_ROWS, DeletePlan, RemovedRows, key_of
from app.services.transfers import TransferReceipt
from ui.dialogs.record_form import RecordFormDialog, record_name
from ui.dialogs.transactions import OrderDialog, TransferDialog, order_summary
from ui.exporting import selection_key_ranges
from ui.formatting import count_text, format_money
from ui.icons import set_action_icon
from ui.messages import finished, show_message, warning_box
from ui.progress import Progress, with_progress
from ui.record_changes import record_changes
from ui.record_table_model import ResultChangedError
from ui.selection import cell_blocks, row_count, row_ranges
from ui.tasks import spawn
from ui.undo import Step, undo_history

if TYPE_CHECKING:
    from PySide6.QtWidgets import QTableView, QWidget

    from app.query import ViewState
    from app.services.catalog import EntityInfo
    from app.workspace import Desk
    from ui.connection_look import ConnectionLook
    from ui.record_table_model import RecordTableModel
    from ui.window_state import WindowState

# A confirmation lists this many selected records by id; the rest are counted.
LISTED_IDS = 10


def quantity(count: int, entity: str) -> str:
    """``1 user``, ``3 order items``."""
    info = catalog.entity(entity)
    if count == 1:
        return f"1 {info.singular.lower()}"
    return f"{count_text(count)} {info.label.lower()}"


class EditingHost(Protocol):
    """What the editing controller may use of its window, and nothing more: the desk
    and the kind it works on, the connection's look, the rows (the model, and the table
    with its selection), the view state and its setter, a status line, and the window's
    actions its context menu offers."""

    desk: Desk
    entity: EntityInfo
    look: ConnectionLook
    window_state: WindowState
    model: RecordTableModel | None
    table: QTableView
    view_action: QAction
    copy_action: QAction
    show_deleted_action: QAction

    @property
    def view(self) -> ViewState: ...

    def set_view(self, view: ViewState) -> None: ...

    def reload_keeping_place(self) -> None: ...

    def refresh_entity(self) -> None: ...

    def tell(self, text: str, timeout_ms: int = 8000) -> None:
        """Say ``text`` on the status line for ``timeout_ms``."""


class RecordEditing(QObject):
    # A trash or a restore ended: {entity: how many records} (empty when refused).
    trash_finished = Signal(object)
    # A record form opened (the RecordFormDialog).
    form_opened = Signal(object)
    # The confirmation before a trash opened (the QMessageBox).
    confirmation_shown = Signal(object)

    def __init__(self, window: EditingHost, widget: QWidget) -> None:
        """``window``: what this works on; ``widget``: the window as the parent of its
        actions, forms and questions."""
        super().__init__(widget)
        self.window = window
        self.widget = widget
        self._task: Any = None
        self.confirmation: QMessageBox | None = None
        self.message: QMessageBox | None = None
        self.new_action = self._action("New…", self.on_new_action_triggered)
        set_action_icon(self.new_action, "new")
        self.new_action.setShortcut(QKeySequence.StandardKey.New)
        self.edit_action = self._action("Edit…", self.on_edit_action_triggered)
        set_action_icon(self.edit_action, "edit")
        self.edit_action.setShortcut(QKeySequence(Qt.Key.Key_F2))
        self.trash_action = self._action("Move to trash…", self.on_trash_action_triggered)
        set_action_icon(self.trash_action, "trash")
        # On the table only: Delete in the search box deletes text.
        self.trash_action.setShortcut(QKeySequence.StandardKey.Delete)
        self.trash_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        window.table.addAction(self.trash_action)
        # Another program's table has no trash: Delete deletes for good, after saying what
        # its foreign keys take with the rows (Undo puts them back).
        self.delete_action = self._action("Delete…", self.on_delete_action_triggered)
        set_action_icon(self.delete_action, "trash")
        self.delete_action.setShortcut(QKeySequence.StandardKey.Delete)
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        window.table.addAction(self.delete_action)
        # Another program's table: one field of every selected row set at once.
        self.bulk_edit_action = self._action("Set a field of the selected rows…", self.on_bulk_edit)
        self.bulk_edit_action.setShortcut(QKeySequence("Ctrl+Shift+E"))
        # A table of another program with a deleted_at (or alike) column: used as its
        # trash once the user says so for that table.
        self.use_trash_action = self._action("Use as the trash…", self.on_use_trash_toggled)
        self.use_trash_action.setCheckable(True)
        self.restore_action = self._action("Restore", self.on_restore_action_triggered)
        set_action_icon(self.restore_action, "restore")
        self.trash_view_action = self._action("Trash", self.on_trash_view_toggled)
        set_action_icon(self.trash_view_action, "trash-view")
        self.trash_view_action.setCheckable(True)
        self.trash_view_action.setToolTip("Show only the records in the trash")
        self.undo_action = self._action("Undo", self.on_undo_action_triggered)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self._action("Redo", self.on_redo_action_triggered)
        # Ctrl+Shift+Z everywhere, and the platform's own (Ctrl+Y on Windows) once each: a
        # sequence listed twice would be ambiguous and trigger nothing.
        redo_keys = [QKeySequence("Ctrl+Shift+Z")]
        for key in QKeySequence.keyBindings(QKeySequence.StandardKey.Redo):
            if key not in redo_keys:
                redo_keys.append(key)
        self.redo_action.setShortcuts(redo_keys)
        history = undo_history()
        history.changed.connect(self.show_history)
        self.show_history()
        self.transfer_action = self._action("Transfer funds…", self.on_transfer_action_triggered)
        self.order_action = self._action("New order with items…", self.on_order_action_triggered)
        self.conflict_form: RecordFormDialog | None = None
        # The intent running now (a trash, a restore, an undo or a redo): one at a time.
        self._intent: asyncio.Task[Any] | None = None
        self._refresh_task: asyncio.Task[Any] | None = None
        self._title_task: asyncio.Task[Any] | None = None
        record_changes(window.desk).changed.connect(self.on_records_changed)
        window.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        window.table.customContextMenuRequested.connect(self.on_table_context_menu_requested)
        self.show_entity()

    def _action(self, text: str, slot: Any) -> QAction:
        action = QAction(text, self.widget)
        action.triggered.connect(slot)
        self.widget.addAction(action)
        return action

    def show_entity(self) -> None:
        """The actions as the window's kind allows: a transfer is made by Transfer funds
        (New… opens it) and never edited; a new order comes with its items."""
        entity = self.window.entity
        locked = self.window.look.read_only_reason
        reason = locked or entity.read_only_reason
        self.edit_action.setEnabled(not reason)
        self.edit_action.setToolTip(reason or "Edit the record (F2)")
        self.new_action.setToolTip(
            locked
            or {"transfers": "Transfer funds", "orders": "New order with items"}.get(
                entity.name, f"New {entity.singular.lower()}"
            )
        )
        for action in (
            self.new_action,
            self.trash_action,
            self.restore_action,
            self.delete_action,
            self.transfer_action,
            self.order_action,
        ):
            action.setEnabled(not locked)
            if action is not self.new_action:
                action.setToolTip(locked or action.text().rstrip("…"))
        # A table without a trash (another program's) has nothing to move there or view.
        has_trash = entity.soft_delete is not None
        for action in (self.trash_action, self.restore_action, self.trash_view_action):
            action.setVisible(has_trash)
        self.delete_action.setVisible(not has_trash)
        self.delete_action.setEnabled(not reason)
        self.bulk_edit_action.setVisible(entity.version is None)
        self.bulk_edit_action.setEnabled(not reason)
        column = entity.trash_candidate
        self.use_trash_action.setVisible(column is not None)
        self.use_trash_action.setEnabled(not reason)
        self.use_trash_action.setChecked(column is not None and entity.soft_delete == column)
        self.use_trash_action.setText(
            f"Use {column} as the trash…" if column else "Use as the trash…"
        )
        self.delete_action.setToolTip(
            reason or "Delete the selected rows for good (Undo puts them back)"
        )
        # Transfers and orders with items are our own schema's.
        ours = self.window.desk.workspace.catalog.ours
        self.transfer_action.setVisible(ours)
        self.order_action.setVisible(ours)
        self.show_history()

    def show_deleted_rows(self, deleted: DeletedRows) -> None:
        self.trash_view_action.setChecked(deleted is DeletedRows.ONLY)

    # -- opening forms -----------------------------------------------------------------------

    def on_new_action_triggered(self) -> None:
        self.open_form(None)

    def on_edit_action_triggered(self) -> None:
        selected = self.selected_keys()
        if selected:
            self.open_form(selected[0])

    def open_form(self, record_id: Any) -> QDialog | None:
        entity = self.window.entity
        if self.window.look.read_only:
            self.window.tell(self.window.look.read_only_reason, 8000)
            return None
        if record_id is None and entity.name == "transfers":
            return self.open_transfer()
        if record_id is None and entity.name == "orders":
            return self.open_order()
        if entity.read_only_reason:
            self.window.tell(entity.read_only_reason, 8000)
            return None
        return self._form(entity, record_id)

    def _form(self, entity: catalog.EntityInfo, record_id: Any) -> RecordFormDialog:
        form = RecordFormDialog(entity, self.window.desk.records, record_id, self.widget)
        form.saved.connect(
            lambda record, created=record_id is None: self._saved(form, record, created)
        )
        form.restored.connect(lambda record: self._restored_from_form(form, record))
        form.open()
        self.form_opened.emit(form)
        return form

    def on_transfer_action_triggered(self) -> None:
        self.open_transfer()

    def on_order_action_triggered(self) -> None:
        self.open_order()

    def open_transfer(self) -> TransferDialog:
        dialog = TransferDialog(self.window.desk.workspace, self.widget)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.completed.connect(self._transferred)
        dialog.open()
        self.form_opened.emit(dialog)
        return dialog

    def open_order(self) -> OrderDialog:
        dialog = OrderDialog(self.window.desk.workspace, self.widget)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.completed.connect(self._ordered)
        dialog.open()
        self.form_opened.emit(dialog)
        return dialog

    def _transferred(self, receipt: TransferReceipt) -> None:
        amount = format_money(receipt.amount)
        self.window.tell(
            f"Moved {amount} from account #{receipt.from_account} to #{receipt.to_account} "
            f"(transfer #{receipt.transfer_id}).",
            8000,
        )

    def _ordered(self, created: OrderCreated) -> None:
        summary = order_summary(created)
        self.window.tell(summary.split("\n")[0], 8000)
        if created.skipped:
            # Referenced, so a test (and the window's close) can find it.
            self.message = warning_box(self.widget, "Some items were not saved", summary)
            self.message.open()

    def _saved(self, form: RecordFormDialog, record: Record, created: bool) -> None:
        entity = form.entity
        if entity.version is None:
            self._saved_row(form, record, created)
            return
        record_id = int(record["id"])
        versions = {record_id: int(record["version"])}
        if created:
            undo_history().push(Step("create", entity.name, versions))
        else:
            before, after = form.last_change
            if after:
                undo_history().push(Step("update", entity.name, versions, before, after))
            else:
                undo_history().remember(entity.name, versions)
        verb = "Created" if created else "Saved"
        self.window.tell(f"{verb} {entity.singular} #{record['id']}.", 8000)

    def _saved_row(self, form: RecordFormDialog, row: Record, created: bool) -> None:
        """Another program's row saved: the step Undo takes back, guarded by the row."""
        entity = form.entity
        what = f"{entity.singular} {record_name(key_of(entity, row))}"
        if created:
            undo_history().push(Step("create", entity.name, {}, foreign=True, row=row, what=what))
        else:
            before, after = form.last_change
            if after:
                undo_history().push(
                    Step("update", entity.name, {}, before, after, foreign=True, row=row, what=what)
                )
        self.window.tell(f"{'Created' if created else 'Saved'} {what}.", 8000)

    def _restored_from_form(self, form: RecordFormDialog, record: Record) -> None:
        entity = form.entity
        versions = {int(record["id"]): int(record["version"])}
        undo_history().push(Step("restore", entity.name, versions))

    # -- undo --------------------------------------------------------------------------------

    def show_history(self) -> None:
        history = undo_history()
        self.undo_action.setText(history.undo_text())
        self.redo_action.setText(history.redo_text())
        writable = not self.window.look.read_only
        self.undo_action.setEnabled(writable and bool(history.done) and not history.busy)
        self.redo_action.setEnabled(writable and bool(history.undone) and not history.busy)

    def on_undo_action_triggered(self) -> None:
        self._start(self.undo(), "undo")

    def on_redo_action_triggered(self) -> None:
        self._start(self.redo(), "redo")

    def _start(self, intent: Coroutine[Any, Any, Any], name: str) -> None:
        """Run ``intent`` unless one is running: a double click, or a key held down, asks
        for the same thing again while the first is under way (DESIGN.md, known traps)."""
        if self._intent is not None and not self._intent.done():
            intent.close()
            self.window.tell("Still working on the last change…", 4000)
            return
        self._intent = self._task = spawn(intent, name=name)

    async def undo(self) -> str:
        return await self._step(undo_history().undo, "Undo")

    async def redo(self) -> str:
        return await self._step(undo_history().redo, "Redo")

    async def _step(self, move: Any, title: str) -> str:
        try:
            text = str(await move(self.window.desk.records))
        except EditConflictError as error:
            conflict = undo_history().last_conflict
            text = f"{error} {title} did not change it; its form is open to decide."
            self.window.tell(text, 8000)
            if conflict is not None:
                entity, record_id, expected, wanted = conflict
                # The conflict view: the record as stored now, merged with what the step
                # wanted where only one side changed a field, the rest for the user.
                known = self.window.desk.workspace.catalog
                self.conflict_form = self._form(known.entity(entity), record_id)
                form = self.conflict_form
                form.loaded.connect(lambda: self._merge_into(form, expected, wanted))
            return text
        except RecordsDeskError as error:
            await show_message(self.widget, title, str(error))
            return str(error)
        self.window.tell(text, 8000)
        return text

    def _merge_into(
        self, form: RecordFormDialog, expected: dict[str, Any], wanted: dict[str, Any]
    ) -> None:
        self._merge_task = spawn(form.merge_change(expected, wanted), name="undo conflict")

    # -- the selection -----------------------------------------------------------------------

    def selected_records(self) -> list[tuple[int, int, bool]]:
        """(id, version, in the trash) of each selected row that is loaded, in row order;
        the current row when nothing is selected."""
        model = self.window.model
        if model is None:
            return []
        id_column = model.column_index("id")
        version_column = model.column_index("version")
        deleted_column = model.column_index("deleted_at")
        found = []
        for row in self._selected_rows():
            values = model.row_values(row)
            if values is not None:
                found.append(
                    (
                        int(values[id_column]),
                        int(values[version_column]),
                        values[deleted_column] is not None,
                    )
                )
        return found

    def selected_keys(self) -> list[Any]:
        """The key of each selected row that is loaded, in row order (a value, or a tuple
        for a key of several columns); the current row's when nothing is selected."""
        model = self.window.model
        entity = self.window.entity
        if model is None or not entity.key:
            return []
        found = []
        for row in self._selected_rows():
            values = model.row_values(row)
            if values is not None:
                found.append(row_key(entity, values))
        return found

    async def rows_whole(self, keys: Sequence[Any]) -> list[Record]:
        """The rows these keys name, every column whole (a grid's cells may be cut), as
        the database holds them now: what a write of another program's rows is checked
        against. Rows gone meanwhile are left out."""
        entity = self.window.entity
        names = entity.column_names
        found = await self.window.desk.records.values(entity.name, keys, names)
        return [dict(zip(names, found[key], strict=True)) for key in keys if key in found]

    def _selected_blocks(self) -> list[tuple[int, int]]:
        """The selected rows as (first, last) ranges, in order and apart; the current row
        when nothing is selected."""
        table = self.window.table
        ranges = row_ranges(cell_blocks(table))
        if not ranges and table.currentIndex().isValid():
            current = table.currentIndex().row()
            ranges = [(current, current)]
        return ranges

    def _selected_rows(self) -> list[int]:
        return [row for first, last in self._selected_blocks() for row in range(first, last + 1)]

    def selected_row_count(self) -> int:
        return row_count(self._selected_blocks())

    # -- trash and restore -------------------------------------------------------------------

    def on_trash_action_triggered(self) -> None:
        self._start(self.trash_selected(), "move to trash")

    def on_restore_action_triggered(self) -> None:
        self._start(self.restore_selected(), "restore")

    async def trash_selected(self) -> dict[str, int]:
        entity = self.window.entity
        if entity.version is None:
            count = await self.trash_rows(restore=False)
            return {entity.name: count} if count else {}
        loaded = self.selected_records()
        if self.selected_row_count() > len(loaded):
            # Rows selected but never scrolled to (Ctrl+A over a million): the database
            # trashes the selection by the view, rather than the loaded rows pass for it.
            return await self.trash_selection_in_database()
        live = {rid: version for rid, version, deleted in loaded if not deleted}
        if not live:
            self.window.tell("Select the records to move to the trash.", 8000)
            self.trash_finished.emit({})
            return {}
        try:
            related = await self.window.desk.records.related_counts(entity.name, list(live))
        except RecordsDeskError as error:
            await show_message(self.widget, "Move to trash", str(error))
            self.trash_finished.emit({})
            return {}
        with_related = await self._confirm_trash(_listed_ids(list(live), entity.name), related)
        if with_related is None:
            self.trash_finished.emit({})
            return {}
        try:
            counts = await self.window.desk.records.trash(
                entity.name, live, with_related=with_related, token=new_token()
            )
        except RecordsDeskError as error:
            await show_message(self.widget, "Move to trash", str(error))
            self.trash_finished.emit({})
            return {}
        undo_history().push(
            Step(
                "trash",
                entity.name,
                {rid: version + 1 for rid, version in live.items()},
                with_related=with_related,
            )
        )
        self.window.tell(f"Moved {_listed(counts)} to the trash.", 8000)
        self.trash_finished.emit(counts)
        return counts

    async def trash_selection_in_database(self) -> dict[str, int]:
        """Move to trash for a selection larger than the rows loaded: counted, asked and
        done by the database over the same view, in one transaction, with progress and
        Cancel (which stops it in the database, nothing moved); Undo brings exactly them
        back."""
        window, entity = self.window, self.window.entity
        model = window.model
        assert model is not None
        records = window.desk.records
        try:
            ranges = await selection_key_ranges(
                model, records, [(first, last) for first, last in self._selected_blocks()]
            )
            count, related = await records.selection_counts(entity.name, model.spec, ranges)
        except ResultChangedError:
            window.tell("The rows changed meanwhile; select again.", 8000)
            self.trash_finished.emit({})
            return {}
        except RecordsDeskError as error:
            await show_message(self.widget, "Move to trash", str(error))
            self.trash_finished.emit({})
            return {}
        if not count:
            window.tell("The selected records are all in the trash.", 8000)
            self.trash_finished.emit({})
            return {}
        what = f"all {count_text(count)} selected {entity.label.lower()}"
        with_related = await self._confirm_trash(what, related)
        if with_related is None:
            self.trash_finished.emit({})
            return {}
        done: list[tuple[dict[str, int], datetime]] = []

        async def trash() -> None:
            done.append(
                await records.trash_selection(
                    entity.name, model.spec, ranges, with_related=with_related, token=new_token()
                )
            )

        progress = Progress(f"Moving {quantity(count, entity.name)} to the trash…", "Move to trash")
        try:
            finished = await with_progress(trash(), progress, parent=self.widget)
        except RecordsDeskError as error:
            await show_message(self.widget, "Move to trash", str(error))
            self.trash_finished.emit({})
            return {}
        if not finished or not done:
            window.tell("Cancelled: nothing was moved to the trash.", 8000)
            self.trash_finished.emit({})
            return {}
        counts, moment = done[0]
        undo_history().push(
            Step(
                "trash",
                entity.name,
                {},
                with_related=with_related,
                moment=moment,
                count=counts.get(entity.name, 0),
            )
        )
        window.tell(f"Moved {_listed(counts)} to the trash.", 8000)
        self.trash_finished.emit(counts)
        return counts

    # -- another program's table with a trash column ------------------------------------------

    def on_use_trash_toggled(self, checked: bool) -> None:
        self._start(self.use_trash(checked), "use as the trash")

    async def use_trash(self, used: bool) -> bool:
        """Use the table's ``trash_candidate`` column as its trash (after the user agrees:
        it is only a convention its program may not share), or stop. Remembered for this
        database and table. Whether it is used now."""
        window, entity = self.window, self.window.entity
        column = entity.trash_candidate
        self.use_trash_action.setChecked(entity.soft_delete is not None)
        if column is None:
            return False
        if used and not await self._confirm_use_trash(column):
            return False
        window.desk.records.use_trash(entity.name, column if used else None)
        window.window_state.set_trash_column(entity.name, column if used else None)
        window.refresh_entity()
        window.tell(
            f"{column} is {'now' if used else 'no longer'} the trash of {entity.name}.", 8000
        )
        return used

    async def _confirm_use_trash(self, column: str) -> bool:
        return await self._ask(
            "Use as the trash",
            f"Use {column} as the trash of {self.window.entity.name}?",
            f"Rows whose {column} is set are then left out of the view, listed by View → "
            f"Trash; Move to trash sets {column} to now and Restore empties it — no row is "
            "deleted. Only if the program that owns this database reads the column so too: "
            f"nothing in the database says {column} means that.",
            "Use as the trash",
        )

    async def _ask(
        self,
        title: str,
        text: str,
        details: str,
        action: str,
        *,
        icon: QMessageBox.Icon = QMessageBox.Icon.Question,
        role: QMessageBox.ButtonRole = QMessageBox.ButtonRole.AcceptRole,
    ) -> bool:
        """A question with ``action`` and Cancel (the default): whether ``action`` was
        chosen. Shown through ``confirmation_shown``, as the trash's question is."""
        box = QMessageBox(self.widget)
        box.setIcon(icon)
        box.setWindowTitle(title)
        box.setAccessibleName(title)
        box.setText(text)
        box.setInformativeText(details)
        chosen = box.addButton(action, role)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        self.confirmation = box
        self.confirmation_shown.emit(box)
        await finished(box)
        self.confirmation = None
        return box.clickedButton() is chosen

    async def trash_rows(self, *, restore: bool) -> int:
        """Move the selected rows of another program's table to its trash column (or back
        out of it), all or none, each only if it is still as read; Undo moves them back."""
        window, entity = self.window, self.window.entity
        records = window.desk.records
        keys = self.selected_keys()
        what = "restore" if restore else "move to the trash"
        if not keys or self.selected_row_count() > len(keys):
            window.tell(f"Select the rows to {what} (only rows shown so far).", 8000)
            self.trash_finished.emit({})
            return 0
        try:
            rows = await self.rows_whole(keys)
            assert entity.soft_delete is not None
            rows = [row for row in rows if (row[entity.soft_delete] is not None) == restore]
            if not rows:
                window.tell(f"None of the selected rows is there to {what}.", 8000)
                self.trash_finished.emit({})
                return 0
            after = await records.trash_rows(entity.name, rows, restore=restore, token=new_token())
        except RecordsDeskError as error:
            await show_message(self.widget, "Restore" if restore else "Move to trash", str(error))
            self.trash_finished.emit({})
            return 0
        named = _listed_keys([key_of(entity, row) for row in after], entity.singular)
        kind = "restore" if restore else "trash"
        undo_history().push(
            Step(kind, entity.name, {}, foreign=True, rows=tuple(after), what=named)
        )
        window.tell(
            f"{'Restored' if restore else 'Moved'} {named}{'' if restore else ' to the trash'}.",
            8000,
        )
        self.trash_finished.emit({entity.name: len(after)})
        return len(after)

    # -- one field of many rows ------------------------------------------------------------------

    def on_bulk_edit(self) -> None:
        self._start(self.edit_selected_rows(), "set a field")

    async def edit_selected_rows(self) -> int:
        """Set one field of every selected row of another program's table: the field and
        value asked for (checked before the dialog closes), then every row in one
        transaction with progress and Cancel (which rolls all of it back), each only if
        it is still as read. Undo sets each back. How many rows changed."""
        window, entity = self.window, self.window.entity
        records = window.desk.records
        keys = self.selected_keys()
        if not keys or self.selected_row_count() > len(keys):
            window.tell("Select the rows to change (only rows shown so far).", 8000)
            return 0
        if len(keys) > MAX_DELETE_ROWS:
            window.tell(f"At most {MAX_DELETE_ROWS:,} rows are changed at once.", 8000)
            return 0
        from ui.dialogs.bulk_edit import BulkEditDialog  # opened rarely

        dialog = BulkEditDialog(
            entity,
            len(keys),
            records,
            lambda values: records.check_row_values(entity.name, values),
            self.widget,
        )
        self.form_opened.emit(dialog)
        if await finished(dialog) != QDialog.DialogCode.Accepted:
            return 0
        values = dialog.values
        done: list[list[Record]] = []
        try:
            rows = await self.rows_whole(keys)

            async def change() -> None:
                changes = [(row, values) for row in rows]
                done.append(await records.update_rows(entity.name, changes, token=new_token()))

            progress = Progress(f"Changing {count_text(len(rows))} rows of {entity.name}…", "Set")
            completed = await with_progress(change(), progress, parent=self.widget)
        except RecordsDeskError as error:
            await show_message(self.widget, "Set a field", str(error))
            return 0
        if not completed or not done:
            window.tell("Cancelled: nothing was changed.", 8000)
            return 0
        after = done[0]
        named = _listed_keys([key_of(entity, row) for row in after], entity.singular)
        (name,) = values
        undo_history().push(
            Step(
                "bulk",
                entity.name,
                {},
                before={name: None},
                foreign=True,
                rows=tuple(after),
                earlier=tuple(rows),
                later=tuple(after),
                what=named,
            )
        )
        window.tell(f"Set {entity.column(name).label} of {named}.", 8000)
        return len(after)

    # -- deleting another program's rows ------------------------------------------------------

    def on_delete_action_triggered(self) -> None:
        self._start(self.delete_selected(), "delete")

    async def delete_selected(self) -> int:
        """Delete the selected rows of another program's table for good, after a question
        naming them and what the database's foreign keys do with their related rows (a
        refusal said in words, nothing done), in one transaction with progress and Cancel
        (which rolls it all back). Undo puts them back. How many rows went."""
        window, entity = self.window, self.window.entity
        records = window.desk.records
        keys = self.selected_keys()
        if not keys:
            window.tell("Select the rows to delete.", 8000)
            return 0
        if self.selected_row_count() > len(keys):
            window.tell(
                "Only rows shown so far can be deleted: scroll to them, or select fewer.", 8000
            )
            return 0
        if len(keys) > MAX_DELETE_ROWS:
            window.tell(f"At most {MAX_DELETE_ROWS:,} rows are deleted at once.", 8000)
            return 0
        try:
            rows = await self.rows_whole(keys)
            plan = await records.delete_plan(entity.name, keys)
        except RecordsDeskError as error:
            await show_message(self.widget, "Delete", str(error))
            return 0
        named = _listed_keys(keys, entity.singular)
        if plan.refusal:
            await show_message(self.widget, "Delete", f"{named} cannot be deleted. {plan.refusal}")
            return 0
        if not await self._confirm_delete(named, plan):
            return 0
        done: list[RemovedRows] = []

        async def delete() -> None:
            done.append(await records.delete_rows(entity.name, rows, token=new_token()))

        progress = Progress(f"Deleting {named}…", "Delete")
        try:
            completed = await with_progress(delete(), progress, parent=self.widget)
        except RecordsDeskError as error:
            await show_message(self.widget, "Delete", str(error))
            return 0
        if not completed or not done:
            window.tell("Cancelled: nothing was deleted.", 8000)
            return 0
        removed = done[0]
        undo_history().push(
            Step("delete", entity.name, {}, foreign=True, removed=removed, what=named)
        )
        others = len(removed.rows) - len(rows)
        more = f" and {count_text(others)} related rows" if others else ""
        window.tell(f"Deleted {named}{more}.", 8000)
        return len(rows)

    async def _confirm_delete(self, named: str, plan: DeletePlan) -> bool:
        lines = "\n".join(f"• {consequence.text}" for consequence in plan.consequences)
        return await self._ask(
            "Delete",
            f"Delete {named} for good?",
            (f"The database's foreign keys say:\n{lines}\n\n" if lines else "")
            + "This table has no trash: the rows are deleted. Undo (Ctrl+Z) puts them back "
            "while Records Desk stays open.",
            "Delete",
            icon=QMessageBox.Icon.Warning,
            role=QMessageBox.ButtonRole.DestructiveRole,
        )

    async def _confirm_trash(self, what: str, related: list[RelatedCount]) -> bool | None:
        """True: trash the related records too; False: only these; None: cancelled.
        ``what``: the records asked about, in words ("2 users (#4, #9)")."""
        entity = self.window.entity
        box = QMessageBox(self.widget)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Move to trash")
        box.setAccessibleName("Move to trash")
        box.setText(f"Move {what} to the trash?")
        together = alone = None
        if related:
            lines = "\n".join(f"• {quantity(count.count, count.entity)}" for count in related)
            box.setInformativeText(
                f"Records that belong to them:\n{lines}\n\nTrashed together, they come back "
                "together with Restore."
            )
            together = box.addButton("Trash with related", QMessageBox.ButtonRole.AcceptRole)
            alone = box.addButton(
                f"Trash only the {entity.label.lower()}", QMessageBox.ButtonRole.ActionRole
            )
        else:
            box.setInformativeText("Restore brings them back from the Trash view.")
            alone = box.addButton("Move to trash", QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        self.confirmation = box
        self.confirmation_shown.emit(box)
        await finished(box)
        self.confirmation = None
        clicked = box.clickedButton()
        if clicked is together:
            return True
        if clicked is alone:
            return False
        return None

    async def restore_selected(self) -> dict[str, int]:
        entity = self.window.entity
        if entity.version is None:
            count = await self.trash_rows(restore=True)
            return {entity.name: count} if count else {}
        trashed = {rid: version for rid, version, deleted in self.selected_records() if deleted}
        if not trashed:
            self.window.tell("Select records in the trash (View → Trash) to restore them.", 8000)
            self.trash_finished.emit({})
            return {}
        try:
            counts = await self.window.desk.records.restore_many(
                entity.name, trashed, token=new_token()
            )
        except RecordsDeskError as error:
            await show_message(self.widget, "Restore", str(error))
            self.trash_finished.emit({})
            return {}
        undo_history().push(
            Step(
                "restore",
                entity.name,
                {rid: version + 1 for rid, version in trashed.items()},
                with_related=len(counts) > 1,
            )
        )
        self.window.tell(f"Restored {_listed(counts)}.", 8000)
        self.trash_finished.emit(counts)
        return counts

    def on_trash_view_toggled(self, checked: bool) -> None:
        window = self.window
        deleted = DeletedRows.ONLY if checked else DeletedRows.EXCLUDE
        window.show_deleted_action.setChecked(False)
        window.set_view(replace(window.view, spec=replace(window.view.spec, deleted=deleted)))

    # -- other windows' changes --------------------------------------------------------------

    def on_records_changed(self, changes: ChangeSet) -> None:
        """A commit (anyone's) changed records: rows that joined or left the kind run the
        view again where it was; rows changed in place are read again where they are."""
        model = self.window.model
        name = self.window.entity.name
        if model is None:
            return
        self._refresh_titles(model, changes)
        if name not in changes.entities:
            return
        ids = changes.changed_ids(name)
        if changes.moved(name) or ids is None:
            self.window.reload_keeping_place()
        elif ids:
            self._refresh_task = spawn(model.refresh_records(ids), name="refresh changed rows")

    def _refresh_titles(self, model: RecordTableModel, changes: ChangeSet) -> None:
        """A record the reference cells name changed in place (a renamed author): the
        titles they show are read again. One that joined or left keeps its title."""
        referenced = {c.references for c in self.window.entity.columns if c.references}
        for kind in sorted(referenced & changes.entities):
            ids = changes.changed_ids(kind)
            if ids is None or ids:
                self._title_task = spawn(model.refresh_titles(kind, ids), name="refresh titles")

    def on_table_context_menu_requested(self, position: Any) -> None:
        menu = QMenu(self.widget)
        menu.addAction(self.edit_action)
        menu.addAction(self.window.view_action)
        menu.addSeparator()
        menu.addAction(self.trash_action)
        menu.addAction(self.restore_action)
        menu.addAction(self.delete_action)
        menu.addSeparator()
        menu.addAction(self.window.copy_action)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.window.table.viewport().mapToGlobal(position))


def row_key(entity: EntityInfo, values: Sequence[Any]) -> Any:
    """The key of a row of ``entity`` (its values in the kind's column order): a value, or
    a tuple for a key of several columns."""
    names = entity.column_names
    parts = tuple(values[names.index(name)] for name in entity.key)
    return parts[0] if len(parts) == 1 else parts


def _listed_keys(keys: list[Any], singular: str) -> str:
    """``shop S1`` or ``3 rows of shop (S1, S2, S3)``: the first LISTED_IDS, the rest counted."""
    if len(keys) == 1:
        return f"{singular} {record_name(keys[0])}"
    shown = ", ".join(record_name(key) for key in keys[:LISTED_IDS])
    more = f" and {count_text(len(keys) - LISTED_IDS)} more" if len(keys) > LISTED_IDS else ""
    return f"{count_text(len(keys))} rows of {singular} ({shown}{more})"


def _listed_ids(ids: list[int], entity: str) -> str:
    """``3 users (#4, #9, #12)``: the first LISTED_IDS by id, the rest counted."""
    shown = ", ".join(f"#{record_id}" for record_id in ids[:LISTED_IDS])
    if len(ids) > LISTED_IDS:
        shown += f" and {count_text(len(ids) - LISTED_IDS)} more"
    return f"{quantity(len(ids), entity)} ({shown})"


def _listed(counts: dict[str, int]) -> str:
    return ", ".join(quantity(count, entity) for entity, count in counts.items() if count)
