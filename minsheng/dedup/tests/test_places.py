"""Place extraction: what the detector takes for "where" an appeal is about."""

from minsheng.dedup.places import Gazetteer, chinese_number, extract_places


def kinds(text, gazetteer=None):
    return {(p.kind, p.core) for p in extract_places(text, gazetteer)}


def test_pseudonymised_admin_units_and_a_community_behind_them():
    found = kinds("A市A5区和平东路凤凰城小区楼下饭店油烟扰民")
    assert ("city", "A市") in found
    assert ("district", "A5区") in found
    assert ("road", "和平东路") in found
    # 小区 is dropped from the core: people add or leave it out at will
    assert ("community", "凤凰城") in found


def test_road_with_house_number_gives_an_address():
    found = kinds("我是文化东路388号翠湖苑小区的业主")
    assert ("road", "文化东路") in found
    assert ("address", "文化东路388号") in found
    assert ("community", "翠湖苑") in found


def test_buildings_units_and_phases_are_normalised():
    found = kinds("阳光花园三栋2单元，二期工地")
    assert ("building", "3栋") in found
    assert ("building", "2单元") in found
    assert ("building", "2期") in found
    assert chinese_number("二十一") == 21
    assert chinese_number("十") == 10


def test_landmarks_and_townships():
    found = kinds("K8县青石镇育才小学旁边的碎石场噪音很大")
    assert ("district", "K8县") in found
    assert ("township", "青石镇") in found
    assert ("landmark", "育才小学") in found


def test_words_before_a_suffix_are_not_taken_for_a_name():
    found = kinds("我住在星河湾小区，严重影响小区居民休息，请进入小区看看")
    assert ("community", "星河湾") in found
    cores = {core for _, core in found}
    assert not {"影响", "进入", "严重影响"} & cores


def test_generic_places_are_ignored():
    assert not {core for _, core in kinds("农村道路和县城学校的问题，本小区也有")} & {"农村", "县城", "本"}


def test_a_kind_of_road_or_facility_or_a_utility_names_no_place_but_a_named_one_does():
    assert kinds("十字路口的垃圾站臭气熏天，燃气公司和农业银行都不管，高速公路噪音大") == set()
    found = kinds("解放路加油站旁的自来水公司宿舍")
    assert ("landmark", "解放路加油站") in found
    assert ("community", "自来水公司宿舍") in found, "the staff housing of a utility is a community"


def test_gazetteer_finds_bare_official_names_and_is_optional():
    gazetteer = Gazetteer(
        [
            ("解放路街道", "township", "解放路街道", "370102001"),
            ("宿家张马屯", "community", "宿家张马屯", "370112001001"),
        ]
    )
    text = "解放路街道宿家张马屯门口的路灯坏了"
    with_gazetteer = kinds(text, gazetteer)
    assert ("township", "解放路街道") in with_gazetteer
    assert ("community", "宿家张马屯") in with_gazetteer
    assert ("community", "宿家张马屯") not in kinds(text, None)
