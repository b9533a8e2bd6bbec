"""Tests for the demo appeal generator: determinism, coverage, gazetteer consistency, realism checks.

Plain pytest, no database. The gazetteer CSVs are read from the repo fixture copy when it exists,
else from the shared data directory.
"""

import csv
import random
import re
import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from minsheng.categories.defaults import DEFAULT_TREE
from minsheng.demo import texts
from minsheng.demo.generator import (
    CHANNELS,
    LEAF_CODES,
    TZ,
    DemoAppeal,
    generate_appeals,
    id_check_digit,
    is_valid_id_number,
    progress_note_for,
    reply_for,
    return_reason,
)

_CANDIDATES = [
    Path(__file__).resolve().parents[2] / "divisions" / "fixtures" / "jinan",
    Path("/work/shared/data/jinan"),
]
END = date(2026, 8, 31)
MOBILE = re.compile(r"^1(3\d|5[0-35-9]|7[0135-8]|8\d|9[135-9])\d{8}$")
LANDLINE = re.compile(r"^0531-8\d{7}$")


def _data_dir() -> Path:
    for path in _CANDIDATES:
        if (path / "divisions.csv").exists() and (path / "communities.csv").exists():
            return path
    pytest.skip("Jinan gazetteer CSVs not found")


def _read(name: str) -> list[dict[str, str]]:
    with open(_data_dir() / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def gazetteer() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    return _read("divisions.csv"), _read("communities.csv")


def _generate(gazetteer, **kwargs) -> list[DemoAppeal]:
    divisions, communities = gazetteer
    args = {"days": 90, "seed": 42, "end": END, "per_day": 40.0} | kwargs
    return list(generate_appeals(divisions=divisions, communities=communities, **args))


@pytest.fixture(scope="module")
def appeals(gazetteer) -> list[DemoAppeal]:
    return _generate(gazetteer)


def test_same_seed_same_sequence_and_different_seed_differs(gazetteer, appeals):
    assert _generate(gazetteer) == appeals
    other = _generate(gazetteer, seed=43)
    assert [a.content for a in other[:50]] != [a.content for a in appeals[:50]]


def test_window_order_and_timezone(appeals):
    assert appeals, "90 days at 40/day must produce appeals"
    first = datetime(2026, 6, 3, tzinfo=TZ)
    last = datetime(2026, 9, 1, tzinfo=TZ)
    for a in appeals:
        assert a.received_at.tzinfo is not None and a.received_at.utcoffset() == timedelta(hours=8)
        assert first <= a.received_at < last
    assert [a.received_at for a in appeals] == sorted(a.received_at for a in appeals)


def test_zero_days_yields_nothing(gazetteer):
    assert _generate(gazetteer, days=0) == []


def test_volume_follows_per_day(gazetteer, appeals):
    assert 30 <= len(appeals) / 90 <= 50
    light = _generate(gazetteer, days=30, per_day=5)
    assert 2 <= len(light) / 30 <= 8


def test_every_leaf_category_is_covered_over_90_days(appeals):
    assert set(LEAF_CODES) == {a.category_code for a in appeals}


def test_leaf_codes_match_the_default_tree():
    expected = set()
    for code, _name, _kind, _handler, children in DEFAULT_TREE:
        expected |= {c[0] for c in children} if children else {code}
    assert set(LEAF_CODES) == expected
    assert set(texts.CATEGORY_TEXTS) == expected


@pytest.mark.parametrize("code", LEAF_CODES)
def test_each_category_has_varied_templates(code):
    entry = texts.CATEGORY_TEXTS[code]
    groups = entry.get("groups", {})
    variants = max([len(entry["matters"])] + [len(v) for v in groups.values()])
    assert variants >= 3
    assert len(entry["matters"]) >= 2 or groups
    assert entry["asks"] and entry["titles"] and entry["details"]
    assert sum(entry["place"].values()) > 0


def test_channels_and_mix(appeals):
    counts = Counter(a.channel for a in appeals)
    assert set(counts) <= set(CHANNELS)
    assert counts.most_common(1)[0][0] == "hotline_12345"
    assert counts["phone"] > counts["email"] > counts["discipline_hotline"]
    discipline = [a.category_code for a in appeals if a.channel == "discipline_hotline"]
    assert discipline
    conduct = sum(c in ("conduct", "law_enforcement") for c in discipline)
    assert conduct / len(discipline) > 0.7


def test_codes_exist_and_nest(gazetteer, appeals):
    divisions, communities = gazetteer
    parent = {r["code"]: r["parent_code"] for r in divisions}
    levels = {r["code"]: r["level"] for r in divisions}
    community_township = {r["code"]: r["parent_code"] for r in communities}
    with_place = 0
    for a in appeals:
        if a.district_code:
            with_place += 1
            assert levels[a.district_code] == "district"
        if a.township_code:
            assert levels[a.township_code] == "township"
            assert parent[a.township_code] == a.district_code
        if a.community_code:
            assert community_township[a.community_code] == a.township_code
        if not a.district_code:
            assert not a.township_code and not a.community_code
    assert with_place / len(appeals) > 0.5


def test_address_text_names_real_places(gazetteer, appeals):
    divisions, _ = gazetteer
    names = {r["code"]: r["name"] for r in divisions}
    assert any(a.address == "" for a in appeals)
    # Several address styles: with the city, with the district, and without any division name.
    assert any(a.address.startswith("济南市") for a in appeals)
    assert any(
        a.community_code and not any(n in a.address for n in ("区", "县", "街道", "镇")) for a in appeals
    )
    matched = sum(names[a.district_code] in a.address for a in appeals if a.district_code in names)
    assert matched > 0


def test_landmarks_and_roads_have_valid_codes(gazetteer):
    divisions, _ = gazetteer
    parent = {r["code"]: r["parent_code"] for r in divisions}
    for _name, district, township in texts.LANDMARKS:
        assert district in parent
        if township:
            assert parent[township] == district
    for _road, district in texts.ROADS:
        assert district == "" or district in parent
    roads = {road for road, _ in texts.ROADS}
    for a, b, district in texts.INTERSECTIONS:
        assert a in roads or b in roads
        assert district == "" or district in parent


def test_phones_are_realistic(appeals):
    landlines = 0
    for a in appeals:
        phone = a.appellant_phone
        if phone == "":
            assert a.channel == "letter" and a.appellant_name == ""
        elif LANDLINE.match(phone):
            landlines += 1
        else:
            assert MOBILE.match(phone), phone
    assert 0 < landlines < len(appeals) * 0.15


def test_id_numbers_are_valid_and_local(appeals):
    ids = [a for a in appeals if a.appellant_id_number]
    assert 0.02 < len(ids) / len(appeals) < 0.3
    for a in ids:
        number = a.appellant_id_number
        assert is_valid_id_number(number), number
        assert number.startswith("3701")
        if a.district_code and a.district_code != "370176":
            assert number[:6] == a.district_code
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        age = (a.received_at.date() - born).days / 365.25
        assert 17 <= age <= 88
        if a.appellant_name.endswith("女士"):
            assert int(number[16]) % 2 == 0
        if a.appellant_name.endswith("先生"):
            assert int(number[16]) % 2 == 1


def test_id_check_digit_known_example():
    assert id_check_digit("11010519491231002") == "X"
    assert is_valid_id_number("11010519491231002X")
    assert not is_valid_id_number("110105194912310021")
    assert not is_valid_id_number("110105194902300027")  # 30 February


def test_names(appeals):
    named = [a.appellant_name for a in appeals if a.appellant_name]
    assert 0.02 < 1 - len(named) / len(appeals) < 0.25
    assert any(n.endswith(("女士", "先生")) for n in named)
    assert all(2 <= len(n) <= 4 for n in named)
    assert len(set(named)) > len(named) * 0.3


def test_weekdays_are_busier_than_weekends(appeals):
    per_day = Counter(a.received_at.date() for a in appeals)
    weekday = [n for d, n in per_day.items() if d.weekday() < 5]
    weekend = [n for d, n in per_day.items() if d.weekday() >= 5]
    assert statistics.mean(weekday) > statistics.mean(weekend) * 1.2


def test_hourly_distribution_peaks_in_daytime(appeals):
    hours = Counter(a.received_at.hour for a in appeals)
    peak = max(range(24), key=lambda h: hours[h])
    assert peak in (9, 10, 11, 14, 15, 16, 17)
    night = sum(hours[h] for h in range(0, 6))
    morning = sum(hours[h] for h in range(9, 12))
    assert morning > 4 * night
    # At night it is mostly 110 (and web forms), not office channels.
    night_channels = Counter(a.channel for a in appeals if a.received_at.hour < 6)
    assert night_channels["service_window"] == night_channels["visit"] == night_channels["letter"] == 0
    assert night_channels["police_110"] > 0


def test_noise_rises_on_summer_evenings(gazetteer):
    winter = _generate(gazetteer, end=date(2026, 1, 31), days=60)
    summer = _generate(gazetteer, end=date(2026, 8, 31), days=60)

    def share(items):
        evening = [a for a in items if a.received_at.hour >= 19]
        return sum(a.category_code == "noise" for a in evening) / len(evening)

    assert share(summer) > share(winter)


def test_texts_are_varied(gazetteer):
    many = _generate(gazetteer, seed=7, days=60)[:2000]
    assert len(many) == 2000
    assert len({a.content for a in many}) / len(many) >= 0.6
    assert len({a.title for a in many}) / len(many) >= 0.3
    noise = [a.content for a in many if a.category_code == "noise"]
    assert len(set(noise)) / len(noise) >= 0.9


def test_texts_are_fully_rendered_in_the_right_voice(appeals):
    for a in appeals:
        for text in (a.title, a.content):
            assert "{" not in text and "}" not in text and "[home]" not in text
        assert a.title and a.content
        assert "其的" not in a.content
        if a.channel in texts.FIRST_PERSON_CHANNELS:
            assert "其所在" not in a.content
        else:
            assert not re.search(r"我们小区|我家", a.content), a.content


def test_titles(appeals):
    titled = [a for a in appeals if a.channel in ("chief_mailbox", "email", "open311")]
    assert titled and all(len(a.title) <= 40 for a in titled)
    assert all(len(a.title) <= 40 for a in appeals)


def test_external_refs(appeals):
    for a in appeals:
        day = f"{a.received_at:%Y%m%d}"
        if a.channel == "hotline_12345":
            assert re.fullmatch(rf"JN{day}\d{{6}}", a.external_ref), a.external_ref
        elif a.channel in ("visit", "service_window", "phone", "letter", "email"):
            assert a.external_ref == ""
        elif a.channel in ("police_110", "chief_mailbox", "discipline_hotline", "open311"):
            assert day in a.external_ref
    hotline = [a.external_ref for a in appeals if a.channel == "hotline_12345"]
    assert len(set(hotline)) == len(hotline)
    by_day = defaultdict(list)
    for ref in hotline:
        by_day[ref[2:10]].append(ref)
    assert all(refs == sorted(refs) for refs in by_day.values())


def test_duplicates(appeals):
    dups = [(i, a) for i, a in enumerate(appeals) if a.duplicate_of_index is not None]
    assert 0.025 <= len(dups) / len(appeals) <= 0.09
    same_person = neighbour = 0
    for i, a in dups:
        original = appeals[a.duplicate_of_index]
        assert a.duplicate_of_index < i
        assert original.duplicate_of_index is None
        assert original.received_at < a.received_at
        assert a.category_code == original.category_code
        assert a.content != original.content
        if (a.appellant_phone, a.appellant_name) == (original.appellant_phone, original.appellant_name):
            same_person += 1
            assert a.channel != original.channel
        else:
            neighbour += 1
        assert (a.district_code, a.township_code, a.community_code) == (
            original.district_code,
            original.township_code,
            original.community_code,
        )
    assert same_person and neighbour


def test_urgent_matters(appeals):
    urgent = [a for a in appeals if a.urgent]
    assert urgent
    assert {a.category_code for a in urgent} <= {"missing_person", "unlock", "traffic_accident"}


@pytest.mark.parametrize("code", [*LEAF_CODES, *(node[0] for node in DEFAULT_TREE), "unknown"])
def test_handling_texts(code):
    rng = random.Random(1)
    replies = {reply_for(code, rng) for _ in range(20)}
    assert all(r and "{" not in r for r in replies)
    assert len(replies) > 1
    assert progress_note_for(code, rng).endswith("。")
    assert return_reason(rng, code)
    assert return_reason(rng)


def test_handling_texts_are_deterministic():
    a = [reply_for("noise", random.Random(5)), progress_note_for("noise", random.Random(5))]
    b = [reply_for("noise", random.Random(5)), progress_note_for("noise", random.Random(5))]
    assert a == b
