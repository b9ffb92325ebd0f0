"""A Records Desk session driven by itself, for the kill test (tests/ui/test_kill.py): it
opens the users, and every moment changes the window's search and the text typed in a new
user's form, printing each step and the time it was made. The parent kills it with
SIGKILL at a moment of its choosing and reads what the journal kept."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import replace

from app.desktop import load_settings
from tests.ui.forms import type_into
from ui.dialogs.record_form import RecordFormDialog
from ui.main import run_session, start_qt
from ui.main_window import MainWindow
from ui.tasks import spawn

STEP_S = 0.12


async def drive(window: MainWindow) -> None:
    users = window.open_browser("users")
    form = users.editing.open_form(None)
    assert isinstance(form, RecordFormDialog)
    step = 0
    while True:
        step += 1
        view = users.view
        users.set_view(replace(view, spec=replace(view.spec, search=f"s{step}")))
        type_into(form, "name", f"typed {step}")
        print(f"{step} {time.time():.3f}", flush=True)
        await asyncio.sleep(STEP_S)


def start_driving(window: MainWindow) -> None:
    spawn(drive(window), name="drive the session")


def main() -> int:
    loop = start_qt()
    with loop:
        return int(loop.run_until_complete(run_session(load_settings(), on_opened=start_driving)))


if __name__ == "__main__":
    sys.exit(main())
