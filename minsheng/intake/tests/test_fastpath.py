"""The WSGI fast path for work-order pushes answers as Django would, and leaves the unusual to Django.
(The push tests themselves run through both paths: ``test_push.py``.)"""

import json

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client

from minsheng.intake import signing
from minsheng.intake.api import WorkOrderPushView
from minsheng.intake.fastpath import PushFastPath
from minsheng.intake.models import Partner, RawPayload
from minsheng.intake.tests.test_push import URL, work_order
from minsheng.intake.tests.wsgi_client import WsgiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotline():
    return Partner.objects.create(code="jn12345", name="济南12345热线", channel="hotline_12345")


def signed(partner, record) -> tuple[bytes, dict]:
    body = json.dumps(record, ensure_ascii=False).encode()
    headers = signing.signed_headers(partner, body)
    return body, {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}


def test_the_fast_path_answers_with_djangos_status_body_and_headers(hotline, monkeypatch):
    body, headers = signed(hotline, work_order("JN-A"))
    by_django = Client().post(URL.format("jn12345"), body, content_type="application/json", **headers)

    def not_here(*args, **kwargs):
        raise AssertionError("the fast path should have answered, not the DRF view")

    monkeypatch.setattr(WorkOrderPushView, "post", not_here)
    body, headers = signed(hotline, work_order("JN-B"))
    fast = WsgiClient().post(URL.format("jn12345"), body, content_type="application/json", **headers)

    assert fast.status_code == by_django.status_code == 201
    assert fast.json().keys() == by_django.json().keys()
    assert fast.json()["appeal_id"] != by_django.json()["appeal_id"]
    assert fast["Content-Length"] == str(len(fast.content))
    skip = {"content-length"}  # the two answers' ids may differ in length
    assert {k.lower(): v for k, v in fast.headers.items() if k.lower() not in skip} == {
        k.lower(): v for k, v in by_django.headers.items() if k.lower() not in skip
    }
    # What the payload records of its request is the same either way.
    first, second = RawPayload.objects.order_by("pk")
    assert (first.remote_addr, first.content_type) == (second.remote_addr, second.content_type)
    assert first.headers.keys() == second.headers.keys()


def test_over_https_both_paths_send_the_security_headers_the_settings_ask_for(hotline, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    body, headers = signed(hotline, work_order("JN-S1"))
    by_django = Client().post(
        URL.format("jn12345"), body, content_type="application/json", secure=True, **headers
    )
    # A fresh application: the middlewares read their settings when they are made.
    fast_app = PushFastPath(WSGIHandler())
    body, headers = signed(hotline, work_order("JN-S2"))
    fast = WsgiClient(fast_app, secure=True).post(
        URL.format("jn12345"), body, content_type="application/json", **headers
    )
    assert fast.status_code == by_django.status_code == 201
    assert fast["Strict-Transport-Security"] == by_django["Strict-Transport-Security"]
    assert fast["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"
    assert dict(fast.headers).keys() == {k: v for k, v in by_django.headers.items()}.keys()


def test_the_fast_path_leaves_a_host_not_allowed_to_django(hotline):
    body, headers = signed(hotline, work_order())
    response = WsgiClient().post(
        URL.format("jn12345"),
        body,
        content_type="application/json",
        **{**headers, "HTTP_HOST": "evil.example"},
    )
    assert response.status_code == 400
    assert "json" not in response["Content-Type"]  # Django's own page, not an answer to the push
    assert not RawPayload.objects.exists()


def test_the_fast_path_leaves_an_oversized_body_to_django(hotline, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200
    body, headers = signed(hotline, work_order(诉求内容="噪音扰民" * 100))
    fast = WsgiClient().post(URL.format("jn12345"), body, content_type="application/json", **headers)
    by_django = Client().post(URL.format("jn12345"), body, content_type="application/json", **headers)
    assert fast.status_code == by_django.status_code == 400
    assert not RawPayload.objects.exists()


def test_other_methods_and_urls_go_to_django(hotline):
    client = WsgiClient()
    assert client.post(URL.format("jn12345") + "extra/", b"{}").status_code == 404
    response = client.post("/api/v1/intake/partners/jn12345/service-records/", b"{}")
    assert response.status_code == 401 and response.json()["code"] == "unsigned"
