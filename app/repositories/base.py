"""The generic repository: it builds queries and flushes, it never commits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Table,
    UniqueConstraint,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.schema import Column as SAColumn
from sqlalchemy.sql.visitors import iterate, replacement_traverse

from app.column_kinds import ColumnKind, comparable, kind_of_type
from app.models.base import Base
from app.models.types import InvalidValueError, stored_as_is, utcnow
from app.query import (
    After,
    Before,
    Column,
    DeletedRows,
    KeyRange,
    OffsetPage,
    PageRequest,
    QuerySpec,
    coerce_value,
)
from app.repositories import search

T = TypeVar("T", bound=Base)

# Columns the database and the repository maintain; a caller never sets them.
MANAGED_COLUMNS = frozenset({"id", "created_at", "updated_at", "deleted_at", "version"})
# Ids per IN (...) list: far below SQLite's and asyncpg's limits on bound parameters.
IDS_PER_STATEMENT = 500


class StaleVersionError(Exception):
    """The record changed since the caller read it (its version moved on)."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected}, found {actual}")
        self.expected = expected
        self.actual = actual


class TableRepository:
    """Reading one table: pages, counts, search, filters, anchors, exports.

    Driven by a description of the table, not by a model: ``table`` (any SQLAlchemy
    Table), ``key`` (the columns naming one row, of any type), ``soft_delete`` (the
    nullable timestamp marking a row as in the trash, or None) and ``searchable`` (the
    text columns the search box looks in). Our kinds get theirs from their models
    (BaseRepository); another program's tables from the reflected catalog
    (``for_table``).
    """

    table: ClassVar[Table]
    key: ClassVar[tuple[str, ...]] = ("id",)
    soft_delete: ClassVar[str | None] = "deleted_at"
    # Text columns the search box looks in (see app.repositories.search).
    searchable: ClassVar[tuple[str, ...]] = ()
    # Whether SQLite's FTS5 tables of ours may be there to search through.
    indexed: ClassVar[bool] = True

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def for_table(
        table: Table,
        *,
        key: tuple[str, ...],
        soft_delete: str | None = None,
        searchable: tuple[str, ...] = (),
    ) -> type[TableRepository]:
        """A repository class reading ``table`` (another program's: no index of ours)."""
        attributes = {
            "table": table,
            "key": key,
            "soft_delete": soft_delete,
            "searchable": searchable,
            "indexed": False,
        }
        return type(f"{table.name}Repository", (TableRepository,), attributes)

    async def count(self, spec: QuerySpec | None = None) -> int:
        spec = spec or QuerySpec()
        statement = self.count_statement(spec, use_index=await self.search_uses_index(spec.search))
        result = await self.session.execute(statement)
        return int(result.scalar_one())

    def count_statement(
        self, spec: QuerySpec, *, use_index: bool = False, ranges: Sequence[KeyRange] = ()
    ) -> Select[Any]:
        """``SELECT count(*)`` of the result, or of the ``ranges`` of it when given."""
        statement = self._filtered(
            select(func.count()).select_from(self.table), spec, use_index=use_index
        )
        return self._within(statement, spec, ranges)

    # -- browsing --------------------------------------------------------------------------

    @classmethod
    def column(cls, name: str) -> Column:
        try:
            column: Column = cls.table.c[name]
            return column
        except KeyError:
            raise InvalidValueError(f"{cls.table.name} has no column {name!r}.") from None

    @classmethod
    def column_names(cls) -> tuple[str, ...]:
        return tuple(column.key for column in cls.table.c)

    @classmethod
    def same_unique_value(cls, name: str, value: Any) -> ColumnElement[bool] | None:
        """Where a stored record holds what the database takes for ``value`` in the unique
        column ``name`` — compared through the very expression of its unique index (an
        email's ignores the case of A–Z), so a check before writing agrees with the
        database on both engines. None when the column is not unique on its own."""
        table = cls.table
        column = table.c[cls.column(name).key]
        exactly: ColumnElement[bool] = column == value
        for index in table.indexes:
            if not index.unique or len(index.expressions) != 1:
                continue
            expression = index.expressions[0]
            if expression is column:
                return exactly
            if isinstance(expression, ColumnElement) and set(_columns_in(expression)) == {column}:
                alike: ColumnElement[bool] = expression == _with_value(expression, column, value)
                return alike
        unique = bool(column.unique) or any(
            isinstance(constraint, UniqueConstraint) and list(constraint.columns) == [column]
            for constraint in table.constraints
        )
        return exactly if unique else None

    async def browse(
        self, spec: QuerySpec, page: PageRequest, *, preview: int | None = None
    ) -> Sequence[Row[Any]]:
        """One page of plain rows (every column, in table order). With ``preview``, text
        columns hold at most ``preview + 1`` characters: a value that long was cut."""
        use_index = await self.search_uses_index(spec.search)
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
        if not self.key:
            # Nothing to read backwards by: the count says where the last rows start.
            total = await self.count(spec)
            start = max(0, total - limit)
            return await self.browse(spec, OffsetPage(start, limit), preview=preview), total
        use_index = await self.search_uses_index(spec.search)
        statement = self.browse_statement(
            spec, Before(None, limit), use_index=use_index, preview=preview
        ).add_columns(func.count().over().label("records_desk_total"))
        rows = list((await self.session.execute(statement)).all())
        if not rows:
            return [], await self.count(spec)
        total = int(rows[0][-1])
        return [row[:-1] for row in reversed(rows)], total

    async def row_by_key(self, key: tuple[Any, ...]) -> dict[str, Any] | None:
        """Every column of the row whose key columns hold ``key`` (None when there is none),
        whole: what a record window shows of another program's row."""
        if len(key) != len(self.key) or not self.key:
            return None
        statement = select(*self.table.c).where(
            *(self.column(name) == value for name, value in zip(self.key, key, strict=True))
        )
        row = (await self.session.execute(statement.limit(1))).first()
        return None if row is None else dict(row._mapping)

    async def values_by_id(
        self, ids: Sequence[Any], columns: Sequence[str]
    ) -> dict[Any, tuple[Any, ...]]:
        """The full values of ``columns`` of the records with these keys (a value each, or a
        tuple each for a key of several columns), deleted or not, by key."""
        if not self.key:
            raise InvalidValueError(f"{self.table.name} has no key to read rows again by.")
        selected = [self.column(name) for name in columns]
        keys = [self.column(name) for name in self.key]
        width = len(keys)
        found: dict[Any, tuple[Any, ...]] = {}
        for start in range(0, len(ids), IDS_PER_STATEMENT // width):
            chunk = list(ids[start : start + IDS_PER_STATEMENT // width])
            matches: ColumnElement[bool]
            if width == 1:
                matches = keys[0].in_(chunk)
            else:
                # SQLite takes a row value IN a subquery only, not IN a list of them.
                matches = or_(
                    *(and_(*(k == v for k, v in zip(keys, key, strict=True))) for key in chunk)
                )
            result = await self.session.execute(select(*keys, *selected).where(matches))
            for row in result:
                key_of = row[0] if width == 1 else tuple(row[:width])
                found[key_of] = tuple(row[width:])
        return found

    def browse_statement(
        self,
        spec: QuerySpec,
        page: PageRequest,
        *,
        use_index: bool = False,
        preview: int | None = None,
    ) -> Select[Any]:
        """The query for one page; ``use_index`` as ``search_uses_index`` answers."""
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

    def export_statement(
        self,
        spec: QuerySpec,
        columns: Sequence[ColumnElement[Any]],
        *,
        use_index: bool = False,
        ranges: Sequence[KeyRange] = (),
    ) -> Select[Any]:
        """``columns`` of every row of the result in its order (of the ``ranges`` of it
        when given): what an export writes, in one statement."""
        statement = self._filtered(select(*columns), spec, use_index=use_index)
        statement = self._within(statement, spec, ranges)
        return statement.order_by(*_ordering(self.sort_keys(spec), reverse=False))

    async def viewed(
        self, statement: Select[Any], spec: QuerySpec, ranges: Sequence[KeyRange] = ()
    ) -> Select[Any]:
        """``statement`` kept to the rows of the view ``spec`` (its search, filters and
        deleted rows), and to the ``ranges`` of it when given: what an aggregate runs over."""
        use_index = await self.search_uses_index(spec.search)
        return self._within(self._filtered(statement, spec, use_index=use_index), spec, ranges)

    def _within(
        self, statement: Select[Any], spec: QuerySpec, ranges: Sequence[KeyRange]
    ) -> Select[Any]:
        """Only the rows inside one of ``ranges`` (all of them when there are none)."""
        if not ranges:
            return statement
        keys = self.sort_keys(spec)
        width = len(self.key)
        if not width:
            raise InvalidValueError(
                f"{self.table.name} has no key to find selected rows by: export all its rows."
            )
        key_columns = [self.column(name) for name in self.key]

        def among(wanted: Sequence[Any]) -> ColumnElement[bool]:
            if width == 1:
                return key_columns[0].in_(wanted)
            # SQLite takes a row value IN a subquery only, not IN a list of row values.
            return or_(
                *(
                    and_(*(column == part for column, part in zip(key_columns, value, strict=True)))
                    for value in wanted
                )
            )

        # Where each key column's value is in a sort key: a key column the view sorts by
        # sits where the sort has it, not necessarily at the end.
        order = [sort_key.column for sort_key in spec.order(self.key)]
        places = [order.index(name) for name in self.key]

        def row_key(sort_key: tuple[Any, ...]) -> Any:
            values = [
                _read_value(column, sort_key[place])
                for column, place in zip(key_columns, places, strict=True)
            ]
            return values[0] if width == 1 else tuple(values)

        single = [row_key(block.first) for block in ranges if block.first == block.last]
        # One IN list per chunk of single rows: each OR term deepens SQLite's expression
        # tree, which stops at a depth of 1,000.
        inside: list[ColumnElement[bool]] = [
            among(single[start : start + IDS_PER_STATEMENT])
            for start in range(0, len(single), IDS_PER_STATEMENT)
        ]
        for block in ranges:
            if block.first == block.last:
                continue
            # A sort key ends with the row's key, so each end is one row; between them, a
            # row comes after the first end and before the last.
            ends = [row_key(block.first), row_key(block.last)]
            inside.append(
                or_(
                    among(ends),
                    and_(
                        self._keyset_condition(keys, block.first, reverse=False),
                        self._keyset_condition(keys, block.last, reverse=True),
                    ),
                )
            )
        return statement.where(or_(*inside))

    def _columns(self, preview: int | None) -> list[ColumnElement[Any]]:
        """Every column; with ``preview``, text cut after ``preview + 1`` characters, so a
        page never carries a post's megabytes to a grid that shows one line of it."""
        columns: list[ColumnElement[Any]] = []
        for column in self.table.c:
            if preview is not None and _is_free_text(column):
                cut: ColumnElement[Any] = func.substr(column, 1, preview + 1)
                if stored_as_is(column.type):
                    # Only text is cut: bytes another program kept there come whole.
                    cut = case((func.typeof(column) == "text", cut), else_=column)
                columns.append(cut.label(column.key))
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
            select(*(column for column, _ in keys), position.label("position")),
            spec,
            use_index=await self.search_uses_index(spec.search),
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
        # PostgreSQL: the indexes are the planner's business, never part of the query.
        statement = self._filtered(
            select(literal(1)).select_from(self.table), spec, use_index=False
        )
        plan = (await self.session.execute(Explain(statement))).scalar_one()
        document = json.loads(plan) if isinstance(plan, str) else plan
        return int(document[0]["Plan"]["Plan Rows"])

    @classmethod
    def sort_keys(cls, spec: QuerySpec) -> list[tuple[Column, bool]]:
        """The columns and directions of ``spec.order()``: the rows' complete order."""
        keys = [(cls.column(key.column), key.descending) for key in spec.order(cls.key)]
        if not cls.key:
            # No key to break ties: every column that can be ordered does, so that each
            # OFFSET page of a view sees the rows in the same order (rows alike in every
            # column are alike to the reader too).
            chosen = {column.key for column, _ in keys}
            keys.extend(
                (column, False)
                for column in cls.table.c
                if column.key not in chosen and comparable(column.type)
            )
        return keys

    def _filtered(self, statement: Select[Any], spec: QuerySpec, *, use_index: bool) -> Select[Any]:
        if self.soft_delete is not None:
            deleted_at = self.table.c[self.soft_delete]
            if spec.deleted is DeletedRows.EXCLUDE:
                statement = statement.where(deleted_at.is_(None))
            elif spec.deleted is DeletedRows.ONLY:
                statement = statement.where(deleted_at.is_not(None))
        elif spec.deleted is DeletedRows.ONLY:
            statement = statement.where(false())  # no trash: nothing is in it
        for filter_ in spec.filters:
            statement = statement.where(filter_.condition(self.column(filter_.column)))
        matches = self.search_condition(spec.search, use_index=use_index)
        if matches is not None:
            statement = statement.where(matches)
        return statement

    def search_condition(self, text: str, *, use_index: bool = False) -> ColumnElement[bool] | None:
        """What the search box matches in these records (see app.repositories.search);
        ``use_index`` as ``search_uses_index`` answers for ``text``."""
        dialect = self.session.bind.dialect.name
        return search.condition(
            self.table,
            self.searchable,
            text,
            dialect,
            use_index=use_index,
            record_id=self.whole_number_key(),
        )

    async def search_uses_index(self, text: str) -> bool:
        """Whether a search for ``text`` goes through the trigram index (see
        ``search.uses_index``): only the speed differs, never the rows."""
        if not self.indexed:
            # Another program's table: no index of ours, so scanning it is the way. The
            # folding tables the condition needs are made all the same.
            return await search.uses_index(self.session, self.table.name, (), text)
        return await search.uses_index(self.session, self.table.name, self.searchable, text)

    @classmethod
    def whole_number_key(cls) -> str | None:
        """The key column when it is one whole-number column (what ``#5`` names)."""
        if len(cls.key) != 1:
            return None
        column = cls.table.c[cls.key[0]]
        try:
            return cls.key[0] if column.type.python_type is int else None
        except NotImplementedError:
            return None

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


class BaseRepository(TableRepository, Generic[T]):
    """Common operations on one of our kinds of record, over its model.

    Deleting is a soft delete: the row stays, flagged with ``deleted_at``, and can be
    restored. Reads leave deleted rows out unless asked for them.
    """

    model: ClassVar[type[Base]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model" in cls.__dict__:
            table = cls.model.__table__
            assert isinstance(table, Table)
            cls.table = table

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


def _columns_in(expression: ClauseElement) -> list[Column]:
    return [element for element in iterate(expression) if isinstance(element, SAColumn)]


def _with_value(expression: ColumnElement[Any], column: Column, value: Any) -> ColumnElement[Any]:
    """``expression`` of ``column`` made of ``value`` instead (lower(email) → lower(:value))."""
    stand_in = bindparam(None, value, type_=column.type)

    def replaced(element: Any, **_: Any) -> Any:
        return stand_in if element is column else None

    result: ColumnElement[Any] = replacement_traverse(expression, {}, replaced)
    return result


def _is_free_text(column: Column) -> bool:
    # An Enum (order status) is a String too, but short and typed: never cut. Another
    # program's SQLite text column is read as stored, and is text all the same.
    return kind_of_type(column.type) is ColumnKind.TEXT


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
    return literal(_read_value(column, value), type_=column.type)


def _read_value(column: Column, value: Any) -> Any:
    """A value of ``column`` read from its rows, to be bound again (a sort key, a selected
    row's key): checked as a typed one is, except in another program's SQLite column,
    whose values are bound exactly as they were read ("2026-01-01T10:00:00Z" parsed and
    printed again would no longer equal itself)."""
    if stored_as_is(column.type):
        return value
    return coerce_value(column, value)


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
