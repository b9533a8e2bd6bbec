"""A real Kannel chain for tests and the benchmark: bearerbox + smsbox + fakesmsc on free loopback ports.

The configuration is generated into a temporary directory (one file; groups separated by blank
lines, none inside a group), each process is started and stopped by its PID, and what the fake SMS
centre received is read back from its output ("Got message N: <from to …>"), with concatenated
parts (UDH 05 00 03 ref total seq) put back together. See ``../shared/docs/kannel.md``.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

BEARERBOX = Path(os.environ.get("KANNEL_BEARERBOX", "/usr/sbin/bearerbox"))
SMSBOX = Path(os.environ.get("KANNEL_SMSBOX", "/usr/sbin/smsbox"))
FAKESMSC = Path(os.environ.get("KANNEL_FAKESMSC", "/usr/lib/kannel/test/fakesmsc"))

_GOT = re.compile(r"Got message (\d+): <(.*)>\s*$")


def available() -> bool:
    return all(path.exists() for path in (BEARERBOX, SMSBOX, FAKESMSC))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _stop(process: subprocess.Popen | None, timeout: float = 5.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _spawn(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)


def ucs2_hex(text: str) -> str:
    """fakesmsc's ``ucs2`` message data: the UTF-16BE bytes, %-escaped."""
    return "".join(f"%{byte:02X}" for byte in text.encode("utf-16-be"))


@dataclass(frozen=True)
class Received:
    """One message as the handset would show it (parts joined)."""

    sender: str
    receiver: str
    text: str
    parts: int


def _bytes(data: str) -> bytes:
    return urllib.parse.unquote_to_bytes(data.replace("+", "%20"))


def parse_output(lines: list[str]) -> list[Received]:
    """fakesmsc output → messages, concatenated parts reassembled (in order of the last part's arrival)."""
    done: list[Received] = []
    pending: dict[tuple[str, str, int], dict[int, bytes]] = {}
    for line in lines:
        match = _GOT.search(line)
        if not match:
            continue
        fields = match.group(2).split(" ")
        sender, receiver, kind = fields[0], fields[1], fields[2]
        if kind == "udh":
            udh = _bytes(fields[3])
            payload = _bytes(fields[-1])
            if len(udh) >= 6 and udh[1] == 0x00:  # IEI 00: concatenated SMS, 8-bit reference
                ref, total, seq = udh[3], udh[4], udh[5]
                key = (sender, receiver, ref)
                pending.setdefault(key, {})[seq] = payload
                if len(pending[key]) == total:
                    parts = pending.pop(key)
                    data = b"".join(parts[i] for i in sorted(parts))
                    done.append(Received(sender, receiver, data.decode("utf-16-be", "replace"), total))
                continue
            done.append(Received(sender, receiver, payload.decode("utf-16-be", "replace"), 1))
        elif kind in ("ucs-2", "ucs2"):
            done.append(Received(sender, receiver, _bytes(fields[3]).decode("utf-16-be", "replace"), 1))
        elif kind == "data":
            done.append(Received(sender, receiver, _bytes(fields[3]).decode("utf-8", "replace"), 1))
        else:  # text
            done.append(Received(sender, receiver, " ".join(fields[3:]), 1))
    return done


class KannelChain:
    """bearerbox + smsbox + one fakesmsc, all on free ports under ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        *,
        mo_url: str = "",
        username: str = "minsheng",
        password: str = "kannel-test-pass",
        admin_password: str = "kannel-admin",
        sender: str = "106573100110",
        log_level: int = 1,
        extra: dict[str, list[str]] | None = None,
    ):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.mo_url = mo_url
        self.username, self.password, self.admin_password = username, password, admin_password
        self.sender = sender
        self.log_level = log_level
        self.extra = extra or {}
        self.admin_port, self.box_port, self.sendsms_port, self.smsc_port = (free_port() for _ in range(4))
        self.bearerbox: subprocess.Popen | None = None
        self.smsbox: subprocess.Popen | None = None
        self.fakesmsc: subprocess.Popen | None = None
        self._fakesmsc_runs = 0
        self.config_path = self.dir / "kannel.conf"

    # --- configuration ------------------------------------------------------------------------------
    def config(self) -> str:
        groups = [
            [
                "group = core",
                f"admin-port = {self.admin_port}",
                "admin-interface = 127.0.0.1",
                f'admin-password = "{self.admin_password}"',
                f'status-password = "{self.admin_password}"',
                'admin-allow-ip = "127.0.0.1"',
                f"smsbox-port = {self.box_port}",
                'box-allow-ip = "127.0.0.1"',
                f'log-file = "{self.dir / "bearerbox.log"}"',
                f"log-level = {self.log_level}",
                "store-type = file",
                f'store-location = "{self.dir / "store"}"',
                "dlr-storage = internal",
            ],
            [
                "group = smsc",
                "smsc = fake",
                "smsc-id = fake",
                "host = 127.0.0.1",
                f"port = {self.smsc_port}",
                "connect-allow-ip = 127.0.0.1",
            ],
            [
                "group = smsbox",
                "bearerbox-host = 127.0.0.1",
                f"bearerbox-port = {self.box_port}",
                f"sendsms-port = {self.sendsms_port}",
                "sendsms-interface = 127.0.0.1",
                "mo-recode = true",
                # A callback the app missed is retried (reports and replies are not lost to a restart).
                "http-request-retry = 10",
                "http-queue-delay = 1",
                f"global-sender = {self.sender}",
                f'log-file = "{self.dir / "smsbox.log"}"',
                f"log-level = {self.log_level}",
            ],
            [
                "group = sendsms-user",
                f"username = {self.username}",
                f"password = {self.password}",
                'user-allow-ip = "127.0.0.1"',
                "max-messages = 10",
                "concatenation = true",
            ],
        ]
        for group in groups:
            group.extend(self.extra.get(group[0].split(" = ")[1], []))
        if self.mo_url:
            groups.append(
                [
                    "group = sms-service",
                    "keyword = default",
                    "catch-all = true",
                    "accept-x-kannel-headers = true",
                    "max-messages = 0",
                    f'get-url = "{self.mo_url}"',
                ]
            )
        return "\n\n".join("\n".join(group) for group in groups) + "\n"

    def django_settings(self) -> dict:
        """The platform's settings for this chain (apply with the ``settings`` fixture or as env)."""
        return {
            "SMS_BACKEND": "kannel",
            "KANNEL_SENDSMS_URL": f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms",
            "KANNEL_USERNAME": self.username,
            "KANNEL_PASSWORD": self.password,
            "KANNEL_FROM": self.sender,
            "KANNEL_ADMIN_URL": f"http://127.0.0.1:{self.admin_port}",
            "KANNEL_ADMIN_PASSWORD": self.admin_password,
        }

    # --- processes -----------------------------------------------------------------------------------
    def start(self) -> KannelChain:
        self.config_path.write_text(self.config(), encoding="utf-8")
        self.bearerbox = _spawn([str(BEARERBOX), str(self.config_path)], self.dir / "bearerbox.out")
        _wait_port(self.admin_port)
        _wait_port(self.box_port)
        self.smsbox = _spawn([str(SMSBOX), str(self.config_path)], self.dir / "smsbox.out")
        _wait_port(self.sendsms_port)
        self.start_smsc()
        return self

    def start_smsc(self, *messages: str, count: int = 0) -> None:
        """Connect a fakesmsc; with ``messages`` it sends ``count`` of them (MO), and always receives."""
        self.stop_smsc()
        self._fakesmsc_runs += 1
        args = [str(FAKESMSC), "-H", "127.0.0.1", "-r", str(self.smsc_port), "-i", "0.05", "-m", str(count)]
        log = self.dir / f"fakesmsc-{self._fakesmsc_runs}.out"
        self.fakesmsc = _spawn([*args, *(messages or ("x y text z",))], log)
        self.wait_smsc_online()

    def stop_smsc(self) -> None:
        _stop(self.fakesmsc, timeout=2)
        self.fakesmsc = None

    def status(self) -> str:
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=2)
        try:
            conn.request("GET", f"/status.txt?password={urllib.parse.quote(self.admin_password)}")
            return conn.getresponse().read().decode("utf-8", "replace")
        finally:
            conn.close()

    def wait_smsc_online(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if re.search(r"FAKE:\d+ \(online", self.status()):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError("fakesmsc did not come online")

    def send_mo(self, phone: str, text: str, to: str | None = None) -> None:
        """A citizen's SMS: a new fakesmsc sends it (one fakesmsc at a time) and stays to receive."""
        line = f"{phone} {to or self.sender} ucs2 {ucs2_hex(text)}"
        self.start_smsc(line, count=1)

    def stop_gateway(self) -> None:
        """The gateway goes down (smsbox and bearerbox stop; the fake SMSC loses its link)."""
        _stop(self.smsbox)
        _stop(self.bearerbox, timeout=15)
        self.smsbox = self.bearerbox = None
        self.stop_smsc()

    def stop(self) -> None:
        self.stop_smsc()
        _stop(self.smsbox, timeout=3)
        _stop(self.bearerbox, timeout=3)
        self.smsbox = self.bearerbox = None

    # --- what the handsets got -----------------------------------------------------------------------
    def output_lines(self) -> list[str]:
        lines: list[str] = []
        for path in sorted(self.dir.glob("fakesmsc-*.out"), key=lambda p: int(p.stem.split("-")[1])):
            seen: set[str] = set()
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                match = _GOT.search(line)
                # fakesmsc may log the same receipt at two levels: count each message number once.
                if match and match.group(1) not in seen:
                    seen.add(match.group(1))
                    lines.append(line)
        return lines

    def received(self) -> list[Received]:
        return parse_output(self.output_lines())

    def wait_received(self, count: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.received()
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    def sendsms(self, phone: str, text: str, **extra: str) -> tuple[int, str]:
        """A raw sendsms request (for checks of the chain itself)."""
        query = urllib.parse.urlencode(
            {
                "username": self.username,
                "password": self.password,
                "from": self.sender,
                "to": phone,
                "text": text,
                "charset": "UTF-8",
                "coding": "2",
                **extra,
            }
        )
        conn = http.client.HTTPConnection("127.0.0.1", self.sendsms_port, timeout=5)
        try:
            conn.request("GET", f"/cgi-bin/sendsms?{query}")
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()
