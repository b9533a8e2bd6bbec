"""A realistic, deterministic stream of demo appeals for the Jinan livelihood policing platform.

Pure Python (no ORM): :func:`generate_appeals` turns the Jinan gazetteer rows (``divisions.csv``,
``communities.csv`` as read by ``csv.DictReader``) into :class:`DemoAppeal` records, ordered by
``received_at``. Everything random comes from one ``random.Random(seed)``; the clock is never read,
so the same ``(days, seed, end, per_day)`` and the same gazetteer give the same sequence.

What makes the stream look like the real one (so alerts, hot spots and KPIs have something to find):

* volume: Poisson around ``per_day``; working days busier than rest days (Chinese public holidays and
  make-up working days come from ``chinese_calendar`` where it knows the year); a mild summer peak;
* time of day: each channel has its own profile (hotline and office channels peak 9–11 and 14–17,
  110 stays busy at night, web channels have an evening bump);
* categories depend on the channel (110 gets help and disputes, windows get household/exit-entry
  questions, the discipline hotline gets complaints about officers) and on hour and season (noise in
  summer evenings, hukou questions before the school year, passports before holidays);
* places: real districts, townships and communities with weights, some communities "hot"; address
  text the way people write it (full, partial, landmark, crossing, or nothing);
* ~5% same-matter duplicates: the same person again through another channel, or a neighbour about
  the same bar/car/hazard, marked with ``duplicate_of_index``.

The place codes are the generator's ground truth even when the address text leaves parts out, so a
geocoder or router can be checked against them.
"""

import bisect
import heapq
import math
import random
import re
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from minsheng.categories.defaults import DEFAULT_TREE
from minsheng.demo import texts

TZ = ZoneInfo("Asia/Shanghai")

CHANNELS: tuple[str, ...] = (
    "hotline_12345",
    "discipline_hotline",
    "chief_mailbox",
    "phone",
    "letter",
    "visit",
    "police_110",
    "service_window",
    "email",
    "open311",
)


def _leaf_codes() -> tuple[list[str], dict[str, str]]:
    leaves: list[str] = []
    parent: dict[str, str] = {}
    for code, _name, _kind, _handler, children in DEFAULT_TREE:
        if not children:
            leaves.append(code)
            parent[code] = code
        for child in children:
            leaves.append(child[0])
            parent[child[0]] = code
    return leaves, parent


LEAF_CODES, TOP_LEVEL_OF = _leaf_codes()

# --- volume and timing ----------------------------------------------------------------------------

# Relative channel volumes on a working day; the order matches the original system's mix.
CHANNEL_WEIGHTS: dict[str, float] = {
    "hotline_12345": 38.0,
    "phone": 15.0,
    "chief_mailbox": 11.0,
    "police_110": 9.0,
    "service_window": 8.0,
    "letter": 5.5,
    "visit": 4.5,
    "email": 3.2,
    "open311": 2.3,
    "discipline_hotline": 1.3,
}
# On rest days the halls are mostly shut and nobody opens the post.
REST_DAY_CHANNEL_FACTOR: dict[str, float] = {
    "service_window": 0.2,
    "visit": 0.15,
    "letter": 0.0,
    "discipline_hotline": 0.3,
    "phone": 0.6,
}
WORKDAY_FACTOR = 1.13  # 5 × 1.13 + 2 × 0.68 ≈ 7: per_day stays the weekly mean
REST_DAY_FACTOR = 0.68
HOLIDAY_FACTOR = 0.6
DUPLICATE_SHARE = 0.05

_OFFICE = [0, 0, 0, 0, 0, 0, 0, 0, 0.5, 1, 1, 0.8, 0.2, 0.3, 0.9, 1, 0.9, 0.4, 0, 0, 0, 0, 0, 0]
_HOTLINE = [
    0.06,
    0.04,
    0.03,
    0.03,
    0.03,
    0.05,
    0.12,
    0.3,
    0.7,
    1,
    1,
    0.85,
    0.5,
    0.55,
    0.9,
    0.95,
    0.9,
    0.7,
    0.5,
    0.45,
    0.45,
    0.4,
    0.3,
    0.15,
]
_PHONE = [
    0.03,
    0.02,
    0.02,
    0.02,
    0.02,
    0.03,
    0.08,
    0.25,
    0.8,
    1,
    1,
    0.8,
    0.4,
    0.5,
    0.9,
    1,
    0.9,
    0.6,
    0.35,
    0.3,
    0.25,
    0.2,
    0.12,
    0.06,
]
_P110 = [
    0.45,
    0.35,
    0.3,
    0.25,
    0.2,
    0.25,
    0.35,
    0.55,
    0.75,
    0.8,
    0.8,
    0.8,
    0.75,
    0.7,
    0.75,
    0.8,
    0.85,
    0.9,
    0.95,
    1,
    1,
    0.95,
    0.8,
    0.6,
]
_WEB = [
    0.15,
    0.08,
    0.04,
    0.03,
    0.03,
    0.05,
    0.12,
    0.3,
    0.6,
    0.85,
    0.9,
    0.8,
    0.6,
    0.5,
    0.7,
    0.8,
    0.8,
    0.7,
    0.6,
    0.7,
    0.85,
    0.9,
    0.7,
    0.4,
]
HOURLY_PROFILE: dict[str, list[float]] = {
    "hotline_12345": _HOTLINE,
    "discipline_hotline": _OFFICE,
    "chief_mailbox": _WEB,
    "phone": _PHONE,
    "letter": _OFFICE,
    "visit": _OFFICE,
    "police_110": _P110,
    "service_window": _OFFICE,
    "email": _WEB,
    "open311": _WEB,
}

# --- categories -----------------------------------------------------------------------------------

CATEGORY_WEIGHTS: dict[str, float] = {
    "noise": 9,
    "neighbour_dispute": 6,
    "vice": 1.5,
    "security_hazard": 3,
    "fraud": 5,
    "theft": 4,
    "illegal_parking": 8,
    "congestion": 3,
    "traffic_accident": 3,
    "traffic_facility": 2.5,
    "vehicle_registration": 2.5,
    "driving_licence": 3.5,
    "hukou": 6,
    "id_card": 4.5,
    "residence_permit": 2.5,
    "passport": 2.5,
    "hk_macao_taiwan": 2.5,
    "crime_report": 2,
    "case_progress": 2.5,
    "missing_person": 1.2,
    "lost_property": 2.5,
    "unlock": 2,
    "consultation": 5,
    "suggestion": 2,
    "conduct": 2,
    "law_enforcement": 1.5,
    "praise": 1.5,
    "other": 2.5,
}
CONSULT_CODES = frozenset(
    {
        "vehicle_registration",
        "driving_licence",
        "hukou",
        "id_card",
        "residence_permit",
        "passport",
        "hk_macao_taiwan",
        "case_progress",
        "consultation",
    }
)
EMERGENCY_CODES = frozenset({"traffic_accident", "missing_person", "unlock"})

# What each door mostly hears (multipliers on CATEGORY_WEIGHTS; unlisted = 1, "*" = everything else).
CHANNEL_CATEGORY_FACTOR: dict[str, dict[str, float]] = {
    "police_110": {
        "noise": 3,
        "neighbour_dispute": 3,
        "theft": 3,
        "traffic_accident": 5,
        "missing_person": 6,
        "unlock": 5,
        "lost_property": 2,
        "fraud": 2,
        "vice": 1.5,
        "security_hazard": 1.5,
        "crime_report": 1.5,
        "illegal_parking": 1.5,
        "congestion": 0.5,
        "traffic_facility": 0.1,
        "case_progress": 0.3,
        "suggestion": 0.02,
        "praise": 0.1,
        "conduct": 0.1,
        "law_enforcement": 0.1,
        **{code: 0.05 for code in CONSULT_CODES - {"case_progress"}},
    },
    "service_window": {
        "*": 0.02,
        "hukou": 4,
        "id_card": 5,
        "residence_permit": 4,
        "passport": 6,
        "hk_macao_taiwan": 6,
        "vehicle_registration": 6,
        "driving_licence": 6,
        "consultation": 2,
        "suggestion": 1,
        "praise": 2,
        "conduct": 1,
    },
    "discipline_hotline": {"*": 0.02, "conduct": 30, "law_enforcement": 30, "case_progress": 1, "other": 0.5},
    "visit": {
        "case_progress": 3,
        "neighbour_dispute": 2,
        "law_enforcement": 2,
        "hukou": 1.5,
        "crime_report": 1.5,
        "conduct": 1.5,
        "praise": 2,
        "unlock": 0.1,
        "traffic_accident": 0.3,
    },
    "letter": {
        "law_enforcement": 3,
        "case_progress": 2.5,
        "crime_report": 2,
        "conduct": 2,
        "suggestion": 2,
        "praise": 3,
        "hukou": 1.2,
        "unlock": 0.02,
        "missing_person": 0.05,
        "traffic_accident": 0.05,
        "lost_property": 0.2,
        "noise": 0.6,
    },
    "chief_mailbox": {
        "suggestion": 3,
        "conduct": 2,
        "law_enforcement": 2,
        "case_progress": 2,
        "praise": 2,
        "consultation": 1.5,
        "hukou": 1.5,
        "unlock": 0.05,
        "missing_person": 0.3,
        "traffic_accident": 0.2,
    },
    "email": {
        "suggestion": 3,
        "conduct": 1.5,
        "law_enforcement": 1.5,
        "case_progress": 1.5,
        "praise": 1.5,
        "consultation": 1.5,
        "passport": 1.5,
        "unlock": 0.05,
        "missing_person": 0.2,
        "traffic_accident": 0.2,
    },
    "open311": {
        "illegal_parking": 3,
        "traffic_facility": 3,
        "congestion": 2,
        "security_hazard": 2,
        "noise": 1.5,
        "unlock": 0.05,
        "missing_person": 0.1,
        "traffic_accident": 0.2,
        "conduct": 0.3,
        "law_enforcement": 0.3,
    },
    "hotline_12345": {"unlock": 0.3, "traffic_accident": 0.3},
    "phone": {code: 1.5 for code in CONSULT_CODES},
}

# Weighting of districts by appeal volume (people, and how much they use the hotlines).
DISTRICT_WEIGHTS: dict[str, float] = {
    "370102": 10,
    "370103": 10,
    "370104": 8,
    "370105": 9,
    "370112": 13,
    "370113": 5,
    "370114": 7,
    "370115": 4.5,
    "370116": 6,
    "370117": 2.5,
    "370124": 2.5,
    "370126": 3.5,
    "370176": 5,
}
URBAN_DISTRICTS = frozenset({"370102", "370103", "370104", "370105", "370112", "370176"})
# People write 高新区, not the statistical name 济南高新技术产业开发区.
DISTRICT_DISPLAY = {"370176": "高新区"}

# Where a matter is likely to be raised again by someone else (a bar annoys a whole building).
NEIGHBOUR_DUPLICATE_CODES = frozenset(
    {
        "noise",
        "illegal_parking",
        "security_hazard",
        "vice",
        "congestion",
        "traffic_facility",
        "other",
        "neighbour_dispute",
    }
)
DUPLICATE_CATEGORY_FACTOR: dict[str, float] = {
    "noise": 2.2,
    "illegal_parking": 1.5,
    "security_hazard": 1.5,
    "vice": 1.5,
    "neighbour_dispute": 1.2,
    "congestion": 1.3,
    "missing_person": 1.5,
    "praise": 0.3,
    **{code: 0.5 for code in CONSULT_CODES},
}
SAME_PERSON_NEXT_CHANNEL: dict[str, dict[str, float]] = {
    "hotline_12345": {"chief_mailbox": 4, "phone": 3, "email": 1.5, "open311": 1, "visit": 1},
    "phone": {"hotline_12345": 4, "chief_mailbox": 2},
    "police_110": {"hotline_12345": 4, "phone": 2, "visit": 1},
    "chief_mailbox": {"hotline_12345": 4, "phone": 2},
    "email": {"hotline_12345": 3, "chief_mailbox": 2},
    "open311": {"hotline_12345": 3, "chief_mailbox": 1},
    "letter": {"visit": 2, "hotline_12345": 2, "chief_mailbox": 1},
    "visit": {"hotline_12345": 2, "chief_mailbox": 1},
    "service_window": {"hotline_12345": 3, "chief_mailbox": 2},
    "discipline_hotline": {"chief_mailbox": 2, "hotline_12345": 1},
}

# --- people ---------------------------------------------------------------------------------------

ANONYMOUS_SHARE = {
    "hotline_12345": 0.08,
    "discipline_hotline": 0.25,
    "chief_mailbox": 0.12,
    "email": 0.2,
    "open311": 0.3,
    "letter": 0.15,
    "phone": 0.05,
    "police_110": 0.05,
}
HONORIFIC_SHARE = {"hotline_12345": 0.2, "phone": 0.2, "police_110": 0.15, "chief_mailbox": 0.05}
ID_NUMBER_SHARE = {
    "service_window": 0.5,
    "visit": 0.4,
    "letter": 0.15,
    "chief_mailbox": 0.08,
    "hotline_12345": 0.05,
    "police_110": 0.03,
}
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a resident ID number's first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_valid_id_number(value: str) -> bool:
    """True for an 18-character resident ID with a real birth date and a correct check character."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return id_check_digit(value[:17]) == value[17]


@dataclass
class DemoAppeal:
    """One generated appeal; see the module docstring for what is realistic about it."""

    channel: str
    received_at: datetime
    category_code: str
    title: str
    content: str
    address: str
    district_code: str
    township_code: str
    community_code: str
    appellant_name: str
    appellant_phone: str
    appellant_id_number: str
    external_ref: str
    duplicate_of_index: int | None = None
    urgent: bool = False


@dataclass
class _Place:
    kind: str  # home | landmark | road | none
    address: str = ""
    phrase: str = ""
    district_code: str = ""
    township_code: str = ""
    community_code: str = ""
    district_name: str = ""
    station: str = ""
    # What the address was built from, so a neighbour can write the same place in their own words.
    seed_parts: dict = field(default_factory=dict)


@dataclass
class _Person:
    name: str
    phone: str
    id_number: str
    female: bool


# --- gazetteer ------------------------------------------------------------------------------------


def _core(name: str) -> str:
    """Township name without 街道/镇, as in the station people name (解放路街道 → 解放路)."""
    for suffix in ("街道", "镇"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _community_display(row: Mapping[str, str]) -> str:
    short = (row.get("short_name") or row["name"]).strip()
    if row["level"] == "village":
        return short if short.endswith("村") else short + "村"
    if short.endswith(("社区", "居")):
        return short
    return short + "社区"


class _Gazetteer:
    """The divisions and communities, indexed for weighted picks."""

    def __init__(self, divisions: Sequence[Mapping[str, str]], communities: Sequence[Mapping[str, str]]):
        self.districts = {r["code"]: r for r in divisions if r["level"] == "district"}
        self.townships = {r["code"]: r for r in divisions if r["level"] == "township"}
        by_district: dict[str, list[Mapping[str, str]]] = {}
        for row in communities:
            # "other" rows are statistical leftovers (类似居委会, 虚拟社区) nobody writes as an address.
            if row["level"] not in ("community", "village"):
                continue
            township = self.townships.get(row["parent_code"])
            if township is None or township["parent_code"] != row["district_code"]:
                continue
            by_district.setdefault(row["district_code"], []).append(row)
        self.district_codes = sorted(c for c in by_district if c in self.districts)
        if not self.district_codes:
            raise ValueError("no usable communities in the gazetteer rows")
        self.district_cum = _cumulative([DISTRICT_WEIGHTS.get(c, 3.0) for c in self.district_codes])
        self.communities: dict[str, list[Mapping[str, str]]] = {}
        self.community_cum: dict[str, list[float]] = {}
        for code in self.district_codes:
            rows = sorted(by_district[code], key=lambda r: r["code"])
            urban = code in URBAN_DISTRICTS
            weights = []
            for r in rows:
                # Most people live in the 社区 of the towns, even in rural districts.
                w = (4.0 if urban else 3.0) if r["level"] == "community" else 1.0
                # A stable tenth of the communities are hot spots: the same places complain again.
                if zlib.crc32(r["code"].encode()) % 10 == 0:
                    w *= 4.0
                weights.append(w)
            self.communities[code] = rows
            self.community_cum[code] = _cumulative(weights)
        self.roads_by_district: dict[str, list[str]] = {}
        for road, dcode in texts.ROADS:
            if dcode:
                self.roads_by_district.setdefault(dcode, []).append(road)
        self.landmarks = [lm for lm in texts.LANDMARKS if lm[1] in self.districts]

    def district_name(self, code: str) -> str:
        return DISTRICT_DISPLAY.get(code) or self.districts[code]["name"]

    def township_names(self, code: str) -> tuple[str, str]:
        """(name as written, core) — the MCA full name sometimes, as people use both (文东/文化东路)."""
        row = self.townships[code]
        return row["name"], _core((row.get("mca_name") or row["name"]).strip())

    def pick_district(self, rng: random.Random) -> str:
        return self.district_codes[_pick_index(rng, self.district_cum)]

    def pick_community(self, rng: random.Random) -> Mapping[str, str]:
        district = self.pick_district(rng)
        return self.communities[district][_pick_index(rng, self.community_cum[district])]

    def id_area(self, district_code: str, township_code: str) -> str:
        """Six-digit ID area code: 370176 is statistical only, so use the MCA parent district."""
        if district_code and district_code != "370176":
            return district_code
        parent = self.townships.get(township_code, {}).get("mca_parent_code", "")
        if parent.startswith("3701") and parent != "370176":
            return parent
        return "370112"


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick_index(rng: random.Random, cum: Sequence[float]) -> int:
    return min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    keys = [k for k, w in weights.items() if w > 0]
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _estates(code: str) -> list[str]:
    """One to three estate names per community, stable across runs so hot spots repeat."""
    h = zlib.crc32(code.encode())
    out = []
    for k in range(1 + h % 3):
        hk = zlib.crc32(f"{code}:{k}".encode())
        if hk % 5 == 0:
            out.append(texts.DORMS[hk // 5 % len(texts.DORMS)])
        else:
            prefix = texts.ESTATE_PREFIXES[hk // 7 % len(texts.ESTATE_PREFIXES)]
            suffix = texts.ESTATE_SUFFIXES[hk // 11 % len(texts.ESTATE_SUFFIXES)]
            if prefix[-1] == suffix[0]:  # 翠苑苑 → 翠苑小区
                suffix = "小区"
            out.append(prefix + suffix)
    return out


def _building(rng: random.Random) -> str:
    n = rng.randint(1, 30)
    unit = rng.randint(1, 4)
    room = f"{rng.randint(1, 18)}0{rng.randint(1, 4)}"
    return rng.choice(
        [
            "",
            "",
            f"{n}号楼",
            f"{n}号楼{unit}单元",
            f"{n}号楼{unit}单元{room}",
            f"{n}栋",
            f"{n}号楼{unit}单元门口",
            f"{n}号楼下",
        ]
    )


def _home_place(
    rng: random.Random, gaz: _Gazetteer, row: Mapping[str, str] | None = None, estate: str | None = None
) -> _Place:
    """A residence. ``row``/``estate`` given: the same place written again by someone else."""
    row = row or gaz.pick_community(rng)
    dcode, tcode = row["district_code"], row["parent_code"]
    dname = gaz.district_name(dcode)
    tname, tcore = gaz.township_names(tcode)
    # Half the time people use the MCA full township name if it differs (文化东路街道 for 文东街道).
    mca = (gaz.townships[tcode].get("mca_name") or "").strip()
    if mca and mca != tname and rng.random() < 0.5:
        tname = mca
    cname = _community_display(row)
    is_village = row["level"] == "village"
    station = f"{tcore}派出所" if gaz.townships[tcode]["kind"] in ("街道", "镇") else ""
    if is_village:
        spot = rng.choice(["", "", "村东头", "村委会旁边", f"{rng.randint(1, 300)}号", "村西", "村南边"])
        form = rng.choices(
            [
                f"{dname}{tname}{cname}{spot}",
                f"济南市{dname}{tname}{cname}{spot}",
                f"{tname}{cname}{spot}",
                f"{cname}{spot}",
            ],
            weights=[3, 1, 2, 1],
        )[0]
        return _Place(
            "home", form, cname, dcode, tcode, row["code"], dname, station, {"row": row, "estate": ""}
        )
    estate = estate or rng.choice(_estates(row["code"]))
    bldg = _building(rng)
    roads = gaz.roads_by_district.get(dcode, [])
    forms: list[tuple[str, float]] = [
        (f"济南市{dname}{tname}{cname}{estate}{bldg}", 2),
        (f"{dname}{tname}{cname}{estate}{bldg}", 3),
        (f"{dname}{estate}{bldg}", 3),
        (f"{tname}{cname}{estate}", 1.5),
        (f"{cname}{estate}{bldg}", 1.5),
        (f"{estate}{bldg}", 1),
        (f"{tcore}那边的{estate}", 0.7),
    ]
    if roads:
        forms.append((f"{dname}{rng.choice(roads)}{rng.randint(1, 400)}号{estate}", 1))
    address = rng.choices([f for f, _ in forms], weights=[w for _, w in forms])[0]
    phrase = estate if rng.random() < 0.7 else cname
    return _Place(
        "home", address, phrase, dcode, tcode, row["code"], dname, station, {"row": row, "estate": estate}
    )


def _landmark_place(
    rng: random.Random, gaz: _Gazetteer, landmark: tuple[str, str, str] | None = None
) -> _Place:
    name, dcode, tcode = landmark or rng.choice(gaz.landmarks)
    if tcode not in gaz.townships:
        tcode = ""
    dname = gaz.district_name(dcode)
    spot = rng.choice(["附近", "北门", "东门口", "西侧路边", "门口", "南边", "广场上", ""])
    address = rng.choices(
        [f"{name}{spot}", f"{dname}{name}{spot}", f"济南市{dname}{name}"], weights=[4, 2, 1]
    )[0]
    phrase = name  # templates add 附近/门口 themselves
    station = ""
    if tcode:
        station = f"{gaz.township_names(tcode)[1]}派出所"
    return _Place(
        "landmark", address, phrase, dcode, tcode, "", dname, station, {"landmark": (name, dcode, tcode)}
    )


def _road_place(rng: random.Random, gaz: _Gazetteer, road: tuple | None = None) -> _Place:
    if road is None:
        if rng.random() < 0.6:
            road = ("x", *rng.choice(texts.INTERSECTIONS))
        else:
            road = ("r", *rng.choice(texts.ROADS))
    if road[0] == "x":
        _, a, b, dcode = road
        phrase = rng.choice([f"{a}与{b}交叉口", f"{a}{b}路口", f"{a}和{b}路口"])
        address = phrase + rng.choice(["", "", "往东100米", "西南角", "附近", "北侧"])
    else:
        _, a, dcode = road
        phrase = a
        address = rng.choice([f"{a}{rng.randint(1, 20000)}号附近", f"{a}上", f"{a}{rng.randint(1, 900)}号"])
    dname = ""
    if dcode and dcode in gaz.districts:
        dname = gaz.district_name(dcode)
        if rng.random() < 0.4:
            address = dname + address
    else:
        dcode = ""
    return _Place("road", address, phrase, dcode, "", "", dname, "", {"road": road})


def _place_for(rng: random.Random, gaz: _Gazetteer, code: str) -> _Place:
    kind = _weighted(rng, texts.CATEGORY_TEXTS[code]["place"])
    if kind == "home":
        return _home_place(rng, gaz)
    if kind == "landmark" and gaz.landmarks:
        return _landmark_place(rng, gaz)
    if kind in ("road", "landmark"):
        return _road_place(rng, gaz)
    return _Place("none")


def _same_place_again(rng: random.Random, gaz: _Gazetteer, place: _Place) -> _Place:
    """The same place as another person writes it (same codes, other words)."""
    parts = place.seed_parts
    if place.kind == "home":
        return _home_place(rng, gaz, parts["row"], parts["estate"] or None)
    if place.kind == "landmark":
        return _landmark_place(rng, gaz, parts["landmark"])
    if place.kind == "road":
        return _road_place(rng, gaz, parts["road"])
    return _Place("none")


# --- people ---------------------------------------------------------------------------------------


def _mobile(rng: random.Random) -> str:
    return rng.choice(texts.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _person(
    rng: random.Random, gaz: _Gazetteer, channel: str, code: str, day: date, place: _Place
) -> _Person:
    female = rng.random() < 0.5
    age = min(86, max(18, int(rng.gauss(45, 14))))
    surname = rng.choices([s for s, _ in texts.SURNAMES], weights=[w for _, w in texts.SURNAMES])[0]
    generation = "older" if age >= 48 else "younger"
    given = rng.choice(texts.GIVEN_NAMES[(generation, "F" if female else "M")])
    roll = rng.random()
    anonymous = roll < ANONYMOUS_SHARE.get(channel, 0.0)
    if anonymous:
        name = ""
    elif roll < ANONYMOUS_SHARE.get(channel, 0.0) + HONORIFIC_SHARE.get(channel, 0.03):
        name = surname + ("女士" if female else "先生")
    else:
        name = surname + given
    if anonymous and channel == "letter" and rng.random() < 0.7:
        phone = ""  # an anonymous letter usually gives no way back
    elif rng.random() < (0.15 if age > 60 else 0.03):
        phone = f"0531-8{rng.randrange(10**7):07d}"
    else:
        phone = _mobile(rng)
    id_share = ID_NUMBER_SHARE.get(channel, 0.02)
    if TOP_LEVEL_OF.get(code) in ("household", "exit_entry", "vehicle_licence"):
        id_share *= 1.5
    id_number = ""
    if not anonymous and rng.random() < id_share:
        area = gaz.id_area(place.district_code, place.township_code)
        if not place.district_code:
            area = gaz.id_area(gaz.pick_district(rng), "")
        born = date(day.year - age, 1, 1) + timedelta(days=rng.randrange(365))
        seq = rng.randrange(1000)
        if (seq % 2 == 1) != (not female):  # 17th digit: odd for men, even for women
            seq ^= 1
        first17 = f"{area}{born:%Y%m%d}{seq:03d}"
        id_number = first17 + id_check_digit(first17)
    return _Person(name, phone, id_number, female)


# --- text rendering -------------------------------------------------------------------------------

_SLOT_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _plate(rng: random.Random) -> str:
    if rng.random() < 0.2:  # new-energy plates: D/F plus five digits
        return "鲁A" + rng.choice("DF") + f"{rng.randrange(10**5):05d}"
    chars = [rng.choice("0123456789") for _ in range(5)]
    for pos in rng.sample(range(5), rng.choice([0, 1, 1, 2])):
        chars[pos] = rng.choice(_PLATE_LETTERS)
    return "鲁A" + "".join(chars)


def _amount(rng: random.Random) -> str:
    value = rng.choice([680, 1200, 2000, 3800, 5000, 8600, 12000, 23000, 38000, 56000, 120000, 300000])
    value = int(value * rng.uniform(0.8, 1.25)) // 100 * 100 or 500
    if value >= 10000 and rng.random() < 0.5:
        return f"{value / 10000:.1f}".rstrip("0").rstrip(".") + "万"
    return str(value)


GENERATED_SLOTS = {"plate": _plate, "amount": _amount}


def _tag_ok(tag: str | None, kind: str) -> bool:
    return tag != "home" or kind == "home"


class _Renderer:
    """Fills ``{slot}`` templates for one text; a slot name resolves once per text."""

    def __init__(
        self,
        rng: random.Random,
        *,
        code: str,
        voice: str,
        place: _Place,
        pins: Mapping[str, object] | None = None,
    ):
        self.rng = rng
        self.entry = texts.CATEGORY_TEXTS[code]
        self.place = place
        self.voice = texts.VOICES[voice]
        self.raw: dict[str, object] = dict(pins or {})
        self.done: dict[str, str] = {}
        self.context: dict[str, str | list[str]] = {
            "place": place.phrase or "{our}小区",
            "addr": place.address or "{our}小区",
            "district": place.district_name or "济南",
            "station": place.station or ["派出所", "辖区派出所", "当地派出所"],
        }
        self._depth = 0

    def fill(self, template: str) -> str:
        self._depth += 1
        if self._depth > 12:
            raise RecursionError(f"slot recursion in {template!r}")
        try:
            return _SLOT_RE.sub(lambda m: self.value(m.group(1)), template)
        finally:
            self._depth -= 1

    def value(self, name: str) -> str:
        if name in self.done:
            return self.done[name]
        if name in self.voice:
            value = self.voice[name]
        elif name in self.context:
            value = self.context[name]
            if isinstance(value, list):
                value = self.rng.choice(value)
            value = self.fill(value)
        elif (group := self._group_of(name)) is not None:
            self._pick_group(group)
            return self.done[name]
        elif name in GENERATED_SLOTS:
            if name not in self.raw:
                self.raw[name] = GENERATED_SLOTS[name](self.rng)
            value = str(self.raw[name])
        else:
            options = self.entry.get("slots", {}).get(name)
            if options is None:
                options = texts.COMMON_SLOTS[name]
            if name in self.raw:
                value = str(self.raw[name])
            else:
                value = self.rng.choice(options)
                if name in self.entry.get("slots", {}):
                    self.raw[name] = value  # category slots are part of the matter: keep for duplicates
            value = self.fill(value)
        self.done[name] = value
        return value

    def _group_of(self, name: str) -> str | None:
        for group, options in self.entry.get("groups", {}).items():
            if name in options[0]:
                return group
        return None

    def _pick_group(self, group: str) -> None:
        key = "@" + group
        picked = self.raw.get(key)
        if not isinstance(picked, dict):
            options = [o for o in self.entry["groups"][group] if _tag_ok(o.get("_tag"), self.place.kind)]
            picked = self.rng.choice(options or self.entry["groups"][group])
            self.raw[key] = picked
        for k, v in picked.items():
            self.done[k] = v if k.startswith("_") else self.fill(v)

    def pins(self) -> dict[str, object]:
        """The choices that define the matter itself (for a same-matter duplicate)."""
        return dict(self.raw)


def _template_tag(template: str) -> tuple[str | None, str]:
    if template.startswith("[home]"):
        return "home", template[len("[home]") :]
    return None, template


def _mode(code: str) -> str:
    if code in CONSULT_CODES:
        return "ask"
    if code == "praise":
        return "praise"
    if code == "suggestion":
        return "suggest"
    return "report"


_DETAIL_COUNTS = {
    "police_110": (0, 0, 1),
    "hotline_12345": (0, 1, 1, 2),
    "discipline_hotline": (1, 1, 2),
    "phone": (0, 1, 1),
    "visit": (1, 1, 2),
    "service_window": (0, 0, 1),
    "chief_mailbox": (1, 2, 2, 3),
    "email": (1, 1, 2),
    "letter": (2, 2, 3),
    "open311": (0, 0, 1),
}
TITLED_CHANNELS = frozenset({"chief_mailbox", "email", "open311", "hotline_12345", "letter"})


@dataclass
class _Text:
    title: str
    content: str
    pins: dict
    matter: int
    urgent: bool


_LEADING_LABEL = re.compile(
    r"^(?:求助：|举报：|投诉：|报案：|报警：|提供线索：|反映一下，|反映[^：，。]{0,20}：|反映(?=[^：]))"
)
_QUESTION_WORDS = (
    "吗",
    "么",
    "什么",
    "哪",
    "多久",
    "多长",
    "能不能",
    "是否",
    "怎样",
    "几点",
    "有没有",
    "没有",
    "要不要",
    "需不需要",
    "上不上",
    "怎么",
    "如何",
)


def _is_question(core: str) -> bool:
    last = re.split(r"[，。]", core)[-1]
    return any(w in last for w in _QUESTION_WORDS)


_WEAK_CLAUSE_STARTS = ("是", "要", "作为", "对", "想问", "麻烦问", "您好")
_WEAK_CLAUSE_WORDS = ("住在", "住户", "家住", "家在", "反映", "有个建议", "表扬一下")


def _first_clause(text: str) -> str:
    """The first clause that says what the matter is ("" if none does: use a title template)."""
    for clause in re.split(r"[，。？！：；\n]", text):
        clause = clause.strip()
        if clause.startswith("其"):
            clause = clause[1:]
        if len(clause) < 5 or clause.startswith(_WEAK_CLAUSE_STARTS):
            continue
        if any(w in clause for w in _WEAK_CLAUSE_WORDS):
            continue
        return clause[:30]
    return ""


def _title(r: _Renderer, rng: random.Random, entry: Mapping, place: _Place, fix) -> str:
    # A title names the place only if there is one ("关于暴力催收的线索", not "关于其所在小区…").
    template = rng.choice(entry["titles"]).replace("{place}", place.phrase)
    return fix(r.fill(template))


def _write(
    rng: random.Random,
    *,
    code: str,
    channel: str,
    place: _Place,
    person: _Person,
    received: datetime,
    pins: Mapping[str, object] | None = None,
    avoid_matter: int | None = None,
    note: str | None = None,
) -> _Text:
    entry = texts.CATEGORY_TEXTS[code]
    first = channel in texts.FIRST_PERSON_CHANNELS
    r = _Renderer(rng, code=code, voice="first" if first else "third", place=place, pins=pins)
    mode = _mode(code)

    def fix(text: str) -> str:
        # Third person: "其的车" is not Chinese; the possessive 的 goes away after 其.
        return text if first else text.replace("其的", "其")

    candidates = [i for i, t in enumerate(entry["matters"]) if _tag_ok(_template_tag(t)[0], place.kind)]
    if avoid_matter is not None and len(candidates) > 1:
        # "Other words" for the same matter: a different sentence, same bar/plate/amount.
        candidates = [i for i in candidates if i != avoid_matter]
    matter = rng.choice(candidates)
    core = fix(r.fill(_template_tag(entry["matters"][matter])[1]))
    if label := _LEADING_LABEL.match(core):
        # "报警人称：报警：…" reads wrong; a recorded text already says what kind of report it is.
        if not first or label.group(0).endswith("："):
            core = core[label.end() :]

    # "_plain" matters (an old family search) have none of the category's urgent details.
    count = 0 if r.done.get("_plain") == "1" else rng.choice(_DETAIL_COUNTS[channel])
    details = [fix(r.fill(d)) for d in rng.sample(entry["details"], min(count, len(entry["details"])))]
    if note:
        details.insert(0, fix(r.fill(note)))
    wants_ask = rng.random() < {"police_110": 0.3, "service_window": 0.5}.get(channel, 0.9)
    ask = fix(r.fill(rng.choice(entry["asks"]))) if wants_ask else ""
    if ask and not first and ask.startswith(("希望", "要求", "建议")):
        ask = rng.choice(texts.ASKERS.get(channel, [""])) + ask

    body = core + ("？" if mode == "ask" and _is_question(core) else "")
    for i, d in enumerate(details):
        if body.endswith("？"):
            body += d
        else:
            body += ("，" if i == 0 or rng.random() < 0.6 else "。") + d
    if not body.endswith(("。", "？")):
        body += "。"
    if ask:
        body += ask + ("！" if first and rng.random() < 0.2 else "。")

    prefixes = texts.PREFIXES[channel]
    prefix = rng.choice(prefixes.get(mode) or prefixes["report"])
    closing = rng.choice(texts.CLOSINGS.get(channel, [""]))
    if channel == "letter":
        signed = person.name or rng.choice(["一位老市民", "一名群众", "知情人"])
        written = received.date() - timedelta(days=rng.randint(2, 6))
        dated = f"{written.year}年{written.month}月{written.day}日"
        # Letters open each paragraph with two full-width spaces and end with signature and date.
        content = f"{prefix}\u3000\u3000{body}\n{closing}\n{signed}\n{dated}"
    elif first:
        content = prefix + body + (("\n" if rng.random() < 0.5 else "") + closing if closing else "")
    else:
        content = prefix + body + closing

    if channel in TITLED_CHANNELS:
        title = _title(r, rng, entry, place, fix)
    else:
        title = _first_clause(core)
    if not title:
        title = _title(r, rng, entry, place, fix)
    return _Text(title, content, r.pins(), matter, r.done.get("_urgent") == "1")


# --- public helpers for the handling side ---------------------------------------------------------


def _fill_plain(rng: random.Random, template: str) -> str:
    return _SLOT_RE.sub(lambda m: rng.choice(texts.COMMON_SLOTS.get(m.group(1), [""])), template)


def reply_for(category_code: str, rng: random.Random) -> str:
    """The one answer (一口回复) a unit gives the citizen on completion, for a category code."""
    bodies = texts.REPLY_BODIES.get(category_code)
    if bodies is None:
        # A top-level code with children: any of its children's answers fits.
        children = [c for c in LEAF_CODES if TOP_LEVEL_OF[c] == category_code]
        bodies = [b for c in children for b in texts.REPLY_BODIES.get(c, [])] or texts.REPLY_BODIES[
            "_generic"
        ]
    parts = [rng.choice(texts.REPLY_OPENINGS), rng.choice(bodies), rng.choice(texts.REPLY_CLOSINGS)]
    return _fill_plain(rng, "".join(parts))


def progress_note_for(category_code: str, rng: random.Random) -> str:
    """An internal progress note (办理过程) as a handling officer records it."""
    top = TOP_LEVEL_OF.get(category_code, category_code)
    notes = texts.PROGRESS_NOTES.get(top) or texts.PROGRESS_NOTES["_generic"]
    picked = rng.sample(notes, min(len(notes), rng.choice([1, 1, 2])))
    return "；".join(picked) + "。"


_RETURN_HINTS = {
    "noise": ["施工噪音应由城管、住建部门处理"],
    "other": [
        "应由城管部门处理（占道经营、私搭乱建）",
        "物业纠纷应由住建部门处理",
        "劳资纠纷应由人社部门处理",
        "消费纠纷应由市场监管部门处理",
        "井盖、路灯等市政设施应由市政部门处理",
    ],
    "illegal_parking": ["属交警部门职责，请转交警大队"],
    "congestion": ["属交警部门职责，请转交警大队"],
    "passport": ["属出入境管理部门职责"],
    "hk_macao_taiwan": ["属出入境管理部门职责"],
}


def return_reason(rng: random.Random, category_code: str | None = None) -> str:
    """Why a unit sends a case back (退单). With a category, a fitting reason is more likely."""
    if category_code is None:
        return rng.choice(texts.RETURN_REASONS)
    hints = _RETURN_HINTS.get(category_code, [])
    if hints and rng.random() < 0.6:
        return rng.choice(hints)
    # Otherwise only reasons that make sense for any matter (a noise case is not "for the traffic police").
    return rng.choice(texts.RETURN_REASONS_ANY)


# --- the stream -----------------------------------------------------------------------------------


def _day_kind(day: date) -> str:
    """workday | rest | holiday, using the official calendar where it is known."""
    try:
        import chinese_calendar

        if chinese_calendar.is_workday(day):
            return "workday"
        return "holiday" if chinese_calendar.is_holiday(day) and day.weekday() < 5 else "rest"
    except (ImportError, NotImplementedError):
        return "workday" if day.weekday() < 5 else "rest"


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _category_weights(channel: str, hour: int, day: date) -> dict[str, float]:
    factors = CHANNEL_CATEGORY_FACTOR.get(channel, {})
    default = factors.get("*", 1.0)
    month = day.month
    summer = month in (6, 7, 8, 9)
    evening = hour >= 19 or hour < 2
    night = hour >= 22 or hour < 5
    out = {}
    for code in LEAF_CODES:
        w = CATEGORY_WEIGHTS[code] * factors.get(code, default)
        if code == "noise":
            w *= (1.5 if summer else 1.0) * ((2.5 if summer else 1.4) if evening else 1.0)
            if month == 8 and 10 <= day.day <= 25:  # the mid-August peak the original system saw
                w *= 1.5
        elif code == "neighbour_dispute" and evening:
            w *= 1.3
        elif code in ("vice", "unlock") and night:
            w *= 1.5
        elif code in ("passport", "hk_macao_taiwan") and month in (1, 6, 7):
            w *= 1.5
        elif code == "hukou" and month in (6, 7, 8):  # school enrolment needs the hukou in order
            w *= 1.6
        elif code == "residence_permit" and month in (7, 8):
            w *= 1.4
        elif code == "theft" and summer:
            w *= 1.2
        if code in CONSULT_CODES and 0 <= hour < 6 and channel not in ("chief_mailbox", "email", "open311"):
            w *= 0.3
        out[code] = w
    return out


def _at(day: date, hour: int, rng: random.Random) -> datetime:
    return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=TZ)


def _time_after(rng: random.Random, channel: str, earliest: datetime) -> datetime:
    """A plausible time for ``channel`` after ``earliest``; office channels wait for office hours."""
    profile = HOURLY_PROFILE[channel]
    day = earliest.date()
    for _ in range(10):
        if REST_DAY_CHANNEL_FACTOR.get(channel, 1.0) > 0 or _day_kind(day) == "workday":
            start = earliest.hour if day == earliest.date() else 0
            hours = [h for h in range(start, 24) if profile[h] > 0]
            if hours:
                hour = rng.choices(hours, weights=[profile[h] for h in hours])[0]
                dt = _at(day, hour, rng)
                if dt <= earliest:
                    dt = earliest + timedelta(minutes=rng.randint(5, 50))
                return dt
        day += timedelta(days=1)
    return earliest + timedelta(hours=1)


class _Refs:
    """Per-channel, per-day increasing reference numbers."""

    FORMATS = {
        "hotline_12345": ("JN{d}{n:06d}", (80, 400), (3, 60)),
        "police_110": ("J3701{d}{n:05d}", (1, 50), (1, 12)),
        "chief_mailbox": ("JZXX{d}{n:04d}", (1, 20), (1, 5)),
        "discipline_hotline": ("JW{d}{n:04d}", (1, 10), (1, 4)),
        "open311": ("311-{d}-{n:05d}", (1, 30), (1, 7)),
    }

    def __init__(self) -> None:
        self.last: dict[tuple[str, date], int] = {}

    def next(self, rng: random.Random, channel: str, day: date) -> str:
        fmt = self.FORMATS.get(channel)
        if fmt is None:
            return ""
        pattern, start, step = fmt
        key = (channel, day)
        n = self.last[key] + rng.randint(*step) if key in self.last else rng.randint(*start)
        self.last[key] = n
        return pattern.format(d=f"{day:%Y%m%d}", n=n)


@dataclass(order=True)
class _Pending:
    at: datetime
    order: int
    original: int = field(compare=False)
    spec: dict = field(compare=False)


def generate_appeals(
    *,
    days: int,
    seed: int,
    end: date,
    divisions: Sequence[Mapping[str, str]],
    communities: Sequence[Mapping[str, str]],
    per_day: float = 40.0,
) -> Iterator[DemoAppeal]:
    """Yield appeals received over ``days`` days ending on ``end`` (inclusive), oldest first.

    ``divisions``/``communities``: rows of the Jinan gazetteer CSVs as dicts of strings.
    ``per_day``: mean appeals per day over a week, duplicates included. Deterministic in all arguments.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    rng = random.Random(seed)
    gaz = _Gazetteer(divisions, communities)
    refs = _Refs()
    pending: list[_Pending] = []
    order = 0
    index = 0
    start = end - timedelta(days=days - 1)

    def build(
        channel: str,
        code: str,
        received: datetime,
        *,
        place: _Place,
        person: _Person,
        pins=None,
        avoid=None,
        note=None,
        dup_of=None,
    ) -> tuple[DemoAppeal, _Text]:
        text = _write(
            rng,
            code=code,
            channel=channel,
            place=place,
            person=person,
            received=received,
            pins=pins,
            avoid_matter=avoid,
            note=note,
        )
        appeal = DemoAppeal(
            channel=channel,
            received_at=received,
            category_code=code,
            title=text.title,
            content=text.content,
            address=place.address,
            district_code=place.district_code,
            township_code=place.township_code,
            community_code=place.community_code,
            appellant_name=person.name,
            appellant_phone=person.phone,
            appellant_id_number=person.id_number,
            external_ref=refs.next(rng, channel, received.date()),
            duplicate_of_index=dup_of,
            urgent=text.urgent,
        )
        return appeal, text

    def maybe_schedule(appeal: DemoAppeal, text: _Text, place: _Place, person: _Person, at: int) -> None:
        nonlocal order
        # Odds per original for DUPLICATE_SHARE of the total; 0.95 offsets the category factors' mean
        # and the skips below (measured: 4–5.7% of the stream, mean 4.9%, over 20 seeds).
        base = DUPLICATE_SHARE / (1 - DUPLICATE_SHARE)
        if rng.random() >= base * DUPLICATE_CATEGORY_FACTOR.get(appeal.category_code, 1.0) * 0.95:
            return
        code = appeal.category_code
        neighbour = code in NEIGHBOUR_DUPLICATE_CODES and place.kind != "none" and rng.random() < 0.5
        if not neighbour and not person.phone:
            return  # an anonymous letter writer with no phone does not turn up on the hotline
        if neighbour:
            channel = _weighted(rng, CHANNEL_WEIGHTS)
            earliest = appeal.received_at + timedelta(hours=rng.uniform(0.5, 72))
        else:
            channel = _weighted(rng, SAME_PERSON_NEXT_CHANNEL[appeal.channel])
            earliest = appeal.received_at + timedelta(
                hours=rng.choice([rng.uniform(1, 6), rng.uniform(18, 30), rng.uniform(40, 56)])
            )
        when = _time_after(rng, channel, earliest)
        spec = {
            "neighbour": neighbour,
            "channel": channel,
            "code": code,
            "place": place,
            "person": person,
            "pins": text.pins,
            "matter": text.matter,
        }
        heapq.heappush(pending, _Pending(when, order, at, spec))
        order += 1

    def emit_duplicate(item: _Pending) -> DemoAppeal:
        s = item.spec
        if s["neighbour"]:
            place = _same_place_again(rng, gaz, s["place"])
            person = _person(rng, gaz, s["channel"], s["code"], item.at.date(), place)
            note = rng.choice(texts.DUPLICATE_NEIGHBOUR_NOTES) if rng.random() < 0.4 else None
        else:
            place, person = s["place"], s["person"]
            note = rng.choice(texts.DUPLICATE_SAME_PERSON_NOTES) if rng.random() < 0.6 else None
        appeal, _ = build(
            s["channel"],
            s["code"],
            item.at,
            place=place,
            person=person,
            pins=s["pins"],
            avoid=s["matter"],
            note=note,
            dup_of=item.original,
        )
        return appeal

    for offset in range(days):
        day = start + timedelta(days=offset)
        kind = _day_kind(day)
        day_factor = {"workday": WORKDAY_FACTOR, "rest": REST_DAY_FACTOR, "holiday": HOLIDAY_FACTOR}[kind]
        season = 1 + 0.08 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 210) / 365.25)
        count = _poisson(rng, per_day * (1 - DUPLICATE_SHARE) * day_factor * season)
        channel_weights = {
            c: w * (1.0 if kind == "workday" else REST_DAY_CHANNEL_FACTOR.get(c, 1.0))
            for c, w in CHANNEL_WEIGHTS.items()
        }
        drafts = []
        for _ in range(count):
            channel = _weighted(rng, channel_weights)
            profile = HOURLY_PROFILE[channel]
            hour = rng.choices(range(24), weights=profile)[0]
            drafts.append((_at(day, hour, rng), channel))
        drafts.sort()
        for received, channel in drafts:
            while pending and pending[0].at <= received:
                yield emit_duplicate(heapq.heappop(pending))
                index += 1
            code = _weighted(rng, _category_weights(channel, received.hour, day))
            place = _place_for(rng, gaz, code)
            person = _person(rng, gaz, channel, code, day, place)
            appeal, text = build(channel, code, received, place=place, person=person)
            yield appeal
            maybe_schedule(appeal, text, place, person, index)
            index += 1
        next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=TZ)
        while pending and pending[0].at < next_midnight:
            yield emit_duplicate(heapq.heappop(pending))
            index += 1
    # Duplicates that would arrive after ``end`` are dropped: the window is closed.
