"""Several appellants on one case (主件 + 关联件): everyone who agreed is asked, the answers decide together."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from minsheng.appeals.choices import Channel, LinkKind
from minsheng.cases import actions
from minsheng.cases.choices import CaseState, CloseReason, EventAction, FollowupAnswer
from minsheng.cases.tests.cast import person
from minsheng.core import clock
from minsheng.followup import flow
from minsheng.followup.choices import AgentReason, CallOutcome, FollowupState
from minsheng.followup.models import FollowupRequest
from minsheng.followup.tests.test_flow import PHONE, deliver, in_progress, notes, reply
from minsheng.sms.choices import InboundStatus, MessageState
from minsheng.sms.models import Message
from minsheng.sms.tests.helpers import TUESDAY_10

pytestmark = pytest.mark.django_db

OTHER = "13905310002"
THIRD = "13905310003"
REPLY = "已责令烧烤店22时前停止营业"


def link(case, phone, **fields):
    return actions.link_appeal(
        case,
        actor=person("dispatcher"),
        channel=Channel.PHONE,
        content="楼下烧烤店半夜还在营业，太吵了。",
        dedup={"score": 0.93, "reasons": ["同一地址", "同类诉求"]},
        appellant_phone=phone,
        **fields,
    )


def completed_with(*linked, when=TUESDAY_10):
    """A case from PHONE (主件) with linked appeals (phone, extra fields), completed by 泺口."""
    with clock.frozen_at(when):
        case = in_progress()
        for phone, fields in linked:
            link(case, phone, **fields)
        return actions.complete_case(case, actor=person("luokou"), result="已约谈店主", reply=REPLY)


def requests_of(case):
    return list(FollowupRequest.objects.filter(case=case).select_related("appeal").order_by("pk"))


def state_of(case):
    case.refresh_from_db()
    return case.state


# --- asking -------------------------------------------------------------------------------------------
def test_every_appellant_who_agreed_gets_the_reply_and_the_question():
    case = completed_with((OTHER, {}))
    master, linked = requests_of(case)
    assert [(r.phone, r.appeal.link_kind, r.state, r.round) for r in (master, linked)] == [
        (PHONE, LinkKind.MASTER, FollowupState.WAITING, 1),
        (OTHER, LinkKind.LINKED, FollowupState.WAITING, 1),
    ]
    outbox = Message.objects.filter(purpose="followup_case").order_by("pk")
    assert [m.phone for m in outbox] == [PHONE, OTHER]
    for message in outbox:
        assert REPLY + "。" in message.body
        assert case.number in message.body
        assert "回复1满意，2基本满意，3不满意" in message.body


def test_a_linked_appellant_without_consent_gets_no_sms():
    case = completed_with((OTHER, {"consent_to_contact": False}))
    assert [r.phone for r in requests_of(case)] == [PHONE]
    assert not Message.objects.filter(phone=OTHER).exists()


def test_one_request_per_number_even_when_a_citizen_appealed_twice():
    case = completed_with((PHONE, {}), (OTHER, {}))
    assert [r.phone for r in requests_of(case)] == [PHONE, OTHER]
    assert requests_of(case)[0].appeal.link_kind == LinkKind.MASTER
    assert Message.objects.filter(phone=PHONE).count() == 1


def test_a_linked_landline_goes_to_an_agent_and_says_who():
    case = completed_with(("0531-87654321", {}))
    master, landline = requests_of(case)
    assert master.state == FollowupState.WAITING
    assert (landline.state, landline.reason, landline.message) == (
        FollowupState.AGENT,
        AgentReason.NO_MOBILE,
        None,
    )
    assert notes(case) == ["诉求人0531-****4321（关联件）：非手机号码，需电话回访，转人工回访"]


def test_only_one_open_request_per_case_and_number():
    case = completed_with((OTHER, {}))
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowupRequest.objects.create(kind="case", case=case, phone=OTHER, level=1, round=2)
    # Another number on the same case is another person: allowed.
    FollowupRequest.objects.create(kind="case", case=case, phone=THIRD, level=1, round=1)


# --- deciding -----------------------------------------------------------------------------------------
def test_the_case_closes_only_when_every_appellant_answered():
    case = completed_with((OTHER, {}))
    deliver()
    first = reply("1")
    assert first.status == InboundStatus.HANDLED
    assert state_of(case) == CaseState.COMPLETED
    master, linked = requests_of(case)
    assert (master.state, master.answer) == (FollowupState.ANSWERED, FollowupAnswer.SATISFIED)
    assert linked.state == FollowupState.WAITING
    note = case.events.filter(action=EventAction.FOLLOWUP_NOTE).last()
    assert note.note.startswith("诉求人139****0001（主件）回访：满意。短信回复“1”")
    assert "本轮还有1位诉求人待回访" in note.note
    assert note.data["answer"] == "satisfied"
    assert not case.events.filter(action=EventAction.FOLLOWUP).exists()

    reply("满意", phone=OTHER, when=TUESDAY_10 + dt.timedelta(hours=1))
    case.refresh_from_db()
    assert (case.state, case.close_reason, case.followup_answer) == (
        CaseState.CLOSED,
        CloseReason.SATISFIED,
        FollowupAnswer.SATISFIED,
    )
    closing = case.events.get(action=EventAction.FOLLOWUP)
    assert closing.note.startswith("诉求人139****0002（关联件）：短信回复“满意”")
    assert "本轮2位诉求人回访均已结束（此前：139****0001（主件）满意）" in closing.note
    assert requests_of(case)[1].state == FollowupState.ANSWERED


def test_the_case_answer_is_the_least_satisfied_one():
    case = completed_with((OTHER, {}))
    deliver()
    reply("2")
    reply("1", phone=OTHER, when=TUESDAY_10 + dt.timedelta(hours=1))
    case.refresh_from_db()
    assert (case.state, case.close_reason) == (CaseState.CLOSED, CloseReason.BASICALLY_SATISFIED)


def test_one_dissatisfied_appellant_escalates_and_ends_the_round_for_the_others():
    case = completed_with((OTHER, {}), (THIRD, {}))
    deliver()
    reply("1")
    reply("3，还是很吵", phone=OTHER, when=TUESDAY_10 + dt.timedelta(hours=1))
    case.refresh_from_db()
    assert (case.state, case.followup_level) == (CaseState.IN_PROGRESS, 2)
    escalation = case.events.get(action=EventAction.FOLLOWUP)
    assert escalation.data["escalated_to"] == 2
    assert escalation.note.startswith("诉求人139****0002（关联件）：短信回复“3，还是很吵”")
    assert "其他1位诉求人的本轮回访随之结束" in escalation.note
    master, linked, third = requests_of(case)
    assert master.state == FollowupState.ANSWERED
    assert (linked.state, linked.answer) == (FollowupState.ANSWERED, FollowupAnswer.DISSATISFIED)
    assert (third.state, third.closed_note) == (
        FollowupState.CLOSED,
        "其他诉求人不满意，工单已升级重办，本轮回访结束",
    )
    # The third one's late answer changes nothing.
    late = reply("1", phone=THIRD, when=TUESDAY_10 + dt.timedelta(hours=2))
    assert late.status == InboundStatus.LATE
    assert state_of(case) == CaseState.IN_PROGRESS

    # Re-handled: everyone is asked again, in a new round, and the case closes when all are satisfied.
    with clock.frozen_at(TUESDAY_10 + dt.timedelta(hours=3)):
        actions.complete_case(
            case, actor=person("luokou"), result="联合城管再次检查", reply="店主已签订承诺书"
        )
    again = [r for r in requests_of(case) if r.round == 2]
    assert [(r.phone, r.level, r.state) for r in again] == [
        (PHONE, 2, FollowupState.WAITING),
        (OTHER, 2, FollowupState.WAITING),
        (THIRD, 2, FollowupState.WAITING),
    ]
    assert all("店主已签订承诺书" in r.message.body for r in again)


def test_an_unsent_sms_of_the_others_is_cancelled_when_the_round_ends():
    case = completed_with((OTHER, {}))
    master, linked = requests_of(case)
    # The master's SMS went out and was answered; the linked one is still queued (e.g. quiet hours).
    Message.objects.filter(pk=master.message_id).update(state=MessageState.SENT, sent_at=TUESDAY_10)
    reply("不满意")
    linked.message.refresh_from_db()
    assert linked.message.state == MessageState.CANCELLED


def test_an_unreachable_appellant_does_not_hold_the_case_open():
    case = completed_with((OTHER, {}))
    deliver()
    flow.sweep(TUESDAY_10 + dt.timedelta(hours=49))  # nobody replied: both to the agents
    master, linked = requests_of(case)
    agent = person("followup")
    for _ in range(3):
        flow.record_call(linked, actor=agent, outcome=CallOutcome.NO_ANSWER)
    linked.refresh_from_db()
    assert linked.state == FollowupState.UNREACHABLE
    assert state_of(case) == CaseState.COMPLETED
    assert "诉求人139****0002（关联件）回访：无法联系。3次电话回访均未接通" in notes(case)[-1]
    flow.record_answer(master, actor=agent, answer="satisfied", note="电话核实已解决")
    case.refresh_from_db()
    assert (case.state, case.close_reason) == (CaseState.CLOSED, CloseReason.SATISFIED)


def test_nobody_reached_closes_as_unreachable():
    case = completed_with((OTHER, {}))
    master, linked = requests_of(case)
    agent = person("followup")
    for request in (master, linked):
        for _ in range(3):
            flow.record_call(request, actor=agent, outcome=CallOutcome.BUSY)
    case.refresh_from_db()
    assert (case.state, case.close_reason) == (CaseState.CLOSED, CloseReason.UNREACHABLE)
    assert case.events.get(action=EventAction.FOLLOWUP).note.endswith("，按无法联系结案")


def test_the_case_page_follow_up_ends_the_round():
    case = completed_with((OTHER, {}))
    deliver()
    reply("1")
    with clock.frozen_at(TUESDAY_10):
        actions.record_followup(case, actor=person("followup"), answer="satisfied", note="电话回访")
    assert flow.sweep(TUESDAY_10)["superseded"] == 1
    assert [r.state for r in requests_of(case)] == [FollowupState.ANSWERED, FollowupState.CLOSED]


# --- the agents' pages --------------------------------------------------------------------------------
def test_the_queue_and_the_detail_page_say_which_appellant(client):
    case = completed_with((OTHER, {}))
    linked = requests_of(case)[1]
    client.force_login(person("followup"))
    body = client.get(reverse("followup-queue"), {"tab": "waiting"}).content.decode()
    assert body.count(case.number) == 2  # one row per person
    assert "139****0001" in body and "139****0002" in body
    assert "主件" in body and "关联件" in body
    assert PHONE not in body and OTHER not in body
    detail = client.get(reverse("followup-detail", args=[linked.pk])).content.decode()
    assert "关联件" in detail
    assert "本轮其他诉求人" in detail and "139****0001" in detail


def test_seeing_a_linked_appellants_number_is_logged_against_their_appeal(client):
    from minsheng.core.models import PiiAccess

    case = completed_with((OTHER, {}))
    linked = requests_of(case)[1]
    client.force_login(person("followup"))
    response = client.post(reverse("followup-reveal", args=[linked.pk]))
    assert OTHER in response.content.decode()
    assert PiiAccess.objects.get().appeal == linked.appeal


# --- the migration ------------------------------------------------------------------------------------
def test_the_migration_numbers_old_rounds_and_finds_each_appeal():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("minsheng.followup.migrations.0002_per_appellant")
    with clock.frozen_at(TUESDAY_10):
        case = in_progress()
        link(case, OTHER)
    # Rows as they were before: one request per completion, no round, no appeal.
    old = [
        FollowupRequest.objects.create(kind="case", case=case, phone=PHONE, level=1, state="answered"),
        FollowupRequest.objects.create(kind="case", case=case, phone=PHONE, level=2, state="waiting"),
    ]
    migration.backfill(apps, None)
    for request in old:
        request.refresh_from_db()
    assert [(r.round, r.appeal.link_kind) for r in old] == [(1, LinkKind.MASTER), (2, LinkKind.MASTER)]
