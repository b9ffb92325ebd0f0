"""A private Secret Service for tests: its own D-Bus session bus, a GNOME Keyring daemon
in a throwaway home, and (for unlock prompts) a virtual X server for the keyring's prompter.

Nothing here touches the keyring or the session of the machine the tests run on. Without
the programs (Debian: dbus, gnome-keyring, xvfb, xdotool) the tests that need them skip,
unless RECORDS_DESK_REQUIRE_KEYRING=1 (CI) makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jeepney import DBusAddress, MatchRule, MessageType, new_method_call
from jeepney.io.blocking import DBusConnection, open_dbus_connection

REQUIRE_ENV = "RECORDS_DESK_REQUIRE_KEYRING"
PROGRAMS = ("dbus-daemon", "gnome-keyring-daemon", "Xvfb", "xdotool")
KEYRING_PASSWORD = "unlock-me"
START_TIMEOUT_S = 15.0
SERVICE_DIRS = Path("/usr/share/dbus-1/services")
PROMPTER_SERVICE = "org.gnome.keyring.SystemPrompter.service"
BUS = DBusAddress("/org/freedesktop/DBus", "org.freedesktop.DBus", "org.freedesktop.DBus")

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={home}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{services}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def missing_programs() -> str | None:
    """Which programs the private Secret Service needs and this machine lacks; None: none."""
    missing = [program for program in PROGRAMS if shutil.which(program) is None]
    if not (SERVICE_DIRS / PROMPTER_SERVICE).exists():
        missing.append("gcr's prompter")
    return ", ".join(missing) or None


def keyring_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


@dataclass
class PrivateSession:
    """A session bus's address, with what runs on it."""

    bus_address: str
    home: Path
    display: str | None = None

    def call(self, address: DBusAddress, method: str, signature: str, *body: object) -> object:
        with self.connection() as connection:
            reply = connection.send_and_get_reply(
                new_method_call(address, method, signature or None, body), timeout=START_TIMEOUT_S
            )
        return reply.body

    @contextmanager
    def connection(self) -> Iterator[DBusConnection]:
        connection = open_dbus_connection(bus=self.bus_address)
        with closing(connection):
            yield connection

    def lock_keyring(self) -> None:
        """Lock the default collection, as a desktop does at a screen lock or a login."""
        service = DBusAddress(
            "/org/freedesktop/secrets", "org.freedesktop.secrets", "org.freedesktop.Secret.Service"
        )
        self.call(service, "Lock", "ao", ["/org/freedesktop/secrets/aliases/default"])

    def type_into_prompt(self, text: str) -> subprocess.Popen[bytes]:
        """Wait (in another process) for the keyring's prompt window, then type ``text`` and
        Enter into it, as the person at the screen would."""
        assert self.display is not None
        script = (
            "xdotool search --sync --onlyvisible --name . >/dev/null"
            f" && xdotool type --delay 20 {text} && xdotool key Return"
        )
        return subprocess.Popen(["sh", "-c", script], env={**os.environ, "DISPLAY": self.display})


@contextmanager
def private_session(*, keyring: bool = True, screen: bool = False) -> Iterator[PrivateSession]:
    """A session bus of its own; with ``keyring`` a GNOME Keyring, unlocked, owns the Secret
    Service on it; with ``screen`` the keyring's prompter can show its window on a virtual X
    server. The bus address goes to DBUS_SESSION_BUS_ADDRESS only inside the block."""
    with (
        tempfile.TemporaryDirectory(prefix="records-desk-dbus-") as folder,
        _Processes() as processes,
    ):
        home = Path(folder)
        services = home / "services"
        services.mkdir()
        if screen:
            # Only the prompter is activatable: the Secret Service is the daemon started below.
            shutil.copy(SERVICE_DIRS / PROMPTER_SERVICE, services)
        config = home / "bus.conf"
        config.write_text(BUS_CONFIG.format(home=home, services=services))
        bus = processes.start(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"]
        )
        assert bus.stdout is not None
        address = bus.stdout.readline().decode().strip()
        session = PrivateSession(address, home)
        env = {**os.environ, "HOME": str(home), "DBUS_SESSION_BUS_ADDRESS": address}
        env.pop("DISPLAY", None)
        if screen:
            session.display = processes.start_screen()
            env["DISPLAY"] = session.display
            session.call(BUS, "UpdateActivationEnvironment", "a{ss}", {"DISPLAY": session.display})
        if keyring:
            processes.start_keyring(session, env)
        saved = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = address
        try:
            yield session
        finally:
            if saved is None:
                os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
            else:
                os.environ["DBUS_SESSION_BUS_ADDRESS"] = saved


class _Processes:
    """The processes of a private session, ended in reverse order of their start."""

    def __init__(self) -> None:
        self._running: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> _Processes:
        return self

    def __exit__(self, *_: object) -> None:
        for process in reversed(self._running):
            process.terminate()
            try:
                process.wait(timeout=START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def start(self, command: list[str], **options: Any) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, **options
        )
        self._running.append(process)
        return process

    def start_screen(self) -> str:
        """Xvfb on the first free display, which it names once it is ready to draw."""
        read, write = os.pipe()
        try:
            self.start(
                [
                    "Xvfb",
                    "-displayfd",
                    str(write),
                    "-screen",
                    "0",
                    "800x600x24",
                    "-nolisten",
                    "tcp",
                ],
                pass_fds=(write,),
            )
        finally:
            os.close(write)
        with os.fdopen(read) as numbers:
            return f":{numbers.readline().strip()}"

    def start_keyring(self, session: PrivateSession, env: dict[str, str]) -> None:
        """GNOME Keyring unlocked with KEYRING_PASSWORD, returned once it owns the Secret
        Service name (waited for on the bus's own signal, not on time)."""
        rule = MatchRule(
            type=MessageType.signal, interface="org.freedesktop.DBus", member="NameOwnerChanged"
        )
        rule.add_arg_condition(0, "org.freedesktop.secrets")
        with session.connection() as connection:
            connection.send_and_get_reply(
                new_method_call(BUS, "AddMatch", "s", (rule.serialise(),))
            )
            with connection.filter(rule) as owners:
                process = subprocess.Popen(
                    ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
                self._running.append(process)
                assert process.stdin is not None
                process.stdin.write(KEYRING_PASSWORD.encode())
                process.stdin.close()
                connection.recv_until_filtered(owners, timeout=START_TIMEOUT_S)
