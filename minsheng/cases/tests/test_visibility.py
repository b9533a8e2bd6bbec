"""Who sees which cases: every list and detail endpoint of the pages and the API, for the whole cast."""

import pytest
from django.urls import reverse

from minsheng.cases import actions
from minsheng.cases.models import Case
from minsheng.cases.tests.cast import luokou, person, unit
from minsheng.cases.tests.test_lifecycle import register

pytestmark = pytest.mark.django_db

# username → does this person see a case handled by 泺口派出所 (天桥分局)?
SEES_LUOKOU_CASE = {
    "admin": True,
    "dispatcher": True,  # platform office, level 1
    "followup": True,  # platform office, level 1
    "luokou": True,
    "luokou_head": True,
    "gongren": False,  # another station of the same branch
    "lixia": False,  # a station of another branch
    "tianqiao_sup": True,  # the supervising branch sees its subtree
    "inspector": True,  # reads everything
    "leader": True,  # city leader
}


@pytest.fixture
def luokou_case() -> Case:
    case = register(content="泺口片区夜间有人聚众赌博，请派出所核查。")
    return actions.dispatch_case(case, luokou(), actor=person("dispatcher"))


@pytest.fixture
def lixia_case() -> Case:
    case = register(content="文化东路某小区门口车辆乱停。")
    return actions.dispatch_case(case, unit("文化东路派出所"), actor=person("dispatcher"))


@pytest.mark.parametrize(("username", "sees"), SEES_LUOKOU_CASE.items())
def test_case_page(client, luokou_case, username, sees):
    client.force_login(person(username))
    response = client.get(reverse("case-detail", args=[luokou_case.number]))
    assert response.status_code == (200 if sees else 404)


@pytest.mark.parametrize(("username", "sees"), SEES_LUOKOU_CASE.items())
def test_workbench_lists(client, luokou_case, username, sees):
    client.force_login(person(username))
    response = client.get(reverse("workbench"), {"queue": "all"})
    assert response.status_code == 200
    assert (luokou_case.number in response.content.decode()) is sees


@pytest.mark.parametrize(("username", "sees"), SEES_LUOKOU_CASE.items())
def test_export(client, luokou_case, username, sees):
    client.force_login(person(username))
    response = client.get(reverse("case-export"), {"queue": "all"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.startswith("工单编号,")
    assert (luokou_case.number in body) is sees
    assert "13905310001" not in body


@pytest.mark.parametrize(("username", "sees"), SEES_LUOKOU_CASE.items())
def test_api_detail(client, luokou_case, username, sees):
    client.force_login(person(username))
    response = client.get(f"/api/v1/cases/{luokou_case.number}/")
    assert response.status_code == (200 if sees else 404)
    if not sees:
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(("username", "sees"), SEES_LUOKOU_CASE.items())
def test_api_list(client, luokou_case, lixia_case, username, sees):
    client.force_login(person(username))
    numbers = {row["number"] for row in client.get("/api/v1/cases/", {"limit": 500}).json()["results"]}
    assert (luokou_case.number in numbers) is sees


@pytest.mark.parametrize("username", ["gongren", "lixia"])
def test_actions_on_a_case_out_of_scope_answer_404(client, luokou_case, username):
    client.force_login(person(username))
    assert client.post(f"/api/v1/cases/{luokou_case.number}/accept/").status_code == 404
    page = client.post(reverse("case-action", args=[luokou_case.number, "accept"]))
    assert page.status_code == 404
    reveal = client.post(
        reverse("case-reveal", args=[luokou_case.number, luokou_case.appeals.get().pk, "phone"])
    )
    assert reveal.status_code == 404
    appeal_id = luokou_case.appeals.get().pk
    assert client.post(reverse("case-split-appeal", args=[luokou_case.number, appeal_id])).status_code == 404
    assert client.post(reverse("case-duplicate", args=[luokou_case.number, 1, "link"])).status_code == 404


def test_the_other_branch_sees_its_own_case_only(client, luokou_case, lixia_case):
    client.force_login(person("lixia"))
    numbers = {row["number"] for row in client.get("/api/v1/cases/").json()["results"]}
    assert numbers == {lixia_case.number}


def test_anonymous_is_sent_to_login_and_the_api_refuses(client, luokou_case):
    response = client.get(reverse("case-detail", args=[luokou_case.number]))
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert client.get("/api/v1/cases/").status_code in (401, 403)


def test_a_returned_case_leaves_the_station_scope(client, luokou_case):
    actions.return_case(luokou_case, actor=person("luokou"), reason="非我辖区")
    client.force_login(person("luokou"))
    assert client.get(reverse("case-detail", args=[luokou_case.number])).status_code == 404


def test_every_url_that_names_a_case_is_covered_here():
    """A meta-test: a new URL taking a case number must be added to the scope tests above."""
    from django.urls import URLPattern, URLResolver, get_resolver

    covered = {
        "case-detail",
        "case-action",
        "case-reveal",
        "case-split-appeal",
        "case-duplicate",  # pages, tested above
    }
    found = set()

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and "number" in str(pattern.pattern):
                found.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns)
    api = {name for name in found if name.startswith("api:")}
    # Every API route with a case number belongs to CaseViewSet, whose queryset is visible_to().
    from minsheng.cases.api.views import CaseViewSet

    actions = {a.url_name for a in CaseViewSet.get_extra_actions()}
    assert api <= {"api:case-detail"} | {f"api:case-{name}" for name in actions}
    assert found - api <= covered
