"""Text features for duplicate detection: normalisation, character bigrams and their weights.

Appeals are compared as sets of character bigrams: no word segmentation (too slow for millions of
appeals and brittle on place names), robust to reordered clauses and punctuation. A bigram is kept
as its exact integer key ``cp1 << 21 | cp2``; 32-bit hashes are derived where a fixed-size table
needs them.

Weights: a shared rare bigram ("油烟", "楼板") says far more than a common one ("问题", "我们").
The detector estimates document frequency from the appeals it holds, and starts from a prior taken
from jieba's dictionary (general-language word frequencies, MIT-licensed, installed with jieba), so
that a CSV of ten rows is weighed like a city's archive rather than with flat weights.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from pathlib import Path

import numpy as np

_U64 = np.uint64
_CLEAN_RE = re.compile(r"[^0-9A-Z\u3400-\u4dbf\u4e00-\u9fff]+")
_KEY_SHIFT = _U64(21)
# the typical appeal length the prior is computed for (characters)
_PRIOR_DOC_LEN = 150


def clean_text(text: str) -> str:
    """Letters, digits and CJK only (NFKC, upper case): punctuation, spacing and full-width digits
    differ between channels and retellings and must not make two appeals look different."""
    return _CLEAN_RE.sub("", unicodedata.normalize("NFKC", text or "").upper())


# Work-order frames: how a call-taker or window clerk opens what a citizen said ("来电人反映：",
# "市民来电称，", "报警人称", "群众在窗口咨询：", "接群众电话："). They say who spoke and through which
# door, not what the matter is, yet make up a large share of a short appeal: two different citizens'
# short notes opened the same way look alike. Only a frame at the start of a line (the title is the
# first line, the content the next) is taken, so "反映" inside a sentence stays.
_SPEAKERS = (
    "市民|群众|来电人|来访人|来访群众|办事群众|窗口群众|报警人|举报人|投诉人|求助人|反映人|网民|留言人|来信人|"
    "当事人|事主|诉求人"
)
_VIAS = "来电|来访|来信|电话|报警|在窗口|留言|致电"
_VERBS = "反映|报称|称|咨询|询问|举报|投诉|建议|求助|表扬|诉求|报警称|提出"
_QUESTION_VERBS = frozenset({"咨询", "询问"})
_FRAME_RE = re.compile(
    rf"^[ \t\u3000]*(?:接群众电话|(?:(?:{_SPEAKERS})(?:{_VIAS})?|{_VIAS})(?P<verb>{_VERBS})?)(?:[：:，,]|(?<=称))",
    re.MULTILINE,
)
# Interrogative openings of a consultation written by the citizen ("请问，", "麻烦问一下", "想咨询").
_ASK_RE = re.compile(
    r"^[ \t\u3000]*(?:您好|你好|局长您好|领导好)?[，,！!：:]?(?:请问|想问|麻烦问|想咨询|咨询一下|咨询)",
    re.MULTILINE,
)


def strip_boilerplate(text: str) -> str:
    """``text`` without the work-order frames that open its lines (see ``_FRAME_RE``)."""
    return _FRAME_RE.sub("", text or "")


def is_consultation(text: str) -> bool:
    """Whether ``text`` reads as a question put to the police (a consultation): a frame that says so
    ("来电人咨询：", "市民来电询问："), a line opening with "请问"/"想咨询", or a title about a
    consultation ("户口业务咨询", "关于办公时间的咨询")."""
    if not text:
        return False
    for m in _FRAME_RE.finditer(text):
        if m.group("verb") in _QUESTION_VERBS:
            return True
    if _ASK_RE.search(text):
        return True
    title = text.split("\n", 1)[0]
    return "\n" in text and "咨询" in title


# Identifiers that tell two matters apart as a place name does: a licence plate, a sum of money.
# Read from the cleaned text (punctuation gone), so a sum is compared by its significant digits
# ("1.3万元", "13000元" and "13万" all read 13): looser than the value, never wrongly apart.
_PLATE_RE = re.compile("[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Z][A-Z0-9]{5}")
_AMOUNT_RE = re.compile("([0-9]+)(?:万|千)?(?:多)?(?:元|块)")


def identifiers(clean: str) -> tuple[frozenset[str], frozenset[str]]:
    """(licence plates, sums of money as significant digits) named in a ``clean_text`` result."""
    plates = frozenset(_PLATE_RE.findall(clean))
    amounts = frozenset(d.rstrip("0") or "0" for d in _AMOUNT_RE.findall(clean))
    return plates, amounts


def codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(_U64)


def bigram_keys(clean: str) -> np.ndarray:
    """Sorted unique bigram keys of ``clean`` (a ``clean_text`` result); a one-character text is its
    own shingle so that it still has a fingerprint."""
    if not clean:
        return np.zeros(0, dtype=_U64)
    if len(clean) == 1:
        return codepoints(clean)
    return np.unique(bigram_sequence(clean))


def bigram_sequence(clean: str) -> np.ndarray:
    """The key of each bigram of ``clean`` in order (``clean[i:i + 2]`` at ``i``)."""
    cps = codepoints(clean)
    return (cps[:-1] << _KEY_SHIFT) | cps[1:]


def hash32(keys: np.ndarray) -> np.ndarray:
    """Deterministic 32-bit hashes of bigram keys (Python's ``hash`` is salted per process and
    would break saved indexes)."""
    return ((keys * _U64(0x9E3779B97F4A7C15)) >> _U64(32)).astype(np.uint32)


# jieba part-of-speech tags of words that do not end (or start) a place name: verbs, numerals,
# adverbs, prepositions, pronouns, locatives, time words ("干扰小区", "十分", "附近医院" are not
# places). Not "b" (区别词): 职业技术学校 and 涉外旅游学院 are names.
_NOT_NAME_TAGS = frozenset({"v", "m", "f", "d", "p", "c", "r", "u", "t", "ad", "vd", "q"})


@functools.cache
def _jieba_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, str]] | None:
    """(per-codepoint character rate, sorted in-word bigram keys, their rates, part-of-speech tags
    of two-character words) from jieba's dictionary, or None when jieba is not installed."""
    try:
        import jieba
    except ImportError:  # pragma: no cover - jieba is a dependency
        return None
    path = Path(jieba.__file__).with_name("dict.txt")
    if not path.exists():  # pragma: no cover
        return None
    chars = np.zeros(0x30000, dtype=np.float64)
    bigrams: dict[int, float] = {}
    tags: dict[str, str] = {}
    total = 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            word, freq, tag = line.split(" ", 2)
            f = int(freq)
            if len(word) == 2:
                tags[word] = tag.strip()
            cps = [ord(c) for c in word]
            total += f * len(cps)
            for cp in cps:
                if cp < 0x30000:
                    chars[cp] += f
            for a, b in itertools.pairwise(cps):
                key = a << 21 | b
                bigrams[key] = bigrams.get(key, 0.0) + f
    chars /= total
    # Latin letters and digits are rare in the dictionary but everywhere in appeals (dates,
    # numbers, codes); give them a common-character rate.
    chars[:128] = np.maximum(chars[:128], 0.004)
    keys = np.fromiter(bigrams.keys(), dtype=_U64, count=len(bigrams))
    rates = np.fromiter(bigrams.values(), dtype=np.float64, count=len(bigrams)) / total
    order = np.argsort(keys)
    return chars, keys[order], rates[order], tags


def words_tagged(wanted: set[str]) -> frozenset[str]:
    """Two-character words whose jieba part-of-speech tag is in ``wanted`` (empty without jieba)."""
    tables = _jieba_tables()
    return frozenset(w for w, t in tables[3].items() if t in wanted) if tables else frozenset()


@functools.cache
def not_name_words() -> frozenset[str]:
    """Two-character words that do not end a place name (see ``_NOT_NAME_TAGS``)."""
    return words_tagged(set(_NOT_NAME_TAGS))


def prior_probability(keys: np.ndarray) -> np.ndarray:
    """Probability that a typical appeal contains each bigram, from general-language frequencies:
    inside a word (jieba's dictionary) or two independent neighbouring characters."""
    tables = _jieba_tables()
    if tables is None or not len(keys):
        return np.zeros(len(keys), dtype=np.float64)
    chars, word_keys, word_rates, _ = tables
    first = np.minimum(keys >> _KEY_SHIFT, _U64(0x2FFFF)).astype(np.int64)
    second = np.minimum(keys & _U64((1 << 21) - 1), _U64(0x2FFFF)).astype(np.int64)
    rate = chars[first] * chars[second]
    pos = np.minimum(word_keys.searchsorted(keys), len(word_keys) - 1)
    inside = word_keys[pos] == keys
    rate = rate + np.where(inside, word_rates[pos], 0.0)
    return -np.expm1(-_PRIOR_DOC_LEN * rate)


def warm_up() -> None:
    """Load the prior tables now (about a second) rather than on the first comparison."""
    _jieba_tables()


def text_of_keys(keys: np.ndarray) -> list[str]:
    """The bigrams behind keys (for debugging and explanations)."""
    return [chr(int(k) >> 21) + chr(int(k) & ((1 << 21) - 1)) for k in keys]


__all__ = [
    "bigram_keys",
    "clean_text",
    "codepoints",
    "hash32",
    "identifiers",
    "is_consultation",
    "not_name_words",
    "prior_probability",
    "strip_boilerplate",
    "text_of_keys",
    "warm_up",
    "words_tagged",
]
