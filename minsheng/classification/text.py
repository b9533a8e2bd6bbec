"""Text normalisation shared by training and prediction.

Appeals reach the classifier in two shapes: raw text as the citizen wrote it (title + detail), and
text that was already segmented by jieba with stop words and punctuation removed (words separated by
spaces; the only surviving copy of some historical appeals is in this shape). Both are brought to the
same two views so that one model serves both:

* a *character stream*: NFKC-normalised (full-width → half-width), lower-cased, with whitespace,
  punctuation and symbols removed, so character n-grams never depend on how the text was segmented;
* a *word list*: the given words for pre-segmented text, jieba's words for raw text, in both cases
  without stop words, punctuation and bare numbers, so a raw appeal looks like the segmented ones.
"""

from __future__ import annotations

import re
import threading
import unicodedata

import jieba

# Function words that the segmented historical data had already removed (a common Chinese stop-word
# list); removing the same words from raw text keeps the two shapes' word statistics alike.
STOP_WORDS = frozenset(
    """
    的 了 是 在 我 我们 和 不 有 都 也 没有 就 为 到 要 对 给 还 与 被 等 上 这 可以 但 又 去 能 吗
    并 而 让 他们 向 将 该 来 从 不能 就是 这样 什么 把 本人 多 一 及 以 没 作为 有关 这个 关于 自己
    由 但是 会 这些 可 不是 个 于 他 其 如果 还是 很 按 你 或 过 呢 因 您 着 为了 通过 们 因为 才
    任何 怎么 根据 所 你们 只有 更 还有 时候 内 而且 用 此 地 其他 谁 难道 同时 至 这么 为何 很多
    且 按照 之 由于 所以 或者 必须 如此 吧 那 得 非常 那么 如何 均 啊 她 经 甚至 这里 可是 只是 叫
    才能 并且 连 对于 一样 本 第 可能 比 多少 跟 各种 因此 不会 如 自 其中 以及 大家 到底 当 各
    如下 仍 哪里 不管 只要 即 虽然 像 据 然后 有些 竟然 然而 另外 的话 随着 那里 起来 其实 既然
    另 等等 别人 仅 某 它 则 既 每 不但 呀 于是 其它 同 某些 那些 便 反而 而是 不仅 及其 更加 之一
    哪个 怎样 首先 否则 他人 么 哪些 几乎 哪 那个 除了 除 若 别的
    """.split()
)

_WHITESPACE = re.compile(r"\s+")
# \w keeps CJK characters, letters and digits; everything else is punctuation or a symbol.
_NOT_WORD = re.compile(r"[\W_]+")
# Excel exports of the source data carry literal carriage-return escapes.
_EXCEL_CR = re.compile(r"_x000[dD]_")

_jieba_lock = threading.Lock()
_jieba_ready = False


def _ensure_jieba() -> None:
    """Load jieba's dictionary once per process, quietly (it logs to stderr and takes ~1 s)."""
    global _jieba_ready
    if _jieba_ready:
        return
    with _jieba_lock:
        if not _jieba_ready:
            jieba.setLogLevel(60)
            jieba.initialize()
            _jieba_ready = True


def normalise(text: str | None) -> str:
    """NFKC (full-width → half-width, compatibility forms), drop Excel escapes, collapse whitespace."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = _EXCEL_CR.sub(" ", text)
    return _WHITESPACE.sub(" ", text).strip()


def is_pre_segmented(text: str) -> bool:
    """True when ``text`` (already normalised) looks like space-separated jieba output.

    Raw Chinese has almost no spaces (one between title and detail, a few around Latin words);
    segmented text has one every two or three characters. On the Teddy Cup data this separates
    the two kinds without a single error.
    """
    pieces = text.count(" ") + 1
    if pieces < 8:
        return False
    return pieces / max(len(text) - pieces + 1, 1) > 0.2


def char_stream(text: str) -> str:
    """The normalised text without whitespace, punctuation and symbols, lower-cased."""
    return _NOT_WORD.sub("", text).lower()


def words(text: str) -> list[str]:
    """Content words of normalised ``text``: segmented by jieba unless it is already segmented."""
    if is_pre_segmented(text):
        pieces = text.split(" ")
    else:
        _ensure_jieba()
        # Without the HMM for unknown words jieba is ~25 % faster; the unknown words' characters
        # are in the character n-grams anyway, and cross-validated macro-F1 did not change.
        pieces = jieba.lcut(text, HMM=False)
    out = []
    for piece in pieces:
        piece = piece.strip().lower()
        if not piece or piece in STOP_WORDS or piece.isdigit() or not _NOT_WORD.sub("", piece):
            continue
        out.append(piece)
    return out
