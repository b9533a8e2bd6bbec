"""The chief's mailbox (局长信箱) by e-mail: an IMAP poller and the "imap" parser.

The poller reads the unread messages of one IMAP folder. Each message is first committed to the
intake exactly as the server returned it (``store_raw``), only then flagged ``\\Seen``, and only then
parsed and registered through ``service.process``. A crash between fetching and storing leaves the
message unread, so the next poll reads it again; a crash between storing and flagging leaves it unread
*and* stored, so the next poll recognises it (same Message-ID, or the same bytes) and finishes the
stored payload instead of storing a second one. The Message-ID is also the appeal's external
reference, so even two pollers racing each other (or a mail delivered twice) make one appeal.

The parser copes with what Chinese mail clients send: GB2312 labels on GBK/GB18030 text, 8-bit
headers, encoded-word file names, HTML-only bodies and quoted replies. A mail without any text is
quarantined for an administrator, never dropped.

Settings: ``settings.IMAP`` with HOST, PORT, USER, PASSWORD, FOLDER, SSL, STARTTLS. An empty HOST
switches the channel off.
"""

import datetime as dt
import email
import email.errors
import email.header
import email.message
import email.utils
import hashlib
import imaplib
import logging
import mimetypes
import re
import unicodedata
import urllib.parse
from dataclasses import asdict, dataclass
from email import policy
from html.parser import HTMLParser

from django.conf import settings

from minsheng.intake import normalise
from minsheng.intake.models import PayloadStatus, RawPayload
from minsheng.intake.normalise import FieldError
from minsheng.intake.service import MAX_CONTENT, AppealInput, parser, process, store_raw

log = logging.getLogger(__name__)

CHANNEL = "email"
TRANSPORT = "imap"
# Enough for any real backlog within a minute; the rest waits for the next poll.
MAX_PER_POLL = 200
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
CONNECT_TIMEOUT = 30
# A mail that sat in the mailbox while the poller was down keeps its arrival time, but no earlier
# than this: a mis-set clock on a relay must not backdate a deadline by months.
MAX_BACKDATE = dt.timedelta(days=30)


# --- the poller --------------------------------------------------------------------------------------
@dataclass
class PollResult:
    """What one poll did, by message."""

    fetched: int = 0
    created: int = 0
    duplicates: int = 0
    quarantined: int = 0
    failed: int = 0  # stored, but processing raised: left pending for ``process_pending``

    def as_dict(self) -> dict:
        return asdict(self)


# imap-tools is imported only where the poller needs it: the parser, and ``process_pending`` which
# imports this module to find it, must keep working on a host that never polls.


def _mailbox_class():
    """imap-tools' message class, keeping the exact bytes the server sent."""
    from imap_tools import MailMessage

    class RawMailMessage(MailMessage):
        def __init__(self, fetch_data: list) -> None:
            super().__init__(fetch_data)
            # ``obj.as_bytes()`` would re-serialise (re-fold headers, re-encode 8-bit parts): the
            # intake promises the payload as received.
            self.raw: bytes = self._get_message_data_parts(fetch_data)[0]

    return RawMailMessage


def _connect(config: dict):
    from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted

    host = config["HOST"]
    if config.get("SSL", True):
        box = MailBox(host, int(config.get("PORT") or 993), timeout=CONNECT_TIMEOUT)
    elif config.get("STARTTLS"):
        box = MailBoxStartTls(host, int(config.get("PORT") or 143), timeout=CONNECT_TIMEOUT)
    else:
        box = MailBoxUnencrypted(host, int(config.get("PORT") or 143), timeout=CONNECT_TIMEOUT)
    box.email_message_class = _mailbox_class()
    return box.login(
        config["USER"], config.get("PASSWORD", ""), initial_folder=config.get("FOLDER") or "INBOX"
    )


def _already_stored(source: str, message_id: str, sha256: str) -> RawPayload | None:
    """The payload of an earlier poll of this very message, if there was one."""
    stored = RawPayload.objects.filter(channel=CHANNEL, transport=TRANSPORT, source=source)
    if message_id:
        found = stored.filter(headers__message_id=message_id).order_by("pk").first()
        if found is not None:
            return found
    return stored.filter(body_sha256=sha256).order_by("pk").first()


def mark_seen(mailbox, uid: str) -> None:
    """Flag one message \\Seen.

    Not ``mailbox.flag()``: imap-tools follows every STORE with an EXPUNGE, which would permanently
    remove whatever a person reading the same mailbox had marked deleted.
    """
    result = mailbox.client.uid("STORE", uid, "+FLAGS", r"(\Seen)")
    if result[0] != "OK":
        raise imaplib.IMAP4.error(f"STORE \\Seen failed for uid {uid}: {result!r}")


def poll(config: dict | None = None) -> PollResult:
    """Read the unread mail of the configured folder into the intake; nothing when HOST is empty."""
    from imap_tools import AND

    config = getattr(settings, "IMAP", {}) if config is None else config
    result = PollResult()
    if not config or not config.get("HOST"):
        return result
    source = (config.get("USER") or config["HOST"])[:64]
    folder = config.get("FOLDER") or "INBOX"
    with _connect(config) as mailbox:
        # PEEK: fetching must not mark anything read; \Seen is set only once the bytes are committed.
        unread = mailbox.fetch(
            AND(seen=False, deleted=False), mark_seen=False, limit=MAX_PER_POLL, bulk=False
        )
        for message in unread:
            result.fetched += 1
            _take(mailbox, message, source, folder, result)
    if result.fetched:
        log.info("mailbox %s: %s", source, result.as_dict())
    return result


def _take(mailbox, message, source: str, folder: str, result: PollResult) -> None:
    raw: bytes = message.raw
    parsed = email.message_from_bytes(raw, policy=policy.default)
    message_id = message_id_of(parsed)
    payload = _already_stored(source, message_id, hashlib.sha256(raw).hexdigest())
    seen_before = payload is not None
    if payload is None:
        payload = store_raw(
            channel=CHANNEL,
            transport=TRANSPORT,
            source=source,
            body=raw,
            content_type="message/rfc822",
            headers={
                "message_id": message_id,
                "from": header_text(parsed, "from")[:500],
                "subject": header_text(parsed, "subject")[:500],
                "folder": folder,
                "uid": message.uid,
            },
        )
    try:
        mark_seen(mailbox, message.uid)
    except (imaplib.IMAP4.error, OSError):
        # The payload is committed: a message left unread is recognised on the next poll, so a
        # failed flag costs a repeated fetch, never a second appeal.
        log.warning("mailbox %s: could not flag uid %s seen (payload %s)", source, message.uid, payload.pk)
    if seen_before and payload.status != PayloadStatus.PENDING:
        result.duplicates += 1
        return
    try:
        outcome = process(payload.pk, parse_imap)
    except Exception:
        # Bad input is quarantined by ``process``; anything raised here is a fault of ours (or the
        # database). The payload stays pending and ``process_pending`` retries it.
        log.exception("mailbox %s: processing payload %s failed", source, payload.pk)
        result.failed += 1
        return
    if outcome.status == "created":
        result.created += 1
    elif outcome.status == "duplicate":
        result.duplicates += 1
    elif outcome.status == "quarantined":
        result.quarantined += 1


# --- decoding what Chinese mail clients send -------------------------------------------------------------
# Clients label GBK (and GB18030) text "gb2312"; GB2312 lacks characters common in names (镕, 喆, 堃),
# and decoding by the label turns them into replacement characters. GB18030 is a superset of all three.
_GB_CHARSETS = {"gb2312", "gb_2312", "gb_2312-80", "csgb2312", "euc-cn", "x-euc-cn", "gbk", "x-gbk", "cp936"}
_GB_CHARSETS |= {"ms936", "windows-936", "gb18030"}


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text in the declared charset if it decodes, else UTF-8, else GB18030; never raises."""
    declared = (charset or "").strip().strip('"').lower()
    candidates = ["gb18030"] if declared in _GB_CHARSETS else [declared] if declared else []
    for candidate in [*candidates, "utf-8", "gb18030"]:
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace")


def _unescape_8bit(raw: str) -> str:
    """Undeclared 8-bit header bytes reach us as surrogate escapes: they are GBK or UTF-8, never ASCII."""
    if any("\udc80" <= ch <= "\udcff" for ch in raw):
        return decode_bytes(raw.encode("ascii", "surrogateescape"), None)
    return raw


def decode_header_text(raw: str) -> str:
    """A header value as text: RFC 2047 encoded words, and raw 8-bit bytes some clients put there."""
    if not raw:
        return ""
    raw = re.sub(r"\r?\n[ \t]+", " ", _unescape_8bit(raw))
    if "=?" not in raw:
        return raw.strip()
    try:
        chunks = email.header.decode_header(raw)
    except (email.errors.HeaderParseError, ValueError):
        return raw.strip()
    return "".join(
        decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk for chunk, charset in chunks
    ).strip()


def _raw_header(part: email.message.Message, name: str) -> str | None:
    # ``raw_items`` gives the header as received; the policy's own decoding trusts the GB2312 label.
    for key, value in part.raw_items():
        if key.lower() == name:
            return value
    return None


def header_text(part: email.message.Message, name: str) -> str:
    return decode_header_text(_raw_header(part, name) or "")


def sender_of(message: email.message.Message) -> tuple[str, str]:
    """(display name, address) of the From header."""
    raw = _unescape_8bit(_raw_header(message, "from") or "")
    # Split before decoding the name: a decoded name may itself contain commas, quotes or "<".
    name, address = email.utils.parseaddr(re.sub(r"\r?\n[ \t]+", " ", raw))
    return decode_header_text(name), address


def message_id_of(message: email.message.Message) -> str:
    return header_text(message, "message-id").strip().strip("<>").strip()


def external_ref(message_id: str, raw: bytes) -> str:
    """The appeal's external reference: the Message-ID, or a digest when it is too long or missing."""
    if message_id and len(message_id) <= 64:
        return message_id
    digest = hashlib.sha256(message_id.encode() if message_id else raw).hexdigest()
    return f"sha256:{digest[:57]}"


def _filename(part: email.message.Message) -> str:
    """The attachment's file name as the sender wrote it (encoded words, RFC 2231 or raw GBK)."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        raw = _raw_header(part, header)
        if not raw:
            continue
        # The compat32 parser hands back parameters undecoded, so our charset rules apply to them.
        compat = email.message.Message()
        # Unescaped first: compat32 would turn the escaped bytes into replacement characters.
        compat[header] = _unescape_8bit(raw)
        value = compat.get_param(param, header=header)
        if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded as latin-1)
            charset, _language, text = value
            value = decode_bytes(urllib.parse.unquote_to_bytes(text.encode("latin-1")), charset)
        elif value:
            value = decode_header_text(email.utils.unquote(value))
        if value:
            # Only the last path component: a file name is never trusted as a path.
            name = re.split(r"[/\\]", value)[-1]
            name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
            if name:
                return name[:200]
    return ""


class _HTMLText(HTMLParser):
    """HTML to plain text: block elements become line breaks; scripts, styles and quotes are dropped."""

    BLOCKS = {"p", "div", "br", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre"}
    SKIPPED = {"script", "style", "head", "title", "blockquote"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def _break(self, tag: str) -> None:
        # One line break where blocks meet (</div><div>), not one per tag; <br> always breaks.
        if tag == "br" or (self.parts and self.parts[-1] != "\n"):
            self.parts.append("\n")

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self._break(tag)

    def handle_startendtag(self, tag, attrs):
        if tag in self.BLOCKS:
            self._break(tag)

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS and tag != "br":
            self._break(tag)

    def handle_data(self, data):
        if not self.skipping:
            # Line breaks in HTML source are not line breaks on screen.
            self.parts.append(re.sub(r"[\r\n]+", " ", data))


def html_to_text(html: str) -> str:
    stripper = _HTMLText()
    stripper.feed(html)
    stripper.close()
    return "".join(stripper.parts)


# Where the sender's own words end: a quoted earlier message, in the forms common clients write.
_QUOTE_STARTS = re.compile(
    r"^\s*(?:"
    r"-{2,}\s*(?:original message|forwarded message|原始邮件|转发邮件|邮件原文)\s*-{2,}"
    r"|on\s.{1,200}\swrote:"
    r"|在\s?.{1,120}写道[：:]"
    r")\s*$",
    re.IGNORECASE,
)
# An Outlook-style header block of the quoted message: "发件人：…" followed by "发送时间：…" etc.
_QUOTE_HEADER = re.compile(r"^\s*(?:发件人|from)\s*[：:]", re.IGNORECASE)
_QUOTE_HEADER_NEXT = re.compile(r"^\s*(?:发送时间|时间|日期|sent|date|收件人|to)\s*[：:]", re.IGNORECASE)
_SIGNATURE = re.compile(r"^--\s*$")
_MOBILE_FOOTER = re.compile(
    r"^\s*(?:发自我的|来自我的|发自网易|来自网易|发自\s*QQ|来自\s*QQ|发自\s*(?:iPhone|iPad|华为|小米|荣耀|vivo|OPPO)"
    r"|sent from my|sent from mail|get outlook)",
    re.IGNORECASE,
)


def split_reply(text: str) -> tuple[str, str]:
    """The sender's own words and their signature; quoted earlier mail is dropped."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    own: list[str] = []
    for index, line in enumerate(lines):
        if _QUOTE_STARTS.match(line):
            break
        if _QUOTE_HEADER.match(line) and any(
            _QUOTE_HEADER_NEXT.match(n) for n in lines[index + 1 : index + 4]
        ):
            break
        if line.lstrip().startswith(">"):
            continue
        own.append(line)
    signature: list[str] = []
    for index, line in enumerate(own):
        if _SIGNATURE.match(line):
            own, signature = own[:index], own[index + 1 :]
            break
    while own and (not own[-1].strip() or _MOBILE_FOOTER.match(own[-1])):
        own.pop()
    return "\n".join(own).strip(), "\n".join(signature).strip()


# A mainland mobile number, also written +86 138-0531-2345 or 138 0531 2345.
_MOBILE = re.compile(r"(?<![\d])(?:(?:\+|00)?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?![\d])")


def find_phone(*texts: str) -> str:
    """The first mobile number in the texts that is a valid one, or ""."""
    for text in texts:
        # Full-width digits (１３８…) are common in Chinese text.
        for match in _MOBILE.finditer(unicodedata.normalize("NFKC", text)):
            try:
                return normalise.normalise_phone("".join(match.groups()))
            except FieldError:
                continue
    return ""


def _part_text(part: email.message.Message) -> str:
    data = part.get_payload(decode=True) or b""
    return decode_bytes(data, part.get_content_charset())


def _body_text(message: email.message.EmailMessage) -> tuple[str, set[int]]:
    """The message's text (plain preferred, HTML otherwise) and the ids of the parts it came from."""
    for kind in ("plain", "html"):
        part = message.get_body(preferencelist=(kind,))
        if part is None:
            continue
        text = _part_text(part)
        if kind == "html":
            text = html_to_text(text)
        # Some clients send an empty text/plain next to the real HTML: only a non-empty one counts.
        if text.strip():
            return text, {id(part)}
    return "", set()


_ATTACHMENT_TYPES = ("image/", "application/pdf")


def _attachments(message: email.message.EmailMessage, body_parts: set[int]):
    """(attachments, notes): images and PDFs up to the size limit; a note for each one left out."""
    attachments: list[tuple[str, str, bytes]] = []
    notes: list[str] = []
    for part in message.walk():
        if part.is_multipart() or id(part) in body_parts:
            continue
        content_type = part.get_content_type()
        name = _filename(part)
        if content_type.startswith("text/") and not part.is_attachment():
            continue  # the other alternative of the body, not a file
        if content_type == "application/octet-stream" and name:
            # Many clients send every file as octet-stream; the name says what it is.
            content_type = mimetypes.guess_type(name)[0] or content_type
        data = part.get_payload(decode=True) or b""
        label = name or content_type
        if not content_type.startswith(_ATTACHMENT_TYPES):
            if name or part.is_attachment():
                notes.append(f"附件“{label}”（{content_type}）不是图片或 PDF，未导入；原件保存在原始邮件中。")
            continue
        if len(data) > MAX_ATTACHMENT_BYTES:
            size = len(data) / 1024 / 1024
            limit = MAX_ATTACHMENT_BYTES / 1024 / 1024
            notes.append(f"附件“{label}”（{size:.1f} MB）超过 {limit:g} MB，未导入；原件保存在原始邮件中。")
            continue
        if not data:
            continue
        if not name:
            extension = mimetypes.guess_extension(content_type) or ""
            name = f"附件{len(attachments) + 1}{extension}"
        attachments.append((name, content_type, data))
    return attachments, notes


def _received_at(message: email.message.Message, payload: RawPayload) -> dt.datetime:
    """When the mail reached our server (its topmost Received header), else when we stored it.

    Not the Date header: that is the sender's clock, and a wrong one would move the deadline.
    """
    stored_at = payload.received_at
    received = _raw_header(message, "received")
    if received and ";" in received:
        try:
            moment = email.utils.parsedate_to_datetime(
                re.sub(r"\s+", " ", received.rsplit(";", 1)[1]).strip()
            )
        except (TypeError, ValueError, IndexError):
            moment = None
        if moment is not None:
            if moment.tzinfo is None:  # "-0000": UTC, origin unknown
                moment = moment.replace(tzinfo=dt.UTC)
            if stored_at - MAX_BACKDATE <= moment <= stored_at:
                return moment
    return stored_at


_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|答复|回复|转发)\s*[:：]\s*)+", re.IGNORECASE)


@parser(TRANSPORT)
def parse_imap(payload: RawPayload) -> AppealInput:
    """One stored RFC 822 message as an appeal of the e-mail channel."""
    raw = bytes(payload.body)
    try:
        return _parse(raw, payload)
    except FieldError:
        raise
    except Exception as exc:
        # A message the e-mail package cannot take apart is bad input, not a fault to retry forever:
        # quarantine it with the reason, the bytes stay for an administrator.
        log.warning("payload %s: unparseable mail", payload.pk, exc_info=True)
        raise FieldError("body", f"邮件无法解析（{type(exc).__name__}）") from None


def _parse(raw: bytes, payload: RawPayload) -> AppealInput:
    message = email.message_from_bytes(raw, policy=policy.default)
    subject = _REPLY_PREFIX.sub("", header_text(message, "subject")).strip()
    sender_name, sender_address = sender_of(message)
    body, body_parts = _body_text(message)
    own, signature = split_reply(body)
    attachments, notes = _attachments(message, body_parts)

    # A mail with an empty body but a subject is still a letter ("举报某某" with a scanned PDF);
    # with neither there is nothing to register, so it goes to quarantine for a person to read.
    text = normalise.clean_text(own) or normalise.clean_text(subject)
    if not text:
        raise FieldError("content", "邮件没有文字内容（主题和正文均为空）")
    extra = list(notes)
    if sender_address:
        # The appeal has no e-mail field; staff need the address to answer the citizen.
        extra.append(f"来信邮箱：{sender_address}")
    tail = "\n".join(extra)[:2000]
    # An over-long letter is cut rather than quarantined (the whole of it stays in the raw payload);
    # the margin leaves room for the notes and for NFKC widening a few characters in ``clean``.
    budget = MAX_CONTENT - len(tail) - 200
    if len(text) > budget:
        text = text[:budget] + "\n（正文过长，已截断；全文见原始邮件。）"
    content = f"{text}\n\n{tail}" if tail else text

    return AppealInput(
        channel=CHANNEL,
        content=content,
        received_at=_received_at(message, payload),
        title=subject[:190],
        appellant_name=normalise.clean_text(sender_name)[:60],
        appellant_phone=find_phone(subject, own, signature),
        external_ref=external_ref(message_id_of(message), raw),
        attachments=attachments,
    )
