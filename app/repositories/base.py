"""The generic repository: it builds queries and flushes, it never commits."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Enum,
    Row,
    Select,
    String,
    and_,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from app.models.base import Base
from app.models.types import InvalidValueError, utcnow
from app.query import (
    After,
    Before,
    Column,
    DeletedRows,
    OffsetPage,
    PageRequest,
    QuerySpec,
    coerce_value,
)

T = TypeVar("T", bound=Base)

# Columns the database and the repository maintain; a caller never sets them.
MANAGED_COLUMNS = frozenset({"id", "created_at", "updated_at", "deleted_at", "version"})
# Beyond this an integer cannot be an id (PostgreSQL integer), so it is not looked up as one.
_MAX_ID = 2**31 - 1
# Ids per IN (...) list: far below SQLite's and asyncpg's limits on bound parameters.
_IDS_PER_STATEMENT = 500


class StaleVersionError(Exception):
    """The record changed since the caller read it (its version moved on)."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected}, found {actual}")
        self.expected = expected
        self.actual = actual


class BaseRepository(Generic[T]):
    """Common operations on one kind of record.

    Deleting is a soft delete: the row stays, flagged with ``deleted_at``, and can be
    restored. Reads leave deleted rows out unless asked for them.
    """

    model: ClassVar[type[Base]]
    # Text columns the search box looks in (case-insensitive substring).
    searchable: ClassVar[tuple[str, ...]] = ()

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- records ---------------------------------------------------------------------------

    async def find_by_id(self, id: int, *, include_deleted: bool = False) -> T | None:
        statement = select(self.model).where(self.model.id == id)
        if not include_deleted:
            statement = statement.where(self.model.deleted_at.is_(None))
        result = await self.session.execute(statement)
        return result.scalar_one_or_none()  # type: ignore[return-value]

    async def find_all(self, skip: int = 0, limit: int = 100) -> list[T]:
        result = await self.session.execute(
            select(self.model)
            .where(self.model.deleted_at.is_(None))
            .order_by(self.model.id)
            .offset(skip)
            .limit(limit)
        )
        return list(result.scalars().all())  # type: ignore[arg-type]

    async def count(self, spec: QuerySpec | None = None) -> int:
        statement = self._filtered(
            select(func.count()).select_from(self.model), spec or QuerySpec()
        )
        result = await self.session.execute(statement)
        return int(result.scalar_one())

    async def create(self, **data: Any) -> T:
        instance = self.model(**self._settable(data))
        self.session.add(instance)
        await self.session.flush()
        await self.session.refresh(instance)
        return instance  # type: ignore[return-value]

    async def update(
        self, id: int, /, expected_version: int | None = None, **data: Any
    ) -> T | None:
        """Change the given columns (None clears a column); refuse an outdated version."""
        instance = await self.find_by_id(id, include_deleted=True)
        if instance is None:
            return None
        if expected_version is not None and instance.version != expected_version:
            raise StaleVersionError(expected_version, instance.version)
        for key, value in self._settable(data).items():
            setattr(instance, key, value)
        await self.session.flush()
        await self.session.refresh(instance)
        return instance

    async def delete(self, id: int, expected_version: int | None = None) -> bool:
        """Soft delete: flag the row; False when there is no live row with this id."""
        return await self._set_deleted(id, deleted=True, expected_version=expected_version)

    async def restore(self, id: int, expected_version: int | None = None) -> bool:
        """Bring a soft-deleted row back; False when there is no deleted row with this id."""
        return await self._set_deleted(id, deleted=False, expected_version=expected_version)

    async def _set_deleted(self, id: int, *, deleted: bool, expected_version: int | None) -> bool:
        model = self.model
        now = utcnow()
        condition = model.deleted_at.is_(None) if deleted else model.deleted_at.is_not(None)
        statement = (
            update(model)
            .where(model.id == id, condition)
            .values(deleted_at=now if deleted else None, updated_at=now, version=model.version + 1)
            .execution_options(synchronize_session=False)
        )
        if expected_version is not None:
            current = await self.find_by_id(id, include_deleted=True)
            if current is not None and current.version != expected_version:
                raise StaleVersionError(expected_version, current.version)
            statement = statement.where(model.version == expected_version)
        result = await self.session.execute(statement)
        changed = bool(result.rowcount)  # type: ignore[attr-defined]
        if changed:
            # Objects already in this session must not keep the old flag or version.
            for instance in self.session.identity_map.values():
                if isinstance(instance, model) and instance.id == id:
                    await self.session.refresh(instance)
        return changed

    def _settable(self, data: dict[str, Any]) -> dict[str, Any]:
        columns = {column.key for column in self.model.__mapper__.column_attrs}
        unknown = sorted(set(data) - columns)
        if unknown:
            raise InvalidValueError(f"{self.model.__tablename__} has no column {unknown[0]!r}.")
        managed = sorted(set(data) & MANAGED_COLUMNS)
        if managed:
            raise InvalidValueError(f"{managed[0]!r} is kept by Records Desk and cannot be set.")
        return data

    # -- browsing --------------------------------------------------------------------------

    @classmethod
    def column(cls, name: str) -> Column:
        try:
            column: Column = cls.model.__table__.c[name]
            return column
        except KeyError:
            raise InvalidValueError(f"{cls.model.__tablename__} has no column {name!r}.") from None

    @classmethod
    def column_names(cls) -> tuple[str, ...]:
        return tuple(column.key for column in cls.model.__table__.c)

    async def browse(
        self, spec: QuerySpec, page: PageRequest, *, preview: int | None = None
    ) -> Sequence[Row[Any]]:
        """One page of plain rows (every column, in table order). With ``preview``, text
        columns hold at most ``preview + 1`` characters: a value that long was cut."""
        use_index = await self._search_index_pays(spec.search)
        statement = self.browse_statement(spec, page, use_index=use_index, preview=preview)
        rows = list((await self.session.execute(statement)).all())
        if isinstance(page, Before):
            rows.reverse()
        return rows

    async def browse_last(
        self, spec: QuerySpec, limit: int, *, preview: int | None = None
    ) -> tuple[Sequence[Row[Any]], int]:
        """The last ``limit`` rows in sort order and the number of rows in the whole
        result, from one statement: where the result ends when no count can be trusted."""
        use_index = await self._search_index_pays(spec.search)
        statement = self.browse_statement(
            spec, Before(None, limit), use_index=use_index, preview=preview
        ).add_columns(func.count().over().label("records_desk_total"))
        rows = list((await self.session.execute(statement)).all())
        if not rows:
            return [], await self.count(spec)
        total = int(rows[0][-1])
        return [row[:-1] for row in reversed(rows)], total

    async def values_by_id(
        self, ids: Sequence[int], columns: Sequence[str]
    ) -> dict[int, tuple[Any, ...]]:
        """The full values of ``columns`` of the records with these ids, deleted or not."""
        selected = [self.column(name) for name in columns]
        table = self.model.__table__
        found: dict[int, tuple[Any, ...]] = {}
        for start in range(0, len(ids), _IDS_PER_STATEMENT):
            chunk = list(ids[start : start + _IDS_PER_STATEMENT])
            result = await self.session.execute(
                select(table.c.id, *selected).where(table.c.id.in_(chunk))
            )
            for row in result:
                found[int(row[0])] = tuple(row[1:])
        return found

    def browse_statement(
        self,
        spec: QuerySpec,
        page: PageRequest,
        *,
        use_index: bool = True,
        preview: int | None = None,
    ) -> Select[Any]:
        keys = self.sort_keys(spec)
        reverse = isinstance(page, Before)
        statement = self._filtered(select(*self._columns(preview)), spec, use_index=use_index)
        if isinstance(page, After | Before) and page.key is not None:
            statement = statement.where(self._keyset_condition(keys, page.key, reverse=reverse))
        statement = statement.order_by(*_ordering(keys, reverse=reverse)).limit(page.limit)
        if isinstance(page, OffsetPage):
            statement = statement.offset(page.offset)
        elif isinstance(page, After) and page.skip:
            statement = statement.offset(page.skip)
        return statement

    def _columns(self, preview: int | None) -> list[ColumnElement[Any]]:
        """Every column; with ``preview``, text cut after ``preview + 1`` characters, so a
        page never carries a post's megabytes to a grid that shows one line of it."""
        columns: list[ColumnElement[Any]] = []
        for column in self.model.__table__.c:
            if preview is not None and _is_free_text(column):
                columns.append(func.substr(column, 1, preview + 1).label(column.key))
            else:
                columns.append(column)
        return columns

    async def anchors(self, spec: QuerySpec, stride: int) -> list[tuple[Any, ...]]:
        """The sort keys of rows stride-1, 2*stride-1, … (0-based) of the result.

        ``After(anchors[k - 1], n, skip=s)`` then reaches row ``k * stride + s`` with an
        OFFSET shorter than ``stride``: a jump into the middle of a million rows costs
        milliseconds instead of an OFFSET over half of them. One pass over the result.
        """
        keys = self.sort_keys(spec)
        position = func.row_number().over(order_by=_ordering(keys, reverse=False))
        numbered = self._filtered(
            select(*(column for column, _ in keys), position.label("position")), spec
        ).subquery()
        statement = (
            select(*(numbered.c[column.key] for column, _ in keys))
            .where(numbered.c.position % stride == 0)
            .order_by(numbered.c.position)
        )
        result = await self.session.execute(statement)
        return [tuple(row) for row in result]

    async def estimate_count(self, spec: QuerySpec) -> int | None:
        """The planner's guess at the number of rows (PostgreSQL), in about a millisecond;
        None where there is no planner estimate (SQLite)."""
        if self.session.bind.dialect.name != "postgresql":
            return None
        statement = self._filtered(select(self.model.__table__.c.id), spec)
        plan = (await self.session.execute(Explain(statement))).scalar_one()
        document = json.loads(plan) if isinstance(plan, str) else plan
        return int(document[0]["Plan"]["Plan Rows"])

    @classmethod
    def sort_keys(cls, spec: QuerySpec) -> list[tuple[Column, bool]]:
        """The columns and directions of ``spec.order()``: the rows' complete order."""
        return [(cls.column(key.column), key.descending) for key in spec.order()]

    async def _search_index_pays(self, text: str) -> bool:
        """``search_uses_index``, remembered per term: a page of a result is fetched many
        times while one scrolls, and the answer only changes the speed, never the rows."""
        key = (self.model.__tablename__, text.strip())
        known = _INDEX_PAYS.get(key)
        if known is None:
            known = await self.search_uses_index(text)
            _INDEX_PAYS[key] = known
            while len(_INDEX_PAYS) > _INDEX_PAYS_KEPT:
                _INDEX_PAYS.popitem(last=False)
        return known

    def _filtered(
        self, statement: Select[Any], spec: QuerySpec, *, use_index: bool = True
    ) -> Select[Any]:
        model = self.model
        if spec.deleted is DeletedRows.EXCLUDE:
            statement = statement.where(model.deleted_at.is_(None))
        elif spec.deleted is DeletedRows.ONLY:
            statement = statement.where(model.deleted_at.is_not(None))
        for filter_ in spec.filters:
            statement = statement.where(filter_.condition(self.column(filter_.column)))
        search = self.search_condition(spec.search, use_index=use_index)
        if search is not None:
            statement = statement.where(search)
        return statement

    def search_condition(self, text: str, *, use_index: bool = True) -> ColumnElement[bool] | None:
        """Case-insensitive substring match over the searchable columns; an integer also
        matches the id. ``%``, ``_`` and ``\\`` in the text match themselves.

        ``use_index=False`` leaves SQLite's trigram table out: the same rows, found by
        testing each row (see ``search_uses_index``)."""
        return search_condition(
            self.model,
            self.searchable,
            text,
            self.session.bind.dialect.name,
            use_index=use_index,
        )

    async def search_uses_index(self, text: str) -> bool:
        """Whether the first page of a search for ``text`` comes sooner from the trigram
        index than from walking the rows in order — only the speed differs, never the rows.

        SQLite's query planner cannot tell: it collects every match the FTS5 table finds
        before the first row comes out, which for a term in most rows (``example.org``)
        costs far more than walking the rows until a page is full. So look first: fewer
        than ``DENSE_MATCHES`` matches (counting stops there, a few milliseconds) and the
        index is the way. PostgreSQL's planner weighs this itself from its statistics.
        """
        term = text.strip()
        if not self.searchable or len(term) < TRIGRAM_LENGTH:
            return False
        if self.session.bind.dialect.name != "sqlite":
            return True
        found = _trigram_matches(self.model, self.searchable, term).limit(DENSE_MATCHES)
        count = select(func.count()).select_from(found.subquery())
        return int((await self.session.execute(count)).scalar_one()) < DENSE_MATCHES

    def _keyset_condition(
        self, keys: list[tuple[Column, bool]], key: tuple[Any, ...], *, reverse: bool
    ) -> ColumnElement[bool]:
        """Rows that come after ``key`` in the sort order (before it when ``reverse``)."""
        if len(key) != len(keys):
            raise InvalidValueError(f"A sort key needs {len(keys)} values, got {len(key)}.")
        # Bound with the column's own type: money is stored as cents on SQLite, and a bare
        # True/False would turn "<" into an error.
        values = [_key_value(column, value) for (column, _), value in zip(keys, key, strict=True)]
        directions = {descending for _, descending in keys}
        nullable = any(column.nullable for column, _ in keys)
        present = [value for value in values if value is not None]
        if len(directions) == 1 and not nullable and len(present) == len(values):
            # A row-value comparison is what lets both engines walk an index.
            columns = tuple_(*(column for column, _ in keys))
            bound = tuple_(*present)
            descending = directions.pop() ^ reverse
            return columns < bound if descending else columns > bound
        alternatives: list[ColumnElement[bool]] = []
        equal_so_far: list[ColumnElement[bool]] = []
        for (column, descending), value in zip(keys, values, strict=True):
            greater = _comes_after(column, value, descending=descending ^ reverse)
            alternatives.append(and_(*equal_so_far, greater))
            equal_so_far.append(column.is_(None) if value is None else column == value)
        return or_(*alternatives)


# -- searching -----------------------------------------------------------------------------

# The trigram indexes (the trigram_search_indexes migration) serve terms this long or longer;
# SQLite's FTS5 trigram tables match nothing for shorter ones, which scan instead.
TRIGRAM_LENGTH = 3
# From this many matches on, a term is common enough that walking the rows in order fills
# a page sooner than collecting its matches from SQLite's trigram table.
DENSE_MATCHES = 5_000
_LIKE_ESCAPE = "/"
# Terms whose density was measured (see BaseRepository._search_index_pays).
_INDEX_PAYS: OrderedDict[tuple[str, str], bool] = OrderedDict()
_INDEX_PAYS_KEPT = 256


def search_table_name(table_name: str) -> str:
    """The SQLite FTS5 trigram table over ``table_name``'s searchable columns.

    An external-content table (rowid = the record's id) that triggers keep in step; it is
    not in Base.metadata, so the application never creates or reflects it."""
    return f"{table_name}_fts"


def trigram_index_name(table_name: str, column: str) -> str:
    """The PostgreSQL GIN (gin_trgm_ops) index on one searchable column."""
    return f"ix_{table_name}_{column}_trgm"


def search_condition(
    model: type[Base],
    columns: Sequence[str],
    text: str,
    dialect: str,
    *,
    use_index: bool = True,
) -> ColumnElement[bool] | None:
    """What the search box matches: ``text`` (stripped) as a case-insensitive substring of
    any of ``columns`` — every character literal, LIKE wildcards and quotes included — or,
    for a whole number, the id. None for blank text (no condition at all).

    Written so the trigram indexes serve it. PostgreSQL: ``column ILIKE '%term%'``, which a
    GIN gin_trgm_ops index answers with a bitmap index scan. SQLite (``use_index``, a term
    of three or more characters): the ids its FTS5 trigram table finds, with the LIKE test
    kept as well, so the answer is exactly the plain scan's (the trigram tokenizer folds
    letter case beyond ASCII, where SQLite's lower() and LIKE do not).
    """
    term = text.strip()
    if not term:
        return None
    table = model.__table__
    matches: list[ColumnElement[bool]] = []
    if columns:
        contains = or_(*(_contains(table.c[name], term, dialect) for name in columns))
        if use_index and dialect == "sqlite" and len(term) >= TRIGRAM_LENGTH:
            found = _trigram_matches(model, columns, term)
            contains = and_(table.c.id.in_(found), contains)
        matches.append(contains)
    if term.isdigit() and int(term) <= _MAX_ID:
        matches.append(table.c.id == int(term))
    return or_(*matches) if matches else false()


def _contains(column: Column, term: str, dialect: str) -> ColumnElement[bool]:
    # type_coerce: the pattern is bound as text even on an enum column (order status),
    # whose own type would refuse a fragment such as "pend".
    text_column = type_coerce(column, String())
    if dialect != "postgresql":
        return text_column.icontains(term, autoescape=True)
    # ILIKE on the bare column (not lower(column) LIKE) is what gin_trgm_ops serves. The
    # pattern goes into the SQL as a literal (escaped by SQLAlchemy): with a bound
    # parameter, a prepared statement run often enough gets PostgreSQL's generic plan,
    # which cannot see the term and walks the whole id index for a rare one (a second,
    # not milliseconds, on a million users).
    escaped = (
        term.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    pattern = literal(f"%{escaped}%", String(), literal_execute=True)
    return text_column.ilike(pattern, escape=_LIKE_ESCAPE)


def _trigram_matches(model: type[Base], columns: Sequence[str], term: str) -> Select[Any]:
    """``SELECT rowid FROM <table>_fts WHERE <table>_fts MATCH '{cols} : "term"'``.

    The term is one FTS5 string (a doubled ``"`` inside), so operators, ``*``, ``^``,
    ``NEAR(`` and column names in it are plain text; the trigram tokenizer then finds the
    rows holding it as a substring, in any letter case, in rowid (id) order."""
    name = search_table_name(model.__tablename__)
    index = sa_table(name, sa_column("rowid"))
    query = "{" + " ".join(columns) + '} : "' + term.replace('"', '""') + '"'
    return select(index.c.rowid).where(sa_column(name).match(query))


def _is_free_text(column: Column) -> bool:
    # An Enum (order status) is a String too, but short and typed: never cut.
    return isinstance(column.type, String) and not isinstance(column.type, Enum)


def _ordering(keys: list[tuple[Column, bool]], *, reverse: bool) -> list[ColumnElement[Any]]:
    order: list[ColumnElement[Any]] = []
    for column, descending in keys:
        descending ^= reverse
        if not column.nullable:
            # Plain ORDER BY: an index walk, where NULLS FIRST/LAST can make SQLite sort.
            order.append(column.desc() if descending else column.asc())
        elif descending:
            # NULLs sort as the largest value on both engines (PostgreSQL's own default).
            order.append(column.desc().nulls_first())
        else:
            order.append(column.asc().nulls_last())
    return order


class Explain(Executable, ClauseElement):
    """``EXPLAIN (FORMAT JSON) <statement>``, with the statement's parameters bound as usual."""

    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(Explain, "postgresql")
def _compile_explain(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def _key_value(column: Column, value: Any) -> ColumnElement[Any] | None:
    if value is None:
        return None
    return literal(coerce_value(column, value), type_=column.type)


def _comes_after(
    column: Column, value: ColumnElement[Any] | None, *, descending: bool
) -> ColumnElement[bool]:
    # NULL is the largest value: last when ascending, first when descending.
    if value is None:
        return column.is_not(None) if descending else false()
    before: ColumnElement[bool] = column < value
    after: ColumnElement[bool] = column > value
    if descending:
        return before
    return or_(after, column.is_(None)) if column.nullable else after
