"""Workbench pages. Views are thin: they parse input, call ``cases.actions`` and render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST

from minsheng.accounts.models import PII_ROLES
from minsheng.appeals.models import AppealAttachment
from minsheng.cases import actions, rules
from minsheng.cases.forms import ACTION_FORMS, AssignForm, FilterForm, ManualEntryForm
from minsheng.cases.models import Case
from minsheng.cases.queues import (
    QUEUE_KEYS,
    apply_filters,
    counts,
    default_queue,
    get_case_for,
    in_queue,
    queues_for,
)
from minsheng.core import workdays
from minsheng.core.errors import ActionError
from minsheng.core.models import PiiAccess
from minsheng.dedup import actions as dedup_actions
from minsheng.dedup import views as dedup_views
from minsheng.dedup.service import LINK

PAGE_SIZE = 25


@login_required
def workbench(request):
    """The queues with counts, the filters and one page of cases."""
    user = request.user
    queues = queues_for(user)
    key = request.GET.get("queue") or default_queue(user)
    if key not in QUEUE_KEYS or key not in {q.key for q in queues}:
        key = default_queue(user)
    form = FilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    now = timezone.now()
    visible = apply_filters(Case.objects.visible_to(user), filters)
    queue_counts = counts(visible, queues, now)
    cases = (
        in_queue(visible, key, now)
        .select_related("category", "category__parent", "responsible_unit")
        .order_by("-registered_at", "-pk")
    )
    paginator = Paginator(cases, PAGE_SIZE)
    # The queue count was just computed with the others in one query; don't count the queue twice.
    paginator.__dict__["count"] = queue_counts[key]
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("queue", None)
    context = {
        "queues": [(q, queue_counts[q.key]) for q in queues],
        "queue": key,
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "now": now,
    }
    partial = request.htmx and request.htmx.target == "queue"
    if not partial:
        from minsheng.cases.stats import daily_dispatch

        context["daily"] = daily_dispatch(
            Case.objects.visible_to(user), days=7, today=timezone.localdate(now)
        )
    template = "cases/partials/queue.html" if partial else "cases/workbench.html"
    return render(request, template, context)


EXPORT_LIMIT = 50_000


@login_required
def export(request):
    """The current queue and filters as a CSV file (Excel-friendly), under the same visibility."""
    import csv

    from django.http import StreamingHttpResponse

    user = request.user
    queues = {q.key for q in queues_for(user)}
    key = request.GET.get("queue") or default_queue(user)
    if key not in queues:
        key = default_queue(user)
    form = FilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    now = timezone.now()
    cases = (
        in_queue(apply_filters(Case.objects.visible_to(user), filters), key, now)
        .select_related("category", "category__parent", "responsible_unit")
        .order_by("-registered_at", "-pk")[:EXPORT_LIMIT]
    )

    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())

    def rows():
        yield "\ufeff"  # a BOM, so Excel reads the Chinese as UTF-8
        yield writer.writerow(
            ["工单编号", "标题", "类别", "渠道", "受理时间", "承办单位", "状态", "办结时限", "直派"]
        )
        for case in cases.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    case.number,
                    case.title,
                    str(case.category or ""),
                    case.channel_label,
                    timezone.localtime(case.registered_at).strftime("%Y-%m-%d %H:%M"),
                    case.responsible_unit.name if case.responsible_unit_id else "",
                    case.get_state_display(),
                    timezone.localtime(case.complete_due_at).strftime("%Y-%m-%d %H:%M")
                    if case.complete_due_at
                    else "",
                    "是" if case.direct else "否",
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cases-{key}-{now:%Y%m%d%H%M}.csv"'
    return response


def _deadline_info(case: Case, now):
    due = case.active_due_at
    if not due:
        return None
    hours = workdays.working_hours_between(now, due)
    label = "签收时限" if case.state == "dispatched" else "办结时限"
    return {"label": label, "due": due, "hours_left": hours, "overdue": hours < 0}


def _suggestions(case: Case) -> list[dict]:
    from minsheng.categories.models import Category

    suggestions = list((case.triage or {}).get("suggestions") or [])[:3]
    names = dict(
        Category.objects.filter(code__in=[s["category"] for s in suggestions]).values_list("code", "name")
    )
    return [{**s, "category_name": names.get(s["category"], "")} for s in suggestions]


def _category_picks(case: Case) -> list[dict]:
    """The classifier's top three categories, for a one-click correction (the current one left out)."""
    from minsheng.categories.models import Category

    ranked = [(code, score) for code, score in (case.triage or {}).get("categories") or []][:3]
    codes = [code for code, _ in ranked]
    found = Category.objects.filter(code__in=codes, active=True).select_related("parent")
    by_code = {c.code: c for c in found}
    return [
        {"pk": by_code[code].pk, "code": code, "name": str(by_code[code]), "score": score}
        for code, score in ranked
        if code in by_code and by_code[code].pk != case.category_id
    ]


@login_required
def case_detail(request, number):
    case = get_case_for(request.user, number)
    user = request.user
    now = timezone.now()
    allowed = rules.available_actions(user, case)
    forms = {}
    for action in allowed:
        form_class = ACTION_FORMS[action]
        if form_class is AssignForm:
            forms[action] = AssignForm(case=case)
        elif form_class is not None:
            forms[action] = form_class()
        else:
            forms[action] = None
    context = {
        "case": case,
        "appeals": case.appeals.select_related("district", "township", "community").prefetch_related(
            "attachments"
        ),
        "events": case.events.select_related("actor", "actor_unit"),
        "extensions": case.extensions.select_related("requested_by", "decided_by"),
        "deadline": _deadline_info(case, now),
        "actions": [(a, rules.ACTION_LABELS[a], forms[a]) for a in allowed],
        "may_reveal": bool(user.roles & PII_ROLES),
        "investigation": getattr(case, "investigation", None) if case.state == "closed" else None,
        "suggestions": _suggestions(case) if "dispatch" in allowed else [],
        "category_picks": _category_picks(case) if "categorise" in allowed else [],
        "duplicates": dedup_views.panel(case, user),
    }
    return render(request, "cases/case_detail.html", context)


@login_required
@require_POST
def case_action(request, number, action):
    """Carry out one action from the case page; errors come back as messages (or the form, re-shown)."""
    case = get_case_for(request.user, number)
    if action not in ACTION_FORMS:
        raise Http404
    form_class = ACTION_FORMS[action]
    data = {}
    if form_class is not None:
        form = form_class(request.POST, case=case) if form_class is AssignForm else form_class(request.POST)
        if not form.is_valid():
            for field, errors in form.errors.items():
                label = form.fields[field].label if field in form.fields else ""
                messages.error(request, f"{label}：{'；'.join(errors)}" if label else "；".join(errors))
            return redirect("case-detail", number=case.number)
        data = form.cleaned_data
    actor = request.user
    try:
        if action == "dispatch":
            actions.dispatch_case(case, data["unit"], actor=actor, note=data.get("note", ""))
        elif action == "accept":
            actions.accept_case(case, actor=actor)
        elif action == "return":
            actions.return_case(
                case, actor=actor, reason=data["reason"], suggested_unit=data.get("suggested_unit")
            )
        elif action == "assign":
            actions.assign_handler(case, data["handler"], actor=actor)
        elif action == "note":
            actions.add_note(case, actor=actor, note=data["note"])
        elif action == "request_extension":
            actions.request_extension(case, actor=actor, days=data["days"], reason=data["reason"])
        elif action == "decide_extension":
            actions.decide_extension(
                case, actor=actor, approve=data["decision"] == "approve", note=data["note"]
            )
        elif action == "complete":
            actions.complete_case(case, actor=actor, result=data["result"], reply=data["reply"])
        elif action == "followup":
            actions.record_followup(case, actor=actor, answer=data["answer"], note=data["note"])
        elif action == "close":
            actions.close_case(case, actor=actor, note=data["note"])
        elif action == "investigate":
            actions.record_investigation(
                case,
                actor=actor,
                findings=data["findings"],
                conclusion=data["conclusion"],
                internal_fault=data["internal_fault"],
                fault_detail=data["fault_detail"],
            )
        elif action == "categorise":
            actions.set_category(case, data["category"], actor=actor, note=data.get("note", ""))
    except ActionError as exc:
        messages.error(request, exc.message)
        return redirect("case-detail", number=case.number)
    messages.success(request, f"已{rules.ACTION_LABELS[action]}")
    if not Case.objects.visible_to(request.user).filter(pk=case.pk).exists():
        # After a return the case leaves this unit's scope: go back to the queue, not to a 404.
        return redirect("workbench")
    return redirect("case-detail", number=case.number)


@login_required
@require_http_methods(["GET", "POST"])
def case_new(request):
    """Manual entry of phone calls, letters and visits."""
    if not rules.is_dispatcher(request.user):
        raise PermissionDenied("只有派单员可以登记诉求")
    form = ManualEntryForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        township = data.get("township")
        try:
            # Compared with every stored appeal like any channel's (an answer given at once is its own case).
            appeal, comparison = dedup_actions.register(
                compare=not data.get("instant_reply"),
                actor=request.user,
                channel=data["channel"],
                received_at=data["received_at"],
                appellant_name=data["appellant_name"],
                appellant_phone=data["appellant_phone"],
                appellant_id_number=data["appellant_id_number"],
                title=data["title"],
                content=data["content"],
                address=data["address"],
                category=data.get("category"),
                township=township,
                district=township.parent if township else None,
                instant_reply=data.get("instant_reply", ""),
            )
            upload = data.get("attachment")
            if upload:
                AppealAttachment.objects.create(
                    appeal=appeal,
                    file=upload,
                    name=upload.name[:255],
                    content_type=getattr(upload, "content_type", "")[:100],
                    size=upload.size,
                )
            if comparison.decision == LINK:
                pass  # joined a case already being handled: no dispatch of its own
            elif data.get("dispatch_to"):
                actions.dispatch_case(appeal.case, data["dispatch_to"], actor=request.user)
            elif not data.get("instant_reply"):
                from minsheng.routing.hooks import apply_triage

                apply_triage(appeal.case)
        except ActionError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if comparison.decision == LINK:
                messages.info(request, f"与工单 {appeal.case.number} 为同一事项，已作为关联件并入该工单")
            else:
                messages.success(request, f"已受理，工单编号 {appeal.case.number}")
            return redirect("case-detail", number=appeal.case.number)
    return render(request, "cases/case_new.html", {"form": form})


@login_required
@require_POST
def reveal(request, number, appeal_id, field):
    """Show one full phone or ID number to someone whose work needs it, and log that they saw it."""
    case = get_case_for(request.user, number)
    if not (request.user.roles & PII_ROLES):
        raise PermissionDenied("无权查看完整号码")
    appeal = case.appeals.filter(pk=appeal_id).first()
    if appeal is None or field not in ("phone", "id_number"):
        raise Http404
    value = appeal.appellant_phone if field == "phone" else appeal.appellant_id_number
    PiiAccess.objects.create(
        user=request.user, appeal=appeal, field=field, via="web", ip=request.META.get("REMOTE_ADDR")
    )
    return HttpResponse(format_html('<span class="pii revealed" title="查看已记录">{}</span>', value))
