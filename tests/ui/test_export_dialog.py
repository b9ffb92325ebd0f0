"""Export search results to CSV from a browse window (issue 7, the GUI side): Ctrl+E opens a
dialog that proposes a dated file name in the last folder (Documents the first time) and
remembers its options; the file holds exactly the rows and columns of the view — or of the
selected blocks, in view order; Cancel leaves the target as it was; the end says how much
was written. Data tests run on both engines (``ui_database``).

An export that must still be running when Cancel is pressed is held by a stand-in for the
engine's part of the service that waits on an event nobody sets: it is cancelled, never
timed.
"""

from __future__ import annotations

import asyncio
import csv
import gc
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import openpyxl
import platformdirs
import pytest
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QLocale, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence, QShowEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QFileDialog,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.core.database import Database
from app.query import QuerySpec, Range, SortKey, ViewState
from app.services import catalog
from app.services import export as export_service
from app.services.errors import ValidationError
from app.services.export import (
    CsvOptions,
    ExportError,
    ExportProgress,
    ExportResult,
    proposed_file_name,
)
from app.services.export_formats import ExportFormat, ExportOptions
from app.services.export_xlsx import XlsxOptions
from app.services.records import RecordService
from app.workspace import Desk
from tests.test_cli import plain, records_desk
from tests.ui.answering import DialogWatch, choose_file, loop_errors_recorded
from tests.ui.conftest import seed, wait_for
from tests.ui.helpers import (
    ModelWatch,
    all_rows,
    model_of,
    open_window,
    raw,
    seed_users,
    settled,
    wait_exact,
)
from ui import copying, progress
from ui.browse_window import BrowseWindow
from ui.dialogs.export_dialog import ExportChoice, ExportDialog
from ui.export_controller import ExportController
from ui.export_settings import ExportSettings
from ui.exporting import file_size_text, progress_text, result_text
from ui.record_table_model import is_cut
from ui.window_state import WindowState

W = TypeVar("W", bound=QWidget)
ENGLISH = QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)


def named(parent: QWidget, kind: type[W], name: str) -> W:
    """The one child of ``kind`` whose accessible name is ``name``."""
    found = [widget for widget in parent.findChildren(kind) if widget.accessibleName() == name]
    assert len(found) == 1, f"{len(found)} {kind.__name__} named {name!r}"
    return found[0]


@pytest.fixture(autouse=True)
def collected_here() -> Iterator[None]:
    """Garbage from a test collected before the next one starts. A dialog with no parent
    that a reference cycle keeps (a test's frame, held by the exception ``pytest.raises``
    caught) is otherwise destroyed by whichever thread the collector next runs in — an
    export's writer or SQLite worker — and Qt warns "Timers cannot be stopped from another
    thread". (The app's dialogs have parents and are deleted by Qt.)"""
    yield
    gc.collect()


@pytest.fixture
def documents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's Documents folder, under tmp_path."""
    folder = tmp_path / "Documents"
    folder.mkdir()
    monkeypatch.setattr(platformdirs, "user_documents_path", lambda: folder)
    return folder


@pytest.fixture
def english() -> Any:
    """Numbers as "12,345" whatever the machine's locale."""
    before = QLocale()
    QLocale.setDefault(ENGLISH)
    yield ENGLISH
    QLocale.setDefault(before)


def users_dialog(
    qtbot: QtBot, view: ViewState | None = None, selected_rows: int = 0
) -> ExportDialog:
    dialog = ExportDialog(
        view or ViewState("users", columns=("id", "email", "name")),
        "5",
        selected_rows,
        ExportSettings(),
    )
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


async def open_export_dialog(window: BrowseWindow) -> ExportDialog:
    """What Ctrl+E does, and the dialog once it is open."""
    window.exports.export_action.trigger()
    (dialog,) = await wait_for(window.exports.dialog_shown)
    assert isinstance(dialog, ExportDialog)
    assert dialog.isVisible()
    return dialog


async def export_to(window: BrowseWindow, dialog: ExportDialog, path: Path) -> Any:
    """Press Export for ``path``; how the export ended (its ExportResult, or None)."""
    dialog.file_edit.setText(str(path))
    dialog.export_button.click()
    (result,) = await wait_for(window.exports.finished)
    return result


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def select_rows(window: BrowseWindow, blocks: list[tuple[int, int]]) -> None:
    """Blocks of whole rows, as ctrl-dragging over row headers selects them."""
    model = model_of(window)
    selection = QItemSelection()
    for first, last in blocks:
        selection.select(model.index(first, 0), model.index(last, model.columnCount() - 1))
    window.table.selectionModel().select(
        selection, QItemSelectionModel.SelectionFlag.ClearAndSelect
    )


def leftovers(folder: Path) -> list[str]:
    """Temporary files an export left behind."""
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".part"))


# -- the action and the dialog -------------------------------------------------------------


def test_ctrl_e_opens_the_export_dialog_from_the_file_menu_and_the_toolbar(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    english: QLocale,
) -> None:
    seed_users(qt_loop, ui_database, 5)

    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, testers)
        await settled(window)
        action = window.exports.export_action
        assert action.text() == "Export…"
        assert action.shortcut() == QKeySequence("Ctrl+E")
        file_menu = window.menuBar().actions()[0].menu()
        assert isinstance(file_menu, QMenu)
        assert file_menu.title() == "&File"
        assert action in file_menu.actions()
        assert named(window, QToolButton, "Export…").defaultAction() is action

        window.activateWindow()
        QTest.keySequence(window, QKeySequence("Ctrl+E"))
        (dialog,) = await wait_for(window.exports.dialog_shown)
        assert dialog.isVisible()
        assert dialog.all_rows_button.text() == "All 5 rows of this view"
        assert dialog.all_rows_button.isChecked()
        assert not dialog.selected_rows_button.isEnabled()  # nothing is selected
        assert dialog.selected_rows_button.text() == "Selected rows (0)"
        assert dialog.visible_columns_button.isChecked()
        assert dialog.secrets_note is not None
        assert "leaves out the hashed password" in dialog.secrets_note.text()
        for widget in dialog.findChildren(QAbstractButton):
            if widget.isVisible():
                assert widget.accessibleName() == widget.text().replace("&", ""), widget
        assert not action.isEnabled()  # one export at a time
        dialog.reject()
        assert await wait_for(window.exports.finished) == (None,)
        assert action.isEnabled()

    qt_loop.run_until_complete(scenario())


def test_the_first_dialog_proposes_a_dated_name_in_documents(qtbot: QtBot, documents: Path) -> None:
    view = ViewState("users", QuerySpec(search="ada"), ("id", "email"))
    dialog = users_dialog(qtbot, view)

    expected = documents / proposed_file_name(view, date.today())
    assert dialog.file_edit.text() == str(expected)
    assert expected.name == f"users-{date.today().isoformat()}.csv"
    assert dialog.options() == CsvOptions()  # RFC 4180, formula protection on
    assert dialog.formula_box.isChecked()
    assert "apostrophe" in dialog.formula_note.text()
    assert dialog.formula_note.isVisible()


@pytest.mark.parametrize(
    ("count_text", "label"),
    [
        ("990,242", "All 990,242 rows of this view"),
        ("about 990,000", "All about 990,000 rows of this view"),
        ("1,400+", "All 1,400+ rows of this view"),
        ("", "All rows of this view"),
    ],
    ids=["exact", "estimated", "counting", "unknown"],
)
def test_all_rows_says_what_the_window_knows_of_the_count(
    qtbot: QtBot, documents: Path, count_text: str, label: str
) -> None:
    dialog = users_dialog(qtbot)

    dialog.set_count_text(count_text)

    assert dialog.all_rows_button.text() == label
    assert dialog.all_rows_button.accessibleName() == label


def test_options_and_folder_are_remembered_for_the_next_dialog(
    qtbot: QtBot, documents: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    first = users_dialog(qtbot)
    first.delimiter_box.setCurrentIndex(first.delimiter_box.findData("\t"))
    first.header_box.setChecked(False)
    first.encoding_box.setCurrentIndex(first.encoding_box.findData(True))
    first.line_endings_box.setCurrentIndex(first.line_endings_box.findData("\n"))
    QTest.keyClicks(first.empty_text_edit, "NULL")
    first.formula_box.setChecked(False)
    first.file_edit.setText(str(folder / "mine.csv"))
    first.export_button.click()
    assert first.result() == ExportDialog.DialogCode.Accepted
    chosen = CsvOptions(
        delimiter="\t",
        header=False,
        bom=True,
        line_ending="\n",
        empty_text="NULL",
        formula_protection=False,
    )
    assert first.choice is not None
    assert first.choice.options == chosen
    assert first.choice.path == folder / "mine.csv"

    second = users_dialog(qtbot)  # a new dialog reads the settings file afresh

    assert second.options() == chosen
    assert Path(second.file_edit.text()).parent == folder
    assert second.delimiter_box.currentText() == "Tab"
    assert second.encoding_box.currentText() == "UTF-8 with BOM"


@pytest.mark.parametrize(
    ("language", "country", "delimiter", "decimal_point"),
    [
        (QLocale.Language.English, QLocale.Country.UnitedStates, ",", "."),
        (QLocale.Language.German, QLocale.Country.Germany, ";", ","),
        (QLocale.Language.C, QLocale.Country.AnyCountry, ",", "."),
    ],
)
def test_the_excel_preset_follows_the_locale_and_keeps_the_rest(
    qtbot: QtBot,
    documents: Path,
    monkeypatch: pytest.MonkeyPatch,
    language: QLocale.Language,
    country: QLocale.Country,
    delimiter: str,
    decimal_point: str,
) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    before = QLocale()
    QLocale.setDefault(QLocale(language, country))
    try:
        dialog = users_dialog(qtbot)
        dialog.delimiter_box.setCurrentIndex(dialog.delimiter_box.findData("\t"))
        dialog.header_box.setChecked(False)
        dialog.line_endings_box.setCurrentIndex(dialog.line_endings_box.findData("\n"))
        dialog.empty_text_edit.setText("n/a")
        dialog.formula_box.setChecked(False)

        named(dialog, QPushButton, "Excel preset").click()
    finally:
        QLocale.setDefault(before)

    assert dialog.options() == CsvOptions(
        delimiter=delimiter,
        header=True,
        bom=True,
        line_ending="\r\n",
        empty_text="n/a",
        formula_protection=False,
        decimal_point=decimal_point,
        time_zone="Europe/Berlin",
    )
    # The zone is named where the user sees it.
    assert dialog.dates_box.currentText() == "Spreadsheet: local time (Europe/Berlin)"


@pytest.mark.parametrize(
    ("empty_text", "file_name", "problem"),
    [
        ('"', "users.csv", None),  # the service's own words, below
        ("=0", "users.csv", None),
        ("", "", "Choose a file name for the export."),
        ("", "missing/users.csv", "The folder {documents}/missing does not exist."),
    ],
)
def test_invalid_input_keeps_the_dialog_open_with_what_was_typed(
    qtbot: QtBot, documents: Path, empty_text: str, file_name: str, problem: str | None
) -> None:
    dialog = users_dialog(qtbot)
    QTest.keyClicks(dialog.empty_text_edit, empty_text)
    dialog.file_edit.setText(file_name)

    dialog.export_button.click()

    if problem is None:
        with pytest.raises(ValidationError) as refused:
            CsvOptions(empty_text=empty_text).validated()
        problem = str(refused.value)
    assert dialog.isVisible()
    assert dialog.choice is None
    assert dialog.problem_label.isVisible()
    assert dialog.problem_label.text() == problem.format(documents=documents)
    assert dialog.empty_text_edit.text() == empty_text
    assert dialog.file_edit.text() == file_name
    assert ExportSettings().options() == CsvOptions()  # nothing remembered from a refusal


def test_an_existing_file_is_replaced_only_when_the_user_says_so(
    qtbot: QtBot, documents: Path
) -> None:
    target = documents / "users.csv"
    target.write_bytes(b"kept")
    dialog = users_dialog(qtbot)
    dialog.file_edit.setText(str(target))

    dialog.export_button.click()
    box = dialog.replace_box
    assert box is not None
    assert box.isVisible()
    assert "users.csv already exists" in box.text()
    named(box, QPushButton, "Cancel").click()
    assert dialog.isVisible()  # back to the dialog, the name as typed
    assert dialog.choice is None
    assert dialog.file_edit.text() == str(target)

    dialog.export_button.click()
    box = dialog.replace_box
    assert box is not None
    named(box, QPushButton, "Replace").click()
    chosen: ExportChoice | None = dialog.choice  # (mypy still thinks it is None)
    assert chosen is not None
    assert chosen.path == target
    assert dialog.result() == ExportDialog.DialogCode.Accepted
    assert target.read_bytes() == b"kept"  # the dialog only chooses


def test_browse_offers_the_proposed_name_and_takes_the_chosen_file(
    qtbot: QtBot, documents: Path, tmp_path: Path
) -> None:
    chosen = tmp_path / "elsewhere.csv"
    dialog = users_dialog(qtbot)
    proposed = dialog.file_edit.text()

    named(dialog, QPushButton, "Browse…").click()

    file_dialog = dialog.file_dialog
    assert file_dialog is not None
    assert file_dialog.isVisible()  # opened, not exec()'d: this test goes on meanwhile
    assert file_dialog.accessibleName() == "Export"
    assert file_dialog.selectedFiles() == [proposed]
    choose_file(file_dialog, chosen)
    assert dialog.file_edit.text() == str(chosen)
    assert dialog.file_dialog is None


def test_a_browse_window_searches_on_while_browse_asks_for_a_file(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    windows: list[BrowseWindow],
    documents: Path,
) -> None:
    """Browse… used to run QFileDialog.getSaveFileName, a nested event loop: clicked from a
    task, it stalled every other window's work until the dialog closed (issue 21)."""
    seed_users(qt_loop, ui_database, 30)
    chosen = documents / "chosen.csv"

    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, None)
        await settled(window)
        dialog = await open_export_dialog(window)
        window.search_box.setText("no such user")
        window.search_box.returnPressed.emit()  # its queries start on the loop's next turn
        asking = DialogWatch(QFileDialog)
        named(dialog, QPushButton, "Browse…").click()
        file_dialog = await asking.shown()
        model = model_of(window)
        await wait_exact(model)  # not settled(): the export's own task waits on the dialog
        assert model.rowCount() == 0
        assert file_dialog.isVisible()

        choose_file(file_dialog, chosen)
        assert await export_to(window, dialog, chosen) is not None

    with loop_errors_recorded(qt_loop) as errors:
        qt_loop.run_until_complete(scenario())
    assert errors == []
    rows = read_csv(chosen)
    assert rows[0][:3] == ["id", "email", "name"]
    assert len(rows) == 1 + 30  # the view the dialog was opened on, before the search


def test_progress_and_result_read_as_people_count() -> None:
    figures = ExportProgress(rows=12_345, total=990_242, started=100.0)
    assert progress_text(figures, 105.5, ENGLISH) == "12,345 of 990,242 rows\nElapsed 0:05"
    figures.total = None
    assert progress_text(figures, 100.0 + 3_723, ENGLISH) == "12,345 rows\nElapsed 1:02:03"
    result = ExportResult(rows=990_242, bytes=1_234_567, path=Path("/x/users.csv"), seconds=2)
    assert file_size_text(1_234_567, ENGLISH) == "1.2 MB"
    assert result_text(result, ENGLISH) == "Exported 990,242 rows to users.csv (1.2 MB)."


# -- running it ----------------------------------------------------------------------------


def test_all_rows_of_a_searched_filtered_sorted_view_with_its_columns(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    documents: Path,
) -> None:
    seed_users(qt_loop, ui_database, 40)
    spec = QuerySpec(
        search="1", filters=(Range("id", low=5),), sort=(SortKey("name", descending=True),)
    )

    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, testers)
        await settled(window)
        window.set_view(ViewState("users", spec, ("name", "id", "email")))  # hidden, reordered
        model = await settled(window)
        expected = await all_rows(ui_database, "users", spec)
        assert 0 < len(expected) < 40
        assert model.rowCount() == len(expected)

        dialog = await open_export_dialog(window)
        target = documents / "found.csv"
        result = await export_to(window, dialog, target)

        assert isinstance(result, ExportResult)
        assert result.rows == len(expected)
        names = model.entity.column_names
        shown = [
            [str(row[names.index(column)]) for column in ("name", "id", "email")]
            for row in expected
        ]
        assert read_csv(target) == [["name", "id", "email"], *shown]
        on_screen = [model.record_id(row) for row in range(model.rowCount())]
        assert [int(line[1]) for line in read_csv(target)[1:]] == on_screen
        assert leftovers(documents) == []

    qt_loop.run_until_complete(scenario())


def test_the_window_writes_the_bytes_the_command_line_writes(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    documents: Path,
) -> None:
    seed_users(qt_loop, ui_database, 40)
    spec = QuerySpec(search="1", sort=(SortKey("name", descending=True),))
    target = documents / "window.csv"

    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, testers)
        await settled(window)
        window.set_view(ViewState("users", spec, ("name", "is_active", "created_at", "id")))
        await settled(window)
        dialog = await open_export_dialog(window)
        dialog.show_options(
            CsvOptions(delimiter=";", bom=True, line_ending="\n", empty_text="NULL")
        )
        assert isinstance(await export_to(window, dialog, target), ExportResult)

    qt_loop.run_until_complete(scenario())
    from_cli = documents / "cli.csv"
    ran = records_desk(
        "export",
        "users",
        "--database-url",
        plain(ui_database.url),
        "--search",
        "1",
        "--sort",
        "name:desc",
        "--columns",
        "name,is_active,created_at,id",
        "--delimiter",
        ";",
        "--bom",
        "--line-ending",
        "lf",
        "--empty",
        "NULL",
        "--output",
        str(from_cli),
    )
    assert ran.returncode == 0, ran.stderr
    assert from_cli.read_bytes() == target.read_bytes()
    assert target.read_bytes().startswith(b"\xef\xbb\xbfname;is_active;created_at;id\n")


def test_two_selected_blocks_export_only_those_rows_in_view_order(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    documents: Path,
    small_pages: None,
) -> None:
    seed_users(qt_loop, ui_database, 95)
    spec = QuerySpec(sort=(SortKey("email", descending=True),))

    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, testers)
        await settled(window)
        window.set_view(ViewState("users", spec, ("id", "email")))
        model = await settled(window)
        # The second block's rows were never loaded (pages of 10): its ends are read.
        select_rows(window, [(3, 12), (70, 84)])
        assert not model.is_loaded(84)

        dialog = await open_export_dialog(window)
        assert dialog.selected_rows_button.text() == "Selected rows (25)"
        assert dialog.selected_rows_button.isEnabled()
        dialog.selected_rows_button.setChecked(True)
        target = documents / "selected.csv"
        result = await export_to(window, dialog, target)

        everything = await all_rows(ui_database, "users", spec)
        wanted = [*everything[3:13], *everything[70:85]]
        assert isinstance(result, ExportResult)
        assert result.rows == 25
        assert read_csv(target) == [["id", "email"], *[[str(r[0]), r[1]] for r in wanted]]

    qt_loop.run_until_complete(scenario())


def test_a_selection_whose_rows_changed_meanwhile_is_not_exported(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    documents: Path,
) -> None:
    seed_users(qt_loop, ui_database, 10)

    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, testers)
        model = await settled(window)
        select_rows(window, [(2, 4)])
        dialog = await open_export_dialog(window)
        assert dialog.selected_rows_button.isChecked() is False
        dialog.selected_rows_button.setChecked(True)
        model.refresh()  # rows 2..4 may be other records now
        target = documents / "users.csv"

        assert await export_to(window, dialog, target) is None

        box = window.exports.message
        assert box is not None
        assert box.text().startswith("Nothing was exported: The rows changed")
        assert not target.exists()
        await settled(window)

    qt_loop.run_until_complete(scenario())


def test_a_selection_sorted_by_long_text_keeps_its_last_row(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    documents: Path,
) -> None:
    """The grid holds a preview of a long post; a block's end key made of it would sort
    before the post itself and leave that row out of the file."""
    seed(qt_loop, ui_database, 6, deleted_fraction=0, posts_per_user=1)
    spec = QuerySpec(sort=(SortKey("content"),))
    service = RecordService(ui_database)

    async def scenario() -> None:
        for number, post in enumerate(await all_rows(ui_database, "posts", QuerySpec())):
            # Equal far beyond the preview; they differ only at the end.
            await service.update("posts", post[0], {"content": "x" * 600 + f"{number:02d}"})
        window = open_window(service, windows, qtbot, testers, "posts")
        await settled(window)
        window.set_view(ViewState("posts", spec, ("id", "title")))
        model = await settled(window)
        assert is_cut(raw(model, 3, "content"))
        select_rows(window, [(1, 3)])

        dialog = await open_export_dialog(window)
        dialog.selected_rows_button.setChecked(True)
        target = documents / "posts.csv"
        result = await export_to(window, dialog, target)

        everything = await all_rows(ui_database, "posts", spec)
        assert isinstance(result, ExportResult)
        expected = [[str(row[0]), row[1]] for row in everything[1:4]]
        assert read_csv(target) == [["id", "title"], *expected]

    qt_loop.run_until_complete(scenario())


def test_a_view_of_one_number_column_exports(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    documents: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_users(qt_loop, ui_database, 3)
    reported: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda _kind, error, _tb: reported.append(error))

    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, testers)
        await settled(window)
        window.set_view(replace(window.view, columns=("id",)))
        await settled(window)
        dialog = await open_export_dialog(window)
        result = await export_to(window, dialog, documents / "ids.csv")

        assert isinstance(result, ExportResult)
        assert read_csv(documents / "ids.csv") == [["id"], ["1"], ["2"], ["3"]]

    qt_loop.run_until_complete(scenario())
    assert reported == []


def replace_engines(monkeypatch: pytest.MonkeyPatch, run: Any) -> None:
    """Both engines' part of the export becomes ``run`` (same arguments)."""
    monkeypatch.setattr(export_service, "_export_sqlite", run)
    monkeypatch.setattr(export_service, "_export_postgres", run)


class Held:
    """Stands in for the engine's part of the export: writes a little, says how far it is,
    then waits until cancelled — which is what the test does."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = False

    async def run(self, *arguments: Any) -> int:
        destination = arguments[5]
        figures: ExportProgress = arguments[6]
        destination.write(b"1,half a row")
        figures.total = 5
        figures.rows = 2
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return 0


class WatchedProgressDialog(QProgressDialog):
    """The progress window, saying when it shows and what it says."""

    shown: list[WatchedProgressDialog] = []
    appeared = asyncio.Event()
    label_changed = Signal(str)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        WatchedProgressDialog.shown.append(self)
        WatchedProgressDialog.appeared.set()

    def setLabelText(self, text: str) -> None:  # noqa: N802
        super().setLabelText(text)
        self.label_changed.emit(text)


@pytest.mark.parametrize("existing", [False, True], ids=["new file", "existing file"])
def test_cancel_leaves_no_file_and_an_existing_one_as_it_was(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    documents: Path,
    monkeypatch: pytest.MonkeyPatch,
    english: QLocale,
    existing: bool,
) -> None:
    seed_users(qt_loop, ui_database, 5)
    held = Held()
    replace_engines(monkeypatch, held.run)
    monkeypatch.setattr(progress, "PROGRESS_DELAY_S", 0)
    monkeypatch.setattr(progress, "QProgressDialog", WatchedProgressDialog)
    WatchedProgressDialog.shown = []
    WatchedProgressDialog.appeared = asyncio.Event()
    target = documents / "users.csv"
    if existing:
        target.write_bytes(b"the analyst's own work\r\n")

    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, testers)
        await settled(window)
        dialog = await open_export_dialog(window)
        dialog.file_edit.setText(str(target))
        dialog.export_button.click()
        if existing:
            assert dialog.replace_box is not None
            named(dialog.replace_box, QPushButton, "Replace").click()
        ended = asyncio.ensure_future(wait_for(window.exports.finished))
        await held.started.wait()
        await WatchedProgressDialog.appeared.wait()
        (shown,) = WatchedProgressDialog.shown
        assert shown.isVisible()
        assert shown.parent() is window  # the window's, and not modal: it stays usable
        assert not shown.isModal()
        assert shown.windowModality() is Qt.WindowModality.NonModal
        if "2 of 5 rows" not in shown.labelText():
            await wait_for(shown.label_changed, lambda text: "2 of 5 rows" in text)
        assert shown.labelText().startswith("2 of 5 rows\nElapsed 0:0")
        assert len(leftovers(documents)) == 1  # being written beside the target

        named(shown, QPushButton, "Cancel").click()

        assert await ended == (None,)
        assert held.cancelled
        assert leftovers(documents) == []
        if existing:
            assert target.read_bytes() == b"the analyst's own work\r\n"
        else:
            assert not target.exists()
        assert window.statusBar().currentMessage() == (
            "Export cancelled; users.csv was not written."
        )
        assert not [w for w in window.findChildren(QProgressDialog) if w.isVisible()]
        assert window.exports.export_action.isEnabled()

    qt_loop.run_until_complete(scenario())


def test_closing_the_window_mid_export_cancels_it_quietly(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    documents: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_users(qt_loop, ui_database, 5)
    held = Held()
    replace_engines(monkeypatch, held.run)
    reported: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda _kind, error, _tb: reported.append(error))
    target = documents / "users.csv"
    slot_ended = asyncio.Event()
    export_from_trigger = ExportController._export_from_trigger

    async def watched(exports: ExportController, **options: bool) -> None:
        try:
            await export_from_trigger(exports, **options)
        finally:
            slot_ended.set()

    monkeypatch.setattr(ExportController, "_export_from_trigger", watched)

    async def scenario() -> None:
        # Not through open_window: the fixtures would close it again after it is gone.
        window = BrowseWindow(Desk.on(ui_database), catalog.entity("users"), WindowState())
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # as the app's windows are
        window.show()
        await settled(window)
        dialog = await open_export_dialog(window)
        dialog.file_edit.setText(str(target))
        dialog.export_button.click()
        await held.started.wait()
        task = window.exports.task
        assert task is not None
        window.close()
        # The export and the code that waited for it end without touching the window.
        await asyncio.wait([task])
        await slot_ended.wait()  # the slot that awaited it has ended too

    qt_loop.run_until_complete(scenario())
    assert held.cancelled
    assert reported == []
    assert leftovers(documents) == []
    assert not target.exists()


def test_a_failure_the_user_can_fix_is_said_in_words_and_the_target_stays(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    documents: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_users(qt_loop, ui_database, 5)

    async def full_disk(*_: Any) -> int:
        raise ExportError("There is not enough space on the disk for users.csv.")

    replace_engines(monkeypatch, full_disk)
    target = documents / "users.csv"
    target.write_bytes(b"before")

    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, testers)
        await settled(window)
        dialog = await open_export_dialog(window)
        dialog.file_edit.setText(str(target))
        dialog.export_button.click()
        assert dialog.replace_box is not None
        named(dialog.replace_box, QPushButton, "Replace").click()
        assert await wait_for(window.exports.finished) == (None,)

        box = window.exports.message
        assert box is not None
        assert box.isVisible()
        assert box.text() == (
            "Nothing was exported: There is not enough space on the disk for users.csv."
        )
        assert "Traceback" not in box.text() + box.informativeText() + box.detailedText()
        assert target.read_bytes() == b"before"
        assert leftovers(documents) == []

    qt_loop.run_until_complete(scenario())


def test_our_own_bug_in_an_export_reaches_the_exception_hook(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    documents: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_users(qt_loop, ui_database, 5)

    async def broken(*_: Any) -> int:
        raise RuntimeError("a bug in the export")

    replace_engines(monkeypatch, broken)
    reported: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda _kind, error, _tb: reported.append(error))

    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, testers)
        await settled(window)
        dialog = await open_export_dialog(window)
        assert await export_to(window, dialog, documents / "users.csv") is None

        assert window.exports.message is None  # no box of ours: the hook's report says it
        assert window.exports.export_action.isEnabled()

    qt_loop.run_until_complete(scenario())
    assert [str(error) for error in reported] == ["a bug in the export"]  # once
    assert leftovers(documents) == []


def test_the_copy_limit_refusal_offers_an_export_of_the_selected_rows(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    documents: Path,
    monkeypatch: pytest.MonkeyPatch,
    english: QLocale,
) -> None:
    seed_users(qt_loop, ui_database, 10)
    monkeypatch.setattr(copying, "MAX_COPY_ROWS", 3)

    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, testers)
        await settled(window)
        button = named(window.statusBar(), QToolButton, "Export instead…")
        assert not button.isVisible()
        select_rows(window, [(1, 6)])
        await window.copying.copy_selection()
        assert "export the rows to a file" in window.statusBar().currentMessage()
        assert button.isVisible()

        button.click()
        (dialog,) = await wait_for(window.exports.dialog_shown)
        assert dialog.selected_rows_button.isChecked()
        assert dialog.selected_rows_button.text() == "Selected rows (6)"
        assert not button.isVisible()  # it went with the message it answered
        dialog.reject()
        assert await wait_for(window.exports.finished) == (None,)

    qt_loop.run_until_complete(scenario())


def test_the_done_message_shows_rows_size_and_a_way_to_the_folder(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    documents: Path,
    monkeypatch: pytest.MonkeyPatch,
    english: QLocale,
) -> None:
    seed_users(qt_loop, ui_database, 5)
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", opened.append)

    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, testers)
        await settled(window)
        dialog = await open_export_dialog(window)
        target = documents / "users.csv"
        result = await export_to(window, dialog, target)

        assert isinstance(result, ExportResult)
        assert result.bytes == target.stat().st_size
        box = window.exports.message
        assert isinstance(box, QMessageBox)
        assert box.isVisible()
        assert box.text() == f"Exported 5 rows to users.csv ({file_size_text(result.bytes)})."
        assert box.informativeText() == str(target)
        named(box, QPushButton, "Show in folder").click()
        assert opened == [QUrl.fromLocalFile(str(documents))]
        assert len(read_csv(target)) == 6

    qt_loop.run_until_complete(scenario())


# -- other file types ----------------------------------------------------------------------


def test_the_file_type_shows_its_own_options_names_the_file_and_is_remembered(
    qtbot: QtBot, documents: Path
) -> None:
    dialog = users_dialog(qtbot)
    assert dialog.format() is ExportFormat.CSV
    assert dialog.delimiter_box.isVisible()
    assert not dialog.sheets_box.isVisible()
    assert dialog.file_edit.text().endswith(".csv")

    dialog.type_box.setCurrentIndex(dialog.type_box.findData(ExportFormat.XLSX))
    assert dialog.file_edit.text().endswith(".xlsx")
    assert not dialog.delimiter_box.isVisible()
    assert not dialog.excel_button.isVisible()
    assert dialog.sheets_box.isVisible()
    assert dialog.xlsx_times_box.isVisible()
    dialog.xlsx_times_box.setCurrentIndex(dialog.xlsx_times_box.findData(True))
    dialog.sheets_box.setCurrentIndex(dialog.sheets_box.findData(False))
    dialog.file_edit.setText(str(documents / "no-extension"))
    dialog.export_button.click()
    assert dialog.choice is not None
    assert dialog.choice.path == documents / "no-extension.xlsx"
    assert dialog.choice.export_options == ExportOptions(
        ExportFormat.XLSX, CsvOptions(), XlsxOptions(utc=True, split_sheets=False)
    )

    again = users_dialog(qtbot)
    assert again.format() is ExportFormat.XLSX
    assert again.file_edit.text().endswith(".xlsx")
    assert again.export_options().xlsx == XlsxOptions(utc=True, split_sheets=False)
    again.type_box.setCurrentIndex(again.type_box.findData(ExportFormat.JSONL))
    assert again.file_edit.text().endswith(".jsonl")
    assert again.money_box.isVisible()
    assert not again.sheets_box.isVisible()


def test_the_window_exports_a_workbook_and_json_lines_of_its_view(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    testers: ModelWatch,
    windows: list[BrowseWindow],
    documents: Path,
) -> None:
    seed_users(qt_loop, ui_database, 40)
    spec = QuerySpec(search="1", sort=(SortKey("name", descending=True),))

    async def scenario() -> None:
        window = open_window(RecordService(ui_database), windows, qtbot, testers)
        await settled(window)
        window.set_view(ViewState("users", spec, ("name", "id", "is_active")))
        model = await settled(window)
        on_screen = [model.record_id(row) for row in range(model.rowCount())]

        dialog = await open_export_dialog(window)
        dialog.type_box.setCurrentIndex(dialog.type_box.findData(ExportFormat.XLSX))
        result = await export_to(window, dialog, documents / "view.xlsx")
        assert isinstance(result, ExportResult)
        assert result.rows == len(on_screen)
        sheet = openpyxl.load_workbook(documents / "view.xlsx", read_only=True).active
        header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        assert header == ["Name", "ID", "Active"]
        assert [row[1] for row in rows] == on_screen
        assert all(isinstance(row[2], bool) for row in rows)

        dialog = await open_export_dialog(window)
        assert dialog.format() is ExportFormat.XLSX  # remembered
        dialog.type_box.setCurrentIndex(dialog.type_box.findData(ExportFormat.JSONL))
        await export_to(window, dialog, documents / "view.jsonl")
        lines = (documents / "view.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["id"] for line in lines] == on_screen
        assert leftovers(documents) == []

    qt_loop.run_until_complete(scenario())
