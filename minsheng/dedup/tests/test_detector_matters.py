"""Which appeals are *one matter*: the shapes the demo replay showed merged wrongly, and the true
duplicates that must still link (the same person again, a neighbour about the same event)."""

from datetime import UTC, datetime, timedelta

import pytest

from minsheng.dedup.detector import LINK, DedupConfig, Detector, Record
from minsheng.dedup.places import extract_places
from minsheng.dedup.text import clean_text, identifiers, is_consultation, strip_boilerplate

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)

HOMESTEAD = (
    "宅基地纠纷\n报警人称：其住在一医院宿舍，邻居在两家中间的宅基地上私自盖了一间小房，"
    "挡住了其家的出路，双方为此多次争吵，请派出所调解。"
)
SALESMEN = (
    "上门推销扰民\n报警人称：一医院宿舍这几天总有推销保健品的人挨家挨户敲门，老人差点上当，请派出所管一管。"
)
HUKOU = "咨询父母投靠落户\n来电人咨询：父母投靠子女落户的条件是什么？需要准备哪些材料？"
HUKOU_AGAIN = "父母投靠子女落户的条件是什么\n群众在窗口咨询：父母投靠子女落户的条件是什么？需要准备哪些材料？"
PASS = "港澳通行证签注\n市民来电咨询：港澳通行证能不能加急？下周就要去香港出差。"
PASS_AGAIN = "港澳通行证签注\n群众来电咨询：港澳通行证能不能加急？下周就要去香港出差。"
BBQ = (
    "投诉烧烤店扰民\n来电人反映：锦绣华庭小区楼下的金鼎烧烤店每天营业到凌晨三点，油烟直接排进居民家里，"
    "划拳喝酒声音很大，影响休息。"
)
BBQ_NEIGHBOUR = "市民来电称，其也住锦绣华庭小区，楼下金鼎烧烤店油烟太呛了，半夜还在喝酒吵闹，孩子睡不着。"


def rec(rid, text, hours=0.0, phone=None, **kw):
    return Record(id=rid, text=text, time=T0 + timedelta(hours=hours), phone=phone, **kw)


@pytest.fixture
def detector():
    return Detector(gazetteer=None)


def best(detector, record):
    matches = detector.query(record)
    return matches[0] if matches else None


def test_other_matters_at_one_busy_estate_stay_apart(detector):
    # the shape: a homestead dispute and door-to-door salesmen at 一医院宿舍, both opened
    # with "报警人称", three days apart
    detector.assign(rec("a", HOMESTEAD, phone="13800001111", category="public_order/neighbour_dispute"))
    record = rec("b", SALESMEN, hours=72, phone="13900002222", category="public_order/security_hazard")
    match = best(detector, record)
    assert match is None or match.decision != LINK
    assert detector.assign(record) == "b"


def test_two_people_asking_a_common_question_are_two_matters(detector):
    detector.assign(rec("a", HUKOU, phone="13800001111", category="household/hukou"))
    record = rec("b", HUKOU_AGAIN, hours=48, phone="13900002222", category="household/hukou")
    match = best(detector, record)
    assert match.decision != LINK
    assert "咨询事项：不同诉求人各自提问" in match.reasons
    assert detector.assign(record) == "b"


def test_a_common_question_weeks_later_is_no_repeat_of_someone_elses(detector):
    # no category: the work-order frame ("来电人咨询") says it is a question
    detector.assign(rec("a", PASS, phone="13800001111"))
    record = rec("b", PASS_AGAIN, hours=24 * 20, phone="13900002222")
    assert all(m.decision != LINK for m in detector.query(record))
    assert detector.assign(record) == "b"


def test_the_same_person_asking_again_is_one_matter(detector):
    detector.assign(rec("a", HUKOU, phone="13800001111", category="household/hukou", channel="hotline_12345"))
    record = rec("b", HUKOU_AGAIN, hours=30, phone="13800001111", category="household/hukou")
    match = best(detector, record)
    assert match.decision == LINK and "同一手机号" in match.reasons
    assert detector.assign(record) == "a"


def test_a_neighbour_through_the_hotline_still_links(detector):
    detector.assign(rec("a", BBQ, phone="13800001111", category="public_order/noise"))
    record = rec("b", BBQ_NEIGHBOUR, hours=20, phone="13900002222", category="public_order/noise")
    match = best(detector, record)
    assert match.decision == LINK
    assert any(r.startswith("地点一致：") and "锦绣华庭" in r for r in match.reasons)
    assert detector.assign(record) == "a"


def test_alike_wording_from_two_people_needs_a_shared_place(detector):
    text = "在网上买的东西被商家骗了，平台也不管，钱要不回来，请帮忙转给相关部门。"
    detector.assign(rec("a", "网购纠纷\n来电人反映：" + text, phone="13800001111", category="other"))
    record = rec("b", "群众电话反映，" + text, hours=30, phone="13900002222", category="other")
    match = best(detector, record)
    assert match.decision != LINK
    assert "不同诉求人，未见同一地点" in match.reasons
    # one of them unknown (a letter without a phone): may be the same citizen, still links
    assert detector.query(rec("c", text, hours=31))[0].decision == LINK


def test_the_same_story_with_another_sum_or_plate_is_another_matter(detector):
    scam = "接到自称公安局的电话，说其涉嫌洗钱，让其把钱转到安全账户配合调查，转了{}元后才发现被骗。"
    detector.assign(rec("a", scam.format(28400), phone="13800001111"))
    match = best(detector, rec("b", scam.format(48700), hours=20))
    assert match.decision != LINK and "金额不同：284/487" in match.reasons
    assert best(detector, rec("c", scam.format("2.84万"), hours=21)).decision == LINK
    car = "阳光花园小区门口有辆{}的车长期停着不动，落满了灰，像是僵尸车，请交警处理。"
    detector.assign(rec("d", car.format("鲁A12345"), phone="13700003333"))
    match = next(m for m in detector.query(rec("e", car.format("鲁B67890"), hours=5)) if m.id == "d")
    assert match.decision != LINK and any(r.startswith("车牌不同") for r in match.reasons)


def test_another_crossing_on_the_same_road_is_another_place(detector):
    detector.assign(rec("a", "经十路和舜耕路路口天天有车乱停，把人行道全占了。", phone="13800001111"))
    record = rec("b", "经十路和二环东路路口天天有车乱停，把人行道全占了。", hours=30, phone="13900002222")
    assert all(m.decision != LINK for m in detector.query(record))


def test_question_flags_survive_save_and_load(tmp_path, detector):
    detector.assign(rec("a", "港澳通行证能不能加急？下周就要去香港出差。", phone="13800001111"))
    assert detector.config.is_question_category("exit_entry/passport")
    path = tmp_path / "index.npz"
    detector.save(path)
    loaded = Detector.load(path, gazetteer=None)
    record = rec("b", "港澳通行证能不能加急？下周就要去香港出差。", hours=2, phone="13900002222")
    loaded.features(record)  # no category: worded as a question (the record's own text)
    assert best(loaded, record).decision == best(detector, record).decision
    config = DedupConfig.from_json(loaded.config.to_json())
    assert config.question_categories == detector.config.question_categories


def test_work_order_frames_and_questions():
    assert strip_boilerplate("标题\n来电人反映：楼下烧烤店") == "标题\n楼下烧烤店"
    assert strip_boilerplate("报警人称其车钥匙锁在车里了") == "其车钥匙锁在车里了"
    assert strip_boilerplate("群众反映强烈的问题") == "群众反映强烈的问题"  # no frame: no colon
    assert is_consultation("群众在窗口咨询：孩子十六岁了，办身份证需要家长陪着吗？")
    assert is_consultation("您好，请问，港澳通行证怎么办？")
    assert not is_consultation("市民来电反映：楼下烧烤店油烟扰民")
    plates, amounts = identifiers(clean_text("鲁AT9828的车，转了1.3万元，另付28400元"))
    assert plates == {"鲁AT9828"} and amounts == {"13", "284"}


def test_place_extraction_around_crossings_and_services():
    def cores(text):
        return {p.core for p in extract_places(text)}

    assert cores("经十路和舜耕路路口往东100米") == {"经十路", "舜耕路"}
    assert cores("山大路和和平路路口") == {"山大路", "和平路"}
    assert cores("北园大街济泺路路口附近") == {"北园大街", "济泺路"}
    assert not cores("其已经在国家反诈中心APP上举报了")
    assert not cores("在辖区派出所办迁移手续")
    assert not cores("广场上跳广场舞的音响开得特别大")
