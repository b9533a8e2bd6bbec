"""The follow-up flow through the real actions: SMS asked on completion, replies, agents, escalation."""

import datetime as dt

import pytest
from django.db import transaction

from minsheng.appeals.choices import Channel
from minsheng.cases import actions
from minsheng.cases.choices import CaseState, CloseReason, EventAction, FollowupAnswer
from minsheng.cases.models import Case
from minsheng.cases.tests.cast import luokou, person, unit
from minsheng.categories.models import Category
from minsheng.core import clock
from minsheng.core.errors import Forbidden, InvalidInput, InvalidTransition
from minsheng.core.models import Policy
from minsheng.followup import flow
from minsheng.followup.choices import AgentReason, AnsweredVia, CallOutcome, FollowupState
from minsheng.followup.models import FollowupRequest
from minsheng.sms import inbound
from minsheng.sms.backends.simulator import SimulatorBackend
from minsheng.sms.choices import InboundStatus, MessageState
from minsheng.sms.models import Message, OptOut
from minsheng.sms.sender import Sender
from minsheng.sms.tests.helpers import TUESDAY_10, at

pytestmark = pytest.mark.django_db

PHONE = "13905310001"


def register(**overrides) -> Case:
    data = {
        "actor": person("dispatcher"),
        "channel": Channel.HOTLINE_12345,
        "content": "楼下烧烤店每天营业到凌晨两点，噪音很大，老人孩子休息不了。",
        "title": "烧烤店夜间噪音扰民",
        "appellant_phone": PHONE,
        "category": Category.objects.get(code="noise"),
    }
    data.update(overrides)
    return actions.register_appeal(**data).case


def in_progress(**overrides) -> Case:
    case = register(**overrides)
    actions.dispatch_case(case, luokou(), actor=person("dispatcher"))
    return actions.accept_case(case, actor=person("luokou"))


def completed(when=TUESDAY_10, **overrides) -> Case:
    with clock.frozen_at(when):
        case = in_progress(**overrides)
        return actions.complete_case(
            case, actor=person("luokou"), result="已约谈店主", reply="已责令烧烤店22时前停止营业"
        )


def deliver(now=TUESDAY_10):
    Sender(SimulatorBackend()).run_once(now)


def reply(text, phone=PHONE, when=TUESDAY_10 + dt.timedelta(minutes=30)):
    with clock.frozen_at(when):
        return inbound.receive(phone=phone, text=text, source="simulator")


def followup_of(case) -> FollowupRequest:
    return FollowupRequest.objects.filter(case=case).latest("pk")


def notes(case) -> list[str]:
    return list(case.events.filter(action=EventAction.FOLLOWUP_NOTE).values_list("note", flat=True))


# --- asking -------------------------------------------------------------------------------------------
def test_completion_queues_the_survey_sms_in_the_same_transaction():
    case = completed()
    request = followup_of(case)
    assert (request.state, request.level, request.phone) == (FollowupState.WAITING, 1, PHONE)
    message = request.message
    assert message.state == MessageState.QUEUED
    assert message.purpose == "followup_case"
    assert case.number in message.body
    assert "泺口派出所" in message.body
    assert "已责令烧烤店22时前停止营业。" in message.body
    assert "回复1满意，2基本满意，3不满意" in message.body
    assert message.segments == 2  # a long Chinese text: counted and stored


def test_a_completion_that_rolls_back_leaves_no_sms():
    with clock.frozen_at(TUESDAY_10):
        case = in_progress()
    with pytest.raises(RuntimeError), transaction.atomic():
        actions.complete_case(case, actor=person("luokou"), result="已处理", reply="已处理")
        assert Message.objects.count() == 1
        raise RuntimeError("the completing transaction fails after the outbox row was written")
    assert Message.objects.count() == 0
    assert not FollowupRequest.objects.exists()


def test_a_consultation_answered_at_intake_is_asked_too():
    with clock.frozen_at(TUESDAY_10):
        case = register(
            category=Category.objects.get(code="hukou"), instant_reply="新生儿落户需携带出生医学证明。"
        )
    assert case.state == CaseState.COMPLETED
    assert "新生儿落户需携带出生医学证明。" in followup_of(case).message.body


@pytest.mark.parametrize(
    "overrides",
    [{"appellant_phone": ""}, {"consent_to_contact": False}, {"category": None}],
    ids=["no phone", "no consent", "no category"],
)
def test_who_is_asked(overrides):
    case = completed(**overrides)
    if overrides.get("category", "x") is None:
        assert followup_of(case).message is not None  # no category: followed up like any other
    else:
        assert not FollowupRequest.objects.filter(case=case).exists()
        assert not Message.objects.exists()


def test_a_category_without_follow_up_is_not_asked():
    category = Category.objects.get(code="noise")
    Category.objects.filter(pk=category.pk).update(followup_required=False)
    case = completed()
    assert not FollowupRequest.objects.filter(case=case).exists()


def test_a_landline_goes_straight_to_an_agent():
    case = completed(appellant_phone="0531-87654321")
    request = followup_of(case)
    assert (request.state, request.reason, request.message) == (
        FollowupState.AGENT,
        AgentReason.NO_MOBILE,
        None,
    )
    assert notes(case) == ["非手机号码，需电话回访，转人工回访"]


def test_a_completion_at_night_is_texted_in_the_morning():
    case = completed(when=at(22, 0))
    message = followup_of(case).message
    assert message.next_attempt_at == at(8, 0, day=25)
    deliver(at(22, 5))
    assert Message.objects.get(pk=message.pk).state == MessageState.QUEUED
    deliver(at(8, 0, day=25))
    assert Message.objects.get(pk=message.pk).state == MessageState.DELIVERED


# --- answers ------------------------------------------------------------------------------------------
def test_reply_1_closes_the_case_as_satisfied():
    case = completed()
    deliver()
    answer = reply("1")
    assert answer.status == InboundStatus.HANDLED
    case.refresh_from_db()
    assert (case.state, case.close_reason, case.followup_answer) == (
        CaseState.CLOSED,
        CloseReason.SATISFIED,
        FollowupAnswer.SATISFIED,
    )
    request = followup_of(case)
    assert (request.state, request.answered_via, request.reply_text) == (
        FollowupState.ANSWERED,
        AnsweredVia.SMS,
        "1",
    )
    event = case.events.get(action=EventAction.FOLLOWUP)
    assert event.actor.username == "sms_followup"
    assert event.actor.real_name == "短信自动回访"
    assert "短信回复“1”" in event.note


def test_words_count_as_answers():
    case = completed()
    deliver()
    reply("还行吧，谢谢")
    case.refresh_from_db()
    assert case.close_reason == CloseReason.BASICALLY_SATISFIED


def test_dissatisfied_escalates_to_level_2_then_3_with_the_record_required():
    case = completed()
    deliver()
    reply("不满意！")
    case.refresh_from_db()
    assert (case.state, case.followup_level) == (CaseState.IN_PROGRESS, 2)
    escalation = case.events.filter(action=EventAction.FOLLOWUP).last()
    assert escalation.data["escalated_to"] == 2
    assert escalation.data["notified"] == ["泺口派出所主要领导", "天桥分局"]
    assert escalation.data["rehandle_due"]
    # Re-handled: the citizen is asked again, about the new answer.
    with clock.frozen_at(TUESDAY_10 + dt.timedelta(hours=3)):
        actions.complete_case(
            case, actor=person("luokou"), result="联合城管再次检查", reply="店主已签订承诺书"
        )
    first, again = FollowupRequest.objects.filter(case=case).order_by("pk")
    assert first.state == FollowupState.ANSWERED
    assert (again.state, again.level) == (FollowupState.WAITING, 2)
    assert "已重新办理" in again.message.body and "店主已签订承诺书" in again.message.body
    deliver(TUESDAY_10 + dt.timedelta(hours=3))
    reply("3", when=TUESDAY_10 + dt.timedelta(hours=4))
    case.refresh_from_db()
    assert (case.state, case.followup_level) == (CaseState.INVESTIGATING, 3)
    level3 = case.events.filter(action=EventAction.FOLLOWUP).last()
    assert level3.data["escalated_to"] == 3
    assert {"市局领导", "纪委", "督察", "法制", "平台办"} <= set(level3.data["notified"])
    # The level-3 record: findings, internal faults and a conclusion, by inspection/discipline/legal.
    inspector = person("inspector")
    with pytest.raises(Forbidden):
        actions.record_investigation(case, actor=person("followup"), findings="查明", conclusion="结论")
    with pytest.raises(InvalidInput) as missing:
        actions.record_investigation(case, actor=inspector, findings=" ", conclusion="结论")
    assert missing.value.field == "findings"
    with pytest.raises(InvalidInput) as missing:
        actions.record_investigation(case, actor=inspector, findings="查明", conclusion="")
    assert missing.value.field == "conclusion"
    with pytest.raises(InvalidInput) as missing:
        actions.record_investigation(
            case, actor=inspector, findings="查明", conclusion="结论", internal_fault=True
        )
    assert missing.value.field == "fault_detail"
    record = actions.record_investigation(
        case,
        actor=inspector,
        findings="调阅记录：民警首次处置未到现场核实",
        conclusion="责令泺口派出所整改并向诉求人说明",
        internal_fault=True,
        fault_detail="首次处置敷衍，未到现场",
    )
    case.refresh_from_db()
    assert (case.state, case.close_reason) == (CaseState.CLOSED, CloseReason.INVESTIGATED)
    assert (record.internal_fault, record.fault_detail, record.recorded_by) == (
        True,
        "首次处置敷衍，未到现场",
        inspector,
    )
    event = case.events.get(action=EventAction.INVESTIGATE)
    assert event.data == {"findings": "调阅记录：民警首次处置未到现场核实", "internal_fault": True}
    assert event.note == "责令泺口派出所整改并向诉求人说明"


def test_an_unclear_reply_goes_to_the_agents_queue():
    case = completed()
    deliver()
    answer = reply("你们是谁？")
    assert answer.status == InboundStatus.UNCLEAR
    request = followup_of(case)
    assert (request.state, request.reason, request.reply_text) == (
        FollowupState.AGENT,
        AgentReason.UNCLEAR,
        "你们是谁？",
    )
    assert case.state == CaseState.COMPLETED
    assert notes(case) == ["群众短信回复“你们是谁？”，群众提出疑问，转人工回访"]
    # The agent calls and records the answer.
    flow.record_answer(request, actor=person("followup"), answer="satisfied", note="电话核实，群众表示满意")
    case.refresh_from_db()
    assert case.close_reason == CloseReason.SATISFIED
    request.refresh_from_db()
    assert (request.state, request.answered_by, request.answered_via) == (
        FollowupState.ANSWERED,
        person("followup"),
        AnsweredVia.PHONE,
    )
    assert request.calls.get().outcome == CallOutcome.ANSWERED


def test_a_clear_reply_after_an_unclear_one_is_taken():
    case = completed()
    deliver()
    reply("？")
    reply("满意", when=TUESDAY_10 + dt.timedelta(hours=1))
    case.refresh_from_db()
    assert case.close_reason == CloseReason.SATISFIED


def test_only_follow_up_agents_record_answers():
    case = completed()
    request = followup_of(case)
    with pytest.raises(Forbidden):
        flow.record_answer(request, actor=person("luokou"), answer="satisfied")
    with pytest.raises(InvalidInput):
        flow.record_answer(request, actor=person("followup"), answer="unreachable")


# --- no answer ----------------------------------------------------------------------------------------
def test_no_reply_within_48_hours_becomes_a_call_task():
    case = completed()
    deliver()
    assert flow.sweep(TUESDAY_10 + dt.timedelta(hours=47))["no_reply"] == 0
    assert followup_of(case).state == FollowupState.WAITING
    assert flow.sweep(TUESDAY_10 + dt.timedelta(hours=48, minutes=1))["no_reply"] == 1
    request = followup_of(case)
    assert (request.state, request.reason) == (FollowupState.AGENT, AgentReason.NO_REPLY)
    assert notes(case) == ["回访短信发出48小时未回复，转电话回访"]
    assert flow.sweep(TUESDAY_10 + dt.timedelta(hours=60))["no_reply"] == 0  # once


def test_the_reply_window_is_policy():
    Policy.objects.create(key="followup_reply_hours", value=24)
    case = completed()
    deliver()
    flow.sweep(TUESDAY_10 + dt.timedelta(hours=25))
    assert followup_of(case).reason == AgentReason.NO_REPLY


def test_the_window_runs_from_when_the_sms_went_not_when_it_was_queued():
    case = completed(when=at(22, 0))
    deliver(at(8, 0, day=25))
    flow.sweep(at(22, 0) + dt.timedelta(hours=49))  # 49 h after completion, 35 h after sending
    assert followup_of(case).state == FollowupState.WAITING


def test_unreachable_after_the_set_attempts_closes_as_unreachable():
    case = completed()
    deliver()
    flow.sweep(TUESDAY_10 + dt.timedelta(hours=49))
    request = followup_of(case)
    agent = person("followup")
    flow.record_call(request, actor=agent, outcome=CallOutcome.NO_ANSWER)
    flow.record_call(request, actor=agent, outcome=CallOutcome.POWERED_OFF, note="提示已关机")
    case.refresh_from_db()
    assert case.state == CaseState.COMPLETED
    flow.record_call(request, actor=agent, outcome=CallOutcome.BUSY)
    case.refresh_from_db()
    assert (case.state, case.close_reason, case.followup_answer) == (
        CaseState.CLOSED,
        CloseReason.UNREACHABLE,
        FollowupAnswer.UNREACHABLE,
    )
    request.refresh_from_db()
    assert (request.state, request.call_attempts) == (FollowupState.UNREACHABLE, 3)
    assert notes(case)[-3:] == [
        "电话回访无人接听（第1次，共3次）",
        "电话回访关机/停机（第2次，共3次）：提示已关机",
        "电话回访占线（第3次，共3次）",
    ]
    assert "3次电话回访均未接通" in case.events.get(action=EventAction.FOLLOWUP).note
    with pytest.raises(InvalidTransition):
        flow.record_call(request, actor=agent, outcome=CallOutcome.NO_ANSWER)


def test_the_number_of_attempts_is_policy():
    Policy.objects.create(key="followup_call_attempts", value=1)
    case = completed()
    flow.record_call(followup_of(case), actor=person("followup"), outcome=CallOutcome.NO_ANSWER)
    case.refresh_from_db()
    assert case.close_reason == CloseReason.UNREACHABLE


def test_a_call_that_got_through_is_an_answer_not_an_attempt():
    case = completed()
    with pytest.raises(InvalidInput):
        flow.record_call(followup_of(case), actor=person("followup"), outcome=CallOutcome.ANSWERED)


# --- opt-out ------------------------------------------------------------------------------------------
def test_td_stops_the_sms_and_leaves_the_question_to_a_call():
    case = completed()
    deliver()
    answer = reply("TD")
    assert answer.status == InboundStatus.OPT_OUT
    assert OptOut.objects.filter(phone=PHONE).exists()
    request = followup_of(case)
    assert (request.state, request.reason) == (FollowupState.AGENT, AgentReason.OPTED_OUT)
    # A later case of the same citizen: no SMS, straight to an agent.
    other = completed(title="另一件事", when=TUESDAY_10 + dt.timedelta(days=1))
    later = followup_of(other)
    assert later.message.state == MessageState.CANCELLED
    assert (later.state, later.reason) == (FollowupState.AGENT, AgentReason.OPTED_OUT)
    deliver(TUESDAY_10 + dt.timedelta(days=1))
    assert (
        Message.objects.filter(phone=PHONE, state__in=(MessageState.SENT, MessageState.DELIVERED)).count()
        == 1
    )


def test_an_answer_with_td_counts_and_opts_out():
    case = completed()
    deliver()
    reply("3 TD")
    case.refresh_from_db()
    assert case.followup_level == 2
    assert OptOut.objects.filter(phone=PHONE).exists()


# --- followed up another way --------------------------------------------------------------------------
def test_a_survey_not_yet_sent_is_dropped_when_an_agent_follows_up_on_the_case_page():
    case = completed()
    with clock.frozen_at(TUESDAY_10):
        actions.record_followup(case, actor=person("followup"), answer="satisfied", note="电话回访")
    deliver()
    message = followup_of(case).message
    message.refresh_from_db()
    assert message.state == MessageState.CANCELLED
    assert flow.sweep(TUESDAY_10)["superseded"] == 1
    assert followup_of(case).state == FollowupState.CLOSED


def test_a_reply_after_the_case_was_followed_up_is_kept_but_changes_nothing():
    case = completed()
    deliver()
    with clock.frozen_at(TUESDAY_10):
        actions.record_followup(case, actor=person("followup"), answer="satisfied", note="电话回访")
    answer = reply("3")
    assert answer.status == InboundStatus.LATE
    case.refresh_from_db()
    assert case.close_reason == CloseReason.SATISFIED
    assert followup_of(case).state == FollowupState.CLOSED


def test_an_sms_that_cannot_be_delivered_becomes_a_call_task():
    case = completed()
    deliver()
    Message.objects.filter(pk=followup_of(case).message_id).update(state=MessageState.FAILED)
    assert flow.sweep(TUESDAY_10 + dt.timedelta(hours=1))["sms_failed"] == 1
    assert followup_of(case).reason == AgentReason.SMS_FAILED


def test_a_citizen_with_two_cases_answers_the_one_asked_last():
    older = completed()
    newer = completed(title="另一件事", when=TUESDAY_10 + dt.timedelta(hours=1))
    deliver(TUESDAY_10 + dt.timedelta(hours=1))
    reply("满意", when=TUESDAY_10 + dt.timedelta(hours=2))
    older.refresh_from_db()
    newer.refresh_from_db()
    assert newer.state == CaseState.CLOSED
    assert older.state == CaseState.COMPLETED


# --- service records ----------------------------------------------------------------------------------
def service_record(
    unit_obj=None, phone=PHONE, started=TUESDAY_10 - dt.timedelta(hours=2), ref="110-0001", kind="police_110"
):
    from minsheng.servicerecords.models import ServiceRecord

    return ServiceRecord.objects.create(
        kind=kind,
        service_type="噪音扰民警情处置" if kind == "police_110" else "户口迁移",
        unit=unit_obj,
        unit_text=unit_obj.name if unit_obj else "某派出所",
        officer_name="张警官",
        officer_number="105003",
        citizen_phone=phone,
        started_at=started,
        outcome="现场调解",
        external_source="jn110",
        external_ref=ref,
    )


def survey(now=TUESDAY_10) -> int:
    with clock.frozen_at(now):
        return flow.survey_service_records()


def test_a_service_record_gets_one_satisfaction_sms():
    record = service_record(luokou())
    assert survey() == 1
    assert survey() == 0
    request = FollowupRequest.objects.get(service_record=record)
    body = request.message.body
    assert "11月24日在泺口派出所办理的噪音扰民警情处置已完成" in body
    assert "回复1满意" in body


def test_a_dissatisfied_service_answer_becomes_a_complaint_for_the_supervising_unit():
    record = service_record(luokou())
    survey()
    deliver()
    reply("3，民警态度很差")
    request = FollowupRequest.objects.get(service_record=record)
    assert (request.state, request.answer) == (FollowupState.ANSWERED, FollowupAnswer.DISSATISFIED)
    complaint = request.complaint_case
    assert complaint.state == CaseState.DISPATCHED
    assert complaint.responsible_unit == unit("天桥分局")
    assert complaint.channel == Channel.POLICE_110
    assert complaint.category.code == "conduct"
    appeal = complaint.appeals.get()
    assert (appeal.external_source, appeal.external_ref) == ("service_record", str(record.pk))
    assert appeal.appellant_phone == PHONE
    assert "jn110 110-0001" in appeal.content
    assert "张警官（警号105003）" in appeal.content
    assert "“3，民警态度很差”" in appeal.content
    dispatch = complaint.events.get(action=EventAction.DISPATCH)
    assert dispatch.actor.username == "sms_followup"


def test_a_satisfied_service_answer_makes_no_case():
    record = service_record(luokou())
    survey()
    deliver()
    reply("满意")
    request = FollowupRequest.objects.get(service_record=record)
    assert (request.state, request.answer, request.complaint_case) == (
        FollowupState.ANSWERED,
        FollowupAnswer.SATISFIED,
        None,
    )


def test_a_level_2_units_own_window_answers_for_itself():
    detachment = unit("交通警察支队")
    record = service_record(detachment, kind="traffic", ref="w-1")
    survey()
    deliver()
    reply("不满意")
    complaint = FollowupRequest.objects.get(service_record=record).complaint_case
    assert complaint.responsible_unit == detachment
    assert complaint.channel == Channel.SERVICE_WINDOW


def test_a_complaint_about_an_unknown_unit_waits_for_a_dispatcher():
    record = service_record(None, ref="x-1")
    survey()
    deliver()
    reply("不满意")
    complaint = FollowupRequest.objects.get(service_record=record).complaint_case
    assert complaint.state == CaseState.REGISTERED


def test_old_service_records_are_not_surveyed():
    service_record(luokou(), started=TUESDAY_10 - dt.timedelta(days=4))
    assert survey() == 0


def test_one_service_survey_per_number_per_day():
    service_record(luokou(), ref="a")
    service_record(luokou(), ref="b", started=TUESDAY_10 - dt.timedelta(hours=1))
    survey()
    requests = FollowupRequest.objects.filter(kind="service").order_by("pk")
    assert [r.state for r in requests] == [FollowupState.WAITING, FollowupState.CLOSED]
    assert requests[1].closed_note == "同一号码24小时内已发送服务评价"


def test_an_unanswered_service_survey_lapses_without_a_call():
    record = service_record(luokou())
    survey()
    deliver()
    flow.sweep(TUESDAY_10 + dt.timedelta(hours=49))
    request = FollowupRequest.objects.get(service_record=record)
    assert (request.state, request.closed_note) == (FollowupState.CLOSED, "短信评价超时未回复")
