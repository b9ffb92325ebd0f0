"""The table model of a browse window: a page cache over the records service.

``data()``, ``rowCount()``, ``headerData()`` and ``flags()`` never wait and never query: a row
that is not cached shows a placeholder and marks its page as wanted; one task fetches the
wanted pages, newest first, a few adjacent pages per query. Every reset (search, filter,
sort, deleted rows) bumps a generation, cancels what is in flight — in the database too —
and drops late answers. The row count is separate state — unknown, estimated, exact — that
never delays the rows, and no page ever contradicts an exact count.

Pages carry previews of long text (``PREVIEW_CHARS``); ``fetch_rows`` and the records
service's ``values`` give what copying needs.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QFont, QPalette
from PySide6.QtWidgets import QApplication

from app.query import After, Before, OffsetPage, PageRequest, QuerySpec, ViewState, sort_key_of
from app.services.catalog import ColumnKind, EntityInfo
from app.services.errors import RecordsDeskError
from app.services.records import RecordService, ReferenceTitles
from ui.column_looks import alignment, display_text
from ui.formatting import format_datetime
from ui.tasks import spawn

log = logging.getLogger(__name__)

# Rows per page: several screens' worth, and still a query of a few milliseconds.
PAGE_SIZE = 200
# Adjacent wanted pages fetched by one query at most.
PAGES_PER_FETCH = 4
# Pages kept in memory; the least recently shown go first, so memory stays flat however
# far one scrolls (8,000 rows).
MAX_CACHED_PAGES = 40
# Pages remembered as wanted; older wishes belong to rows scrolled past long ago.
MAX_WANTED_PAGES = 8
# Every this many rows a sort key is kept, so a jump anywhere costs an OFFSET below it.
ANCHOR_STRIDE = 10_000
# A QTableView cannot show more rows than its pixel height can hold (it hangs past ~70M
# default-height rows), so bigger results are cut here and the status line says so.
MAX_VIEW_ROWS = 20_000_000
# Characters of a text value a page carries: far more than a cell shows, and a post of
# megabytes costs the grid no more than a line of it (copy and the record fetch it whole).
PREVIEW_CHARS = 500
# After a failure, user actions retry the query at most this often: a scroll with the
# server down is not a burst of identical failures.
RETRY_INTERVAL_S = 1.0
PLACEHOLDER = "…"
# What a row's header says when pointed at: it shows nothing, so say what it is for.
ROW_HANDLE_TIP = "Click to select the row; drag or Shift+click for more"
# The raw value of a cell (Decimal, datetime, int…), for copying and following references;
# for long text, the preview (see ``is_cut``).
RAW_VALUE_ROLE = Qt.ItemDataRole.UserRole + 1
# Shown when our own code failed; the details are in the log and the error dialog.
UNEXPECTED_FAILURE = "The rows could not be loaded because of an error in Records Desk."


_ANSWERED_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.FontRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.TextAlignmentRole,
        RAW_VALUE_ROLE,
    }
)


class ResultChangedError(Exception):
    """The query changed (a search, a refresh) while rows of the old one were fetched."""


class CountState(enum.Enum):
    UNKNOWN = "unknown"
    ESTIMATED = "estimated"
    EXACT = "exact"


@dataclass
class CachedPage:
    """PAGE_SIZE rows of the result (fewer at its end), the titles of the records their
    reference columns name, and the cell texts shown so far."""

    rows: list[tuple[Any, ...]]
    titles: ReferenceTitles = field(default_factory=dict)
    texts: dict[tuple[int, int], str] = field(default_factory=dict)


ModelIndex = QModelIndex | QPersistentModelIndex


def is_cut(value: Any) -> bool:
    """Whether a cell's value is a preview of longer text (pages carry PREVIEW_CHARS + 1
    characters of a longer value)."""
    return isinstance(value, str) and len(value) > PREVIEW_CHARS


class RecordTableModel(QAbstractTableModel):
    count_changed = Signal()
    # first and last row of a page range that has just arrived
    rows_loaded = Signal(int, int)
    # a readable message, once per failure; loading waits for retry() or a reset
    load_failed = Signal(str)

    def __init__(
        self,
        records: RecordService,
        entity: EntityInfo,
        view: ViewState | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._records = records
        self.entity = entity
        self._columns = entity.columns
        self._view = view or ViewState(entity.name)
        self._hidden = self._hidden_of(self._view)
        self._generation = 0
        self._row_count = 0
        self.count_state = CountState.UNKNOWN
        # The true size of the result when it is more than MAX_VIEW_ROWS.
        self.total_rows: int | None = None
        self._pages: OrderedDict[int, CachedPage] = OrderedDict()
        self._wanted: OrderedDict[int, None] = OrderedDict()
        self._anchors: list[tuple[Any, ...]] = []
        self._fetch_task: asyncio.Task[None] | None = None
        self._count_task: asyncio.Task[None] | None = None
        self._anchor_task: asyncio.Task[None] | None = None
        self.error: str | None = None
        self._failed_at = 0.0
        self._failure_expected = True
        self._locale = QLocale()
        self._deleted_font = QFont()
        self._deleted_font.setItalic(True)
        self._deleted_font.setStrikeOut(True)
        # Where a row says it is in the trash, and where its key is (a table keyed by
        # several columns has no one id: its rows are read, not opened one by one).
        names = entity.column_names
        self._deleted_column = names.index(entity.soft_delete) if entity.soft_delete else None
        self._id_column = names.index(entity.key[0]) if len(entity.key) == 1 else -1
        self._references = any(column.kind is ColumnKind.REFERENCE for column in self._columns)
        self._start()

    # -- the query ---------------------------------------------------------------------------

    @property
    def view(self) -> ViewState:
        return self._view

    @property
    def spec(self) -> QuerySpec:
        return self._view.spec

    def set_view(self, view: ViewState) -> None:
        """Show another view; another query drops everything cached or under way for the
        old one, other columns only change what the window shows of the same rows."""
        changed = view.spec != self._view.spec
        self._view = view
        hidden, self._hidden = self._hidden, self._hidden_of(view)
        if changed:
            self.refresh()
        elif hidden != self._hidden and self._columns:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self._columns) - 1)
            if self._row_count:
                last = self.index(self._row_count - 1, len(self._columns) - 1)
                self.dataChanged.emit(self.index(0, 0), last)

    def _hidden_of(self, view: ViewState) -> frozenset[int]:
        """The columns the view leaves out. The header only hides their sections, and a
        screen reader reads the model through Qt's table interface, which shows every
        column it has: a hidden column answers nothing here, neither name nor value
        (a password hash stays unread). No columns named is a view of them all."""
        if not view.columns:
            return frozenset()
        return frozenset(
            number for number, column in enumerate(self._columns) if column.name not in view.columns
        )

    def refresh(self) -> None:
        self.beginResetModel()
        self._cancel_tasks()
        self._generation += 1
        self._pages.clear()
        self._wanted.clear()
        self._anchors = []
        self._row_count = 0
        self.total_rows = None
        self.count_state = CountState.UNKNOWN
        self.error = None
        self.endResetModel()
        self.count_changed.emit()
        self._start()

    async def refresh_records(self, ids: Collection[int]) -> int:
        """Bring the cached rows of these records up to date in place: no reset, so the
        scroll position and the selection stay. Returns how many rows changed."""
        generation = self._generation
        where = [
            (number, offset)
            for number, page in self._pages.items()
            for offset, row in enumerate(page.rows)
            if row[self._id_column] in ids
        ]
        if not where:
            return 0
        shown = tuple(column.name for column in self._columns)
        found = await self._records.values(
            self.entity.name, [self._pages[n].rows[o][self._id_column] for n, o in where], shown
        )
        titles = await self._titles_of(list(found.values()))
        if generation != self._generation:
            return 0
        changed = 0
        for number, offset in where:
            page = self._pages.get(number)
            if page is None or offset >= len(page.rows):
                continue
            fresh = found.get(page.rows[offset][self._id_column])
            if fresh is None:
                continue
            page.rows[offset] = tuple(
                value[: PREVIEW_CHARS + 1] if isinstance(value, str) else value for value in fresh
            )
            page.titles.update(titles)
            page.texts = {key: text for key, text in page.texts.items() if key[0] != offset}
            row = number * PAGE_SIZE + offset
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self._columns) - 1))
            changed += 1
        return changed

    async def refresh_titles(self, entity: str, ids: Collection[int] | None) -> int:
        """Records of ``entity`` that reference cells name changed (a user renamed; None:
        some, unnamed): read their titles again, in one lookup. Returns how many."""
        generation = self._generation
        named = {
            record_id
            for page in self._pages.values()
            for kind, record_id in page.titles
            if kind == entity and (ids is None or record_id in ids)
        }
        if not named:
            return 0
        found = await self._records.cell_titles(entity, sorted(named))
        if generation != self._generation:
            return 0
        for page in self._pages.values():
            page.titles.update(((entity, record_id), title) for record_id, title in found.items())
        self.forget_texts()
        return len(found)

    def retry(self, *, now: bool = False) -> None:
        """After a failure, try again: at once for an explicit Retry, at most every
        RETRY_INTERVAL_S for the user actions that call this in passing (scrolling,
        clicking). Rows already shown stay; what failed is asked for again."""
        if self.error is None:
            return
        if not now and (
            not self._failure_expected or time.monotonic() - self._failed_at < RETRY_INTERVAL_S
        ):
            return  # our own bug does not go away by itself: only an explicit Retry
        self.error = None
        self.count_changed.emit()
        if self.count_state is not CountState.EXACT and not _running(self._count_task):
            self._count_task = spawn(
                self._count(self._generation), name=f"count {self.entity.name}"
            )
        if not self._wanted:
            self._wanted[0] = None
        self._start_fetching()

    def close(self) -> None:
        """Stop all work for this model (its window is closing)."""
        self._cancel_tasks()
        self._generation += 1

    def column_index(self, name: str) -> int:
        return self.entity.column_names.index(name)

    def is_loaded(self, row: int) -> bool:
        return row // PAGE_SIZE in self._pages

    def row_values(self, row: int) -> tuple[Any, ...] | None:
        page = self._pages.get(row // PAGE_SIZE)
        if page is None or row % PAGE_SIZE >= len(page.rows):
            return None
        return page.rows[row % PAGE_SIZE]

    def record_id(self, row: int) -> Any:
        """The key of the record in ``row`` (None when it is not loaded, or the table has
        no one-column key)."""
        values = self.row_values(row)
        return None if values is None or self._id_column < 0 else values[self._id_column]

    def count_text(self, locale: QLocale | None = None) -> str:
        """The size of the result as far as it is known: "990,242", "about 990,000" (an
        estimate), "1,400+" (still counting; this many rows so far), or "" (nothing yet)."""
        if self.count_state is CountState.UNKNOWN and self._row_count == 0:
            return ""
        used = locale or self._locale
        total = used.toString(self.total_rows if self.total_rows is not None else self._row_count)
        if self.count_state is CountState.ESTIMATED:
            return f"about {total}"
        if self.count_state is CountState.UNKNOWN:
            return f"{total}+"
        return total

    def cached_page_count(self) -> int:
        return len(self._pages)

    @property
    def anchor_count(self) -> int:
        """Sort keys kept for deep jumps (none until a deep jump needs them)."""
        return len(self._anchors)

    async def fetch_rows(self, ranges: Sequence[tuple[int, int]]) -> dict[int, tuple[Any, ...]]:
        """The rows first..last of each range (for copying a selection): cached ones from
        memory, the others with one query per run of missing rows — only the rows asked
        for, never those between two ranges. The page cache is left as it is. Raises
        RecordsDeskError; ``asyncio.CancelledError`` when the result was reset meanwhile."""
        generation = self._generation
        found: dict[int, tuple[Any, ...]] = {}
        for first, last in ranges:
            row = first
            while row <= last:
                values = self.row_values(row)
                if values is not None:
                    found[row] = values
                    row += 1
                    continue
                end = row
                while end < last and self.row_values(end + 1) is None:
                    end += 1
                request = self._request_for(row, end - row + 1, found.get)
                page = await self._records.browse(
                    self.entity.name, self.spec, request, preview=PREVIEW_CHARS
                )
                if generation != self._generation:
                    raise ResultChangedError
                for offset, values in enumerate(page.rows):
                    found[row + offset] = values
                row = end + 1
        return found

    # -- Qt model interface: answers from the cache only -------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else self._row_count

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._columns)

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            if not 0 <= section < len(self._columns):
                return None
            column = self._columns[section]
            if section in self._hidden:
                return None
            if role == Qt.ItemDataRole.DisplayRole:
                return column.label
            if role == Qt.ItemDataRole.ToolTipRole:
                if column.references is not None:
                    # It shows titles, yet sorts and filters by what it holds.
                    return f"{column.label} (reference) — click to sort by id"
                return f"{column.label} ({column.kind.value}) — click to sort"
            return None
        # The row headers carry no numbers: beside the ID column they read as a second id
        # (and rarely the same one). They stay, blank, as the handles that select rows.
        if role == Qt.ItemDataRole.ToolTipRole and 0 <= section < self._row_count:
            return ROW_HANDLE_TIP
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # A paint asks each visible cell for a dozen roles; most have no answer here, and
        # saying so first keeps a page's paint short (the event-loop stall budget).
        if role not in _ANSWERED_ROLES or not index.isValid():
            return None
        row, column = index.row(), index.column()
        if not (0 <= row < self._row_count and 0 <= column < len(self._columns)):
            return None
        if column in self._hidden and role != RAW_VALUE_ROLE:
            return None
        page_number = row // PAGE_SIZE
        page = self._pages.get(page_number)
        if page is None:
            if role == Qt.ItemDataRole.DisplayRole:
                self._want(page_number)
                return PLACEHOLDER
            if role == Qt.ItemDataRole.ForegroundRole:
                return QApplication.palette().brush(QPalette.ColorRole.PlaceholderText)
            return None
        self._pages.move_to_end(page_number)
        offset = row % PAGE_SIZE
        if offset >= len(page.rows):
            return None  # the result shrank since it was counted
        values = page.rows[offset]
        value = values[column]
        if role == Qt.ItemDataRole.DisplayRole:
            key = (offset, column)
            text = page.texts.get(key)
            if text is None:
                text = self._text(page, column, value)
                page.texts[key] = text
            return text
        if role == RAW_VALUE_ROLE:
            return value
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return alignment(self._columns[column])
        deleted_at = None if self._deleted_column is None else values[self._deleted_column]
        if role == Qt.ItemDataRole.ToolTipRole:
            if deleted_at is not None:
                return f"In the trash since {format_datetime(deleted_at, self._locale)}"
            if is_cut(value):
                return "Long text: open the record to read all of it."
            return self._title(page, column, value)  # whole, where the cell may cut it
        if deleted_at is not None:
            if role == Qt.ItemDataRole.FontRole:
                return self._deleted_font
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QApplication.palette().color(QPalette.ColorRole.PlaceholderText))
        return None

    def forget_texts(self) -> None:
        """Cell texts are made again on the next paint (the date style changed)."""
        for page in self._pages.values():
            page.texts.clear()
        if self._row_count:
            self.dataChanged.emit(
                self.index(0, 0),
                self.index(self._row_count - 1, len(self._columns) - 1),
                [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole],
            )

    def _text(self, page: CachedPage, column: int, value: Any) -> str:
        if is_cut(value):
            return display_text(self._columns[column], value[:PREVIEW_CHARS], self._locale) + "…"
        title = self._title(page, column, value)
        return (
            title if title is not None else display_text(self._columns[column], value, self._locale)
        )

    def _title(self, page: CachedPage, column: int, value: Any) -> str | None:
        """The title of the record a reference cell names (None for other cells, or a
        record not found): the id alone says nothing to a reader."""
        target = self._columns[column].references
        if target is None or value is None:
            return None
        return page.titles.get((target, value))

    async def _titles_of(self, rows: list[tuple[Any, ...]]) -> ReferenceTitles:
        """The titles the reference columns of ``rows`` name: one batched lookup per
        kind referenced, never one per row — and no call at all for a kind without
        references (users)."""
        if not self._references or not rows:
            return {}
        return await self._records.reference_titles(self.entity.name, rows)

    # -- fetching ----------------------------------------------------------------------------

    def _start(self) -> None:
        generation = self._generation
        self._count_task = spawn(self._count(generation), name=f"count {self.entity.name}")
        self._want(0)

    def _want(self, page: int) -> None:
        if page in self._wanted:
            self._wanted.move_to_end(page)
        else:
            self._wanted[page] = None
            while len(self._wanted) > MAX_WANTED_PAGES:
                self._wanted.popitem(last=False)
        self._start_fetching()

    def _start_fetching(self) -> None:
        if self.error is None and not _running(self._fetch_task):
            # Started now, run after the current paint: every page it asks for is coalesced.
            self._fetch_task = spawn(
                self._fetch_wanted(self._generation), name=f"fetch {self.entity.name}"
            )

    async def _fetch_wanted(self, generation: int) -> None:
        while self._wanted and generation == self._generation and self.error is None:
            newest = next(reversed(self._wanted))
            first = last = newest
            while first - 1 in self._wanted and last - first + 1 < PAGES_PER_FETCH:
                first -= 1
            while last + 1 in self._wanted and last - first + 1 < PAGES_PER_FETCH:
                last += 1
            if all(number in self._pages for number in range(first, last + 1)):
                for number in range(first, last + 1):
                    self._wanted.pop(number, None)
                continue
            try:
                await self._fetch(first, last, generation)
            except Exception as error:
                self._failed(generation, error)
                return
            # Only now: what failed stays wanted, for retry() to ask again.
            for number in range(first, last + 1):
                self._wanted.pop(number, None)

    async def _fetch(self, first_page: int, last_page: int, generation: int) -> None:
        start = first_page * PAGE_SIZE
        if start >= max(self._row_count, 1) and self.count_state is not CountState.UNKNOWN:
            return
        limit = (last_page - first_page + 1) * PAGE_SIZE
        request = self._request_for(start, limit)
        page = await self._records.browse(
            self.entity.name, self.spec, request, preview=PREVIEW_CHARS
        )
        if generation != self._generation:
            return  # an answer to a question nobody asks any more
        rows = page.rows
        # With the page, before it shows: a cell never reads "5" and then "#5 Alan Wagner".
        titles = await self._titles_of(rows)
        if generation != self._generation:
            return
        forward = not isinstance(request, Before)
        if forward and not rows and start > 0 and self.count_state is not CountState.EXACT:
            # Past the end of an estimate: learn where the result really ends and show
            # its last rows, in one more query.
            await self._settle_end(generation)
            return
        self._store(first_page, last_page, rows, titles)
        end = start + len(rows)
        if forward and len(rows) < limit:
            # A short page going forward ends the result: the count is exact for free —
            # unless an exact count says otherwise, when the rows changed meanwhile and
            # only a new count can tell which is right.
            if self.count_state is not CountState.EXACT:
                self._set_row_count(end, CountState.EXACT)
            elif end != self._row_count:
                self._recount(generation)
        elif not forward and len(rows) < request.limit:
            self._recount(generation)  # fewer rows before a known one: the rows changed
        elif end > self._row_count and self.count_state is not CountState.EXACT:
            self._set_row_count(end, self.count_state)
        self._announce(start, end)

    async def _settle_end(self, generation: int) -> None:
        page, total = await self._records.browse_last(
            self.entity.name, self.spec, 2 * PAGE_SIZE, preview=PREVIEW_CHARS
        )
        if generation != self._generation:
            return
        titles = await self._titles_of(page.rows)
        if generation != self._generation:
            return
        self._set_row_count(total, CountState.EXACT)
        shown = self._row_count
        if shown < total:
            return  # the end is beyond MAX_VIEW_ROWS: those rows are never shown
        first_row = total - len(page.rows)
        first_page = -(-first_row // PAGE_SIZE)  # the first page wholly in these rows
        last_page = (total - 1) // PAGE_SIZE
        for number in range(first_page, last_page + 1):
            offset = number * PAGE_SIZE - first_row
            self._pages[number] = CachedPage(page.rows[offset : offset + PAGE_SIZE], titles)
        self._trim_cache()
        self._announce(first_page * PAGE_SIZE, total)

    def _store(
        self, first_page: int, last_page: int, rows: list[tuple[Any, ...]], titles: ReferenceTitles
    ) -> None:
        for number in range(first_page, last_page + 1):
            offset = (number - first_page) * PAGE_SIZE
            # The pages of one fetch share its titles: bounded by the rows, dropped with them.
            self._pages[number] = CachedPage(rows[offset : offset + PAGE_SIZE], titles)
        self._trim_cache()

    def _trim_cache(self) -> None:
        while len(self._pages) > MAX_CACHED_PAGES:
            self._pages.popitem(last=False)

    def _announce(self, start: int, end: int) -> None:
        last_row = min(end, self._row_count) - 1
        if last_row >= start:
            self.dataChanged.emit(
                self.index(start, 0),
                self.index(last_row, len(self._columns) - 1),
                [Qt.ItemDataRole.DisplayRole],
            )
            self.rows_loaded.emit(start, last_row)

    def _request_for(
        self,
        start: int,
        limit: int,
        fetched: Callable[[int], tuple[Any, ...] | None] = lambda _row: None,
    ) -> PageRequest:
        """The cheapest query for rows start..start+limit-1: keyset from a known
        neighbour (cached, or in ``fetched``) or a kept anchor, the end read backwards, an
        OFFSET only as the last resort."""
        if not self.entity.key:
            # A view or a table without a key: no row can be found again by its values.
            return OffsetPage(start, limit)
        if start == 0:
            return After(None, limit)
        # A neighbour's key serves only when it is whole: a preview of long text (sorted
        # by a post's content) comes before the value it was cut from.
        previous = self.row_values(start - 1) or fetched(start - 1)
        if previous is not None and not any(map(is_cut, self._key_of(previous))):
            return After(self._key_of(previous), limit)
        following = self.row_values(start + limit)
        if following is not None and not any(map(is_cut, self._key_of(following))):
            return Before(self._key_of(following), limit)
        at_the_end = start + limit >= self._row_count
        if self.count_state is CountState.EXACT and self.total_rows is None and at_the_end:
            return Before(None, self._row_count - start)
        anchor = start // ANCHOR_STRIDE
        if anchor == 0:
            return After(None, limit, skip=start)
        if anchor <= len(self._anchors):
            return After(self._anchors[anchor - 1], limit, skip=start - anchor * ANCHOR_STRIDE)
        self._want_anchors()
        return OffsetPage(start, limit)

    def _key_of(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return sort_key_of(self.spec, self.entity.key, self.entity.column_names, row)

    def _want_anchors(self) -> None:
        """A deep jump had to use an OFFSET: keep sort keys for the next ones. One pass
        over the result, so only once the count is exact and only for results that a jump
        can go deep into."""
        if self.count_state is not CountState.EXACT or self._row_count <= ANCHOR_STRIDE:
            return
        if self._anchors or _running(self._anchor_task):
            return
        self._anchor_task = spawn(
            self._load_anchors(self._generation), name=f"anchors {self.entity.name}"
        )

    async def _load_anchors(self, generation: int) -> None:
        try:
            anchors = await self._records.anchors(self.entity.name, self.spec, ANCHOR_STRIDE)
        except RecordsDeskError:
            return  # only the speed of later jumps suffers; their own queries report
        if generation == self._generation:
            self._anchors = anchors
            self.count_changed.emit()

    async def _count(self, generation: int) -> None:
        name, spec = self.entity.name, self.spec
        try:
            estimate = await self._records.estimate_count(name, spec)
            if generation != self._generation:
                return
            if estimate is not None and self.count_state is CountState.UNKNOWN:
                self._set_row_count(max(estimate, self._row_count), CountState.ESTIMATED)
            exact = await self._records.count(name, spec)
        except Exception as error:
            self._failed(generation, error)
            return
        if generation == self._generation:
            self._set_row_count(exact, CountState.EXACT)

    def _recount(self, generation: int) -> None:
        if not _running(self._count_task) and generation == self._generation:
            self._count_task = spawn(self._count(generation), name=f"count {self.entity.name}")

    def _failed(self, generation: int, error: Exception) -> None:
        """Stop loading until retry(), and say so once. Our own bug goes on to the app's
        exception hook (the log and one dialog) — once, not at every repaint."""
        if generation != self._generation:
            return
        expected = isinstance(error, RecordsDeskError)
        message = str(error) if expected else UNEXPECTED_FAILURE
        self._failed_at = time.monotonic()
        self._failure_expected = expected
        if self.error is None:
            self.error = message
            self.load_failed.emit(message)
        if not expected:
            raise error

    def _set_row_count(self, count: int, state: CountState) -> None:
        self.total_rows = count if count > MAX_VIEW_ROWS else None
        shown = min(count, MAX_VIEW_ROWS)
        if shown > self._row_count:
            self.beginInsertRows(QModelIndex(), self._row_count, shown - 1)
            self._row_count = shown
            self.endInsertRows()
        elif shown < self._row_count:
            self.beginRemoveRows(QModelIndex(), shown, self._row_count - 1)
            self._row_count = shown
            for page in [number for number in self._pages if number * PAGE_SIZE >= shown]:
                del self._pages[page]
            self.endRemoveRows()
        self.count_state = state
        self.count_changed.emit()

    def _cancel_tasks(self) -> None:
        for task in (self._fetch_task, self._count_task, self._anchor_task):
            if task is not None and not task.done():
                task.cancel()
        self._fetch_task = self._count_task = self._anchor_task = None


def _running(task: asyncio.Task[Any] | None) -> bool:
    return task is not None and not task.done()
