"""Kannel over HTTP: ``sendsms`` on smsbox for outgoing messages, delivery reports back via ``dlr-url``,
and bearerbox's ``store-status`` to resolve messages whose fate is in doubt.

One keep-alive connection per backend instance (the sender uses one instance per thread). A request
either fails before it could reach Kannel (connection refused: ``GatewayUnavailable``, safe to retry),
gets an answer (accepted, or an error we can classify), or is *in doubt*: sent, but no answer read
(timeout, reset). Only the last can duplicate a message if retried, so it is never retried blindly.
"""

import http.client
import logging
import select
import time
import urllib.parse
import xml.etree.ElementTree as ET

from django.conf import settings
from django.urls import reverse

from minsheng.sms import signing
from minsheng.sms.backends.base import (
    Backend,
    GatewayUnavailable,
    InDoubt,
    PermanentError,
    SendResult,
    TransientError,
    Verdict,
)
from minsheng.sms.choices import Encoding

log = logging.getLogger("minsheng.sms.kannel")

# Reconnect rather than reuse a connection idle longer than this: a server may have closed an idle
# keep-alive connection, and a request written into a half-closed one would end in doubt.
IDLE_RECONNECT_S = 1.0
# Errors after the request was written: Kannel may have queued the message.
_AFTER_WRITE = (TimeoutError, ConnectionError, http.client.HTTPException, OSError)


def dlr_url(message, attempt: int) -> str:
    """The delivery-report URL Kannel calls for ``message``: our id, the attempt and a signature (so
    a report cannot be forged for another message), then Kannel's own escapes (%d type, %A the SMSC's
    answer, %I Kannel's message id, %F the SMSC's id, %T the time)."""
    base = settings.KANNEL_CALLBACK_URL.rstrip("/")
    path = reverse("sms-kannel-dlr")
    sig = signing.sign(message.dlr_id)
    return f"{base}{path}?id={message.dlr_id}&a={attempt}&sig={sig}&type=%d&answer=%A&kid=%I&fid=%F&ts=%T"


class KannelBackend(Backend):
    name = "kannel"

    def __init__(self):
        url = urllib.parse.urlsplit(settings.KANNEL_SENDSMS_URL)
        if url.scheme != "http" or not url.hostname:
            raise ValueError("KANNEL_SENDSMS_URL must be http://host:port/cgi-bin/sendsms")
        self.host, self.port, self.path = url.hostname, url.port or 80, url.path or "/cgi-bin/sendsms"
        self.timeout = settings.KANNEL_TIMEOUT_S
        self.reports_delivery = bool(settings.KANNEL_CALLBACK_URL)
        self._conn: http.client.HTTPConnection | None = None
        self._last_used = 0.0

    # --- sending ------------------------------------------------------------------------------------
    def params(self, message) -> dict[str, str]:
        params = {
            "username": settings.KANNEL_USERNAME,
            "password": settings.KANNEL_PASSWORD,
            "from": message.sender or settings.KANNEL_FROM,
            "to": message.phone,
            "text": message.body,
            "charset": "UTF-8",
            # 2 = UCS-2: every Chinese text; Kannel splits long ones into concatenated parts of 67.
            "coding": "2" if message.encoding == Encoding.UCS2 else "0",
        }
        if self.reports_delivery:
            params["dlr-mask"] = str(settings.KANNEL_DLR_MASK)
            params["dlr-url"] = dlr_url(message, message.attempts)
        return params

    def _connect(self) -> http.client.HTTPConnection:
        if self._conn is not None and (
            time.monotonic() - self._last_used > IDLE_RECONNECT_S or _dropped(self._conn)
        ):
            self.close()
        if self._conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                conn.connect()
            except OSError as error:
                conn.close()
                raise GatewayUnavailable(f"无法连接短信网关：{error}") from error
            self._conn = conn
        return self._conn

    def send(self, message) -> SendResult:
        query = urllib.parse.urlencode(self.params(message))
        conn = self._connect()
        try:
            conn.request("GET", f"{self.path}?{query}", headers={"Connection": "keep-alive"})
        except OSError as error:
            # Nothing was written (the peer had closed): the message certainly did not go.
            self.close()
            raise GatewayUnavailable(f"短信网关连接中断：{error}") from error
        try:
            response = conn.getresponse()
            body = response.read().decode("utf-8", "replace").strip()
        except _AFTER_WRITE as error:
            self.close()
            raise InDoubt(f"短信网关无应答：{error.__class__.__name__} {error}") from error
        self._last_used = time.monotonic()
        if response.will_close:
            self.close()
        status = response.status
        if 200 <= status < 300:
            return SendResult(response=f"{status} {body}"[:255])
        detail = f"{status} {body}"[:200]
        if status in (401, 403):
            # Our credentials or address are wrong: no message can go, none is at fault.
            raise GatewayUnavailable(f"短信网关拒绝认证：{detail}")
        if status >= 500 or status == 429:
            raise TransientError(f"短信网关暂时失败：{detail}")
        raise PermanentError(f"短信网关拒收：{detail}")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # --- resolving messages in doubt -----------------------------------------------------------------
    def stored(self) -> set[tuple[str, str]] | None:
        """(receiver, text) of every message bearerbox holds in its store (accepted, not yet handed to
        the SMS centre); None when the admin interface cannot be asked."""
        if not settings.KANNEL_ADMIN_URL:
            return None
        query = urllib.parse.urlencode({"password": settings.KANNEL_ADMIN_PASSWORD})
        url = urllib.parse.urlsplit(settings.KANNEL_ADMIN_URL)
        conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=self.timeout)
        try:
            conn.request("GET", f"{url.path.rstrip('/')}/store-status.xml?{query}")
            response = conn.getresponse()
            body = response.read()
        except OSError as error:
            log.warning("Kannel admin not reachable for store-status: %s", error)
            return None
        finally:
            conn.close()
        if response.status != 200:
            log.warning("Kannel store-status answered %s", response.status)
            return None
        return parse_store(body)

    def resolve(self, messages: list) -> dict[int, Verdict]:
        stored = self.stored()
        if stored is None:
            if settings.KANNEL_ADMIN_URL:
                return {m.pk: Verdict.UNKNOWN for m in messages}
            # Without the admin interface only the delivery reports can tell: none came within the
            # grace period, so the message is taken as not accepted (documented: at-least-once here).
            return {m.pk: Verdict.ABSENT for m in messages}
        verdicts = {}
        for message in messages:
            held = any(
                receiver == message.phone and text and text in message.body for receiver, text in stored
            )
            verdicts[message.pk] = Verdict.ACCEPTED if held else Verdict.ABSENT
        return verdicts


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether the server closed this idle keep-alive connection (smsbox stopped, or timed it out).

    An idle HTTP connection has nothing to read; if it is readable, the peer sent FIN (or RST). A
    request written into it would not be processed, but its failure could not be told apart from a
    lost answer, and would be *in doubt*. Checking first keeps those cases out of doubt.
    """
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _decode(data: str, coding: str) -> str:
    raw = urllib.parse.unquote_to_bytes(data.replace("+", "%20"))
    if coding == "2":
        return raw.decode("utf-16-be", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_store(xml_body: bytes) -> set[tuple[str, str]]:
    """Kannel's store-status.xml → {(receiver, text)}. ``flags`` is mclass:coding:mwi:compress:dlrmask."""
    held = set()
    try:
        root = ET.fromstring(xml_body)
    except ET.ParseError:
        log.warning("Kannel store-status is not XML")
        return held
    for node in root.iter("message"):
        flags = (node.findtext("flags") or "").split(":")
        coding = flags[1] if len(flags) > 1 else "0"
        receiver = (node.findtext("receiver") or "").strip()
        text = _decode(node.findtext("msg-data") or "", coding)
        held.add((receiver, text))
    return held
