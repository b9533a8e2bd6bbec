"""Reading addresses the way people write them: roads named like townships, villages and estates of the
same name, learned names and how sure they make a place, and the district a brigade needs."""

import pytest

from minsheng.cases import actions
from minsheng.cases.tests.cast import person, unit
from minsheng.categories.models import Category
from minsheng.routing import places
from minsheng.routing.hooks import learn_places
from minsheng.routing.models import PlaceAlias
from minsheng.routing.triage import LOCATION_THRESHOLD, triage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_caches():
    from minsheng.routing import categoriser
    from minsheng.routing import triage as triage_module

    places.locator().refresh_aliases()
    triage_module.reset()
    categoriser.reset()
    yield


def learn(address, code, times=1):
    for _ in range(times):
        places.learn(address, code)


@pytest.mark.parametrize(
    "address", ["北园大街和济泺路路口", "山大路与和平路交叉口", "文化东路上", "舜玉路176号"]
)
def test_a_road_is_not_the_township_named_after_it(address):
    assert places.locate(address).township == ""


def test_a_township_written_in_full_is_the_township_even_before_a_road_word():
    location = places.locate("鲍山街道路家庄村村西")
    assert (location.township, location.community) == ("370112010", "370112010214")
    assert location.confidence >= 0.9
    assert places.locate("山大路街道办事处").township == "370112001"
    assert places.locate("山大路派出所那边").township == "370112001"


def test_a_village_after_its_township_is_not_another_township():
    location = places.locate("仁风镇姚家村")
    assert (location.township, location.community) == ("370115104", "370115104247")
    assert location.confidence >= 0.9


def test_a_village_name_in_several_districts_is_settled_by_the_district():
    assert places.locate("石庙村").confidence < LOCATION_THRESHOLD
    location = places.locate("历城区石庙村")
    assert location.community == "370112013227" and location.confidence >= LOCATION_THRESHOLD


def test_a_community_name_in_several_places_is_settled_by_a_learned_estate_beside_it():
    assert places.locate("窑头社区文苑花园").confidence < LOCATION_THRESHOLD
    learn("文苑花园8号楼", "370115001", times=2)
    location = places.locate("窑头社区文苑花园12号楼")
    assert (location.township, location.community) == ("370115001", "370115001007")
    assert location.confidence >= LOCATION_THRESHOLD


def test_an_estate_called_new_village_is_not_a_village_of_that_name():
    # 新村 is a village in 高新区, 幸福新村 one in 商河县: with buildings they are estates.
    assert places.locate("凯旋新村").confidence < LOCATION_THRESHOLD
    assert places.locate("幸福新村16号楼1单元").confidence < LOCATION_THRESHOLD


def test_a_name_learned_once_in_each_of_several_places_is_not_sure():
    for township in ("370102011", "370104010", "370105015"):
        learn("铁路宿舍3号楼", township)
    learn("铁路宿舍5号楼", "370102011")
    location = places.locate("铁路宿舍7号楼")
    assert location.township == "370102011" and location.confidence < LOCATION_THRESHOLD


def test_a_village_learned_at_one_of_its_places_is_not_sure():
    learn("石庙村村东头", "370105016", times=3)
    assert places.locate("石庙村村西").confidence < LOCATION_THRESHOLD


def test_words_about_where_at_a_place_are_not_learned_as_names():
    assert places.place_names("泉城广场西南角") == ["泉城广场"]
    assert places.place_names("济南西站北门") == ["济南西站"]
    assert places.place_names("济南历下区千佛山西侧路边", places.locator()) == ["千佛山"]
    assert places.place_names("经十路与舜耕路交叉口往东100米") == ["经十路与舜耕路"]
    PlaceAlias.objects.create(name="西南角", division_id="370103", support=5)
    places.locator().refresh_aliases()
    assert places.locate("路口西南角").district == ""


def test_a_road_is_learned_for_its_district_only():
    learn("历下区和平路12号东方府", "370102007")
    assert set(PlaceAlias.objects.values_list("name", "division_id")) == {
        ("和平路", "370102"),
        ("东方府", "370102007"),
    }


def test_a_landmark_a_brigade_handled_gives_the_district_and_only_the_district():
    appeal = actions.register_appeal(
        actor=person("dispatcher"),
        channel="phone",
        content="路边违停",
        address="泉城广场东门口",
        category=Category.objects.get(code="illegal_parking"),
    )
    for _ in range(2):
        learn_places(appeal.case, unit("历下大队"), weight=1)
    assert PlaceAlias.objects.get(name="泉城广场").division_id == "370102"
    location = places.locate("泉城广场附近")
    assert (location.district, location.township) == ("370102", "")
    assert location.district_confidence >= LOCATION_THRESHOLD > location.confidence


def test_a_brigade_needs_the_district_only():
    result = triage("大货车天天违停", "历下区芙蓉街北门", category_code="illegal_parking")
    assert result.direct and result.unit == "历下大队"
    result = triage("小区门口有人赌博", "历下区芙蓉街北门", category_code="vice")
    assert not result.direct and result.unit == "历下分局"


def test_the_content_says_what_the_address_leaves_out():
    location = places.locate("历下区某某府11号楼下", "来电反映：其住在华阳社区，地下车库的车牌被偷了。")
    assert location.township == "370102011" and location.confidence >= LOCATION_THRESHOLD
    # A station named in the text stands for its township (东关大街派出所 is the 东关 station).
    location = places.locate("", "感谢东关大街派出所的民警帮忙找回了钱包。")
    assert location.township == "370102006" and location.confidence >= LOCATION_THRESHOLD
    assert places.locate("", "我在市中心上班").district == ""


def test_the_dispatch_threshold_stays_above_knowing_the_district_only():
    # LOCATION_THRESHOLD is calibrated on the routing bench's development seeds; whatever it becomes,
    # knowing only the district must not count as knowing the township.
    assert places.DISTRICT_ONLY < LOCATION_THRESHOLD <= places.SURE
