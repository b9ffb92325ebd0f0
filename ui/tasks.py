"""Background tasks on the qasync loop: always referenced, and never failing silently."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

import qasync

from app.services.errors import RecordsDeskError

log = logging.getLogger(__name__)

T = TypeVar("T")
Handler = TypeVar("Handler", bound=Callable[..., Coroutine[Any, Any, Any]])


def async_slot(*types: type) -> Callable[[Handler], Callable[..., None]]:
    """qasync's asyncSlot with types mypy can follow: the handler runs as a task on the
    loop; its unexpected errors reach the app's exception hook."""
    return cast(Callable[[Handler], Callable[..., None]], qasync.asyncSlot(*types))


def spawn(coroutine: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
    """Start ``coroutine`` as a task whose unexpected failure reaches the app's exception
    hook at once (a dialog and the log), rather than a warning at garbage collection.
    The caller keeps the returned task: the loop holds only weak references to tasks."""
    task = asyncio.ensure_future(coroutine)
    task.set_name(name)
    task.add_done_callback(_report_failure)
    return task


# Database work whose caller stopped waiting, kept alive until it has finished.
_FINISHING: set[asyncio.Task[Any]] = set()


async def unabandoned(coroutine: Coroutine[Any, Any, T]) -> T:
    """Await a unit of database work that finishes even if the caller is cancelled.

    Cancelling a task in the middle of a query can leave its connection checked out and
    "idle in transaction", holding locks until garbage collection. The caller is cancelled
    at once as usual; the work itself completes (commit or rollback, connection returned)
    and its answer is dropped.
    """
    task = asyncio.ensure_future(coroutine)
    _FINISHING.add(task)
    task.add_done_callback(_forget_finished)
    return await asyncio.shield(task)


async def finish_pending() -> None:
    """Wait for database work that lost its caller (bound by the database timeouts), so the
    engine is disposed with every connection back in its pool. Wrap in asyncio.timeout."""
    if _FINISHING:
        await asyncio.wait(set(_FINISHING))


def _forget_finished(task: asyncio.Task[Any]) -> None:
    _FINISHING.discard(task)
    if task.cancelled():
        return
    error = task.exception()  # retrieved: whoever still waits gets it through the shield
    if error is not None and not isinstance(error, RecordsDeskError):
        log.error("Database work failed after its caller left", exc_info=error)


def _report_failure(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        task.get_loop().call_exception_handler(
            {"message": f"Task {task.get_name()} failed", "exception": error, "task": task}
        )
