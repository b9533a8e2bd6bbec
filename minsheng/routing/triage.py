"""Triage: what an appeal is about (category), where (jurisdiction), and which unit should act.

When the category and the place are both sure enough, the case is dispatched at once to the unit that
can act (直派), with no human step; otherwise it waits in the dispatcher's queue with the top three
suggested units and categories. ``minsheng route`` runs exactly this over a CSV.
"""

import time
from dataclasses import asdict, dataclass, field

from minsheng.categories.models import Category
from minsheng.routing import places
from minsheng.routing.models import RoutingRule
from minsheng.units.models import Unit, UnitFunction, UnitType

# Categories handled by one city-level unit whatever the place (出入境, 车驾管, 督察).
PLACE_FREE = {UnitFunction.EXIT_ENTRY, UnitFunction.VEHICLE_ADMIN, UnitFunction.INSPECTION}
CATEGORY_THRESHOLD = 0.55
LOCATION_THRESHOLD = 0.85


@dataclass
class Suggestion:
    unit_id: int
    unit: str
    category: str
    score: float


@dataclass
class Triage:
    category: str = ""
    category_confidence: float = 0.0
    district: str = ""
    township: str = ""
    community: str = ""
    location_confidence: float = 0.0
    unit_id: int | None = None
    unit: str = ""
    direct: bool = False
    reasons: list[str] = field(default_factory=list)
    categories: list[tuple[str, float]] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


class Router:
    """Units by jurisdiction and function, loaded once; rules re-read on every call (few, admin-edited)."""

    def __init__(self):
        units = list(Unit.objects.filter(active=True).select_related("parent"))
        self.by_id = {u.pk: u for u in units}
        self.station_of_township: dict[str, Unit] = {}
        for unit in Unit.objects.filter(active=True, type=UnitType.POLICE_STATION).prefetch_related(
            "jurisdictions"
        ):
            for division in unit.jurisdictions.all():
                self.station_of_township.setdefault(division.code, unit)
        self.branch_of_district = {
            u.district_code: u for u in units if u.type == UnitType.BRANCH_BUREAU and u.district_code
        }
        self.brigade_of_district = {
            u.district_code: u for u in units if u.type == UnitType.TRAFFIC_BRIGADE and u.district_code
        }
        self.by_function: dict[str, Unit] = {}
        for unit in sorted(units, key=lambda u: u.level):
            self.by_function.setdefault(unit.function, unit)
        self.categories = {c.code: c for c in Category.objects.filter(active=True).select_related("parent")}
        self.rules = list(RoutingRule.objects.filter(active=True).select_related("unit"))
        self.loaded = time.monotonic()

    def rule_unit(self, category: Category, location: places.Location) -> Unit | None:
        codes = [c for c in (location.community, location.township, location.district) if c]
        family = [category.pk] + ([category.parent_id] if category.parent_id else [])
        best = None
        for rule in self.rules:
            if rule.category_id and rule.category_id not in family:
                continue
            if rule.division_id and rule.division_id not in codes:
                continue
            specificity = (
                rule.category_id == category.pk,
                bool(rule.category_id),
                len(rule.division_id or ""),
                rule.priority,
            )
            if best is None or specificity > best[0]:
                best = (specificity, rule.unit)
        return best[1] if best else None

    def unit_for(self, category: Category, location: places.Location) -> tuple[Unit | None, bool]:
        """(unit, exact): ``exact`` when the unit is the front-line one, not a fallback to a branch."""
        ruled = self.rule_unit(category, location)
        if ruled is not None:
            return ruled, True
        function = category.handler_function
        if function in PLACE_FREE:
            return self.by_function.get(function), True
        if function == UnitFunction.TRAFFIC:
            brigade = self.brigade_of_district.get(location.district)
            return (brigade, True) if brigade else (None, False)
        station = self.station_of_township.get(location.township)
        if station:
            return station, True
        return self.branch_of_district.get(location.district), False


_router: Router | None = None
# Units, categories and rules change rarely and are read on every appeal: each process keeps them, an
# edit in this process resets them at once (signals, see apps.py), other processes within the TTL.
ROUTER_TTL_S = 60


def router() -> Router:
    global _router
    if _router is None or time.monotonic() - _router.loaded > ROUTER_TTL_S:
        _router = Router()
    return _router


def reset(**kwargs) -> None:
    """Forget cached units, categories and rules (after the organisation changes, and in tests)."""
    global _router
    _router = None


def triage(text: str, address: str = "", *, category_code: str = "", categoriser=None) -> Triage:
    """Decide category, place and unit for one appeal. ``category_code`` given (staff chose it) wins."""
    from minsheng.routing.categoriser import categoriser as default_categoriser

    route = router()
    result = Triage()
    if category_code and category_code in route.categories:
        ranked = [(category_code, 1.0)]
        result.reasons.append("类别由受理人员选定")
    else:
        ranked = (categoriser or default_categoriser()).rank(text)
    result.categories = ranked[:3]
    if ranked:
        result.category, result.category_confidence = ranked[0]
    location = places.locate(address, text)
    result.district, result.township, result.community = (
        location.district,
        location.township,
        location.community,
    )
    result.location_confidence = location.confidence
    result.reasons.extend(location.reasons)
    seen = set()
    for code, score in ranked[:3]:
        category = route.categories.get(code)
        if category is None:
            continue
        unit, exact = route.unit_for(category, location)
        if unit is None or unit.pk in seen:
            continue
        seen.add(unit.pk)
        result.suggestions.append(
            Suggestion(unit.pk, unit.name, code, round(score * (1 if exact else 0.5), 3))
        )
    category = route.categories.get(result.category)
    if category is not None:
        unit, exact = route.unit_for(category, location)
        if unit is not None:
            result.unit_id, result.unit = unit.pk, unit.name
            needs_place = category.handler_function not in PLACE_FREE
            sure_of_place = not needs_place or location.confidence >= LOCATION_THRESHOLD
            result.direct = exact and sure_of_place and result.category_confidence >= CATEGORY_THRESHOLD
            if not result.direct:
                result.reasons.append("类别或地点把握不足，转人工派单")
    return result
