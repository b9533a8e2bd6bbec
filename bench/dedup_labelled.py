"""Build a labelled duplicate-detection set from the Teddy Cup 2020 messages (read at run time).

The messages' licence is unknown: nothing here copies them into the repository. The set is written
to a CSV outside the checkout (default: a temporary directory) and consumed by ``dedup_quality.py``.

What the set contains, per *matter* (one real message chosen as a seed):

- ``resubmission``: the same citizen again, through another channel, in other words: clauses
  reordered or dropped, synonyms swapped, truncated, title only or detail only, greetings and
  "再次反映" added, punctuation and digit styles changed, typos. Usually the same phone (sometimes
  missing: letters and walk-ins), within the 30-day person window.
- ``neighbour``: other people reporting the same event: the same place named their own way, a few of
  the seed's clauses heavily reworded, personal sentences added; different phones, within 7 days.
- ``swap``: the *same wording about another place* (community, road, landmark or district name
  replaced everywhere, by a real name from other messages or a made-up one): a different matter that
  must stay apart, written within days of the seed.
- ``same_place_other``: an unrelated real message moved to the seed's place: another matter at the
  same place, within days.

Plus unrelated real messages as distractors (some sharing a phone with a seed's author: one person,
two matters). Real messages that are near-duplicates of each other, come from one user, or name a
place another kept message names are dropped first, so that the distractors carry no hidden true
pairs (the Teddy Cup data holds whole clusters of neighbours about one event).

Honesty notes: the synonym table, greetings and neighbour sentences are hand-written, not taken from
the detector; the detector never sees them. ``dedup_quality.py`` reports seeds looked at while tuning
and one that was not, plus per-kind recall, so that a detector tuned to one generator's habits
shows it. The generator still shares the detector's place extractor to find the place to swap.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minsheng.dedup.places import SPECIFIC_KINDS, extract_places  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "teddycup2020"
TZ = timezone(timedelta(hours=8))
CHANNELS = [
    "hotline_12345",
    "chief_mailbox",
    "phone",
    "letter",
    "visit",
    "police_110",
    "discipline_hotline",
    "email",
    "open311",
]

# A hand-written synonym table (not derived from the data): common appeal words and their
# everyday alternatives. Both directions are used.
SYNONYMS = [
    ("噪音", "噪声"),
    ("扰民", "影响居民休息"),
    ("严重", "十分"),
    ("希望", "恳请"),
    ("领导", "同志"),
    ("解决", "处理"),
    ("晚上", "夜里"),
    ("凌晨", "半夜"),
    ("业主", "住户"),
    ("投诉", "反映"),
    ("多次", "好几次"),
    ("至今", "到现在"),
    ("没有", "未"),
    ("不能", "无法"),
    ("尽快", "早日"),
    ("相关部门", "有关部门"),
    ("楼下", "楼底下"),
    ("商铺", "店铺"),
    ("门面", "门店"),
    ("孩子", "小孩"),
    ("老人", "老年人"),
    ("车辆", "车子"),
    ("路灯", "街灯"),
    ("施工", "作业"),
    ("每天", "天天"),
    ("非常", "特别"),
    ("影响", "干扰"),
    ("居民", "住户"),
    ("要求", "请求"),
    ("现在", "目前"),
    ("马上", "立即"),
    ("为什么", "为何"),
    ("怎么", "如何"),
    ("已经", "早已"),
    ("经常", "时常"),
    ("导致", "造成"),
    ("工资", "薪水"),
    ("拖欠", "欠着"),
    ("开发商", "房地产商"),
    ("请问", "想问一下"),
    ("是否", "是不是"),
    ("可以", "能够"),
    ("部门", "单位"),
    ("附近", "周边"),
    ("房子", "房屋"),
    ("学生", "学子"),
    ("学校", "校方"),
    ("收费", "收钱"),
    ("安全隐患", "安全风险"),
    ("违法", "违规"),
    ("污染", "危害环境"),
    ("停车", "泊车"),
    ("出行", "出门"),
    ("一直", "始终"),
    ("谢谢", "感谢"),
    ("但是", "可是"),
    ("因为", "由于"),
    ("所以", "因此"),
    ("及时", "尽早"),
    ("情况", "状况"),
]
GREETINGS = ["您好，", "尊敬的领导：", "领导您好！", "你好，", "尊敬的局长：", "市长您好，", "各位领导好，"]
RESUBMIT_OPENERS = [
    "我再次反映一下，",
    "之前反映过这个问题，至今没有解决，",
    "这个问题我已经反映过了，",
    "第二次反映：",
    "上次打电话说过，",
    "",
]
CLOSINGS = ["谢谢！", "望尽快处理。", "盼复。", "请领导重视。", "麻烦了。", "期待回复！"]
NEIGHBOUR_OPENERS = [
    "我是{p}的居民，",
    "我家住在{p}，",
    "{p}业主反映：",
    "本人住在{p}附近，",
    "我们{p}的住户想反映个情况：",
    "关于{p}的事：",
    "{p}这边，",
]
NEIGHBOUR_EXTRA = [
    "这种情况已经持续很久了",
    "晚上根本睡不好觉",
    "家里老人孩子深受其害",
    "打过好几次电话都没人管",
    "周围邻居意见都很大",
    "希望有关单位过来实地看看",
    "大家都很无奈",
    "我们也不知道该找谁",
    "给生活带来很大不便",
]
TYPOS = {"在": "再", "的": "得", "做": "作", "已": "以", "到": "倒", "象": "像", "那": "哪", "再": "在"}
SYNTH_NAME_CHARS = (
    "金银华锦绣阳光翠绿春晖东方明珠天龙凤凰玉兰桂香梅林松柏湖滨江河山水云海星月新城御景盛世和平幸福"
)
SYNTH_SUFFIX = {
    "community": ["小区", "花园", "家园", "苑", "新村", "公寓"],
    "road": ["路", "大道", "街"],
    "landmark": ["广场", "商场", "中学", "医院", "公园", "大厦"],
    "address": ["路"],
}
_CLAUSE_RE = re.compile(r"(?<=[，。！？；,.!?;\n])")


@dataclass
class Message:
    key: str
    user: str
    title: str
    detail: str


@dataclass
class Row:
    id: str
    text: str
    time: datetime | None
    phone: str
    place: str
    channel: str
    matter: str
    kind: str


def load_messages(data: Path = DATA) -> list[Message]:
    """All raw Teddy Cup messages (four files), exact duplicates removed."""
    msgs: list[Message] = []
    for name in (
        "messages_with_votes_附件3.csv",
        "messages_with_replies_附件4.csv",
        "unlabeled_messages_测试数据.csv",
    ):
        with open(data / name, encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                msgs.append(
                    Message(
                        f"{name[:12]}:{r['留言编号']}", r["留言用户"], r["留言主题"].strip(), r["留言详情"]
                    )
                )
    with open(data / "classification_train.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["text_kind"] != "raw":
                continue
            title, _, detail = r["text"].partition(" ")
            if len(title) > 40 or not detail:
                title, detail = "", r["text"]
            msgs.append(Message(f"cls:{r['id']}", f"cls:{r['id']}", title, detail))
    seen, unique = set(), []
    for m in msgs:
        m.detail = re.sub(r"_x000D_|\s+", " ", m.detail).strip()
        key = re.sub(r"\W", "", m.title + m.detail)
        if key in seen or len(key) < 30:
            continue
        seen.add(key)
        unique.append(m)
    return unique


def drop_near_duplicates(msgs: list[Message], threshold: float = 0.3) -> list[Message]:
    """Keep one message per near-duplicate cluster, per user and per named place.

    Near-duplicates by datasketch MinHash-LSH on character trigrams (deliberately not the detector
    under test). A place already named by a kept message drops the next one too: real neighbours
    of one event (the Teddy Cup data has whole clusters) would otherwise count as false merges.
    """
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=64)
    users: set[str] = set()
    places: set[str] = set()
    kept = []
    for i, m in enumerate(msgs):
        if m.user in users:
            continue
        named = {p.core for p in extract_places(m.title + "。" + m.detail, None) if good_place(p)}
        # tails too: "晟通牡丹舸" and "牡丹舸" are one place
        named |= {core[i:] for core in named for i in range(1, len(core) - 2)}
        if named & places:
            continue
        text = re.sub(r"\W", "", m.title + m.detail)
        mh = MinHash(num_perm=64, seed=1)
        mh.update_batch([text[j : j + 3].encode() for j in range(len(text) - 2)])
        if lsh.query(mh):
            continue
        lsh.insert(str(i), mh)
        users.add(m.user)
        places |= named
        kept.append(m)
    return kept


_JUNK_NAME_CHARS = set(
    "在是有了的和与及被把对向从到给让请求说这那个些没不很要想因为所以但而且并等住位去过将已能会可该本此各每其几多"
)
_JUNK_NAME_CHARS |= set(
    "好如何吗呢啊吧着年日号第约旁边侧附至建开关搞交买卖进出拆修破占用管理投诉反映违收费由挥充"
)


def good_place(p) -> bool:
    """A place a citizen would name for an event: a community, landmark or road with a clean name."""
    name = p.name[: len(p.name) - 1]
    return (
        p.kind in ("community", "landmark", "road")
        and 3 <= len(p.name) <= 9
        and not (_JUNK_NAME_CHARS & set(name))
        and not re.search(r"[0-9A-Z]", p.name)
    )


# ------------------------------------------------------------------------------------------------
# Rewriting
# ------------------------------------------------------------------------------------------------


def clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE_RE.split(text) if c.strip()]


def swap_synonyms(text: str, rng: random.Random, p: float) -> str:
    pairs = SYNONYMS[:]
    rng.shuffle(pairs)
    for a, b in pairs:
        if rng.random() >= p:
            continue
        if a in text:
            text = text.replace(a, b)
        elif b in text:
            text = text.replace(b, a)
    return text


def restyle_punctuation(text: str, rng: random.Random) -> str:
    style = rng.choice(["ascii", "space", "none", "keep", "keep"])
    if style == "ascii":
        return text.translate(str.maketrans("，。！？；：（）", ",.!?;:()"))
    if style == "space":
        return re.sub(r"[，。！？；]", " ", text)
    if style == "none":
        return re.sub(r"[，。！？；、]", "", text)
    return text


def add_typos(text: str, rng: random.Random, n: int) -> str:
    chars = list(text)
    spots = [i for i, ch in enumerate(chars) if ch in TYPOS]
    for i in rng.sample(spots, min(n, len(spots))):
        chars[i] = TYPOS[chars[i]]
    return "".join(chars)


def fullwidth_digits(text: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return text
    return text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))


def paraphrase(msg: Message, rng: random.Random) -> str:
    """The same citizen's matter told again: a random mix of the rewriting operations."""
    parts = clauses(msg.detail)
    form = rng.choices(["title+detail", "detail", "title", "title+part"], weights=[35, 25, 12, 28])[0]
    if form == "title" and len(msg.title) < 8:
        form = "title+part"
    if len(parts) > 3 and rng.random() < 0.5:  # drop one or two middle clauses
        for _ in range(rng.randint(1, 2)):
            if len(parts) > 3:
                parts.pop(rng.randrange(1, len(parts) - 1))
    if len(parts) > 2 and rng.random() < 0.6:  # reorder: swap neighbours or rotate
        if rng.random() < 0.5:
            i = rng.randrange(len(parts) - 1)
            parts[i], parts[i + 1] = parts[i + 1], parts[i]
        else:
            k = rng.randrange(1, len(parts))
            parts = parts[k:] + parts[:k]
    if form == "title+part":
        keep = max(1, int(len(parts) * rng.uniform(0.3, 0.7)))
        parts = parts[:keep]
    body = "".join(parts)
    if form == "title":
        text = msg.title
    elif form == "detail":
        text = body
    else:
        text = msg.title + rng.choice(["。", "\n", "：", " "]) + body
    text = swap_synonyms(text, rng, rng.uniform(0.2, 0.7))
    if rng.random() < 0.5:
        text = rng.choice(GREETINGS) + text
    if rng.random() < 0.35:
        text = rng.choice(RESUBMIT_OPENERS) + text
    if rng.random() < 0.4:
        text = text + rng.choice(CLOSINGS)
    if rng.random() < 0.3:
        text = add_typos(text, rng, rng.randint(1, 3))
    if rng.random() < 0.2:
        text = text.replace("A市", "", 1) if "A市" in text else "西地省" + text
    return fullwidth_digits(restyle_punctuation(text, rng), rng)


def keywords(text: str, place: str, rng: random.Random, n: int) -> list[str]:
    """The main content words of ``text`` (jieba's TF-IDF keywords), the place left out."""
    import jieba.analyse

    tags = [w for w in jieba.analyse.extract_tags(text.replace(place, ""), topK=8) if len(w) >= 2]
    tags = [
        w for w in tags if w not in ("反映", "投诉", "咨询", "举报", "请问", "问题", "业主", "居民", "领导")
    ]
    tags = [w for w in tags if re.fullmatch(r"[\u4e00-\u9fff]+", w) and w not in place]
    return tags[: max(2, n)] if rng.random() < 0.5 else rng.sample(tags, min(n, len(tags)))


_GREETING_RE = re.compile(r"^(尊敬|您好|你好|各位|领导|市长|书记|局长|县长|谢谢|感谢|此致|敬礼)")


def neighbour_text(msg: Message, place: str, rng: random.Random) -> str:
    """Another person about the same event: the place in their words, what happened told through a
    few of the seed's facts (heavily reworded) or only its key words, plus their own sentences.

    Every neighbour says *what* the event is: the clauses chosen carry the title's key words, the
    key-word variant uses the title's. A neighbour that only says "我也住在那里" reports nothing a
    dispatcher could match.
    """
    title_words = keywords(msg.title or msg.detail[:60], place, rng, 4)
    parts = [c.strip("，。！？；,.!?; ") for c in clauses(msg.detail)]
    parts = [c for c in parts if len(c) >= 6 and not _GREETING_RE.match(c)]
    telling = [c for c in parts if any(w in c for w in title_words)] or parts[:3]
    if rng.random() < 0.35 or not telling:
        words = title_words[: rng.randint(2, 4)]
        joiner = rng.choice(["、", "，", "和", " "])
        take = [
            rng.choice(["这里", "最近", "附近", "一直", "我们这"])
            + "有"
            + joiner.join(words)
            + rng.choice(["的问题", "的情况", "等问题", "，很严重"])
        ]
    else:
        take = rng.sample(telling, min(len(telling), rng.randint(1, 3)))
    own = rng.sample(NEIGHBOUR_EXTRA, rng.randint(1, 2))
    body = take + own
    rng.shuffle(body)
    opener = rng.choice(NEIGHBOUR_OPENERS).format(p=place)
    text = opener + "，".join(body) + rng.choice(["。", "！", "，请处理。", "。"])
    if rng.random() < 0.4 and msg.title:
        title = msg.title.replace(place, "").strip("，。 ")
        text = f"{place}{title}\n{text}" if rng.random() < 0.5 else f"{title}\n{text}"
    text = swap_synonyms(text, rng, rng.uniform(0.5, 0.9))
    if rng.random() < 0.3:
        text = rng.choice(GREETINGS) + text
    return restyle_punctuation(text, rng)


def synthetic_name(kind: str, rng: random.Random) -> str:
    name = "".join(rng.sample(SYNTH_NAME_CHARS, rng.randint(2, 3)))
    return name + rng.choice(SYNTH_SUFFIX.get(kind, ["小区"]))


def swap_place(text: str, places: list, pool: dict[str, list[str]], rng: random.Random) -> tuple[str, bool]:
    """Replace the seed's places (every mention of the name) by others of the same kind, and now
    and then the district code as well."""
    changed = False
    for p in places:
        if not good_place(p) or p.core not in text:
            continue
        names = pool.get(p.kind) or []
        new = rng.choice(names) if names and rng.random() < 0.6 else synthetic_name(p.kind, rng)
        # keep the seed's own suffix when it was dropped from the core (魅力之城[小区])
        new_core = re.sub(r"(小区|社区)$", "", new)
        if new_core == p.core or new_core in text or p.core in new_core:
            continue
        text = text.replace(p.core, new_core)
        changed = True
    districts = re.findall(r"[A-Z][0-9]{1,2}区", text)
    if districts and (not changed or rng.random() < 0.3):
        old = districts[0]
        new = f"{old[0]}{rng.choice([d for d in range(1, 10) if str(d) != old[1:-1]])}区"
        text = text.replace(old, new)
        changed = True
    return text, changed


def main_place(msg: Message) -> str | None:
    """The place a seed is about: a good place named in its title (where the event is)."""
    for p in extract_places(msg.title, None):
        if good_place(p) and p.name in msg.title + msg.detail:
            return p.name
    return None


def address_of(text: str) -> str:
    """A structured address as a walk-in or phone clerk would type it: the places found, joined."""
    places = [
        p.name for p in extract_places(text, None) if p.kind in (*SPECIFIC_KINDS, "district", "building")
    ]
    return "".join(places[:3])


# ------------------------------------------------------------------------------------------------
# The set
# ------------------------------------------------------------------------------------------------


def build(seed: int, matters: int = 700, distractors: int = 3000, data: Path = DATA) -> list[Row]:
    """Rows of the labelled set, in a shuffled order (the CLI sorts by time itself)."""
    rng = random.Random(seed)
    msgs = load_messages(data)
    rng.shuffle(msgs)
    msgs = drop_near_duplicates(msgs)
    placed = [(m, main_place(m)) for m in msgs]
    with_place = [(m, p) for m, p in placed if p]
    pool: dict[str, list[str]] = {"community": [], "road": [], "landmark": []}
    for m, _ in placed[matters * 2 :]:
        for p in extract_places(m.title + m.detail, None):
            if p.kind in pool and good_place(p):
                pool[p.kind].append(p.name)
    seeds = with_place[: int(matters * 0.7)]
    used = {id(m) for m, _ in seeds}
    seeds += [(m, p) for m, p in placed if id(m) not in used][: matters - len(seeds)]
    used = {id(m) for m, _ in seeds}
    others = [m for m, _ in placed if id(m) not in used]
    rng.shuffle(seeds)
    start = datetime(2024, 1, 1, 8, 0, tzinfo=TZ)
    span = timedelta(days=180)
    rows: list[Row] = []
    phones: list[str] = []

    def phone() -> str:
        number = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        phones.append(number)
        return number

    def channel_phone(number: str) -> tuple[str, str]:
        ch = rng.choice(CHANNELS)
        missing = {"letter": 0.6, "chief_mailbox": 0.3, "email": 0.5, "visit": 0.2}.get(ch, 0.05)
        return ch, ("" if rng.random() < missing else number)

    def add(text, time, number, matter, kind, place=""):
        ch, ph = channel_phone(number)
        if not place and ch in ("visit", "phone", "police_110") and rng.random() < 0.7:
            place = address_of(text)
        rows.append(Row(f"R{len(rows) + 1:05d}", text, time, ph, place, ch, matter, kind))

    for n, (msg, place) in enumerate(seeds):
        matter = f"M{n:04d}"
        t0 = start + span * rng.random()
        author = phone()
        seed_text = msg.title + rng.choice(["\n", "。", " "]) + msg.detail if msg.title else msg.detail
        add(seed_text, t0, author, matter, "seed")
        roll = rng.random()
        kinds = []
        if place is None or roll < 0.4:
            kinds += ["resubmission"] * rng.randint(1, 3)
        elif roll < 0.75:
            kinds += ["neighbour"] * rng.randint(1, 3)
        else:
            kinds += ["resubmission"] * rng.randint(1, 2) + ["neighbour"] * rng.randint(1, 2)
        for kind in kinds:
            if kind == "resubmission":
                # mostly within days; now and then near the end of the 30-day window
                delay = (
                    timedelta(hours=rng.expovariate(1 / 60))
                    if rng.random() < 0.8
                    else timedelta(days=rng.uniform(7, 28))
                )
                add(paraphrase(msg, rng), t0 + min(delay, timedelta(days=29)), author, matter, kind)
            else:
                delay = timedelta(hours=rng.uniform(-48, 6 * 24))
                add(neighbour_text(msg, place, rng), t0 + delay, phone(), matter, kind)
        if place and rng.random() < 0.2 and others:
            # a different matter at the same place: an unrelated message moved there
            other = others.pop()
            other_place = main_place(other)
            body = other.title + "\n" + other.detail if other.title else other.detail
            body = (
                body.replace(other_place, place)
                if other_place
                else rng.choice(["我是", "关于"]) + place + "，" + body
            )
            add(
                body,
                t0 + timedelta(hours=rng.uniform(-72, 120)),
                phone(),
                f"{matter}-other",
                "same_place_other",
            )
        if place and rng.random() < 0.45:
            places = extract_places(msg.title + "。" + msg.detail, None)
            text = seed_text if rng.random() < 0.5 else paraphrase(msg, rng)
            swapped, changed = swap_place(text, places, pool, rng)
            if changed:
                add(swapped, t0 + timedelta(hours=rng.uniform(-72, 120)), phone(), f"{matter}-swap", "swap")

    rng.shuffle(others)
    for n, msg in enumerate(others[:distractors]):
        number = rng.choice(phones) if rng.random() < 0.1 else phone()  # one person, two matters
        text = msg.title + "\n" + msg.detail if msg.title else msg.detail
        add(text, start + span * rng.random(), number, f"D{n:05d}", "distractor")

    for row in rows:  # a few appeals come without a time (batch imports)
        if rng.random() < 0.02:
            row.time = None
    rng.shuffle(rows)
    return rows


def format_time(t: datetime | None, rng: random.Random) -> str:
    if t is None:
        return ""
    style = rng.random()
    if style < 0.35:
        return f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}:{t.second:02d}"
    if style < 0.7:
        return t.strftime("%Y-%m-%d %H:%M:%S")
    if style < 0.95:
        return t.isoformat()
    return t.strftime("%Y-%m-%d")


def write_csv(rows: list[Row], path: Path, seed: int, encoding: str = "utf-8") -> None:
    """The CLI's input (no labels) and, beside it, ``<name>.labels.csv`` (id, matter, kind)."""
    rng = random.Random(seed + 1)
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["编号", "内容", "时间", "电话", "地址", "渠道"])
        for r in rows:
            w.writerow([r.id, r.text, format_time(r.time, rng), r.phone, r.place, r.channel])
    with open(path.with_suffix(".labels.csv"), "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "matter", "kind"])
        for r in rows:
            w.writerow([r.id, r.matter, r.kind])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--matters", type=int, default=700)
    ap.add_argument("--distractors", type=int, default=3000)
    ap.add_argument("--output", type=Path, required=True, help="CSV path outside the repository")
    args = ap.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} not found")
    rows = build(args.seed, args.matters, args.distractors)
    write_csv(rows, args.output, args.seed)
    kinds: dict[str, int] = {}
    for r in rows:
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
    print(f"{len(rows)} rows → {args.output}: {kinds}")


if __name__ == "__main__":
    main()
