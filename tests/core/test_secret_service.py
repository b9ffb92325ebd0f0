"""The Secret Service keyring over D-Bus (the packaged Linux app's keyring), against a real
GNOME Keyring on a private session bus."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from keyring.errors import PasswordDeleteError

from app.core import credentials as credentials_module
from app.core.credentials import KEYRING_SERVICE, Credentials, system_keyring
from app.core.secret_service import KeyringLockedError, SecretServiceKeyring
from tests.keyrings import no_keyring
from tests.secret_services import (
    PrivateSession,
    keyring_required,
    missing_programs,
    private_session,
)


@pytest.fixture(autouse=True)
def secret_service_programs() -> None:
    """Skipped on a machine without the programs, unless CI requires these tests to run."""
    missing = missing_programs()
    if missing is None:
        return
    if keyring_required():
        pytest.fail(f"RECORDS_DESK_REQUIRE_KEYRING=1 but a private Secret Service needs {missing}")
    pytest.skip(f"a private Secret Service needs {missing}")


@pytest.fixture
def keyring_session() -> Iterator[PrivateSession]:
    with private_session() as session:
        yield session


@pytest.mark.usefixtures("keyring_session")
def test_a_password_is_saved_replaced_read_and_deleted() -> None:
    store = SecretServiceKeyring()

    store.set_password(KEYRING_SERVICE, "conn-1", "pässwörd ✓ 密码")
    store.set_password(KEYRING_SERVICE, "conn-2", "other")
    assert store.get_password(KEYRING_SERVICE, "conn-1") == "pässwörd ✓ 密码"

    store.set_password(KEYRING_SERVICE, "conn-1", "new")
    assert store.get_password(KEYRING_SERVICE, "conn-1") == "new"

    store.delete_password(KEYRING_SERVICE, "conn-1")
    assert store.get_password(KEYRING_SERVICE, "conn-1") is None
    assert store.get_password(KEYRING_SERVICE, "conn-2") == "other"
    with pytest.raises(PasswordDeleteError):
        store.delete_password(KEYRING_SERVICE, "conn-1")


@pytest.mark.usefixtures("keyring_session")
def test_passwords_are_filed_as_keyrings_own_secret_service_backend_files_them() -> None:
    """A password saved by the development app (keyring through SecretStorage) is found by
    the packaged app, and the other way round."""
    secretstorage_backend = pytest.importorskip("keyring.backends.SecretService").Keyring()
    ours = SecretServiceKeyring()

    secretstorage_backend.set_password(KEYRING_SERVICE, "theirs", "one")
    ours.set_password(KEYRING_SERVICE, "ours", "two")

    assert ours.get_password(KEYRING_SERVICE, "theirs") == "one"
    assert secretstorage_backend.get_password(KEYRING_SERVICE, "ours") == "two"


def test_a_locked_keyring_is_unlocked_through_its_own_prompt() -> None:
    with private_session(screen=True) as session:
        store = SecretServiceKeyring(prompt_timeout_s=30)
        store.set_password(KEYRING_SERVICE, "conn-1", "secret")
        session.lock_keyring()

        typist = session.type_into_prompt("unlock-me")
        try:
            assert store.get_password(KEYRING_SERVICE, "conn-1") == "secret"
        finally:
            typist.wait(timeout=30)
        assert typist.returncode == 0


def test_a_prompt_that_cannot_show_leaves_the_password_to_this_run(
    keyring_session: PrivateSession,
) -> None:
    """No screen for the keyring's prompt: the prompt comes back dismissed at once (no
    hang), reading asks for the password again and saving keeps it in memory, in words why."""
    backend = SecretServiceKeyring(prompt_timeout_s=30)
    backend.set_password(KEYRING_SERVICE, "conn-1", "secret")
    keyring_session.lock_keyring()

    with pytest.raises(KeyringLockedError, match="dismissed"):
        backend.get_password(KEYRING_SERVICE, "conn-1")

    store = Credentials(backend)
    assert store.keyring_problem is None
    assert store.get("conn-1") is None
    why_not = store.remember("conn-1", "typed", in_keyring=True)
    assert why_not == "the keyring refused it (the keyring's prompt was dismissed)"
    assert store.get("conn-1") == "typed"


def test_where_keyring_finds_no_backend_the_secret_service_is_used(
    keyring_session: PrivateSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The packaged Linux app: keyring without SecretStorage has only its fail backend."""
    monkeypatch.setattr("keyring.get_keyring", no_keyring)

    backend, problem = system_keyring()

    assert problem is None
    assert isinstance(backend, SecretServiceKeyring)
    store = Credentials()
    assert store.remember("conn-1", "secret", in_keyring=True) is None
    assert Credentials().get("conn-1") == "secret"  # the next run reads it back


def test_a_session_without_a_secret_service_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("keyring.get_keyring", no_keyring)
    with private_session(keyring=False):
        assert SecretServiceKeyring().problem() == (
            "no Secret Service (such as GNOME Keyring or KWallet) runs in this session"
        )
        assert "no keyring" in (credentials_module.keyring_problem() or "")


def test_a_session_without_a_bus_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    assert SecretServiceKeyring().problem() == "this session has no D-Bus session bus"
