"""Amounts typed into forms, dialogs and filters are read in the user's locale and refused
in words when they hold more decimals than a cent, or are not written the locale's way —
never rounded, never read as another number ("0.001" in German is not 1.00)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from PySide6.QtCore import QLocale
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from app.core.database import Database
from app.services import catalog
from app.services.records import RecordService
from app.workspace import Workspace
from tests.ui.conftest import wait_for
from tests.ui.dialogs import dialogs_fixture  # noqa: F401 (the dialogs fixture)
from tests.ui.forms import saved_or_refused, type_into
from ui.dialogs.record_form import RecordFormDialog
from ui.dialogs.transactions import TransferDialog
from ui.widgets.filter_editors import NumberRangeEditor
from ui.widgets.filter_values import InvalidNumberError, parse_integer, parse_money

GERMAN = QLocale(QLocale.Language.German, QLocale.Country.Germany)
US_ENGLISH = QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
PASSWORD = "correct horse"


@pytest.fixture
def german(qapp: QApplication) -> Iterator[None]:
    """Widgets made during the test read numbers as a German desktop writes them."""
    previous = QLocale()
    QLocale.setDefault(GERMAN)
    yield
    QLocale.setDefault(previous)


@pytest.mark.parametrize(
    ("locale", "typed", "read"),
    [
        (GERMAN, "0,5", Decimal("0.50")),
        (GERMAN, "1.234,56", Decimal("1234.56")),
        (GERMAN, "1.000", Decimal("1000.00")),
        (US_ENGLISH, "0.5", Decimal("0.50")),
        (US_ENGLISH, "1,234.56", Decimal("1234.56")),
    ],
)
def test_an_amount_is_read_as_the_locale_writes_it(
    qapp: QApplication, locale: QLocale, typed: str, read: Decimal
) -> None:
    assert parse_money(typed, locale) == read


@pytest.mark.parametrize(
    ("locale", "typed", "words"),
    [
        # The English way in German: a misplaced thousands separator, not 1.00.
        (GERMAN, "0.001", "is not an amount (write amounts like 1234,56 or 1.234,56)"),
        (GERMAN, "0.05", "is not an amount"),
        (GERMAN, "0,001", "more than 2 decimal places"),
        (GERMAN, "1,000", "more than 2 decimal places"),
        (US_ENGLISH, "0,001", "is not an amount (write amounts like 1234.56 or 1,234.56)"),
        (US_ENGLISH, "0.001", "more than 2 decimal places"),
        (US_ENGLISH, "1.005", "more than 2 decimal places"),
    ],
)
def test_an_amount_that_is_not_a_cent_exactly_is_refused_never_rounded(
    qapp: QApplication, locale: QLocale, typed: str, words: str
) -> None:
    with pytest.raises(InvalidNumberError, match=re.escape(words)):
        parse_money(typed, locale)


def test_a_whole_number_in_german_is_not_read_from_a_decimal(qapp: QApplication) -> None:
    assert parse_integer("1.000", GERMAN) == 1000
    with pytest.raises(InvalidNumberError, match="not a whole number"):
        parse_integer("0.001", GERMAN)


def test_the_record_form_refuses_an_amount_at_its_field(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    dialogs: list[QDialog],
    german: None,
) -> None:
    async def scenario() -> None:
        records = RecordService(ui_database)
        user = await records.create(
            "users", {"email": "b@example.org", "name": "Buyer"}, password=PASSWORD
        )
        order = await records.create("orders", {"user_id": user["id"]})
        form = RecordFormDialog(catalog.entity("order_items"), records)
        dialogs.append(form)
        form.show()
        form.editors["order_id"].set_value(order["id"])
        type_into(form, "product", "Lamp")
        type_into(form, "quantity", "1")
        type_into(form, "unit_price", "0.001")
        outcome, _ = await saved_or_refused(form)
        assert outcome == "refused"
        problem = form.error_labels["unit_price"]
        assert not problem.isHidden()
        assert "“0.001” is not an amount" in problem.text()
        type_into(form, "unit_price", "0,5")
        outcome, item = await saved_or_refused(form)
        assert outcome == "saved"
        assert item["unit_price"] == Decimal("0.50")

    qt_loop.run_until_complete(scenario())


def test_the_transfer_dialog_refuses_an_amount_at_its_field(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    dialogs: list[QDialog],
    german: None,
) -> None:
    async def scenario() -> None:
        dialog = TransferDialog(Workspace(ui_database))
        dialogs.append(dialog)
        dialog.show()
        dialog.editors["from_account_id"].set_value(1)
        dialog.editors["to_account_id"].set_value(2)
        type_into(dialog, "amount", "0.001")
        refused = asyncio.ensure_future(wait_for(dialog.refused))
        dialog.save()
        await refused
        assert "“0.001” is not an amount" in dialog.error_labels["amount"].text()
        dialog.close()

    qt_loop.run_until_complete(scenario())


def test_a_money_filter_refuses_an_amount_in_words(
    qtbot: QtBot, dialogs: list[QDialog], german: None
) -> None:
    editor = NumberRangeEditor(catalog.entity("orders").column("total"))
    qtbot.addWidget(editor)

    editor.min_edit.setText("0.001")

    assert editor.error_label.text().startswith("Min: “0.001” is not an amount")
    editor.min_edit.setText("0,01")
    assert editor.error_label.text() == ""
