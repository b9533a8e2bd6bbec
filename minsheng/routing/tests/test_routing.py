"""Location, routing rules, triage decisions and the ``minsheng route`` command."""

import csv
import dataclasses
import io

import pytest
from django.core.management import CommandError, call_command

from minsheng.cases import actions
from minsheng.cases.tests.cast import person, unit
from minsheng.categories.models import Category
from minsheng.routing import places
from minsheng.routing.hooks import apply_triage
from minsheng.routing.models import PlaceAlias, RoutingRule
from minsheng.routing.triage import triage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_caches():
    from minsheng.routing import categoriser
    from minsheng.routing import triage as triage_module

    places.locator().refresh_aliases()
    triage_module.reset()
    categoriser.reset()
    yield


@pytest.mark.parametrize(
    ("address", "township", "community"),
    [
        ("济南市天桥区泺口街道", "370105015", ""),
        ("泺口那边的小区", "370105015", ""),  # township without 街道, no district (泺口社区 is not meant)
        ("历下区解放桥社区", "370102001", "370102001002"),
        ("文化东路街道某小区", "370102007", ""),  # the MCA full name of 文东街道
    ],
)
def test_addresses_as_people_write_them(address, township, community):
    location = places.locate(address)
    assert (location.township, location.community) == (township, community)
    assert location.district == township[:6]
    assert location.confidence >= 0.9


def test_a_road_or_an_estate_named_like_a_township_is_not_that_township():
    assert places.locate("市中区舜玉路176号").township == ""
    assert places.locate("燕山苑16号楼").township == ""


def test_a_village_name_found_in_several_districts_needs_the_district():
    ambiguous = places.locate("石庙村")
    assert ambiguous.confidence < 0.85
    assert places.locate("历城区石庙村").district == "370112"


def test_only_a_district_is_half_sure():
    location = places.locate("槐荫区某小区门口")
    assert (location.district, location.township, location.confidence) == ("370104", "", 0.5)


def test_learned_estate_names_resolve_after_handled_cases():
    assert places.locate("幸福里小区3号楼").township == ""
    for _ in range(3):
        places.learn("幸福里小区3号楼", "370105015")
    location = places.locate("幸福里小区5号楼")
    assert location.township == "370105015" and location.confidence >= 0.85


def test_a_chosen_category_and_a_sure_place_dispatch_directly():
    result = triage("楼下KTV噪音扰民", "天桥区泺口街道", category_code="noise")
    assert result.direct and result.unit == "泺口派出所"
    assert result.suggestions[0].unit == "泺口派出所"


def test_a_passport_question_needs_no_place():
    result = triage("护照过期了怎么换", category_code="passport")
    assert result.direct and result.unit == "出入境管理支队"


def test_district_only_suggests_the_branch_but_does_not_dispatch():
    result = triage("小区门口有人赌博", "槐荫区", category_code="vice")
    assert not result.direct
    assert result.unit == "槐荫分局"


def test_what_a_case_stores_of_its_triage_is_the_whole_result():
    result = triage("历下区某小区门口有人聚众赌博", "历下区")
    assert result.suggestions and result.categories and result.reasons
    stored = result.as_dict()
    assert stored == dataclasses.asdict(result)
    stored["suggestions"][0]["score"] = -1.0
    stored["reasons"].append("改动")
    assert result.suggestions[0].score != -1.0 and "改动" not in result.reasons  # a copy, not a view


def test_an_admin_rule_overrides_the_default_route():
    RoutingRule.objects.create(
        category=Category.objects.get(code="noise"),
        division_id="370105015",
        unit=unit("工人新村北村派出所"),
        priority=10,
    )
    result = triage("噪音", "天桥区泺口街道", category_code="noise")
    assert result.unit == "工人新村北村派出所" and result.direct


def test_apply_triage_dispatches_through_the_system_dispatcher():
    appeal = actions.register_appeal(
        actor=person("dispatcher"),
        channel="phone",
        content="楼上每天夜里装修，噪音很大",
        address="天桥区泺口街道",
        category=Category.objects.get(code="noise"),
    )
    case = apply_triage(appeal.case)
    assert case.state == "dispatched" and case.responsible_unit.name == "泺口派出所" and case.direct
    event = case.events.get(action="dispatch")
    assert event.actor.username == "triage" and event.note.startswith("智能直派")
    assert case.triage["unit"] == "泺口派出所"


def test_apply_triage_leaves_unclear_cases_with_suggestions(client):
    appeal = actions.register_appeal(
        actor=person("dispatcher"),
        channel="phone",
        content="有人在小区里聚众赌博",
        address="槐荫区",
        category=Category.objects.get(code="vice"),
    )
    case = apply_triage(appeal.case)
    assert case.state == "registered"
    client.force_login(person("dispatcher"))
    page = client.get(f"/cases/{case.number}/").content.decode()
    assert "分派建议" in page and "派往 槐荫分局" in page


def test_route_command_writes_the_interface_columns(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(
        "编号,内容,地址\n1,咨询护照办理,\n2,楼下烧烤噪音扰民,天桥区泺口街道\n", encoding="gb18030"
    )
    target = tmp_path / "out.csv"
    call_command(
        "route",
        input=str(source),
        id_column="编号",
        text_column=["内容"],
        address_column="地址",
        output=str(target),
        stdout=io.StringIO(),
    )
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert list(rows[0]) == [
        "id",
        "category",
        "category_confidence",
        "district_code",
        "township_code",
        "community_code",
        "unit",
        "direct",
    ]
    assert [r["id"] for r in rows] == ["1", "2"]
    assert rows[1]["township_code"] == "370105015" and rows[1]["district_code"] == "370105"
    assert rows[1]["direct"] in ("0", "1") and 0 <= float(rows[1]["category_confidence"]) <= 1


def test_route_command_names_a_missing_column(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,x\n", encoding="utf-8")
    with pytest.raises(CommandError, match="缺少列“内容”"):
        call_command(
            "route", input=str(source), id_column="id", text_column=["内容"], output=str(tmp_path / "o.csv")
        )


def test_place_aliases_are_admin_visible():
    places.learn("幸福里小区", "370105015")
    assert PlaceAlias.objects.get(name="幸福里小区").division_id == "370105015"


def test_a_completed_case_teaches_its_place_names_and_a_return_unteaches_them():
    def handled(address):
        appeal = actions.register_appeal(
            actor=person("dispatcher"),
            channel="phone",
            content="楼下噪音",
            address=address,
            category=Category.objects.get(code="noise"),
        )
        case = actions.dispatch_case(appeal.case, unit("泺口派出所", "天桥分局"), actor=person("dispatcher"))
        return actions.accept_case(case, actor=person("luokou"))

    for _ in range(2):
        actions.complete_case(handled("福瑞嘉苑5号楼"), actor=person("luokou"), result="处理", reply="答复")
    assert PlaceAlias.objects.get(name="福瑞嘉苑").support == 2
    assert places.locate("福瑞嘉苑8号楼").township == "370105015"
    for _ in range(2):
        actions.return_case(handled("福瑞嘉苑5号楼"), actor=person("luokou"), reason="非我辖区")
    assert PlaceAlias.objects.get(name="福瑞嘉苑").support == 0
    assert places.locate("福瑞嘉苑8号楼").township == ""


def test_a_household_record_sends_an_appeal_without_a_place_to_the_station_holding_it():
    """The missing daughter: no address, but the platform holds the family's household registration."""
    from minsheng.core import clock
    from minsheng.servicerecords.models import ServiceKind, ServiceRecord
    from minsheng.units.models import Unit

    text = "我女儿今天放学一直没回家，手机关机，联系不上，请警察帮忙寻找。"
    phone = "13905310077"
    without = triage(text, "", category_code="missing_person", phone=phone)
    assert not without.direct

    station = Unit.objects.get(name="泺口派出所", parent__name="天桥分局")
    ServiceRecord.objects.create(
        kind=ServiceKind.HOUSEHOLD,
        service_type="户口迁入",
        unit=station,
        citizen_phone=phone,
        started_at=clock.now(),
        external_source="window",
        external_ref="HH-1",
    )
    found = triage(text, "", category_code="missing_person", phone=phone)
    assert found.direct and found.unit == "泺口派出所"
    assert found.township == "370105015"
    assert any("泺口派出所办理过户政业务" in reason for reason in found.reasons)
    # Another person's record says nothing about this appellant; a written place outranks the record.
    assert not triage(text, "", category_code="missing_person", phone="13905310078").direct
    elsewhere = triage(text, "历下区解放桥社区", category_code="missing_person", phone=phone)
    assert elsewhere.township == "370102001"
