"""Service records from partner pushes and batch files: parse, normalise, store once."""

import datetime as dt

from django.db import IntegrityError, transaction

from minsheng.core import clock
from minsheng.intake import normalise
from minsheng.intake.normalise import FieldError
from minsheng.servicerecords.models import ServiceKind, ServiceRecord
from minsheng.units.models import Unit

DEFAULT_MAPPING = {
    "external_ref": "记录编号",
    "kind": "类型",
    "service_type": "业务",
    "unit": "单位",
    "officer_name": "民警",
    "officer_number": "警号",
    "citizen_phone": "群众电话",
    "started_at": "开始时间",
    "ended_at": "结束时间",
    "outcome": "结果",
}
KIND_ALIASES = {
    **{k.value: k.value for k in ServiceKind},
    **{k.label: k.value for k in ServiceKind},
    "110": ServiceKind.POLICE_110,
    "户政": ServiceKind.HOUSEHOLD,
    "出入境": ServiceKind.EXIT_ENTRY,
    "车管": ServiceKind.VEHICLE,
    "驾管": ServiceKind.DRIVER,
    "交管": ServiceKind.TRAFFIC,
}


class UnitIndex:
    """Unit look-up by the names partner systems write (short or full); ambiguous short names stay unknown."""

    def __init__(self):
        self.by_name: dict[str, Unit | None] = {}
        for unit in Unit.objects.filter(active=True):
            for name in {unit.name, unit.full_name} - {""}:
                self.by_name[name] = None if name in self.by_name else unit

    def get(self, text: str) -> Unit | None:
        return self.by_name.get(text)


def build(
    record: dict,
    *,
    mapping: dict[str, str],
    source: str,
    units: UnitIndex,
    now: dt.datetime,
    default_kind: str = "",
) -> ServiceRecord:
    """One service record from a partner's record; raises FieldError naming the bad field."""
    if not isinstance(record, dict):
        raise FieldError("body", "应为一个 JSON 对象")

    def pick(name):
        value = record.get(mapping.get(name, name), record.get(name))
        return "" if value is None else value

    ref = normalise.clean_text(pick("external_ref"), "external_ref", max_length=64, required=True)
    kind_text = normalise.clean_text(pick("kind"), "kind") or default_kind
    kind = KIND_ALIASES.get(kind_text)
    if kind is None:
        raise FieldError("kind", f"未知的服务类型“{kind_text[:20]}”")
    unit_text = normalise.clean_text(pick("unit"), "unit", max_length=128)
    started = normalise.parse_time(pick("started_at"), "started_at", now=now)
    ended_text = pick("ended_at")
    ended = normalise.parse_time(ended_text, "ended_at", now=now) if ended_text else None
    if ended and ended < started:
        raise FieldError("ended_at", "结束时间早于开始时间")
    return ServiceRecord(
        kind=kind,
        service_type=normalise.clean_text(pick("service_type"), "service_type", max_length=64),
        unit=units.get(unit_text),
        unit_text=unit_text,
        officer_name=normalise.clean_text(pick("officer_name"), "officer_name", max_length=32),
        officer_number=normalise.clean_text(pick("officer_number"), "officer_number", max_length=16),
        citizen_phone=normalise.normalise_phone(pick("citizen_phone"), "citizen_phone"),
        started_at=started,
        ended_at=ended,
        outcome=normalise.clean_text(pick("outcome"), "outcome", max_length=255),
        external_source=source,
        external_ref=ref,
        registered_at=now,
    )


def save_one(record: ServiceRecord) -> tuple[str, ServiceRecord]:
    """Store one record; ("duplicate", existing) when its reference was already received."""
    existing = ServiceRecord.objects.filter(
        external_source=record.external_source, external_ref=record.external_ref
    ).first()
    if existing:
        return "duplicate", existing
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        return "duplicate", ServiceRecord.objects.get(
            external_source=record.external_source, external_ref=record.external_ref
        )
    return "created", record


def save_many(records: list[ServiceRecord]) -> tuple[int, int]:
    """Bulk store a batch; returns (inserted, already there). One IN query finds those already stored."""
    if not records:
        return 0, 0
    seen: set[tuple[str, str]] = set()
    unique = []
    for record in records:
        key = (record.external_source, record.external_ref)
        if key not in seen:
            seen.add(key)
            unique.append(record)
    duplicates = len(records) - len(unique)
    by_source: dict[str, list[str]] = {}
    for record in unique:
        by_source.setdefault(record.external_source, []).append(record.external_ref)
    existing = set()
    for source, refs in by_source.items():
        existing.update(
            (source, ref)
            for ref in ServiceRecord.objects.filter(
                external_source=source, external_ref__in=refs
            ).values_list("external_ref", flat=True)
        )
    fresh = [r for r in unique if (r.external_source, r.external_ref) not in existing]
    # ignore_conflicts covers a concurrent import of the same file between the check and the insert.
    ServiceRecord.objects.bulk_create(fresh, batch_size=5000, ignore_conflicts=True)
    return len(fresh), duplicates + len(existing)


def now() -> dt.datetime:
    return clock.now()
