"""The duplicate detector: one matter arriving through several doors, found and explained.

Pure Python + numpy, no ORM: intake feeds it ``Record`` objects as appeals arrive, ``minsheng dedup
groups`` feeds it CSV rows, and the database layer can rebuild it from stored appeals (``build``) or
keep it across restarts (``save``/``load``).

How a record is compared
------------------------
1. **Candidates** come from cheap lookups, so a query never scans the history:
   - MinHash-LSH over character bigrams (``index.BandIndex``) finds texts sharing much wording;
   - exact keys: the same phone or ID number, recent appeals only (the person window);
   - place keys: the same community, road, address or landmark, recent appeals only — how
     neighbours who write differently are found.
2. **Scoring** (``Detector._evidence`` then ``_decide``) combines text similarity (IDF-weighted
   bigram cosine and containment, work-order frames such as "来电人反映：" left out), place agreement
   or disagreement, phone/ID, time gap and category into a score in [0, 1] with human-readable
   reasons. The same wording about a different place (or another licence plate or sum of money) is
   a different matter: a conflict caps the score far below any suggestion. Two known, different
   people are one matter only at one place (the same event); the same question (咨询) from two
   different people never is.
3. **Decision**: score ≥ ``link_threshold`` → link (关联件); ≥ ``suggest_threshold`` → suggest to a
   person; else new. Merging two different matters is worse than missing a duplicate: the defaults
   favour precision.

Time windows (``DedupConfig``): the same person within 30 days, the same event within 7 days,
overridable per category. Beyond its window a pair still links when the wording is nearly the same:
the matter raised again (重复诉求).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import unicodedata
from array import array
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np

from .index import BandIndex, Grow, MinHasher, Ragged, TextStore
from .places import (
    BUILDING_KIND,
    SPECIFIC_KINDS,
    Gazetteer,
    Place,
    default_gazetteer,
    extract_places,
)
from .text import (
    bigram_keys,
    bigram_sequence,
    clean_text,
    codepoints,
    hash32,
    identifiers,
    is_consultation,
    prior_probability,
    strip_boilerplate,
    words_tagged,
)

LINK = "link"
SUGGEST = "suggest"
NEW = "new"

_FORMAT_VERSION = 1
# Admin units that tell two matters apart (A3区 vs A5区); a province does not, and "省" ends too many
# verbs (节省, 反省) for a regex to find provinces reliably.
CONFLICT_ADMIN_KINDS = ("city", "district", "township")
_NO_TIME = np.iinfo(np.int64).min
_QUESTION = 1  # record flag: a question put to the police
# Rule 2 (same place): the topic similarity (content besides the place) over which the score ramps up
# to a link, and how much more is asked when the categories differ below one root (违停/事故).
# Raising the base ramp loses neighbours who write a short note naming the place and a few key words.
_PLACE_TOPIC = (0.015, 0.05)
_LEAF_SHIFT = 0.2
# The score of two matters told apart (another place, car, sum of money; two askers): far below any
# suggestion, yet reported with its reasons.
_CONFLICT_CAP = 0.3
_DF_BITS = 22
_DF_MASK = np.uint32((1 << _DF_BITS) - 1)
# Stored appeals whose comparable text and places are kept (``Detector._stored``), about 9 kB each:
# the candidates of some minutes of heavy intake.
_STORED_CACHE = 8192
# The prior counts as this many appeals: enough to weigh a small CSV sensibly, soon outweighed by
# the appeals actually indexed.
_PRIOR_DOCS = 2000.0
# Bigrams so common in appeals that sharing them says nothing; left out of the MinHash input only
# (scoring down-weights them through the weights instead). A fixed list keeps band keys stable
# across restarts, which a learned list would not.
_COMMON_BIGRAMS = """我们 你们 他们 领导 您好 你好 尊敬 谢谢 希望 解决 问题 没有 已经 现在 因为 所以 但是 可以 这个
一个 什么 进行 相关 部门 情况 反映 投诉 请求 要求 处理 一直 目前 严重 影响 居民 业主 小区 社区 政府 有关 是否 如何
为什么 怎么 不能 不是 就是 还是 也是 这样 那么 如果 时候 之后 以后 以来 至今 多次 非常 十分 特别 作为 对于 关于
通过 根据 由于 我的 我是 本人 我家 他的 的人 的事 了一 是一 在一 有一 不到 得到 的问 题的 的情 况下 的时 间的 能够
尽快 及时 市民 群众 百姓 一下 一些 有人 没人 不管 管理 工作 人员 单位 公司 地方 市长 书记 局长 县长 区长 主任""".split()
_COMMON_KEYS = np.unique(np.concatenate([bigram_keys(b) for b in _COMMON_BIGRAMS]))


# --------------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Record:
    """One appeal as the detector sees it. Every field but ``id`` and ``text`` may be missing.

    ``time`` must be timezone-aware (windows are computed across channels that report in different
    ways); ``place`` is the address as written; ``category`` is a path such as
    ``"public_order/noise"`` (two categories are compatible when they share the first segment).
    """

    id: str
    text: str
    time: datetime | None = None
    phone: str | None = None
    id_number: str | None = None
    place: str | None = None
    channel: str | None = None
    category: str | None = None

    def __post_init__(self) -> None:
        if self.time is not None and self.time.utcoffset() is None:
            raise ValueError(f"record {self.id!r}: time must be timezone-aware, got {self.time!r}")


class Match:
    """A stored appeal that may be the same matter as the query, with the evidence (``reasons``).

    The reasons of a weak match are worked out when first read: a query returns several, and the
    caller reads those of one or two."""

    __slots__ = ("_reasons", "decision", "group_id", "id", "score")

    def __init__(
        self,
        id: str,
        score: float,
        reasons: tuple[str, ...] | Callable[[], Sequence[str]],
        decision: str,  # LINK, SUGGEST or NEW
        group_id: str | None = None,
    ):
        self.id, self.score, self.decision, self.group_id = id, score, decision, group_id
        self._reasons = reasons

    @property
    def reasons(self) -> tuple[str, ...]:
        if callable(self._reasons):
            self._reasons = tuple(self._reasons())
        return self._reasons

    def _key(self) -> tuple:
        return self.id, self.score, self.reasons, self.decision, self.group_id

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, Match) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Match({self.id!r}, {self.score}, {self.reasons!r}, {self.decision!r}, {self.group_id!r})"


@dataclass(slots=True)
class DedupConfig:
    """Windows, thresholds and index sizes.

    Defaults follow the issue: 30 days for the same person, 7 days for the same event.
    ``category_windows`` overrides both for a category path prefix, e.g.
    ``{"public_order/noise": (timedelta(days=30), timedelta(days=14))}``; the longest prefix wins.
    """

    person_window: timedelta = timedelta(days=30)
    event_window: timedelta = timedelta(days=7)
    category_windows: dict[str, tuple[timedelta, timedelta]] = field(default_factory=dict)
    link_threshold: float = 0.75
    suggest_threshold: float = 0.5
    # Text similarity at which wording alone shows the same matter whatever the time gap (a
    # resubmission much later, or a repeat appeal after closure).
    repeat_similarity: float = 0.72
    # MinHash-LSH: bands × rows permutations. 32 × 3 finds a pair sharing 35 % of its uncommon
    # bigrams (Jaccard) with probability 0.75 and 50 % with 0.99; two unrelated appeals (≈2 %)
    # collide with probability 0.0003, so buckets stay small at a million appeals.
    bands: int = 32
    rows: int = 3
    bucket_cap: int = 48  # newest ids taken per LSH bucket, phone, ID or place
    max_candidates: int = 40  # appeals scored per query at most (see Detector._candidates)
    use_gazetteer: bool = True
    seed: int = 20240611
    # Category paths (prefixes) of questions put to the police (咨询): the same question from two
    # different people is two matters, however alike the wording. Default: the consultation kinds of
    # the platform's default category tree.
    question_categories: tuple[str, ...] = field(default_factory=lambda: _default_question_categories())

    def is_question_category(self, category: str | None) -> bool:
        return bool(category) and any(_category_has_prefix(category, p) for p in self.question_categories)

    def windows_for(self, category: str | None) -> tuple[timedelta, timedelta]:
        """(person window, event window) for a category."""
        best: tuple[int, tuple[timedelta, timedelta]] | None = None
        if category:
            for prefix, windows in self.category_windows.items():
                depth = len(_category_parts(prefix))
                if _category_has_prefix(category, prefix) and (best is None or depth > best[0]):
                    best = (depth, windows)
        return best[1] if best else (self.person_window, self.event_window)

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["person_window"] = self.person_window.total_seconds()
        data["event_window"] = self.event_window.total_seconds()
        data["category_windows"] = {
            k: [p.total_seconds(), e.total_seconds()] for k, (p, e) in self.category_windows.items()
        }
        return data

    @classmethod
    def from_json(cls, data: dict) -> DedupConfig:
        data = dict(data)
        data["person_window"] = timedelta(seconds=data["person_window"])
        data["event_window"] = timedelta(seconds=data["event_window"])
        data["category_windows"] = {
            k: (timedelta(seconds=p), timedelta(seconds=e)) for k, (p, e) in data["category_windows"].items()
        }
        if "question_categories" in data:
            data["question_categories"] = tuple(data["question_categories"])
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _default_question_categories() -> tuple[str, ...]:
    """``root`` or ``root/leaf`` paths of the consultation kinds in the default category tree."""
    from minsheng.categories.defaults import DEFAULT_TREE  # plain data, no Django

    paths = []
    for code, _name, kind, _handler, children in DEFAULT_TREE:
        if kind == "consultation" and all(child[2] == "consultation" for child in children):
            paths.append(code)
        else:
            paths += [f"{code}/{child[0]}" for child in children if child[2] == "consultation"]
    return tuple(paths)


def _category_parts(category: str) -> list[str]:
    return [p for p in re.split(r"[/.>:]", category.strip()) if p]


def _category_has_prefix(category: str, prefix: str) -> bool:
    parts, pre = _category_parts(category), _category_parts(prefix)
    return parts[: len(pre)] == pre


def categories_compatible(a: str | None, b: str | None) -> bool | None:
    """None when either is unknown, else whether both sit under the same top-level category."""
    if not a or not b:
        return None
    pa, pb = _category_parts(a), _category_parts(b)
    return bool(pa and pb and pa[0] == pb[0])


def normalize_phone(phone: str | None) -> str | None:
    """The last 11 digits of a number (all digits of a shorter landline); None when absent or masked:
    ``138****1234`` cannot show that two appeals come from one person."""
    if not phone:
        return None
    phone = unicodedata.normalize("NFKC", phone)
    if re.search(r"[*×xX]", phone):
        return None
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits[-11:] if len(digits) >= 7 else None


def normalize_id_number(number: str | None) -> str | None:
    """Upper-case 15/18-character ID number, or None when absent, masked or malformed."""
    if not number:
        return None
    number = re.sub(r"\s", "", unicodedata.normalize("NFKC", number)).upper()
    return number if re.fullmatch(r"\d{15}|\d{17}[\dX]", number) else None


# --------------------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------------------


class _Text:
    """A text's comparable form: cleaned string, sorted bigram keys, and what scoring needs besides
    (computed when first needed: indexing does not need it): the prior document counts of the keys,
    their buckets in the document-frequency table, and which of them lie outside given place names."""

    __slots__ = ("_buckets", "_ids", "_positions", "_prior", "_without", "clean", "keys")

    def __init__(self, clean: str):
        self.clean = clean
        self.keys = bigram_keys(clean)
        self._prior: np.ndarray | None = None
        self._buckets: np.ndarray | None = None
        self._ids: tuple[frozenset[str], frozenset[str]] | None = None
        self._positions: np.ndarray | None = None
        self._without: dict[tuple[str, ...], np.ndarray] | None = None

    def without_places(self, names: tuple[str, ...]) -> np.ndarray:
        """Which of ``keys`` occur outside every place name in ``names`` (longest first) and every
        location word (``_outside_places``). Kept per ``names``: a query is scored against many
        appeals about the same places, and a stored appeal (``Detector._stored`` keeps the recently
        used ones) against many queries about them."""
        if self._without is None:
            self._without = {}
        found = self._without.get(names)
        if found is None:
            if self._positions is None:
                # each bigram of the text (in order) as an index into the sorted unique keys
                self._positions = self.keys.searchsorted(bigram_sequence(self.clean))
            found = np.zeros(len(self.keys), dtype=bool)
            found[self._positions[_outside_places(self.clean, names)]] = True
            self._without[names] = found
        return found

    @property
    def buckets(self) -> np.ndarray:
        """The keys' buckets in the document-frequency tables."""
        if self._buckets is None:
            self._buckets = hash32(self.keys) & _DF_MASK
        return self._buckets

    @property
    def ids(self) -> tuple[frozenset[str], frozenset[str]]:
        """(licence plates, sums of money) named in the text (``text.identifiers``)."""
        if self._ids is None:
            self._ids = identifiers(self.clean)
        return self._ids

    @property
    def prior(self) -> np.ndarray:
        if self._prior is None:
            self._prior = _PRIOR_DOCS * prior_probability(self.keys)
        return self._prior


class _PlaceNames:
    """Every place the detector has stored, interned (appeals keep ids), and, by kind, which of them
    may be one place written two ways: the same core, or one core the tail of the other
    (``_same_places``). A query looks up the ids its own places are once, and then compares with
    each candidate by id, however many names either side has."""

    __slots__ = ("_by_core", "_by_tail", "index", "table")

    def __init__(self, table: Sequence[Place] = ()):
        self.table: list[Place] = []
        self.index: dict[Place, int] = {}
        # Each key's id, or array of ids once it has several: most keys have one, and the garbage
        # collector walks every container on each full collection (a million appeals name a few
        # hundred thousand places).
        self._by_core: dict[tuple[str, str], int | array] = {}  # (kind, core) → ids
        self._by_tail: dict[tuple[str, str], int | array] = {}  # (kind, core or a tail of it) → ids
        for place in table:
            self.intern(place)

    def intern(self, place: Place) -> int:
        pid = self.index.get(place)
        if pid is None:
            pid = self.index[place] = len(self.table)
            self.table.append(place)
            _file(self._by_core, (place.kind, place.core), pid)
            for tail in _tails(place.core):
                _file(self._by_tail, (place.kind, tail), pid)
        return pid

    def same(self, place: Place) -> frozenset[int]:
        """Ids of the stored places that ``place`` may be: those whose core is or ends with its
        core, and those whose core it ends with."""
        kind = place.kind
        ids: set[int] = set()
        for found in (
            self._by_tail.get((kind, place.core)),
            *(self._by_core.get((kind, tail)) for tail in _tails(place.core, proper=True)),
        ):
            if isinstance(found, int):
                ids.add(found)
            elif found is not None:
                ids.update(found)
        return frozenset(ids)


def _file(table: dict, key, pid: int) -> None:
    found = table.get(key)
    if found is None:
        table[key] = pid
    elif isinstance(found, int):
        table[key] = array("q", (found, pid))
    else:
        found.append(pid)


@dataclass(slots=True)
class _Stored:
    """A stored appeal as a query compares with it (``Detector._stored``)."""

    text: _Text
    place_ids: list[int]
    places: list[Place]


class _Mentions:
    """A query's places, each with the ids of the stored places it may be (``_PlaceNames.same``)."""

    __slots__ = ("all", "any", "specific")

    def __init__(self, places: Sequence[Place], names: _PlaceNames):
        self.all = [(p, names.same(p)) for p in places]
        self.specific = [(p, same) for p, same in self.all if p.kind in SPECIFIC_KINDS]
        self.any: frozenset[int] = frozenset().union(*(same for _, same in self.all))


@functools.lru_cache(maxsize=65536)
def _tails(core: str, proper: bool = False) -> tuple[str, ...]:
    """``core`` and its tails of two characters or more (``_tail``); only the shorter tails when
    ``proper``. A tuple: the garbage collector stops tracking a tuple of strings, not a set."""
    starts = range(1, len(core) - 1) if proper else range(max(1, len(core) - 1))
    return tuple(core[i:] for i in starts)


@functools.lru_cache(maxsize=65536)
def _clean_name(name: str) -> str:
    """``clean_text`` of a place name: names recur in thousands of comparisons."""
    return clean_text(name)


@dataclass(slots=True)
class Features:
    """What the detector extracts from a record (also what a query computes)."""

    text: _Text
    places: list[Place]
    phone: str | None
    id_number: str | None
    time: int | None  # POSIX seconds
    category: str | None
    channel: str | None
    question: bool = False  # a question put to the police (a consultation category, or worded as one)
    weights: np.ndarray | None = None  # the text's weights, set by the detector for one query
    mentions: _Mentions | None = None  # the places as stored ones, set by the detector for one query
    bands: np.ndarray | None = None  # the text's LSH band keys (empty: too few shingles), see ``_bands``


@dataclass(slots=True)
class _Similarity:
    cosine: float  # weighted cosine of the bigram sets
    containment: float  # weighted share of the shorter text found in the longer, length-discounted
    topic: float  # similarity without the bigrams of the shared place names (see ``narrow``)
    # (weights of a's keys, weights of b's, positions in a of the keys both have) for ``narrow``
    parts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @classmethod
    def of(cls, sa: float, sb: float, si: float, short: int, parts) -> _Similarity:
        """From the weight sums of each text (``sa``, ``sb``) and of the keys both have (``si``), and
        the shorter text's number of keys."""
        cosine = si / math.sqrt(sa * sb)
        # containment of the shorter text is what a truncated retelling or a bare title shares with
        # the full text; discounted when short, as "噪音扰民" is contained in thousands of appeals
        containment = si / min(sa, sb) * min(1.0, short / 20.0) * 0.9
        return cls(cosine, containment, max(cosine, 0.5 * si / min(sa, sb)), parts)

    @property
    def text(self) -> float:
        return max(self.cosine, self.containment)

    def narrow(self, keep_a: np.ndarray, keep_b: np.ndarray) -> None:
        """Set ``topic`` to the similarity of the kept keys of each text only (``_Text.without_places``:
        without the shared place names): the larger of the cosine and half the containment of the
        shorter text (a neighbour's short note: its few facts, all in the other appeal)."""
        if self.parts is None:
            return
        wa, wb, both = self.parts
        ta, tb = float(wa[keep_a].sum()), float(wb[keep_b].sum())
        ti = float(wa[both[keep_a[both]]].sum())
        self.topic = max(ti / math.sqrt(ta * tb), 0.5 * ti / min(ta, tb)) if ta > 0 and tb > 0 else 0.0


@dataclass(slots=True)
class _Evidence:
    """What ``Detector._evidence`` finds about one stored appeal against a query."""

    sim: _Similarity
    agree: list[Place]
    # None until looked for (``Detector._find_conflicts``): below the cap they change no score
    conflicts: list[tuple[Place, Place]] | None
    building_conflicts: list[tuple[Place, Place]]
    category: str | None
    channel: str | None
    gap: int | None  # seconds; None when either time is unknown
    in_person: bool
    in_event: bool
    same_phone: bool
    same_id: bool
    other_person: bool  # two known, different people
    questions: bool = False  # both are questions put to the police (consultations)
    asked_about_place: bool = False  # a shared place is named in both texts (not only an address)
    id_conflict: tuple[str, str, str] | None = (
        None  # ("车牌" or "金额", stored's, query's): another car or sum
    )


def _id_conflict(q: _Text, c: _Text) -> tuple[str, str, str] | None:
    """Both texts name a licence plate (or a sum of money) and share none: another car, another loss."""
    for label, mine, theirs in zip(("车牌", "金额"), q.ids, c.ids, strict=True):
        if mine and theirs and not (mine & theirs):
            return label, min(theirs), min(mine)
    return None


# Words that place something relative to a place ("路口", "往东100米"): where, not what.
_LOCATION_RE = re.compile(
    "十字路口|交叉口|路口|附近|门口|旁边|对面|一带|周边|[东西南北]侧|[东西南北]门|[东西][南北]角|往[东西南北][0-9]*米?"
)


def _outside_places(clean: str, names: Sequence[str]) -> np.ndarray:
    """Whether each bigram of ``clean`` (``clean[i:i + 2]``, in order) lies outside every place name in
    ``names`` (longest first) and every location word: no bigram spans a cut, so "解放路历山路路口"
    leaves nothing behind. Cuts are blanked in place, so positions stay those of ``clean``."""
    for name in names:
        clean = clean.replace(name, "\0" * len(name))
    kept = codepoints(_LOCATION_RE.sub(_blank, clean)) != 0
    return kept[:-1] & kept[1:]


def _blank(match: re.Match) -> str:
    return "\0" * len(match.group())


def _leaves_differ(a: str | None, b: str | None) -> bool:
    """Both categories known to the leaf, under one root, and different leaves (违停/事故)."""
    if not a or not b:
        return False
    pa, pb = _category_parts(a), _category_parts(b)
    return len(pa) > 1 and len(pb) > 1 and pa[0] == pb[0] and pa[1] != pb[1]


def _ramp(x: float, lo: float, hi: float) -> float:
    """0 below ``lo``, 1 above ``hi``, linear in between."""
    if x <= lo:
        return 0.0
    if x >= hi:
        return 1.0
    return (x - lo) / (hi - lo)


def _format_gap(seconds: int) -> str:
    if seconds < 3600:
        return f"{seconds // 60}分钟"
    if seconds < 86400:
        return f"{seconds // 3600}小时"
    return f"{seconds // 86400}天"


# --------------------------------------------------------------------------------------------------
# The detector
# --------------------------------------------------------------------------------------------------


class Detector:
    """Incremental duplicate detector: ``add`` appeals, ``query`` one, or ``assign`` it to a group.

    Not thread-safe: one detector per process; the database layer serialises writers.
    """

    def __init__(self, config: DedupConfig | None = None, gazetteer: Gazetteer | bool | None = True):
        self.config = config or DedupConfig()
        if gazetteer is True:
            gazetteer = default_gazetteer() if self.config.use_gazetteer else None
        self.gazetteer: Gazetteer | None = gazetteer or None
        self._hasher = MinHasher(self.config.bands, self.config.rows, self.config.seed)
        self.ids: list[str] = []
        self.groups: list[str] = []
        self._index_of: dict[str, int] = {}
        self._texts = TextStore()
        self._places = Ragged(np.int32)
        self._times = Grow(np.int64)  # POSIX seconds, _NO_TIME when unknown
        self._category = Grow(np.int32)  # index into _strings, -1 when unknown
        self._channel = Grow(np.int32)
        self._phone = Grow(np.int32)
        self._idnum = Grow(np.int32)
        self._flags = Grow(np.uint8)  # _QUESTION
        self._strings: list[str] = []
        self._string_index: dict[str, int] = {}
        self._place_names = _PlaceNames()
        self._lsh = BandIndex(self.config.bands, self.config.bucket_cap)
        self._by_phone: dict[str, array] = {}
        self._by_idnum: dict[str, array] = {}
        self._by_place: dict[str, array] = {}
        # members of groups with more than one record (a lone record is its own group)
        self._members: dict[str, array] = {}
        # document frequency of bigrams (hashed into 4M buckets) over the indexed appeals, and the
        # prior's pseudo-counts in the same buckets: a stored appeal's weights are two lookups, not
        # a recomputation of its prior each time it is a candidate
        self._df = np.zeros(1 << _DF_BITS, dtype=np.uint32)
        self._prior_df = np.zeros(1 << _DF_BITS, dtype=np.float32)
        self._stored_cache: OrderedDict[int, _Stored] = OrderedDict()  # see _stored

    # ---- features -------------------------------------------------------------------------------

    def features(
        self, record: Record, places: list[Place] | None = None, bands: np.ndarray | None = None
    ) -> Features:
        """Extract what the detector compares from ``record``. ``places`` and ``bands``: what was
        derived from the same record before (``places_of``, ``Features.bands``), here or elsewhere."""
        # the call-taker's frame ("来电人反映：") is no part of what the appellant said
        text = strip_boilerplate(record.text)
        if places is None:
            places = self.places_of(record, text)
        return Features(
            text=_Text(clean_text(text)),
            places=places,
            phone=normalize_phone(record.phone),
            id_number=normalize_id_number(record.id_number),
            time=int(record.time.timestamp()) if record.time is not None else None,
            category=record.category or None,
            channel=record.channel or None,
            question=self.config.is_question_category(record.category) or is_consultation(record.text),
            bands=bands,
        )

    def places_of(self, record: Record, text: str | None = None) -> list[Place]:
        """The places of ``record``: those its text names, then those only its address names."""
        text = strip_boilerplate(record.text) if text is None else text
        places = extract_places(text, self.gazetteer)
        if record.place:
            seen = {(p.kind, p.core) for p in places}
            places += [
                p for p in extract_places(record.place, self.gazetteer) if (p.kind, p.core) not in seen
            ]
        return places

    def _lsh_keys(self, keys: np.ndarray) -> np.ndarray:
        """The MinHash input: 32-bit hashes of the bigrams, the very common ones left out."""
        if not len(keys):
            return np.zeros(0, dtype=np.uint32)
        pos = np.minimum(_COMMON_KEYS.searchsorted(keys), len(_COMMON_KEYS) - 1)
        return hash32(keys[_COMMON_KEYS[pos] != keys])

    def _bands(self, feats: Features) -> np.ndarray:
        """The LSH band keys of the features' text, worked out once: a query and then the ``add`` of
        the same appeal both need them. Empty when the text has fewer than three shingles."""
        if feats.bands is None:
            lsh = self._lsh_keys(feats.text.keys)
            feats.bands = self._hasher.band_keys(lsh) if len(lsh) >= 3 else np.zeros(0, dtype=np.uint64)
        return feats.bands

    def _stored(self, rid: int) -> _Stored:
        """A stored appeal's comparable text and places, re-derived from the arrays: recent appeals
        are candidates again and again, so the most recently used few thousand are kept."""
        cached = self._stored_cache.get(rid)
        if cached is None:
            ids = self._places.row(rid).tolist()
            cached = _Stored(_Text(self._texts[rid]), ids, [self._place_names.table[i] for i in ids])
            self._keep(rid, cached)
        else:
            self._stored_cache.move_to_end(rid)
        return cached

    def _keep(self, rid: int, stored: _Stored) -> None:
        self._stored_cache[rid] = stored
        if len(self._stored_cache) > _STORED_CACHE:
            self._stored_cache.popitem(last=False)

    # ---- adding ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._index_of

    def group_of(self, record_id: str) -> str:
        return self.groups[self._index_of[record_id]]

    def add(self, record: Record, group_id: str | None = None, features: Features | None = None) -> str:
        """Index ``record`` in group ``group_id`` (default: a new group named after the record);
        returns the group id."""
        feats = features if features is not None else self.features(record)
        rid = self._store(record, feats, group_id)
        bands = self._bands(feats)
        if len(bands):
            self._lsh.add(rid, bands)
        # the newest appeals are the likeliest candidates: keep what was just computed
        ids = self._places.row(rid).tolist()
        self._keep(rid, _Stored(feats.text, ids, [self._place_names.table[i] for i in ids]))
        return self.groups[rid]

    def _store(self, record: Record, feats: Features, group_id: str | None) -> int:
        if record.id in self._index_of:
            raise ValueError(f"record {record.id!r} is already indexed")
        rid = len(self.ids)
        self.ids.append(record.id)
        group = group_id if group_id is not None else record.id
        self.groups.append(group)
        self._index_of[record.id] = rid
        self._add_member(group, rid)
        self._texts.append(feats.text.clean)
        self._places.append(np.array([self._place_names.intern(p) for p in feats.places], dtype=np.int32))
        self._times.append(feats.time if feats.time is not None else _NO_TIME)
        self._category.append(self._intern(feats.category))
        self._channel.append(self._intern(feats.channel))
        self._phone.append(self._intern(feats.phone))
        self._idnum.append(self._intern(feats.id_number))
        self._flags.append(_QUESTION if feats.question else 0)
        self._index_exact(rid, feats.phone, feats.id_number, feats.places)
        if len(feats.text.keys):
            buckets = feats.text.buckets
            self._df[buckets] += 1
            self._prior_df[buckets] = feats.text.prior
        return rid

    def regroup(self, record_id: str, group: str) -> None:
        """Move an indexed record to another group (an appeal linked into a case, or split off)."""
        rid = self._index_of[record_id]
        old = self.groups[rid]
        if old == group:
            return
        members = self._members.get(old)
        if members is not None:
            kept = array("q", (m for m in members if m != rid))
            if kept:
                self._members[old] = kept
            else:
                del self._members[old]
        self.groups[rid] = group
        self._add_member(group, rid)

    def _add_member(self, group: str, rid: int) -> None:
        members = self._members.get(group)
        if members is not None:
            members.append(rid)
        elif group != self.ids[rid]:
            # the group's founder is its first member (it may not be indexed: a known case id)
            founder = self._index_of.get(group)
            self._members[group] = array(
                "q", [founder, rid] if founder is not None and founder != rid else [rid]
            )

    def _index_exact(
        self, rid: int, phone: str | None, id_number: str | None, places: Sequence[Place]
    ) -> None:
        if phone:
            self._by_phone.setdefault(phone, array("q")).append(rid)
        if id_number:
            self._by_idnum.setdefault(id_number, array("q")).append(rid)
        for key in _place_keys(places):
            self._by_place.setdefault(key, array("q")).append(rid)

    def _intern(self, value: str | None) -> int:
        if value is None:
            return -1
        idx = self._string_index.get(value)
        if idx is None:
            idx = self._string_index[value] = len(self._strings)
            self._strings.append(value)
        return idx

    def _string(self, idx) -> str | None:
        return self._strings[idx] if idx >= 0 else None

    @classmethod
    def build(
        cls,
        records: Iterable[Record],
        config: DedupConfig | None = None,
        gazetteer: Gazetteer | bool | None = True,
        groups: dict[str, str] | None = None,
        batch: int = 1000,
        progress: Callable[[int], None] | None = None,
    ) -> Detector:
        """A detector holding ``records`` in the given order, with known ``groups`` (record id →
        group id, e.g. the cases in the database; default: each record its own group).

        Rebuilding is how the index is recovered from the database. Faster than ``add`` one by one:
        signatures are computed in batches and each LSH band is sorted once.
        """
        det = cls(config, gazetteer)
        groups = {} if groups is None else groups
        all_rids: list[np.ndarray] = []
        all_keys: list[np.ndarray] = []
        pending_rids: list[int] = []
        pending: list[np.ndarray] = []

        def flush() -> None:
            if pending:
                all_rids.append(np.array(pending_rids, dtype=np.int32))
                all_keys.append(det._hasher.band_keys_many(pending))
                pending.clear()
                pending_rids.clear()

        n = 0
        for n, record in enumerate(records, 1):
            feats = det.features(record)
            rid = det._store(record, feats, groups.get(record.id))
            lsh = det._lsh_keys(feats.text.keys)
            if len(lsh) >= 3:
                pending_rids.append(rid)
                pending.append(lsh)
            if len(pending) >= batch:
                flush()
            if progress and n % 10000 == 0:
                progress(n)
        flush()
        if all_rids:
            det._lsh.add_many(np.concatenate(all_rids), np.concatenate(all_keys))
        if progress:
            progress(n)
        return det

    # ---- querying -------------------------------------------------------------------------------

    def query(self, record: Record, limit: int = 10, features: Features | None = None) -> list[Match]:
        """Stored appeals that may be the same matter as ``record``, best first.

        Matches scoring at least half the suggest threshold are returned, each with its decision and
        reasons; ``record`` itself (same id) never is.
        """
        cfg = self.config
        feats = features if features is not None else self.features(record)
        own = self._index_of.get(record.id)
        scored = []
        feats.weights = self._weights(feats.text)
        feats.mentions = _Mentions(feats.places, self._place_names)
        # below half the suggest threshold a match is not returned (nor linked)
        floor = cfg.suggest_threshold / 2
        candidates = [rid for rid in self._candidates(feats) if rid != own]
        sims = self._similarities(feats.text, feats.weights, [self._stored(rid).text for rid in candidates])
        for rid, sim in zip(candidates, sims, strict=True):
            found = self._score(feats, rid, sim, floor)
            if found is not None:
                scored.append((rid, *found))
        # A group is one matter: when a member worded like the query names a place that conflicts
        # with it, the query cannot join, however close another member's wording (a retelling that
        # dropped the place name would otherwise carry "the same text about another place" in).
        linkable: dict[str, float] = {}
        for rid, score, _, text in scored:
            if score >= cfg.link_threshold:
                group = self.groups[rid]
                linkable[group] = max(linkable.get(group, 0.0), text)
        vetoed: dict[str, str] = {}
        for group, text in linkable.items():
            conflict = self._group_conflict(feats, group, max(0.3, text - 0.05))
            if conflict:
                vetoed[group] = conflict
        ranked = []
        for rid, score, reasons, text in scored:
            group = self.groups[rid]
            if group in vetoed:  # a link: its reasons are complete
                score = min(score, cfg.link_threshold - 0.01)
                reasons = (*reasons, vetoed[group])
            if score >= cfg.suggest_threshold / 2:
                decision = (
                    LINK
                    if score >= cfg.link_threshold
                    else SUGGEST
                    if score >= cfg.suggest_threshold
                    else NEW
                )
                match = Match(self.ids[rid], round(score, 4), reasons, decision, group)
                ranked.append((-match.score, -text, -rid, match))
        # The score saturates at 1 for clear duplicates: among equals the closest wording, then the
        # newest appeal, is the better match (a matter split off keeps its own later appeals).
        ranked.sort(key=lambda r: r[:3])
        return [r[3] for r in ranked[:limit]]

    def _group_conflict(self, feats: Features, group: str, min_text: float) -> str | None:
        """A reason when a member of ``group`` (its newest ``bucket_cap``) names a place conflicting
        with the query's and is worded like the query at least ``min_text`` — about as closely as
        the member the query would link to. A looser member's conflict may be its own extraction
        noise, or a neighbour naming the next road: not enough to overrule the closer match."""
        members = self._members.get(group)
        if members is None:
            members = [self._index_of[group]] if group in self._index_of else []
        for rid in list(members)[-self.config.bucket_cap :]:
            c = self._stored(rid)
            if not c.places:
                continue
            _, conflicts, _ = compare_places(feats.mentions, feats.text.clean, c)
            if conflicts and self._similarities(feats.text, feats.weights, [c.text])[0].text >= min_text:
                a, b = conflicts[0]
                return f"同组诉求{self.ids[rid]}地点不同：{b.name}/{a.name}"
        return None

    def assign(self, record: Record) -> str:
        """Query, then index ``record`` into the group of its best linked match, or into a new
        group named after it. Feed records in time order, as intake sees them."""
        feats = self.features(record)
        best = next((m for m in self.query(record, limit=1, features=feats) if m.decision == LINK), None)
        return self.add(record, best.group_id if best else None, features=feats)

    def _candidates(self, feats: Features) -> list[int]:
        """At most ``max_candidates`` stored appeals worth scoring, the likeliest first: the same
        person's recent appeals, then texts sharing LSH bands (most bands first), then recent
        appeals about the same place (newest first)."""
        cfg = self.config
        person_window, event_window = cfg.windows_for(feats.category)
        found: list[np.ndarray] = []
        if feats.phone and feats.phone in self._by_phone:
            found.append(self._recent(self._by_phone[feats.phone], feats.time, person_window)[::-1])
        if feats.id_number and feats.id_number in self._by_idnum:
            found.append(self._recent(self._by_idnum[feats.id_number], feats.time, person_window)[::-1])
        bands = self._bands(feats)
        if len(bands):
            ids, counts = self._lsh.query(bands)
            # most shared bands first, newest first among equals
            found.append(ids[np.lexsort((-ids.astype(np.int64), -counts))].astype(np.int64))
        # the same place: a neighbour within the event window; when the query gives no phone it may
        # also be its author retelling it (a letter) within the person window
        place_window = event_window if feats.phone or feats.id_number else max(person_window, event_window)
        places = [
            self._recent(self._by_place[k], feats.time, place_window)
            for k in _place_keys(feats.places)
            if k in self._by_place
        ]
        if places:
            found.append(np.unique(np.concatenate(places))[::-1])
        if not found:
            return []
        # first occurrence order, capped: a query costs the same at a thousand appeals and at millions
        return list(dict.fromkeys(np.concatenate(found).tolist()))[: cfg.max_candidates]

    def _recent(self, rids: array, time: int | None, window: timedelta) -> np.ndarray:
        """The newest ``bucket_cap`` ids under a key, restricted to the window around ``time``."""
        tail = np.frombuffer(rids, dtype=np.int64)[-self.config.bucket_cap :]
        if time is None:
            return tail
        times = self._times.view()[tail]
        ok = (times == _NO_TIME) | (np.abs(times - time) <= int(window.total_seconds()))
        return tail[ok]

    # ---- scoring --------------------------------------------------------------------------------

    def _weights(self, text: _Text) -> np.ndarray:
        """Squared IDF of each bigram of a query: document frequency over the indexed appeals plus
        the prior."""
        if not len(text.keys):
            return np.zeros(0)
        return self._squared_idf(self._df[text.buckets] + text.prior)

    def _squared_idf(self, df: np.ndarray) -> np.ndarray:
        idf = np.log((len(self.ids) + _PRIOR_DOCS + 1.0) / (df + 1.0))
        return np.maximum(idf, 0.05) ** 2

    def _similarities(self, a: _Text, wa: np.ndarray, texts: Sequence[_Text]) -> list[_Similarity]:
        """Similarity of a query's text (``wa``: its weights) with each of some stored texts, in a few
        vector operations for all of them. A stored text's weights come from the bucket tables (its
        prior counts were put there when it was indexed). ``topic`` is the similarity of the whole
        texts until ``narrow``ed."""
        none = _Similarity(0.0, 0.0, 0.0)
        if not len(a.keys):
            return [none] * len(texts)
        lengths = np.array([len(t.keys) for t in texts], dtype=np.int64)
        full = np.flatnonzero(lengths)
        if not len(full):
            return [none] * len(texts)
        keys = np.concatenate([texts[i].keys for i in full])
        buckets = np.concatenate([texts[i].buckets for i in full])
        wb = self._squared_idf(self._df[buckets] + self._prior_df[buckets])
        pos = np.minimum(a.keys.searchsorted(keys), len(a.keys) - 1)
        hit = a.keys[pos] == keys
        ends = lengths[full].cumsum()
        starts = ends - lengths[full]
        # Sums in key order, one text after another (bincount adds in order): two stored texts
        # sharing the same keys with the query get exactly the same overlap, and so tie.
        text_of = np.repeat(np.arange(len(full)), lengths[full])
        sb = np.bincount(text_of, weights=wb, minlength=len(full))
        si = np.bincount(text_of[hit], weights=wa[pos[hit]], minlength=len(full))
        sa = float(wa.sum())
        out = [none] * len(texts)
        for j, i in enumerate(full.tolist()):
            start, end = starts[j], ends[j]
            parts = (wa, wb[start:end], pos[start:end][hit[start:end]])
            out[i] = _Similarity.of(sa, float(sb[j]), float(si[j]), min(len(a.keys), int(lengths[i])), parts)
        return out

    def _evidence(self, q: Features, rid: int, sim: _Similarity, floor: float = 0.0) -> _Evidence | None:
        """What is known about stored appeal ``rid`` against the query (``sim``: their texts'
        similarity): wording, places, people, time. None when the cheap part of it already shows
        that the score stays below ``floor``: most candidates share a few words or the district and
        nothing else, and the places and topic cost the most to compare."""
        cfg = self.config
        c = self._stored(rid)
        c_text = c.text
        agree = _agreeing(q.mentions, c)
        category = self._string(self._category.view()[rid])
        person_window, event_window = cfg.windows_for(q.category or category)
        c_time = int(self._times.view()[rid])
        gap = None if q.time is None or c_time == _NO_TIME else abs(q.time - c_time)
        c_phone, c_idnum = self._string(self._phone.view()[rid]), self._string(self._idnum.view()[rid])
        same_phone = q.phone is not None and q.phone == c_phone
        same_id = q.id_number is not None and q.id_number == c_idnum
        ev = _Evidence(
            sim=sim,
            agree=agree,
            conflicts=None,
            building_conflicts=[],
            category=category,
            channel=self._string(self._channel.view()[rid]),
            gap=gap,
            in_person=gap is None or gap <= person_window.total_seconds(),
            in_event=gap is None or gap <= event_window.total_seconds(),
            same_phone=same_phone,
            same_id=same_id,
            # two known and different people, and nothing else says they are one
            other_person=not (same_phone or same_id)
            and (
                (q.phone is not None and c_phone is not None)
                or (q.id_number is not None and c_idnum is not None)
            ),
            questions=q.question and bool(self._flags.view()[rid] & _QUESTION),
        )
        # Nothing below raises a score (``_rules`` is its bound); the topic only counts at a shared
        # place within the event window.
        if not (agree and ev.in_event) and self._rules(q, ev)[0] < floor:
            return None

        if agree:
            # place names inflate the overlap of any two appeals about one community: the "same
            # event" judgement uses the content without them (and without "路口", "附近" and the like)
            shared = [*agree, *_same_places(c.places, agree)]
            names = {_clean_name(n) for p in shared for n in (p.name, p.core)}
            names = tuple(sorted((n for n in names if n), key=len, reverse=True))
            sim.narrow(q.text.without_places(names), c_text.without_places(names))
            ev.asked_about_place = any(
                _clean_name(p.core) in q.text.clean and _clean_name(p.core) in c_text.clean for p in agree
            )
        ev.id_conflict = _id_conflict(q.text, c_text)
        # Conflicting places cap a score: below the cap they change only the reasons, which are
        # looked for when read (``query``).
        if self._rules(q, ev)[0] > _CONFLICT_CAP:
            self._find_conflicts(q.mentions, q.text.clean, c, ev)
        return ev

    def _find_conflicts(self, mentions: _Mentions, q_clean: str, c: _Stored, ev: _Evidence) -> None:
        _, ev.conflicts, ev.building_conflicts = compare_places(mentions, q_clean, c, frames=False)
        if not ev.conflicts and ev.sim.text >= 0.3:
            # similar wording: worth looking for a place swapped for a name the extractor missed
            ev.conflicts = compare_places(mentions, q_clean, c)[1]

    def _explanation(self, q: Features, rid: int, ev: _Evidence) -> Callable[[], list[str]]:
        """The reasons of a match whose conflicts were not looked for: the same as they would have
        been (the query's places as they were, the stored appeal as it is)."""
        mentions, q_clean, c = q.mentions, q.text.clean, self._stored(rid)

        def explain() -> list[str]:
            self._find_conflicts(mentions, q_clean, c, ev)
            return self._decide(q, ev)[1]

        return explain

    def _score(
        self, q: Features, rid: int, sim: _Similarity, floor: float = 0.0
    ) -> tuple[float, tuple[str, ...] | Callable[[], list[str]], float] | None:
        """(score, reasons or how to work them out, text similarity) of stored appeal ``rid`` as a
        duplicate of ``q``; None when the score is sure to stay below ``floor``."""
        ev = self._evidence(q, rid, sim, floor)
        if ev is None:
            return None
        score, reasons = self._decide(q, ev)
        return (
            score,
            tuple(reasons) if ev.conflicts is not None else self._explanation(q, rid, ev),
            ev.sim.text,
        )

    def _rules(self, q: Features, ev: _Evidence) -> tuple[float, bool]:
        """The score that the evidence earns before any veto, and whether it is earned as the same
        matter raised again long after (rule 4 beyond the event window)."""
        cfg = self.config
        text = ev.sim.text
        score = 0.0
        # 1. the same person about something similar, within the person window
        if (ev.same_phone or ev.same_id) and ev.in_person:
            score = max(score, 0.45 + 0.55 * _ramp(text, 0.10, 0.30))
        # 2. the same place, similar content, within the event window: neighbours, other channels.
        #    Unrelated matters at one place share almost no uncommon bigrams besides its name; more
        #    is asked under a different leaf category.
        if ev.agree and ev.in_event:
            lo, hi = _PLACE_TOPIC
            if _leaves_differ(q.category, ev.category):
                lo, hi = lo + _LEAF_SHIFT, hi + _LEAF_SHIFT
            score = max(score, 0.30 + 0.70 * _ramp(ev.sim.topic, lo, hi))
        # 3. wording alone. Two known, different people need nearly the same text within the event
        #    window, and a shared place (see the vetoes); when one person is unknown it may be the
        #    same citizen writing without a phone number (a letter), so the person window applies.
        if ev.other_person:
            if ev.in_event:
                score = max(score, _ramp(text, 0.55, 0.85))
        elif ev.in_person:
            score = max(score, _ramp(text, 0.35, 0.65))
        # 4. near-identical wording at any distance in time: the same matter raised again by its
        #    appellant (two known, different people beyond the event window are two events)
        repeat = 0.0
        if not ev.other_person:
            repeat = _ramp(text, cfg.repeat_similarity - 0.1, cfg.repeat_similarity + 0.1)
        if repeat > score:
            return repeat, not ev.in_event and repeat >= cfg.link_threshold
        return score, False

    def _decide(self, q: Features, ev: _Evidence) -> tuple[float, list[str]]:
        """The score in [0, 1] and the reasons a person reads, from the evidence."""
        cfg = self.config
        text, agree = ev.sim.text, ev.agree
        reasons: list[str] = []
        if ev.same_phone:
            reasons.append("同一手机号")
        if ev.same_id:
            reasons.append("同一身份证号")
        if agree:
            reasons.append("地点一致：" + "、".join(p.name for p in agree[:3]))
        reasons.append(f"内容相似度{text:.2f}")
        score, again = self._rules(q, ev)
        if again:
            reasons.append("内容高度一致：同一事项再次反映")
        if ev.gap is not None:
            reasons.append(f"时间相隔{_format_gap(ev.gap)}")
        if q.channel and ev.channel and ev.channel != q.channel:
            reasons.append(f"不同渠道：{ev.channel}/{q.channel}")

        # Vetoes. The same wording about a different place (or car, or sum of money) is a different
        # matter: cap the score far below a suggestion, whatever else agrees.
        if ev.conflicts:
            a, b = ev.conflicts[0]
            reasons.append(f"地点不同：{b.name}/{a.name}")
            score = min(score, _CONFLICT_CAP)
        elif ev.building_conflicts:
            a, b = ev.building_conflicts[0]
            reasons.append(f"楼栋不同：{b.name}/{a.name}")
            score = min(score, cfg.suggest_threshold)
        elif ev.id_conflict:
            label, theirs, mine = ev.id_conflict
            reasons.append(f"{label}不同：{theirs}/{mine}")
            score = min(score, _CONFLICT_CAP)
        same_person = ev.same_phone or ev.same_id
        # Two people asking the same question (落户条件, 通行证加急) each want their own answer; only
        # a question about one place both name (a road's construction, an estate's demolition) is a
        # shared matter.
        private_questions = ev.questions and not ev.asked_about_place
        if private_questions and ev.other_person:
            reasons.append("咨询事项：不同诉求人各自提问")
            score = min(score, _CONFLICT_CAP)
        elif private_questions and not same_person:
            # Everyone words a common question alike: only a phone or ID number shows the same asker.
            reasons.append("咨询事项：未能确认同一诉求人")
            score = min(score, cfg.suggest_threshold)
        elif ev.other_person and not agree:
            # The same event raised by different people happens somewhere: without a shared place
            # their alike wording is a common complaint, not one matter. A person may still look.
            reasons.append("不同诉求人，未见同一地点")
            score = min(score, cfg.suggest_threshold)
        if categories_compatible(q.category, ev.category) is False:
            reasons.append(f"类别不同：{ev.category}/{q.category}")
            score *= 0.6
        return max(0.0, min(1.0, score)), reasons

    # ---- persistence ----------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the index to one ``.npz`` file: numpy arrays plus a JSON header. No pickle, so
        loading a file cannot run code; written to a temporary name and renamed, so a crash leaves
        the previous file intact."""
        self._lsh.flush()
        header = {
            "version": _FORMAT_VERSION,
            "config": self.config.to_json(),
            "gazetteer": self.gazetteer is not None,
            "ids": self.ids,
            "groups": self.groups,
            "strings": self._strings,
            "places": [[p.kind, p.name, p.core] for p in self._place_names.table],
        }
        texts, text_offsets = self._texts.arrays()
        arrays = {
            "header": np.frombuffer(json.dumps(header, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
            "texts": texts,
            "text_offsets": text_offsets,
            "place_ids": self._places.values.view(),
            "place_offsets": self._places.offsets.view(),
            "times": self._times.view(),
            "category": self._category.view(),
            "channel": self._channel.view(),
            "phone": self._phone.view(),
            "idnum": self._idnum.view(),
            "flags": self._flags.view(),
            "df": self._df,
            "prior_df": self._prior_df,
        }
        for b in range(self._lsh.bands):
            arrays[f"lsh_keys_{b}"] = self._lsh.keys[b]
            arrays[f"lsh_ids_{b}"] = self._lsh.ids[b]
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path, gazetteer: Gazetteer | bool | None = True) -> Detector:
        """Read a file written by ``save``. The gazetteer is not in the file: by default the bundled
        one is loaded again when the saved detector used one."""
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode("utf-8"))
            if header["version"] != _FORMAT_VERSION:
                raise ValueError(f"{path}: index format {header['version']}, expected {_FORMAT_VERSION}")
            if gazetteer is True and not header["gazetteer"]:
                gazetteer = None
            det = cls(DedupConfig.from_json(header["config"]), gazetteer)
            det.ids, det.groups, det._strings = header["ids"], header["groups"], header["strings"]
            det._index_of = {rid: i for i, rid in enumerate(det.ids)}
            det._string_index = {s: i for i, s in enumerate(det._strings)}
            det._place_names = _PlaceNames([Place(*p) for p in header["places"]])
            det._texts = TextStore(data["texts"], data["text_offsets"])
            det._places = Ragged(np.int32, data["place_ids"], data["place_offsets"])
            det._times = Grow(np.int64, data["times"])
            det._category = Grow(np.int32, data["category"])
            det._channel = Grow(np.int32, data["channel"])
            det._phone = Grow(np.int32, data["phone"])
            det._idnum = Grow(np.int32, data["idnum"])
            # files written before flags existed: questions known from their categories only
            det._flags = Grow(
                np.uint8,
                data["flags"]
                if "flags" in data.files
                else np.array(
                    [
                        _QUESTION if det.config.is_question_category(c) else 0
                        for c in map(det._string, det._category.view())
                    ],
                    dtype=np.uint8,
                ),
            )
            det._df = data["df"].copy()
            det._prior_df = data["prior_df"].copy()
            for b in range(det._lsh.bands):
                det._lsh.keys[b] = data[f"lsh_keys_{b}"]
                det._lsh.ids[b] = data[f"lsh_ids_{b}"]
        # phone, ID, place and group lookups are derived data: rebuilt rather than stored
        for rid in range(len(det.ids)):
            det._add_member(det.groups[rid], rid)
            places = [det._place_names.table[i] for i in det._places.row(rid)]
            det._index_exact(
                rid, det._string(det._phone.view()[rid]), det._string(det._idnum.view()[rid]), places
            )
        return det

    def memory_bytes(self) -> int:
        """Approximate size of the numpy parts (the benchmark reports process RSS as well)."""
        parts = [
            *self._texts.arrays(),
            self._places.values.view(),
            self._times.view(),
            self._category.view(),
            self._phone.view(),
            self._idnum.view(),
            self._flags.view(),
            self._df,
            self._prior_df,
        ]
        return sum(p.nbytes for p in parts) + self._lsh.memory_bytes()


# --------------------------------------------------------------------------------------------------
# Place comparison
# --------------------------------------------------------------------------------------------------


def _place_keys(places: Sequence[Place]) -> list[str]:
    """Index keys of the specific places: the core and its tails down to four characters
    (``华润凤凰城`` → ``润凤凰城``, ``凤凰城``), so that a prefix one appellant wrote and another
    left out does not keep them apart. Shorter tails are shared by too many places (``光花园``,
    ``花园``) to find anything."""
    keys = []
    for p in places:
        if p.kind in SPECIFIC_KINDS:
            keys += [p.core[i:] for i in range(0, max(1, len(p.core) - 3))]
    return keys


def _same_places(places: Sequence[Place], others: Sequence[Place]) -> list[Place]:
    """Those of ``places`` that are one of ``others``: one name written with a prefix the other left
    out ("华润凤凰城" / "凤凰城", or a word the extractor took for part of the name), so the shorter
    core is the tail of the longer (``_tail``); by set lookups rather than pair by pair."""
    cores = {o.core for o in others}
    tails = set().union(*(_tails(o.core) for o in others))
    return [p for p in places if p.core in tails or not cores.isdisjoint(_tails(p.core, proper=True))]


def _replacement(place: Place, text: str, other_text: str) -> Place | None:
    """What ``other_text`` has where ``text`` names ``place``: the other text must frame one of its
    mentions with the same two or three characters before and two after, and hold a wholly
    different name there (a retelling that edits a name — 中职学校/中职校方 — shares most of its
    characters). None otherwise."""
    core = place.core
    start = text.find(core)
    while start >= 2:
        end = start + len(core)
        left, right = text[max(0, start - 3) : start], text[end : end + 2]
        if len(right) == 2:
            at = other_text.find(left)
            while at != -1:
                # the shortest middle of two characters or more, as a non-greedy regex would take
                middle_start = at + len(left)
                close = other_text.find(right, middle_start + 2, middle_start + len(core) + 4 + len(right))
                if close != -1:
                    middle = other_text[middle_start:close]
                    if middle in core or core in middle or _tail(middle, core):
                        return None
                    shared = sum((Counter(middle) & Counter(core)).values())
                    if shared / min(len(middle), len(core)) >= 0.34:
                        return None
                    return Place(place.kind, middle, middle)
                at = other_text.find(left, at + 1)
        start = text.find(core, end)
    return None


# Function characters that do not occur in real place names but do in what a regex takes for one
# ("由用人学校", "更窄路", "未修水泥路").
_WEAK_CHARS = frozenset("未更很由被把将让给对向从于了着过的得地也还又再才就只没不别该这那些么吗呢吧啊哪谁")


@functools.lru_cache(maxsize=65536)
def _is_strong(core: str) -> bool:
    """Whether an extracted name is trustworthy enough to contradict another: no function character
    (the regex took a piece of a sentence for a name: "由用人学校", "更窄路"), and it does not start
    with an adverb or numeral ("十分危害"). Weak names may still agree."""
    return not (_WEAK_CHARS & set(core)) and core[:2] not in _weak_starts()


@functools.cache
def _weak_starts() -> frozenset[str]:
    # verbs are left out on purpose: 涉外旅游学院, 开福寺 start with one
    return words_tagged({"d", "m", "p", "c", "r", "u", "ad"})


_NUMERALS = frozenset("0123456789零〇一二两三四五六七八九十百千")


@functools.lru_cache(maxsize=65536)
def _edited(a: str, b: str) -> bool:
    """Whether two names read as one name retold ("唯一出行线路"/"唯一出门线路": a word swapped in a
    long name) rather than two places. Differing numbers (十一中学/十二中学) and short names
    (和平东路/和平西路) stay different."""
    # ratio() is 2 × matched characters / both lengths: the shared characters bound it, cheaply
    if 2 * min(len(a), len(b)) < 0.8 * (len(a) + len(b)):
        return False
    if 2 * sum(min(a.count(ch), b.count(ch)) for ch in set(a).intersection(b)) < 0.8 * (len(a) + len(b)):
        return False
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < 0.8:
        return False
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal" and (_NUMERALS & set(a[i1:i2]) or _NUMERALS & set(b[j1:j2])):
            return False
    return True


def _tail(a: str, b: str) -> bool:
    """Whether the shorter of two names is the tail of the longer (2+ characters)."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 2 and long_.endswith(short)


def _agreeing(q: _Mentions, c: _Stored) -> list[Place]:
    """The query's specific places that the stored appeal has too (see ``compare_places``)."""
    return [p for p, same in q.specific if not same.isdisjoint(c.place_ids) or p.core in c.text.clean]


def compare_places(
    q: _Mentions, q_clean: str, c: _Stored, frames: bool = True
) -> tuple[list[Place], list[tuple[Place, Place]], list[tuple[Place, Place]]]:
    """(shared specific places, conflicting place pairs, conflicting building pairs) of a query's
    places and text, and a stored appeal's.

    A place of one appeal is *matched* when the other has the same place, or names it anywhere in its
    text (extraction may miss it there; a bare building number proves nothing). Two appeals conflict
    when each has an unmatched place of the same kind: "阳光小区" vs "金色小区", "A3区" vs "A5区". One
    side naming more places than the other is no conflict: a neighbour may add the road. With
    ``frames``, a place the other text replaced by an unrecognised name in the same sentence frame
    conflicts too (worth its cost for similar texts).
    """
    c_clean = c.text.clean
    agree: list[Place] = []
    q_unmatched: dict[str, list[Place]] = {}
    for p, same in q.all:
        if not same.isdisjoint(c.place_ids) or (p.kind != BUILDING_KIND and p.core in c_clean):
            if p.kind in SPECIFIC_KINDS:
                agree.append(p)
        else:
            q_unmatched.setdefault(p.kind, []).append(p)
    c_unmatched: dict[str, list[Place]] = {}
    for pid, o in zip(c.place_ids, c.places, strict=True):
        if pid not in q.any and (o.kind == BUILDING_KIND or o.core not in q_clean):
            c_unmatched.setdefault(o.kind, []).append(o)
    conflicts = []
    for kind in (*SPECIFIC_KINDS, *CONFLICT_ADMIN_KINDS):
        mine = [p for p in q_unmatched.get(kind, []) if _is_strong(p.core)]
        theirs = [p for p in c_unmatched.get(kind, []) if _is_strong(p.core)]
        pair = next(((a, b) for a in mine for b in theirs if not _edited(a.core, b.core)), None)
        if pair:
            conflicts.append(pair)
    if frames and not conflicts:
        # A place one text names and the other does not may have been replaced by a name the
        # extractor cannot recognise ("…青松苑的业主" / "…白鹭湾的业主"): look at what the other text
        # has between the same neighbouring characters.
        for mine, my_text, their_text, flip in (
            (q_unmatched, q_clean, c_clean, False),
            (c_unmatched, c_clean, q_clean, True),
        ):
            for kind in SPECIFIC_KINDS:
                for p in mine.get(kind, []):
                    other = _replacement(p, my_text, their_text) if _is_strong(p.core) else None
                    if other is not None:
                        conflicts.append((other, p) if flip else (p, other))
                        break
    buildings = [
        (p, o)
        for p in q_unmatched.get(BUILDING_KIND, [])
        for o in c_unmatched.get(BUILDING_KIND, [])
        # 3栋 vs 5栋 conflict; 3栋 vs 2单元 do not
        if p.core.lstrip("0123456789") == o.core.lstrip("0123456789")
    ]
    return agree, conflicts, buildings
