"""Keyring backends for tests: one that keeps passwords in a dict, and the real library's
"no keyring here" backend. No test touches the keyring of the machine it runs on."""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """A keyring that works, in memory: {(service, user): password}."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


def no_keyring() -> KeyringBackend:
    """What keyring itself picks on a headless Linux without Secret Service."""
    from keyring.backends import fail

    return fail.Keyring()  # type: ignore[no-untyped-call]
