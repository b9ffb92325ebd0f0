"""One rule for every number on screen: counts and amounts group their digits the same way
in every locale, including C, where neither is grouped."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import QLocale

from ui.formatting import count_text, format_money

LOCALES = [
    (QLocale(QLocale.Language.English, QLocale.Country.UnitedStates), "1,001", "282,512.06"),
    (QLocale(QLocale.Language.German, QLocale.Country.Germany), "1.001", "282.512,06"),
    (QLocale.c(), "1001", "282512.06"),
]


@pytest.mark.parametrize(("locale", "count", "amount"), LOCALES, ids=["en-US", "de-DE", "C"])
def test_counts_and_amounts_group_alike(locale: QLocale, count: str, amount: str) -> None:
    assert count_text(1001, locale) == count == locale.toString(1001)
    assert format_money(Decimal("282512.06"), locale) == amount
