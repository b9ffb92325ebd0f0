"""Help → Keyboard shortcuts: every key the open windows answer to, read from their actions
themselves (so the list cannot drift from what the keys do), searchable by what an action
does or by its keys."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

TITLE = "Keyboard shortcuts"


@dataclass(frozen=True)
class Shortcut:
    what: str  # the action's text without its mnemonic ("Move to trash…")
    keys: str  # as the platform writes them ("Ctrl+Shift+Z, Ctrl+Y")
    where: str  # the window it works in ("Main window", "Browse windows")


def shortcuts_of(where: str, windows: Iterable[QWidget]) -> list[Shortcut]:
    """The actions with keys of ``windows`` (menus, toolbars and actions added to them),
    each once, in the order they were made."""
    found: dict[tuple[str, str], Shortcut] = {}
    for window in windows:
        for action in window.findChildren(QAction):
            keys = action.shortcuts()
            text = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
            if not keys or not text or action.isSeparator():
                continue
            written = ", ".join(
                key.toString(QKeySequence.SequenceFormat.NativeText) for key in keys
            )
            found.setdefault((text, written), Shortcut(text, written, where))
    return list(found.values())


class ShortcutsDialog(QDialog):
    def __init__(
        self, shortcuts: list[Shortcut], note: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.setAccessibleName(TITLE)
        self.shortcuts = shortcuts
        self.search_edit = QLineEdit(self)
        self.search_edit.setAccessibleName("Search shortcuts")
        self.search_edit.setPlaceholderText("Search by what it does or by its keys")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self.on_search_edit_text_changed)
        self.table = QTableWidget(len(shortcuts), 3, self)
        self.table.setAccessibleName("Shortcuts")
        self.table.setHorizontalHeaderLabels(["Action", "Keys", "Where"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, shortcut in enumerate(shortcuts):
            for column, text in enumerate((shortcut.what, shortcut.keys, shortcut.where)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.note_label = QLabel(note, self)
        self.note_label.setWordWrap(True)
        self.note_label.setVisible(bool(note))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName(close.text().replace("&", ""))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.table)
        layout.addWidget(self.note_label)
        layout.addWidget(buttons)
        width = self.fontMetrics().averageCharWidth()
        self.resize(width * 80, self.fontMetrics().height() * 30)
        self.search_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def on_search_edit_text_changed(self, text: str) -> None:
        wanted = text.strip().casefold()
        for row, shortcut in enumerate(self.shortcuts):
            shown = f"{shortcut.what} {shortcut.keys} {shortcut.where}".casefold()
            self.table.setRowHidden(row, bool(wanted) and wanted not in shown)

    def visible_actions(self) -> list[str]:
        return [
            shortcut.what
            for row, shortcut in enumerate(self.shortcuts)
            if not self.table.isRowHidden(row)
        ]
