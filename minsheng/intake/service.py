"""The one intake service: every channel's adapter ends here.

1. ``store_raw`` commits the payload exactly as it arrived, in its own transaction, before any parsing.
2. ``process`` parses it (the channel's parser, or an admin's correction), recognises a work order
   already received, and registers the appeal through ``cases.actions`` — all in one transaction with
   the payload row locked, so a crash anywhere leaves the payload pending and a retry makes exactly one
   appeal. What cannot be parsed is quarantined with the field and the reason, for repair.
"""

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction

from minsheng.appeals.models import Appeal, AppealAttachment
from minsheng.core import clock
from minsheng.core.rows import Columns
from minsheng.divisions.models import Division
from minsheng.intake import normalise
from minsheng.intake.models import PayloadStatus, RawPayload
from minsheng.intake.normalise import FieldError

log = logging.getLogger(__name__)

MAX_CONTENT = 10_000


@dataclass
class AppealInput:
    """An appeal as the intake understands it, whatever the channel."""

    channel: str
    content: str
    received_at: object = None
    title: str = ""
    appellant_name: str = ""
    appellant_phone: str = ""
    appellant_id_number: str = ""
    address: str = ""
    external_ref: str = ""
    category_hint: str = ""
    consent_to_contact: bool = True
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


@dataclass
class Outcome:
    status: str  # created | duplicate | quarantined | rejected
    payload: RawPayload
    appeal: Appeal | None = None
    error: FieldError | None = None

    def as_dict(self) -> dict:
        body = {"status": self.status, "payload_id": self.payload.pk}
        if self.appeal is not None:
            body.update(
                appeal_id=self.appeal.pk,
                case_number=self.appeal.case.number if self.appeal.case_id else None,
                tracking_code=self.appeal.tracking_code,
            )
        if self.error is not None:
            body.update(code="invalid", field=self.error.field, message=self.error.message)
        return body


def store_raw(
    *,
    channel: str,
    transport: str,
    body: bytes,
    source: str = "",
    content_type: str = "",
    headers: dict | None = None,
    remote_addr: str | None = None,
    signature: str = "",
    status: str = PayloadStatus.PENDING,
    error: str = "",
    then: Callable[[RawPayload], object] | None = None,
) -> RawPayload:
    """Commit the payload as received. Durable: never nested in a caller's transaction. ``then`` runs
    in the same transaction once the row is written (queueing its processing): both or neither."""
    payload = RawPayload(
        channel=channel,
        transport=transport,
        body=body,
        source=source[:64],
        content_type=content_type[:100],
        headers=headers or {},
        remote_addr=remote_addr,
        signature=signature,
        status=status,
        error=error,
    )
    if then is None and connection.vendor == "postgresql" and connection.get_autocommit():
        # One statement is its own transaction: committed when it returns, without the BEGIN and
        # COMMIT round trips (most pushes answered on receipt queue nothing).
        _insert(payload)
        return payload
    with transaction.atomic(durable=True):
        if connection.vendor == "postgresql":
            _insert(payload)
        else:
            payload.save(force_insert=True)
        if then is not None:
            then(payload)
        return payload


def _insert(payload: RawPayload) -> None:
    """PostgreSQL: the INSERT through a plain psycopg cursor instead of the ORM's.

    Django's psycopg cursors bind parameters client-side: bytes go into the SQL text as a hex literal,
    twice their size — a batch file of a million rows (~140 MB) cost ~6 s of Python and as much again
    for the server to parse. Here the body is one binary parameter (``%b``), sent as it is, and the
    ORM's query compiler is skipped (a fifth of a push's answer on receipt). The values are prepared by
    the model's own fields, as the ORM would. Not a named prepared statement (``prepare=False``): those
    break behind a transaction-pooling PgBouncer."""
    import psycopg

    payload.body_sha256 = hashlib.sha256(payload.body).hexdigest()
    columns = Columns.of(RawPayload, keyed=False)
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_insert_statement(columns), columns.values(payload), prepare=False)
        payload.pk = cursor.fetchone()[0]
    payload._state.adding, payload._state.db = False, connection.alias


@functools.cache
def _insert_statement(columns: Columns) -> str:
    placeholders = ", ".join("%b" if f.name == "body" else "%s" for f in columns.fields)
    pk = connection.ops.quote_name(RawPayload._meta.pk.column)
    return f"INSERT INTO {columns.table} ({columns.names}) VALUES ({placeholders}) RETURNING {pk}"  # noqa: S608


def fields_from_mapping(record: dict, mapping: dict[str, str], channel: str) -> AppealInput:
    """A partner's record (JSON object or spreadsheet row) read through its field mapping."""
    if not isinstance(record, dict):
        raise FieldError("body", "应为一个 JSON 对象")

    def pick(name: str):
        key = mapping.get(name, name)
        value = record.get(key, record.get(name))
        return "" if value is None else value

    return AppealInput(
        channel=channel,
        content=pick("content"),
        received_at=pick("received_at") or None,
        title=pick("title"),
        appellant_name=pick("appellant_name"),
        appellant_phone=pick("appellant_phone"),
        appellant_id_number=pick("appellant_id_number"),
        address=pick("address"),
        external_ref=pick("external_ref"),
        category_hint=pick("category_hint"),
    )


def clean(data: AppealInput) -> AppealInput:
    """Normalise every field; raises FieldError naming the first bad one."""
    data.content = normalise.clean_text(data.content, "content", max_length=MAX_CONTENT, required=True)
    data.title = normalise.clean_text(data.title, "title", max_length=200)
    data.appellant_name = normalise.clean_text(data.appellant_name, "appellant_name", max_length=64)
    data.appellant_phone = normalise.normalise_phone(data.appellant_phone)
    data.appellant_id_number = normalise.normalise_id_number(data.appellant_id_number)
    data.address = normalise.clean_text(data.address, "address", max_length=300)
    data.external_ref = normalise.clean_text(data.external_ref, "external_ref", max_length=64)
    data.category_hint = normalise.clean_text(data.category_hint, "category_hint", max_length=64)
    data.received_at = (
        normalise.parse_time(data.received_at, now=clock.now()) if data.received_at else clock.now()
    )
    return data


def _category(hint: str):
    """The active category a partner's 诉求类型 names (by name or code), if any."""
    if not hint:
        return None
    from minsheng.routing.triage import router

    categories = router().categories
    return next((c for c in categories.values() if c.name == hint), None) or categories.get(hint)


def _quarantine(payload: RawPayload, error: FieldError) -> Outcome:
    payload.status, payload.error, payload.error_field = PayloadStatus.QUARANTINED, error.message, error.field
    payload.processed_at = clock.now()
    payload.save(update_fields=["status", "error", "error_field", "processed_at"])
    return Outcome("quarantined", payload, error=error)


def register(data: AppealInput, *, source: str, actor=None) -> Appeal:
    """Register a cleaned appeal: resolve the place, map the category hint, compare it with every
    stored appeal (自动比对), then link it or open a case and triage it."""
    from minsheng.dedup import actions as dedup_actions
    from minsheng.dedup.service import LINK
    from minsheng.routing import places
    from minsheng.routing.hooks import apply_triage, predicted_category, triage_appeal

    place = places.locate(data.address, data.content)
    divisions = Division.objects.in_bulk([c for c in (place.district, place.township, place.community) if c])
    category = _category(data.category_hint)
    # Triage is computed before the comparison takes its lock: the locked part stays short, and the
    # comparison knows the category.
    result = triage_appeal(data.title, data.content, data.address, category, phone=data.appellant_phone)
    appeal, comparison = dedup_actions.register(
        actor=actor,
        predicted_category=category or predicted_category(result),
        **appeal_fields(data, source=source, category=category, place=place, divisions=divisions),
    )
    for name, content_type, content in data.attachments:
        from django.core.files.base import ContentFile

        AppealAttachment.objects.create(
            appeal=appeal,
            file=ContentFile(content, name=name),
            name=name[:255],
            content_type=content_type[:100],
            size=len(content),
        )
    if comparison.decision != LINK:
        # Triage last, so a direct dispatch is the final step of the same transaction as the intake.
        apply_triage(appeal.case, result=result)
    return appeal


def appeal_fields(data: AppealInput, *, source: str, category, place, divisions: dict) -> dict:
    """The fields ``register_appeal`` takes, from a cleaned input and its located place."""
    return dict(
        channel=data.channel,
        content=data.content,
        received_at=data.received_at,
        title=data.title,
        appellant_name=data.appellant_name,
        appellant_phone=data.appellant_phone,
        appellant_id_number=data.appellant_id_number,
        address=data.address,
        category=category,
        district=divisions.get(place.district),
        township=divisions.get(place.township),
        community=divisions.get(place.community),
        external_source=source if data.external_ref else "",
        external_ref=data.external_ref,
        consent_to_contact=data.consent_to_contact,
    )


def parse(payload: RawPayload, parser: Callable[[RawPayload], AppealInput]) -> AppealInput:
    """The payload's fields, cleaned: an admin's correction when there is one. Raises FieldError."""
    if payload.correction:
        data = AppealInput(**{**payload.correction, "channel": payload.channel})
    else:
        data = parser(payload)
    return clean(data)


def process(payload_id: int, parser: Callable[[RawPayload], AppealInput], *, actor=None) -> Outcome:
    """Turn one stored payload into one appeal (or a quarantine entry). Safe to call again."""
    with transaction.atomic():
        payload = RawPayload.objects.select_for_update().get(pk=payload_id)
        if payload.status != PayloadStatus.PENDING:
            status = {"processed": "created", "duplicate": "duplicate"}.get(payload.status, payload.status)
            return Outcome(status, payload, appeal=payload.appeal)
        try:
            data = parse(payload, parser)
        except FieldError as error:
            return _quarantine(payload, error)
        source = payload.source
        if data.external_ref:
            existing = Appeal.objects.filter(external_source=source, external_ref=data.external_ref).first()
            if existing is not None:
                return _finish(payload, PayloadStatus.DUPLICATE, existing)
        try:
            with transaction.atomic():
                appeal = register(data, source=source, actor=actor)
        except IntegrityError:
            # Another worker registered the same work order a moment ago: this one is its duplicate.
            existing = Appeal.objects.filter(external_source=source, external_ref=data.external_ref).first()
            if existing is None:
                raise
            return _finish(payload, PayloadStatus.DUPLICATE, existing)
        return _finish(payload, PayloadStatus.PROCESSED, appeal)


def _finish(payload: RawPayload, status: str, appeal: Appeal) -> Outcome:
    payload.status, payload.appeal, payload.processed_at = status, appeal, clock.now()
    payload.error = payload.error_field = ""
    payload.save(update_fields=["status", "appeal", "processed_at", "error", "error_field"])
    return Outcome("created" if status == PayloadStatus.PROCESSED else "duplicate", payload, appeal=appeal)


# --- parsers registered per transport --------------------------------------------------------------
PARSERS: dict[str, Callable[[RawPayload], AppealInput]] = {}


def parser(transport: str):
    def register_parser(function):
        PARSERS[transport] = function
        return function

    return register_parser


def decode_json(payload: RawPayload):
    try:
        return json.loads(payload.text)
    except (json.JSONDecodeError, ValueError) as exc:
        raise FieldError("body", f"不是有效的 JSON（{exc.msg if hasattr(exc, 'msg') else exc}）") from None


@parser("push")
def parse_push(payload: RawPayload) -> AppealInput:
    from minsheng.intake import partners

    partner = partners.get(payload.source, active_only=False)
    mapping = partner.field_mapping() if partner else {}
    return fields_from_mapping(decode_json(payload), mapping, payload.channel)


@parser("json")
def parse_plain_json(payload: RawPayload) -> AppealInput:
    """A JSON object with our own field names (public form, staff API, corrections)."""
    record = decode_json(payload)
    if not isinstance(record, dict):
        raise FieldError("body", "应为一个 JSON 对象")
    data = fields_from_mapping(record, {}, payload.channel)
    data.consent_to_contact = bool(record.get("consent_to_contact", True))
    return data


def process_with_parser(payload: RawPayload, *, actor=None) -> Outcome:
    try:
        parse = PARSERS[payload.transport]
    except KeyError:
        raise ValueError(f"no parser for transport {payload.transport!r}") from None
    return process(payload.pk, parse, actor=actor)


ALLOWED_CORRECTION_FIELDS = {
    f for f in AppealInput.__dataclass_fields__ if f not in ("channel", "attachments")
}


def correct(payload: RawPayload, data: dict, *, actor=None) -> Outcome:
    """An admin's repair of a quarantined payload: the original bytes stay, the correction is processed."""
    unknown = set(data) - ALLOWED_CORRECTION_FIELDS
    if unknown:
        raise FieldError(sorted(unknown)[0], "不是可修正的字段")
    with transaction.atomic():
        updated = RawPayload.objects.filter(pk=payload.pk, status=PayloadStatus.QUARANTINED).update(
            correction=data, status=PayloadStatus.PENDING
        )
    if not updated:
        raise FieldError("status", "只有待修复的报文可以修正")
    return process(payload.pk, PARSERS.get(payload.transport, parse_plain_json), actor=actor)
