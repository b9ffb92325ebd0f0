"""A view saved as a plain file: the question a browse window asks (its table, search,
filters, sort, trash choice, visible columns in order and widths), to open again in a
window or to export from the command line (``records-desk export --view FILE``).

The file is JSON with sorted keys and one field a line: small, readable, and a diff of
two views says what changed. It names the connection it was saved on by name only, never
a URL or a password. A period filter ("Last 7 days") is kept by its name, so it stays
relative to the day the view is opened. Values are written as text where JSON has no
type for them (amounts, dates, times) and read back by the column's kind.

Reading a view against a database: a column, a sort key or a filter whose column is not
there any more (or whose value the column no longer takes) is left out, and ``dropped``
says which, in words.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.core.files import write_document
from app.models.types import InvalidValueError
from app.periods import period_named
from app.query import (
    DeletedRows,
    Equals,
    Filter,
    IsEmpty,
    OneOf,
    QuerySpec,
    Range,
    SortKey,
    ViewState,
    coerce_value,
)
from app.services.catalog import Catalog, EntityInfo
from app.services.errors import ValidationError

# The file's format: written in every view, read by every later Records Desk.
FORMAT = 1
# What a view file is called: "Pending orders.view.json".
SUFFIX = ".view.json"
# A view file is a few hundred bytes; one of megabytes is not one.
MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class SavedView:
    """``view`` (its table, query and visible columns), the column ``widths`` chosen in
    the window (pixels, by column), the ``connection``'s name it was saved on, and the
    filters kept as periods: ``periods`` maps a filter's place in ``view.spec.filters``
    to its period's name."""

    view: ViewState
    widths: Mapping[str, int] = field(default_factory=dict)
    connection: str = ""
    periods: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OpenedView:
    """A saved view as it applies to the database it is opened on, and what of it was
    left out (``dropped``, each in words)."""

    saved: SavedView
    dropped: tuple[str, ...] = ()


def to_text(saved: SavedView) -> str:
    view, spec = saved.view, saved.view.spec
    filters = []
    for place, filter_ in enumerate(spec.filters):
        period = saved.periods.get(place)
        filters.append(
            {"column": filter_.column, "period": period}
            if period is not None
            else _filter_document(filter_)
        )
    document = {
        "format": FORMAT,
        "table": view.entity,
        "search": spec.search,
        "filters": filters,
        "sort": [{"column": key.column, "descending": key.descending} for key in spec.sort],
        "trash": spec.deleted.value,
        "columns": list(view.columns),
        "widths": {name: int(width) for name, width in saved.widths.items()},
        "connection": saved.connection,
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_view(path: Path, saved: SavedView) -> Path:
    """Write ``saved`` to ``path`` (atomically: a view is never half written); a
    ValidationError in words when it cannot be."""
    if path.exists() and not path.is_file():
        # A folder, a pipe, a device: never replaced by a view file.
        raise ValidationError(f"{path} is not a file: choose a file name.")
    try:
        write_document(path, to_text(saved).encode("utf-8"))
    except IsADirectoryError:
        raise ValidationError(f"{path} is a folder: choose a file name.") from None
    except OSError as error:
        raise ValidationError(f"Cannot write {path}: {error.strerror}.") from None
    return path


def read_view(path: Path, known: Catalog, *, today: date | None = None) -> OpenedView:
    """The view in ``path`` as it applies to the database ``known`` describes; a
    ValidationError in words when the file is not a view or names a table not there."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ValidationError(f"{path} is too big to be a saved view.")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise ValidationError(f"{path} is a folder, not a saved view.") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{path} is not a saved view (it is not text).") from None
    except OSError as error:
        raise ValidationError(f"{path} cannot be read: {error.strerror}.") from None
    return from_text(text, known, where=str(path), today=today)


def from_text(
    text: str, known: Catalog, *, where: str = "the view", today: date | None = None
) -> OpenedView:
    try:
        document = json.loads(text)
    except ValueError:
        raise ValidationError(f"{where} is not a saved view (it is not JSON).") from None
    if not isinstance(document, dict) or "table" not in document:
        raise ValidationError(f"{where} is not a saved view (it names no table).")
    version = document.get("format", FORMAT)
    if not isinstance(version, int) or version > FORMAT:
        raise ValidationError(
            f"{where} was saved by a newer Records Desk (format {version}): update to open it."
        )
    table = _text(document, "table", where)
    if table not in known:
        raise ValidationError(f"{where} shows {table!r}, which this database does not have.")
    info = known.entity(table)
    repository = known.repository(table)
    dropped: list[str] = []
    names = set(info.column_names)

    def has(column: str, what: str) -> bool:
        if column in names:
            return True
        dropped.append(f"{what} of {column!r}, which {table} no longer has")
        return False

    filters: list[Filter] = []
    periods: dict[int, str] = {}
    for entry in _list(document, "filters", where):
        if not isinstance(entry, dict) or not isinstance(entry.get("column"), str):
            dropped.append("a filter that names no column")
            continue
        column = entry["column"]
        if not has(column, "the filter"):
            continue
        try:
            filter_, period = _filter_of(entry, info, today or date.today())
            filter_.condition(repository.column(column))  # the values as the column takes them
        except (InvalidValueError, ValidationError, TypeError, ValueError) as error:
            why = _sentence(error).removeprefix(f"{column.lower()}: ")
            dropped.append(f"the filter on {column} ({why})")
            continue
        if period is not None:
            periods[len(filters)] = period
        filters.append(filter_)
    sort = []
    for entry in _list(document, "sort", where):
        column = entry.get("column") if isinstance(entry, dict) else None
        if isinstance(column, str) and has(column, "the sort"):
            sort.append(SortKey(column, descending=entry.get("descending") is True))
    columns = []
    for column in _list(document, "columns", where):
        if isinstance(column, str) and has(column, "the column"):
            columns.append(column)
    widths_document = document.get("widths") or {}
    widths = {
        name: width
        for name, width in (widths_document.items() if isinstance(widths_document, dict) else ())
        if name in names and isinstance(width, int) and 0 < width < 10_000
    }
    try:
        deleted = DeletedRows(document.get("trash", DeletedRows.EXCLUDE.value))
    except ValueError:
        deleted = DeletedRows.EXCLUDE
        dropped.append("the trash choice, which this Records Desk does not know")
    if info.soft_delete is None and deleted is not DeletedRows.EXCLUDE:
        deleted = DeletedRows.EXCLUDE
        dropped.append(f"the trash view: {table} has no trash")
    search = document.get("search", "")
    spec = QuerySpec(
        search=search if isinstance(search, str) else "",
        filters=tuple(filters),
        sort=tuple(sort),
        deleted=deleted,
    )
    connection = document.get("connection", "")
    saved = SavedView(
        ViewState(table, spec, tuple(dict.fromkeys(columns))),
        widths,
        connection if isinstance(connection, str) else "",
        periods,
    )
    return OpenedView(saved, tuple(dropped))


# -- filters ----------------------------------------------------------------------------------


def _filter_document(filter_: Filter) -> dict[str, Any]:
    if isinstance(filter_, Equals):
        return {"column": filter_.column, "equals": _plain(filter_.value)}
    if isinstance(filter_, OneOf):
        return {"column": filter_.column, "one_of": [_plain(v) for v in filter_.values]}
    if isinstance(filter_, Range):
        return {
            "column": filter_.column,
            "from": _plain(filter_.low),
            "to": _plain(filter_.high),
            "to_included": filter_.high_inclusive,
        }
    return {"column": filter_.column, "empty": filter_.empty}


def _filter_of(
    entry: Mapping[str, Any], info: EntityInfo, today: date
) -> tuple[Filter, str | None]:
    """The filter an entry of a view file describes (and its period's name, if one),
    its values read by the column's kind."""
    column = entry["column"]
    if "period" in entry:
        period = period_named(str(entry["period"]))
        if period is None:
            raise ValidationError(f"no period is called {entry['period']!r}")
        return period.range_for(column, today), period.name
    if "equals" in entry:
        return Equals(column, _value(entry["equals"])), None
    if "one_of" in entry:
        values = entry["one_of"]
        if not isinstance(values, list):
            raise ValidationError("its values are not a list")
        choices = info.column(column).choices
        values = [_value(value) for value in values]
        gone = [value for value in values if choices and value not in choices]
        if gone:
            raise ValidationError(f"{', '.join(map(str, gone))} is no longer a choice")
        return OneOf(column, tuple(values)), None
    if "from" in entry or "to" in entry:
        return (
            Range(
                column,
                _value(entry.get("from")),
                _value(entry.get("to")),
                entry.get("to_included") is not False,
            ),
            None,
        )
    if "empty" in entry:
        return IsEmpty(column, entry["empty"] is not False), None
    raise ValidationError("it is of a kind this Records Desk does not know")


def _plain(value: Any) -> Any:
    """A filter value as JSON holds it: text where JSON has no type of its own."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        # Marked as a moment: read back as one, never as text (another program's SQLite
        # column would take the text as it is and compare it as text).
        return {"$": type(value).__name__, "v": value.isoformat()}
    return str(value)


_MOMENTS: dict[str, Any] = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
}


def _value(value: Any) -> Any:
    """A filter value as a view file holds it, back to what it was (``_plain``'s inverse);
    a ValidationError for a mark this version does not know."""
    if not isinstance(value, dict):
        return value
    reader = _MOMENTS.get(str(value.get("$")))
    if reader is None or not isinstance(value.get("v"), str):
        raise ValidationError("it holds a value of a kind this Records Desk does not know")
    return reader(value["v"])


def typed_filters(view: ViewState, known: Catalog) -> tuple[Filter, ...]:
    """The filters of ``view`` with their values read by their columns' kinds, as a
    window's filter bar holds them (a view file keeps an amount or a moment as text)."""
    repository = known.repository(view.entity)
    typed: list[Filter] = []
    for filter_ in view.spec.filters:
        column = repository.column(filter_.column)
        if isinstance(filter_, Equals):
            typed.append(Equals(filter_.column, coerce_value(column, filter_.value)))
        elif isinstance(filter_, OneOf):
            values = tuple(coerce_value(column, value) for value in filter_.values)
            typed.append(OneOf(filter_.column, tuple(getattr(v, "value", v) for v in values)))
        elif isinstance(filter_, Range):
            low = None if filter_.low is None else coerce_value(column, filter_.low)
            high = None if filter_.high is None else coerce_value(column, filter_.high)
            typed.append(Range(filter_.column, low, high, filter_.high_inclusive))
        else:
            typed.append(filter_)
    return tuple(typed)


def _text(document: Mapping[str, Any], key: str, where: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{where} is not a saved view ({key} is not a name).")
    return value


def _list(document: Mapping[str, Any], key: str, where: str) -> Sequence[Any]:
    value = document.get(key) or []
    if not isinstance(value, list):
        raise ValidationError(f"{where} is not a saved view ({key} is not a list).")
    return value


def _sentence(error: BaseException) -> str:
    text = str(error).strip().rstrip(".")
    return text[:1].lower() + text[1:] if text else "it no longer applies"


def views_folder() -> Path:
    """Where views are saved unless the user chooses elsewhere: a Views folder in the
    user's documents (the home folder where there is none)."""
    documents = Path.home() / "Documents"
    return (documents if documents.is_dir() else Path.home()) / "Records Desk Views"


def view_files(folder: Path) -> list[Path]:
    """The view files in ``folder``, by name (none when it is not there)."""
    try:
        return sorted(path for path in folder.iterdir() if path.name.endswith(SUFFIX))
    except OSError:
        return []
