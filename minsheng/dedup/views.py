"""The case page's duplicates panel and its one-click answers (关联 / 不是同一事项 / 拆分)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from minsheng.appeals.models import Appeal
from minsheng.cases.choices import EventAction
from minsheng.cases.models import Case
from minsheng.cases.queues import get_case_for
from minsheng.core.errors import ActionError
from minsheng.dedup import actions
from minsheng.dedup.models import DuplicateSuggestion, SuggestionState

# What of an earlier case a repeat appeal shows beside it: how it was handled and what was answered.
HISTORY_ACTIONS = (
    EventAction.REGISTER,
    EventAction.DISPATCH,
    EventAction.RETURN,
    EventAction.COMPLETE,
    EventAction.INSTANT_COMPLETE,
    EventAction.FOLLOWUP,
    EventAction.ESCALATE,
    EventAction.CLOSE,
)


def panel(case: Case, user) -> dict:
    """Context of the duplicates panel."""
    suggestions = list(
        DuplicateSuggestion.objects.filter(case=case)
        .select_related("candidate_case", "candidate_case__responsible_unit", "decided_by")
        .order_by("state", "-score")
    )
    visible = set(
        Case.objects.visible_to(user)
        .filter(pk__in=[s.candidate_case_id for s in suggestions] + [case.repeat_of_id or 0])
        .values_list("pk", flat=True)
    )
    history = []
    if case.repeat_of_id:
        history = list(
            case.repeat_of.events.filter(action__in=HISTORY_ACTIONS).select_related("actor", "actor_unit")
        )
    return {
        "pending": [s for s in suggestions if s.state == SuggestionState.PENDING],
        "decided": [s for s in suggestions if s.state != SuggestionState.PENDING],
        "may_decide": actions.why_not(user, case) is None,
        "visible": visible,
        "repeat_of": case.repeat_of if case.repeat_of_id else None,
        "history": history,
        "repeats": list(case.repeats.order_by("registered_at")),
    }


def _back(request, case: Case):
    if Case.objects.visible_to(request.user).filter(pk=case.pk).exists():
        return redirect("case-detail", number=case.number)
    return redirect("workbench")


@login_required
@require_POST
def decide(request, number, suggestion_id, decision):
    if decision not in ("link", "dismiss"):
        raise Http404
    case = get_case_for(request.user, number)
    suggestion = get_object_or_404(DuplicateSuggestion, pk=suggestion_id, case=case)
    note = request.POST.get("note", "")
    try:
        if decision == "link":
            target = actions.link_suggestion(suggestion, actor=request.user, note=note)
            messages.success(
                request,
                f"已并入工单 {target.number}" if target.pk != case.pk else "已确认为重复诉求",
            )
            return _back(request, target)
        actions.dismiss_suggestion(suggestion, actor=request.user, note=note)
        messages.success(request, f"已确认与工单 {suggestion.candidate_case.number} 不是同一事项")
    except ActionError as exc:
        messages.error(request, exc.message)
    return redirect("case-detail", number=case.number)


@login_required
@require_POST
def split(request, number, appeal_id):
    case = get_case_for(request.user, number)
    appeal = get_object_or_404(Appeal, pk=appeal_id, case=case)
    try:
        new_case = actions.split_appeal(appeal, actor=request.user, reason=request.POST.get("reason", ""))
    except ActionError as exc:
        messages.error(request, exc.message)
        return redirect("case-detail", number=case.number)
    messages.success(request, f"已拆分为工单 {new_case.number}")
    return redirect("case-detail", number=case.number)
