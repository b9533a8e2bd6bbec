"""The Kannel transport's pieces that need no Kannel: parameters, store-status parsing, start-up checks."""

import urllib.parse

import pytest

from minsheng.core import clock
from minsheng.sms import outbox, signing
from minsheng.sms.backends.base import Verdict
from minsheng.sms.backends.kannel import KannelBackend, parse_store
from minsheng.sms.checks import kannel_settings
from minsheng.sms.tests.helpers import TUESDAY_10

pytestmark = pytest.mark.django_db

STORE = """<?xml version="1.0"?>
<gateway>
	<message>
	<id>fed6ac07-d31d-4339-87dd-ac07b6f1f56b</id>
	<type>MT-PUSH</type>
	<receiver>13905310001</receiver>
	<flags>-1:2:-1:-1:31</flags>
	<msg-data>0%10mNSWQl%5B%890%11</msg-data>
	</message>
	<message>
	<receiver>13905310002</receiver>
	<flags>-1:0:-1:-1:31</flags>
	<msg-data>plain+text</msg-data>
	</message>
</gateway>
"""


@pytest.fixture
def kannel(settings):
    settings.SMS_BACKEND = "kannel"
    settings.KANNEL_CALLBACK_URL = "http://app.internal:8000"
    settings.KANNEL_CALLBACK_SECRET = "secret"
    settings.KANNEL_PASSWORD = "pw"


def test_sendsms_parameters_carry_a_signed_delivery_report_url(kannel):
    with clock.frozen_at(TUESDAY_10):
        message = outbox.enqueue("13905310001", "【济南公安】测试", purpose="test")
    message.attempts = 2
    params = KannelBackend().params(message)
    assert (params["to"], params["coding"], params["charset"], params["dlr-mask"]) == (
        "13905310001",
        "2",
        "UTF-8",
        "31",
    )
    url = urllib.parse.urlsplit(params["dlr-url"])
    query = dict(urllib.parse.parse_qsl(url.query))
    assert url.netloc == "app.internal:8000" and url.path == "/sms/kannel/dlr"
    assert query["id"] == message.dlr_id and query["a"] == "2"
    assert signing.valid_signature(message.dlr_id, query["sig"])
    assert query["type"] == "%d" and query["kid"] == "%I"  # Kannel's escapes, left for Kannel


def test_no_callback_url_means_no_delivery_reports(kannel, settings):
    settings.KANNEL_CALLBACK_URL = ""
    with clock.frozen_at(TUESDAY_10):
        message = outbox.enqueue("13905310001", "测试", purpose="test")
    assert "dlr-url" not in KannelBackend().params(message)


def test_store_status_is_read_as_receiver_and_text():
    held = parse_store(STORE.encode())
    assert ("13905310001", "【济南公安】") in held
    assert ("13905310002", "plain text") in held
    assert parse_store(b"not xml") == set()


def test_resolving_without_the_admin_interface_trusts_the_reports_only(kannel, settings):
    settings.KANNEL_ADMIN_URL = ""
    with clock.frozen_at(TUESDAY_10):
        message = outbox.enqueue("13905310001", "测试", purpose="test")
    assert KannelBackend().resolve([message]) == {message.pk: Verdict.ABSENT}


def test_an_unreachable_admin_interface_leaves_the_doubt(kannel, settings):
    settings.KANNEL_ADMIN_URL = "http://127.0.0.1:9"
    with clock.frozen_at(TUESDAY_10):
        message = outbox.enqueue("13905310001", "测试", purpose="test")
    assert KannelBackend().resolve([message]) == {message.pk: Verdict.UNKNOWN}


def test_start_up_checks_name_what_the_guarantees_need(settings):
    settings.SMS_BACKEND = "kannel"
    settings.KANNEL_CALLBACK_SECRET = ""
    settings.KANNEL_CALLBACK_URL = ""
    settings.KANNEL_ADMIN_URL = ""
    settings.SMS_SIMULATOR = True
    ids = {problem.id for problem in kannel_settings(None)}
    assert ids == {"sms.E001", "sms.E002", "sms.W001", "sms.W002", "sms.W003"}
    settings.SMS_BACKEND = "simulator"
    assert kannel_settings(None) == []
