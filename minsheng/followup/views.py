"""The follow-up agents' pages: the queue (unclear replies, calls due) and one follow-up with its forms."""

import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from minsheng.appeals.choices import LinkKind
from minsheng.cases import rules
from minsheng.cases.choices import CaseState, FollowupAnswer
from minsheng.core.errors import ActionError
from minsheng.core.models import PiiAccess
from minsheng.followup import flow
from minsheng.followup.choices import NOT_REACHED, AnsweredVia, CallOutcome, FollowupState
from minsheng.followup.models import FollowupRequest
from minsheng.sms import policy

log = logging.getLogger(__name__)

TABS = [
    ("agent", "待人工回访", (FollowupState.AGENT,), "agent_since"),
    ("waiting", "等待短信回复", (FollowupState.WAITING,), "-created_at"),
    ("done", "已回访", (FollowupState.ANSWERED, FollowupState.UNREACHABLE), "-answered_at"),
]


class AnswerForm(forms.Form):
    answer = forms.ChoiceField(
        label="回访结果",
        choices=[(a.value, a.label) for a in FollowupAnswer if a != FollowupAnswer.UNREACHABLE],
    )
    via = forms.ChoiceField(
        label="方式",
        choices=[(AnsweredVia.PHONE, "电话回访"), (AnsweredVia.REVIEW, "人工判读短信回复")],
        initial=AnsweredVia.PHONE,
    )
    note = forms.CharField(
        label="说明", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class CallForm(forms.Form):
    outcome = forms.ChoiceField(label="通话结果", choices=[(o.value, o.label) for o in NOT_REACHED])
    note = forms.CharField(label="说明", required=False, max_length=500)


def _require_agent(user) -> None:
    # Follow-up agents are platform-office (level-1) staff, who see every case (``visible_to``): past
    # this role check there is nothing left to scope.
    if not rules.may_follow_up(user):
        raise PermissionDenied("只有平台回访员可以处理回访任务")


@login_required
def queue(request):
    _require_agent(request.user)
    key = request.GET.get("tab", "agent")
    tabs = {k: (label, states, order) for k, label, states, order in TABS}
    if key not in tabs:
        key = "agent"
    _label, states, order = tabs[key]
    base = FollowupRequest.objects.select_related(
        "case", "case__responsible_unit", "appeal", "service_record", "service_record__unit", "message"
    )
    counts = {k: FollowupRequest.objects.filter(state__in=s).count() for k, _, s, _ in TABS}
    page = Paginator(base.filter(state__in=states).order_by(order, "pk"), 50).get_page(
        request.GET.get("page")
    )
    context = {
        "tabs": [(k, lbl, counts[k]) for k, lbl, _, _ in TABS],
        "tab": key,
        "page": page,
        "reply_hours": policy.get("followup_reply_hours"),
        "call_attempts": policy.get("followup_call_attempts"),
        "simulator": settings.SMS_SIMULATOR,
    }
    return render(request, "followup/queue.html", context)


@login_required
def detail(request, pk):
    _require_agent(request.user)
    item = get_object_or_404(
        FollowupRequest.objects.select_related(
            "case", "case__responsible_unit", "appeal", "service_record", "message", "reply"
        ),
        pk=pk,
    )
    # The other appellants asked in the same round: their answers decide the case together with this one.
    round_others = (
        FollowupRequest.objects.filter(kind=item.kind, case=item.case, round=item.round)
        .exclude(pk=item.pk)
        .select_related("appeal")
        .order_by("pk")
        if item.case_id
        else []
    )
    context = {
        "item": item,
        "round_others": round_others,
        "calls": item.calls.select_related("agent"),
        "answer_form": AnswerForm(),
        "call_form": CallForm(),
        "call_attempts": policy.get("followup_call_attempts"),
        "events": item.case.events.select_related("actor", "actor_unit") if item.case_id else [],
    }
    return render(request, "followup/detail.html", context)


def _form_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        messages.error(request, f"{label}：{'；'.join(errors)}" if label else "；".join(errors))


@login_required
@require_POST
def answer(request, pk):
    _require_agent(request.user)
    item = get_object_or_404(FollowupRequest, pk=pk)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("followup-detail", pk=pk)
    try:
        flow.record_answer(
            item,
            actor=request.user,
            answer=form.cleaned_data["answer"],
            note=form.cleaned_data["note"],
            via=form.cleaned_data["via"],
        )
    except ActionError as error:
        messages.error(request, error.message)
        return redirect("followup-detail", pk=pk)
    messages.success(request, f"已登记回访结果：{FollowupAnswer(form.cleaned_data['answer']).label}")
    return redirect("followup-queue")


@login_required
@require_POST
def call(request, pk):
    _require_agent(request.user)
    item = get_object_or_404(FollowupRequest, pk=pk)
    form = CallForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("followup-detail", pk=pk)
    try:
        item = flow.record_call(
            item, actor=request.user, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"]
        )
    except ActionError as error:
        messages.error(request, error.message)
        return redirect("followup-detail", pk=pk)
    if item.state == FollowupState.UNREACHABLE:
        if item.case_id and item.case.state == CaseState.COMPLETED:
            # Another appellant of the case has still to be asked: the case waits for them.
            messages.warning(
                request, f"已{item.call_attempts}次未接通，该诉求人记为无法联系；工单待其他诉求人回访"
            )
        else:
            messages.warning(request, f"已{item.call_attempts}次未接通，按无法联系结案")
        return redirect("followup-queue")
    messages.success(
        request, f"已登记：{CallOutcome(form.cleaned_data['outcome']).label}（第{item.call_attempts}次）"
    )
    return redirect("followup-detail", pk=pk)


@login_required
@require_POST
def reveal(request, pk):
    """The full number for the agent who is about to call; each look is logged."""
    _require_agent(request.user)
    item = get_object_or_404(FollowupRequest.objects.select_related("case", "appeal"), pk=pk)
    if item.case_id:
        # The appeal this number was taken from (rows from before it was recorded: the master's).
        appeal = item.appeal or item.case.appeals.filter(link_kind=LinkKind.MASTER).order_by("pk").first()
        if appeal is not None:
            PiiAccess.objects.create(
                user=request.user,
                appeal=appeal,
                field="phone",
                via="followup",
                ip=request.META.get("REMOTE_ADDR"),
            )
    else:
        log.info("user %s viewed the phone of service follow-up %s", request.user.pk, item.pk)
    return HttpResponse(format_html('<span class="pii revealed" title="查看已记录">{}</span>', item.phone))
