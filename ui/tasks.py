"""Background tasks on the qasync loop: always referenced, never failing silently, and
cancelled — in the database too — when their answer is no longer wanted."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

import qasync

log = logging.getLogger(__name__)

T = TypeVar("T")
Handler = TypeVar("Handler", bound=Callable[..., Coroutine[Any, Any, Any]])


def async_slot(*types: type) -> Callable[[Handler], Callable[..., None]]:
    """qasync's asyncSlot with types mypy can follow: the handler runs as a task on the
    loop; its unexpected errors reach the app's exception hook.

    qasync drops the task it makes (Qt discards a slot's return value) and the loop holds
    tasks weakly: a handler awaiting only what it made itself — a dialog's answer — was
    collected mid-await ("Task was destroyed but it is pending!"). So the task is kept
    until the handler ends."""

    def decorate(handler: Handler) -> Callable[..., None]:
        @functools.wraps(handler)
        async def kept(*arguments: Any, **options: Any) -> Any:
            task = asyncio.current_task()
            if task is None:  # awaited by hand, not run as a slot
                return await handler(*arguments, **options)
            _SLOTS.add(task)
            try:
                return await handler(*arguments, **options)
            finally:
                _SLOTS.discard(task)

        return cast(Callable[..., None], qasync.asyncSlot(*types)(kept))

    return decorate


# The tasks of async slots still running (see async_slot).
_SLOTS: set[asyncio.Task[Any]] = set()


def spawn(
    coroutine: Coroutine[Any, Any, T], *, name: str, awaited: bool = False
) -> asyncio.Task[T]:
    """Start ``coroutine`` as a task whose unexpected failure reaches the app's exception
    hook at once (a dialog and the log), rather than a warning at garbage collection.
    The caller keeps the returned task: the loop holds only weak references to tasks.

    ``awaited``: the caller awaits the task and deals with its failure itself (an export
    shows the user's kind of error, and lets our bug go on to the hook through its slot);
    reporting it here as well would report one bug twice. The task is still one that
    ``finish_pending`` waits for."""
    task = asyncio.ensure_future(coroutine)
    task.set_name(name)
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    if not awaited:
        task.add_done_callback(_report_failure)
    return task


# Tasks started by ``spawn`` that have not finished: what the app cancels when it closes.
_RUNNING: set[asyncio.Task[Any]] = set()


async def finish_pending() -> None:
    """Cancel the background work still running (a superseded count, a page nobody will
    see) and wait until it has ended, so the engine is disposed with every connection back
    in its pool. Cancelling a query stops it in the database (see app.core.database), so
    this is quick; wrap it in asyncio.timeout all the same."""
    current = asyncio.current_task()
    running = [task for task in _RUNNING if not task.done() and task is not current]
    for task in running:
        if not task.cancelling():  # cancelled once already: cancelling again would cut
            task.cancel()  # short the cleanup that returns its connection
    if running:
        await asyncio.wait(running)


def _report_failure(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None and task.cancelling():
        # Its answer was no longer wanted; a driver may end such work with an error of its
        # own (the connection it dropped to stop the query). Not a bug to show anyone.
        log.info("%s ended with an error after it was cancelled: %r", task.get_name(), error)
        return
    if error is not None:
        task.get_loop().call_exception_handler(
            {"message": f"Task {task.get_name()} failed", "exception": error, "task": task}
        )
