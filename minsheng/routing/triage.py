"""Triage: what an appeal is about (category), where (jurisdiction), and which unit should act.

When the category and the place are both sure enough, the case is dispatched at once to the unit that
can act (直派), with no human step; otherwise it waits in the dispatcher's queue with the top three
suggested units and categories. ``minsheng route`` runs exactly this over a CSV.
"""

import time
from collections import defaultdict
from dataclasses import dataclass, field, fields

from minsheng.categories.models import Category
from minsheng.routing import places
from minsheng.routing.models import RoutingObservation, RoutingRule
from minsheng.units.models import Unit, UnitFunction, UnitType

# Categories handled by one city-level unit whatever the place (出入境, 车驾管, 督察).
PLACE_FREE = {UnitFunction.EXIT_ENTRY, UnitFunction.VEHICLE_ADMIN, UnitFunction.INSPECTION}
# Units whose jurisdiction is a whole district (the others answer for a township or the city).
DISTRICT_WIDE = {UnitType.TRAFFIC_BRIGADE, UnitType.BRANCH_BUREAU}
CATEGORY_THRESHOLD = 0.55
# Calibrated on development seeds of the routing bench (``bench/routing.py``, never its own seed): the
# lowest candidate whose direct dispatches stayed >= 99 % right there. It must stay above
# ``places.DISTRICT_ONLY`` (0.5: only the district known is not sure of the township).
LOCATION_THRESHOLD = 0.55
# Routing statistics (``RoutingObservation``) choose a unit on their own only with this much evidence:
# at least LEARNED_MIN_SUPPORT handled or named cases, this share of all the positive evidence in the
# cell, and few returns. A direct dispatch must be right (≥ 98 %): one observation only suggests.
LEARNED_MIN_SUPPORT = 3
LEARNED_MIN_SHARE = 0.8
OBSERVATIONS_TTL_S = 60


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
    # The category was given (staff, or the partner's category hint), not predicted.
    category_given: bool = False

    def as_dict(self) -> dict:
        # What the case stores (JSON). Built by hand: ``dataclasses.asdict`` deep-copies every value
        # and took a tenth of a millisecond per appeal in the intake worker.
        data = {name: getattr(self, name) for name in _SCALARS}
        data["reasons"] = list(self.reasons)
        data["categories"] = [tuple(c) for c in self.categories]
        data["suggestions"] = [vars(s).copy() for s in self.suggestions]
        return data


_SCALARS = tuple(f.name for f in fields(Triage) if f.name not in ("reasons", "categories", "suggestions"))


class Router:
    """Units by jurisdiction and function, loaded once; rules re-read on every call (few, admin-edited)."""

    def __init__(self):
        units = list(Unit.objects.filter(active=True).select_related("parent"))
        self.by_id = {u.pk: u for u in units}
        self.station_of_township: dict[str, Unit] = {}
        self.townships_of_station: dict[int, list[str]] = {}
        for unit in Unit.objects.filter(active=True, type=UnitType.POLICE_STATION).prefetch_related(
            "jurisdictions"
        ):
            for division in unit.jurisdictions.all():
                self.station_of_township.setdefault(division.code, unit)
                self.townships_of_station.setdefault(unit.pk, []).append(division.code)
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
        # (category code, township code) → {unit id: (support, against)}; read lazily, see evidence().
        self._observations: dict[tuple[str, str], dict[int, tuple[int, int]]] | None = None
        self._observations_loaded = 0.0

    def _load_observations(self) -> dict[tuple[str, str], dict[int, tuple[int, int]]]:
        if (
            self._observations is not None
            and time.monotonic() - self._observations_loaded < OBSERVATIONS_TTL_S
        ):
            return self._observations
        cells: dict[tuple[str, str], dict[int, tuple[int, int]]] = defaultdict(dict)
        citywide: dict[tuple[str, str], dict[int, tuple[int, int]]] = defaultdict(dict)
        rows = RoutingObservation.objects.filter(unit__active=True).values_list(
            "category__code", "township_code", "unit_id", "support", "against"
        )
        for code, township, unit_id, support, against in rows:
            if township:
                cells[(code, township)][unit_id] = (support, against)
            # Categories handled city-wide (出入境 …) pool every township's evidence under "".
            s0, a0 = citywide[(code, "")].get(unit_id, (0, 0))
            citywide[(code, "")][unit_id] = (s0 + support, a0 + against)
        cells.update(citywide)
        self._observations = dict(cells)
        self._observations_loaded = time.monotonic()
        return self._observations

    def refresh_observations(self) -> None:
        self._observations_loaded = 0.0

    def evidence(self, category: Category, location: places.Location) -> dict[int, tuple[int, int]]:
        """{unit id: (support, against)} for this category where the appeal is: per township for
        place-bound categories (nothing without a township), city-wide for the others."""
        table = self._load_observations()
        if category.handler_function in PLACE_FREE:
            return table.get((category.code, ""), {})
        if not location.township:
            return {}
        return table.get((category.code, location.township), {})

    def learned_candidates(
        self, category: Category, location: places.Location
    ) -> list[tuple[Unit, int, int]]:
        """Units with more handling evidence for than against, the strongest first."""
        cell = self.evidence(category, location)
        out = [
            (self.by_id[uid], support, against)
            for uid, (support, against) in cell.items()
            if uid in self.by_id and support > against
        ]
        return sorted(out, key=lambda item: (item[1] - item[2], item[1]), reverse=True)

    def learned_unit(self, category: Category, location: places.Location) -> Unit | None:
        """The unit the statistics name on their own: strong, dominant and rarely returned."""
        candidates = self.learned_candidates(category, location)
        if not candidates:
            return None
        unit, support, against = candidates[0]
        total = sum(s for s, _a in self.evidence(category, location).values())
        if support >= LEARNED_MIN_SUPPORT and support >= 4 * against and support >= LEARNED_MIN_SHARE * total:
            return unit
        return None

    def contradicted(self, category: Category, location: places.Location, unit: Unit) -> bool:
        """The unit returned such cases here more often than it handled them."""
        support, against = self.evidence(category, location).get(unit.pk, (0, 0))
        return against > support

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
        """(unit, exact): ``exact`` when the unit is the front-line one, not a fallback to a branch.

        An admin rule always wins. Otherwise the default (the category's kind of unit for the place)
        stands unless handling contradicts it: the routing statistics name another unit strongly
        (``learned_unit``) where the default is only a fallback or returned such cases more often than
        it handled them; a contradicted default with no strong alternative is kept but not exact, so
        a person decides.
        """
        ruled = self.rule_unit(category, location)
        if ruled is not None:
            return ruled, True
        unit, exact = self.default_unit(category, location)
        learned = self.learned_unit(category, location)
        contradicted = unit is not None and self.contradicted(category, location, unit)
        if learned is not None and (unit is None or learned.pk != unit.pk) and (not exact or contradicted):
            return learned, True
        if contradicted:
            return unit, False
        return unit, exact

    def default_unit(self, category: Category, location: places.Location) -> tuple[Unit | None, bool]:
        """The category's kind of unit for the place, before any rule or statistics."""
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


def refresh_observations(**kwargs) -> None:
    """Routing statistics changed in this process: read them again on the next triage."""
    if _router is not None:
        _router.refresh_observations()


# How sure a household or residence registration makes the person's station: the platform's own record.
HOUSEHOLD_CONFIDENCE = 0.9


def household_location(phone: str, location: places.Location) -> places.Location | None:
    """Where the person is registered, when the platform holds a household-window record (户籍、居住证)
    for this phone at a police station that answers for one township; None otherwise. The missing
    daughter's appeal goes to the station that holds her registration, even without an address."""
    if not phone:
        return None
    from minsheng.servicerecords.models import ServiceKind, ServiceRecord

    record = (
        ServiceRecord.objects.filter(
            citizen_phone=phone, kind=ServiceKind.HOUSEHOLD, unit__type=UnitType.POLICE_STATION
        )
        .select_related("unit")
        .order_by("-started_at")
        .first()
    )
    if record is None:
        return None
    townships = [code for code in router().townships_of_station.get(record.unit_id, ()) if len(code) == 9]
    if len(townships) != 1 or (location.township and location.township != townships[0]):
        return None  # a station of several townships, or the appeal names another place: not ours to say
    return places.Location(
        district=townships[0][:6],
        township=townships[0],
        community=location.community if location.township == townships[0] else "",
        confidence=HOUSEHOLD_CONFIDENCE,
        district_confidence=HOUSEHOLD_CONFIDENCE,
        reasons=[
            *location.reasons,
            f"诉求人在{record.unit.name}办理过户政业务（{record.service_type or '户籍'}）",
        ],
    )


def triage(
    text: str, address: str = "", *, category_code: str = "", categoriser=None, phone: str = ""
) -> Triage:
    """Decide category, place and unit for one appeal. ``category_code`` given (staff chose it) wins.
    ``phone`` (the appellant's) lets the platform's household records place an appeal that names no
    sure place."""
    from minsheng.routing.categoriser import categoriser as default_categoriser

    route = router()
    result = Triage()
    if category_code and category_code in route.categories:
        ranked = [(category_code, 1.0)]
        result.category_given = True
        result.reasons.append("类别由受理人员选定")
    else:
        ranked = (categoriser or default_categoriser()).rank(text)
    result.categories = ranked[:3]
    if ranked:
        result.category, result.category_confidence = ranked[0]
    location = places.locate(address, text)
    if location.confidence < LOCATION_THRESHOLD:
        location = household_location(phone, location) or location
    result.district, result.township, result.community = (
        location.district,
        location.township,
        location.community,
    )
    result.location_confidence = location.confidence
    result.reasons.extend(location.reasons)
    seen = set()
    for position, (code, score) in enumerate(ranked[:3]):
        category = route.categories.get(code)
        if category is None:
            continue
        unit, exact = route.unit_for(category, location)
        # For the likeliest category, units that handling showed right here (routing statistics)
        # are suggested too: before the default when their record is better than its record.
        learned_before, learned_after = [], []
        if position == 0:
            cell = route.evidence(category, location)
            total = sum(s for s, _a in cell.values()) or 1
            own = cell.get(unit.pk, (0, 0)) if unit is not None else (0, 0)
            for other, support, against in route.learned_candidates(category, location):
                if unit is not None and other.pk == unit.pk:
                    continue
                entry = Suggestion(other.pk, other.name, code, round(score * support / total, 3))
                if support - against > own[0] - own[1]:
                    learned_before.append(entry)
                elif not learned_after:
                    learned_after.append(entry)
            if learned_before:
                result.reasons.append(f"派单统计：{learned_before[0].unit}曾办结或被指为正确单位")
        candidates = [*learned_before]
        if unit is not None:
            candidates.append(Suggestion(unit.pk, unit.name, code, round(score * (1 if exact else 0.5), 3)))
        candidates.extend(learned_after)
        for suggestion in candidates:
            if suggestion.unit_id not in seen:
                seen.add(suggestion.unit_id)
                result.suggestions.append(suggestion)
    del result.suggestions[3:]
    category = route.categories.get(result.category)
    if category is not None:
        unit, exact = route.unit_for(category, location)
        if unit is not None:
            result.unit_id, result.unit = unit.pk, unit.name
            needs_place = category.handler_function not in PLACE_FREE
            # A traffic brigade or a branch answers for its whole district: the district must be sure.
            place_confidence = (
                location.district_confidence if unit.type in DISTRICT_WIDE else location.confidence
            )
            sure_of_place = not needs_place or place_confidence >= LOCATION_THRESHOLD
            result.direct = exact and sure_of_place and result.category_confidence >= CATEGORY_THRESHOLD
            if not result.direct and route.contradicted(category, location, unit):
                result.reasons.append(f"{unit.name}曾退回同类工单，转人工派单")
            elif not result.direct:
                result.reasons.append("类别或地点把握不足，转人工派单")
    return result
