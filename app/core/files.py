"""The files of the user's that Records Desk writes (settings, logs, backups): readable by
the user alone from their first byte, in folders only the user can enter, written whole,
and shared safely between two running copies of the app.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
# XDG's base directory spec asks for 0700 on the folders an application makes there.
PRIVATE_FOLDER_MODE = 0o700
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def make_private_folder(path: Path) -> None:
    """Make ``path`` and any missing folder above it, each 0700. A folder that is already
    there is left as its owner has it."""
    if path.is_dir():
        return
    if not path.parent.is_dir():
        make_private_folder(path.parent)
    try:
        path.mkdir(mode=PRIVATE_FOLDER_MODE)
    except FileExistsError:
        if not path.is_dir():  # another copy of the app made it meanwhile: fine
            raise


def private_opener(path: str, flags: int) -> int:
    """An ``opener`` for open() that makes a new file 0600 and an existing one of ours
    0600 again (a log from before the logs were private)."""
    descriptor = os.open(path, flags | _CLOEXEC, PRIVATE_FILE_MODE)
    if hasattr(os, "fchmod"):
        # Someone else's file (another user's log we may append to) keeps its mode.
        with contextlib.suppress(PermissionError):
            os.fchmod(descriptor, PRIVATE_FILE_MODE)
    return descriptor


def create_private(path: Path) -> None:
    """Make the empty file ``path`` (0600); FileExistsError when anything is there."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC, PRIVATE_FILE_MODE))


def write_private(path: Path, data: bytes) -> None:
    """Replace the file ``path`` by ``data`` whole (or not at all), readable by the user alone.

    A symlink is followed: its file is replaced and the link stays a link. The new content
    goes to a temporary file of a name no other process picks, private from its first byte
    (a file chmod'ed after it was written can be read in between), on the disk before the
    rename (after a crash: the old file or the new one, never a short one)."""
    _replace(path, data, PRIVATE_FILE_MODE)


def write_document(path: Path, data: bytes) -> None:
    """Replace the user's document ``path`` (a saved view, meant to be shared) by ``data``
    whole or not at all, as ``write_private`` does: a file already there keeps its mode,
    a new one is readable as the user's umask lets any new file be, and a missing folder
    is made as any folder of the user's."""
    real = Path(os.path.realpath(path))
    try:
        kept: int | None = real.stat().st_mode & 0o777
    except FileNotFoundError:
        kept = None
    real.parent.mkdir(parents=True, exist_ok=True)
    _replace(path, data, 0o666, kept_mode=kept)


def _replace(path: Path, data: bytes, mode: int, *, kept_mode: int | None = None) -> None:
    real = Path(os.path.realpath(path))
    make_private_folder(real.parent)
    temporary = real.with_name(f".{real.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC, mode)
    if kept_mode is not None:
        os.fchmod(descriptor, kept_mode)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, real)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the lock of ``path`` (a sibling file ``<name>.lock``, kept: removing it would let
    a third copy lock a new one while the second still holds the old) until the block ends.
    Other copies of the app wait at the same place, so a read, change and write of ``path``
    inside the block is never interleaved with theirs."""
    make_private_folder(path.parent)
    lock_path = path.with_name(path.name + ".lock")
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | _CLOEXEC, PRIVATE_FILE_MODE)
    try:
        _lock(descriptor)
        try:
            yield
        finally:
            _unlock(descriptor)
    finally:
        os.close(descriptor)


if sys.platform == "win32":
    import msvcrt

    def _lock(descriptor: int) -> None:
        # LK_LOCK tries for about ten seconds and then raises OSError: the save then fails
        # in words rather than waiting for good on a copy that hangs.
        msvcrt.locking(descriptor, msvcrt.LK_LOCK, 1)

    def _unlock(descriptor: int) -> None:
        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_EX)

    def _unlock(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
