"""How values read, chosen once for every window: today, the style of dates.

Kept with the window state in the same INI file, and announced by ``changed`` so that open
windows show the new style at once.
"""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import QObject, QSettings, Signal

from ui.window_state import state_settings

DATES_KEY = "display/dates"


class DateStyle(StrEnum):
    # 2025-02-03 10:51: the same in every locale, and sorts as text.
    ISO = "iso"
    # The system locale's short format: 03.02.25 10:51, 2/3/25 10:51 AM.
    SYSTEM = "system"


class DisplayPreferences(QObject):
    changed = Signal()

    def __init__(self, settings: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._settings = settings or state_settings()
        stored = str(self._settings.value(DATES_KEY, DateStyle.ISO.value) or "")
        try:
            self._date_style = DateStyle(stored)
        except ValueError:  # a newer version's style or a hand edit: the default
            self._date_style = DateStyle.ISO

    @property
    def date_style(self) -> DateStyle:
        return self._date_style

    def set_date_style(self, style: DateStyle) -> None:
        if style is self._date_style:
            return
        self._date_style = style
        self._settings.setValue(DATES_KEY, style.value)
        self._settings.sync()
        self.changed.emit()


_current: DisplayPreferences | None = None


def display_preferences() -> DisplayPreferences:
    """The preferences every window reads, loaded from the user's INI file on first use."""
    global _current
    if _current is None:
        _current = DisplayPreferences()
    return _current


# A start after a clean quit reopens the windows left open (the session journal, ui/journal.py).
REOPEN_KEY = "session/reopen_windows"


def reopen_windows(settings: QSettings | None = None) -> bool:
    """Whether a start after a clean quit reopens the windows left open (the default)."""
    value = (settings or state_settings()).value(REOPEN_KEY, "true")
    return str(value).lower() == "true"


def set_reopen_windows(reopen: bool, settings: QSettings | None = None) -> None:
    settings = settings or state_settings()
    settings.setValue(REOPEN_KEY, "true" if reopen else "false")
    settings.sync()
