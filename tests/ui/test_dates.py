"""Dates read the same everywhere (issue 6, item 10): ISO 8601 in the user's time zone by
default, whatever the locale — the C/POSIX locale's short format reads "3 02 2025 10:51" —
the system format when the user chooses it, and a copy that names the same local time as
the cell, with its offset."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QLocale, QSettings
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from app.config import config_dir
from app.core.database import Database
from app.services.catalog import entity
from app.workspace import Desk
from tests.ui.conftest import wait_for
from ui.column_looks import display_text
from ui.formatting import format_datetime, plain_text
from ui.main_window import MainWindow
from ui.preferences import DATES_KEY, DateStyle, DisplayPreferences, display_preferences
from ui.window_state import STATE_FILE_NAME

# POSIX rules rather than zoneinfo names: they need no tz database on the test box.
PARIS = "CET-1CEST,M3.5.0,M10.5.0/3"
NEW_YORK = "EST5EDT,M3.2.0,M11.1.0"

WINTER = datetime(2025, 2, 3, 9, 51, 23, tzinfo=UTC)  # 10:51:23 in Paris (+01:00)
SUMMER = datetime(2025, 7, 1, 9, 51, 23, tzinfo=UTC)  # 11:51:23 in Paris (+02:00)
CREATED = entity("users").column("created_at")


def use_time_zone(zone: str | None) -> None:
    if zone is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = zone
    time.tzset()


@pytest.fixture
def c_locale() -> Iterator[None]:
    previous = QLocale()
    QLocale.setDefault(QLocale.c())
    yield
    QLocale.setDefault(previous)


@pytest.fixture
def paris() -> Iterator[None]:
    previous = os.environ.get("TZ")
    use_time_zone(PARIS)
    yield
    use_time_zone(previous)


@pytest.mark.usefixtures("c_locale", "paris")
def test_iso_by_default_in_the_c_locale_and_local_time() -> None:
    assert display_preferences().date_style is DateStyle.ISO
    assert format_datetime(WINTER) == "2025-02-03 10:51"
    assert format_datetime(SUMMER) == "2025-07-01 11:51"
    assert display_text(CREATED, WINTER) == "2025-02-03 10:51"


@pytest.mark.usefixtures("c_locale", "paris")
def test_system_format_is_the_locales_short_format_in_local_time() -> None:
    # What the issue saw: Qt's C-locale short format, now only when the user asks for it.
    assert format_datetime(WINTER, style=DateStyle.SYSTEM) == "3 02 2025 10:51"
    us = QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
    shown = format_datetime(SUMMER, us, DateStyle.SYSTEM)
    assert shown.startswith("7/1/25 11:51")
    assert shown.endswith("AM")


@pytest.mark.usefixtures("c_locale", "paris")
def test_copy_is_the_local_moment_shown_with_its_offset() -> None:
    assert plain_text(WINTER) == "2025-02-03 10:51:23+01:00"
    assert plain_text(SUMMER) == "2025-07-01 11:51:23+02:00"


@pytest.mark.usefixtures("c_locale")
@pytest.mark.parametrize("zone", [PARIS, NEW_YORK, "UTC0"])
@pytest.mark.parametrize(
    "moment",
    [
        WINTER,
        SUMMER,
        datetime(2025, 3, 30, 0, 59, 59, tzinfo=UTC),  # a minute before Paris springs ahead
        datetime(2025, 3, 30, 1, 0, 0, tzinfo=UTC),
        datetime(2025, 11, 2, 5, 30, 0, tzinfo=UTC),  # New York's repeated hour, second pass
        datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    ],
)
def test_copy_and_display_name_the_same_local_time(zone: str, moment: datetime) -> None:
    previous = os.environ.get("TZ")
    use_time_zone(zone)
    try:
        pasted = plain_text(moment)
        shown_iso = format_datetime(moment, style=DateStyle.ISO)
        shown_system = format_datetime(moment, style=DateStyle.SYSTEM)
    finally:
        use_time_zone(previous)
    copied = datetime.fromisoformat(pasted)
    # The paste means the same instant, to the second...
    assert copied == moment.replace(microsecond=0)
    # ...and reads as the same wall time as the cell, in either style.
    assert pasted.startswith(shown_iso)
    assert shown_system == (
        f"{copied.day} {copied.month:02} {copied.year} {copied.hour:02}:{copied.minute:02}"
    )


def test_the_choice_is_kept_in_the_window_state_file_and_announced(qtbot: QtBot) -> None:
    path = config_dir() / STATE_FILE_NAME
    chosen = DisplayPreferences(QSettings(str(path), QSettings.Format.IniFormat))
    assert chosen.date_style is DateStyle.ISO

    with qtbot.waitSignal(chosen.changed):
        chosen.set_date_style(DateStyle.SYSTEM)
    with qtbot.assertNotEmitted(chosen.changed):
        chosen.set_date_style(DateStyle.SYSTEM)

    assert "dates=system" in path.read_text()
    again = DisplayPreferences(QSettings(str(path), QSettings.Format.IniFormat))
    assert again.date_style is DateStyle.SYSTEM


def test_an_unknown_stored_style_reads_as_iso() -> None:
    path = config_dir() / STATE_FILE_NAME
    settings = QSettings(str(path), QSettings.Format.IniFormat)
    settings.setValue(DATES_KEY, "sundial")
    settings.sync()
    assert DisplayPreferences(settings).date_style is DateStyle.ISO


@pytest.mark.usefixtures("c_locale", "paris")
def test_the_main_windows_view_menu_switches_every_date(
    qt_loop: asyncio.AbstractEventLoop, ui_database: Database, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        main = MainWindow("test database", Desk.on(ui_database))
        qtbot.addWidget(main)
        view = next(
            menu
            for menu in main.menuBar().findChildren(QMenu)
            if menu.title().replace("&", "") == "View"
        )
        (action,) = [a for a in view.actions() if a.text() == "Dates in system format"]
        assert action is main.system_dates_action
        assert action.isCheckable()
        assert not action.isChecked()
        assert display_text(CREATED, WINTER) == "2025-02-03 10:51"

        announced: list[bool] = []
        display_preferences().changed.connect(lambda: announced.append(True))
        action.trigger()

        assert announced == [True]  # browse windows redraw on this signal

        assert display_preferences().date_style is DateStyle.SYSTEM
        assert display_text(CREATED, WINTER) == "3 02 2025 10:51"
        stored = QSettings(str(config_dir() / STATE_FILE_NAME), QSettings.Format.IniFormat)
        assert stored.value(DATES_KEY) == "system"

        # A change made elsewhere shows in the menu too.
        display_preferences().set_date_style(DateStyle.ISO)
        assert not action.isChecked()
        main.close()
        await wait_for(main.closed)

    qt_loop.run_until_complete(scenario())
