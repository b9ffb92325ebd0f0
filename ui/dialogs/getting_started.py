"""Help → Getting started: the first things to try, in the words the windows use."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

TITLE = "Getting started"

# Plain HTML a QLabel shows: the steps a first session takes, each with where to find it.
STEPS = """
<h3>Getting started with Records Desk</h3>
<ol>
<li><b>Your records.</b> The main window lists each kind of record with how many there
are. An empty database offers <i>Load demo data</i> (File menu): a thousand made-up users
with their profiles, posts, orders and accounts, a few of them in the trash.</li>
<li><b>Browse.</b> Double-click a kind (or select it and press Enter) to open its window.
Type in the search box to find rows, add filters above the grid, click a column header to
sort. Every row of the result can be reached, however many there are.</li>
<li><b>Read and change.</b> Enter opens the selected record, F2 edits it, Ctrl+N makes a
new one, Delete moves the selection to the trash. <i>View → Trash</i> shows what is there
and Restore brings it back. Ctrl+Z undoes, Ctrl+Shift+Z redoes.</li>
<li><b>Follow.</b> <i>Go → Related</i> (or Related on the toolbar) opens the selected
record's related records (a user's posts, an order's items); Back (Alt+Left) returns to
where you were.</li>
<li><b>Count and total.</b> The footer adds up the amounts of the view and of the
selection; Shift+F on a column shows how often each value occurs. <i>Insights</i> (Ctrl+I)
answers the common questions over your views.</li>
<li><b>Take it elsewhere.</b> Ctrl+C copies the selection as a table; Ctrl+E exports what
the window shows to CSV, an Excel workbook or JSON Lines.</li>
<li><b>Other databases.</b> <i>File → Connections…</i> keeps SQLite files and PostgreSQL
servers; a connection can be read-only.</li>
</ol>
<p><i>Help → Keyboard shortcuts</i> lists every key.</p>
"""


class GettingStartedDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.setAccessibleName(TITLE)
        self.text_label = QLabel(STEPS, self)
        self.text_label.setAccessibleName("Steps")
        self.text_label.setTextFormat(Qt.TextFormat.RichText)
        self.text_label.setWordWrap(True)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName(close.text().replace("&", ""))
        close.setDefault(True)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text_label)
        layout.addWidget(buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 72)
