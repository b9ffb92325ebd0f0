"""Browse, read, create, update, soft-delete and restore records of any kind.

The UI, the export and the command line ask here; answers are plain rows and dicts, never
ORM objects, and every call is one short unit of work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.changes import ChangeKind, note
from app.core.database import Database
from app.models import Account, Base
from app.models.types import utcnow
from app.query import After, KeyRange, Page, PageRequest, QuerySpec
from app.repositories import REPOSITORIES, BaseRepository
from app.repositories.base import IDS_PER_STATEMENT, StaleVersionError, TableRepository
from app.services import catalog, ledger, row_edits
from app.services.catalog import Catalog, EntityInfo, catalog_of
from app.services.errors import (
    ConflictError,
    DuplicateInTrashError,
    FieldValuesError,
    InTrashError,
    NotFoundError,
    ValidationError,
)
from app.services.intents import once
from app.services.passwords import hash_password
from app.services.unit_of_work import unit_of_work
from app.services.validation import checked_values

Record = dict[str, Any]
# Titles of referenced records by (kind, id): ("users", 5) → "#5 Alan Wagner · alan@…".
ReferenceTitles = dict[tuple[str, Any], str]


def repository_for(database: Database, entity: str) -> type[TableRepository]:
    """The repository reading ``entity`` in ``database`` (a readable error for an unknown
    name)."""
    return catalog_of(database).repository(entity)


def _ours(entity: str) -> type[BaseRepository[Any]]:
    """One of our repositories, for what only our schema does (forms, trash, undo)."""
    catalog.entity(entity)  # a readable error for an unknown name
    return REPOSITORIES[entity]


class RecordService:
    """The records of one database: browse, read, create, edit, trash and restore them.
    What it commits is published on the database's feed (``Database.changes``)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def browse(
        self, entity: str, spec: QuerySpec, page: PageRequest, *, preview: int | None = None
    ) -> Page:
        """One page of rows. ``preview``: text columns hold at most that many characters
        and one more when the value was longer (what a grid shows; see ``values``)."""
        repository_class = repository_for(self.database, entity)
        async with unit_of_work(self.database) as session:
            rows = await repository_class(session).browse(spec, page, preview=preview)
        return Page(columns=repository_class.column_names(), rows=[tuple(row) for row in rows])

    async def browse_last(
        self, entity: str, spec: QuerySpec, limit: int, *, preview: int | None = None
    ) -> tuple[Page, int]:
        """The last ``limit`` rows and the size of the whole result, in one statement."""
        repository_class = repository_for(self.database, entity)
        async with unit_of_work(self.database) as session:
            rows, total = await repository_class(session).browse_last(spec, limit, preview=preview)
        page = Page(columns=repository_class.column_names(), rows=[tuple(row) for row in rows])
        return page, total

    async def values(
        self, entity: str, ids: Sequence[Any], columns: Sequence[str]
    ) -> dict[Any, tuple[Any, ...]]:
        """Full values of some columns of some records (deleted or not), by key (a tuple
        for a key of several columns): what a copy needs for the cells a preview cut."""
        repository_class = repository_for(self.database, entity)
        async with unit_of_work(self.database) as session:
            return await repository_class(session).values_by_id(ids, columns)

    async def count(self, entity: str, spec: QuerySpec) -> int:
        repository_class = repository_for(self.database, entity)
        async with unit_of_work(self.database) as session:
            return await repository_class(session).count(spec)

    async def estimate_count(self, entity: str, spec: QuerySpec) -> int | None:
        """A quick guess at ``count`` where the database has one (PostgreSQL), else None."""
        repository_class = repository_for(self.database, entity)
        async with unit_of_work(self.database) as session:
            return await repository_class(session).estimate_count(spec)

    async def anchors(self, entity: str, spec: QuerySpec, stride: int) -> list[tuple[Any, ...]]:
        """Sort keys of every ``stride``-th row, for jumping deep into a result (see
        BaseRepository.anchors)."""
        repository_class = repository_for(self.database, entity)
        async with unit_of_work(self.database) as session:
            return await repository_class(session).anchors(spec, stride)

    async def lookup(self, entity: str, text: str, limit: int = 20) -> list[tuple[int, str]]:
        """Live records matching ``text`` as (id, title) pairs, for a record picker."""
        info = catalog_of(self.database).entity(entity)
        page = await self.browse(entity, QuerySpec(search=text), After(None, limit))
        key = page.columns.index(info.key[0])
        return [(row[key], title_of(info, page.columns, row)) for row in page.rows]

    async def lookup_ids(self, entity: str, ids: Sequence[int]) -> dict[int, str]:
        """The titles of records by id (deleted or not), for a picker showing its value."""
        info = catalog_of(self.database).entity(entity)
        columns = (info.key[0], *info.title_columns)
        found = await self.values(entity, ids, columns)
        return {record_id: title_of(info, columns, row) for record_id, row in found.items()}

    async def reference_titles(self, entity: str, rows: Sequence[Sequence[Any]]) -> ReferenceTitles:
        """The titles of the records that the reference columns of ``rows`` (a page of
        ``entity``, in its columns' order) name, by (kind, id): what a grid shows for
        an author id. One query per kind referenced (per IDS_PER_STATEMENT ids), however
        many rows and reference columns; none when the rows name nothing."""
        known = catalog_of(self.database)
        wanted = _referenced_ids(known.entity(entity), rows)
        if not wanted:
            return {}
        titles: ReferenceTitles = {}
        async with unit_of_work(self.database) as session:
            for target, ids in wanted.items():
                found = await _titles(session, known, target, sorted(ids))
                titles.update(((target, record_id), title) for record_id, title in found.items())
        return titles

    async def cell_titles(self, entity: str, ids: Sequence[int]) -> dict[int, str]:
        """What a grid's reference cells show for these records of ``entity`` (``#5 · Alan
        Wagner``), read again after they changed: as ``reference_titles`` names them."""
        async with unit_of_work(self.database) as session:
            return await _titles(session, catalog_of(self.database), entity, ids)

    @property
    def catalog(self) -> Catalog:
        """What this database holds (its kinds of record)."""
        return catalog_of(self.database)

    async def get(self, entity: str, record_id: Any) -> Record:
        """The record, deleted or not (its ``deleted_at`` tells). ``record_id``: its key's
        value, or a tuple of them for a key of several columns."""
        if not self.catalog.ours:
            return await row_edits.get(self.database, entity, record_id)
        repository_class = _ours(entity)
        async with unit_of_work(self.database) as session:
            instance = await repository_class(session).find_by_id(record_id, include_deleted=True)
            if instance is None:
                raise _not_found(entity, record_id)
            return _record(instance)

    async def create(
        self,
        entity: str,
        values: Record,
        *,
        password: str | None = None,
        token: str | None = None,
    ) -> Record:
        """A new record from what a form holds (checked first: a FieldValuesError names each
        field that breaks a rule). A kind with a secret column (a user's password) needs
        ``password``, which is stored hashed. ``token``: the form's intent, created once
        however often it arrives (app.services.intents)."""
        if not self.catalog.ours:
            return await row_edits.create(self.database, entity, values, token=token)
        info = _writable(entity)
        secret = next((column for column in info.columns if column.secret), None)
        try:
            checked = checked_values(info, values, creating=True)
        except FieldValuesError as error:
            if secret is None or password is not None:
                raise
            # Every field's problem at once, the missing password among them.
            errors = {**error.errors, secret.name: "Set a password."}
            raise FieldValuesError(errors, _labels(info)) from None
        if secret is not None:
            if password is None:
                raise FieldValuesError({secret.name: "Set a password."}, _labels(info))
            checked[secret.name] = await asyncio.to_thread(hash_password, password)
        with once(self.database, token):
            async with unit_of_work(self.database, write=True) as session:
                await _check_references(session, info, checked)
                await _check_unique(session, info, checked, None)
                instance = await REPOSITORIES[entity](session).create(
                    **ledger.opening_values(entity, checked)
                )
                await _after_write(session, entity, [instance.id], ChangeKind.ADDED)
                return _record(instance)

    async def update(
        self,
        entity: str,
        record_id: Any,
        values: Record,
        *,
        expected_version: int | None = None,
        expected_row: Record | None = None,
        as_read: bool = False,
        token: str | None = None,
    ) -> Record:
        """Change the fields in ``values``; a record changed since ``expected_version`` is
        refused (ConflictError) rather than overwritten, and one in the trash is refused
        (InTrashError) rather than changed there unseen. Another program's row, which has
        no version, is changed only if it still holds ``expected_row`` (the row as read);
        ``as_read``: ``values`` were read from it (an undo), written back as they are."""
        if not self.catalog.ours:
            return await row_edits.update(
                self.database, entity, record_id, expected_row, values, as_read=as_read, token=token
            )
        info = _writable(entity)
        checked = checked_values(info, values, creating=False)
        with once(self.database, token):
            async with unit_of_work(self.database, write=True) as session:
                await _refuse_in_trash(session, info, record_id)
                await _check_references(session, info, checked)
                await _check_unique(session, info, checked, record_id)
                instance = await REPOSITORIES[entity](session).update(
                    record_id, expected_version=expected_version, **checked
                )
                if instance is None:
                    raise _not_found(entity, record_id)
                await _after_write(session, entity, [record_id], ChangeKind.CHANGED)
                return _record(instance)

    async def set_password(
        self, entity: str, record_id: int, password: str, *, expected_version: int | None = None
    ) -> Record:
        """Store the hash of a new ``password`` (the text itself goes nowhere)."""
        info = _writable(entity)
        secret = next((column for column in info.columns if column.secret), None)
        if secret is None:
            raise ValidationError(f"{info.label} have no password.")
        hashed = await asyncio.to_thread(hash_password, password)
        async with unit_of_work(self.database, write=True) as session:
            instance = await REPOSITORIES[entity](session).update(
                record_id, expected_version=expected_version, **{secret.name: hashed}
            )
            if instance is None:
                raise _not_found(entity, record_id)
            note(session, entity, ChangeKind.CHANGED, [record_id])
            return _record(instance)

    def use_trash(self, entity: str, column: str | None) -> EntityInfo:
        """Another program's table: its ``trash_candidate`` column used as the trash from
        now on (None: no longer), as the user confirmed. The kind as it is now."""
        return self.catalog.use_trash(entity, column)

    async def trash_rows(
        self,
        entity: str,
        rows: Sequence[Record],
        *,
        restore: bool = False,
        token: str | None = None,
    ) -> list[Record]:
        """Another program's rows moved to its trash (their trash column set to now), or
        back (``restore``), each only if it still holds what ``rows`` say."""
        return await row_edits.move_to_trash(
            self.database, entity, rows, restore=restore, token=token
        )

    def check_row_values(self, entity: str, values: Record) -> Record:
        """Another program's table: ``values`` as its columns hold them, or a
        FieldValuesError at each field (nothing read or written)."""
        return row_edits.check_values(self.database, entity, values)

    async def update_rows(
        self,
        entity: str,
        changes: Sequence[tuple[Record, Record]],
        *,
        as_read: bool = False,
        token: str | None = None,
    ) -> list[Record]:
        """Another program's rows changed together, each (row as read, values for it),
        in one transaction, all or none."""
        return await row_edits.update_many(
            self.database, entity, changes, as_read=as_read, token=token
        )

    async def delete_plan(self, entity: str, keys: Sequence[Any]) -> row_edits.DeletePlan:
        """Another program's rows: how many of ``keys`` are there, and what its foreign
        keys would cascade, clear or refuse were they deleted."""
        return await row_edits.delete_plan(self.database, entity, keys)

    async def delete_rows(
        self, entity: str, rows: Sequence[Record], *, token: str | None = None
    ) -> row_edits.RemovedRows:
        """Another program's rows deleted for good, all or none, each only if it still
        holds what ``rows`` say it did; what went, for ``put_back``."""
        return await row_edits.delete(self.database, entity, rows, token=token)

    async def put_back(
        self, removed: row_edits.RemovedRows, *, token: str | None = None
    ) -> row_edits.RemovedRows:
        """The undo of ``delete_rows``: every row it took away inserted again."""
        return await row_edits.put_back(self.database, removed, token=token)

    async def related_counts(self, entity: str, ids: Sequence[int]) -> list[RelatedCount]:
        """The live records that trashing ``ids`` together with their related records
        would trash too, per kind (a user's posts, orders and their items, accounts…)."""
        async with unit_of_work(self.database) as session:
            return await _related_counts(session, entity, _ids_query(entity, ids))

    async def selection_counts(
        self, entity: str, spec: QuerySpec, ranges: Sequence[KeyRange]
    ) -> tuple[int, list[RelatedCount]]:
        """How many live records the ``ranges`` of the view ``spec`` hold (a selection of
        any size, loaded or not), and what trashing them with their related records would
        trash too: what the question before ``trash_selection`` says."""
        async with unit_of_work(self.database) as session:
            top = await _selection_query(session, entity, spec, ranges)
            count = await session.scalar(select(func.count()).select_from(top.subquery()))
            return int(count or 0), await _related_counts(session, entity, top)

    async def trash_selection(
        self,
        entity: str,
        spec: QuerySpec,
        ranges: Sequence[KeyRange],
        *,
        with_related: bool,
        token: str | None = None,
    ) -> tuple[dict[str, int], datetime]:
        """Put every live record of the ``ranges`` of the view ``spec`` in the trash — all
        of them however many (Ctrl+A over a million rows), in one transaction, in the
        database: the rows never travel. Cancelling the call stops it in the database and
        changes nothing. Returns how many of each kind went, and the moment they are
        stamped with, by which ``restore_trashed_at`` brings exactly them back."""
        info = catalog.entity(entity)
        if entity in _NOT_FOLLOWED:
            raise ValidationError(_LEDGER_HISTORY)
        moment = utcnow()
        with once(self.database, token):
            async with unit_of_work(self.database, write=True) as session:
                top = await _selection_query(session, entity, spec, ranges)
                levels = _related_levels(entity, top, deleted=False) if with_related else []
                await _refuse_money_left(session, entity, top, levels)
                return await _stamp_all(session, info, top, levels, moment), moment

    async def restore_trashed_at(
        self, entity: str, moment: datetime, *, token: str | None = None
    ) -> tuple[dict[str, int], datetime]:
        """Bring back the records of ``entity`` that one trash put there at ``moment``
        (with what went with them), as ``restore_many`` does by id: the undo of
        ``trash_selection``. Those restored or trashed again since are left as they are.
        Returns how many of each kind came back, and the moment they came back at (their
        ``updated_at``), by which ``trash_restored_at`` trashes exactly them again."""
        info = catalog.entity(entity)
        model = REPOSITORIES[entity].model
        restored_at = utcnow()
        with once(self.database, token):
            async with unit_of_work(self.database, write=True) as session:
                top = select(model.id).where(model.deleted_at == moment)
                await _refuse_trashed_parents(session, info, top)
                levels = _related_levels(entity, top, deleted=True, stamps={moment})
                counts = await _stamp_all(session, info, top, levels, None, at=restored_at)
                return counts, restored_at

    async def trash_restored_at(
        self,
        entity: str,
        restored_at: datetime,
        *,
        with_related: bool,
        token: str | None = None,
    ) -> tuple[dict[str, int], datetime]:
        """Move to the trash again the records of ``entity`` that ``restore_trashed_at``
        brought back at ``restored_at`` (with their related records when
        ``with_related``): the redo of that undo, however many rows, in the database.
        Those changed or trashed since (their ``updated_at`` moved on) are left as they
        are. Returns how many of each kind went, and the moment they are stamped with."""
        info = catalog.entity(entity)
        if entity in _NOT_FOLLOWED:
            raise ValidationError(_LEDGER_HISTORY)
        model = REPOSITORIES[entity].model
        moment = utcnow()
        with once(self.database, token):
            async with unit_of_work(self.database, write=True) as session:
                top = select(model.id).where(
                    model.updated_at == restored_at, model.deleted_at.is_(None)
                )
                levels = _related_levels(entity, top, deleted=False) if with_related else []
                await _refuse_money_left(session, entity, top, levels)
                return await _stamp_all(session, info, top, levels, moment), moment

    async def delete(
        self, entity: str, record_id: int, *, expected_version: int | None = None
    ) -> Record:
        """Soft-delete: the record goes to the trash, from where ``restore`` brings it back."""
        versions = {record_id: expected_version}
        await self.trash(entity, versions, with_related=False)
        return await self.get(entity, record_id)

    async def restore(
        self, entity: str, record_id: int, *, expected_version: int | None = None
    ) -> Record:
        await self.restore_many(entity, {record_id: expected_version})
        return await self.get(entity, record_id)

    async def trash(
        self,
        entity: str,
        versions: Mapping[int, int | None],
        *,
        with_related: bool,
        token: str | None = None,
    ) -> dict[str, int]:
        """Put the records ``versions`` names (id: the version the user saw, or None) in the
        trash, all or none, with their related records when ``with_related`` (all stamped
        with the same moment, which is how ``restore_many`` brings them back together).
        Returns how many records of each kind went."""
        info = catalog.entity(entity)
        if entity in _NOT_FOLLOWED:
            raise ValidationError(_LEDGER_HISTORY)
        with once(self.database, token):
            async with unit_of_work(self.database, write=True) as session:
                await _check_versions(session, info, versions, deleted=False)
                top = _ids_query(entity, list(versions))
                levels = _related_levels(entity, top, deleted=False) if with_related else []
                await _refuse_money_left(session, entity, top, levels)
                return await _stamp_all(session, info, top, levels, utcnow())

    async def restore_many(
        self, entity: str, versions: Mapping[int, int | None], *, token: str | None = None
    ) -> dict[str, int]:
        """Bring the records back from the trash, with the related records that were
        trashed together with them (and only those). Returns how many of each kind. A
        record whose own parent is still in the trash (an order of a trashed user) is
        refused in words: it would come back under a record nobody sees."""
        info = catalog.entity(entity)
        model = REPOSITORIES[entity].model
        with once(self.database, token):
            async with unit_of_work(self.database, write=True) as session:
                await _check_versions(session, info, versions, deleted=True)
                top = _ids_query(entity, list(versions))
                await _refuse_trashed_parents(session, info, top)
                stamps = set(
                    (
                        await session.scalars(
                            select(model.deleted_at).where(model.id.in_(list(versions)))
                        )
                    ).all()
                )
                levels = _related_levels(entity, top, deleted=True, stamps=stamps)
                return await _stamp_all(session, info, top, levels, None)


@dataclass(frozen=True)
class RelatedCount:
    entity: str
    label: str
    count: int


@dataclass(frozen=True)
class _Level:
    """Records of ``entity`` related (at some depth) to the ones being trashed or restored:
    ``query`` selects their ids."""

    entity: str
    label: str
    query: Select[Any]


# Relations a trash does not follow: a transfer is the ledger's history of both accounts.
_NOT_FOLLOWED = frozenset({"transfers"})
_LEDGER_HISTORY = (
    "Transfers are the ledger's history and stay in it: to undo one, move the money back "
    "with Transfer funds."
)


def _related_levels(
    entity: str,
    top: Select[Any],
    *,
    deleted: bool,
    stamps: set[datetime | None] | None = None,
) -> list[_Level]:
    """Every kind of record reachable from the records ``top`` selects (their ids) through
    the catalog's relations, top down: live ones (``deleted`` False), or the ones in the
    trash since one of ``stamps``."""
    levels: list[_Level] = []
    pending = [(entity, top)]
    while pending:
        parent, parent_ids = pending.pop(0)
        for relation in catalog.entity(parent).relations:
            if relation.entity in _NOT_FOLLOWED:
                continue
            child = REPOSITORIES[relation.entity].model
            reference = getattr(child, relation.column)
            query = select(child.id).where(reference.in_(parent_ids.scalar_subquery()))
            if deleted:
                query = query.where(child.deleted_at.in_([s for s in stamps or () if s]))
            else:
                query = query.where(child.deleted_at.is_(None))
            levels.append(_Level(relation.entity, catalog.entity(relation.entity).label, query))
            pending.append((relation.entity, query))
    return levels


async def _stamp_all(
    session: AsyncSession,
    info: catalog.EntityInfo,
    top: Select[Any],
    levels: Sequence[_Level],
    moment: datetime | None,
    *,
    at: datetime | None = None,
) -> dict[str, int]:
    """Trash (at ``moment``) or restore (None) the records ``top`` selects and the
    related ``levels``, all updated ``at`` one instant (by default ``moment``, or now);
    what changed is noted for the change feed, and the orders whose items came or went
    get their totals again. How many of each kind."""
    at = at or moment or utcnow()
    counts: dict[str, int] = {}
    kind = ChangeKind.REMOVED if moment is not None else ChangeKind.ADDED
    # Deepest first: each level's query reads the level above, still unchanged.
    for level in reversed(levels):
        ids = await _stamp(session, level, moment, at)
        counts[level.entity] = counts.get(level.entity, 0) + len(ids)
        note(session, level.entity, kind, ids)
    ids = await _stamp(session, _Level(info.name, info.label, top), moment, at)
    counts[info.name] = len(ids)
    note(session, info.name, kind, ids)
    # Related levels keep their orders' totals by construction (an order and its items
    # share one stamp, which the total counts); only the records chosen can change one.
    # By the ids stamped: ``top`` may select by the state just changed.
    for start in range(0, len(ids), IDS_PER_STATEMENT):
        chunk = ids[start : start + IDS_PER_STATEMENT]
        await ledger.keep_order_totals(session, info.name, _ids_query(info.name, chunk))
    return counts


async def _stamp(
    session: AsyncSession, level: _Level, moment: datetime | None, at: datetime
) -> list[int]:
    """Set (a moment) or clear (None) ``deleted_at`` of the level's records, updated
    ``at``; their ids."""
    model = REPOSITORIES[level.entity].model
    condition = model.deleted_at.is_(None) if moment is not None else model.deleted_at.is_not(None)
    result = await session.execute(
        update(model)
        .where(model.id.in_(level.query.scalar_subquery()), condition)
        .values(deleted_at=moment, updated_at=at, version=model.version + 1)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars().all())


async def _after_write(
    session: AsyncSession, entity: str, ids: Sequence[int], kind: ChangeKind
) -> None:
    """What every write of records does before its commit: note it for the change feed,
    and keep the totals that depend on it."""
    note(session, entity, kind, ids)
    model = REPOSITORIES[entity].model
    await ledger.keep_order_totals(session, entity, select(model.id).where(model.id.in_(ids)))


async def _refuse_in_trash(session: AsyncSession, info: catalog.EntityInfo, record_id: int) -> None:
    model = REPOSITORIES[info.name].model
    row = (await session.execute(select(model.deleted_at).where(model.id == record_id))).first()
    if row is None:
        raise _not_found(info.name, record_id)
    if row.deleted_at is not None:
        raise InTrashError(
            f"{info.singular} #{record_id} was moved to the trash meanwhile, so this was not "
            "saved. Restore it to save your changes to it.",
            entity=info.name,
            record_id=record_id,
        )


async def _refuse_trashed_parents(
    session: AsyncSession, info: catalog.EntityInfo, top: Select[Any]
) -> None:
    """Each record to restore (``top`` selects them) belongs to live records only."""
    model = REPOSITORIES[info.name].model
    for column in info.columns:
        if column.references is None:
            continue
        parent = REPOSITORIES[column.references].model
        reference = getattr(model, column.name)
        found = (
            await session.execute(
                select(model.id, reference)
                .join(parent, parent.id == reference)
                .where(model.id.in_(top.scalar_subquery()), parent.deleted_at.is_not(None))
                .order_by(model.id)
                .limit(1)
            )
        ).first()
        if found is not None:
            owner = catalog.entity(column.references).singular
            raise ValidationError(
                f"{info.singular} #{found[0]} belongs to {owner.lower()} #{found[1]}, which is "
                f"in the trash: restore {owner.lower()} #{found[1]} first (what went to the "
                "trash with it comes back with it)."
            )


async def _check_versions(
    session: AsyncSession,
    info: catalog.EntityInfo,
    versions: Mapping[int, int | None],
    *,
    deleted: bool,
) -> None:
    """Every record is there, in the state the action needs, at the version the user saw."""
    model = REPOSITORIES[info.name].model
    rows = {
        row.id: row
        for row in (
            await session.execute(
                select(model.id, model.version, model.deleted_at).where(
                    model.id.in_(list(versions))
                )
            )
        ).all()
    }
    for record_id, expected in versions.items():
        row = rows.get(record_id)
        if row is None:
            raise _not_found(info.name, record_id)
        if expected is not None and row.version != expected:
            raise StaleVersionError(expected, row.version)
        if deleted and row.deleted_at is None:
            raise ValidationError(f"{info.singular} #{record_id} is not in the trash.")
        if not deleted and row.deleted_at is not None:
            raise ValidationError(f"{info.singular} #{record_id} is already in the trash.")


async def _refuse_money_left(
    session: AsyncSession, entity: str, top: Select[Any], levels: Sequence[_Level]
) -> None:
    """An account that holds money stays out of the trash: the money would vanish with it."""
    account = Account
    queries = [level.query for level in levels if level.entity == "accounts"]
    if entity == "accounts":
        queries.append(top)
    for query in queries:
        holding = (
            await session.execute(
                select(account.id, account.balance)
                .where(account.id.in_(query.scalar_subquery()), account.balance != 0)
                .order_by(account.id)
                .limit(1)
            )
        ).first()
        if holding is not None:
            raise ValidationError(
                f"Account #{holding.id} holds {holding.balance}: move the money to another "
                "account before putting it in the trash."
            )


def _ids_query(entity: str, ids: Sequence[int]) -> Select[Any]:
    model = REPOSITORIES[entity].model
    return select(model.id).where(model.id.in_(list(ids)))


async def _selection_query(
    session: AsyncSession, entity: str, spec: QuerySpec, ranges: Sequence[KeyRange]
) -> Select[Any]:
    """The ids of the live records in the ``ranges`` of the view ``spec`` (all of the
    view when there are none): a selection as the database knows it."""
    repository = REPOSITORIES[entity](session)
    model = repository.model
    viewed = await repository.viewed(select(model.id), spec, ranges)
    return viewed.where(model.deleted_at.is_(None))


async def _related_counts(
    session: AsyncSession, entity: str, top: Select[Any]
) -> list[RelatedCount]:
    counts = []
    for level in _related_levels(entity, top, deleted=False):
        number = await session.scalar(select(func.count()).select_from(level.query.subquery()))
        if number:
            counts.append(RelatedCount(level.entity, level.label, int(number)))
    return counts


def _labels(info: catalog.EntityInfo) -> dict[str, str]:
    return {column.name: column.label for column in info.columns}


def _writable(entity: str) -> catalog.EntityInfo:
    info = catalog.entity(entity)
    if info.read_only_reason:
        raise ValidationError(info.read_only_reason)
    return info


async def _check_references(
    session: AsyncSession, info: catalog.EntityInfo, values: Record
) -> None:
    """Each referenced record exists and is not in the trash (said at its field)."""
    errors: dict[str, str] = {}
    for column in info.columns:
        target = values.get(column.name)
        if column.references is None or target is None:
            continue
        model = REPOSITORIES[column.references].model
        row = (await session.execute(select(model.deleted_at).where(model.id == target))).first()
        singular = catalog.entity(column.references).singular
        if row is None:
            errors[column.name] = f"There is no {singular} #{target}."
        elif row.deleted_at is not None:
            errors[column.name] = f"{singular} #{target} is in the trash."
    if errors:
        raise FieldValuesError(errors, _labels(info))


async def _check_unique(
    session: AsyncSession, info: catalog.EntityInfo, values: Record, record_id: int | None
) -> None:
    """No other record holds a unique value, as the database compares them (an email
    ignoring the case of A–Z); one in the trash is named, to restore."""
    repository = REPOSITORIES[info.name]
    model = repository.model
    for column in info.columns:
        if values.get(column.name) is None:
            continue
        same = repository.same_unique_value(column.name, values[column.name])
        if same is None:
            continue
        statement = select(model.id, model.deleted_at).where(same)
        if record_id is not None:
            statement = statement.where(model.id != record_id)
        other = (await session.execute(statement.limit(1))).first()
        if other is None:
            continue
        what = column.label.lower()
        if other.deleted_at is not None:
            raise DuplicateInTrashError(
                f"{info.singular} #{other.id}, in the trash, has this {what}. Restore it instead?",
                field=column.name,
                entity=info.name,
                record_id=other.id,
            )
        raise ConflictError(
            f"{info.singular} #{other.id} already has this {what}.", field=column.name
        )


def _record_kind(entity: str) -> str:
    return entity.removesuffix("s").replace("_", " ").capitalize()


def _not_found(entity: str, record_id: int) -> NotFoundError:
    return NotFoundError(f"{_record_kind(entity)} {record_id} does not exist.")


def _record(instance: Base) -> Record:
    return instance.to_dict()


def _referenced_ids(info: catalog.EntityInfo, rows: Sequence[Sequence[Any]]) -> dict[str, set[Any]]:
    """The keys each referenced kind is named by in ``rows``, from all its columns at once
    (a transfer's two accounts are one lookup)."""
    wanted: dict[str, set[Any]] = {}
    for position, column in enumerate(info.columns):
        if column.references is None:
            continue
        ids = wanted.setdefault(column.references, set())
        ids.update(row[position] for row in rows if row[position] is not None)
    return {target: ids for target, ids in wanted.items() if ids}


async def _titles(
    session: AsyncSession, known: catalog.Catalog, entity: str, ids: Sequence[Any]
) -> dict[Any, str]:
    """What a grid cell shows for a reference: ``#5 · Alan Wagner``, the key and the first
    of the record's title columns (the rest would only crowd a column)."""
    info = known.entity(entity)
    columns = info.title_columns[:1] or info.key[:1]
    found = await known.repository(entity)(session).values_by_id(ids, columns)
    return {
        record_id: f"{_named(record_id)} · {row[0]}"
        if row[0] not in (None, "") and columns != info.key[:1]
        else _named(record_id)
        for record_id, row in found.items()
    }


def _named(key: Any) -> str:
    """A record's key as a title starts: ``#5`` for a number, the text itself otherwise."""
    return f"#{key}" if isinstance(key, int) else str(key)


def title_of(info: catalog.EntityInfo, columns: Sequence[str], row: Sequence[Any]) -> str:
    """``#12 Ada Lovelace · ada@example.org``: how a record is named in pickers and chips."""
    parts = [str(row[columns.index(name)]) for name in info.title_columns]
    key = " ".join(_named(row[columns.index(name)]) for name in info.key)
    return f"{key} " + " · ".join(part for part in parts if part)
