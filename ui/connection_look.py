"""What every window shows of the connection it works on: its name, its colour and whether
it is read-only (a badge in the status bar), and a banner for what the user must know."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.desktop import Settings
from app.workspace import Workspace

READ_ONLY_REASON = "This connection is read-only: nothing can be changed through it."
FOREIGN_REASON = (
    "This is another program's database: it is open read-only, and nothing in it is changed "
    "(File → Allow editing of this database changes that)."
)


@dataclass(frozen=True)
class ConnectionLook:
    name: str  # the saved connection's name, or where the database is
    description: str  # where the database is, never with a password
    colour: str = ""  # "#rrggbb" or ""
    read_only: bool = False
    # Another program's database: read-only unless its connection allows editing it.
    foreign: bool = False

    @classmethod
    def of(cls, settings: Settings | None, workspace: Workspace) -> ConnectionLook:
        connection = settings.connection if settings is not None else None
        database = workspace.database
        description = database.display_name
        return cls(
            name=connection.name if connection is not None else description,
            description=description,
            colour=connection.colour if connection is not None else "",
            read_only=database.read_only,
            foreign=not workspace.catalog.ours,
        )

    @property
    def read_only_reason(self) -> str:
        if self.foreign and self.read_only:
            return FOREIGN_REASON
        return READ_ONLY_REASON if self.read_only else ""

    @property
    def title(self) -> str:
        """The connection as a window title names it."""
        return f"{self.name} (read-only)" if self.read_only else self.name


class ConnectionBadge(QLabel):
    """The connection's name on its colour, and "read-only" where it is."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Connection")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setContentsMargins(6, 0, 6, 0)

    def show_look(self, look: ConnectionLook) -> None:
        text = look.name + (" · read-only" if look.read_only else "")
        self.setText(text)
        self.setToolTip(look.description + (f"\n{look.read_only_reason}" if look.read_only else ""))
        if look.colour:
            colour = QColor(look.colour)
            # Text that reads on the colour: dark on light colours, light on dark ones.
            ink = "#000000" if colour.lightnessF() > 0.55 else "#ffffff"
            self.setStyleSheet(
                f"QLabel {{ background: {colour.name()}; color: {ink}; border-radius: 3px; }}"
            )
        else:
            self.setStyleSheet("")


class Banner(QFrame):
    """A line across the top of a window for what the user must know now (a database that
    cannot be reached, a file opened read-only), with the buttons that act on it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Notice")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("banner")
        self.setStyleSheet("QFrame#banner { background: palette(alternate-base); }")
        layout = self._layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        self.label = QLabel(self)
        self.label.setAccessibleName("Notice text")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.buttons: list[QPushButton] = []
        self.hide()

    def add_button(self, text: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setAccessibleName(text)
        self._layout.addWidget(button)
        self.buttons.append(button)
        return button

    def say(self, text: str) -> None:
        """Show ``text``; an empty one hides the banner."""
        self.label.setText(text)
        self.setVisible(bool(text))
