"""Place mentions in appeal addresses and texts, for duplicate detection.

The detector needs to know *where* an appeal is about, for two opposite reasons: two neighbours who
write about the same community, road or landmark are probably reporting the same event, while the
same wording about a different community is a different matter and must never be merged.

Extraction is regex-first so that it costs about a tenth of a millisecond per appeal (the index is
built over millions of them): a place is a run of name characters followed by a place suffix (小区,
村, 路, 学院 …), cut at function words, verbs (jieba's dictionary tags) and "break words" (附近, 严重…);
administrative units are recognised first (pseudonymised ``A市``/``A5区``/``K9县`` in the Teddy Cup
data, real ``历下区``/``解放路街道`` from the gazetteer) and act as boundaries, so ``A5区和平东路凤凰城小区``
yields district ``A5区``, road ``和平东路`` and community ``凤凰城``. The optional gazetteer (Jinan
communities and divisions) adds bare mentions of official names (``解放桥``) and canonical codes.

Extraction is imperfect (a regex cannot always tell where a name starts), so the detector compares
tolerantly: a place counts as shared when its core appears anywhere in the other text or one core
is the tail of the other (``华润凤凰城``/``凤凰城``), and only clean-looking names may contradict.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .text import not_name_words

# Kinds, coarse to fine. Only the fine kinds identify an event's place; the admin kinds can only
# contradict (A3区 vs A5区), because a whole district is not "the same place" for a noise complaint.
ADMIN_KINDS = ("province", "city", "district", "township")
SPECIFIC_KINDS = ("community", "road", "address", "landmark")
BUILDING_KIND = "building"

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


@dataclass(frozen=True, slots=True)
class Place:
    """One place mention: ``kind`` (see the module's kind lists), ``name`` as written (for reasons
    shown to people) and ``core``, the string compared between appeals."""

    kind: str
    name: str
    core: str


def normalize_text(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII), upper-case Latin, no whitespace.

    Upper case because the pseudonymised codes (``A5区``) and building letters are upper case in the
    data; whitespace (a line break between title and detail) becomes one space, a boundary no name crosses.
    """
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"\s+", " ", text).upper()


def chinese_number(token: str) -> int | None:
    """``"12"``, ``"十二"``, ``"二十一"`` → int; None when it is not a small number."""
    if token.isdigit():
        return int(token)
    if not token or any(ch not in _CN_DIGITS and ch not in "十百" for ch in token):
        return None
    total, current = 0, 0
    for ch in token:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = current * 10 + _CN_DIGITS[ch] if current else _CN_DIGITS[ch]
    return total + current


# Characters that (almost) never occur inside a place name: function words, pronouns, verbs of
# reporting. A name is the run of other characters just before a suffix, so these cut off "我住在".
_STOP_CHARS = (
    "的我你他她它们在是于了与及或就也还又被把对向从到给让请求说这那个些有没不很要想因为所以但而且并等"
    "住位去过将已能会可该本此各每其几多好如何吗呢啊吧着年日秒号第约旁边侧附"
)
_NAME_CHAR = rf"[^\W_{_STOP_CHARS}]"
_ADMIN_CODE_RE = re.compile(r"(?<![A-Z0-9])([A-Z][0-9]{0,2})(市|区|县)")
_PROVINCE_RE = re.compile(rf"({_NAME_CHAR}{{2,3}})省")
# A township name must start at a boundary (an admin unit, punctuation or a stop character) within
# four characters: "A9市青石镇" yes, "手机通话成问题镇" no.
_TOWNSHIP_RE = re.compile(
    rf"(?<![^\W_{_STOP_CHARS}])({_NAME_CHAR}{{2,4}})(街道|镇|乡)(?!镇|村|土|下|亲|长|政|里|间|干)"
)
# Suffixes by kind. Single-character ones (城, 苑 …) are risky: the look-aheads skip 城区/城管/村民,
# and the generic-core list with the two-character minimum keeps "县城" or "进城" out.
_COMMUNITY_SUFFIX = (
    "小区|社区|花园|家园|新村|村(?!民|委|干|组|级|支|里|上|口|庄|镇|医|小)|苑|公寓|山庄|庄园|别墅|新城|国际城|之城|"
    "城(?!区|市|管|乡|镇|建|投|际|中|里|墙|东|西|南|北)|湾|郡|雅居|华庭|名邸|公馆|佳园|嘉园|宿舍|大院|家属院|"
    "安置区|棚户区"
)
_ROAD_SUFFIX = "大道|大街|路(?!段|灯|面|边|上|况|线|费|人|过)|街(?!道|头|边|上|面)|巷|胡同"
_LANDMARK_SUFFIX = (
    "幼儿园|小学|中学|大学|学院|学校|职校|医院|卫生院|诊所|公园|广场|商场|商城|超市|菜市场|农贸市场|市场|酒店|宾馆|"
    "饭店|酒吧|网吧|KTV|火车站|汽车站|高铁站|地铁站|车站|机场|派出所|公安局|分局|交警大队|大队|中队|"
    "有限责任公司|股份有限公司|有限公司|公司|集团|工厂|厂(?!家|房|区|里)|银行(?!卡)|加油站|体育馆|图书馆|景区|大厦|"
    "大楼|中心|水库|大桥|隧道|码头|电影院|车管所|服务区|停车场|养老院|敬老院|工地|楼盘|产业园|工业园|科技园|物流园|"
    "搅拌站|站(?!在|着|岗|点|台|长)"
)
_SUFFIX_RE = re.compile(
    rf"(?P<suffix>{_LANDMARK_SUFFIX}|{_COMMUNITY_SUFFIX}|{_ROAD_SUFFIX})"
    # "国家反诈中心APP", "市民服务中心热线": a service people use, not where anything happened
    r"(?!APP|热线|网站|公众号|小程序|平台)"
    r"(?P<generic>小区|社区)?"
    r"(?:(?P<number>[0-9]{1,5})号(?!楼|院))?"
)
# Words joining two places ("经十路和舜耕路路口"): not part of the second name when it follows the
# first directly. Only the first character goes: "山大路和和平路" is 山大路 and 和平路.
_JOINERS = frozenset("和与跟及同")
# Locatives right after a place ("广场上跳广场舞", "小区里"): a name does not start with them.
_LOCATIVES = frozenset("上下里内前后")
# Words a place name cannot contain: a name is the run of name characters just before a suffix,
# and these cut off "严重影响育才小学" or "社区组织登记社区" at the right point.
_BREAK_WORDS = tuple(
    """小区 社区 街道 楼下 门前 里面 外面 期间 附近 旁边 对面 周边 门口 隔壁 东边 西边 南边 北边 东侧 西侧 南侧 北侧
    严重 影响 导致 造成 希望 要求 反映 投诉 举报 咨询 关于 问题 情况 现在 目前 今天 一直 长期 注册 上报 问问 建议
    学习 进行 发现 经过 通过 来到 前往 位于 属于 处在 居住 租用 购买 买了 命名 浅谈 新建 修建 开发 建设 施工 整治
    处理 解决 退伍 回到 回家 前往 离开 毕业 就读 上班 工作 经营 开设 开了 一家 一所 一个 多家 几家 这家 那家
    该地 当地 本地 全市 全省 全县 全区 我市 我县 我区 市委 市长 书记 局长 县长 区长 领导 尊敬 您好 你好 谢谢
    所在 整个 都是 都有 都在 都没 都不 都要 都会 都说 辖区 报案 报警 感谢""".split()
)
_BREAK_SET = frozenset(_BREAK_WORDS)
_BREAK_LENGTHS = tuple(sorted({len(w) for w in _BREAK_WORDS}))
_NAME_MAX = 10
_GENERIC_CORES = frozenset(
    """物业 开发 开发商 施工 房地产 建筑 一个 某某 当地 本地 我们 人民 中国 国家 有关 相关 其他 私立 公立 公办
    民办 城市 乡镇 农村 乡村 城中 城乡 县城 市政 政府 家庭 学校 医院 公司 全市 全省 全县 全区 省市 市区 城区
    郊区 景区 园区 小区 社区 村民 农民 居民 业主 房屋 房子 楼房 商品 商业 工业 产业 科技 管理 服务 文化 教育
    卫生 交通 公交 高速 国道 省道 马路 公路 道路 街头 大街 小巷 街巷 胡同 花园 家园 公园 新城 老城 主城 大学
    中学 小学 幼儿 职业 技术 培训 人民医院 中医 妇幼 保健 派出 公安 分局 支队 大队 中队 集团 有限 责任 股份
    一楼 二楼 底层 楼层 顶楼 电梯 车站 火车 汽车 地铁 高铁 网上 线上 微信 电话 老旧 上述 以上 所在 附属 周围
    中心 市中心 城中心 门面 商铺 店铺 工程 项目 单位 部门 机关 学生 老师 家长 孩子 老人 市民 群众 百姓 老百姓""".split()
)
# Words that end like a place but name none: "创建文明县城", "加大农村", "本小区".
_GENERIC_TAILS = frozenset(
    """县城 农村 乡村 山村 渔村 全村 本村 该村 我村 各村 邻村 进城 全城 满城 古城 新城区 中小学 本小区 该小区 我小区
    各小区 老小区 新小区 本社区 该社区 我社区 各社区 小区 社区 公司 学校 医院 大学 中学 小学 市场 广场 银行 派出所""".split()
)
# Whole names that look like a place and are none in particular: a kind of road or facility found in
# every district ("十字路", "垃圾站", "变电站"), a utility or a bank with branches everywhere ("燃气公司",
# "农业银行"), or a phrase ("必经之路"). Two appeals that both name one are not thereby about one place;
# counted as a place, they made unrelated appeals agree (the most frequent such names in the Teddy
# Cup messages, read off ``extract_places`` over all of them).
_GENERIC_PLACES = frozenset(
    """十字路 丁字路 交叉路 公交线路 条线路 高速公路 城际铁路 水泥路 泥巴路 柏油路 城市道路 市政道路 条道路 乡村道路
    走投无路 必经之路 垃圾站 垃圾场 垃圾中转站 变电站 收费站 质监站 自来水公司 自来水厂 水泥厂 机械厂 燃气公司
    天然气公司 电力公司 供电公司 电信公司 移动公司 联通公司 保险公司 上市公司 房产公司 物业公司 置业有限公司 农业银行
    工商银行 建设银行 中国银行 交通银行 邮政银行 政府网站 行政村 贫困村""".split()
)
_BUILDING_RE = re.compile(r"([0-9]{1,3}|[一二三四五六七八九十]{1,3})(号楼|栋|幢|座|单元|号院|期)")
_COMMUNITY_SET = frozenset(re.sub(r"\(.*?\)", "", _COMMUNITY_SUFFIX).split("|"))
_ROAD_SET = frozenset(re.sub(r"\(.*?\)", "", _ROAD_SUFFIX).split("|"))
_BUILDING_UNITS = {
    "号楼": "栋",
    "栋": "栋",
    "幢": "栋",
    "座": "栋",
    "单元": "单元",
    "号院": "号院",
    "期": "期",
}
_NAME_CHAR_RE = re.compile(_NAME_CHAR)


@dataclass(frozen=True, slots=True)
class _GazetteerEntry:
    kind: str
    core: str
    code: str


class Gazetteer:
    """Official names (communities, villages, townships, districts) for bare mentions and boundaries.

    Short names of two characters (``历山``) are too ambiguous to find on their own; they only count
    with a suffix, which the regexes already handle, so the lookup table keeps names of three or more.
    """

    def __init__(self, entries: list[tuple[str, str, str, str]]):
        # entries: (text as written, kind, core, code)
        # By two-character prefix, the names by length, longest first (the longest name wins at a
        # position): one dictionary look-up per length, not a comparison per name of the prefix.
        # The first entry of a name written twice wins.
        by_length: dict[str, dict[int, dict[str, _GazetteerEntry]]] = {}
        for written, kind, core, code in entries:
            if len(written) < 3:
                continue
            names = by_length.setdefault(written[:2], {}).setdefault(len(written), {})
            names.setdefault(written, _GazetteerEntry(kind, core, code))
        self._by_prefix: dict[str, list[tuple[int, dict[str, _GazetteerEntry]]]] = {
            prefix: sorted(lengths.items(), reverse=True) for prefix, lengths in by_length.items()
        }
        # the two-character prefixes as sorted integer keys: scanning finds candidate positions
        # with one vectorised lookup instead of a dictionary probe per character
        self._prefix_keys = np.unique(
            np.array([ord(p[0]) << 21 | ord(p[1]) for p in self._by_prefix], dtype=np.uint64)
        )

    @classmethod
    def from_directory(cls, directory: Path) -> Gazetteer:
        """Read ``communities.csv`` and ``divisions.csv`` (the formats in ``shared/data/jinan``)."""
        entries: list[tuple[str, str, str, str]] = []
        with open(directory / "divisions.csv", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                level, name = row["level"], row["name"]
                if level in ("city", "district", "township"):
                    entries.append((name, level, name, row["code"]))
        communities = directory / "communities.csv"
        if communities.exists():
            with open(communities, encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    short = row["short_name"]
                    entries.append((short, "community", short, row["code"]))
                    full = re.sub(r"(居民委员会|村民委员会|委员会)$", "", row["name"])
                    if full != short:
                        entries.append((full, "community", short, row["code"]))
        return cls(entries)

    def scan(self, text: str) -> list[tuple[int, int, _GazetteerEntry]]:
        """All non-overlapping mentions, left to right, longest at each position."""
        found: list[tuple[int, int, _GazetteerEntry]] = []
        if len(text) < 2 or not len(self._prefix_keys):
            return found
        cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        pairs = (cps[:-1] << np.uint64(21)) | cps[1:]
        # (The array methods rather than the ``np.`` functions, which dispatch in Python first.)
        pos = np.minimum(self._prefix_keys.searchsorted(pairs), len(self._prefix_keys) - 1)
        after = 0
        for i in (self._prefix_keys[pos] == pairs).nonzero()[0].tolist():
            if i < after:
                continue
            for length, names in self._by_prefix[text[i : i + 2]]:
                entry = names.get(text[i : i + length])
                if entry is not None:
                    found.append((i, i + length, entry))
                    after = i + length
                    break
        return found


def _default_gazetteer_dir() -> Path | None:
    """The project's bundled copy when present, else the shared data folder next to the checkout."""
    here = Path(__file__).resolve().parent.parent / "divisions" / "fixtures" / "jinan"
    if (here / "divisions.csv").exists():
        return here
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "jinan"
        if (candidate / "divisions.csv").exists():
            return candidate
    return None


@functools.cache
def default_gazetteer() -> Gazetteer | None:
    """The Jinan gazetteer, loaded once per process; None when no copy can be found."""
    directory = _default_gazetteer_dir()
    return Gazetteer.from_directory(directory) if directory else None


def _building(number: str, unit: str) -> Place | None:
    value = chinese_number(number)
    if value is None or value == 0:
        return None
    label = _BUILDING_UNITS[unit]
    return Place(BUILDING_KIND, f"{number}{unit}", f"{value}{label}")


def extract_places(text: str, gazetteer: Gazetteer | None = None) -> list[Place]:
    """Place mentions in ``text`` (an address, a title or a whole appeal), in order, de-duplicated.

    ``text`` may be raw; it is normalised here. Pass ``gazetteer=None`` for regex-only extraction.
    """
    # "济泺路路口" is 济泺路 and 路口, as "济泺路口" is: without this the second 路 ends a road "济泺路路"
    text = normalize_text(text).replace("路路口", "路口")
    if not text:
        return []
    places: list[Place] = []
    # 1. Admin units become boundaries ("|") so that a place name never starts with "A5区…".
    spans: list[tuple[int, int]] = []

    def admin(match_start: int, match_end: int, place: Place) -> None:
        places.append(place)
        spans.append((match_start, match_end))

    gazetteer_hits = gazetteer.scan(text) if gazetteer is not None else []
    for start, end, entry in gazetteer_hits:
        if entry.kind != "community":
            admin(start, end, Place(entry.kind, text[start:end], entry.core))
    for m in _ADMIN_CODE_RE.finditer(text):
        kind = {"市": "city", "区": "district", "县": "district"}[m.group(2)]
        admin(m.start(), m.end(), Place(kind, m.group(0), m.group(0)))
    masked = _mask(text, spans)
    for m in _PROVINCE_RE.finditer(masked):
        if m.group(1) not in _GENERIC_CORES:
            admin(m.start(), m.end(), Place("province", m.group(0), m.group(0)))
    masked = _mask(text, spans)
    for m in _TOWNSHIP_RE.finditer(masked):
        if m.group(1) not in _GENERIC_CORES:
            admin(m.start(), m.end(), Place("township", m.group(0), m.group(0)))
    masked = _mask(text, spans)

    # 2. Communities, roads, landmarks: find a suffix, then walk left over name characters.
    not_names = not_name_words()
    found: list[tuple[int, int, str, str, str | None]] = []  # (start, end, name, suffix, number)
    floor = 0
    for m in _SUFFIX_RE.finditer(masked):
        suffix = m.group("suffix")
        start = _name_start(masked, m.start(), floor)
        if found and start == found[-1][1] and start < m.start():
            # right after another place: "经十路和舜耕路" (a joiner), "广场上跳广场舞" (a locative)
            if masked[start] in _JOINERS or masked[start] in _LOCATIVES:
                start += 1
        if found and found[-1][1] == m.start() and start == m.start():
            # "长城水郡" + "家园小区": one name written with two suffixes; keep the longer one.
            prev = found.pop()
            found.append((prev[0], m.end(), prev[2] + prev[3], suffix, m.group("number")))
        else:
            found.append((start, m.end(), masked[start : m.start()], suffix, m.group("number")))
        floor = m.end()
    for _start, _end, name, suffix, number in found:
        name = name.lstrip("0123456789")
        if len(name) < 2 or name in _GENERIC_CORES or (name + suffix) in _GENERIC_CORES:
            continue
        if (name + suffix) in _GENERIC_PLACES:
            continue
        written = name[-2:] + suffix
        if any(written[-n:] in _GENERIC_TAILS and n > len(suffix) for n in (2, 3)):
            continue
        if name[-2:] in not_names:  # "干扰小区", "附近医院": a verb or adverb before the suffix
            continue
        if suffix in _ROAD_SET:
            kind = "road"
        elif suffix in _COMMUNITY_SET:
            kind = "community"
        else:
            kind = "landmark"
        # The core keeps meaningful suffixes (和平东路, 莲池村) but drops 小区/社区, which people add
        # or leave out at will.
        core = name if suffix in ("小区", "社区") else name + suffix
        places.append(Place(kind, name + suffix, core))
        if number and kind == "road":
            places.append(Place("address", f"{name}{suffix}{number}号", f"{core}{number}号"))

    # 3. Bare official community names from the gazetteer ("宿家张马屯") that carry no suffix.
    if gazetteer_hits:
        known = {p.core for p in places}
        for start, end, entry in gazetteer_hits:
            if (
                entry.kind == "community"
                and len(entry.core) >= 3
                and entry.core not in _GENERIC_CORES
                and not _SUFFIX_RE.search(entry.core[-2:])
                and not any(entry.core in core for core in known)
            ):
                places.append(Place("community", text[start:end], entry.core))
                known.add(entry.core)

    # 4. Buildings, units and phases (16栋, 1单元, 二期): details inside a community.
    for m in _BUILDING_RE.finditer(text):
        building = _building(m.group(1), m.group(2))
        if building:
            places.append(building)

    seen: set[tuple[str, str]] = set()
    unique = []
    for place in places:
        key = (place.kind, place.core)
        if key not in seen:
            seen.add(key)
            unique.append(place)
    return unique


def _name_start(text: str, end: int, floor: int) -> int:
    """Where the place name that ends at ``end`` starts: the left end of the run of name characters,
    cut at a stop character, a break word, an admin boundary ("|"), ``floor`` or ``_NAME_MAX``."""
    start = end
    limit = max(floor, end - _NAME_MAX)
    while start > limit and _NAME_CHAR_RE.match(text[start - 1]):
        if any(start >= n and text[start - n : start] in _BREAK_SET for n in _BREAK_LENGTHS):
            break  # a break word ends here: the name begins after it
        start -= 1
    # a break word may also straddle the cut ("社区组织": never start a name at "区")
    for n in _BREAK_LENGTHS:
        for k in range(1, n):
            begin = start - k
            if begin >= 0 and begin + n <= end and text[begin : begin + n] in _BREAK_SET:
                start = begin + n
    return start


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each span replaced by "|" characters (same length, so offsets stay valid)."""
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            chars[i] = "|"
    return "".join(chars)
