"""The duplicate index of this process, kept equal to the database.

Each process that takes appeals holds one ``Detector`` in memory (fast queries at millions of appeals).
It is made faithful to the database by the journal (``IndexChange``): every appeal entered and every
appeal moved to another case writes a row there, under ``IndexLock``, in the transaction that made
the change. Before it compares, a process applies the rows it has not seen yet; because it takes the
lock first, two workers comparing near-identical appeals at the same moment go one after the other and
the second finds the first's appeal (test: ``test_concurrent_intake_links``).

After a restart the index comes back from the newest snapshot (written by the worker every few minutes
and by ``minsheng dedup rebuild``) plus the journal since; without a usable snapshot it is rebuilt
from the appeals table.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q

from minsheng.appeals.models import Appeal
from minsheng.cases.choices import OPEN_STATES
from minsheng.cases.models import Case
from minsheng.core import clock, heap
from minsheng.core.rows import by_pk
from minsheng.dedup.detector import LINK, SUGGEST, DedupConfig, Detector, Features, Record
from minsheng.dedup.models import IndexChange, IndexLock
from minsheng.dedup.places import Place

log = logging.getLogger(__name__)

REPEAT = "repeat"  # a LINK whose case is already answered: the matter raised again (重复诉求)
NEW = "new"
_CATEGORY_TTL = 60.0
_BUILD_CHUNK = 5000


@dataclass
class Comparison:
    """What the index says of one incoming appeal, and why."""

    decision: str = NEW  # link | repeat | suggest | new
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    case: Case | None = None  # the case to link to, or the answered case it repeats
    appeal_id: int | None = None  # the stored appeal it matched best
    # possible duplicates: (case, appeal id, score, reasons), best first, one per case
    suggestions: list[tuple[Case, int, float, list[str]]] = field(default_factory=list)

    def as_dict(self) -> dict:
        """What the case page shows (stored on the appeal)."""
        data = {"decision": self.decision, "score": round(self.score, 4), "reasons": self.reasons}
        if self.case is not None:
            data.update(case_id=self.case.pk, case_number=self.case.number, appeal_id=self.appeal_id)
        if self.suggestions:
            data["candidates"] = [
                {"case_id": c.pk, "case_number": c.number, "appeal_id": a, "score": round(s, 4), "reasons": r}
                for c, a, s, r in self.suggestions
            ]
        data["at"] = clock.now().isoformat()
        return data


def config() -> DedupConfig:
    """Thresholds and windows from settings (``DEDUP``); per-category windows from the categories."""
    options = dict(getattr(settings, "DEDUP", {}))
    cfg = DedupConfig(
        person_window=timedelta(days=options.get("person_days", 30)),
        event_window=timedelta(days=options.get("event_days", 7)),
        link_threshold=options.get("link_threshold", 0.75),
        suggest_threshold=options.get("suggest_threshold", 0.5),
    )
    cfg.category_windows = category_windows(cfg)
    cfg.question_categories = question_categories()
    return cfg


def question_categories() -> tuple[str, ...]:
    """Consultations (咨询): the same question from two people is two matters, however alike."""
    from minsheng.categories.models import Category, CategoryKind

    return tuple(
        category_path(c)
        for c in Category.objects.select_related("parent").filter(kind=CategoryKind.CONSULTATION)
    )


def category_windows(cfg: DedupConfig) -> dict[str, tuple[timedelta, timedelta]]:
    from minsheng.categories.models import Category

    windows = {}
    for category in Category.objects.select_related("parent").exclude(
        dedup_person_days=None, dedup_event_days=None
    ):
        windows[category_path(category)] = (
            timedelta(days=category.dedup_person_days) if category.dedup_person_days else cfg.person_window,
            timedelta(days=category.dedup_event_days) if category.dedup_event_days else cfg.event_window,
        )
    return windows


def category_path_of(category_id: int | None) -> str:
    """``category_path`` of the category with this id (categories read at most once a minute)."""
    return _categories.path(category_id)


def category_path(category) -> str:
    """``parent/child`` codes: the detector finds two categories compatible when the roots agree."""
    if category is None:
        return ""
    return f"{category.parent.code}/{category.code}" if category.parent_id else category.code


class _Categories:
    """Category id → path, re-read at most once a minute (categories are edited rarely)."""

    def __init__(self):
        self.paths: dict[int, str] = {}
        self.labels: dict[str, str] = {}
        self.loaded = 0.0

    def _load(self, force: bool = False) -> None:
        if force or time.monotonic() - self.loaded > _CATEGORY_TTL:
            from minsheng.categories.models import Category

            categories = list(Category.objects.select_related("parent"))
            self.paths = {c.pk: category_path(c) for c in categories}
            self.labels = {category_path(c): str(c) for c in categories}
            self.loaded = time.monotonic()

    def path(self, category_id: int | None) -> str:
        if category_id is None:
            return ""
        self._load(force=category_id not in self.paths)
        return self.paths.get(category_id, "")

    def names(self) -> dict[str, str]:
        self._load()
        return self.labels


_categories = _Categories()


def record_of(appeal_id, *, text, time, phone, id_number, place, channel, category_id) -> Record:
    return Record(
        id=str(appeal_id),
        text=text,
        time=time,
        phone=phone or None,
        id_number=id_number or None,
        place=place or None,
        channel=channel or None,
        category=_categories.path(category_id) or None,
    )


def group_of(case_id: int) -> str:
    return f"c{case_id}"


def case_id_of(group: str) -> int:
    return int(group[1:])


_APPEAL_FIELDS = (
    "pk",
    "title",
    "content",
    "received_at",
    "appellant_phone",
    "appellant_id_number",
    "address",
    "channel",
    "case_id",
    "case__category_id",
)


def appeal_text(title: str, content: str) -> str:
    """What is compared: the content, with the title when it adds something."""
    return f"{title}\n{content}" if title and not content.startswith(title) else content


def _records(rows) -> Iterator[tuple[Record, int]]:
    for pk, title, content, received_at, phone, id_number, address, channel, case_id, category_id in rows:
        record = record_of(
            pk,
            text=appeal_text(title, content),
            time=received_at,
            phone=phone,
            id_number=id_number,
            place=address,
            channel=channel,
            category_id=category_id,
        )
        yield record, case_id


class Index:
    """This process's detector and how far into the journal it is."""

    def __init__(self):
        self.detector: Detector | None = None
        self.cursor = 0
        self.epoch = ""
        self.guard = threading.Lock()  # the detector is not thread-safe
        self.config_loaded = 0.0
        self.saved: Path | None = None

    # ---- keeping up with the database --------------------------------------------------------------

    def ensure(self) -> Detector:
        if self.detector is None:
            heap.thaw()
            if not self._load_snapshot():
                self.rebuild()
        elif time.monotonic() - self.config_loaded > _CATEGORY_TTL:
            self._apply_config()
        self.catch_up()
        heap.settle(len(self.detector))
        return self.detector

    def _apply_config(self) -> None:
        """Thresholds and windows as configured now (the LSH layout stays as the index was built)."""
        fresh = config()
        cfg = self.detector.config
        cfg.category_windows, cfg.link_threshold = fresh.category_windows, fresh.link_threshold
        cfg.suggest_threshold = fresh.suggest_threshold
        cfg.person_window, cfg.event_window = fresh.person_window, fresh.event_window
        cfg.question_categories = fresh.question_categories
        self.config_loaded = time.monotonic()

    def catch_up(self) -> int:
        """Apply the journal rows this process has not seen; returns how many."""
        changes = list(
            IndexChange.objects.filter(seq__gt=self.cursor)
            .order_by("seq")
            .values_list("seq", "appeal_id", "case_id", "places", "bands")
        )
        if not changes:
            return 0
        det = self.detector
        missing = {a for _, a, _, _, _ in changes if str(a) not in det}
        fetched = {}
        if missing:
            rows = Appeal.objects.filter(pk__in=missing).values_list(*_APPEAL_FIELDS)
            fetched = {int(record.id): record for record, _ in _records(rows)}
        for seq, appeal_id, case_id, places, bands in changes:
            key = str(appeal_id)
            if key in det:
                det.regroup(key, group_of(case_id))
            elif appeal_id in fetched:
                record = fetched[appeal_id]
                # What another process derived, when the journal carries it.
                features = det.features(
                    record,
                    places=None if places is None else [Place(*p) for p in places],
                    bands=None if bands is None else np.frombuffer(bytes(bands), dtype=np.uint64),
                )
                det.add(record, group_of(case_id), features=features)
            self.cursor = seq
        return len(changes)

    def rebuild(self, progress: Callable[[int], None] | None = None) -> Detector:
        """A detector from the appeals table (every appeal, in the order they were entered)."""
        self.epoch = _epoch()
        # The journal position first: changes made while the table is read are applied again
        # afterwards, which is harmless (an appeal already indexed is only regrouped).
        self.cursor = IndexChange.objects.aggregate(m=Max("seq"))["m"] or 0
        groups: dict[str, str] = {}

        def records() -> Iterator[Record]:
            last = 0
            while True:
                rows = list(
                    Appeal.objects.filter(pk__gt=last, case__isnull=False)
                    .order_by("pk")
                    .values_list(*_APPEAL_FIELDS)[:_BUILD_CHUNK]
                )
                if not rows:
                    return
                for record, case_id in _records(rows):
                    groups[record.id] = group_of(case_id)
                    yield record
                last = rows[-1][0]

        # ``build`` reads groups as it goes: each record's group is filled in just before it is built.
        self.detector = Detector.build(
            records(), config=config(), groups=_LazyGroups(groups), progress=progress
        )
        self.config_loaded = time.monotonic()
        return self.detector

    # ---- snapshots -------------------------------------------------------------------------------

    def save(self, directory: Path | None = None) -> Path:
        """Write the snapshot: the index under a name of its own, then ``index.json`` naming it (an
        atomic rename), so the journal position read at start always belongs to the file read."""
        directory = Path(directory or snapshot_dir())
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"index-{self.epoch}-{self.cursor}.npz"
        self.detector.save(path)
        meta = {"file": path.name, "cursor": self.cursor, "epoch": self.epoch, "appeals": len(self.detector)}
        tmp = directory / f"index.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        tmp.replace(directory / "index.json")
        # The previous snapshots; one saved at this moment by another process survives a moment longer.
        for old in sorted(directory.glob("index-*.npz"), key=lambda f: f.stat().st_mtime)[:-2]:
            old.unlink(missing_ok=True)
        return path

    def _load_snapshot(self) -> bool:
        directory = snapshot_dir()
        meta_path = directory / "index.json"
        if not meta_path.exists():
            return False
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            path = directory / meta["file"]
            epoch = _epoch()
            newest = IndexChange.objects.aggregate(m=Max("seq"))["m"] or 0
            if meta.get("epoch") != epoch or meta.get("cursor", 0) > newest:
                log.warning("duplicate index snapshot %s is for another database; rebuilding", path)
                return False
            detector = Detector.load(path)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("duplicate index snapshot in %s not used (%s); rebuilding", directory, exc)
            return False
        self.detector, self.cursor, self.epoch = detector, meta["cursor"], epoch
        self._apply_config()
        return True


class _LazyGroups(dict):
    """``Detector.build`` asks ``groups.get(record.id)`` right after pulling the record."""

    def __init__(self, source: dict[str, str]):
        super().__init__()
        self.source = source

    def get(self, key, default=None):
        return self.source.pop(key, default)


def snapshot_dir() -> Path:
    return Path(getattr(settings, "DEDUP_INDEX_DIR", "") or Path(settings.VAR_DIR) / "dedup")


def _epoch() -> str:
    row, _ = IndexLock.objects.get_or_create(pk=1)
    return row.epoch


_index = Index()


def index() -> Index:
    return _index


def reset() -> None:
    """Forget this process's index (tests; a restored database)."""
    global _index
    _index = Index()


# --- the lock and the journal ----------------------------------------------------------------------


def lock() -> None:
    """Take the comparison lock until the end of the current transaction.

    An UPDATE rather than SELECT … FOR UPDATE: it takes the row lock on PostgreSQL and the write lock
    on SQLite alike, so what is read after it includes everything committed before."""
    if not connection.in_atomic_block:
        raise RuntimeError("dedup.lock() outside a transaction would be released at once")
    if not IndexLock.objects.filter(pk=1).update(touched_at=clock.now()):
        IndexLock.objects.get_or_create(pk=1)
        IndexLock.objects.filter(pk=1).update(touched_at=clock.now())


# A batch's journal rows carry each appeal's places and band keys for the other processes, which read
# them within seconds; a snapshot is taken every ten minutes. After a day they are dropped: a process
# catching up from further back derives them from the appeal, which gives the same, and a row is ~500
# bytes smaller (the journal itself is kept: see ``Index.catch_up``).
DERIVED_KEPT = timedelta(days=1)
_THIN_CHUNK = 5_000


def thin_journal() -> int:
    """Drop the derived places and band keys of journal rows older than ``DERIVED_KEPT``; returns how
    many rows were thinned. The rows still carrying them have an index of their own."""
    cutoff = clock.now() - DERIVED_KEPT
    old = IndexChange.objects.filter(Q(places__isnull=False) | Q(bands__isnull=False), at__lt=cutoff)
    thinned = 0
    while seqs := list(old.order_by("seq").values_list("seq", flat=True)[:_THIN_CHUNK]):
        thinned += IndexChange.objects.filter(seq__in=seqs).update(places=None, bands=None)
    return thinned


def journal(appeal: Appeal) -> None:
    """Note that ``appeal`` now belongs to its case (entered, linked, moved)."""
    lock()
    IndexChange.objects.create(appeal=appeal, case_id=appeal.case_id)


# --- comparing -------------------------------------------------------------------------------------


def compare(record: Record) -> Comparison:
    """Compare an incoming appeal with every stored one. Takes the lock: call it in the transaction
    that will register the appeal, so that nobody registers its twin in between."""
    idx = index()
    with idx.guard:
        # Most of the journal is read before the lock, so the locked part stays short.
        idx.ensure()
        lock()
        idx.catch_up()
        matches = idx.detector.query(record, limit=10)
    return decide(matches)


class Batch:
    """Appeals compared one after another under one lock (a worker's batch of pushed work orders):
    each with every stored appeal and with the batch's earlier ones, which enter this process's index
    as they are decided (``add``), before their transaction commits. See ``batch``."""

    def __init__(self, idx: Index):
        self.idx = idx
        self.cases: dict[int, Case] = {}  # read or created during the batch, by id
        self.added = 0

    def begin(self) -> None:
        """Inside the batch's transaction, before the first comparison: the lock, and the journal."""
        self.idx.ensure()
        lock()
        self.idx.catch_up()

    def compare(self, record: Record, features: Features | None = None) -> tuple[Comparison, Features]:
        """``features``: the record's, worked out beforehand (``Detector.features``), else here."""
        detector = self.idx.detector
        if features is None:
            features = detector.features(record)
        matches = detector.query(record, limit=10, features=features)
        return decide(matches, known=self.cases), features

    def add(self, record: Record, case: Case, features: Features | None = None) -> None:
        """``record`` (an appeal of the batch, its id known) belongs to ``case`` from now on.
        ``features``: those ``compare`` computed, when the record has not changed since."""
        self.cases.setdefault(case.pk, case)
        self.idx.detector.add(record, group_of(case.pk), features=features)
        self.added += 1


@contextmanager
def batch() -> Iterator[Batch]:
    """Hold this process's index for a batch: enter it before the transaction that writes the batch
    and call ``begin`` inside that transaction. Appeals added during the batch are in memory before
    they are committed; if the transaction does not commit, the index is dropped and comes back from
    the snapshot and the journal on the next comparison."""
    idx = index()
    with idx.guard:
        current = Batch(idx)
        try:
            yield current
        except BaseException:
            if current.added:
                reset()
            raise


def readable(reasons) -> list[str]:
    """The detector speaks in codes (channels, category paths); people read names."""
    from minsheng.appeals.choices import Channel

    channels = {c.value: c.label for c in Channel}
    categories = _categories.names()
    out = []
    for reason in reasons:
        head, sep, tail = reason.partition("：")
        if head == "不同渠道":
            tail = "/".join(channels.get(part, part) for part in tail.split("/"))
        elif head == "类别不同":
            tail = "/".join(categories.get(part, part) for part in _split_paths(tail))
        out.append(head + sep + tail)
    return out


def _split_paths(text: str) -> list[str]:
    """``a/b/c/d`` of two category paths (each ``root/leaf`` or ``root``) back into the two paths."""
    known = _categories.names()
    parts = text.split("/")
    for cut in range(1, len(parts)):
        left, right = "/".join(parts[:cut]), "/".join(parts[cut:])
        if left in known and right in known:
            return [left, right]
    return [text]


def decide(matches, known: dict[int, Case] | None = None) -> Comparison:
    """The verdict on an appeal from its matches. ``known``: cases already read (a batch's own and
    those it read before), filled with the ones read here."""
    if not matches:
        return Comparison()
    # Only a link or a suggestion names its case; a weaker match lends its reasons at most.
    case_ids = {
        case_id_of(m.group_id)
        for m in matches
        if m.decision in (LINK, SUGGEST) and m.group_id and m.group_id.startswith("c")
    }
    # The verdict needs a case's number and state only (a link re-reads its case under a row lock).
    if not case_ids:
        cases = {}
    elif known is None:
        cases = by_pk(Case, case_ids, ("number", "state"))
    else:
        missing = case_ids - known.keys()
        if missing:
            known.update(by_pk(Case, missing, ("number", "state")))
        cases = known
    best = None
    suggestions = []
    seen = set()
    for match in matches:
        case = cases.get(case_id_of(match.group_id)) if match.group_id else None
        if case is None or case.pk in seen:
            continue
        seen.add(case.pk)
        if match.decision == LINK and best is None:
            best = match, case
        elif match.decision in (LINK, SUGGEST) and len(suggestions) < 3:
            suggestions.append((case, int(match.id), match.score, readable(match.reasons)))
    if best is not None:
        match, case = best
        return Comparison(
            decision=LINK if case.state in OPEN_STATES else REPEAT,
            score=match.score,
            reasons=readable(match.reasons),
            case=case,
            appeal_id=int(match.id),
            suggestions=[s for s in suggestions if s[0].pk != case.pk],
        )
    if suggestions:
        top = suggestions[0]
        return Comparison(decision=SUGGEST, score=top[2], reasons=top[3], suggestions=suggestions)
    top = matches[0]
    return Comparison(score=top.score, reasons=readable(top.reasons))


def rebuild(progress: Callable[[int], None] | None = None) -> Index:
    """A fresh index from the database, saved as the snapshot (``minsheng dedup rebuild``)."""
    fresh = Index()
    with transaction.atomic():
        fresh.rebuild(progress=progress)
    fresh.catch_up()
    fresh.saved = fresh.save()
    global _index
    _index = fresh
    return fresh
