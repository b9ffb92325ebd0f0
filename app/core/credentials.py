"""Where a saved connection's password lives: the operating system's keyring when it has a
usable one, else this process's memory only (asked for once per run).

A password never goes to the settings file. Every password this module sees is also handed
to ``redaction.hide`` so that no log record can carry it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from app.core import redaction

log = logging.getLogger(__name__)

# The keyring's "service": every password of ours is filed under it, by connection id.
KEYRING_SERVICE = "records-desk"


def system_keyring() -> tuple[Any | None, str | None]:
    """This system's keyring backend and, when it cannot keep passwords, why in words.

    keyring's own choice comes first (it honours the user's keyring configuration). Where it
    has none on Linux, the packaged app among them (it goes without SecretStorage), the
    Secret Service is reached over D-Bus directly."""
    problem: str | None
    try:
        import keyring

        backend: Any | None = keyring.get_keyring()
    except Exception as error:  # an import that fails in a bundle is a missing keyring too
        backend, problem = None, f"the keyring could not be loaded ({type(error).__name__})"
    else:
        problem = keyring_problem(backend)
    if problem is None or not sys.platform.startswith("linux"):
        return backend, problem
    try:
        from app.core.secret_service import SecretServiceKeyring
    except ImportError as error:  # a bundle without jeepney: keyring's word stands
        log.warning("The Secret Service client could not be loaded: %s", type(error).__name__)
        return backend, problem
    secret_service = SecretServiceKeyring()
    if secret_service.problem() is None:
        return secret_service, None
    return backend, problem


def keyring_problem(backend: Any | None = None) -> str | None:
    """Why the keyring cannot keep passwords here, in words; None when it can. With no
    ``backend``, the one ``system_keyring`` finds.

    keyring falls back to its ``fail`` backend (which raises on every call) where nothing
    usable exists, a headless Linux without Secret Service among them, and some setups pick
    the ``null`` backend (which silently keeps nothing)."""
    if backend is None:
        return system_keyring()[1]
    try:
        from keyring.backends import chainer, fail, null
    except Exception as error:  # an import that fails in a bundle is a missing keyring too
        return f"the keyring could not be loaded ({type(error).__name__})"
    if isinstance(backend, fail.Keyring | null.Keyring):
        return "this system has no keyring (such as Secret Service, Keychain or Credential Locker)"
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return "this system has no keyring (such as Secret Service, Keychain or Credential Locker)"
    return None


class Credentials:
    """Passwords by connection id. ``backend`` is a keyring backend (tests give an in-memory
    one); None means the keyring's own choice for this system."""

    def __init__(self, backend: Any | None = None) -> None:
        self._backend = backend
        self._memory: dict[str, str] = {}
        self._problem: str | None = None
        self._checked = False

    def _keyring(self) -> Any | None:
        if not self._checked:
            self._checked = True
            if self._backend is None:
                self._backend, self._problem = system_keyring()
            else:
                self._problem = keyring_problem(self._backend)
        return None if self._problem else self._backend

    @property
    def keyring_problem(self) -> str | None:
        """Why passwords cannot be saved in the keyring; None when they can."""
        self._keyring()
        return self._problem

    def get(self, connection_id: str) -> str | None:
        """The password known for ``connection_id`` this run, or saved in the keyring."""
        if connection_id in self._memory:
            return self._memory[connection_id]
        backend = self._keyring()
        if backend is None:
            return None
        try:
            password: str | None = backend.get_password(KEYRING_SERVICE, connection_id)
        except Exception as error:
            log.warning("The keyring could not be read: %s", _reason(error))
            return None
        if password is not None:
            redaction.hide(password)
            self._memory[connection_id] = password
        return password

    def remember(self, connection_id: str, password: str, *, in_keyring: bool) -> str | None:
        """Keep ``password`` for this run and, with ``in_keyring``, in the keyring as well;
        returns why the keyring could not keep it (it is then kept in memory only)."""
        redaction.hide(password)
        self._memory[connection_id] = password
        if not in_keyring:
            self._delete_from_keyring(connection_id)
            return None
        backend = self._keyring()
        if backend is None:
            return self._problem
        try:
            backend.set_password(KEYRING_SERVICE, connection_id, password)
        except Exception as error:
            log.warning("The keyring could not save a password: %s", _reason(error))
            return f"the keyring refused it ({_reason(error)})"
        return None

    def forget(self, connection_id: str) -> None:
        """No password for ``connection_id`` any more, in memory or in the keyring."""
        self._memory.pop(connection_id, None)
        self._delete_from_keyring(connection_id)

    def _delete_from_keyring(self, connection_id: str) -> None:
        backend = self._keyring()
        if backend is None:
            return
        try:
            if backend.get_password(KEYRING_SERVICE, connection_id) is not None:
                backend.delete_password(KEYRING_SERVICE, connection_id)
        except Exception as error:
            log.warning("The keyring could not delete a password: %s", _reason(error))


def _reason(error: Exception) -> str:
    """An error of the keyring in words: ours say why, others are named by their type (a
    backend's own message is not ours to vouch for)."""
    ours = type(error).__module__ == "app.core.secret_service"
    return str(error) if ours else type(error).__name__


_credentials: Credentials | None = None


def credentials() -> Credentials:
    """The process's one Credentials, made on first use."""
    global _credentials
    if _credentials is None:
        _credentials = Credentials()
    return _credentials


def use_credentials(store: Credentials | None) -> None:
    """Replace the process's Credentials (tests: an in-memory keyring); None starts afresh."""
    global _credentials
    _credentials = store
