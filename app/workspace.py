"""The open database and everything that works on it (a ``Workspace``), and the ``Desk``
that holds the one open now.

A workspace belongs to one database: its engine and change feed, the catalog of what it
holds and the services bound to it. Windows never pass a ``Database`` to a service; they
ask the workspace. Switching connection makes a new workspace and the desk replaces the
old one with it (``Desk.replace``): windows hold the desk, so every window follows, and
the desk's feed relays the changes of whichever workspace is current, so a reader
subscribes once for the whole session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Concatenate

from app.changes import ChangeFeed
from app.core.database import Database
from app.query import KeyRange, QuerySpec
from app.services import catalog, export_formats, insights, seeding
from app.services.export import (
    CsvOptions,
    ExportProgress,
    ExportRequest,
    ExportResult,
    export_table,
)
from app.services.export_formats import ExportOptions
from app.services.insight_reports import Report
from app.services.insights import Description, Frequencies, Grouping, Totals
from app.services.orders import OrderCreated, OrderItemInput, create_order_with_items
from app.services.records import RecordService
from app.services.seeding import SeedOptions, SeedReport
from app.services.transfers import TransferReceipt, transfer_funds

# A report of app.services.insight_reports: the database first, then what it asks for.
ReportQuery = Callable[Concatenate[Database, ...], Awaitable[Report]]


class Workspace:
    """One open database, the catalog of its records and the services bound to it."""

    def __init__(self, database: Database, *, records: RecordService | None = None) -> None:
        self.database = database
        # What this database holds: our models' catalog, or the one reflected from
        # another program's schema when it opened (app/services/reflection.py).
        self.catalog = catalog.catalog_of(database)
        # ``records``: tests hand in a service that counts or delays its calls.
        self.records = records if records is not None else RecordService(database)

    @property
    def changes(self) -> ChangeFeed:
        """What each commit to this database changed, published after the commit."""
        return self.database.changes

    async def transfer(
        self, from_account: int, to_account: int, amount: Decimal | int | str, *, token: str
    ) -> TransferReceipt:
        return await transfer_funds(self.database, from_account, to_account, amount, token=token)

    async def create_order(
        self, user_id: int, items: Sequence[OrderItemInput], status: str, *, token: str
    ) -> OrderCreated:
        return await create_order_with_items(self.database, user_id, items, status, token=token)

    async def totals(
        self,
        entity: str,
        spec: QuerySpec,
        columns: Sequence[str] | None = None,
        ranges: Sequence[KeyRange] = (),
    ) -> Totals:
        return await insights.totals(self.database, entity, spec, columns, ranges)

    async def frequencies(
        self, entity: str, spec: QuerySpec, column: str, grouping: Grouping, *, top: int
    ) -> Frequencies:
        return await insights.frequencies(self.database, entity, spec, column, grouping, top=top)

    async def describe(self, entity: str, spec: QuerySpec, column: str) -> Description:
        return await insights.describe(self.database, entity, spec, column)

    async def report(self, query: ReportQuery, *arguments: Any) -> Report:
        """One of the Insights reports (app.services.insight_reports) over this database."""
        return await query(self.database, *arguments)

    async def export(
        self,
        request: ExportRequest,
        options: ExportOptions,
        target: Path | BinaryIO,
        progress: ExportProgress | None = None,
    ) -> ExportResult:
        """The rows of ``request`` as a CSV, XLSX or JSON Lines file."""
        return await export_formats.export(self.database, request, options, target, progress)

    async def export_table(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[Any]],
        options: CsvOptions,
        target: Path | BinaryIO,
    ) -> ExportResult:
        """A small table already in memory (an insight's answer), written as ``export_csv``
        writes rows; nothing is read from the database."""
        return await export_table(headings, rows, options, target)

    async def seed_demo_data(
        self, options: SeedOptions, progress: Callable[[int, int], None] | None = None
    ) -> SeedReport:
        return await seeding.seed_demo_data(self.database, options, progress)

    async def close(self) -> None:
        """Let go of the database's connections (work still under way is cancelled)."""
        await self.database.dispose()


class Desk:
    """The workspace the windows work in now. Switching connection replaces it; windows
    reach it through the desk and so follow, and ``changes`` relays the current
    workspace's feed so that each reader subscribes once."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        self.changes = ChangeFeed()
        self._unsubscribe = workspace.changes.subscribe(self.changes.publish)

    @classmethod
    def on(cls, database: Database) -> Desk:
        return cls(Workspace(database))

    @property
    def workspace(self) -> Workspace:
        return self._workspace

    @property
    def records(self) -> RecordService:
        """The current workspace's records: what most of a window asks for."""
        return self._workspace.records

    def replace(self, workspace: Workspace) -> Workspace:
        """Work in ``workspace`` from now on; the one before is returned for its owner to
        close. Calls already under way finish where they started; their changes are not
        passed on (they belong to the database before)."""
        previous, self._workspace = self._workspace, workspace
        self._unsubscribe()
        self._unsubscribe = workspace.changes.subscribe(self.changes.publish)
        return previous
