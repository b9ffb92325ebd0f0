"""A keyring backend that talks to the freedesktop Secret Service (GNOME Keyring, KWallet,
KeePassXC) over D-Bus with jeepney alone.

keyring's own Secret Service backend goes through SecretStorage, which needs
``cryptography`` (12 MB of Rust binding) for the encrypted session; the packaged Linux app
leaves both out to stay within its size budget and uses this instead. It opens the
protocol's "plain" session: the secret crosses the session bus unencrypted, and that bus
only carries this user's processes, which could ask the keyring for it anyway.

Items are filed exactly as keyring's backend files them (the same attributes in the default
collection), so a password saved by one is found by the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

from jeepney import DBusAddress, DBusErrorResponse, MatchRule, Message, MessageType, new_method_call
from jeepney.io.blocking import DBusConnection, open_dbus_connection

BUS_NAME = "org.freedesktop.secrets"
SERVICE_PATH = "/org/freedesktop/secrets"
DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default"
PREFIX = "org.freedesktop.Secret."

# keyring's SecretService backend files passwords under these attributes.
APPLICATION = "Python keyring library"

# A D-Bus call to the keyring answers at once; only a prompt waits for a person.
CALL_TIMEOUT_S = 5.0
PROMPT_TIMEOUT_S = 120.0


class SecretServiceError(Exception):
    """The Secret Service could not be reached or refused; the message says why in words."""


class KeyringLockedError(SecretServiceError):
    """The person dismissed the keyring's unlock prompt, or it never came."""


class SecretServiceKeyring:
    """get/set/delete_password as keyring backends have them, over D-Bus."""

    name = "Secret Service (D-Bus)"

    def __init__(self, *, prompt_timeout_s: float = PROMPT_TIMEOUT_S) -> None:
        self._prompt_timeout_s = prompt_timeout_s

    def problem(self) -> str | None:
        """Why this system's session has no Secret Service, in words; None when it has one
        running or ready to start on demand."""
        try:
            with _connection() as connection:
                bus = DBusAddress(
                    "/org/freedesktop/DBus", "org.freedesktop.DBus", "org.freedesktop.DBus"
                )
                (owned,) = _call(connection, bus, "NameHasOwner", "s", BUS_NAME)
                if owned:
                    return None
                (activatable,) = _call(connection, bus, "ListActivatableNames", "")
        except SecretServiceError as error:
            return str(error)
        if BUS_NAME in activatable:
            return None
        return "no Secret Service (such as GNOME Keyring or KWallet) runs in this session"

    def get_password(self, service: str, username: str) -> str | None:
        with _connection() as connection:
            session = _open_session(connection)
            for item in self._items(connection, service, username):
                secret = _call(connection, _item(item), "GetSecret", "o", session)[0]
                value: bytes = secret[2]
                return value.decode("utf-8")
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        with _connection() as connection:
            session = _open_session(connection)
            collection = self._unlocked(connection, DEFAULT_COLLECTION)
            properties = {
                PREFIX + "Item.Label": ("s", f"Password for '{username}' on '{service}'"),
                PREFIX + "Item.Attributes": (
                    "a{ss}",
                    {"service": service, "username": username, "application": APPLICATION},
                ),
            }
            secret = (session, b"", password.encode("utf-8"), "text/plain")
            address = DBusAddress(collection, BUS_NAME, PREFIX + "Collection")
            _, prompt = _call(
                connection, address, "CreateItem", "a{sv}(oayays)b", properties, secret, True
            )
            if prompt != "/":
                self._prompt(connection, prompt)

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        with _connection() as connection:
            for item in self._items(connection, service, username):
                (prompt,) = _call(connection, _item(item), "Delete", "")
                if prompt != "/":
                    self._prompt(connection, prompt)
                return
        raise PasswordDeleteError("No such password")

    def _items(self, connection: DBusConnection, service: str, username: str) -> Iterator[str]:
        """Our items for (service, username), each unlocked first (which may prompt)."""
        service_address = DBusAddress(SERVICE_PATH, BUS_NAME, PREFIX + "Service")
        attributes = {"service": service, "username": username}
        unlocked, locked = _call(connection, service_address, "SearchItems", "a{ss}", attributes)
        yield from unlocked
        for item in locked:
            yield self._unlocked(connection, item)

    def _unlocked(self, connection: DBusConnection, path: str) -> str:
        """``path`` (a collection or an item), unlocked; asks the person where it must."""
        service_address = DBusAddress(SERVICE_PATH, BUS_NAME, PREFIX + "Service")
        done, prompt = _call(connection, service_address, "Unlock", "ao", [path])
        if done:
            return path
        if prompt == "/":
            raise KeyringLockedError("the keyring stayed locked")
        self._prompt(connection, prompt)
        return path

    def _prompt(self, connection: DBusConnection, prompt: str) -> None:
        """Show the keyring's own prompt and wait for the person's answer."""
        rule = MatchRule(
            type=MessageType.signal, interface=PREFIX + "Prompt", member="Completed", path=prompt
        )
        bus = DBusAddress("/org/freedesktop/DBus", "org.freedesktop.DBus", "org.freedesktop.DBus")
        _call(connection, bus, "AddMatch", "s", rule.serialise())
        with connection.filter(rule) as signals:
            _call(connection, DBusAddress(prompt, BUS_NAME, PREFIX + "Prompt"), "Prompt", "s", "")
            try:
                message = connection.recv_until_filtered(signals, timeout=self._prompt_timeout_s)
            except TimeoutError:
                raise KeyringLockedError("the keyring's prompt went unanswered") from None
        dismissed, _ = message.body
        if dismissed:
            raise KeyringLockedError("the keyring's prompt was dismissed")


def _item(path: str) -> DBusAddress:
    return DBusAddress(path, BUS_NAME, PREFIX + "Item")


@contextmanager
def _connection() -> Iterator[DBusConnection]:
    try:
        connection = open_dbus_connection(bus="SESSION")
    except (OSError, KeyError, ValueError) as error:
        # KeyError: no DBUS_SESSION_BUS_ADDRESS (a headless session).
        raise SecretServiceError("this session has no D-Bus session bus") from error
    with closing(connection):
        yield connection


def _open_session(connection: DBusConnection) -> str:
    service_address = DBusAddress(SERVICE_PATH, BUS_NAME, PREFIX + "Service")
    _, session = _call(connection, service_address, "OpenSession", "sv", "plain", ("s", ""))
    path: str = session
    return path


def _call(
    connection: DBusConnection, address: DBusAddress, method: str, signature: str, *body: Any
) -> Any:
    """The reply's body; a D-Bus error or a silence becomes a SecretServiceError in words."""
    message = new_method_call(address, method, signature or None, body)
    try:
        reply: Message = connection.send_and_get_reply(message, timeout=CALL_TIMEOUT_S)
    except TimeoutError:
        raise SecretServiceError("the keyring did not answer") from None
    except OSError as error:
        raise SecretServiceError("the connection to the keyring broke") from error
    if reply.header.message_type == MessageType.error:
        name = DBusErrorResponse(reply).name
        if name.endswith(".IsLocked"):
            raise KeyringLockedError("the keyring is locked")
        raise SecretServiceError(f"the keyring refused ({name})")
    return reply.body
