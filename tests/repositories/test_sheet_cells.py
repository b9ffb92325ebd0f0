"""The worksheet cells the database writes: columns named as Excel names them (the XLSX
export's tests, tests/services/test_export_typed.py, read whole workbooks back)."""

from __future__ import annotations

import pytest

from app.repositories.sheet_cells import column_letters


@pytest.mark.parametrize(
    ("position", "letters"),
    [(0, "A"), (7, "H"), (25, "Z"), (26, "AA"), (51, "AZ"), (52, "BA"), (701, "ZZ"), (702, "AAA")],
)
def test_columns_are_named_as_excel_names_them(position: int, letters: str) -> None:
    assert column_letters(position) == letters
