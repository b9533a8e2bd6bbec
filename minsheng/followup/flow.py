"""The follow-up flow (一线回访): ask by SMS, read the reply, hand to an agent when needed, escalate.

- A case completed (or answered at intake) → ``start_case`` queues the survey SMS in the same
  transaction (called from ``cases.actions``): one *round* of requests, one per appellant — every
  distinct phone among the case's appeals (主件 first, then 关联件) whose appellant agreed to be
  contacted. Each gets the same text with the case's reply in it; a landline goes to the agents.
- A reply → ``handle_reply`` (an ``sms.inbound`` handler): a clear answer is recorded (see below); an
  unclear one goes to the agents' queue; TD/退订 stops the SMS and leaves the question to an agent's call.
- No reply within the window (48 h by default) → a call task (``sweep``); an agent records each call
  (``record_call``); not reached after the set attempts → that appellant is unreachable.

Deciding the case from several appellants' answers (``_record_case_answer``), deliberately simple:
- Any 不满意 escalates the case at once (level 2 re-handle, then level 3), once per round: the round's
  other open requests are closed with a note and their unsent SMS cancelled; the re-handled case is
  asked again in a new round.
- The case is closed only when every request of the round has ended: answered 满意/基本满意, or
  unreachable. At least one real answer is needed: a round where nobody was reached closes as
  unreachable (as with a single appellant). The case's answer is the least satisfied real one
  (基本满意 if anyone said so, else 满意).
- Until then each answer is recorded on the request and as a 回访跟进 note on the case's timeline (who
  answered, masked phone, 主件/关联件), and the case stays completed, waiting for the others.
- ``cases.actions.record_followup`` is what changes the case's state, called once per round with the
  deciding answer; a case followed up on the case page ends the round (``sweep`` closes the rest).
With one appellant this is exactly the old behaviour: the one answer decides.
- A service record (110, window) → one survey SMS; dissatisfied → a complaint case dispatched to the
  unit's supervising level-2 unit, the record referenced.

Every step that matters to a case is on its timeline (``cases.events``) with the acting person — the
system account "短信自动回访" for what the SMS path does by itself.
"""

import datetime as dt
import logging

from django.db import models, transaction
from django.utils import timezone

from minsheng.appeals.choices import Channel, LinkKind
from minsheng.cases import events
from minsheng.cases.choices import CaseState, EventAction, FollowupAnswer
from minsheng.cases.models import Case
from minsheng.core import clock
from minsheng.core.errors import ActionError, Forbidden, InvalidInput, InvalidTransition
from minsheng.followup import texts
from minsheng.followup.choices import (
    NOT_REACHED,
    OPEN_STATES,
    AgentReason,
    AnsweredVia,
    CallOutcome,
    FollowupKind,
    FollowupState,
)
from minsheng.followup.models import CallAttempt, FollowupRequest
from minsheng.followup.replies import read_reply
from minsheng.followup.system import system_actor
from minsheng.sms import outbox, policy
from minsheng.sms import texts as sms_texts
from minsheng.sms.choices import InboundStatus, MessageState
from minsheng.sms.inbound import Outcome

log = logging.getLogger(__name__)

CASE_PURPOSE = "followup_case"
SERVICE_PURPOSE = "followup_service"


# --- asking --------------------------------------------------------------------------------------------
def _to_agent(request: FollowupRequest, reason: str, *, note: str = "", actor=None) -> None:
    """Hand a follow-up to the agents' queue, noted on the case's timeline."""
    now = clock.now()
    FollowupRequest.objects.filter(pk=request.pk).update(
        state=FollowupState.AGENT, reason=reason, agent_since=now, updated_at=now
    )
    request.state, request.reason, request.agent_since = FollowupState.AGENT, reason, now
    if request.case_id:
        events.record(
            request.case,
            EventAction.FOLLOWUP_NOTE,
            actor=actor,
            note=_who(request) + (note or f"{AgentReason(reason).label}，转人工回访"),
            reason=reason,
            followup_id=request.pk,
            level=request.level,
        )


def _who(request: FollowupRequest) -> str:
    """The prefix "诉求人139****0002（关联件）：" on the notes of a round that asks several appellants, else ""
    (with one appellant the notes read as they always have)."""
    if not request.case_id or not _round(request).exclude(pk=request.pk).exists():
        return ""
    return f"诉求人{_label(request)}："


def _label(request: FollowupRequest) -> str:
    role = request.appellant_role
    return f"{request.masked_phone}（{role}）" if role else request.masked_phone


def _round(request: FollowupRequest):
    """The requests asked together with this one (same case, same completion)."""
    return FollowupRequest.objects.filter(
        kind=FollowupKind.CASE, case_id=request.case_id, round=request.round
    )


def appellants(case: Case) -> list:
    """The appeals whose appellants are asked: one per distinct phone among those who agreed to be
    contacted, the master first, then linked ones, then any other, oldest first."""
    rank = models.Case(
        models.When(link_kind=LinkKind.MASTER, then=0),
        models.When(link_kind=LinkKind.LINKED, then=1),
        default=2,
    )
    chosen = {}
    for appeal in (
        case.appeals.filter(consent_to_contact=True)
        .exclude(appellant_phone="")
        .annotate(rank=rank)
        .order_by("rank", "pk")
    ):
        chosen.setdefault(appeal.appellant_phone, appeal)
    return list(chosen.values())


def start_case(case: Case) -> list[FollowupRequest]:
    """Queue the satisfaction SMS to every appellant of a case just completed (inside the completing
    transaction): one round, one request per appellant (master first)."""
    if case.state != CaseState.COMPLETED:
        return []
    if case.category_id and not case.category.followup_required:
        return []
    asked = appellants(case)
    if not asked:
        return []
    # A new round supersedes an open one (a re-handled case is asked again about the new answer).
    FollowupRequest.objects.filter(case=case, state__in=OPEN_STATES).update(
        state=FollowupState.CLOSED, closed_note="工单再次办结，发起新一轮回访", updated_at=clock.now()
    )
    round_no = (case.followups.aggregate(last=models.Max("round"))["last"] or 0) + 1
    reply = texts.clip(case.reply, 60)
    if reply and not reply.endswith(("。", "！", "？", "…", ".", "!", "?")):
        reply += "。"
    key = texts.CASE.key if case.followup_level == 1 else texts.CASE_AGAIN.key
    body = sms_texts.render(
        key,
        {
            "标题": texts.clip(case.title, 20),
            "工单编号": case.number,
            "承办单位": case.responsible_unit.name if case.responsible_unit_id else "民生警务平台",
            "答复": reply,
        },
    )
    stamp = case.completed_at or clock.now()
    requests = []
    for appeal in asked:
        phone = appeal.appellant_phone
        request = FollowupRequest(
            kind=FollowupKind.CASE,
            case=case,
            appeal=appeal,
            level=case.followup_level,
            round=round_no,
            phone=phone,
        )
        if outbox.is_mobile(phone):
            request.message = outbox.enqueue(
                phone,
                body,
                purpose=CASE_PURPOSE,
                template=key,
                ref=f"case:{case.number}",
                dedupe_key=f"followup:case:{case.pk}:{case.followup_level}:{stamp.timestamp():.6f}:{phone}"[
                    :128
                ],
            )
        request.save()
        requests.append(request)
    # Hand-offs after the whole round exists, so their notes can say which appellant they are about.
    for request in requests:
        if request.message is None:
            _to_agent(request, AgentReason.NO_MOBILE)
        elif request.message.state == MessageState.CANCELLED:
            _to_agent(
                request,
                AgentReason.OPTED_OUT
                if request.message.last_error == "号码已退订"
                else AgentReason.SMS_FAILED,
            )
    return requests


def start_service(record) -> FollowupRequest | None:
    """The one-question survey of a 110 dispatch or a window transaction (at most one per record)."""
    if FollowupRequest.objects.filter(service_record=record).exists():
        return None
    phone = record.citizen_phone
    request = FollowupRequest(kind=FollowupKind.SERVICE, service_record=record, phone=phone)
    if not outbox.is_mobile(phone):
        request.state, request.closed_note = FollowupState.CLOSED, "非手机号码，不发送服务评价"
        request.save()
        return request
    # One survey per number per day: someone served three times at a window is asked once.
    recent = FollowupRequest.objects.filter(
        kind=FollowupKind.SERVICE, phone=phone, created_at__gte=clock.now() - dt.timedelta(days=1)
    ).exclude(message=None)
    if recent.exists():
        request.state, request.closed_note = FollowupState.CLOSED, "同一号码24小时内已发送服务评价"
        request.save()
        return request
    moment = timezone.localtime(record.ended_at or record.started_at)
    body = sms_texts.render(
        texts.SERVICE.key,
        {
            "日期": f"{moment.month}月{moment.day}日",
            "单位": record.unit.name if record.unit_id else (record.unit_text or "公安机关"),
            "业务": record.service_type or record.get_kind_display(),
        },
    )
    message = outbox.enqueue(
        phone,
        body,
        purpose=SERVICE_PURPOSE,
        template=texts.SERVICE.key,
        ref=f"service:{record.pk}",
        dedupe_key=f"followup:service:{record.pk}",
    )
    request.message = message
    if message.state == MessageState.CANCELLED:
        request.state, request.closed_note = FollowupState.CLOSED, message.last_error
    request.save()
    return request


# --- answers -------------------------------------------------------------------------------------------
def _lock_case(case_id: int) -> Case:
    """The case row under a lock that serialises the answers of one case: two appellants answering at
    the same moment must not both see the other still open (and the case never close), nor both
    escalate. FOR NO KEY UPDATE: timeline inserts elsewhere (a KEY SHARE on the case) are not blocked,
    so a sweep holding a request row cannot deadlock with us. of=self: the joined rows are nullable."""
    return (
        Case.objects.select_for_update(of=("self",), no_key=True)
        .select_related("responsible_unit", "category")
        .get(pk=case_id)
    )


def _check_followup(actor, case: Case) -> None:
    """The rule ``record_followup`` applies, for an answer that does not decide the case yet."""
    from minsheng.cases import rules

    reason = rules.why_not(actor, "followup", case)
    if reason is None:
        return
    if getattr(reason, "conflict", False):
        raise InvalidTransition(reason)
    raise Forbidden(reason)


_REAL = (FollowupAnswer.SATISFIED, FollowupAnswer.BASICALLY_SATISFIED)


@transaction.atomic
def _record_case_answer(
    request: FollowupRequest, answer: str, *, actor, via: str, note: str, reply=None
) -> bool:
    """Record one appellant's answer and decide the case by the policy of the module docstring.

    False when the answer came too late: the case moved on meanwhile (an agent recorded it on the case
    page: the request is then closed as late), or another appellant's 不满意 already ended the round."""
    from minsheng.cases import actions

    case = _lock_case(request.case_id)
    if not FollowupRequest.objects.filter(pk=request.pk, state__in=OPEN_STATES).exists():
        return False
    now = clock.now()
    answer = FollowupAnswer(answer)
    round_requests = _round(request)
    others_open = list(round_requests.exclude(pk=request.pk).filter(state__in=OPEN_STATES))
    who = _who(request)
    label = _label(request)
    try:
        if answer == FollowupAnswer.DISSATISFIED:
            if others_open:
                note += f"；其他{len(others_open)}位诉求人的本轮回访随之结束"
            actions.record_followup(case, actor=actor, answer=answer, note=who + note)
        elif others_open:
            # Not the last: recorded on the timeline, the case waits for the others.
            _check_followup(actor, case)
            events.record(
                case,
                EventAction.FOLLOWUP_NOTE,
                actor=actor,
                note=f"诉求人{label}回访：{answer.label}。{note}；本轮还有{len(others_open)}位诉求人待回访，"
                "全部回访后结案",
                answer=answer.value,
                followup_id=request.pk,
                level=request.level,
            )
        else:
            answers = [a for a in round_requests.exclude(pk=request.pk).values_list("answer", flat=True) if a]
            answers.append(answer)
            real = [a for a in answers if a in _REAL]
            if not real:
                final = FollowupAnswer.UNREACHABLE
            elif FollowupAnswer.BASICALLY_SATISFIED in real:
                final = FollowupAnswer.BASICALLY_SATISFIED
            else:
                final = FollowupAnswer.SATISFIED
            if len(answers) > 1:
                summary = "、".join(
                    f"{_label(r)}{FollowupAnswer(r.answer).label}"
                    for r in round_requests.exclude(pk=request.pk).exclude(answer="").select_related("appeal")
                )
                note = f"{who}{note}；本轮{len(answers)}位诉求人回访均已结束（此前：{summary}）"
            if final == FollowupAnswer.UNREACHABLE:
                note += "，按无法联系结案"
            actions.record_followup(case, actor=actor, answer=final, note=note)
    except ActionError as error:
        FollowupRequest.objects.filter(pk=request.pk).update(
            state=FollowupState.CLOSED,
            closed_note=f"回复时工单已不在待回访状态（{error.message}）"[:255],
            updated_at=now,
        )
        return False
    state = FollowupState.UNREACHABLE if answer == FollowupAnswer.UNREACHABLE else FollowupState.ANSWERED
    FollowupRequest.objects.filter(pk=request.pk).update(
        state=state,
        answer=answer,
        answered_at=now,
        answered_by=actor,
        answered_via=via,
        reply=reply,
        reply_text=reply.text if reply is not None else request.reply_text,
        updated_at=now,
    )
    if answer == FollowupAnswer.DISSATISFIED and others_open:
        ended = "工单已转三级回访核查" if case.state == CaseState.INVESTIGATING else "工单已升级重办"
        FollowupRequest.objects.filter(pk__in=[r.pk for r in others_open], state__in=OPEN_STATES).update(
            state=FollowupState.CLOSED, closed_note=f"其他诉求人不满意，{ended}，本轮回访结束", updated_at=now
        )
        outbox.cancel([r.message_id for r in others_open if r.message_id], "其他诉求人不满意，本轮回访结束")
    return True


def _complaint_for(request: FollowupRequest, *, reply_text: str):
    """A dissatisfied service answer becomes a complaint case for the unit's supervisor (督办单位):
    registered and dispatched by the system account, the record referenced."""
    from minsheng.cases import actions
    from minsheng.categories.models import Category
    from minsheng.servicerecords.models import ServiceKind

    record = request.service_record
    actor = system_actor()
    unit = record.unit
    when = timezone.localtime(record.started_at)
    parts = [
        f"群众对{record.get_kind_display()}服务评价为“不满意”。",
        f"服务单位：{unit.name if unit else record.unit_text or '未知'}",
        f"业务：{record.service_type}" if record.service_type else "",
        f"民警：{record.officer_name}（警号{record.officer_number}）" if record.officer_name else "",
        f"服务时间：{when:%Y-%m-%d %H:%M}",
        f"结果：{record.outcome}" if record.outcome else "",
        f"服务记录：{record.external_source} {record.external_ref}",
        f"群众短信回复：“{reply_text}”",
    ]
    category = Category.objects.filter(code="conduct").first()
    appeal = actions.register_appeal(
        actor=actor,
        channel=Channel.POLICE_110 if record.kind == ServiceKind.POLICE_110 else Channel.SERVICE_WINDOW,
        content="\n".join(p for p in parts if p),
        title=f"服务评价不满意：{unit.name if unit else record.unit_text}{record.get_kind_display()}"[:60],
        appellant_phone=record.citizen_phone,
        category=category,
        external_source="service_record",
        external_ref=str(record.pk),
    )
    case = appeal.case
    # The unit's supervisor: its level-2 ancestor; a level-2 unit (a detachment's own window) answers
    # for itself. With no known unit the case waits for a dispatcher (待派单).
    target = None
    if unit is not None:
        target = unit if unit.level == 2 else unit.supervising_unit()
    if target is not None:
        actions.dispatch_case(case, target, actor=actor, note="服务评价不满意，转服务单位的上级督办单位核查")
    return case


def _record_service_answer(
    request: FollowupRequest, answer: str, *, actor, via: str, reply=None, reply_text: str = ""
) -> None:
    now = clock.now()
    complaint = None
    if answer == FollowupAnswer.DISSATISFIED:
        complaint = _complaint_for(request, reply_text=reply_text or (reply.text if reply else ""))
    state = FollowupState.UNREACHABLE if answer == FollowupAnswer.UNREACHABLE else FollowupState.ANSWERED
    FollowupRequest.objects.filter(pk=request.pk).update(
        state=state,
        answer=answer,
        answered_at=now,
        answered_by=actor,
        answered_via=via,
        reply=reply,
        reply_text=reply.text if reply is not None else reply_text,
        complaint_case=complaint,
        updated_at=now,
    )


def _request_for(inbound) -> FollowupRequest | None:
    """The open follow-up this reply answers: the one whose SMS it follows, else the latest open one
    for the number (a citizen with two cases answers the last question asked)."""
    open_requests = FollowupRequest.objects.filter(phone=inbound.phone, state__in=OPEN_STATES).select_related(
        "case", "service_record"
    )
    if inbound.in_reply_to_id:
        exact = open_requests.filter(message_id=inbound.in_reply_to_id).first()
        if exact is not None:
            return exact
    return open_requests.exclude(message=None).order_by("-created_at", "-pk").first()


def handle_reply(inbound) -> Outcome | None:
    """An ``sms.inbound`` handler: a reply to a follow-up SMS. None when the number has none open."""
    request = _request_for(inbound)
    if request is None:
        late = FollowupRequest.objects.filter(phone=inbound.phone).exclude(message=None).first()
        if late is not None and not inbound.opt_out:
            return Outcome(InboundStatus.LATE, "followup", "该号码没有待回复的回访")
        return None
    reading = read_reply(inbound.text)
    FollowupRequest.objects.filter(pk=request.pk).update(reply=inbound, reply_text=inbound.text)
    request.reply, request.reply_text = inbound, inbound.text
    actor = system_actor()
    if reading.answer is None:
        if request.state == FollowupState.AGENT:
            # Already with an agent: the new text is shown there; nothing more to decide.
            return Outcome(InboundStatus.UNCLEAR, "followup", reading.why)
        if request.kind == FollowupKind.SERVICE and reading.opt_out:
            FollowupRequest.objects.filter(pk=request.pk).update(
                state=FollowupState.CLOSED, closed_note="群众退订短信", updated_at=clock.now()
            )
            return Outcome(InboundStatus.OPT_OUT, "followup", "服务评价：群众退订")
        reason = AgentReason.OPTED_OUT if reading.opt_out else AgentReason.UNCLEAR
        _to_agent(
            request,
            reason,
            actor=actor,
            note=f"群众短信回复“{inbound.text[:100]}”，{reading.why}，转人工回访",
        )
        return Outcome(
            InboundStatus.OPT_OUT if reading.opt_out else InboundStatus.UNCLEAR, "followup", reading.why
        )
    note = f"短信回复“{inbound.text[:100]}”（{reading.why}）"
    if request.kind == FollowupKind.CASE:
        recorded = _record_case_answer(
            request, reading.answer, actor=actor, via=AnsweredVia.SMS, note=note, reply=inbound
        )
        if not recorded:
            return Outcome(InboundStatus.LATE, "followup", "工单已另行回访")
    else:
        _record_service_answer(request, reading.answer, actor=actor, via=AnsweredVia.SMS, reply=inbound)
    return Outcome(
        InboundStatus.HANDLED, "followup", f"{FollowupAnswer(reading.answer).label}（{reading.why}）"
    )


# --- agents --------------------------------------------------------------------------------------------
def _check_agent(actor, request: FollowupRequest) -> None:
    from minsheng.cases import rules
    from minsheng.core.errors import Forbidden, InvalidTransition

    if not rules.may_follow_up(actor):
        raise Forbidden("只有平台回访员可以登记回访结果")
    if not request.is_open:
        raise InvalidTransition(f"回访任务已{request.get_state_display()}")


def _locked(request: FollowupRequest) -> FollowupRequest:
    """The request re-read under a row lock, with its case or service record. The case is locked first,
    in the order ``_record_case_answer`` takes them (the case, then its requests): an agent and an SMS
    reply about two appellants of one case wait for each other instead of deadlocking."""
    if request.case_id:
        _lock_case(request.case_id)
    return (
        # of=self: the joined case/service record are nullable (outer joins PostgreSQL cannot lock).
        FollowupRequest.objects.select_for_update(of=("self",))
        .select_related("case", "service_record")
        .get(pk=request.pk)
    )


@transaction.atomic
def record_answer(
    request: FollowupRequest, *, actor, answer: str, note: str = "", via: str = AnsweredVia.PHONE
):
    """An agent records the citizen's answer (by phone, or read from an unclear SMS)."""
    request = _locked(request)
    _check_agent(actor, request)
    try:
        answer = FollowupAnswer(answer)
    except ValueError:
        raise InvalidInput("回访结果应为满意、基本满意或不满意", field="answer") from None
    if answer == FollowupAnswer.UNREACHABLE:
        raise InvalidInput("无法联系请按“未接通”登记，达到次数后自动按无法联系结案", field="answer")
    note = (note or "").strip()
    if via == AnsweredVia.PHONE:
        CallAttempt.objects.create(
            request=request, agent=actor, outcome=CallOutcome.ANSWERED, answer=answer, note=note
        )
        FollowupRequest.objects.filter(pk=request.pk).update(call_attempts=request.call_attempts + 1)
    label = "电话回访" if via == AnsweredVia.PHONE else "人工判读短信回复"
    full_note = f"{label}：{note}" if note else label
    if request.kind == FollowupKind.CASE:
        if not _record_case_answer(request, answer, actor=actor, via=via, note=full_note):
            raise InvalidInput("工单已不在待回访状态", field="answer")
    else:
        _record_service_answer(request, answer, actor=actor, via=via, reply_text=request.reply_text)
    request.refresh_from_db()
    return request


@transaction.atomic
def record_call(request: FollowupRequest, *, actor, outcome: str, note: str = "") -> FollowupRequest:
    """An agent's call that did not reach the citizen. After the set number of attempts the follow-up
    is closed as unreachable (counted separately, never as satisfied)."""
    request = _locked(request)
    _check_agent(actor, request)
    try:
        outcome = CallOutcome(outcome)
    except ValueError:
        raise InvalidInput("请选择通话结果", field="outcome") from None
    if outcome not in NOT_REACHED:
        raise InvalidInput("已接通请登记回访结果", field="outcome")
    note = (note or "").strip()
    CallAttempt.objects.create(request=request, agent=actor, outcome=outcome, note=note)
    attempts = request.call_attempts + 1
    FollowupRequest.objects.filter(pk=request.pk).update(call_attempts=attempts, updated_at=clock.now())
    limit = int(policy.get("followup_call_attempts"))
    if request.case_id:
        events.record(
            request.case,
            EventAction.FOLLOWUP_NOTE,
            actor=actor,
            note=f"电话回访{outcome.label}（第{attempts}次，共{limit}次）" + (f"：{note}" if note else ""),
            outcome=outcome.value,
            attempt=attempts,
            followup_id=request.pk,
        )
    if attempts >= limit:
        # "，按无法联系结案" is added by ``_record_case_answer`` when this ends the case that way.
        unreachable_note = f"{attempts}次电话回访均未接通"
        if request.kind == FollowupKind.CASE:
            _record_case_answer(
                request, FollowupAnswer.UNREACHABLE, actor=actor, via=AnsweredVia.PHONE, note=unreachable_note
            )
        else:
            _record_service_answer(request, FollowupAnswer.UNREACHABLE, actor=actor, via=AnsweredVia.PHONE)
    request.refresh_from_db()
    return request


# --- the sweep -----------------------------------------------------------------------------------------
def unwanted_case_messages(messages) -> set[int]:
    """An ``sms.outbox`` guard: survey SMS whose case no longer waits for this follow-up (an agent
    recorded it by phone, the case was re-opened or closed) are not sent."""
    wanted = set(
        FollowupRequest.objects.filter(
            message_id__in=[m.pk for m in messages],
            state=FollowupState.WAITING,
            case__state=CaseState.COMPLETED,
        ).values_list("message_id", flat=True)
    )
    return {m.pk for m in messages if m.pk not in wanted}


def unwanted_service_messages(messages) -> set[int]:
    wanted = set(
        FollowupRequest.objects.filter(
            message_id__in=[m.pk for m in messages], state=FollowupState.WAITING
        ).values_list("message_id", flat=True)
    )
    return {m.pk for m in messages if m.pk not in wanted}


def sweep(now: dt.datetime | None = None) -> dict:
    """Time-driven steps: close follow-ups whose case moved on, hand unanswered or undeliverable ones to
    agents (cases) or let them lapse (service surveys). Each request is its own transaction."""
    now = now or clock.now()
    done = {"superseded": 0, "no_reply": 0, "sms_failed": 0, "lapsed": 0}
    # Cases followed up another way (the case page) or otherwise moved on.
    moved_on = FollowupRequest.objects.filter(kind=FollowupKind.CASE, state__in=OPEN_STATES).exclude(
        case__state=CaseState.COMPLETED
    )
    for request in moved_on.select_related("message")[:1000]:
        with transaction.atomic():
            changed = FollowupRequest.objects.filter(pk=request.pk, state=request.state).update(
                state=FollowupState.CLOSED, closed_note="工单已另行回访或不再待回访", updated_at=now
            )
            if changed and request.message_id:
                outbox.cancel([request.message_id], "工单已另行回访")
            done["superseded"] += changed
    window = dt.timedelta(hours=float(policy.get("followup_reply_hours")))
    waiting = FollowupRequest.objects.filter(state=FollowupState.WAITING).select_related("message", "case")
    # Asked (sent) more than the window ago without an answer; or never sendable.
    for request in waiting.filter(message__sent_at__lt=now - window)[:1000]:
        with transaction.atomic():
            if not _still(request, FollowupState.WAITING):
                continue
            if request.kind == FollowupKind.CASE:
                hours = window.total_seconds() / 3600
                _to_agent(request, AgentReason.NO_REPLY, note=f"回访短信发出{hours:g}小时未回复，转电话回访")
                done["no_reply"] += 1
            else:
                _close(request, "短信评价超时未回复", now)
                done["lapsed"] += 1
    # Not sent and not going to be, or still unsent a whole window after it was asked for.
    failed = waiting.filter(
        message__state__in=(MessageState.FAILED, MessageState.CANCELLED)
    ) | waiting.filter(message__state=MessageState.QUEUED, created_at__lt=now - window)
    for request in failed[:1000]:
        with transaction.atomic():
            if not _still(request, FollowupState.WAITING):
                continue
            if request.message and request.message.state == MessageState.QUEUED:
                outbox.cancel([request.message_id], "超过回访时限仍未发出")
            if request.kind == FollowupKind.CASE:
                reason = (
                    AgentReason.OPTED_OUT
                    if request.message and request.message.last_error == "号码已退订"
                    else AgentReason.SMS_FAILED
                )
                _to_agent(request, reason)
                done["sms_failed"] += 1
            else:
                _close(request, "服务评价短信未能发出", now)
                done["lapsed"] += 1
    return done


def _still(request: FollowupRequest, state: str) -> bool:
    """Lock the row and check it is still in ``state`` (another sweep or a reply may have moved it)."""
    return FollowupRequest.objects.select_for_update().filter(pk=request.pk, state=state).exists()


def _close(request: FollowupRequest, note: str, now) -> None:
    FollowupRequest.objects.filter(pk=request.pk).update(
        state=FollowupState.CLOSED, closed_note=note, updated_at=now
    )


def survey_service_records(now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Queue the survey for recent service records that have none yet (records arrive through the
    intake in bulk; only recent ones are asked, so an import of old records sends nothing)."""
    from django.conf import settings

    from minsheng.servicerecords.models import ServiceRecord

    now = now or clock.now()
    since = now - dt.timedelta(hours=settings.FOLLOWUP["SERVICE_SURVEY_MAX_AGE_H"])
    records = (
        ServiceRecord.objects.filter(started_at__gte=since, followup__isnull=True)
        .exclude(citizen_phone="")
        .select_related("unit")
        .order_by("started_at")[:limit]
    )
    started = 0
    for record in records:
        with transaction.atomic():
            if start_service(record) is not None:
                started += 1
    return started
