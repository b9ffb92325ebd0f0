"""A progress window with Cancel for work that may take a while: opening (and upgrading) a
database, writing an export. Quick work shows nothing at all; the window never blocks the
event loop (it is shown, not exec()'d), and Cancel cancels the work's task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QProgressDialog, QPushButton, QWidget

# Work that ends sooner than this shows no progress window at all.
PROGRESS_DELAY_S = 0.4
# How often a progress that polls (an export's row count) refreshes its window: smooth to
# the eye, and a few label updates a second cost the event loop nothing.
POLL_INTERVAL_MS = 100
# QProgressDialog counts in a C int; a bigger total is shown in proportion.
_MAX_STEPS = 2**31 - 1


class Progress:
    """What a progress window says; the work may change it while it runs (a migration
    waiting for another one to finish), before the window shows or after.

    A subclass that overrides ``poll`` is asked every POLL_INTERVAL_MS while its window
    shows (and once as it appears): for work that reports how far it is in plain attributes
    written from another thread, which cannot touch widgets itself."""

    polls = False

    def __init__(self, label: str, title: str = "Records Desk") -> None:
        self.label = label
        self.title = title
        # (done, total) for a bar that fills; None for a busy indicator.
        self.steps: tuple[int, int] | None = None
        self.dialog: QProgressDialog | None = None
        self.timer: QTimer | None = None

    def say(self, label: str) -> None:
        """A sentence from the work ("waiting for …"): capitalised, with an ellipsis."""
        self.show_text(label[:1].upper() + label[1:] + "…")

    def show_text(self, label: str) -> None:
        self.label = label
        if self.dialog is not None and self.dialog.labelText() != label:
            self.dialog.setLabelText(label)

    def show_steps(self, done: int, total: int | None) -> None:
        self.steps = None if total is None else (done, total)
        if self.dialog is not None:
            _show_steps(self.dialog, self.steps)

    def poll(self) -> None:
        """Read how far the work is and show it (see the class docstring)."""

    def attach(self, dialog: QProgressDialog) -> None:
        self.dialog = dialog
        if self.polls:
            self.poll()
            self.timer = QTimer(dialog)
            self.timer.setInterval(POLL_INTERVAL_MS)
            self.timer.timeout.connect(self.poll)
            self.timer.start()
        dialog.setLabelText(self.label)
        _show_steps(dialog, self.steps)

    def detach(self) -> None:
        if self.timer is not None:
            self.timer.stop()
            self.timer = None
        self.dialog = None


def _show_steps(dialog: QProgressDialog, steps: tuple[int, int] | None) -> None:
    if steps is None:
        if dialog.maximum() != 0:
            dialog.setRange(0, 0)
        return
    done, total = steps
    if total > _MAX_STEPS:
        done, total = int(done * _MAX_STEPS / total), _MAX_STEPS
    if dialog.maximum() != total:
        dialog.setRange(0, max(total, 1))
    dialog.setValue(min(done, max(total, 1)))


async def with_progress(
    work: Coroutine[Any, Any, Any] | asyncio.Future[Any],
    progress: Progress,
    *,
    parent: QWidget | None = None,
) -> bool:
    """Run ``work`` (a coroutine, or a task already started); if it takes longer than
    PROGRESS_DELAY_S, show a progress window whose Cancel cancels it. False when cancelled
    that way; the work's own error is raised. With a ``parent`` the window belongs to it
    but does not block it (the parent stays usable while the work runs)."""
    task = asyncio.ensure_future(work)
    # Even with no delay the work takes its first step before the window shows: what it
    # says at once (waiting for another migration) is the window's first text.
    try:
        done, _ = await asyncio.wait({task}, timeout=PROGRESS_DELAY_S)
    except asyncio.CancelledError:
        # Cancelled before any window showed (the main window closing): the work stops
        # too, rather than go on with nobody waiting for it.
        task.cancel()
        await asyncio.wait({task})
        raise
    if done:
        task.result()
        return True
    dialog = QProgressDialog(progress.label, "Cancel", 0, 0, parent)
    dialog.setWindowTitle(progress.title)
    dialog.setAccessibleName("Progress")
    cancel_button = QPushButton("Cancel", dialog)
    cancel_button.setAccessibleName("Cancel")
    dialog.setCancelButton(cancel_button)
    dialog.setMinimumDuration(0)
    # The window goes when the work ends, not when the bar is full: a count reached is not
    # yet a file in place.
    dialog.setAutoReset(False)
    dialog.setAutoClose(False)
    dialog.canceled.connect(task.cancel)
    progress.attach(dialog)
    dialog.show()
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # we were cancelled ourselves, not by the window's Cancel
        return False
    finally:
        progress.detach()
        dialog.canceled.disconnect(task.cancel)
        dialog.close()
        dialog.deleteLater()
    return True
