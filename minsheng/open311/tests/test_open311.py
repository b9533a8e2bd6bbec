"""Open311 GeoReport v2: discovery, services, submitting through the intake service, reading requests."""

import datetime as dt
import json
from urllib.parse import urlencode
from xml.etree import ElementTree

import jsonschema
import pytest
from django.test import Client
from django.utils import timezone

from minsheng.accounts.models import User
from minsheng.appeals.models import Appeal
from minsheng.cases import actions
from minsheng.cases.choices import CaseState
from minsheng.cases.models import Case
from minsheng.cases.queues import in_queue
from minsheng.categories.models import Category
from minsheng.core import clock
from minsheng.intake.models import PayloadStatus, RawPayload
from minsheng.intake.service import process_with_parser, store_raw
from minsheng.open311.models import Open311Client
from minsheng.open311.tests.schemas import validate, validate_swagger

pytestmark = pytest.mark.django_db

BASE = "/open311/v2/"
FORM = "application/x-www-form-urlencoded"
PHONE, EMAIL = "13805312345", "wang.li@example.com"


@pytest.fixture
def app_client():
    return Open311Client.objects.create(code="quancheng-app", name="泉城办 App")


def request_params(client: Open311Client | None, **extra) -> dict:
    params = {
        "api_key": client.api_key if client else "",
        "service_code": "noise",
        "description": "泺口街道某小区楼下ＫＴＶ每晚营业到凌晨，噪音扰民。",
        "address_string": "天桥区泺口街道",
        "lat": "36.6905",
        "long": "116.9965",
        "first_name": "丽",
        "last_name": "王",
        "phone": PHONE,
        "email": EMAIL,
        "device_id": "device-1",
        "media_url": "https://img.example.com/ktv.jpg",
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def post(params: dict, fmt: str = "json"):
    return Client().post(f"{BASE}requests.{fmt}", data=urlencode(params), content_type=FORM)


def get_json(path: str, status: int = 200):
    response = Client().get(BASE + path)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return response.json()


def get_xml(path: str, status: int = 200) -> ElementTree.Element:
    response = Client().get(BASE + path)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ElementTree.fromstring(response.content)


def assert_error(body, code: int) -> str:
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["code"] == code and isinstance(body[0]["description"], str)
    return body[0]["description"]


def submitted(app_client, **extra) -> Appeal:
    response = post(request_params(app_client, **extra))
    assert response.status_code == 200, response.content
    return Appeal.objects.get(open311__request_id=response.json()[0]["service_request_id"])


# --- the schemas themselves --------------------------------------------------------------------------


def test_the_schema_check_resolves_its_refs_and_catches_a_bad_answer():
    # If "$ref": "service.json" were not resolved, anything would pass.
    validate(
        [{"service_code": "x", "service_name": "x", "metadata": False, "type": "realtime"}], "services.json"
    )
    with pytest.raises(jsonschema.ValidationError):
        validate([{"service_code": "x", "service_name": "x", "type": "realtime"}], "services.json")
    with pytest.raises(jsonschema.ValidationError):
        validate([{"service_request_id": "a", "status": "open", "service_code": "x",
                   "requested_datetime": "2026-11-27 09:00"}], "requests.json")  # fmt: skip


# --- discovery and services --------------------------------------------------------------------------


def test_discovery_in_json_and_xml():
    body = get_json("discovery.json")
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["application/json", "text/xml"]
    assert dt.datetime.fromisoformat(body["changeset"]).tzinfo is not None
    root = get_xml("discovery.xml")
    assert root.tag == "discovery"
    assert root.findtext("endpoints/endpoint/specification") == "http://wiki.open311.org/GeoReport_v2"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "application/json",
        "text/xml",
    ]


def test_services_are_the_active_leaf_categories():
    body = get_json("services.json")
    validate(body, "services.json")
    codes = {s["service_code"] for s in body}
    assert "noise" in codes and "public_order" not in codes  # parents group, leaves are filed under
    noise = next(s for s in body if s["service_code"] == "noise")
    assert noise["service_name"] == "噪音扰民" and noise["group"] == "治安"
    assert noise["metadata"] is False and noise["type"] == "realtime"
    assert "噪音扰民" in noise["keywords"].split(",")
    Category.objects.filter(code="noise").update(active=False)
    assert "noise" not in {s["service_code"] for s in get_json("services.json")}


def test_services_in_xml():
    root = get_xml("services.xml")
    assert root.tag == "services"
    services = root.findall("service")
    assert len(services) == len(get_json("services.json"))
    noise = next(s for s in services if s.findtext("service_code") == "noise")
    assert noise.findtext("service_name") == "噪音扰民"
    assert noise.findtext("metadata") == "false" and noise.findtext("group") == "治安"


def test_service_definition_and_unknown_codes():
    body = get_json("services/noise.json")
    validate(body, "service-definition.json")
    assert body == {"service_code": "noise", "attributes": []}
    root = get_xml("services/noise.xml")
    assert root.tag == "service_definition" and root.findtext("service_code") == "noise"
    assert_error(get_json("services/no-such-thing.json", 404), 404)
    root = get_xml("services/no-such-thing.xml", 404)
    assert root.tag == "errors" and root.findtext("error/code") == "404"
    assert get_json("services/public_order.json", 404)  # a group, not a service


def test_other_extensions_paths_and_methods_are_refused_in_spec_form():
    assert_error(get_json("services.csv", 404), 404)
    assert_error(get_json("nothing-here", 404), 404)
    assert get_xml("nothing.xml", 404).tag == "errors"
    response = Client().delete(f"{BASE}services.json")
    assert response.status_code == 405 and assert_error(response.json(), 405)
    assert_error(get_json("services.json?jurisdiction_id=110000", 404), 404)
    assert get_json("services.json?jurisdiction_id=370100")


# --- POST requests --------------------------------------------------------------------------------


def test_a_posted_request_goes_through_the_intake_to_the_dispatch_queue(app_client):
    response = post(request_params(app_client))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert len(body) == 1 and body[0]["account_id"] is None and "工作日" in body[0]["service_notice"]
    validate_swagger(body[0], "RequestResponse")
    appeal = Appeal.objects.select_related("case", "category").get(
        open311__request_id=body[0]["service_request_id"]
    )
    # Not the tracking code: that one opens the citizen's own progress page, with the reply to them.
    assert body[0]["service_request_id"] != appeal.tracking_code
    assert appeal.channel == "open311" and appeal.category.code == "noise"
    # A noise complaint at a known township is dispatched straight to its station by triage.
    assert appeal.case.state == CaseState.DISPATCHED and appeal.case.channel == "open311"
    assert appeal.case.responsible_unit.name == "泺口派出所"
    assert appeal.appellant_name == "王丽" and appeal.appellant_phone == PHONE
    assert appeal.address == "天桥区泺口街道" and "KTV" in appeal.content
    dispatcher = User.objects.get(username="dispatcher")
    queue = in_queue(Case.objects.visible_to(dispatcher), "to_accept", clock.now())
    assert queue.filter(pk=appeal.case_id).exists()

    payload = RawPayload.objects.get(appeal=appeal)
    assert payload.transport == "open311" and payload.channel == "open311"
    assert payload.status == PayloadStatus.PROCESSED and payload.source == "open311:quancheng-app"
    assert payload.content_type.startswith(FORM)
    stored = payload.text
    assert "service_code=noise" in stored and EMAIL.replace("@", "%40") in stored  # kept as sent …
    assert "api_key" not in stored and app_client.api_key not in stored  # … except the credential


def test_a_posted_request_answers_in_xml(app_client):
    response = post(request_params(app_client), fmt="xml")
    assert response.status_code == 200 and response["Content-Type"] == "text/xml; charset=utf-8"
    root = ElementTree.fromstring(response.content)
    assert root.tag == "service_requests"
    code = root.findtext("request/service_request_id")
    assert root.find("request/account_id").text is None  # an empty element for null
    assert Appeal.objects.get(open311__request_id=code).channel == "open311"


def test_only_the_coordinates_give_the_address_text(app_client):
    appeal = submitted(app_client, address_string="")
    assert appeal.address == "经纬度 36.690500,116.996500（WGS84）"


def test_an_unknown_or_missing_api_key_is_refused_and_kept(app_client):
    for key, fmt in (("not-a-key", "json"), ("", "json"), ("not-a-key", "xml")):
        response = post({**request_params(app_client), "api_key": key}, fmt=fmt)
        assert response.status_code == 403
        if fmt == "json":
            assert_error(response.json(), 403)
        else:
            assert ElementTree.fromstring(response.content).findtext("error/code") == "403"
    Open311Client.objects.filter(pk=app_client.pk).update(active=False)
    assert post(request_params(app_client)).status_code == 403
    assert not Appeal.objects.exists()
    kept = RawPayload.objects.filter(transport="open311")
    assert kept.count() == 4 and {p.status for p in kept} == {PayloadStatus.REJECTED}
    assert all("description=" in p.text and "api_key" not in p.text for p in kept)


def test_an_unknown_service_code_is_a_400_and_kept_for_repair(app_client):
    response = post(request_params(app_client, service_code="no-such-service"))
    assert response.status_code == 400
    assert assert_error(response.json(), 400).startswith("service_code")
    payload = RawPayload.objects.get(transport="open311")
    assert payload.status == PayloadStatus.QUARANTINED and payload.error_field == "service_code"
    assert not Appeal.objects.exists()


def test_a_missing_description_is_a_400_and_the_payload_is_quarantined(app_client):
    response = post(request_params(app_client, description=None), fmt="xml")
    assert response.status_code == 400
    root = ElementTree.fromstring(response.content)
    assert root.tag == "errors" and root.findtext("error/code") == "400"
    assert root.findtext("error/description").startswith("description")
    payload = RawPayload.objects.get(transport="open311")
    assert payload.status == PayloadStatus.QUARANTINED and payload.error_field == "description"
    assert not Appeal.objects.exists()


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"phone": "12345"}, "phone"),
        ({"lat": "north"}, "lat"),
        ({"long": ""}, "long"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
    ],
)
def test_bad_fields_are_named_by_their_open311_names(app_client, extra, named):
    response = post(request_params(app_client, **extra))
    assert response.status_code == 400
    assert assert_error(response.json(), 400).startswith(named)


def test_a_body_that_is_not_a_form_is_quarantined(app_client):
    body = json.dumps({"description": "噪音", "service_code": "noise"}).encode()
    response = Client().post(
        f"{BASE}requests.json?api_key={app_client.api_key}", data=body, content_type="application/json"
    )
    assert response.status_code == 400 and assert_error(response.json(), 400).startswith("body")
    assert RawPayload.objects.get(transport="open311").status == PayloadStatus.QUARANTINED


def test_a_retried_request_with_the_same_external_ref_is_one_appeal(app_client):
    first = submitted(app_client, external_ref="app-42")
    again = post(request_params(app_client, external_ref="app-42"))
    assert again.status_code == 200 and again.json()[0]["service_request_id"] == first.open311.request_id
    assert Appeal.objects.count() == 1


def test_a_payload_left_pending_is_finished_by_the_registered_parser(app_client):
    # A crash between storing and processing: the recovery task finds the "open311" parser.
    body = urlencode(request_params(None, api_key=None)).encode()
    payload = store_raw(channel="open311", transport="open311", body=body, source="open311:quancheng-app",
                        content_type=FORM)  # fmt: skip
    outcome = process_with_parser(payload)
    assert outcome.status == "created" and outcome.appeal.category.code == "noise"
    assert outcome.appeal.open311.request_id  # published like one that came in directly


def test_an_external_ref_never_matches_a_partner_work_order(app_client):
    # A partner whose code is the client's code: their work order numbers are not the client's.
    hotline = actions.register_appeal(
        actor=None,
        channel="hotline_12345",
        content="热线工单",
        external_source=app_client.code,
        external_ref="app-42",
    )
    appeal = submitted(app_client, external_ref="app-42")
    assert appeal.pk != hotline.pk and appeal.external_source == "open311:quancheng-app"
    assert not hasattr(Appeal.objects.get(pk=hotline.pk), "open311")


# --- GET requests ---------------------------------------------------------------------------------


def test_requests_list_and_detail_in_json(app_client):
    appeal = submitted(app_client)
    body = get_json("requests.json")
    validate(body, "requests.json")
    (item,) = body
    assert item["service_request_id"] == appeal.open311.request_id
    assert item["status"] == "open" and item["status_notes"] == "待签收"
    assert item["service_code"] == "noise" and item["service_name"] == "噪音扰民"
    assert item["address"] == "天桥区泺口街道" and (item["lat"], item["long"]) == (36.6905, 116.9965)
    assert item["media_url"] == "https://img.example.com/ktv.jpg"
    assert item["requested_datetime"].endswith("+08:00") and item["updated_datetime"].endswith("+08:00")
    assert item["agency_responsible"] == "泺口派出所" and item["expected_datetime"].endswith("+08:00")
    detail = get_json(f"requests/{appeal.open311.request_id}.json")
    validate(detail, "requests.json")
    assert detail == body
    assert_error(get_json("requests/unknown-id.json", 404), 404)


def test_requests_list_and_detail_in_xml(app_client):
    appeal = submitted(app_client)
    root = get_xml("requests.xml")
    assert root.tag == "service_requests"
    (request,) = root.findall("request")
    assert request.findtext("service_request_id") == appeal.open311.request_id
    assert request.findtext("status") == "open" and request.findtext("lat") == "36.6905"
    assert request.find("zipcode").text is None
    detail = get_xml(f"requests/{appeal.open311.request_id}.xml")
    assert detail.findtext("request/service_request_id") == appeal.open311.request_id
    assert get_xml("requests/unknown-id.xml", 404).findtext("error/code") == "404"


def test_requests_never_show_who_reported_them(app_client):
    appeal = submitted(app_client, description="我的电话13912345678，身份证370102198001011234，楼下KTV太吵。")
    for path in ("requests.json", f"requests/{appeal.open311.request_id}.json", "requests.xml"):
        text = Client().get(BASE + path).content.decode()
        secrets = (PHONE, "王丽", "王", "丽", EMAIL, "13912345678", "370102198001011234", "device-1")
        for secret in (*secrets, appeal.tracking_code):
            assert secret not in text, (path, secret)
    (item,) = get_json("requests.json")
    validate([item], "requests.json")
    assert not {"phone", "email", "first_name", "last_name", "device_id", "account_id"} & set(item)
    assert "139****5678" in item["description"] and "370102********1234" in item["description"]


def test_only_open311_appeals_are_published(app_client):
    other = actions.register_appeal(actor=None, channel="hotline_12345", content="热线来电：小区噪音扰民")
    mine = submitted(app_client)
    assert [r["service_request_id"] for r in get_json("requests.json")] == [mine.open311.request_id]
    assert_error(get_json(f"requests/{other.tracking_code}.json", 404), 404)
    assert_error(get_json(f"tokens/{other.tracking_code}.json", 404), 404)


def test_state_deadline_and_unit_of_the_case(app_client):
    appeal = submitted(app_client)
    due = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)
    closed_at = dt.datetime(2026, 12, 3, 1, 30, tzinfo=dt.UTC)
    # Only the read side is under test: the state is set directly rather than walked through the actions.
    Case.objects.filter(pk=appeal.case_id).update(
        state=CaseState.CLOSED, complete_due_at=due, closed_at=closed_at
    )
    (item,) = get_json(f"requests/{appeal.open311.request_id}.json")
    validate([item], "requests.json")
    assert item["status"] == "closed" and item["status_notes"] == "已办结"
    assert item["expected_datetime"] == "2026-12-04T18:00:00+08:00"
    assert item["updated_datetime"] == "2026-12-03T09:30:00+08:00"


def test_request_filters(app_client):
    noise = submitted(app_client)
    parking = submitted(app_client, service_code="illegal_parking", description="小区门口长期违停")
    Case.objects.filter(pk=parking.case_id).update(state=CaseState.CLOSED)

    def ids(query: str) -> list[str]:
        body = get_json(f"requests.json?{query}")
        validate(body, "requests.json") if body else None
        return sorted(r["service_request_id"] for r in body)

    assert ids("service_code=noise") == [noise.open311.request_id]
    assert ids("status=closed") == [parking.open311.request_id]
    assert ids("status=open") == [noise.open311.request_id]
    assert ids("status=open,closed") == sorted([noise.open311.request_id, parking.open311.request_id])
    assert ids(f"service_request_id={parking.open311.request_id},nope&status=open") == [
        parking.open311.request_id
    ]
    today = timezone.localdate(clock.now())  # the +08:00 day: from 16:00 UTC it is a day ahead of UTC's
    window = urlencode({"start_date": f"{today - dt.timedelta(days=1)}T00:00:00+08:00",
                        "end_date": f"{today + dt.timedelta(days=1)}T00:00:00+08:00"})  # fmt: skip
    assert len(ids(window)) == 2
    assert ids(urlencode({"end_date": f"{today - dt.timedelta(days=2)}T00:00:00+08:00"})) == []
    assert assert_error(get_json("requests.json?start_date=yesterday", 400), 400).startswith("start_date")
    assert_error(get_json("requests.json?start_date=2026-01-01&end_date=2026-11-01", 400), 400)
    assert_error(get_json("requests.json?status=pending", 400), 400)


def test_old_requests_leave_the_default_window(app_client):
    appeal = submitted(app_client)
    Appeal.objects.filter(pk=appeal.pk).update(received_at=clock.now() - dt.timedelta(days=91))
    assert get_json("requests.json") == []
    assert len(get_json(f"requests/{appeal.open311.request_id}.json")) == 1


def test_tokens_resolve_to_the_request_id(app_client):
    appeal = submitted(app_client)
    body = get_json(f"tokens/{appeal.open311.request_id}.json")
    assert body == [{"service_request_id": appeal.open311.request_id, "token": appeal.open311.request_id}]
    validate_swagger(body[0], "TokenResponse")
    root = get_xml(f"tokens/{appeal.open311.request_id}.xml")
    assert root.tag == "service_requests" and root.findtext("request/token") == appeal.open311.request_id
    assert_error(get_json("tokens/unknown.json", 404), 404)
