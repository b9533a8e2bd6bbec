"""Partner pushes: signatures, replays, repeated work orders, bad payloads kept for repair."""

import datetime as dt
import json
import time

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minsheng.appeals.models import Appeal
from minsheng.intake import signing
from minsheng.intake.models import Partner, PayloadStatus, RawPayload
from minsheng.intake.normalise import SHANGHAI

pytestmark = pytest.mark.django_db

URL = "/api/v1/intake/partners/{}/work-orders/"


@pytest.fixture
def hotline():
    return Partner.objects.create(code="jn12345", name="济南12345热线", channel="hotline_12345")


def work_order(number="JN2026112700123", **extra) -> dict:
    return {
        "工单编号": number,
        "来电时间": "2026-11-27 09:12:00",
        "来电人": "王女士",
        "来电号码": "138 0531 2345",
        "诉求内容": "泺口街道某小区楼下ＫＴＶ每晚营业到凌晨，噪音扰民。",
        "诉求地址": "天桥区泺口街道",
        "诉求类型": "噪音扰民",
        **extra,
    }


def push(partner, record, *, timestamp=None, headers=None, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(record, ensure_ascii=False).encode()
    signed = signing.signed_headers(partner, body, timestamp=timestamp)
    signed.update(headers or {})
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed.items()}
    return Client().post(URL.format(partner.code), data=body, content_type="application/json", **extra)


def test_a_signed_work_order_becomes_an_appeal_with_clean_fields(hotline):
    response = push(hotline, work_order())
    assert response.status_code == 201, response.content
    body = response.json()
    appeal = Appeal.objects.get(pk=body["appeal_id"])
    assert body["case_number"] == appeal.case.number and body["status"] == "created"
    assert appeal.channel == "hotline_12345"
    assert appeal.appellant_phone == "13805312345"
    assert "KTV" in appeal.content  # full-width letters folded
    assert (appeal.external_source, appeal.external_ref) == ("jn12345", "JN2026112700123")
    assert appeal.township_id == "370105015" and appeal.district_id == "370105"
    assert appeal.category.code == "noise"
    assert appeal.received_at == dt.datetime(2026, 11, 27, 9, 12, tzinfo=SHANGHAI)
    payload = RawPayload.objects.get(pk=body["payload_id"])
    assert (
        payload.status == PayloadStatus.PROCESSED
        and json.loads(payload.text)["工单编号"] == "JN2026112700123"
    )


def test_a_repeated_work_order_answers_the_existing_appeal(hotline):
    first = push(hotline, work_order()).json()
    again = push(hotline, work_order(), timestamp=int(time.time()) + 1)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate" and again.json()["appeal_id"] == first["appeal_id"]
    assert Appeal.objects.count() == 1
    assert RawPayload.objects.filter(status=PayloadStatus.DUPLICATE).count() == 1


def test_a_wrong_signature_is_refused_and_kept(hotline):
    response = push(hotline, work_order(), headers={signing.SIGNATURE_HEADER: "0" * 64})
    assert response.status_code == 401 and response.json()["code"] == "bad_signature"
    assert not Appeal.objects.exists()
    kept = RawPayload.objects.get()
    assert kept.status == PayloadStatus.REJECTED and "签名" in kept.error


def test_a_replayed_request_is_refused(hotline):
    body = json.dumps(work_order(), ensure_ascii=False).encode()
    headers = signing.signed_headers(hotline, body)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    assert (
        Client().post(URL.format("jn12345"), body, content_type="application/json", **extra).status_code
        == 201
    )
    again = Client().post(URL.format("jn12345"), body, content_type="application/json", **extra)
    assert again.status_code == 409 and again.json()["code"] == "replayed"
    assert Appeal.objects.count() == 1


def test_an_old_timestamp_is_refused(hotline):
    response = push(hotline, work_order(), timestamp=int(time.time()) - 3600)
    assert response.status_code == 401 and response.json()["code"] == "stale_timestamp"


def test_an_unknown_partner_and_a_missing_signature(hotline):
    assert Client().post(URL.format("nobody"), b"{}", content_type="application/json").status_code == 404
    unsigned = Client().post(URL.format("jn12345"), b"{}", content_type="application/json")
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "unsigned"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (work_order(诉求内容=""), "content"),
        (work_order(来电号码="12"), "appellant_phone"),
        (work_order(来电时间="昨天下午"), "received_at"),
        (work_order(来电时间="2099-01-01 00:00:00"), "received_at"),
    ],
)
def test_bad_fields_are_quarantined_with_the_field_named(hotline, record, field):
    response = push(hotline, record)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "quarantined" and body["field"] == field
    payload = RawPayload.objects.get(pk=body["payload_id"])
    assert payload.status == PayloadStatus.QUARANTINED and payload.error_field == field


def test_a_body_that_is_not_json_is_kept_for_repair(hotline):
    response = push(hotline, None, raw="工单编号=1".encode("gb18030"))
    assert response.status_code == 400 and response.json()["field"] == "body"
    assert RawPayload.objects.get().status == PayloadStatus.QUARANTINED


def test_a_partner_mapping_renames_fields(hotline):
    hotline.mapping = {"content": "content_text", "external_ref": "order_id"}
    hotline.save()
    response = push(hotline, {"order_id": "X1", "content_text": "咨询身份证补办", "来电号码": "13905310000"})
    assert response.status_code == 201
    assert Appeal.objects.get().external_ref == "X1"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(
        st.sampled_from(["工单编号", "来电时间", "来电人", "来电号码", "诉求内容", "诉求地址", "诉求类型"]),
        st.none() | st.integers() | st.text(max_size=40) | st.lists(st.integers(), max_size=2),
    )
    | st.lists(st.integers(), max_size=3)
    | st.text(max_size=20)
)
def test_any_signed_body_gets_an_answer_never_a_server_error(hotline, record):
    response = push(hotline, record, timestamp=int(time.time()))
    assert response.status_code in (200, 201, 400, 409), response.content
