"""The keyword rules of a new installation."""

import pytest

from minsheng.classification import Classifier
from minsheng.classification.rules import DEFAULT_KEYWORDS, RuleClassifier, leaf_codes


@pytest.fixture(scope="module")
def rules():
    return RuleClassifier()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("楼下广场舞噪音太大，每天晚上十点还在吵", "noise"),
        ("隔壁装修声从早到晚，严重扰民", "noise"),
        ("小区门口经常有车辆乱停，占道停车严重", "illegal_parking"),
        ("路口违停车辆太多，公交车过不去", "illegal_parking"),
        ("请问办理护照需要什么材料", "passport"),
        ("出入境大厅办护照排队太久", "passport"),
        ("港澳通行证签注怎么续签", "hk_macao_taiwan"),
        ("我父亲走失了，请帮忙寻人", "missing_person"),
        ("接到自称客服的电话，转账后发现被骗", "fraud"),
        ("孩子出生后怎么上户口", "hukou"),
        ("身份证丢了怎么补办身份证", "id_card"),
        ("驾驶证扣分满了怎么办", "driving_licence"),
        ("派出所民警服务态度恶劣", "conduct"),
        ("感谢民警帮我找回孩子，特送锦旗表扬", "praise"),
        ("请问周末可以办业务吗", "consultation"),
        ("建议在学校门口增设警务室", "suggestion"),
    ],
)
def test_finds_the_category(rules, text, code):
    found = rules.classify(text)
    assert found is not None
    assert found[0] == code
    assert 0.0 < found[1] <= 0.95


def test_every_leaf_category_has_keywords_and_no_unknown_codes():
    leaves = set(leaf_codes())
    # "other" is what is left when nothing matches: it has no keywords by design.
    assert leaves - set(DEFAULT_KEYWORDS) == {"other"}
    assert set(DEFAULT_KEYWORDS) <= leaves
    assert all(DEFAULT_KEYWORDS[code] for code in DEFAULT_KEYWORDS)


def test_nothing_matches_unrelated_text(rules):
    assert rules.classify("今天天气不错") is None
    assert rules.classify("") is None


def test_predict_shares_the_classifier_interface(rules):
    assert isinstance(rules, Classifier)
    result = rules.predict(["广场舞太吵了", "今天天气不错"])
    assert result[0][0] == "noise"
    assert result[1] == ("other", 0.0)


def test_more_evidence_more_confidence(rules):
    one = rules.classify("有点吵闹")[1]
    three = rules.classify("广场舞音响吵闹扰民")[1]
    assert three > one


def test_full_width_text_and_custom_keywords():
    rules = RuleClassifier({"noise": ["KTV"], "theft": ["被偷"]}, fallback="unknown")
    assert rules.classify("楼下ＫＴＶ很晚")[0] == "noise"
    assert rules.predict(["天气"]) == [("unknown", 0.0)]
