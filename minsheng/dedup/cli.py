"""``minsheng dedup groups``: the intake detector run over a CSV, rows in time order.

Kept apart from the management command so that benchmarks and tests call the very same code
without going through argument parsing.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from .detector import DedupConfig, Detector, Record

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")

_TIME_RE = re.compile(
    r"(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{1,2})(?::(?P<S>\d{1,2})(?:\.(?P<f>\d{1,6}))?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)


def parse_time(value: str | None, tz: tzinfo = DEFAULT_TZ) -> datetime | None:
    """An aware datetime from the formats found in exports: ``2019/9/5 12:29:01``,
    ``2019-09-05 12:29:01``, ISO 8601 with or without offset, ``2019-09-05`` (midnight). Times
    without an offset are local time in ``tz``. None for an empty or unreadable cell."""
    value = (value or "").strip()
    if not value:
        return None
    m = _TIME_RE.match(value)
    if not m:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    zone: tzinfo = tz
    if m["tz"] == "Z":
        zone = UTC
    elif m["tz"]:
        sign = 1 if m["tz"][0] == "+" else -1
        digits = m["tz"][1:].replace(":", "")
        zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return datetime(
            int(m["y"]),
            int(m["m"]),
            int(m["d"]),
            int(m["H"] or 0),
            int(m["M"] or 0),
            int(m["S"] or 0),
            int((m["f"] or "0").ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError:
        return None


def read_csv(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of a CSV in UTF-8 (with or without BOM) or GB18030, the two encodings the
    office tools produce."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


@dataclass(frozen=True, slots=True)
class Columns:
    """Which CSV columns feed which ``Record`` field (text columns are joined by newlines)."""

    id: str
    text: Sequence[str]
    time: str | None = None
    phone: str | None = None
    place: str | None = None
    channel: str | None = None
    id_number: str | None = None
    category: str | None = None

    def missing(self, header: Sequence[str]) -> list[str]:
        wanted = [
            self.id,
            *self.text,
            self.time,
            self.phone,
            self.place,
            self.channel,
            self.id_number,
            self.category,
        ]
        return [c for c in wanted if c and c not in header]


@dataclass(slots=True)
class GroupResult:
    ids: list[str]  # input order
    groups: list[str]  # group id of each input row
    seconds: float

    @property
    def n_groups(self) -> int:
        return len(set(self.groups))

    @property
    def merged(self) -> int:
        return len(self.groups) - self.n_groups


def records_from_rows(rows: Sequence[dict[str, str]], cols: Columns, tz: tzinfo = DEFAULT_TZ) -> list[Record]:
    """One ``Record`` per row. Empty or repeated ids get a unique stand-in (``row-N``) so that every
    row still gets a group."""
    records, seen = [], set()
    for n, row in enumerate(rows, 1):

        def cell(col: str | None, row=row) -> str | None:
            return (row.get(col) or "").strip() or None if col else None

        rid = cell(cols.id) or f"row-{n}"
        if rid in seen:
            rid = f"{rid}#row-{n}"
        seen.add(rid)
        text = "\n".join(v for v in ((row.get(c) or "").strip() for c in cols.text) if v)
        records.append(
            Record(
                id=rid,
                text=text,
                time=parse_time(cell(cols.time), tz),
                phone=cell(cols.phone),
                id_number=cell(cols.id_number),
                place=cell(cols.place),
                channel=cell(cols.channel),
                category=cell(cols.category),
            )
        )
    return records


def time_order(records: Sequence[Record]) -> list[int]:
    """Indexes in processing order: by time; a row without a time keeps the place of the last timed
    row before it in the input (so a file without times is processed in input order)."""
    keys = []
    last = datetime.min.replace(tzinfo=DEFAULT_TZ)
    for i, r in enumerate(records):
        if r.time is not None:
            last = r.time
        keys.append((last, i))
    return [i for _, i in sorted(keys)]


def group_records(
    records: Sequence[Record],
    config: DedupConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    detector: Detector | None = None,
) -> GroupResult:
    """Assign every record to a group, processing in time order; groups are named after their
    first (earliest) record, which would be the master case (主件)."""
    started = _time.perf_counter()
    det = detector if detector is not None else Detector(config)
    group_of: dict[str, str] = {}
    for n, i in enumerate(time_order(records), 1):
        group_of[records[i].id] = det.assign(records[i])
        if progress and n % 5000 == 0:
            progress(n, len(records))
    ids = [r.id for r in records]
    return GroupResult(ids, [group_of[rid] for rid in ids], _time.perf_counter() - started)


def write_groups(path: str | Path, original_ids: Sequence[str], groups: Sequence[str]) -> None:
    """``id,group_id`` for every input row, in input order (the id as it was in the input)."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "group_id"])
        w.writerows(zip(original_ids, groups, strict=True))


def run_groups(
    input_path: str | Path,
    output_path: str | Path,
    cols: Columns,
    config: DedupConfig | None = None,
    tz: tzinfo = DEFAULT_TZ,
    out=sys.stderr,
) -> GroupResult:
    """The whole command: read, group, write, report progress and a summary on ``out``."""
    header, rows = read_csv(input_path)
    missing = cols.missing(header)
    if missing:
        raise ValueError(f"columns not in {input_path}: {', '.join(missing)} (have: {', '.join(header)})")
    records = records_from_rows(rows, cols, tz)

    def progress(n: int, total: int) -> None:
        out.write(f"  {n:,}/{total:,} rows\n")
        out.flush()

    result = group_records(records, config, progress)
    # output keeps the ids as written (an empty id stays empty); a group is named after its first
    # row's id, or that row's stand-in when its id was empty or repeated
    original = [(row.get(cols.id) or "").strip() for row in rows]
    master = {r.id: (o if o == r.id else r.id) for r, o in zip(records, original, strict=True)}
    write_groups(output_path, original, [master[g] for g in result.groups])
    out.write(
        f"{len(records):,} rows, {result.n_groups:,} groups, {result.merged:,} rows merged "
        f"({result.seconds:.1f} s) → {output_path}\n"
    )
    return result


__all__ = [
    "Columns",
    "GroupResult",
    "group_records",
    "parse_time",
    "read_csv",
    "records_from_rows",
    "run_groups",
]
