"""The workbench queues (待派单, 待签收, 办理中, 即将超期, 已超期, 待回访, 已办结) and the filters."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from minsheng.accounts.models import Role
from minsheng.appeals.models import Appeal
from minsheng.cases.choices import CaseState
from minsheng.cases.models import Case
from minsheng.core import policy, workdays


@dataclass(frozen=True)
class Queue:
    key: str
    label: str


QUEUES = [
    Queue("to_dispatch", "待派单"),
    Queue("to_accept", "待签收"),
    Queue("in_progress", "办理中"),
    Queue("due_soon", "即将超期"),
    Queue("overdue", "已超期"),
    Queue("to_follow_up", "待回访"),
    Queue("investigating", "核查中"),
    Queue("closed", "已办结"),
    Queue("all", "全部"),
]
QUEUE_KEYS = {q.key for q in QUEUES}


def queue_conditions(now: dt.datetime) -> dict[str, Q]:
    soon = workdays.add_working_hours(now, policy.get("due_soon_hours"))
    accept_late = Q(state=CaseState.DISPATCHED, accept_due_at__lt=now)
    complete_late = Q(state=CaseState.IN_PROGRESS, complete_due_at__lt=now)
    return {
        "to_dispatch": Q(state__in=[CaseState.REGISTERED, CaseState.RETURNED]),
        "to_accept": Q(state=CaseState.DISPATCHED),
        "in_progress": Q(state=CaseState.IN_PROGRESS),
        "due_soon": Q(state=CaseState.DISPATCHED, accept_due_at__gte=now, accept_due_at__lte=soon)
        | Q(state=CaseState.IN_PROGRESS, complete_due_at__gte=now, complete_due_at__lte=soon),
        "overdue": accept_late | complete_late,
        "to_follow_up": Q(state=CaseState.COMPLETED),
        "investigating": Q(state=CaseState.INVESTIGATING),
        "closed": Q(state=CaseState.CLOSED),
        "all": Q(),
    }


def queues_for(user) -> list[Queue]:
    """The queues that fit the user's role: dispatching only for dispatchers, and so on."""
    shown = []
    for queue in QUEUES:
        if queue.key == "to_dispatch" and not (
            user.has_role(Role.DISPATCHER, Role.PLATFORM_ADMIN) or user.sees_everything
        ):
            continue
        if queue.key == "investigating" and not (
            user.has_role(Role.INSPECTOR, Role.PLATFORM_ADMIN) or user.sees_everything
        ):
            continue
        shown.append(queue)
    return shown


def default_queue(user) -> str:
    if user.has_role(Role.DISPATCHER):
        return "to_dispatch"
    if user.has_role(Role.FOLLOWUP_AGENT):
        return "to_follow_up"
    if user.has_role(Role.INSPECTOR):
        return "investigating"
    if user.sees_everything:
        return "all"
    return "to_accept"


def counts(queryset, queues: list[Queue], now: dt.datetime) -> dict[str, int]:
    """All queue counts in one aggregate query over the visible cases."""
    conditions = queue_conditions(now)
    aggregates = {q.key: Count("pk", filter=conditions[q.key]) for q in queues}
    return queryset.aggregate(**aggregates)


def apply_filters(queryset, data: dict):
    """Filters from the workbench form (already validated): channel, category, area, dates, state, search."""
    if data.get("channel"):
        queryset = queryset.filter(channel=data["channel"])
    if data.get("category"):
        category = data["category"]
        queryset = queryset.filter(Q(category=category) | Q(category__parent=category))
    if data.get("district"):
        queryset = queryset.filter(district_code=data["district"])
    if data.get("date_from"):
        start = timezone.make_aware(dt.datetime.combine(data["date_from"], dt.time.min))
        queryset = queryset.filter(registered_at__gte=start)
    if data.get("date_to"):
        end = timezone.make_aware(dt.datetime.combine(data["date_to"] + dt.timedelta(days=1), dt.time.min))
        queryset = queryset.filter(registered_at__lt=end)
    if data.get("state"):
        queryset = queryset.filter(state=data["state"])
    if data.get("unit"):
        queryset = queryset.filter(responsible_unit__path__startswith=data["unit"].path)
    text = (data.get("q") or "").strip()
    if text:
        digits = text.replace("-", "").replace(" ", "")
        if digits.isdigit() and len(digits) >= 7:
            # A long number is a phone number or a case number; both are exact, indexed look-ups. They stay
            # two look-ups joined by UNION: one OR across the case and appeal tables can use neither index,
            # and PostgreSQL then scans and hash-joins both tables (~300 ms at 200,000 cases).
            by_number = Case.objects.filter(number=digits).order_by().values("pk")
            by_phone = (
                Appeal.objects.filter(appellant_phone__in=sorted({digits, text}), case__isnull=False)
                .order_by()
                .values("case_id")
            )
            queryset = queryset.filter(pk__in=by_number.union(by_phone))
        else:
            matches = Case.objects.filter(
                Q(title__icontains=text) | Q(appeals__content__icontains=text) | Q(number=text)
            ).values("pk")
            queryset = queryset.filter(pk__in=matches)
    return queryset


def in_queue(queryset, key: str, now: dt.datetime):
    return queryset.filter(queue_conditions(now)[key])


def get_case_for(user, number: str) -> Case:
    """The case with ``number`` if the user may see it; 404 alike for missing and not yours."""
    from django.http import Http404

    case = (
        Case.objects.visible_to(user)
        .select_related("category", "category__parent", "responsible_unit", "handler")
        .filter(number=number)
        .first()
    )
    if case is None:
        raise Http404("工单不存在或无权查看")
    return case
