"""Correcting a case's category (更正类别): who may, what the timeline records, the page and the API."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from minsheng.cases import actions
from minsheng.cases.models import Case
from minsheng.cases.tests.cast import luokou, person
from minsheng.cases.tests.test_lifecycle import register
from minsheng.categories.models import Category
from minsheng.core.errors import Forbidden, InvalidInput, InvalidTransition
from minsheng.routing import categoriser
from minsheng.routing import triage as triage_module
from minsheng.routing.hooks import apply_triage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_caches():
    triage_module.reset()
    categoriser.reset()


def category(code: str) -> Category:
    return Category.objects.get(code=code)


def test_a_dispatcher_corrects_the_category_with_one_event():
    case = actions.dispatch_case(register(), luokou(), actor=person("dispatcher"))
    due = case.complete_due_at
    actions.set_category(case, category("neighbour_dispute"), actor=person("dispatcher"), note="实为邻里纠纷")
    case.refresh_from_db()
    assert case.category.code == "neighbour_dispute" and case.complete_due_at == due
    event = case.events.get(action="categorise")
    assert event.data == {
        "from_code": "noise",
        "from_name": "治安/噪音扰民",
        "to_code": "neighbour_dispute",
        "to_name": "治安/邻里纠纷",
    }
    assert event.actor.username == "dispatcher" and event.note == "实为邻里纠纷"
    assert event.to_state == "" and case.state == "dispatched"


def test_the_handling_unit_corrects_only_once_it_accepted():
    case = actions.dispatch_case(register(), luokou(), actor=person("dispatcher"))
    with pytest.raises(InvalidTransition):
        actions.set_category(case, category("vice"), actor=person("luokou"))
    case = actions.accept_case(case, actor=person("luokou"))
    actions.set_category(case, category("vice"), actor=person("luokou"))
    assert Case.objects.get(pk=case.pk).category.code == "vice"
    assert case.events.get(action="categorise").actor_unit == luokou()


@pytest.mark.parametrize("username", ["inspector", "leader", "gongren", "tianqiao_sup"])
def test_others_may_not_correct(username):
    case = actions.accept_case(
        actions.dispatch_case(register(), luokou(), actor=person("dispatcher")), actor=person("luokou")
    )
    with pytest.raises(Forbidden):
        actions.set_category(case, category("vice"), actor=person(username))


def test_the_same_category_or_a_parent_is_refused():
    case = register()
    with pytest.raises(InvalidInput, match="已是"):
        actions.set_category(case, category("noise"), actor=person("dispatcher"))
    with pytest.raises(InvalidInput, match="子类别"):
        actions.set_category(case, category("public_order"), actor=person("dispatcher"))
    assert not case.events.filter(action="categorise").exists()


def test_a_closed_case_keeps_its_category():
    case = register(instant_reply="已当场答复")
    assert case.state == "completed"
    actions.record_followup(case, actor=person("followup"), answer="satisfied")
    with pytest.raises(InvalidTransition):
        actions.set_category(case, category("vice"), actor=person("dispatcher"))


def test_a_correction_before_dispatch_refreshes_the_unit_suggestions():
    appeal = actions.register_appeal(
        actor=person("dispatcher"), channel="phone", content="有人在小区里聚众赌博", address="槐荫区"
    )
    case = apply_triage(appeal.case)
    assert case.state == "registered"
    actions.set_category(case, category("passport"), actor=person("dispatcher"))
    case.refresh_from_db()
    assert case.triage["suggestions"][0]["unit"] == "出入境管理支队"
    assert case.triage["categories"][0][0] == "vice"  # what the classifier proposed stays on record


def test_the_page_offers_the_suggested_categories_in_one_click(client):
    appeal = actions.register_appeal(
        actor=person("dispatcher"),
        channel="phone",
        content="有人在小区里聚众赌博，还吵得很",
        address="槐荫区",
    )
    case = apply_triage(appeal.case)
    proposed = [code for code, _ in case.triage["categories"]]
    assert len(proposed) >= 2
    client.force_login(person("dispatcher"))
    page = client.get(reverse("case-detail", args=[case.number]))
    picks = page.context["category_picks"]
    assert [p["code"] for p in picks] == [
        c for c in proposed if c != (case.category.code if case.category else "")
    ]
    assert 'data-testid="category-picks"' in page.content.decode()
    target = picks[-1]
    response = client.post(
        reverse("case-action", args=[case.number, "categorise"]), {"category": target["pk"]}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.category.code == target["code"]
    page = client.get(reverse("case-detail", args=[case.number])).content.decode()
    assert f"→ {target['name']}" in page  # on the timeline


def test_the_handling_officer_sees_the_correction_form_once_accepted(client):
    case = actions.accept_case(
        actions.dispatch_case(register(), luokou(), actor=person("dispatcher")), actor=person("luokou")
    )
    client.force_login(person("luokou"))
    page = client.get(reverse("case-detail", args=[case.number]))
    assert "categorise" in [key for key, _, _ in page.context["actions"]]
    client.post(reverse("case-action", args=[case.number, "categorise"]), {"category": category("vice").pk})
    assert Case.objects.get(pk=case.pk).category.code == "vice"


def test_the_api_corrects_the_category():
    case = register()
    api = APIClient()
    api.force_authenticate(person("dispatcher"))
    url = f"/api/v1/cases/{case.number}/categorise/"
    response = api.post(url, {"category": "vice", "note": "涉赌"}, format="json")
    assert response.status_code == 200 and response.json()["category"] == "vice"
    assert "categorise" in response.json()["available_actions"]
    again = api.post(url, {"category": "vice"}, format="json")
    assert again.status_code == 400 and again.json()["field"] == "category"
    unknown = api.post(url, {"category": "no-such"}, format="json")
    assert unknown.status_code == 400
    outsider = APIClient()
    outsider.force_authenticate(person("gongren"))
    assert outsider.post(url, {"category": "noise"}, format="json").status_code == 404
    inspector = APIClient()
    inspector.force_authenticate(person("inspector"))
    assert inspector.post(url, {"category": "noise"}, format="json").status_code == 403
