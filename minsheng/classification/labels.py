"""Training labels from the platform's own records: the categories people set, corrected or confirmed.

A case gives one label, (its first appeal's title and content, its category code), when a person stood
behind its category:

- **corrected**: a ``categorise`` event (更正类别) by a person;
- **registered**: staff registered it with a category they chose (the entry form, the API, a batch
  file's category column) — not one the classifier predicted at intake;
- **completed**: the handling unit completed it (办结) under that category, which confirms it.

System accounts (智能分派, partner systems, 短信自动回访) confirm nothing. When a system account changed
the category after the last person's word, the case gives no label. ``at`` is the time of that last
word: the retrain compares it with the model's ``labels_until`` to know which labels are new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Q

# Marker written by triage when the category was given rather than predicted (older triage records
# carry only the reason text).
GIVEN_REASON = "类别由受理人员选定"
CHUNK = 1000


@dataclass(frozen=True)
class Label:
    text: str
    category: str
    case_id: int
    at: dt.datetime
    source: str  # corrected | registered | completed


def _given_at_registration(triage: dict | None) -> bool:
    if not triage:
        return True  # never triaged: registered with a category and dispatched by hand, or answered at once
    if "category_given" in triage:
        return bool(triage["category_given"])
    return GIVEN_REASON in (triage.get("reasons") or [])


def _person_events(since: dt.datetime | None = None):
    from minsheng.cases.choices import EventAction
    from minsheng.cases.models import CaseEvent

    events = CaseEvent.objects.filter(
        Q(action__in=[EventAction.CATEGORISE, EventAction.COMPLETE])
        | Q(action__in=[EventAction.REGISTER, EventAction.INSTANT_COMPLETE], case__category__isnull=False),
        actor__isnull=False,
        actor__is_system=False,
    )
    if since is not None:
        events = events.filter(at__gt=since)
    return events


def count_new(since: dt.datetime | None) -> int:
    """About how many cases gained a label after ``since`` (all labels when ``since`` is None).

    One query, meant to decide cheaply whether a retrain is worth it: it counts cases with a person's
    qualifying event, before the finer checks of :func:`collect`.
    """
    return _person_events(since).values("case_id").distinct().count()


def collect(*, active_only: bool = True) -> Iterator[Label]:
    """Every label the database holds now (see the module docstring), in case order."""
    from minsheng.appeals.models import Appeal
    from minsheng.cases.choices import EventAction
    from minsheng.cases.models import Case, CaseEvent

    # case id → (time of the last person's word, source)
    human: dict[int, tuple[dt.datetime, str]] = {}

    def note(case_id: int, at: dt.datetime, source: str) -> None:
        if case_id not in human or at >= human[case_id][0]:
            human[case_id] = (at, source)

    registered: dict[int, dt.datetime] = {}
    rows = _person_events().values_list("case_id", "action", "at")
    for case_id, action, at in rows.iterator(chunk_size=5000):
        if action == EventAction.CATEGORISE:
            note(case_id, at, "corrected")
        elif action == EventAction.COMPLETE:
            note(case_id, at, "completed")
        else:
            registered[case_id] = at
    # A category given at registration counts only when the registering person chose it; intake may
    # register with the classifier's own prediction (recorded in the case's triage).
    if registered:
        ids = list(registered)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            first: dict[int, int | None] = {}
            appeals = Appeal.objects.filter(case_id__in=chunk).order_by("case_id", "pk")
            for case_id, appeal_category in appeals.values_list("case_id", "category_id"):
                first.setdefault(case_id, appeal_category)
            given = Case.objects.filter(pk__in=chunk).values_list("pk", "triage", "category_id")
            for case_id, triage, category_id in given:
                if first.get(case_id) == category_id and _given_at_registration(triage):
                    note(case_id, registered[case_id], "registered")
    # A system account's later change of category is not a person's word.
    overridden = CaseEvent.objects.filter(
        action=EventAction.CATEGORISE, actor__is_system=True, case_id__in=list(human)
    ).values_list("case_id", "at")
    for case_id, at in overridden.iterator(chunk_size=5000):
        if case_id in human and at > human[case_id][0]:
            del human[case_id]

    ids = sorted(human)
    cases = Case.objects.filter(category__isnull=False)
    if active_only:
        cases = cases.filter(category__active=True)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        codes = dict(cases.filter(pk__in=chunk).values_list("pk", "category__code"))
        texts: dict[int, str] = {}
        appeals = Appeal.objects.filter(case_id__in=list(codes)).order_by("case_id", "pk")
        for case_id, title, content in appeals.values_list("case_id", "title", "content"):
            # The first appeal is the one triage read; linked appeals came later, in other words.
            texts.setdefault(case_id, f"{title}\n{content}".strip())
        for case_id in chunk:
            text = texts.get(case_id, "")
            if case_id in codes and text:
                at, source = human[case_id]
                yield Label(text=text, category=codes[case_id], case_id=case_id, at=at, source=source)
