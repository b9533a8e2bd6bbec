"""Triage applied to a newly registered case: dispatched straight away when sure, else suggestions."""

import logging

from django.db import transaction

from minsheng.accounts.models import Membership, Role, User
from minsheng.cases import actions
from minsheng.cases.choices import CaseState
from minsheng.cases.models import Case
from minsheng.categories.models import Category
from minsheng.routing.triage import router, triage
from minsheng.units.models import Unit, UnitType

log = logging.getLogger(__name__)
SYSTEM_USERNAME = "triage"


_system_user: User | None = None


def system_dispatcher() -> User:
    """The platform's own dispatcher account: direct dispatches are on the timeline under its name."""
    global _system_user
    if _system_user is not None and User.objects.filter(pk=_system_user.pk, is_active=True).exists():
        return _system_user
    user, created = User.objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"real_name": "智能分派", "is_system": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    office = Unit.objects.filter(type=UnitType.PLATFORM_OFFICE).first()
    if office and not Membership.objects.filter(user=user, role=Role.DISPATCHER).exists():
        Membership.objects.create(user=user, unit=office, role=Role.DISPATCHER)
        user = User.objects.get(pk=user.pk)  # fresh cached roles
    _system_user = user
    return user


def triage_appeal(title: str, content: str, address: str, category=None, phone: str = ""):
    """Triage an appeal's words and the records the platform holds on its appellant (no write)."""
    text = f"{title}\n{content}".strip()
    return triage(text, address, category_code=category.code if category else "", phone=phone)


def predicted_category(result) -> Category | None:
    """The category triage would file the appeal under, when it is sure enough to say so."""
    if not result.category or result.category_confidence < 0.5:
        return None
    return router().categories.get(result.category)


def apply_triage(case: Case, result=None) -> Case:
    """Triage the case's first appeal (or use ``result``, computed from its words beforehand);
    dispatch it when direct; store the suggestions either way."""
    if case.state != CaseState.REGISTERED:
        return case
    if result is None:
        appeal = case.appeals.order_by("pk").first()
        if appeal is None:
            return case
        result = triage_appeal(
            appeal.title, appeal.content, appeal.address, case.category, phone=appeal.appellant_phone
        )
    updates, unit, note = triage_effects(case, result)
    Case.objects.filter(pk=case.pk).update(**updates)
    for name, value in updates.items():
        setattr(case, name, value)
    if unit is not None:
        with transaction.atomic():
            actions.dispatch_case(case, unit, actor=system_dispatcher(), note=note)
    return case


def triage_effects(case: Case, result, live_units: set[int] | None = None) -> tuple[dict, Unit | None, str]:
    """What triage changes on a case waiting for dispatch: the fields to set (its record, and the
    category and place when the case has none), the unit to send it to straight away (None: the
    dispatchers decide) and the note of that dispatch. Writes nothing.

    The router's units may be up to a minute old in this process: a unit switched off since gets no
    case; the dispatchers decide instead. ``live_units``: the active ones among a batch's, read once
    (``live_unit_ids``); without it the unit is looked up."""
    updates = {"triage": result.as_dict()}
    if not case.category_id and result.category:
        category = router().categories.get(result.category)
        if category and (result.direct or result.category_confidence >= 0.5):
            updates["category"] = category
    if not case.township_code and result.township:
        updates.update(
            district_code=result.district, township_code=result.township, community_code=result.community
        )
    unit = router().by_id.get(result.unit_id) if result.direct and result.unit_id else None
    if live_units is None:
        live_units = live_unit_ids([result])
    if unit is not None and unit.pk not in live_units:
        unit = None
    return updates, unit, "智能直派：" + "；".join(result.reasons[:3])


def live_unit_ids(results) -> set[int]:
    """The units that triage ``results`` would dispatch to straight away and that are active now."""
    wanted = {r.unit_id for r in results if r.direct and r.unit_id}
    if not wanted:
        return set()
    return set(Unit.objects.filter(pk__in=wanted, active=True).values_list("pk", flat=True))


def learn_places(case: Case, unit: Unit, *, weight: int) -> int:
    """What a front-line unit's handling says about place names: a station that completed the case
    confirms that the names in its appeals' addresses lie in its township (weight 1); a station that
    returned it says they do not (weight -1). A traffic brigade or a branch answers the same way for
    its district (a landmark, a road, a crossing). Only a unit with one such jurisdiction counts."""
    from minsheng.routing import places

    if unit is None:
        return 0
    if unit.type == UnitType.POLICE_STATION:
        size = 9
    elif unit.type in (UnitType.TRAFFIC_BRIGADE, UnitType.BRANCH_BUREAU):
        size = 6
    else:
        return 0
    divisions = [d.code for d in unit.jurisdictions.all() if len(d.code) == size]
    if len(divisions) != 1:
        return 0
    learned = 0
    for address in case.appeals.exclude(address="").values_list("address", flat=True):
        learned += places.learn(address, divisions[0], weight=weight)
    return learned
