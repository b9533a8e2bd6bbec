"""Kannel's callbacks (shared secret, IP allow-list, signatures) and the phone simulator page."""

import urllib.parse

import pytest
from django.urls import reverse

from minsheng.cases.tests.cast import person
from minsheng.core import clock
from minsheng.sms import outbox, signing
from minsheng.sms.choices import InboundSource, InboundStatus, MessageState
from minsheng.sms.models import InboundMessage, Message
from minsheng.sms.tests.helpers import TUESDAY_10

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-tests"
PHONE = "13905310001"


@pytest.fixture(autouse=True)
def kannel_settings(settings):
    settings.KANNEL_CALLBACK_SECRET = SECRET
    settings.KANNEL_ALLOWED_IPS = ["127.0.0.1", "10.20.0.0/16"]


def mo(client, addr="127.0.0.1", **params):
    query = {
        "k": SECRET,
        "from": PHONE,
        "to": "106573100110",
        "text": "满意",
        "coding": "0",
        "charset": "UTF-8",
    }
    query.update(params)
    return client.get(reverse("sms-kannel-mo"), query, REMOTE_ADDR=addr)


def queued() -> Message:
    with clock.frozen_at(TUESDAY_10):
        return outbox.enqueue(PHONE, "【济南公安】测试", purpose="test")


def dlr(client, message, addr="127.0.0.1", **params):
    query = {
        "id": message.dlr_id,
        "sig": signing.sign(message.dlr_id),
        "a": "1",
        "type": "1",
        "kid": "k-1",
        "fid": "f-1",
    }
    query.update(params)
    return client.get(reverse("sms-kannel-dlr"), query, REMOTE_ADDR=addr)


# --- MO ----------------------------------------------------------------------------------------------
def test_a_reply_from_the_gateway_is_stored(client):
    response = mo(client, id="uuid-1", text="不满意！")
    assert response.status_code == 200
    assert response.content == b""  # an empty body: Kannel must not text anything back
    reply = InboundMessage.objects.get()
    assert (reply.phone, reply.text, reply.source, reply.external_id) == (
        PHONE,
        "不满意！",
        "kannel",
        "uuid-1",
    )
    assert reply.status == InboundStatus.UNMATCHED  # no follow-up asked this number anything


def test_the_same_gateway_message_is_stored_once(client):
    mo(client, id="uuid-2")
    mo(client, id="uuid-2")
    assert InboundMessage.objects.count() == 1


def test_a_reply_from_an_address_not_allowed_is_refused(client):
    response = mo(client, addr="192.168.1.9")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not InboundMessage.objects.exists()


def test_an_allowed_network_is_accepted(client):
    assert mo(client, addr="10.20.3.4").status_code == 200


def test_a_wrong_secret_is_refused(client):
    assert mo(client, k="guess").status_code == 403
    assert mo(client, k="").status_code == 403
    assert not InboundMessage.objects.exists()


def test_no_secret_configured_refuses_everything(client, settings):
    settings.KANNEL_CALLBACK_SECRET = ""
    assert mo(client, k="").status_code == 403


def test_a_reply_without_a_sender_is_invalid(client):
    response = mo(client, **{"from": ""})
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "message": "缺少发送号码", "field": "from"}


def test_a_utf16_reply_without_mo_recode_is_decoded(client):
    raw = urllib.parse.quote_from_bytes("不满意".encode("utf-16-be"))
    query = f"k={SECRET}&from={PHONE}&to=10657&coding=2&charset=UTF-16BE&text={raw}&id=u16"
    response = client.get(f"{reverse('sms-kannel-mo')}?{query}", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert InboundMessage.objects.get().text == "不满意"


def test_a_plus86_sender_is_normalised(client):
    mo(client, **{"from": "+8613905310001"})
    assert InboundMessage.objects.get().phone == PHONE


def test_td_from_the_gateway_opts_the_number_out(client):
    message = queued()
    mo(client, text="TD", id="u-td")
    assert Message.objects.get(pk=message.pk).state == MessageState.CANCELLED
    assert InboundMessage.objects.get().status == InboundStatus.OPT_OUT


# --- delivery reports ---------------------------------------------------------------------------------
def test_a_delivery_report_updates_the_message(client):
    message = queued()
    Message.objects.filter(pk=message.pk).update(state=MessageState.SENT, sent_at=TUESDAY_10)
    response = dlr(client, message)
    assert response.status_code == 200
    row = Message.objects.get(pk=message.pk)
    assert (row.state, row.gateway_id, row.smsc_id, row.dlr_status) == (
        MessageState.DELIVERED,
        "k-1",
        "f-1",
        1,
    )
    report = row.reports.get()
    assert (report.status, report.attempt) == (1, 1)


def test_a_report_with_a_bad_signature_is_refused(client):
    message = queued()
    assert dlr(client, message, sig="0" * 32).status_code == 403
    assert dlr(client, message, sig="").status_code == 403
    assert Message.objects.get(pk=message.pk).state == MessageState.QUEUED


def test_a_report_from_an_address_not_allowed_is_refused(client):
    message = queued()
    assert dlr(client, message, addr="8.8.8.8").status_code == 403


def test_a_report_for_an_unknown_message_is_not_found(client):
    response = client.get(
        reverse("sms-kannel-dlr"),
        {"id": "nope", "sig": signing.sign("nope"), "type": "1"},
        REMOTE_ADDR="127.0.0.1",
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_report_of_an_unknown_type_is_invalid(client):
    message = queued()
    response = dlr(client, message, type="3")
    assert response.status_code == 400
    assert response.json()["field"] == "type"


# --- the phone simulator -----------------------------------------------------------------------------
def test_the_simulator_shows_what_the_phone_received(client):
    message = queued()
    Message.objects.filter(pk=message.pk).update(state=MessageState.DELIVERED, sent_at=TUESDAY_10)
    client.force_login(person("followup"))
    response = client.get(reverse("sms-simulator"))
    assert response.status_code == 200
    body = response.content.decode()
    assert PHONE in body
    assert "【济南公安】测试" in body


def test_queued_messages_are_not_shown_as_received(client):
    queued()
    client.force_login(person("followup"))
    body = client.get(reverse("sms-simulator"), {"phone": PHONE}).content.decode()
    assert 'data-testid="sim-received"' not in body
    assert "1 条短信待发送" in body


def test_staff_answer_as_the_citizen_through_the_same_handling(client):
    client.force_login(person("followup"))
    response = client.post(reverse("sms-simulator-reply"), {"phone": PHONE, "text": "满意"})
    assert response.status_code == 302
    reply = InboundMessage.objects.get()
    assert (reply.source, reply.text) == (InboundSource.SIMULATOR, "满意")


def test_the_simulator_can_deliver_now(client):
    message = queued()
    client.force_login(person("followup"))
    with clock.frozen_at(TUESDAY_10):
        client.post(reverse("sms-simulator-deliver"), {"phone": PHONE})
    assert Message.objects.get(pk=message.pk).state == MessageState.DELIVERED


@pytest.mark.parametrize("username", ["luokou", "tianqiao_sup", "leader", "inspector"])
def test_the_simulator_is_for_the_platform_office_only(client, username):
    client.force_login(person(username))
    assert client.get(reverse("sms-simulator")).status_code == 403
    assert client.post(reverse("sms-simulator-reply"), {"phone": PHONE, "text": "1"}).status_code == 403
    assert not InboundMessage.objects.exists()


def test_the_simulator_does_not_exist_with_a_real_gateway(client, settings):
    settings.SMS_SIMULATOR = False
    client.force_login(person("admin"))
    assert client.get(reverse("sms-simulator")).status_code == 404
    assert client.post(reverse("sms-simulator-reply"), {"phone": PHONE, "text": "1"}).status_code == 404


def test_the_simulator_needs_a_login(client):
    response = client.get(reverse("sms-simulator"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]
