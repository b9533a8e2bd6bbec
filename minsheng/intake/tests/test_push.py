"""Partner pushes: signatures, replays, repeated work orders, bad payloads kept for repair.

Every test runs twice: through Django's handler (the test client) and through the WSGI application
as gunicorn serves it, where the work-order push is answered by the fast path (``intake.fastpath``)."""

import datetime as dt
import json
import sys
import time

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minsheng.appeals.models import Appeal
from minsheng.intake import signing
from minsheng.intake.models import Partner, PayloadStatus, RawPayload
from minsheng.intake.normalise import SHANGHAI
from minsheng.intake.tests.wsgi_client import WsgiClient

pytestmark = pytest.mark.django_db

URL = "/api/v1/intake/partners/{}/work-orders/"
CLIENT = Client  # set by ``through`` for each test


@pytest.fixture(autouse=True, params=["django", "wsgi"])
def through(request, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "CLIENT", Client if request.param == "django" else WsgiClient)
    return request.param


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
    return CLIENT().post(URL.format(partner.code), data=body, content_type="application/json", **extra)


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
        CLIENT().post(URL.format("jn12345"), body, content_type="application/json", **extra).status_code
        == 201
    )
    again = CLIENT().post(URL.format("jn12345"), body, content_type="application/json", **extra)
    assert again.status_code == 409 and again.json()["code"] == "replayed"
    assert Appeal.objects.count() == 1


def test_an_old_timestamp_is_refused(hotline):
    response = push(hotline, work_order(), timestamp=int(time.time()) - 3600)
    assert response.status_code == 401 and response.json()["code"] == "stale_timestamp"


def test_an_unknown_partner_and_a_missing_signature(hotline):
    assert CLIENT().post(URL.format("nobody"), b"{}", content_type="application/json").status_code == 404
    unsigned = CLIENT().post(URL.format("jn12345"), b"{}", content_type="application/json")
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


# Whatever a partner system might sign: objects with our field names and odd values, arrays, strings.
ANY_BODY = (
    st.dictionaries(
        st.sampled_from(["工单编号", "来电时间", "来电人", "来电号码", "诉求内容", "诉求地址", "诉求类型"]),
        st.none() | st.integers() | st.text(max_size=40) | st.lists(st.integers(), max_size=2),
    )
    | st.lists(st.integers(), max_size=3)
    | st.text(max_size=20)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ANY_BODY)
def test_any_signed_body_gets_an_answer_never_a_server_error(hotline, record):
    response = push(hotline, record, timestamp=int(time.time()))
    assert response.status_code in (200, 201, 400, 409), response.content


# --- answered on receipt (Partner.answer_on_receipt): 202 at once, the worker registers ---------------


@pytest.fixture
def on_receipt(hotline, monkeypatch):
    from minsheng.intake import tasks

    hotline.answer_on_receipt = True
    hotline.save()
    monkeypatch.setattr(tasks, "_queued_at", -100.0)  # no queueing skipped by an earlier test's push
    monkeypatch.setattr(tasks, "QUIET_S", 0.0)  # the drain stops as soon as the queue is empty
    return hotline


def drain() -> int:
    from minsheng.intake.tasks import process_received

    return process_received.call()


def test_on_receipt_a_push_is_answered_202_and_the_worker_makes_exactly_one_appeal(on_receipt):
    from django_tasks_db.models import DBTaskResult

    response = push(on_receipt, work_order())
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "accepted" and set(body) == {"status", "payload_id"}
    payload = RawPayload.objects.get(pk=body["payload_id"])
    assert payload.status == PayloadStatus.PENDING and not Appeal.objects.exists()
    # The processing was queued in the payload's own transaction.
    assert DBTaskResult.objects.filter(task_path="minsheng.intake.tasks.process_received").count() == 1

    assert drain() == 1
    assert drain() == 0
    appeal = Appeal.objects.get()
    payload.refresh_from_db()
    assert payload.status == PayloadStatus.PROCESSED and payload.appeal == appeal
    assert (appeal.external_source, appeal.external_ref) == ("jn12345", "JN2026112700123")
    assert appeal.category.code == "noise" and appeal.township_id == "370105015"
    assert appeal.case.number and appeal.case.state in ("registered", "dispatched")


def test_on_receipt_a_burst_queues_one_task_not_one_per_push(on_receipt, monkeypatch):
    from django_tasks_db.models import DBTaskResult

    from minsheng.intake import tasks

    for n in range(3):
        monkeypatch.setattr(tasks, "_queued_at", -100.0)  # as if a second had passed between pushes
        assert push(on_receipt, work_order(f"JN{n}")).status_code == 202
    # One task waits, not yet started: the later pushes rely on it.
    assert DBTaskResult.objects.filter(task_path="minsheng.intake.tasks.process_received").count() == 1
    assert drain() == 3 and Appeal.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_on_receipt_pushes_outside_a_transaction_are_each_committed_and_queue_one_task(world, on_receipt):
    """As under gunicorn (no test transaction around the request): the push that queues the task
    stores its payload with the task in one transaction, the next ones store theirs in a statement
    of its own."""
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    answers = [push(on_receipt, work_order(f"JN{n}")) for n in range(3)]
    assert [a.status_code for a in answers] == [202] * 3
    ids = [a.json()["payload_id"] for a in answers]
    assert DBTaskResult.objects.filter(task_path="minsheng.intake.tasks.process_received").count() == 1
    if connection.vendor == "postgresql":
        import psycopg

        other = connection.get_connection_params()
        with psycopg.connect(**{k: v for k, v in other.items() if k != "cursor_factory"}) as reader:
            seen = reader.execute("SELECT count(*) FROM intake_rawpayload WHERE id = ANY(%s)", [ids])
            assert seen.fetchone()[0] == 3, "committed, seen from another connection"
    assert drain() == 3 and Appeal.objects.count() == 3


def test_on_receipt_a_repeated_work_order_is_answered_with_the_existing_appeal_at_once(on_receipt):
    push(on_receipt, work_order())
    drain()
    again = push(on_receipt, work_order(), timestamp=int(time.time()) + 1)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["appeal_id"] == Appeal.objects.get().pk
    assert RawPayload.objects.get(pk=again.json()["payload_id"]).status == PayloadStatus.DUPLICATE
    assert drain() == 0 and Appeal.objects.count() == 1


def test_on_receipt_a_repeat_pushed_before_processing_still_makes_one_appeal(on_receipt):
    first = push(on_receipt, work_order())
    second = push(on_receipt, work_order(), timestamp=int(time.time()) + 1)
    assert (first.status_code, second.status_code) == (202, 202)
    assert drain() == 2
    assert Appeal.objects.count() == 1
    statuses = dict(RawPayload.objects.values_list("pk", "status"))
    assert statuses[first.json()["payload_id"]] == PayloadStatus.PROCESSED
    assert statuses[second.json()["payload_id"]] == PayloadStatus.DUPLICATE


def test_on_receipt_a_bad_field_is_still_answered_400_at_once(on_receipt):
    response = push(on_receipt, work_order(来电号码="12"))
    assert response.status_code == 400 and response.json()["field"] == "appellant_phone"
    assert RawPayload.objects.get().status == PayloadStatus.QUARANTINED
    assert drain() == 0 and not Appeal.objects.exists()


def test_on_receipt_the_signature_is_still_checked_at_once(on_receipt):
    response = push(on_receipt, work_order(), headers={signing.SIGNATURE_HEADER: "0" * 64})
    assert response.status_code == 401 and response.json()["code"] == "bad_signature"
    assert RawPayload.objects.get().status == PayloadStatus.REJECTED
    assert drain() == 0


def test_a_partner_answered_synchronously_is_left_to_its_request(on_receipt):
    """The drain takes only the payloads of partners answered on receipt."""
    on_receipt.answer_on_receipt = False
    on_receipt.save()
    stored = RawPayload.objects.create(
        channel="hotline_12345", transport="push", source="jn12345", body=b"{}", status=PayloadStatus.PENDING
    )
    assert drain() == 0
    assert RawPayload.objects.get(pk=stored.pk).status == PayloadStatus.PENDING


def test_a_switched_off_partner_is_refused_at_once_in_this_process(hotline):
    assert push(hotline, work_order()).status_code == 201
    hotline.active = False
    hotline.save()  # the admin page's save: this process forgets the cached partner at once
    assert push(hotline, work_order("JN2")).status_code == 404


def test_another_process_sees_a_partner_change_within_the_cache_time(hotline, monkeypatch):
    from minsheng.intake import partners

    assert partners.get("jn12345") is not None
    Partner.objects.filter(pk=hotline.pk).update(active=False)  # as another process would: no signal here
    assert partners.get("jn12345") is not None  # still cached …
    monkeypatch.setattr(partners, "TTL_S", 0.0)
    assert partners.get("jn12345") is None  # … until the cache time has passed


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ANY_BODY)
def test_on_receipt_any_signed_body_gets_an_answer_and_the_worker_never_fails(on_receipt, record):
    response = push(on_receipt, record, timestamp=int(time.time()))
    assert response.status_code in (200, 202, 400, 409), response.content
    drain()
    assert not RawPayload.objects.filter(status=PayloadStatus.PENDING).exists()
