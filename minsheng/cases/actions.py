"""Every business write on a case. The pages, the API, the CLI and background tasks all call these.

Each action is atomic, checks the transition and the actor's right to make it (``cases.rules``), changes
the state with a compare-and-set update so two people acting at once cannot both win, and appends
exactly one timeline event.
"""

import datetime as dt
import secrets

from django.db import connection, transaction
from django.utils import timezone

from minsheng import followup
from minsheng.appeals.choices import LinkKind
from minsheng.appeals.models import Appeal
from minsheng.cases import events, rules
from minsheng.cases.choices import CaseState, CloseReason, EventAction, FollowupAnswer
from minsheng.cases.models import Case, ExtensionRequest, ExtensionState, Investigation
from minsheng.core import clock, ids, policy, workdays
from minsheng.core.errors import ConcurrentChange, Forbidden, InvalidInput, InvalidTransition
from minsheng.units.models import Unit


def _check(user, action: str, case: Case) -> None:
    reason = rules.why_not(user, action, case)
    if reason is None:
        return
    if getattr(reason, "conflict", False):
        raise InvalidTransition(reason)
    raise Forbidden(reason)


def _require(value: str, field: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"请填写{label}", field=field)
    return value


def _move(case: Case, to_state: str, **fields) -> str:
    """Compare-and-set the state; returns the previous state. Raises if someone else moved it first."""
    from_state = case.state
    fields["updated_at"] = clock.now()
    changed = Case.objects.filter(pk=case.pk, state=from_state).update(state=to_state, **fields)
    if changed != 1:
        raise ConcurrentChange("工单已被他人处理，请刷新后重试")
    case.state = to_state
    for name, value in fields.items():
        setattr(case, name, value)
    return from_state


def _unit_for(actor, case: Case):
    if case.responsible_unit_id and rules.handles(actor, case):
        return case.responsible_unit
    return actor.units[0] if actor.units else None


def _new_number(case: Case) -> str:
    return f"{timezone.localtime(case.registered_at):%Y%m%d}{case.pk:07d}"


def case_row(
    *,
    title: str,
    content: str,
    category,
    channel: str,
    district=None,
    township=None,
    community=None,
    repeat_of=None,
    pk: int | None = None,
) -> Case:
    """A new case, not saved yet; numbered when its id is known."""
    case = Case(
        pk=pk,
        title=(title or content)[:60],
        category=category,
        channel=channel,
        registered_at=clock.now(),
        district_code=district.code if district else "",
        township_code=township.code if township else "",
        community_code=community.code if community else "",
        repeat_of=repeat_of,
    )
    if pk is not None:
        case.number = _new_number(case)
    return case


def open_case(**fields) -> Case:
    """A new case row (no event: the caller records why it was opened). ``fields`` as ``case_row``."""
    case = case_row(**fields, pk=_next_case_id())
    if case.pk is not None:
        case.save(force_insert=True)
        return case
    # Without a sequence to ask: a unique placeholder until the row has its id, then the real number.
    case.number = f"t{secrets.token_hex(8)}"
    case.save(force_insert=True)
    case.number = _new_number(case)
    Case.objects.filter(pk=case.pk).update(number=case.number)
    return case


def _next_case_id() -> int | None:
    """PostgreSQL: the next case id, taken from the id column's sequence, so that the number (derived
    from the id) goes in with the row: one write instead of an insert and then an update of an indexed
    column, which rewrites the row and every index entry. None elsewhere."""
    if connection.vendor != "postgresql":
        return None
    return ids.reserve(Case, 1)[0]


def _new_appeal(case: Case, **fields) -> Appeal:
    appeal = appeal_row(case, **fields)
    appeal.save(force_insert=True)
    # Every appeal enters the duplicate index, whichever way it came in.
    from minsheng.dedup import service as dedup_service

    dedup_service.journal(appeal)
    return appeal


def appeal_row(
    case: Case,
    *,
    actor,
    link_kind: str,
    channel: str,
    content: str,
    received_at: dt.datetime | None = None,
    title: str = "",
    appellant_name: str = "",
    appellant_phone: str = "",
    appellant_id_number: str = "",
    address: str = "",
    category=None,
    district=None,
    township=None,
    community=None,
    external_source: str = "",
    external_ref: str = "",
    consent_to_contact: bool = True,
    dedup: dict | None = None,
) -> Appeal:
    """An appeal of ``case``, not saved yet."""
    return Appeal(
        channel=channel,
        received_at=received_at or clock.now(),
        registered_by=actor if actor and actor.is_authenticated else None,
        appellant_name=appellant_name.strip(),
        appellant_phone=appellant_phone.strip(),
        appellant_id_number=appellant_id_number.strip().upper(),
        title=title.strip(),
        content=content,
        address=address.strip(),
        district=district,
        township=township,
        community=community,
        category=category,
        case=case,
        link_kind=link_kind,
        external_source=external_source,
        external_ref=external_ref,
        consent_to_contact=consent_to_contact,
        dedup=dedup or {},
    )


@transaction.atomic
def register_appeal(
    *,
    actor,
    channel: str,
    content: str,
    instant_reply: str = "",
    repeat_of: Case | None = None,
    **fields,
) -> Appeal:
    """Register an appeal and open a case for it (受理). With ``instant_reply`` the case is answered
    at intake (即时办结) and goes straight to follow-up. With ``repeat_of`` the appeal raises again a
    matter already answered there (重复诉求): it is handled anew, with that history beside it."""
    content = _require(content, "content", "诉求内容")
    case = open_case(
        title=fields.get("title", ""),
        content=content,
        category=fields.get("category"),
        channel=channel,
        district=fields.get("district"),
        township=fields.get("township"),
        community=fields.get("community"),
        repeat_of=repeat_of,
    )
    appeal = _new_appeal(
        case,
        actor=actor,
        link_kind=LinkKind.REPEAT if repeat_of else LinkKind.MASTER,
        channel=channel,
        content=content,
        **fields,
    )
    register_event(case, actor=actor, channel=channel, repeat_of=repeat_of).save()
    if instant_reply:
        reply = instant_reply.strip()
        from_state = _move(case, CaseState.COMPLETED, reply=reply, result=reply, completed_at=clock.now())
        events.record(
            case,
            EventAction.INSTANT_COMPLETE,
            actor=actor,
            from_state=from_state,
            to_state=CaseState.COMPLETED,
            note=reply,
        )
        # The satisfaction SMS is written to the outbox in this transaction; sent after commit.
        followup.start(case)
    return appeal


@transaction.atomic
def link_appeal(case: Case, *, actor, channel: str, content: str, dedup: dict, **fields) -> Appeal:
    """Another appellant's appeal about the same matter joins an open case (关联件): the handling unit
    sees the new appellant on the timeline, and every appellant gets the reply and the follow-up."""
    content = _require(content, "content", "诉求内容")
    appeal = _new_appeal(
        case, actor=actor, link_kind=LinkKind.LINKED, channel=channel, content=content, dedup=dedup, **fields
    )
    link_event(case, appeal, actor=actor).save()
    return appeal


def register_event(case: Case, *, actor, channel: str, repeat_of: Case | None = None):
    """The timeline's first event (受理), not saved yet."""
    return events.build(
        case,
        EventAction.REGISTER,
        actor=actor,
        to_state=CaseState.REGISTERED,
        channel=channel,
        repeat_of=repeat_of.number if repeat_of else None,
    )


def link_event(case: Case, appeal: Appeal, *, actor):
    """关联诉求 on the case's timeline, naming the unit that is told; not saved yet."""
    from minsheng.appeals.choices import Channel

    dedup = appeal.dedup or {}
    return events.build(
        case,
        EventAction.LINK_APPEAL,
        actor=actor,
        note=f"{Channel(appeal.channel).label}诉求并入本工单（相似度 {dedup.get('score', 0):.2f}）",
        appeal_id=appeal.pk,
        score=dedup.get("score"),
        reasons=dedup.get("reasons"),
        notified_unit=case.responsible_unit.name if case.responsible_unit_id else None,
    )


@transaction.atomic
def dispatch_case(case: Case, unit: Unit, *, actor, note: str = "") -> Case:
    """Send the case to a unit (派单). Direct (直派) when the unit is a level-3 unit."""
    _check(actor, "dispatch", case)
    if not rules.may_dispatch_to(actor, unit):
        raise Forbidden(f"无权向{unit.name}派单")
    if not unit.active:
        raise InvalidInput(f"{unit.name}已停用", field="unit")
    if case.state == CaseState.DISPATCHED and case.responsible_unit_id == unit.pk:
        raise InvalidInput(f"工单已派给{unit.name}", field="unit")
    fields, data = dispatch_plan(case, unit)
    from_state = _move(case, CaseState.DISPATCHED, **fields)
    events.record(
        case,
        EventAction.DISPATCH,
        actor=actor,
        from_state=from_state,
        to_state=CaseState.DISPATCHED,
        note=note,
        **data,
    )
    # A dispatcher who overrides triage's first suggestion teaches the routing statistics.
    from minsheng.routing.learning import learn_from_dispatch

    learn_from_dispatch(case, unit, actor=actor)
    return case


def dispatch_plan(
    case: Case, unit: Unit, *, now=None, accept_hours=None, deadlines: dict | None = None
) -> tuple[dict, dict]:
    """What sending ``case`` to ``unit`` sets on the case (deadlines from now, in working time) and
    what its DISPATCH event records. A batch dispatching many cases at one moment passes
    ``accept_hours`` (the policy read once) and ``deadlines`` (a dict kept for the batch: the
    deadlines worked out once per number of days)."""
    now = now or clock.now()
    days = case.category.deadline_days if case.category_id else 5
    due = deadlines.get(days) if deadlines is not None else None
    if due is None:
        due = (
            workdays.add_working_hours(now, accept_hours or policy.get("accept_hours")),
            workdays.add_working_days(now, days),
        )
        if deadlines is not None:
            deadlines[days] = due
    accept_due, complete_due = due
    fields = dict(
        responsible_unit=unit,
        handler=None,
        direct=unit.level == 3,
        dispatched_at=now,
        accepted_at=None,
        accept_due_at=accept_due,
        complete_due_at=complete_due,
        accept_overdue=False,
        complete_overdue=False,
    )
    data = dict(
        unit_id=unit.pk,
        unit_name=unit.name,
        direct=unit.level == 3,
        accept_due=accept_due.isoformat(),
        complete_due=complete_due.isoformat(),
    )
    return fields, data


@transaction.atomic
def accept_case(case: Case, *, actor, note: str = "") -> Case:
    """The unit acknowledges it has the case (签收); the accepting officer becomes the handler."""
    _check(actor, "accept", case)
    now = clock.now()
    from_state = _move(case, CaseState.IN_PROGRESS, accepted_at=now, handler=case.handler or actor)
    events.record(
        case,
        EventAction.ACCEPT,
        actor=actor,
        unit=case.responsible_unit,
        from_state=from_state,
        to_state=CaseState.IN_PROGRESS,
        note=note,
        on_time=bool(case.accept_due_at and now <= case.accept_due_at),
    )
    return case


@transaction.atomic
def return_case(case: Case, *, actor, reason: str, suggested_unit: Unit | None = None) -> Case:
    """The unit says the case is not theirs (退单); it goes back to the platform office to re-route."""
    _check(actor, "return", case)
    reason = _require(reason, "reason", "退单理由")
    unit = case.responsible_unit
    from_state = _move(
        case,
        CaseState.RETURNED,
        responsible_unit=None,
        handler=None,
        return_count=case.return_count + 1,
        accept_due_at=None,
        complete_due_at=None,
    )
    events.record(
        case,
        EventAction.RETURN,
        actor=actor,
        unit=unit,
        from_state=from_state,
        to_state=CaseState.RETURNED,
        note=reason,
        returned_by_unit=unit.name,
        suggested_unit_id=suggested_unit.pk if suggested_unit else None,
        suggested_unit_name=suggested_unit.name if suggested_unit else None,
    )
    from minsheng.routing.hooks import learn_places
    from minsheng.routing.learning import learn_from_return

    learn_places(case, unit, weight=-1)
    learn_from_return(case, unit, actor=actor, suggested_unit=suggested_unit)
    return case


@transaction.atomic
def assign_handler(case: Case, person, *, actor) -> Case:
    """A unit leader names the officer who handles the case (承办人)."""
    _check(actor, "assign", case)
    if not person.memberships.filter(unit=case.responsible_unit).exists():
        raise InvalidInput(f"{person}不是{case.responsible_unit.name}的人员", field="handler")
    Case.objects.filter(pk=case.pk).update(handler=person, updated_at=clock.now())
    case.handler = person
    events.record(
        case,
        EventAction.ASSIGN,
        actor=actor,
        unit=case.responsible_unit,
        note=f"指定{person}承办",
        handler_id=person.pk,
    )
    return case


@transaction.atomic
def add_note(case: Case, *, actor, note: str) -> Case:
    """A progress note (办理进展) on the timeline; the state does not change."""
    _check(actor, "note", case)
    note = _require(note, "note", "办理进展")
    events.record(case, EventAction.NOTE, actor=actor, unit=_unit_for(actor, case), note=note)
    return case


@transaction.atomic
def request_extension(case: Case, *, actor, days: int, reason: str) -> ExtensionRequest:
    """Ask the supervising unit for more working days (延期申请). The deadline does not move yet."""
    _check(actor, "request_extension", case)
    reason = _require(reason, "reason", "延期理由")
    if not 1 <= int(days) <= 30:
        raise InvalidInput("延长天数应在1到30个工作日之间", field="days")
    extension = ExtensionRequest.objects.create(case=case, requested_by=actor, days=int(days), reason=reason)
    events.record(
        case,
        EventAction.REQUEST_EXTENSION,
        actor=actor,
        unit=case.responsible_unit,
        note=reason,
        days=int(days),
        extension_id=extension.pk,
    )
    return extension


@transaction.atomic
def decide_extension(case: Case, *, actor, approve: bool, note: str = "") -> ExtensionRequest:
    """The supervisor approves (the completion deadline moves) or refuses (it stays)."""
    _check(actor, "decide_extension", case)
    extension = ExtensionRequest.objects.select_for_update().get(case=case, state=ExtensionState.PENDING)
    now = clock.now()
    extension.decided_by, extension.decided_at, extension.decision_note = actor, now, note.strip()
    extension.old_due_at = case.complete_due_at
    if approve:
        new_due = workdays.extend_by_working_days(case.complete_due_at or now, extension.days)
        extension.state, extension.new_due_at = ExtensionState.APPROVED, new_due
        Case.objects.filter(pk=case.pk).update(
            complete_due_at=new_due, complete_overdue=False, updated_at=now
        )
        case.complete_due_at, case.complete_overdue = new_due, False
    else:
        extension.state = ExtensionState.REFUSED
    extension.save(
        update_fields=["state", "decided_by", "decided_at", "decision_note", "old_due_at", "new_due_at"]
    )
    events.record(
        case,
        EventAction.APPROVE_EXTENSION if approve else EventAction.REFUSE_EXTENSION,
        actor=actor,
        note=note.strip(),
        extension_id=extension.pk,
        days=extension.days,
        old_due=extension.old_due_at.isoformat() if extension.old_due_at else None,
        new_due=extension.new_due_at.isoformat() if extension.new_due_at else None,
    )
    return extension


@transaction.atomic
def complete_case(case: Case, *, actor, result: str, reply: str) -> Case:
    """The unit records what it did and the one answer the citizen is given (办结, 一口回复)."""
    _check(actor, "complete", case)
    result = _require(result, "result", "办理结果")
    reply = _require(reply, "reply", "答复内容")
    now = clock.now()
    on_time = bool(case.complete_due_at is None or now <= case.complete_due_at)
    from_state = _move(case, CaseState.COMPLETED, result=result, reply=reply, completed_at=now)
    events.record(
        case,
        EventAction.COMPLETE,
        actor=actor,
        unit=case.responsible_unit,
        from_state=from_state,
        to_state=CaseState.COMPLETED,
        note=reply,
        result=result,
        on_time=on_time,
        followup_level=case.followup_level,
    )
    # The satisfaction SMS is written to the outbox in this transaction; sent after commit.
    followup.start(case)
    # The station that handled it vouches for where its place names lie (routing learns them).
    from minsheng.routing.hooks import learn_places
    from minsheng.routing.learning import learn_from_completion

    learn_places(case, case.responsible_unit, weight=1)
    learn_from_completion(case, actor=actor)
    return case


@transaction.atomic
def record_followup(case: Case, *, actor, answer: str, note: str = "") -> Case:
    """Record the citizen's answer (回访). Satisfied → closed; dissatisfied → the next follow-up level.

    Level 1 dissatisfied → level 2: back to the unit to re-handle, its main leader and the supervising
    level-2 unit told. Level 2 dissatisfied → level 3: inspection, discipline, legal and the platform
    office investigate and record a conclusion.
    """
    _check(actor, "followup", case)
    try:
        answer = FollowupAnswer(answer)
    except ValueError:
        raise InvalidInput("回访结果应为满意、基本满意、不满意或无法联系", field="answer") from None
    now = clock.now()
    note = note.strip()
    if answer in (FollowupAnswer.SATISFIED, FollowupAnswer.BASICALLY_SATISFIED, FollowupAnswer.UNREACHABLE):
        reason = {
            FollowupAnswer.SATISFIED: CloseReason.SATISFIED,
            FollowupAnswer.BASICALLY_SATISFIED: CloseReason.BASICALLY_SATISFIED,
            FollowupAnswer.UNREACHABLE: CloseReason.UNREACHABLE,
        }[answer]
        from_state = _move(case, CaseState.CLOSED, followup_answer=answer, close_reason=reason, closed_at=now)
        events.record(
            case,
            EventAction.FOLLOWUP,
            actor=actor,
            from_state=from_state,
            to_state=CaseState.CLOSED,
            note=note,
            answer=answer.value,
            level=case.followup_level,
        )
        return case
    if case.followup_level == 1:
        unit = case.responsible_unit
        supervising = unit.supervising_unit() if unit else None
        due = workdays.add_working_days(now, policy.get("rehandle_days"))
        from_state = _move(
            case,
            CaseState.IN_PROGRESS,
            followup_answer=answer,
            followup_level=2,
            complete_due_at=due,
            complete_overdue=False,
            completed_at=None,
        )
        notified = [f"{unit.name}主要领导"] if unit else []
        if supervising:
            notified.append(supervising.name)
        events.record(
            case,
            EventAction.FOLLOWUP,
            actor=actor,
            from_state=from_state,
            to_state=CaseState.IN_PROGRESS,
            note=note,
            answer=answer.value,
            level=1,
            escalated_to=2,
            notified=notified,
            rehandle_due=due.isoformat(),
        )
        return case
    from_state = _move(case, CaseState.INVESTIGATING, followup_answer=answer, followup_level=3)
    events.record(
        case,
        EventAction.FOLLOWUP,
        actor=actor,
        from_state=from_state,
        to_state=CaseState.INVESTIGATING,
        note=note,
        answer=answer.value,
        level=case.followup_level - 1,
        escalated_to=3,
        notified=["市局领导", "承办单位主要领导", "纪委", "督察", "法制", "平台办"],
    )
    return case


@transaction.atomic
def record_investigation(
    case: Case, *, actor, findings: str, conclusion: str, internal_fault: bool = False, fault_detail: str = ""
) -> Investigation:
    """The level-3 record (findings, internal faults, conclusion); the case is then closed."""
    _check(actor, "investigate", case)
    findings = _require(findings, "findings", "核查情况")
    conclusion = _require(conclusion, "conclusion", "核查结论")
    if internal_fault and not fault_detail.strip():
        raise InvalidInput("存在内部过错时请写明过错情况", field="fault_detail")
    investigation = Investigation.objects.create(
        case=case,
        recorded_by=actor,
        findings=findings,
        internal_fault=internal_fault,
        fault_detail=fault_detail.strip(),
        conclusion=conclusion,
    )
    from_state = _move(case, CaseState.CLOSED, close_reason=CloseReason.INVESTIGATED, closed_at=clock.now())
    events.record(
        case,
        EventAction.INVESTIGATE,
        actor=actor,
        from_state=from_state,
        to_state=CaseState.CLOSED,
        note=conclusion,
        findings=findings,
        internal_fault=internal_fault,
    )
    return investigation


@transaction.atomic
def close_case(case: Case, *, actor, note: str = "") -> Case:
    """Close a completed case that needs no follow-up (no contact, or a category without follow-up)."""
    _check(actor, "close", case)
    from_state = _move(case, CaseState.CLOSED, close_reason=CloseReason.NO_FOLLOWUP, closed_at=clock.now())
    events.record(
        case,
        EventAction.CLOSE,
        actor=actor,
        from_state=from_state,
        to_state=CaseState.CLOSED,
        note=note.strip(),
    )
    return case


def mark_overdue(case: Case, *, now=None) -> bool:
    """Note on the timeline, once, that a deadline passed (called by the deadline sweep)."""
    now = now or clock.now()
    if case.state == CaseState.DISPATCHED and case.accept_due_at and case.accept_due_at < now:
        with transaction.atomic():
            if Case.objects.filter(pk=case.pk, state=case.state, accept_overdue=False).update(
                accept_overdue=True
            ):
                events.record(
                    case,
                    EventAction.ACCEPT_OVERDUE,
                    unit=case.responsible_unit,
                    due=case.accept_due_at.isoformat(),
                )
                return True
    if case.state == CaseState.IN_PROGRESS and case.complete_due_at and case.complete_due_at < now:
        with transaction.atomic():
            if Case.objects.filter(pk=case.pk, state=case.state, complete_overdue=False).update(
                complete_overdue=True
            ):
                events.record(
                    case,
                    EventAction.COMPLETE_OVERDUE,
                    unit=case.responsible_unit,
                    due=case.complete_due_at.isoformat(),
                )
                return True
    return False


@transaction.atomic
def set_category(case: Case, category, *, actor, note: str = "") -> Case:
    """Set or correct the case's category (更正类别). Deadlines do not move (only an approved extension
    moves them); a case still waiting for dispatch gets fresh unit suggestions for the new category.
    A person's choice is a label for the classifier's next retrain (``classification.labels``)."""
    _check(actor, "categorise", case)
    if category is None or not category.active:
        raise InvalidInput("请选择有效的类别", field="category")
    if category.children.filter(active=True).exists():
        raise InvalidInput(f"“{category}”下还有子类别，请选择具体类别", field="category")
    if case.category_id == category.pk:
        raise InvalidInput(f"工单类别已是“{category}”", field="category")
    old = case.category
    changed = Case.objects.filter(pk=case.pk, state=case.state, category_id=case.category_id).update(
        category=category, updated_at=clock.now()
    )
    if changed != 1:
        raise ConcurrentChange("工单已被他人处理，请刷新后重试")
    case.category = category
    events.record(
        case,
        EventAction.CATEGORISE,
        actor=actor,
        unit=_unit_for(actor, case),
        note=note.strip(),
        from_code=old.code if old else "",
        from_name=str(old) if old else "",
        to_code=category.code,
        to_name=str(category),
    )
    if case.state in (CaseState.REGISTERED, CaseState.RETURNED):
        from minsheng.routing.learning import refresh_suggestions

        refresh_suggestions(case)
    return case
