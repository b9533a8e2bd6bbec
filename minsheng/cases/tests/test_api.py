"""The REST API performs the same actions as the pages, with stable error codes."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from minsheng.accounts.models import User
from minsheng.cases.models import Case
from minsheng.cases.tests.cast import person

pytestmark = pytest.mark.django_db


def api(username: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(person(username))
    return client


def register(client=None, **extra) -> dict:
    body = {
        "channel": "phone",
        "content": "小区门口每晚有人飙车，噪音很大。",
        "category": "noise",
        "appellant_phone": "13905310002",
        "township": "370105015",
        **extra,
    }
    response = (client or api("dispatcher")).post("/api/v1/cases/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_register_dispatch_accept_complete_followup_through_the_api():
    case = register()
    assert case["state"] == "registered"
    assert case["appeals"][0]["appellant_phone"] == "139****0002"
    number = case["number"]
    response = api("dispatcher").post(
        f"/api/v1/cases/{number}/dispatch/", {"unit": "泺口派出所"}, format="json"
    )
    assert response.status_code == 200 and response.json()["state"] == "dispatched"
    assert response.json()["direct"] is True
    officer = api("luokou")
    assert officer.get(f"/api/v1/cases/{number}/").json()["available_actions"] == ["accept", "return"]
    assert officer.post(f"/api/v1/cases/{number}/accept/").json()["state"] == "in_progress"
    done = officer.post(
        f"/api/v1/cases/{number}/complete/", {"result": "已劝离", "reply": "已加强巡逻"}, format="json"
    )
    assert done.json()["state"] == "completed"
    closed = api("followup").post(f"/api/v1/cases/{number}/followup/", {"answer": "satisfied"}, format="json")
    assert closed.json()["state"] == "closed"
    timeline = api("inspector").get(f"/api/v1/cases/{number}/").json()["events"]
    assert [e["action"] for e in timeline] == ["register", "dispatch", "accept", "complete", "followup"]
    assert timeline[2]["actor"] == "李承办" and timeline[2]["actor_unit"] == "泺口派出所"


def test_errors_carry_a_stable_code_and_the_field():
    number = register()["number"]
    officer = api("luokou")
    # Not dispatched to the station yet: out of its scope → 404.
    assert officer.post(f"/api/v1/cases/{number}/accept/").status_code == 404
    dispatcher = api("dispatcher")
    wrong_state = dispatcher.post(
        f"/api/v1/cases/{number}/complete/", {"result": "x", "reply": "y"}, format="json"
    )
    assert wrong_state.status_code == 409 and wrong_state.json()["code"] == "invalid_state"
    ambiguous = dispatcher.post(f"/api/v1/cases/{number}/dispatch/", {"unit": "黄河派出所"}, format="json")
    assert ambiguous.status_code == 400 and ambiguous.json()["code"] == "invalid"
    assert "不唯一" in ambiguous.json()["errors"]["unit"][0]
    forbidden = api("inspector").post(
        f"/api/v1/cases/{number}/dispatch/", {"unit": "泺口派出所"}, format="json"
    )
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
    dispatcher.post(f"/api/v1/cases/{number}/dispatch/", {"unit": "泺口派出所"}, format="json")
    api("luokou").post(f"/api/v1/cases/{number}/accept/")
    empty = api("luokou").post(f"/api/v1/cases/{number}/return/", {"reason": " "}, format="json")
    assert empty.status_code == 400
    assert empty.json()["code"] == "invalid" and empty.json()["field"] == "reason"
    assert empty.json()["message"].startswith("reason：")


def test_bad_registration_names_the_field():
    response = api("dispatcher").post("/api/v1/cases/", {"channel": "fax", "content": ""}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and set(body["errors"]) >= {"channel", "content"}
    bad_id = api("dispatcher").post(
        "/api/v1/cases/",
        {"channel": "phone", "content": "咨询", "appellant_id_number": "370102199001011234"},
        format="json",
    )
    assert "appellant_id_number" in bad_id.json()["errors"]


def test_only_dispatchers_and_systems_register():
    response = api("luokou").post("/api/v1/cases/", {"channel": "phone", "content": "测试"}, format="json")
    assert response.status_code == 403


def test_a_system_account_registers_with_a_token_and_its_reference():
    system = User.objects.create(username="hotline12345", is_system=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=system).key}")
    response = client.post(
        "/api/v1/cases/",
        {"channel": "hotline_12345", "content": "咨询护照办理", "external_ref": "JN2026112700001"},
        format="json",
    )
    assert response.status_code == 201
    appeal = Case.objects.get(number=response.json()["number"]).appeals.get()
    assert (appeal.external_source, appeal.external_ref) == ("hotline12345", "JN2026112700001")


def test_schema_and_docs_are_served_locally(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/cases/{number}/dispatch/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn" not in html.lower() and "/static/drf_spectacular_sidecar/" in html


def test_units_and_categories_are_listed():
    client = api("dispatcher")
    units = client.get("/api/v1/units/", {"limit": 1000}).json()
    assert units["count"] == 219
    derived = next(u for u in units["results"] if u["name"] == "泺口派出所")["derived"]
    assert derived is True
    categories = client.get("/api/v1/categories/", {"limit": 100}).json()["results"]
    noise = next(c for c in categories if c["code"] == "noise")
    assert noise["parent"] == "public_order" and noise["deadline_days"] == 5
