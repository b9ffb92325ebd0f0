"""Browse, read, create, update, soft-delete and restore records of any kind.

The UI, the export and the command line ask here; answers are plain rows and dicts, never
ORM objects, and every call is one short unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.database import Database
from app.models import Base
from app.query import Page, PageRequest, QuerySpec
from app.repositories import REPOSITORIES, BaseRepository
from app.services.errors import NotFoundError, ValidationError
from app.services.unit_of_work import unit_of_work

Record = dict[str, Any]


@dataclass(frozen=True)
class EntityInfo:
    name: str
    label: str
    columns: tuple[str, ...]
    searchable: tuple[str, ...]


def entities() -> list[EntityInfo]:
    """The kinds of record, in the order the main window lists them."""
    return [
        EntityInfo(
            name=name,
            label=name.replace("_", " ").capitalize(),
            columns=repository.column_names(),
            searchable=repository.searchable,
        )
        for name, repository in REPOSITORIES.items()
    ]


def repository_for(entity: str) -> type[BaseRepository[Any]]:
    try:
        return REPOSITORIES[entity]
    except KeyError:
        known = ", ".join(REPOSITORIES)
        raise ValidationError(f"There are no {entity!r} records; choose one of {known}.") from None


class RecordService:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def browse(self, entity: str, spec: QuerySpec, page: PageRequest) -> Page:
        repository_class = repository_for(entity)
        async with unit_of_work(self.database) as session:
            rows = await repository_class(session).browse(spec, page)
        return Page(
            columns=repository_class.column_names(),
            rows=[tuple(row) for row in rows],
            sort_columns=repository_class.sort_columns(spec),
        )

    async def count(self, entity: str, spec: QuerySpec) -> int:
        repository_class = repository_for(entity)
        async with unit_of_work(self.database) as session:
            return await repository_class(session).count(spec)

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
                raise ValidationError(f"{_label(entity)} {record_id} is {state}.")
            return _record(instance)


def _label(entity: str) -> str:
    return entity.removesuffix("s").replace("_", " ").capitalize()


def _not_found(entity: str, record_id: int) -> NotFoundError:
    return NotFoundError(f"{_label(entity)} {record_id} does not exist.")


def _record(instance: Base) -> Record:
    return instance.to_dict()
