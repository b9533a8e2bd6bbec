"""Service records from partner pushes and batch files: parse, normalise, store once."""

import datetime as dt
import queue
import threading

from django.db import IntegrityError, connection, transaction

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


# What ``build_values`` returns, in order: the model's fields as a batch writes them.
COLUMNS = (
    "kind",
    "service_type",
    "unit",
    "unit_text",
    "officer_name",
    "officer_number",
    "citizen_phone",
    "started_at",
    "ended_at",
    "outcome",
    "external_source",
    "external_ref",
    "registered_at",
)


def build_values(
    record: dict,
    *,
    mapping: dict[str, str],
    source: str,
    units: UnitIndex,
    now: dt.datetime,
    default_kind: str = "",
) -> tuple:
    """One service record's values (in ``COLUMNS`` order) from a partner's record; raises FieldError
    naming the bad field. A tuple, not a model instance: a batch of a million rows pays for a model's
    ``__init__`` on every row otherwise, and only needs the values to write them."""
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
    return (
        kind,
        normalise.clean_text(pick("service_type"), "service_type", max_length=64),
        units.get(unit_text),
        unit_text,
        normalise.clean_text(pick("officer_name"), "officer_name", max_length=32),
        normalise.clean_text(pick("officer_number"), "officer_number", max_length=16),
        normalise.normalise_phone(pick("citizen_phone"), "citizen_phone"),
        started,
        ended,
        normalise.clean_text(pick("outcome"), "outcome", max_length=255),
        source,
        ref,
        now,
    )


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
    values = build_values(
        record, mapping=mapping, source=source, units=units, now=now, default_kind=default_kind
    )
    return ServiceRecord(**dict(zip(COLUMNS, values, strict=True)))


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
    """Bulk store a batch of records; returns (inserted, already there)."""
    return save_rows([tuple(getattr(r, c) for c in _DB_COLUMNS) for r in records])


# The row's columns in the table: the unit as its id.
_DB_COLUMNS = tuple("unit_id" if c == "unit" else c for c in COLUMNS)
_SOURCE, _REF, _UNIT = COLUMNS.index("external_source"), COLUMNS.index("external_ref"), COLUMNS.index("unit")


def save_rows(rows: list[tuple]) -> tuple[int, int]:
    """Bulk store rows from ``build_values`` (or with the unit's id in its place); returns (inserted,
    already there)."""
    if not rows:
        return 0, 0
    seen: set[tuple[str, str]] = set()
    unique = []
    for row in rows:
        key = (row[_SOURCE], row[_REF])
        if key not in seen:
            seen.add(key)
            unique.append(row)
    duplicates = len(rows) - len(unique)
    if connection.vendor == "postgresql":
        # The unique constraint decides what was already stored: no look-up first. (An IN query of a
        # chunk's references is planned on the statistics of a table the import itself is filling,
        # and turned into a scan of the whole table: ~0.3 s a chunk at a million rows.)
        inserted = _copy_in([_db_row(r) for r in unique])
        return inserted, duplicates + len(unique) - inserted
    by_source: dict[str, list[str]] = {}
    for row in unique:
        by_source.setdefault(row[_SOURCE], []).append(row[_REF])
    existing = set()
    for source, refs in by_source.items():
        existing.update(
            (source, ref)
            for ref in ServiceRecord.objects.filter(
                external_source=source, external_ref__in=refs
            ).values_list("external_ref", flat=True)
        )
    fresh = [_db_row(r) for r in unique if (r[_SOURCE], r[_REF]) not in existing]
    # ignore_conflicts covers a concurrent import of the same file between the check and the insert.
    ServiceRecord.objects.bulk_create(
        [ServiceRecord(**dict(zip(_DB_COLUMNS, r, strict=True))) for r in fresh],
        batch_size=5000,
        ignore_conflicts=True,
    )
    return len(fresh), duplicates + len(existing)


def _copy_in(rows: list[tuple]) -> int:
    """PostgreSQL: COPY the rows straight into the table; when one of them is there already, COPY the
    chunk into a temporary table instead, then one INSERT … ON CONFLICT DO NOTHING (a row stored
    already, or by a concurrent import meanwhile, is skipped); returns how many were inserted. COPY
    skips building and binding an INSERT of 13 parameters per row, and the unique constraint replaces
    a look-up of the references.

    The direct COPY first: a file imported for the first time (the usual case) then costs one write
    of each row instead of two (the scratch table and the INSERT … SELECT, whose speculative
    insertion into every index is slower than COPY's). A chunk with a row already stored fails at that
    row and is rolled back to its savepoint, so a re-imported file costs at most one aborted COPY per
    chunk more."""
    if not rows:
        return 0
    from psycopg import errors, sql

    table = sql.Identifier(ServiceRecord._meta.db_table)
    scratch = sql.Identifier("service_record_copy")
    columns = sql.SQL(", ").join(map(sql.Identifier, _DB_COLUMNS))
    # wrap_database_errors: psycopg's errors raised as Django's (DataError, IntegrityError …), as the
    # ORM raises them.
    with transaction.atomic(), connection.cursor() as wrapper, connection.wrap_database_errors:
        cursor = wrapper.cursor  # psycopg's own cursor: COPY is not part of the DB-API
        try:
            with transaction.atomic():  # a savepoint: a conflict undoes this COPY only
                _copy_rows(
                    cursor, sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(table, columns), rows
                )
            return len(rows)
        except errors.UniqueViolation:
            pass  # some of these rows were stored before: skip them the slower way below
        # Dropped below rather than ON COMMIT: inside a caller's transaction the next chunk needs it anew.
        cursor.execute(
            sql.SQL("CREATE TEMPORARY TABLE {} AS SELECT {} FROM {} WITH NO DATA").format(
                scratch, columns, table
            )
        )
        _copy_rows(cursor, sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(scratch, columns), rows)
        cursor.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
                table, columns, columns, scratch
            )
        )
        inserted = cursor.rowcount
        cursor.execute(sql.SQL("DROP TABLE {}").format(scratch))
    return inserted


# Binary COPY with the column types declared: psycopg then dumps each value with its type's binary
# dumper instead of finding one per value and writing text the server parses again (a third of the
# client's CPU and about half the time per row).
_COPY_TYPE_NAMES = {
    "CharField": "text",
    "TextField": "text",
    "AutoField": "int4",
    "IntegerField": "int4",
    "BigAutoField": "int8",
    "BigIntegerField": "int8",
    "DateTimeField": "timestamptz",
}


def _copy_types() -> list[str]:
    types = []
    for name in COLUMNS:
        field = ServiceRecord._meta.get_field(name)
        if field.is_relation:
            field = field.target_field
        types.append(_COPY_TYPE_NAMES[field.get_internal_type()])
    return types


def _copy_rows(cursor, statement, rows: list[tuple]) -> None:
    with cursor.copy(statement) as copy:
        copy.set_types(_copy_types())
        for row in rows:
            copy.write_row(row)


class ChunkWriter:
    """``save_rows`` for a stream of chunks; ``close`` returns the totals (inserted, already there).

    On PostgreSQL outside any transaction (the ``import`` command, an upload), a thread with its own
    connection stores chunk N while the caller builds chunk N+1: the import's Python and the
    database's index maintenance, each about half of the work, then run on two cores instead of
    taking turns. Inside a caller's transaction, or on SQLite, each chunk is stored at once, in it.
    """

    def __init__(self):
        self.inserted = self.duplicates = 0
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # One chunk waiting at most: memory stays bounded and a failure stops the caller soon.
            self._chunks: queue.Queue = queue.Queue(maxsize=1)
            self._thread = threading.Thread(target=self._store, name="service-record-writer", daemon=True)
            self._thread.start()

    def write(self, rows: list[tuple]) -> None:
        if self._thread is None:
            self._count(save_rows(rows))
            return
        self._raise_failure()
        self._chunks.put(list(rows))  # a copy: the caller reuses its list

    def close(self, *, raise_failure: bool = True) -> tuple[int, int]:
        """Wait for the last chunk; raise what the writer failed with (unless the caller is already
        failing, ``raise_failure=False``)."""
        if self._thread is not None:
            self._chunks.put(None)
            self._thread.join()
            self._thread = None
        if raise_failure:
            self._raise_failure()
        return self.inserted, self.duplicates

    def _count(self, result: tuple[int, int]) -> None:
        self.inserted += result[0]
        self.duplicates += result[1]

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def _store(self) -> None:
        from django.db import connections

        try:
            while (rows := self._chunks.get()) is not None:
                if self._failure is None:  # after a failure, drain: the caller must never block on put
                    try:
                        self._count(save_rows(rows))  # this thread's own connection, autocommit
                    except BaseException as exc:  # handed to the caller's thread, raised there
                        self._failure = exc
        finally:
            connections.close_all()  # this thread's connections only


def _db_row(row: tuple) -> tuple:
    """The row as the table holds it: a Unit (from ``build_values``) as its id."""
    unit = row[_UNIT]
    if unit is None or isinstance(unit, int):
        return row
    return (*row[:_UNIT], unit.pk, *row[_UNIT + 1 :])


def now() -> dt.datetime:
    return clock.now()
