"""Browse, read, create, update, soft-delete and restore records of any kind.

The UI, the export and the command line ask here; answers are plain rows and dicts, never
ORM objects, and every call is one short unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.core.database import Database
from app.models import Base
from app.query import After, Page, PageRequest, QuerySpec
from app.repositories import REPOSITORIES, BaseRepository
from app.services import catalog
from app.services.errors import NotFoundError, ValidationError
from app.services.unit_of_work import unit_of_work

Record = dict[str, Any]


def repository_for(entity: str) -> type[BaseRepository[Any]]:
    catalog.entity(entity)  # a readable error for an unknown name
    return REPOSITORIES[entity]


class RecordService:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def browse(
        self, entity: str, spec: QuerySpec, page: PageRequest, *, preview: int | None = None
    ) -> Page:
        """One page of rows. ``preview``: text columns hold at most that many characters
        and one more when the value was longer (what a grid shows; see ``values``)."""
        repository_class = repository_for(entity)
        async with unit_of_work(self.database) as session:
            rows = await repository_class(session).browse(spec, page, preview=preview)
        return Page(columns=repository_class.column_names(), rows=[tuple(row) for row in rows])

    async def browse_last(
        self, entity: str, spec: QuerySpec, limit: int, *, preview: int | None = None
    ) -> tuple[Page, int]:
        """The last ``limit`` rows and the size of the whole result, in one statement."""
        repository_class = repository_for(entity)
        async with unit_of_work(self.database) as session:
            rows, total = await repository_class(session).browse_last(spec, limit, preview=preview)
        page = Page(columns=repository_class.column_names(), rows=[tuple(row) for row in rows])
        return page, total

    async def values(
        self, entity: str, ids: Sequence[int], columns: Sequence[str]
    ) -> dict[int, tuple[Any, ...]]:
        """Full values of some columns of some records (deleted or not), by id: what a
        copy needs for the cells a preview cut short."""
        repository_class = repository_for(entity)
        async with unit_of_work(self.database) as session:
            return await repository_class(session).values_by_id(ids, columns)

    async def count(self, entity: str, spec: QuerySpec) -> int:
        repository_class = repository_for(entity)
        async with unit_of_work(self.database) as session:
            return await repository_class(session).count(spec)

    async def estimate_count(self, entity: str, spec: QuerySpec) -> int | None:
        """A quick guess at ``count`` where the database has one (PostgreSQL), else None."""
        repository_class = repository_for(entity)
        async with unit_of_work(self.database) as session:
            return await repository_class(session).estimate_count(spec)

    async def anchors(self, entity: str, spec: QuerySpec, stride: int) -> list[tuple[Any, ...]]:
        """Sort keys of every ``stride``-th row, for jumping deep into a result (see
        BaseRepository.anchors)."""
        repository_class = repository_for(entity)
        async with unit_of_work(self.database) as session:
            return await repository_class(session).anchors(spec, stride)

    async def lookup(self, entity: str, text: str, limit: int = 20) -> list[tuple[int, str]]:
        """Live records matching ``text`` as (id, title) pairs, for a record picker."""
        info = catalog.entity(entity)
        page = await self.browse(entity, QuerySpec(search=text), After(None, limit))
        return [
            (row[page.columns.index("id")], title_of(info, page.columns, row)) for row in page.rows
        ]

    async def get(self, entity: str, record_id: int) -> Record:
        """The record, deleted or not (its ``deleted_at`` tells)."""
        repository_class = repository_for(entity)
        async with unit_of_work(self.database) as session:
            instance = await repository_class(session).find_by_id(record_id, include_deleted=True)
            if instance is None:
                raise _not_found(entity, record_id)
            return _record(instance)

    async def create(self, entity: str, values: Record) -> Record:
        repository_class = repository_for(entity)
        async with unit_of_work(self.database, write=True) as session:
            instance = await repository_class(session).create(**values)
            return _record(instance)

    async def update(
        self, entity: str, record_id: int, values: Record, *, expected_version: int | None = None
    ) -> Record:
        repository_class = repository_for(entity)
        async with unit_of_work(self.database, write=True) as session:
            instance = await repository_class(session).update(
                record_id, expected_version=expected_version, **values
            )
            if instance is None:
                raise _not_found(entity, record_id)
            return _record(instance)

    async def delete(
        self, entity: str, record_id: int, *, expected_version: int | None = None
    ) -> Record:
        """Soft-delete: the record goes to the trash, from where ``restore`` brings it back."""
        return await self._set_deleted(entity, record_id, True, expected_version)

    async def restore(
        self, entity: str, record_id: int, *, expected_version: int | None = None
    ) -> Record:
        return await self._set_deleted(entity, record_id, False, expected_version)

    async def _set_deleted(
        self, entity: str, record_id: int, deleted: bool, expected_version: int | None
    ) -> Record:
        repository_class = repository_for(entity)
        async with unit_of_work(self.database, write=True) as session:
            repository = repository_class(session)
            if deleted:
                changed = await repository.delete(record_id, expected_version)
            else:
                changed = await repository.restore(record_id, expected_version)
            instance = await repository.find_by_id(record_id, include_deleted=True)
            if instance is None:
                raise _not_found(entity, record_id)
            if not changed:
                state = "already in the trash" if deleted else "not in the trash"
                raise ValidationError(f"{_record_kind(entity)} {record_id} is {state}.")
            return _record(instance)


def _record_kind(entity: str) -> str:
    return entity.removesuffix("s").replace("_", " ").capitalize()


def _not_found(entity: str, record_id: int) -> NotFoundError:
    return NotFoundError(f"{_record_kind(entity)} {record_id} does not exist.")


def _record(instance: Base) -> Record:
    return instance.to_dict()


def title_of(info: catalog.EntityInfo, columns: Sequence[str], row: Sequence[Any]) -> str:
    """``#12 Ada Lovelace · ada@example.org``: how a record is named in pickers and chips."""
    parts = [str(row[columns.index(name)]) for name in info.title_columns]
    return f"#{row[columns.index('id')]} " + " · ".join(part for part in parts if part)
