"""Daily figures the workbench shows: how many cases were dispatched, how many straight to a front-line
unit (直派), how many by the platform itself with no human step, and how many came back (退单); how
many appeals arrived, how many joined a case already open (关联件: handled once) and how many raised
again a matter already answered (重复诉求)."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from minsheng.appeals.choices import LinkKind
from minsheng.appeals.models import Appeal
from minsheng.cases.choices import EventAction
from minsheng.cases.models import CaseEvent

SYSTEM_DISPATCHER = "triage"


def daily_dispatch(cases, *, days: int, today: dt.date) -> list[dict]:
    """One row per day (newest first) over the visible ``cases``: dispatches, direct ones, automatic
    ones, returns and the two rates. Two grouped queries, whatever the number of cases."""
    tz = ZoneInfo(settings.TIME_ZONE)
    start = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time.min, tzinfo=tz)
    events = CaseEvent.objects.filter(case__in=cases, at__gte=start).annotate(day=TruncDate("at", tzinfo=tz))
    dispatched = {
        row["day"]: row
        for row in events.filter(action=EventAction.DISPATCH)
        .values("day")
        .annotate(
            total=Count("pk"),
            direct=Count("pk", filter=Q(data__direct=True)),
            automatic=Count("pk", filter=Q(actor__username=SYSTEM_DISPATCHER)),
        )
    }
    returned = dict(
        events.filter(action=EventAction.RETURN).values("day").annotate(n=Count("pk")).values_list("day", "n")
    )
    arrived = {
        row["day"]: row
        for row in Appeal.objects.filter(case__in=cases, registered_at__gte=start)
        .annotate(day=TruncDate("registered_at", tzinfo=tz))
        .values("day")
        .annotate(
            total=Count("pk"),
            linked=Count("pk", filter=Q(link_kind=LinkKind.LINKED)),
            repeats=Count("pk", filter=Q(link_kind=LinkKind.REPEAT)),
        )
    }
    rows = []
    for offset in range(days):
        day = today - dt.timedelta(days=offset)
        row = dispatched.get(day, {})
        total, back = row.get("total", 0), returned.get(day, 0)
        appeals = arrived.get(day, {})
        rows.append(
            {
                "day": day,
                "dispatched": total,
                "direct": row.get("direct", 0),
                "automatic": row.get("automatic", 0),
                "returned": back,
                "direct_rate": row.get("direct", 0) / total if total else None,
                "return_rate": back / total if total else None,
                "appeals": appeals.get("total", 0),
                "linked": appeals.get("linked", 0),
                "repeats": appeals.get("repeats", 0),
            }
        )
    return rows
