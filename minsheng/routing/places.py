"""Where an appeal is about: address text (or, without one, the content) → district, township and
community codes of the gazetteer, with a confidence for the township and one for the district.

People write "泺口那边的东方公寓7栋", "历下区文化东路街道", "解放桥社区", "大观园附近", an estate name alone, or
no district at all. The locator knows every official name, the names without their 街道/镇 suffix, the
MCA full names, and the place names the platform has learned from its own handled cases (``PlaceAlias``:
an estate a station accepted and handled is in that station's township; a landmark or a road a traffic
brigade or a branch handled is in its district).

The pieces of an address are read as evidence and combined the way a dispatcher reads them: a district
named restricts everything else; a township named settles the township; a community name found in
several places is settled by the district, the township or the learned names written alongside it
(窑头社区文苑花园: the 窑头 where 文苑花园 is known); learned names vote, and their votes say how sure
they are. A road is not a township, even when a township is named after it (山大路, 北园大街).
"""

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field

MAX_NAME = 14
_SUFFIX = re.compile(r"(街道办事处|街道|镇|乡|办事处)$")
_COMMUNITY_MARK = ("社区", "村", "居委会", "村委会")
# Words around a place name that are not part of it: where at the place ("the east gate of …", "the
# south-west corner", "100 m east", "on the road", "near …") and building numbers.
_NOISE = re.compile(
    r"(济南市|那边的|那边|附近的|附近|对面|门口|楼下|楼上|旁边|路边|一带|周边|路口|交叉口|里面|"
    r"往[东西南北]\d*米?|[东西南北]{1,2}(?:门口|门|侧|边|角|头|面)|(?<=村)村[东西南北][头边侧]?|(?<=[路街场])上|"
    r"\d+号楼|\d+栋|\d+单元|\d+号|\d+室|\d+层|\d+米|[0-9A-Za-z]+)"
)
_BUILDING = re.compile(r"\d+(号楼|栋|单元|幢)")
_ESTATE_TAIL = re.compile(r"(苑|园|城|小区|花园|家园|公寓|新村|宿舍|大厦|华庭|雅居|名邸|府|庭)")
# A road's name (经十路, 北园大街, 芙蓉街), not a 街道.
_ROAD = re.compile(r"(路|大街|大道|高架|街)$")
# What follows a name that is only the start of a road's name: 北园|大街, 文化|东路, 七里山|路.
_ROAD_AFTER = re.compile(r"[东西南北中]?(路|大街|大道|高架|街(?!道|办))")
# What follows a township's bare name that makes it the township and not the road named after it.
_TOWNSHIP_AFTER = ("街道", "街办", "办事处", "派出所", "辖区", "那边", "那块", "片区")

# Confidence of an address's pieces (scaled by 0.9 when read from the content rather than the address).
NAMED = 0.95  # a district, township or community written out, and only one fits
NAMED_TWICE = 0.7  # two townships of that name fit
NAMED_AND_CONFIRMED = 0.9  # a community name found in several places, settled by other pieces
DISTRICT_ONLY = 0.5  # the township confidence when only the district is known
SURE = 0.85  # a district this sure bounds where the content is read (not triage's dispatch threshold)
LEARNED = 0.92  # at most, for a place known from learned names only
CONFLICT = 0.7  # learned names that disagree with each other


def _base(name: str) -> str:
    return re.sub(r"(社区|村)$", "", name)


def is_road(name: str) -> bool:
    return bool(_ROAD.search(name)) and not name.endswith("街道")


def learned_confidence(support: int, total: int, unseen: float) -> float:
    """How sure a learned name makes a place: the place's ``support`` out of the ``total`` confirmations
    of the name within the area the other pieces allow, discounted by ``unseen``, the chance that the
    name also stands for a place not learned yet (see ``Locator._learned``)."""
    if total <= 0:
        return 0.0
    return round(min(LEARNED, support / total * (1 - unseen)), 3)


@dataclass
class Location:
    district: str = ""
    township: str = ""
    community: str = ""
    confidence: float = 0.0  # that the township (and so the station) is right
    reasons: list[str] = field(default_factory=list)
    district_confidence: float = 0.0  # that the district (and so the branch or brigade) is right


@dataclass
class _Pieces:
    """What one text names, in reading order."""

    districts: list[str] = field(default_factory=list)
    townships: list[tuple[str, bool]] = field(default_factory=list)  # (code, written with 街道/镇)
    # (name, codes of every community of that name, written as a community)
    communities: list[tuple[str, tuple[str, ...], bool]] = field(default_factory=list)
    aliases: list[tuple[str, list[tuple[str, int]]]] = field(default_factory=list)  # (name, votes)


class Locator:
    """Dictionary look-ups over every substring (≤ 14 characters) of the text: fast and exact. The
    official names (divisions, stations) are read once per process, the learned ones every few minutes."""

    ALIAS_TTL_S = 300

    def __init__(self):
        from minsheng.divisions.models import Division

        self.names: dict[str, list[tuple[str, str]]] = defaultdict(list)  # name → [(kind, code)]
        self.district_names: dict[str, str] = {"高新区": "370176"}
        self.community_bases: dict[str, set[str]] = defaultdict(set)  # "石庙" → every 石庙村 in the city
        self.parent: dict[str, str] = {}
        for code, name, short, level, district in Division.objects.values_list(
            "code", "name", "short_name", "level", "district_code"
        ):
            if level == "district":
                self._add(name, "district", code)
                self.district_names[name] = code
                if len(name) > 2:
                    self._add(name[:-1], "district", code)
            elif level == "township":
                self.parent[code] = district
                for alias in {name, short, _SUFFIX.sub("", name), _SUFFIX.sub("", short or "")}:
                    if len(alias) >= 2:
                        self._add(alias, "township", code)
            elif level == "community":
                self.parent[code] = code[:9]
                if short and len(short) >= 2:
                    self._add(short, "community", code)
                    self.community_bases[_base(short)].add(code)
        self._add("高新区", "district", "370176")
        self._add("高新", "district", "370176")
        # People name the station ("东关大街派出所"): a station with one township stands for it.
        from minsheng.units.models import Unit, UnitType

        stations = Unit.objects.filter(active=True, type=UnitType.POLICE_STATION).prefetch_related(
            "jurisdictions"
        )
        for station in stations:
            townships = [d.code for d in station.jurisdictions.all() if len(d.code) == 9]
            if len(townships) == 1 and station.name.endswith("派出所"):
                self._add(station.name, "township", townships[0])
        self.aliases: dict[str, list[tuple[str, int]]] = {}
        self.aliases_loaded = 0.0

    def _add(self, name: str, kind: str, code: str) -> None:
        if (kind, code) not in self.names[name]:
            self.names[name].append((kind, code))

    def district_of(self, code: str) -> str:
        """The district of a division code (itself for a district)."""
        if len(code) <= 6:
            return code
        return self.parent.get(code[:9], code[:6])

    def _load_aliases(self) -> None:
        if time.monotonic() - self.aliases_loaded < self.ALIAS_TTL_S:
            return
        from django.db.models import Q

        from minsheng.routing.models import PlaceAlias

        aliases: dict[str, list[tuple[str, int]]] = defaultdict(list)
        # Names that returns have outweighed (support ≤ 0) no longer count for that place.
        rows = PlaceAlias.objects.filter(Q(support__gt=0) | Q(manual=True))
        for name, code, support, manual in rows.values_list("name", "division_id", "support", "manual"):
            if not _NOISE.sub("", name):
                continue  # "西南角", "东门口": learned before such words were known not to be places
            aliases[name].append((code, support + (100 if manual else 0)))
        self.aliases = dict(aliases)
        self.aliases_loaded = time.monotonic()

    def refresh_aliases(self) -> None:
        self.aliases_loaded = 0.0

    def _matches(self, text: str):
        """(start, end, name) of the known names in the text, leftmost-longest and not overlapping."""
        found = []
        start = 0
        while start < len(text):
            for end in range(min(len(text), start + MAX_NAME), start + 1, -1):
                piece = text[start:end]
                if piece in self.names or piece in self.aliases:
                    found.append((start, end, piece))
                    # Leftmost-longest, no overlaps: "回南村" is a village, not "…南村街道".
                    start = end
                    break
            else:
                start += 1
        return found

    def locate(self, address: str = "", content: str = "") -> Location:
        self._load_aliases()
        result = self._resolve(self._pieces(address or ""), scale=1.0)
        if result.confidence >= 0.9 or not content:
            return result
        # The content may say what the address leaves out. Within the district the address names, a
        # place the content names agrees with the address; without one, it may be another place the
        # matter mentions, so it counts for a little less.
        within = result.district if result.district_confidence >= SURE else ""
        found = self._resolve(self._pieces(content[:300]), scale=1.0 if within else 0.9, within=within)
        if found.township and found.confidence > result.confidence:
            if found.district == result.district:
                found.district_confidence = max(found.district_confidence, result.district_confidence)
            return found
        if not result.township and found.district_confidence > result.district_confidence:
            # The content names the district the address leaves out (and nothing surer).
            return Location(
                district=found.district,
                confidence=min(DISTRICT_ONLY, found.district_confidence),
                reasons=found.reasons,
                district_confidence=found.district_confidence,
            )
        return result

    def _pieces(self, text: str) -> _Pieces:
        pieces = _Pieces()
        for _start, end, piece in self._matches(text):
            after = text[end : end + 3]
            suffixed = bool(_SUFFIX.search(piece))
            # Written as a community or village: 解放桥社区, 石庙村, 石庙村委会. But "…新村" with buildings
            # (幸福新村16号楼) is an estate, and so is 新村 at the end of another name (凯旋新村).
            marked = after.startswith(_COMMUNITY_MARK) or (
                piece.endswith(("村", "社区"))
                and not (piece.endswith("新村") and (piece == "新村" or _BUILDING.match(text, end)))
            )
            # "燕山苑" is an estate, not 燕山街道: a name running on into an estate word is part of it.
            inside_estate = bool(_ESTATE_TAIL.match(after[:2])) and not after.startswith(("街道", "镇"))
            # "舜玉路176号", "北园大街", "山大路与和平路交叉口" are roads, and a road runs through several
            # townships, even the one named after it. Written with 街道/镇 it is the township.
            on_road = not suffixed and (
                bool(_ROAD_AFTER.match(after)) or (is_road(piece) and not after.startswith(_TOWNSHIP_AFTER))
            )
            kinds = self.names.get(piece, ())
            community_codes = tuple(code for kind, code in kinds if kind == "community")
            has_township = any(kind == "township" for kind, _code in kinds)
            for kind, code in kinds:
                if kind == "district":
                    # 市中 is 市中区, but 市中心 is the city centre.
                    if not (after.startswith("心") and not piece.endswith(("区", "县"))):
                        pieces.districts.append(code)
                elif kind == "township" and not inside_estate and not on_road:
                    # "姚家村" after 仁风镇 is a village, not 姚家街道.
                    if not (marked and community_codes and not suffixed):
                        pieces.townships.append((code, suffixed))
            if community_codes and piece in self.aliases and not after.startswith(_COMMUNITY_MARK):
                # "幸福新村" is a village in 商河 and an estate in 市中区: where handled cases put the
                # name outweighs its own 村, unless 社区/村 is written after it.
                learned = {code[:9] for code, _support in self.aliases[piece] if len(code) >= 9}
                if learned and not learned & {code[:9] for code in community_codes}:
                    marked = False
            if community_codes and not inside_estate and not (has_township and not marked):
                if marked or not on_road:
                    # The same village name exists in several districts (石庙村, 窑头社区): every one is
                    # a candidate, and the other pieces say which.
                    codes = self.community_bases.get(_base(piece), set()) | set(community_codes)
                    pieces.communities.append((piece, tuple(sorted(codes)), marked))
            if piece in self.aliases:
                pieces.aliases.append((piece, self.aliases[piece]))
                # "芙蓉街广场" learned once, "芙蓉街" many times: the shorter name is evidence too.
                for cut in range(len(piece) - 1, 2, -1):
                    if piece[:cut] in self.aliases:
                        pieces.aliases.append((piece[:cut], self.aliases[piece[:cut]]))
                        break
        return pieces

    def _learned(self, pieces: _Pieces, fits, *, township: bool) -> tuple[str, float, int]:
        """(place, confidence, confirmations) the learned names point to: a township (``township``) or a
        district, within the area ``fits`` allows. Every name is its own evidence; names that agree
        (a crossing's two roads, an estate and its road) settle the place between them."""
        best: dict[str, tuple[float, int]] = {}
        allowed: list[set[str]] = []
        for name, votes in pieces.aliases:
            if township and is_road(name):
                continue  # a road crosses townships: it says which district only
            city: dict[str, int] = defaultdict(int)
            for code, support in votes:
                if township and len(code) < 9:
                    continue
                city[code[:9] if township else self.district_of(code)] += support
            local = {place: support for place, support in city.items() if fits(place)}
            if not local:
                continue
            # A village name learned at one of the places the gazetteer has for it (前刘村): the others
            # have simply not been seen yet.
            official = {
                code[:9] if township else self.district_of(code)
                for code in self.community_bases.get(_base(name), ())
                if fits(code)
            }
            # Good–Turing: the share of confirmations that were the only one for their place estimates
            # how likely the next use of the name is at a place not seen yet, in the city and in the
            # area (a name confirmed twice at one place is sure; a name confirmed once at each of
            # several places, "铁路宿舍", is probably somewhere else again).
            total = sum(local.values())
            unseen = max(
                sum(1 for support in city.values() if support == 1) / sum(city.values()),
                sum(1 for support in local.values() if support == 1) / total,
                len(official - set(local)) / len(official) if official else 0.0,
            )
            allowed.append(set(local))
            for place, support in local.items():
                confidence = learned_confidence(support, total, unseen)
                if (confidence, support) > best.get(place, (0.0, 0)):
                    best[place] = (confidence, support)
        if not best:
            return "", 0.0, 0
        agreed = set.intersection(*allowed)
        place = max(agreed or best, key=lambda p: best[p])
        confidence, support = best[place]
        return place, round(confidence * (1.0 if agreed else CONFLICT), 3), support

    def _resolve(self, pieces: _Pieces, *, scale: float, within: str = "") -> Location:
        reasons: list[str] = []
        district = within or (pieces.districts[0] if pieces.districts else "")
        district_confidence = 0.0
        if pieces.districts:
            district_confidence = NAMED if len(set(pieces.districts)) == 1 else NAMED_TWICE
        elif within:
            district_confidence = NAMED

        named = district  # the district written (or given): the area every other piece must lie in

        def fits(code: str) -> bool:
            return not named or self.district_of(code) == named

        # Townships named outright (with or without 街道/镇), consistent with the district if one is named.
        towns = [(t, suffixed) for t, suffixed in pieces.townships if fits(t)]
        if any(suffixed for _t, suffixed in towns):
            towns = [(t, suffixed) for t, suffixed in towns if suffixed]
        township = towns[0][0] if towns else ""
        confidence = 0.0
        if township:
            confidence = NAMED if len({t for t, _s in towns}) == 1 else NAMED_TWICE
            if not district_confidence and len({self.district_of(t) for t, _s in towns}) == 1:
                district_confidence = NAMED
            reasons.append("地址含街道/社区名称")

        # Communities: the first one written as such (…社区/…村) that the other pieces settle, or any
        # one within the township named. A name found in several places is settled by the district
        # named, or by the townships the learned names written alongside it are known in.
        community = ""
        for piece, codes, marked in pieces.communities:
            if not (marked or township):
                continue
            # Not the community's own name learned somewhere: that one of the 付家村 is in a township
            # does not say this one is.
            learned_towns = {
                code[:9]
                for name, votes in pieces.aliases
                if not is_road(name) and piece not in name
                for code, _support in votes
                if len(code) >= 9 and fits(code)
            }
            candidates = [c for c in codes if fits(c) and (not township or c.startswith(township))]
            confirmed = False
            if len(candidates) > 1 and learned_towns:
                matching = [c for c in candidates if c[:9] in learned_towns]
                if len(matching) == 1:
                    candidates, confirmed = matching, True
            if len(candidates) != 1:
                continue
            community = candidates[0]
            if not township:
                township = community[:9]
                confidence = NAMED if len(codes) == 1 else NAMED_AND_CONFIRMED
                # Another community written that cannot be in that township: which one is meant?
                if any(
                    other_marked and not any(c.startswith(township) for c in other)
                    for other_piece, other, other_marked in pieces.communities
                    if other_piece != piece
                ):
                    confidence = NAMED_TWICE
                reasons.append("地址含社区名称，与地名库相符" if confirmed else "地址含街道/社区名称")
            break

        # Learned names (estates, markets, landmarks) settle the township when nothing official did.
        if not township:
            township, confidence, support = self._learned(pieces, fits, township=True)
            if township:
                reasons.append(f"地名库：{support} 次佐证")

        if township:
            district = district or self.parent.get(township, township[:6])
            if not district_confidence:
                # The district is at least as sure as the township, and surer when the names agree on it.
                learned_district, learned, _support = self._learned(pieces, fits, township=False)
                district_confidence = max(confidence, learned if learned_district == district else 0.0)
        elif district:
            confidence = DISTRICT_ONLY
            reasons.append("只知道区县")
        else:
            district, district_confidence, support = self._learned(pieces, fits, township=False)
            if district:
                confidence = min(DISTRICT_ONLY, district_confidence)
                reasons.append(f"地名库（区县）：{support} 次佐证")
        return Location(
            district,
            township,
            community,
            round(confidence * scale, 3),
            reasons,
            round(district_confidence * scale, 3),
        )


def place_names(address: str, locator: "Locator | None" = None) -> list[str]:
    """Candidate place names in an address that are not official names (estates, markets, landmarks)."""
    text = _NOISE.sub(" ", address or "")
    # Only official names written as such (历下区, 泺口街道, 解放桥社区) are cut out: a bare official name
    # inside an estate's name (幸福里小区) belongs to the estate. 济南 goes with a district after it
    # (济南历下区), not from 济南站 or 济南西站.
    if locator is not None:
        for name in locator.district_names:
            text = text.replace("济南" + name, " ").replace(name, " ")
    text = re.sub(r"[\u4e00-\u9fff]{1,8}?(街道|镇|社区|村委会|居委会)", " ", text)
    names = []
    for chunk in re.split(r"[\s,，。、()（）:：;；\-—·]+", text):
        # Two characters ("小区", "宿舍") say nothing about where; a name needs three or more.
        if (
            3 <= len(chunk) <= MAX_NAME
            and re.fullmatch(r"[\u4e00-\u9fff]+", chunk)
            and not chunk.startswith("某")
        ):
            names.append(chunk)
    return names


_locator: Locator | None = None


def locator() -> Locator:
    global _locator
    if _locator is None:
        _locator = Locator()
    return _locator


def locate(address: str = "", content: str = "") -> Location:
    return locator().locate(address, content)


def learn(address: str, division_code: str, *, weight: int = 1) -> int:
    """Record that the place names in ``address`` lie in ``division_code`` (or, weight < 0, do not).

    ``division_code`` is a township (a station handled the case) or a district (a traffic brigade or a
    branch did). A road crosses townships: it is learned for the district only.
    """
    from django.db.models import F

    from minsheng.routing.models import PlaceAlias

    learned = 0
    for name in place_names(address, locator()):
        code = locator().district_of(division_code) if is_road(name) else division_code
        alias, _ = PlaceAlias.objects.get_or_create(name=name, division_id=code)
        PlaceAlias.objects.filter(pk=alias.pk).update(support=F("support") + weight)
        learned += 1
    if learned:
        locator().refresh_aliases()
    return learned
