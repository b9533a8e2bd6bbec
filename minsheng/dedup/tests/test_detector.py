"""The pure duplicate detector: which appeals are one matter, and why."""

from datetime import UTC, datetime, timedelta

import pytest

from minsheng.dedup.detector import LINK, NEW, DedupConfig, Detector, Record

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

NOISE = (
    "A3区锦绣华庭小区楼下的金鼎烧烤店每天营业到凌晨三点，油烟直接排进居民家里，"
    "划拳喝酒的声音很大，严重影响我们休息，多次找物业都没有用，请相关部门尽快处理。"
)
NOISE_RETOLD = (
    "再次反映：锦绣华庭小区楼底下金鼎烧烤店天天开到半夜三点，油烟直排，喝酒吵闹声音大，"
    "影响住户休息，找过物业没有结果，望有关单位早日解决。"
)
NOISE_NEIGHBOUR = "我也住锦绣华庭小区，楼下烧烤店油烟太呛了，晚上吵得孩子睡不着。"
NOISE_ELSEWHERE = NOISE.replace("锦绣华庭", "碧水蓝湾")
PARKING = "B2区人民医院门口的公交站台被私家车长期占用，乘客只能站到马路中间上车，很危险。"
ID_CARD = "咨询一下身份证丢失后在外地怎么补办，需要带哪些材料，多久能拿到新证？"


def rec(rid, text, hours=0.0, phone=None, **kw):
    return Record(id=rid, text=text, time=T0 + timedelta(hours=hours), phone=phone, **kw)


@pytest.fixture
def detector():
    return Detector(gazetteer=None)


def test_same_person_through_another_channel_is_linked(detector):
    assert detector.assign(rec("a", NOISE, phone="13800001111", channel="hotline_12345")) == "a"
    match = detector.query(rec("b", NOISE_RETOLD, hours=30, phone="138-0000-1111", channel="chief_mailbox"))[
        0
    ]
    assert match.id == "a"
    assert match.decision == LINK
    assert "同一手机号" in match.reasons
    assert any(r.startswith("不同渠道") for r in match.reasons)
    assert detector.assign(rec("b", NOISE_RETOLD, hours=30, phone="13800001111")) == "a"


def test_neighbours_about_the_same_place_are_linked(detector):
    detector.assign(rec("a", NOISE, phone="13800001111"))
    match = detector.query(rec("b", NOISE_NEIGHBOUR, hours=20, phone="13900002222"))[0]
    assert match.decision == LINK
    assert any(r.startswith("地点一致：") and "锦绣华庭" in r for r in match.reasons)
    assert detector.assign(rec("b", NOISE_NEIGHBOUR, hours=20, phone="13900002222")) == "a"


def test_identical_wording_about_another_place_stays_apart(detector):
    detector.assign(rec("a", NOISE, phone="13800001111"))
    matches = detector.query(rec("b", NOISE_ELSEWHERE, hours=2))
    assert all(m.decision == NEW for m in matches)
    assert any("地点不同：" in r for m in matches for r in m.reasons)
    assert detector.assign(rec("b", NOISE_ELSEWHERE, hours=2)) == "b"


def test_the_other_place_cannot_join_through_a_retelling_without_the_place(detector):
    # the retelling drops the community's name; a copy about another community must not join the
    # group through it
    detector.assign(rec("a", NOISE, phone="13800001111"))
    short = "金鼎烧烤店每天营业到凌晨三点，油烟直接排进居民家里，划拳喝酒的声音很大，严重影响我们休息"
    assert detector.assign(rec("b", short, hours=1, phone="13800001111")) == "a"
    assert detector.assign(rec("c", NOISE_ELSEWHERE, hours=3)) == "c"


def test_another_matter_at_the_same_place_is_explained_whenever_read():
    """Conflicting places change no score this weak, so they are looked for when the reasons are
    read: then they must be the same as at query time, whatever the index learned in between."""
    lift = rec("a", "锦绣华庭3栋的电梯坏了好几天，物业一直不修，老人只能爬楼。", phone="13800001111")
    dog = rec("b", "锦绣华庭5栋楼下天天有人遛狗不拴绳，孩子被吓哭了。", hours=5, phone="13900002222")
    later, now = Detector(gazetteer=None), Detector(gazetteer=None)
    later.assign(lift)
    now.assign(lift)
    kept = later.query(dog)[0]
    for i, text in enumerate((NOISE, NOISE_RETOLD, PARKING, "锦绣华庭3栋和5栋之间的路灯不亮。")):
        later.assign(rec(f"x{i}", text, hours=6 + i))
    (read_at_once,) = now.query(dog)
    assert (kept.score, kept.decision) == (read_at_once.score, read_at_once.decision) == (0.3, NEW)
    assert kept.reasons == read_at_once.reasons
    assert "楼栋不同：3栋/5栋" in kept.reasons and any(r.startswith("地点一致：") for r in kept.reasons)


def test_unrelated_appeals_stay_apart(detector):
    detector.assign(rec("a", NOISE, phone="13800001111"))
    detector.assign(rec("b", PARKING, hours=1, phone="13800001111"))  # one person, two matters
    detector.assign(rec("c", ID_CARD, hours=2))
    assert [detector.group_of(x) for x in "abc"] == ["a", "b", "c"]


def test_two_people_asking_the_same_question_are_two_matters(detector):
    detector.assign(rec("a", ID_CARD, phone="13800001111"))
    other = "想咨询身份证丢了在外地怎么补办，要带什么材料，大概多久能拿到？"
    assert detector.assign(rec("b", other, hours=5, phone="13900002222")) == "b"


def test_event_window_is_respected(detector):
    detector.assign(rec("a", NOISE, phone="13800001111"))
    late = rec("b", NOISE_NEIGHBOUR, hours=24 * 10, phone="13900002222")
    assert all(m.decision != LINK for m in detector.query(late))
    assert detector.assign(late) == "b"


def test_person_window_is_respected_but_a_near_copy_is_a_repeat_appeal(detector):
    detector.assign(rec("a", NOISE, phone="13800001111"))
    loose = "锦绣华庭小区那家烧烤店又开始了，吵得没法睡觉，之前说过，还是没人管。"
    assert detector.assign(rec("b", loose, hours=24 * 45, phone="13800001111")) == "b"
    again = rec("c", "再次反映：" + NOISE, hours=24 * 60, phone="13800001111")
    match = detector.query(again)[0]
    assert match.decision == LINK
    assert any("同一事项再次反映" in r for r in match.reasons)


def test_category_windows_widen_the_event_window():
    config = DedupConfig(category_windows={"public_order/noise": (timedelta(days=30), timedelta(days=21))})
    detector = Detector(config, gazetteer=None)
    detector.assign(rec("a", NOISE, phone="13800001111", category="public_order/noise"))
    late = rec("b", NOISE_NEIGHBOUR, hours=24 * 10, phone="13900002222", category="public_order/noise")
    assert detector.assign(late) == "a"


def test_incompatible_categories_are_not_linked(detector):
    detector.assign(rec("a", NOISE, phone="13800001111", category="public_order/noise"))
    match = detector.query(rec("b", NOISE_NEIGHBOUR, hours=2, category="traffic/congestion"))[0]
    assert match.decision != LINK
    assert any(r.startswith("类别不同") for r in match.reasons)


def test_scores_are_bounded_and_explained(detector):
    detector.assign(rec("a", NOISE, phone="13800001111"))
    for m in detector.query(rec("b", NOISE_RETOLD, hours=1)):
        assert 0.0 <= m.score <= 1.0
        assert any(r.startswith("内容相似度") for r in m.reasons)


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        Record(id="x", text="t", time=datetime(2024, 1, 1))


def test_save_and_load_give_the_same_answers(tmp_path):
    records = [
        rec("a", NOISE, phone="13800001111"),
        rec("b", PARKING, hours=1),
        rec("c", NOISE_RETOLD, hours=30, phone="13800001111"),
        rec("d", ID_CARD, hours=40),
    ]
    detector = Detector(gazetteer=None)
    for r in records:
        detector.assign(r)
    path = tmp_path / "index.npz"
    detector.save(path)
    loaded = Detector.load(path)
    assert loaded.ids == detector.ids and loaded.groups == detector.groups
    probes = [
        rec("p1", NOISE_NEIGHBOUR, hours=35),
        rec("p2", NOISE_ELSEWHERE, hours=35),
        rec("p3", PARKING, 50),
    ]
    for probe in probes:
        assert loaded.query(probe) == detector.query(probe)
    assert loaded.assign(probes[0]) == detector.assign(probes[0]) == "a"


def test_build_matches_adding_one_by_one():
    records = [rec("a", NOISE, phone="13800001111"), rec("b", PARKING, hours=1), rec("c", ID_CARD, hours=2)]
    one_by_one = Detector(gazetteer=None)
    for r in records:
        one_by_one.add(r)
    built = Detector.build(records, gazetteer=None)
    probe = rec("p", NOISE_RETOLD, hours=3, phone="13800001111")
    assert built.query(probe) == one_by_one.query(probe)


def test_build_keeps_known_groups():
    records = [rec("a", NOISE), rec("b", NOISE_RETOLD, hours=2)]
    built = Detector.build(records, gazetteer=None, groups={"b": "a"})
    assert built.group_of("b") == "a"
    assert built.assign(rec("c", NOISE_NEIGHBOUR, hours=3, phone="13900002222")) == "a"
