"""Reading what citizens type: normalisation shared by every reply parser, and opt-out (退订) detection.

Carriers and the MIIT rules make "回复TD退订" the standard; people also write T, td, 退订, 退定, 取消订阅,
"别再发了". An opt-out is honoured whatever else the message says.
"""

import re
import unicodedata

# Punctuation, symbols and spaces people put around a one-word answer.
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_OPT_OUT_WORDS = (
    "退订",
    "退定",
    "取消订阅",
    "取消短信",
    "拒收",
    "别再发",
    "不要再发",
    "别发了",
    "不要发了",
    "再发投诉",
)
_OPT_OUT_EXACT = {"td", "t", "qx", "qxdy", "0000", "退"}
# "TD" as a word of its own (not inside an English word): "3 TD", "不满意TD", "td".
_TD = re.compile(r"(?<![a-z])td(?![a-z])")


def normalise(text: str) -> str:
    """Full-width digits and letters to ASCII (NFKC), lower case, trimmed."""
    return unicodedata.normalize("NFKC", text or "").lower().strip()


def compact(text: str) -> str:
    """``normalise`` without spaces, punctuation and symbols (emoji included): the bare words."""
    return _NOISE.sub("", normalise(text))


def is_opt_out(text: str) -> bool:
    bare = compact(text)
    if bare in _OPT_OUT_EXACT:
        return True
    if any(word in bare for word in _OPT_OUT_WORDS):
        return True
    return bool(_TD.search(normalise(text)))
