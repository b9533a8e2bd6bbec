"""Routing statistics: returns naming the right unit, dispatchers' overrides and completions teach triage."""

import pytest
from django.urls import reverse

from minsheng.cases import actions
from minsheng.cases.tests.cast import luokou, person, unit
from minsheng.categories.models import Category
from minsheng.routing import categoriser, places
from minsheng.routing import triage as triage_module
from minsheng.routing.hooks import apply_triage
from minsheng.routing.models import RoutingObservation
from minsheng.routing.triage import triage

pytestmark = pytest.mark.django_db

LUOKOU_TOWNSHIP = "370105015"


@pytest.fixture(autouse=True)
def fresh_caches():
    places.locator().refresh_aliases()
    triage_module.reset()
    categoriser.reset()
    yield
    triage_module.reset()


def gongren():
    return unit("工人新村北村派出所")


def register(content="楼下KTV噪音扰民，半夜还在唱", category="noise", address="天桥区泺口街道"):
    appeal = actions.register_appeal(
        actor=person("dispatcher"),
        channel="phone",
        content=content,
        address=address,
        category=Category.objects.get(code=category) if category else None,
    )
    return apply_triage(appeal.case)


def observation(unit_, category="noise", township=LUOKOU_TOWNSHIP):
    row = RoutingObservation.objects.filter(
        category__code=category, township_code=township, unit=unit_
    ).first()
    return (row.support, row.against) if row else None


def test_a_return_naming_the_right_unit_updates_the_statistics_and_the_next_triage_suggests_it():
    before = triage("楼上KTV唱歌噪音扰民", "天桥区泺口街道", category_code="noise")
    assert before.direct and [s.unit for s in before.suggestions] == ["泺口派出所"]

    case = register()
    assert case.state == "dispatched" and case.responsible_unit == luokou()  # 智能直派
    actions.return_case(
        case, actor=person("luokou"), reason="该KTV属工人新村北村辖区", suggested_unit=gongren()
    )
    assert observation(luokou()) == (0, 1)
    assert observation(gongren()) == (1, 0)

    after = triage("楼上KTV唱歌噪音扰民", "天桥区泺口街道", category_code="noise")
    assert after.suggestions[0].unit == "工人新村北村派出所"
    assert "泺口派出所" in [s.unit for s in after.suggestions]
    # One return is not enough to send the next one elsewhere on its own: a person decides.
    assert not after.direct
    assert any("曾退回同类工单" in r for r in after.reasons)


def test_a_return_from_the_page_can_name_the_right_unit(client):
    case = register()
    client.force_login(person("luokou"))
    client.post(
        reverse("case-action", args=[case.number, "return"]),
        {"reason": "不是本所辖区", "suggested_unit": gongren().pk},
    )
    case.refresh_from_db()
    assert case.state == "returned"
    event = case.events.get(action="return")
    assert event.data["suggested_unit_name"] == "工人新村北村派出所"
    assert observation(gongren()) == (1, 0)
    client.force_login(person("dispatcher"))
    page = client.get(reverse("case-detail", args=[case.number])).content.decode()
    assert "应由：工人新村北村派出所" in page


def test_the_api_return_takes_the_right_unit():
    from rest_framework.test import APIClient

    case = register()
    api = APIClient()
    api.force_authenticate(person("luokou"))
    response = api.post(
        f"/api/v1/cases/{case.number}/return/",
        {"reason": "不是本所辖区", "suggested_unit": "工人新村北村派出所"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert observation(gongren()) == (1, 0)


def test_strong_handling_evidence_routes_directly_where_the_default_is_contradicted():
    noise = Category.objects.get(code="noise")
    RoutingObservation.objects.create(category=noise, township_code=LUOKOU_TOWNSHIP, unit=luokou(), against=2)
    RoutingObservation.objects.create(
        category=noise, township_code=LUOKOU_TOWNSHIP, unit=gongren(), support=4
    )
    result = triage("夜里广场舞噪音扰民", "天桥区泺口街道", category_code="noise")
    assert result.direct and result.unit == "工人新村北村派出所"
    # Another category in the same township keeps its default.
    other = triage("邻居楼上漏水，纠纷调解", "天桥区泺口街道", category_code="neighbour_dispute")
    assert other.unit == "泺口派出所"


def test_an_admin_rule_still_wins_over_the_statistics():
    from minsheng.routing.models import RoutingRule

    noise = Category.objects.get(code="noise")
    RoutingObservation.objects.create(category=noise, township_code=LUOKOU_TOWNSHIP, unit=luokou(), against=5)
    RoutingObservation.objects.create(
        category=noise, township_code=LUOKOU_TOWNSHIP, unit=gongren(), support=9
    )
    RoutingRule.objects.create(category=noise, division_id=LUOKOU_TOWNSHIP, unit=luokou(), priority=1)
    result = triage("噪音", "天桥区泺口街道", category_code="noise")
    assert result.direct and result.unit == "泺口派出所"


def test_weak_evidence_only_suggests_and_a_well_handled_default_stays_direct():
    noise = Category.objects.get(code="noise")
    RoutingObservation.objects.create(category=noise, township_code=LUOKOU_TOWNSHIP, unit=luokou(), support=5)
    RoutingObservation.objects.create(
        category=noise, township_code=LUOKOU_TOWNSHIP, unit=gongren(), support=2
    )
    result = triage("噪音扰民", "天桥区泺口街道", category_code="noise")
    assert result.direct and result.unit == "泺口派出所"
    assert [s.unit for s in result.suggestions] == ["泺口派出所", "工人新村北村派出所"]


def test_a_dispatchers_override_counts_and_the_system_dispatch_does_not():
    case = register(address="天桥区")  # only the district: the branch is suggested, nobody dispatches
    assert case.state == "registered" and case.triage["suggestions"][0]["unit"] == "天桥分局"
    assert not RoutingObservation.objects.exists()
    actions.dispatch_case(case, luokou(), actor=person("dispatcher"))
    assert RoutingObservation.objects.get().unit == luokou()
    assert observation(luokou(), township=case.township_code) == (1, 0)

    direct = register()  # 智能直派 by the system account: no evidence
    assert direct.state == "dispatched"
    assert RoutingObservation.objects.count() == 1


def test_a_completion_is_evidence_for_the_unit_that_handled_it():
    case = register()
    case = actions.accept_case(case, actor=person("luokou"))
    actions.complete_case(case, actor=person("luokou"), result="已劝离", reply="已处理")
    assert observation(luokou()) == (1, 0)


def test_place_free_categories_pool_the_evidence_of_every_township():
    passport = Category.objects.get(code="passport")
    exit_entry = triage("护照过期了怎么换", category_code="passport")
    assert exit_entry.direct
    RoutingObservation.objects.create(
        category=passport, township_code="", unit=unit(exit_entry.unit), against=3
    )
    result = triage("护照过期了怎么换", category_code="passport")
    assert not result.direct and result.unit == exit_entry.unit


def test_admins_see_the_statistics(client):
    case = register()
    actions.return_case(case, actor=person("luokou"), reason="非我辖区", suggested_unit=gongren())
    client.force_login(person("admin"))
    page = client.get(reverse("admin:routing_routingobservation_changelist"))
    assert page.status_code == 200 and "工人新村北村派出所" in page.content.decode()
