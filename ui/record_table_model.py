"""The table model of a browse window: a page cache over the records service.

``data()``, ``rowCount()``, ``headerData()`` and ``flags()`` never wait and never query: a row
that is not cached shows a placeholder and marks its page as wanted; one task fetches the
wanted pages, newest first, a few adjacent pages per query. Every reset (search, filter,
sort, deleted rows) bumps a generation, cancels what is in flight and drops late answers.
The row count is separate state — unknown, estimated, exact — that never delays the rows.
"""

from __future__ import annotations

import asyncio
import enum
from collections import OrderedDict
from dataclasses import dataclass, field, replace
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

from app.query import After, Before, OffsetPage, PageRequest, QuerySpec, SortKey
from app.services.catalog import EntityInfo
from app.services.errors import RecordsDeskError
from app.services.records import RecordService
from ui.formatting import alignment, display_text, format_datetime
from ui.tasks import spawn, unabandoned

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
PLACEHOLDER = "…"
# The raw value of a cell (Decimal, datetime, int…), for copying and following references.
RAW_VALUE_ROLE = Qt.ItemDataRole.UserRole + 1


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


class CountState(enum.Enum):
    UNKNOWN = "unknown"
    ESTIMATED = "estimated"
    EXACT = "exact"


@dataclass
class _Page:
    rows: list[tuple[Any, ...]]
    texts: dict[tuple[int, int], str] = field(default_factory=dict)


ModelIndex = QModelIndex | QPersistentModelIndex


class RecordTableModel(QAbstractTableModel):
    count_changed = Signal()
    # first and last row of a page range that has just arrived
    rows_loaded = Signal(int, int)
    # a readable message; loading stops until the next reset
    load_failed = Signal(str)

    def __init__(
        self,
        records: RecordService,
        entity: EntityInfo,
        spec: QuerySpec | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._records = records
        self.entity = entity
        self._columns = entity.columns
        self._spec = spec or QuerySpec()
        self._generation = 0
        self._row_count = 0
        self.count_state = CountState.UNKNOWN
        # The true size of the result when it is more than MAX_VIEW_ROWS.
        self.total_rows: int | None = None
        self._pages: OrderedDict[int, _Page] = OrderedDict()
        self._wanted: OrderedDict[int, None] = OrderedDict()
        self._anchors: list[tuple[Any, ...]] = []
        self._sort_positions: tuple[int, ...] = ()
        self._fetch_task: asyncio.Task[None] | None = None
        self._count_task: asyncio.Task[None] | None = None
        self.error: str | None = None
        self._locale = QLocale()
        self._deleted_font = QFont()
        self._deleted_font.setItalic(True)
        self._deleted_font.setStrikeOut(True)
        self._deleted_column = entity.column_names.index("deleted_at")
        self._id_column = entity.column_names.index("id")
        self._update_sort_positions()
        self._start()

    # -- the query ---------------------------------------------------------------------------

    @property
    def spec(self) -> QuerySpec:
        return self._spec

    def set_spec(self, spec: QuerySpec) -> None:
        """Show another result: everything cached or under way for the old one is dropped."""
        self._spec = spec
        self._update_sort_positions()
        self.refresh()

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

    def record_id(self, row: int) -> int | None:
        values = self.row_values(row)
        return None if values is None else int(values[self._id_column])

    def cached_page_count(self) -> int:
        return len(self._pages)

    @property
    def anchor_count(self) -> int:
        """Sort keys kept for deep jumps (none until the exact count is known)."""
        return len(self._anchors)

    async def load_rows(self, first: int, last: int) -> None:
        """Make sure rows first..last are cached (for copying a selection), fetching what
        is missing now rather than when the view asks."""
        generation = self._generation
        for page in range(first // PAGE_SIZE, last // PAGE_SIZE + 1):
            if page not in self._pages and generation == self._generation:
                await self._fetch(page, page, generation)

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
            if role == Qt.ItemDataRole.DisplayRole:
                return column.label
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{column.label} ({column.kind.value}) — click to sort"
            return None
        if role == Qt.ItemDataRole.DisplayRole and 0 <= section < self._row_count:
            return str(section + 1)
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # A paint asks each visible cell for a dozen roles; most have no answer here, and
        # saying so first keeps a page's paint short (the event-loop stall budget).
        if role not in _ANSWERED_ROLES or not index.isValid():
            return None
        row, column = index.row(), index.column()
        if not (0 <= row < self._row_count and 0 <= column < len(self._columns)):
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
        if role == Qt.ItemDataRole.DisplayRole:
            key = (offset, column)
            text = page.texts.get(key)
            if text is None:
                text = display_text(self._columns[column], values[column], self._locale)
                page.texts[key] = text
            return text
        if role == RAW_VALUE_ROLE:
            return values[column]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return alignment(self._columns[column])
        deleted_at = values[self._deleted_column]
        if deleted_at is not None:
            if role == Qt.ItemDataRole.FontRole:
                return self._deleted_font
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QApplication.palette().color(QPalette.ColorRole.PlaceholderText))
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"In the trash since {format_datetime(deleted_at, self._locale)}"
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """A header click: sorted by the database, the id breaking ties."""
        if not 0 <= column < len(self._columns):
            return
        key = SortKey(self._columns[column].name, descending=order == Qt.SortOrder.DescendingOrder)
        if self._spec.sort[:1] != (key,):
            self.set_spec(replace(self._spec, sort=(key,)))

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
        if self.error is None and (self._fetch_task is None or self._fetch_task.done()):
            # Started now, run after the current paint: every page it asks for is coalesced.
            self._fetch_task = spawn(
                self._fetch_wanted(self._generation), name=f"fetch {self.entity.name}"
            )

    async def _fetch_wanted(self, generation: int) -> None:
        while self._wanted and generation == self._generation:
            newest, _ = self._wanted.popitem(last=True)
            first = last = newest
            while first - 1 in self._wanted and last - first + 1 < PAGES_PER_FETCH:
                first -= 1
                del self._wanted[first]
            while last + 1 in self._wanted and last - first + 1 < PAGES_PER_FETCH:
                last += 1
                del self._wanted[last]
            if first in self._pages and last in self._pages:
                continue
            try:
                await self._fetch(first, last, generation)
            except RecordsDeskError as error:
                if generation == self._generation:
                    self.error = str(error)
                    self._wanted.clear()
                    self.load_failed.emit(self.error)
                return

    async def _fetch(self, first_page: int, last_page: int, generation: int) -> None:
        start = first_page * PAGE_SIZE
        if start >= max(self._row_count, 1) and self.count_state is not CountState.UNKNOWN:
            return
        limit = (last_page - first_page + 1) * PAGE_SIZE
        request = self._request_for(start, limit)
        page = await unabandoned(self._records.browse(self.entity.name, self._spec, request))
        if generation != self._generation:
            return  # an answer to a question nobody asks any more
        rows = page.rows
        for number in range(first_page, last_page + 1):
            offset = (number - first_page) * PAGE_SIZE
            self._pages[number] = _Page(rows[offset : offset + PAGE_SIZE])
        while len(self._pages) > MAX_CACHED_PAGES:
            self._pages.popitem(last=False)
        end = start + len(rows)
        forward = not isinstance(request, Before)
        if forward and len(rows) < limit:
            # A short page going forward ends the result: the count is exact for free.
            self._set_row_count(end, CountState.EXACT)
        elif end > self._row_count and self.count_state is not CountState.EXACT:
            self._set_row_count(end, self.count_state)
        last_row = min(end, self._row_count) - 1
        if last_row >= start:
            self.dataChanged.emit(
                self.index(start, 0),
                self.index(last_row, len(self._columns) - 1),
                [Qt.ItemDataRole.DisplayRole],
            )
            self.rows_loaded.emit(start, last_row)

    def _request_for(self, start: int, limit: int) -> PageRequest:
        """The cheapest query for rows start..start+limit-1: keyset from a cached neighbour
        or a kept anchor, the end read backwards, an OFFSET only as the last resort."""
        if start == 0:
            return After(None, limit)
        previous = self._pages.get(start // PAGE_SIZE - 1)
        if previous is not None and len(previous.rows) == PAGE_SIZE:
            return After(self._key_of(previous.rows[-1]), limit)
        following = self._pages.get((start + limit) // PAGE_SIZE)
        if following is not None and following.rows:
            return Before(self._key_of(following.rows[0]), limit)
        at_the_end = start + limit >= self._row_count
        if self.count_state is CountState.EXACT and self.total_rows is None and at_the_end:
            return Before(None, self._row_count - start)
        anchor = start // ANCHOR_STRIDE
        if anchor == 0:
            return After(None, limit, skip=start)
        if anchor <= len(self._anchors):
            return After(self._anchors[anchor - 1], limit, skip=start - anchor * ANCHOR_STRIDE)
        return OffsetPage(start, limit)

    def _key_of(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(row[position] for position in self._sort_positions)

    def _update_sort_positions(self) -> None:
        names = self.entity.column_names
        sort_columns = [key.column for key in self._spec.sort]
        ordered = list(dict.fromkeys(name for name in sort_columns if name in names))
        if "id" in ordered:
            ordered = ordered[: ordered.index("id") + 1]
        else:
            ordered.append("id")
        self._sort_positions = tuple(names.index(name) for name in ordered)

    async def _count(self, generation: int) -> None:
        name, spec = self.entity.name, self._spec
        try:
            estimate = await unabandoned(self._records.estimate_count(name, spec))
            if generation != self._generation:
                return
            if estimate is not None and self.count_state is CountState.UNKNOWN:
                self._set_row_count(max(estimate, self._row_count), CountState.ESTIMATED)
            exact = await unabandoned(self._records.count(name, spec))
            if generation != self._generation:
                return
            self._set_row_count(exact, CountState.EXACT)
            if exact > ANCHOR_STRIDE:
                anchors = await unabandoned(self._records.anchors(name, spec, ANCHOR_STRIDE))
                if generation == self._generation:
                    self._anchors = anchors
                    self.count_changed.emit()
        except RecordsDeskError as error:
            if generation == self._generation:
                self.error = str(error)
                self.load_failed.emit(self.error)

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
        for task in (self._fetch_task, self._count_task):
            if task is not None and not task.done():
                task.cancel()
        self._fetch_task = self._count_task = None
