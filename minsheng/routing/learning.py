"""Routing statistics (派单统计): what people's handling says about which unit answers for a category in
a township. Called by the case actions, inside their transaction:

- a completion: the unit that completed the case was right for its category × township;
- a return: the returning unit was wrong for it, and the unit it named (``suggested_unit``) right;
- a dispatcher's dispatch to another unit than triage's first suggestion: the unit the person chose.

The system accounts (智能分派 …) teach nothing: only people's decisions and handling count. Triage reads
the table through ``triage.Router`` (reloaded within a minute, at once in this process).
"""

from django.db.models import F

from minsheng.core import clock


def _observe(case, unit, *, support: int = 0, against: int = 0) -> bool:
    from minsheng.routing.models import RoutingObservation

    if unit is None or not case.category_id or not (support or against):
        return False
    row, _ = RoutingObservation.objects.get_or_create(
        category_id=case.category_id, township_code=case.township_code or "", unit=unit
    )
    RoutingObservation.objects.filter(pk=row.pk).update(
        support=F("support") + support, against=F("against") + against, updated_at=clock.now()
    )
    from minsheng.routing.triage import refresh_observations

    refresh_observations()
    return True


def _is_person(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and not actor.is_system


def learn_from_completion(case, *, actor) -> bool:
    """The responsible unit completed the case: it answers for the case's category in its township."""
    if not _is_person(actor):
        return False
    return _observe(case, case.responsible_unit, support=1)


def learn_from_return(case, unit, *, actor, suggested_unit=None) -> bool:
    """``unit`` returned the case (not its matter); ``suggested_unit``, when named, is the right one."""
    if not _is_person(actor):
        return False
    learned = _observe(case, unit, against=1)
    if suggested_unit is not None and (unit is None or suggested_unit.pk != unit.pk):
        learned = _observe(case, suggested_unit, support=1) or learned
    return learned


def learn_from_dispatch(case, unit, *, actor) -> bool:
    """A person sent the case elsewhere than triage's first suggestion: a correction of the routing."""
    if not _is_person(actor):
        return False
    suggestions = (case.triage or {}).get("suggestions") or []
    suggested = suggestions[0].get("unit_id") if suggestions else (case.triage or {}).get("unit_id")
    if not suggested or suggested == unit.pk:
        return False
    from minsheng.cases.choices import EventAction

    returned = case.events.filter(action=EventAction.RETURN).order_by("-at", "-pk").first()
    if returned is not None and returned.data.get("suggested_unit_id") == unit.pk:
        return False  # the return that named this unit has counted already
    return _observe(case, unit, support=1)


def refresh_suggestions(case) -> dict:
    """After a person set the category of a case waiting for dispatch: the unit suggestions for the new
    category (the categories the classifier proposed stay, for the record and the page)."""
    from minsheng.cases.models import Case
    from minsheng.routing.triage import triage

    appeal = case.appeals.order_by("pk").first()
    if appeal is None or not case.category_id:
        return case.triage or {}
    text = f"{appeal.title}\n{appeal.content}".strip()
    result = triage(text, appeal.address, category_code=case.category.code).as_dict()
    previous = case.triage or {}
    if previous.get("categories"):
        result["categories"] = previous["categories"]
    result["direct"] = False  # a person is deciding now
    Case.objects.filter(pk=case.pk).update(triage=result)
    case.triage = result
    return result
