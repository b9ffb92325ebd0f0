"""A browse window's export: Export… (and the Export instead… a copy refused for its size
offers), its dialog, its progress while the window stays usable, and what its end says.
One export at a time per window; the window closing or changing database ends it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QMessageBox, QToolButton

from app.query import KeyRange
from app.services.errors import RecordsDeskError
from app.services.export import ExportProgress, ExportRequest, ExportResult
from ui.dialogs.export_dialog import ExportChoice, ExportDialog
from ui.export_settings import ExportSettings
from ui.exporting import ExportProgressWindow, result_text, selection_key_ranges
from ui.icons import set_action_icon
from ui.progress import with_progress
from ui.record_table_model import ResultChangedError
from ui.selection import RowsHost, cell_blocks, row_ranges
from ui.tasks import async_slot, spawn

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget


EXPORT_SHORTCUT = "Ctrl+E"


class ExportController(QObject):
    # The export dialog (an ExportDialog), as it opens.
    dialog_shown = Signal(object)
    # How an export ended: its ExportResult, or None (cancelled, refused or failed).
    finished = Signal(object)

    def __init__(self, window: RowsHost, widget: QWidget) -> None:
        """``window``: what is exported; ``widget``: the window as the parent of the
        action, the button, the dialog, the progress and the messages."""
        super().__init__(widget)
        self.window = window
        self.widget = widget
        # The export under way, its dialog while open, and the last message about one
        # (referenced: an unreferenced box is deleted at once, DESIGN.md Known traps).
        self.task: asyncio.Task[ExportResult] | None = None
        self.dialog: ExportDialog | None = None
        self.message: QMessageBox | None = None
        # The copy refusal the Export instead… button belongs to.
        self._refusal = ""
        self.export_action = QAction("Export…", widget)
        set_action_icon(self.export_action, "export")
        self.export_action.setShortcut(QKeySequence(EXPORT_SHORTCUT))
        self.export_action.triggered.connect(self.on_export_action_triggered)
        widget.addAction(self.export_action)
        # Offered with a copy refused for its size: the same rows belong in a file.
        self.instead_button = QToolButton(widget)
        self.instead_button.setText("Export instead…")
        self.instead_button.setAccessibleName("Export instead…")
        self.instead_button.clicked.connect(self.on_instead_button_clicked)
        self.instead_button.hide()

    def offer(self, refusal: str) -> None:
        """Say why a copy was refused, with Export instead… beside it while it shows."""
        self._refusal = refusal
        self.window.tell(refusal)
        self.instead_button.show()

    def on_status_message_changed(self, text: str) -> None:
        # The Export instead… button goes with the refusal it answers.
        if text != self._refusal or not text:
            self._refusal = ""
            self.instead_button.hide()

    def abandon(self) -> None:
        """The rows are no longer the window's to export (it closes, or shows another
        database): the dialog goes, and an export under way is cancelled — its progress
        and its result had only this window to show in; the partial file goes, the target
        stays as it was."""
        if self.dialog is not None:
            self.dialog.reject()
        if self.task is not None and not self.task.done():
            self.task.cancel()

    @async_slot()
    async def on_export_action_triggered(self) -> None:
        await self._export_from_trigger(prefer_selected=False)

    @async_slot()
    async def on_instead_button_clicked(self) -> None:
        self.window.clear_message()
        await self._export_from_trigger(prefer_selected=True)

    def _alive(self) -> bool:
        """False once the window was closed and deleted (with this and its widgets)."""
        return shiboken6.isValid(self.widget)

    async def _export_from_trigger(self, *, prefer_selected: bool) -> None:
        # One export at a time per window: its dialog, then its progress.
        self.export_action.setEnabled(False)
        self.instead_button.setEnabled(False)
        try:
            await self.export_rows(prefer_selected=prefer_selected)
        finally:
            if self._alive():
                self.export_action.setEnabled(True)
                self.instead_button.setEnabled(True)

    async def export_rows(self, *, prefer_selected: bool = False) -> None:
        """Ask what to export and where, then write it with a progress window while the
        window stays usable. The rows are the view as the dialog opened on it: all of them,
        or the selected blocks of whole rows (in view order). Ends with ``finished``."""
        window = self.window
        assert window.model is not None
        model, view = window.model, window.view  # the window may move on while this waits
        selected = row_ranges(cell_blocks(window.table))
        dialog = ExportDialog(
            view,
            model.count_text(),
            sum(last - first + 1 for first, last in selected),
            ExportSettings(),
            self.widget,
            prefer_selected=prefer_selected,
            known=window.desk.workspace.catalog,
        )
        resets: list[None] = []

        def on_model_count_changed() -> None:
            dialog.set_count_text(model.count_text())

        def on_model_reset() -> None:
            resets.append(None)

        model.count_changed.connect(on_model_count_changed)
        model.modelReset.connect(on_model_reset)
        self.dialog = dialog
        # Emitted before choose() opens it, in the same step: a listener runs once it shows.
        self.dialog_shown.emit(dialog)
        result: ExportResult | None = None
        try:
            choice = await dialog.choose()
            if choice is None or not self._alive():
                return
            ranges: tuple[KeyRange, ...] = ()
            if choice.selected:
                if resets or model is not window.model:
                    self._tell_refused(
                        "The rows changed (a new search or a refresh) while the dialog was "
                        "open; select the rows again."
                    )
                    return
                try:
                    ranges = await selection_key_ranges(model, window.desk.records, selected)
                except ResultChangedError:
                    self._tell_refused(
                        "The rows changed (a new search or a refresh) meanwhile; select the "
                        "rows again."
                    )
                    return
                except RecordsDeskError as error:
                    self._tell_refused(str(error))
                    return
            request = ExportRequest(view, ranges, all_columns=choice.all_columns)
            result = await self._run(request, choice)
        finally:
            if shiboken6.isValid(model):  # a model replaced meanwhile may be gone already
                model.count_changed.disconnect(on_model_count_changed)
                model.modelReset.disconnect(on_model_reset)
            if shiboken6.isValid(dialog):
                dialog.deleteLater()
            if self._alive():
                self.dialog = None
                self.finished.emit(result)

    async def _run(self, request: ExportRequest, choice: ExportChoice) -> ExportResult | None:
        entity = self.window.entity
        figures = ExportProgress()
        progress = ExportProgressWindow(figures, f"Exporting {entity.label.lower()}")
        task = spawn(
            self.window.desk.workspace.export(request, choice.export_options, choice.path, figures),
            name=f"export {entity.name}",
            awaited=True,  # its errors are ours to show (below) or to raise to the hook
        )
        self.task = task
        try:
            completed = await with_progress(task, progress, parent=self.widget)
        except RecordsDeskError as error:
            if self._alive():
                self._tell_refused(str(error))
            return None
        finally:
            if self._alive():
                self.task = None
        if not self._alive():  # the window was closed, which cancelled the export
            return None
        if not completed:
            self.window.tell(f"Export cancelled; {choice.path.name} was not written.")
            return None
        result = task.result()
        self._tell_done(result)
        return result

    def _tell_refused(self, text: str) -> None:
        self._show_message(
            QMessageBox.Icon.Warning, "Export failed", f"Nothing was exported: {text}"
        )

    def _tell_done(self, result: ExportResult) -> None:
        box = self._show_message(
            QMessageBox.Icon.Information, "Export finished", result_text(result)
        )
        if result.path is None:
            return
        box.setInformativeText(str(result.path))
        folder = result.path.parent
        show = box.addButton("Show in folder", QMessageBox.ButtonRole.ActionRole)
        show.setAccessibleName("Show in folder")
        show.clicked.connect(lambda: self.show_folder(folder))

    def show_folder(self, folder: Path) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _show_message(self, icon: QMessageBox.Icon, title: str, text: str) -> QMessageBox:
        if self.message is not None:
            self.message.close()
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.widget)
        box.setAccessibleName(title)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        ok = box.button(QMessageBox.StandardButton.Ok)
        ok.setAccessibleName(ok.text().replace("&", ""))
        box.finished.connect(lambda _result: self._forget_message(box))
        self.message = box
        # Not modal: the message waits while the user goes on browsing.
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()
        return box

    def _forget_message(self, box: QMessageBox) -> None:
        if self.message is box:
            self.message = None
