"""Business actions on duplicates: intake's comparison, and what people decide about it afterwards.

- ``register``: an incoming appeal compared with every stored one (under the index lock), then linked
  to an open case (关联件), registered as a repeat of an answered one (重复诉求), registered with
  possible duplicates to confirm, or registered as a new case.
- ``link_suggestion`` / ``dismiss_suggestion``: a person's one-click answer to a possible duplicate.
- ``split_appeal``: a link undone, with the reason; the appeal opens its own case.

Each records its event on the timelines concerned and a journal row for the index.
"""

from django.db import transaction

from minsheng.appeals.choices import LinkKind
from minsheng.appeals.models import Appeal
from minsheng.cases import actions as case_actions
from minsheng.cases import events, rules
from minsheng.cases.choices import OPEN_STATES, CaseState, CloseReason, EventAction
from minsheng.cases.models import Case
from minsheng.core import clock
from minsheng.core.errors import Forbidden, InvalidInput, InvalidTransition
from minsheng.dedup import service
from minsheng.dedup.models import DuplicateSuggestion, SuggestionState
from minsheng.dedup.service import NEW, REPEAT, Comparison


def incoming_record(fields: dict, predicted_category=None) -> service.Record:
    category = fields.get("category") or predicted_category
    return service.record_of(
        "incoming",
        text=service.appeal_text(fields.get("title", ""), fields["content"]),
        time=fields.get("received_at") or clock.now(),
        phone=fields.get("appellant_phone", ""),
        id_number=fields.get("appellant_id_number", ""),
        place=fields.get("address", ""),
        channel=fields.get("channel", ""),
        category_id=category.pk if category else None,
    )


@transaction.atomic
def register(*, actor, compare: bool = True, predicted_category=None, **fields) -> tuple[Appeal, Comparison]:
    """Register one appeal the way intake does. ``fields`` are those of ``register_appeal``;
    ``predicted_category`` (triage's guess) tells the comparison what the appeal is about when no
    person has said. The verdict, score and reasons are kept on the appeal for the case page."""
    # An appeal answered at intake (即时办结) is its own case: only indexed, never linked.
    compare = compare and not fields.get("instant_reply")
    record = incoming_record(fields, predicted_category)
    comparison = service.compare(record) if compare else Comparison()
    if comparison.decision == service.LINK:
        fields.pop("instant_reply", None)
        # The case may have been answered since the index was read: then it is a repeat after all.
        case = Case.objects.select_for_update().get(pk=comparison.case.pk)
        if case.state in OPEN_STATES:
            appeal = case_actions.link_appeal(case, actor=actor, dedup=comparison.as_dict(), **fields)
            return appeal, comparison
        comparison.decision, comparison.case = REPEAT, case
    appeal = case_actions.register_appeal(
        actor=actor, repeat_of=comparison.case if comparison.decision == REPEAT else None, **fields
    )
    for case, appeal_id, score, reasons in comparison.suggestions:
        DuplicateSuggestion.objects.create(
            case=appeal.case,
            appeal=appeal,
            candidate_case=case,
            candidate_appeal_id=appeal_id,
            score=score,
            reasons=reasons,
        )
    if comparison.decision != NEW or comparison.reasons:
        Appeal.objects.filter(pk=appeal.pk).update(dedup=comparison.as_dict())
        appeal.dedup = comparison.as_dict()
    return appeal, comparison


def why_not(user, case: Case) -> str | None:
    """Who may decide about duplicates of a case: dispatchers, and the unit handling it."""
    if not user.is_authenticated or not user.is_active:
        return "请先登录"
    if rules.is_dispatcher(user) or rules.handles(user, case):
        return None
    return "只有派单员或承办单位可以处理关联件"


def _check(user, case: Case) -> None:
    reason = why_not(user, case)
    if reason:
        raise Forbidden(reason)


def _pending(suggestion: DuplicateSuggestion) -> DuplicateSuggestion:
    locked = DuplicateSuggestion.objects.select_for_update().select_related("case", "candidate_case")
    suggestion = locked.get(pk=suggestion.pk)
    if suggestion.state != SuggestionState.PENDING:
        raise InvalidTransition(f"该疑似重复已处理（{suggestion.get_state_display()}）")
    return suggestion


def _decided(suggestion: DuplicateSuggestion, state: str, actor, note: str) -> None:
    suggestion.state, suggestion.decided_by, suggestion.decided_at, suggestion.note = (
        state,
        actor,
        clock.now(),
        note,
    )
    suggestion.save(update_fields=["state", "decided_by", "decided_at", "note"])


@transaction.atomic
def link_suggestion(suggestion: DuplicateSuggestion, *, actor, note: str = "") -> Case:
    """Confirm a possible duplicate. Into an open case: this case's appeals join it and this case is
    closed as merged (handled once). Into an answered case: this case is marked a repeat of it.
    Returns the case where the appeals are now handled."""
    suggestion = _pending(suggestion)
    case, target = suggestion.case, suggestion.candidate_case
    _check(actor, case)
    if case.state not in OPEN_STATES:
        raise InvalidTransition(f"工单当前状态为“{case.get_state_display()}”，不能并案")
    service.lock()
    target = Case.objects.select_for_update().get(pk=target.pk)
    _decided(suggestion, SuggestionState.LINKED, actor, note)
    if target.state not in OPEN_STATES:
        Case.objects.filter(pk=case.pk).update(repeat_of=target)
        case.appeals.filter(link_kind=LinkKind.MASTER).update(link_kind=LinkKind.REPEAT)
        events.record(
            case,
            EventAction.NOTE,
            actor=actor,
            note=f"确认为工单{target.number}的重复诉求（相似度 {suggestion.score:.2f}）"
            + (f"：{note}" if note else ""),
            repeat_of=target.number,
        )
        return case
    moved = list(case.appeals.all())
    case.appeals.update(case=target, link_kind=LinkKind.LINKED)
    for appeal in moved:
        appeal.case = target
        service.journal(appeal)
    from_state = case_actions._move(
        case, CaseState.CLOSED, close_reason=CloseReason.MERGED, closed_at=clock.now()
    )
    events.record(
        case,
        EventAction.MERGE,
        actor=actor,
        from_state=from_state,
        to_state=CaseState.CLOSED,
        note=f"并入工单{target.number}办理" + (f"：{note}" if note else ""),
        into=target.number,
        score=suggestion.score,
    )
    events.record(
        target,
        EventAction.LINK_APPEAL,
        actor=actor,
        note=f"工单{case.number}的{len(moved)}件诉求并入本工单（人工确认，相似度 {suggestion.score:.2f}）",
        appeal_ids=[a.pk for a in moved],
        merged_case=case.number,
        notified_unit=target.responsible_unit.name if target.responsible_unit_id else None,
    )
    DuplicateSuggestion.objects.filter(case=case, state=SuggestionState.PENDING).update(
        state=SuggestionState.DISMISSED, decided_by=actor, decided_at=clock.now(), note="工单已并案"
    )
    return target


@transaction.atomic
def dismiss_suggestion(suggestion: DuplicateSuggestion, *, actor, note: str = "") -> Case:
    """Not the same matter: the case goes on by itself."""
    suggestion = _pending(suggestion)
    _check(actor, suggestion.case)
    _decided(suggestion, SuggestionState.DISMISSED, actor, note)
    events.record(
        suggestion.case,
        EventAction.DISMISS_DUPLICATE,
        actor=actor,
        note=f"与工单{suggestion.candidate_case.number}不是同一事项" + (f"：{note}" if note else ""),
        candidate=suggestion.candidate_case.number,
        score=suggestion.score,
    )
    return suggestion.case


@transaction.atomic
def split_appeal(appeal: Appeal, *, actor, reason: str) -> Case:
    """Undo a link (拆分): the appeal was another matter. It opens its own case, which goes to triage
    like any new appeal; both timelines say why."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请填写拆分理由", field="reason")
    appeal = Appeal.objects.select_for_update(of=("self",)).select_related("case").get(pk=appeal.pk)
    case = appeal.case
    _check(actor, case)
    if appeal.link_kind != LinkKind.LINKED:
        raise InvalidTransition("只有关联件可以拆分")
    if case.state == CaseState.CLOSED:
        raise InvalidTransition("工单已结案，不能拆分")
    service.lock()
    new_case = case_actions.open_case(
        title=appeal.title,
        content=appeal.content,
        category=appeal.category,
        channel=appeal.channel,
        district=appeal.district,
        township=appeal.township,
        community=appeal.community,
    )
    Appeal.objects.filter(pk=appeal.pk).update(case=new_case, link_kind=LinkKind.MASTER)
    appeal.case, appeal.link_kind = new_case, LinkKind.MASTER
    service.journal(appeal)
    events.record(
        case,
        EventAction.SPLIT_APPEAL,
        actor=actor,
        note=f"诉求拆分为工单{new_case.number}：{reason}",
        appeal_id=appeal.pk,
        new_case=new_case.number,
    )
    events.record(
        new_case,
        EventAction.SPLIT_APPEAL,
        actor=actor,
        to_state=CaseState.REGISTERED,
        note=f"由工单{case.number}拆分：{reason}",
        appeal_id=appeal.pk,
        split_from=case.number,
    )
    from minsheng.routing.hooks import apply_triage

    apply_triage(new_case)
    return new_case
