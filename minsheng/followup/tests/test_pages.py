"""The follow-up agents' pages, as each role sees them."""

import datetime as dt

import pytest
from django.urls import reverse

from minsheng.cases.choices import CaseState, CloseReason
from minsheng.cases.tests.cast import person
from minsheng.core.models import PiiAccess
from minsheng.followup.choices import FollowupState
from minsheng.followup.tests.test_flow import PHONE, completed, deliver, followup_of, reply
from minsheng.sms.tests.helpers import TUESDAY_10

pytestmark = pytest.mark.django_db


@pytest.fixture
def unclear():
    case = completed()
    deliver()
    reply("这是什么短信？")
    return followup_of(case)


def test_agents_see_unclear_replies_in_their_queue(client, unclear):
    client.force_login(person("followup"))
    response = client.get(reverse("followup-queue"))
    assert response.status_code == 200
    body = response.content.decode()
    assert unclear.case.number in body
    assert "这是什么短信？" in body
    assert "短信回复无法识别" in body
    assert PHONE not in body  # masked in the list


def test_waiting_tab_lists_surveys_not_yet_answered(client):
    case = completed()
    client.force_login(person("followup"))
    body = client.get(reverse("followup-queue"), {"tab": "waiting"}).content.decode()
    assert case.number in body


@pytest.mark.parametrize("username", ["luokou", "luokou_head", "tianqiao_sup", "inspector", "leader"])
def test_only_the_platform_follow_up_works_the_queue(client, unclear, username):
    client.force_login(person(username))
    assert client.get(reverse("followup-queue")).status_code == 403
    assert client.get(reverse("followup-detail", args=[unclear.pk])).status_code == 403
    response = client.post(
        reverse("followup-answer", args=[unclear.pk]), {"answer": "satisfied", "via": "phone"}
    )
    assert response.status_code == 403
    unclear.refresh_from_db()
    assert unclear.state == FollowupState.AGENT


def test_anonymous_users_are_sent_to_login(client, unclear):
    assert client.get(reverse("followup-queue")).status_code == 302


def test_the_agent_records_the_answer_from_the_detail_page(client, unclear):
    client.force_login(person("followup"))
    detail = client.get(reverse("followup-detail", args=[unclear.pk]))
    assert detail.status_code == 200
    assert "登记回访结果" in detail.content.decode()
    response = client.post(
        reverse("followup-answer", args=[unclear.pk]),
        {"answer": "basically_satisfied", "via": "review", "note": "群众来电说明已基本解决"},
    )
    assert response.status_code == 302
    case = unclear.case
    case.refresh_from_db()
    assert (case.state, case.close_reason) == (CaseState.CLOSED, CloseReason.BASICALLY_SATISFIED)
    assert "人工判读短信回复：群众来电说明已基本解决" in case.events.last().note


def test_calls_that_do_not_get_through_close_as_unreachable(client, unclear):
    client.force_login(person("followup"))
    for _ in range(3):
        client.post(reverse("followup-call", args=[unclear.pk]), {"outcome": "no_answer"})
    unclear.refresh_from_db()
    assert unclear.state == FollowupState.UNREACHABLE
    unclear.case.refresh_from_db()
    assert unclear.case.close_reason == CloseReason.UNREACHABLE


def test_a_bad_form_is_explained(client, unclear):
    client.force_login(person("followup"))
    response = client.post(reverse("followup-call", args=[unclear.pk]), {"outcome": "answered"}, follow=True)
    assert "通话结果" in response.content.decode()
    unclear.refresh_from_db()
    assert unclear.call_attempts == 0


def test_seeing_the_full_number_is_logged(client, unclear):
    client.force_login(person("followup"))
    response = client.post(reverse("followup-reveal", args=[unclear.pk]))
    assert PHONE in response.content.decode()
    access = PiiAccess.objects.get()
    assert (access.user, access.field, access.via) == (person("followup"), "phone", "followup")


def test_the_done_tab_shows_answers(client):
    case = completed()
    deliver()
    reply("满意", when=TUESDAY_10 + dt.timedelta(minutes=5))
    client.force_login(person("followup"))
    body = client.get(reverse("followup-queue"), {"tab": "done"}).content.decode()
    assert case.number in body
    assert "满意" in body
