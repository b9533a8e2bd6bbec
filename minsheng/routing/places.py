"""Where an appeal is about: address text (or, without one, the content) → district, township and
community codes of the gazetteer, with a confidence.

People write "泺口那边的东方公寓7栋", "历下区文化东路街道", "解放桥社区", "大观园附近", an estate name alone, or
no district at all. The locator knows every official name, the names without their 街道/镇 suffix, the
MCA full names, and the place names the platform has learned from its own handled cases (``PlaceAlias``:
an estate a station accepted and handled is in that station's jurisdiction).
"""

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field

MAX_NAME = 14
_SUFFIX = re.compile(r"(街道办事处|街道|镇|乡|办事处)$")
_COMMUNITY_MARK = ("社区", "村", "居委会", "村委会")
# Words around a place name that are not part of it ("the east gate of …", "near …").
_NOISE = re.compile(
    r"(济南市|济南|那边的|那边|附近的|附近|对面|门口|楼下|南边|北边|东边|西边|西侧|东侧|南侧|北侧|一带|周边|路口|交叉口|"
    r"\d+号楼|\d+栋|\d+单元|\d+号|\d+室|\d+层|[0-9A-Za-z]+)"
)
_ESTATE_TAIL = re.compile(r"(苑|园|城|小区|花园|家园|公寓|新村|宿舍|大厦|华庭|雅居|名邸|府|庭)")


def _base(name: str) -> str:
    return re.sub(r"(社区|村)$", "", name)


@dataclass
class Location:
    district: str = ""
    township: str = ""
    community: str = ""
    confidence: float = 0.0
    reasons: list[str] = field(default_factory=list)


class Locator:
    """Dictionary look-ups over every substring (≤ 14 characters) of the text: fast and exact."""

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
        self.aliases: dict[str, list[tuple[str, int]]] = {}
        self.aliases_loaded = 0.0

    def _add(self, name: str, kind: str, code: str) -> None:
        if (kind, code) not in self.names[name]:
            self.names[name].append((kind, code))

    def _load_aliases(self) -> None:
        if time.monotonic() - self.aliases_loaded < self.ALIAS_TTL_S:
            return
        from django.db.models import Q

        from minsheng.routing.models import PlaceAlias

        aliases: dict[str, list[tuple[str, int]]] = defaultdict(list)
        # Names that returns have outweighed (support ≤ 0) no longer count for that place.
        rows = PlaceAlias.objects.filter(Q(support__gt=0) | Q(manual=True))
        for name, code, support, manual in rows.values_list("name", "division_id", "support", "manual"):
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
        result = self._locate(address or "", from_address=True)
        if result.confidence < 0.9 and content:
            from_content = self._locate(content[:300], from_address=False)
            if from_content.confidence > result.confidence and (
                not result.district or from_content.district == result.district
            ):
                return from_content
        return result

    def _locate(self, text: str, *, from_address: bool) -> Location:
        if not text:
            return Location()
        districts: list[str] = []
        townships: list[str] = []
        communities: list[tuple[str, bool]] = []  # (code, written with 社区/村)
        aliases: list[list[tuple[str, int]]] = []
        for _start, end, piece in self._matches(text):
            marked = text[end : end + 3].startswith(_COMMUNITY_MARK) or piece.endswith(("村", "社区"))
            # "燕山苑" is an estate, not 燕山街道: a name running on into an estate word is part of it.
            inside_estate = bool(_ESTATE_TAIL.match(text[end : end + 2])) and not text[
                end : end + 2
            ].startswith(("街道", "镇"))
            # "舜玉路176号" or "英雄山路…" is a road, and a road runs through several townships.
            on_road = text[end : end + 1] in ("路", "街") or (
                piece.endswith(("路", "街", "大道")) and text[end : end + 1].isdigit()
            )
            kinds = self.names.get(piece, ())
            codes_of_kind = defaultdict(set)
            for kind, code in kinds:
                codes_of_kind[kind].add(code)
            for kind, code in kinds:
                if kind == "district":
                    districts.append(code)
                elif kind == "township" and not inside_estate and not on_road:
                    townships.append(code)
                elif (
                    kind == "community"
                    and not inside_estate
                    and not (codes_of_kind["township"] and not marked)
                ):
                    # The same village name exists in several districts: only a district or township
                    # named alongside can say which.
                    ambiguous = len(self.community_bases.get(_base(piece), ())) > 1
                    communities.append((code, marked and not ambiguous))
            if piece in self.aliases:
                aliases.append(self.aliases[piece])
        district = districts[0] if districts else ""
        reasons = []
        scale = 1.0 if from_address else 0.9
        # Townships named outright (with or without 街道/镇), consistent with the district if one is named.
        towns = [t for t in townships if not district or self.parent.get(t) == district]
        township = towns[0] if towns else ""
        community = ""
        # A community counts when written as one (…社区/…村) or when it lies in the township named.
        fitting = [
            c
            for c, marked in communities
            if (marked or (township and c.startswith(township)))
            and (not district or c.startswith(district))
            and (not township or c.startswith(township))
        ]
        if len(set(fitting)) == 1 or (fitting and township):
            community = fitting[0]
            township = township or community[:9]
        confidence = 0.0
        if township:
            confidence = 0.95 if len(set(towns)) <= 1 else 0.7
            reasons.append("地址含街道/社区名称")
        # Learned names (estates, markets, landmarks) settle the township when nothing official did.
        if not township and aliases:
            votes: dict[str, int] = defaultdict(int)
            for candidates in aliases:
                for code, support in candidates:
                    if not district or code.startswith(district):
                        votes[code[:9]] += support
            if votes:
                best, support = max(votes.items(), key=lambda item: item[1])
                share = support / sum(votes.values())
                township = best
                confidence = (0.92 if support >= 2 else 0.75) * (1.0 if share >= 0.8 else 0.7)
                reasons.append(f"地名库：{support} 次佐证")
        if township:
            district = district or self.parent.get(township, township[:6])
        elif district:
            confidence = 0.5
            reasons.append("只知道区县")
        return Location(district, township, community, round(confidence * scale, 3), reasons)


def place_names(address: str, locator: "Locator | None" = None) -> list[str]:
    """Candidate place names in an address that are not official names (estates, markets, landmarks)."""
    text = _NOISE.sub(" ", address or "")
    # Only official names written as such (历下区, 泺口街道, 解放桥社区) are cut out: a bare official name
    # inside an estate's name (幸福里小区) belongs to the estate.
    if locator is not None:
        for name in locator.district_names:
            text = text.replace(name, " ")
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


def learn(address: str, township_code: str, *, weight: int = 1) -> int:
    """Record that the place names in ``address`` lie in ``township_code`` (or, weight < 0, do not)."""
    from django.db.models import F

    from minsheng.routing.models import PlaceAlias

    learned = 0
    for name in place_names(address, locator()):
        alias, _ = PlaceAlias.objects.get_or_create(name=name, division_id=township_code)
        PlaceAlias.objects.filter(pk=alias.pk).update(support=F("support") + weight)
        learned += 1
    if learned:
        locator().refresh_aliases()
    return learned
