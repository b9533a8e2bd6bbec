"""Normalisation of what citizens and partner systems send: phones, ID numbers, times, text, places.

Every function here either returns a clean value or raises ``FieldError`` naming the field and what
was wrong; nothing else escapes (the hypothesis tests hold them to that).
"""

import datetime as dt
import re
import unicodedata
from zoneinfo import ZoneInfo

import phonenumbers

from minsheng.core.idnumber import is_valid_id_number

SHANGHAI = ZoneInfo("Asia/Shanghai")


class FieldError(ValueError):
    """A value that cannot be used, with the field it came from and the reason in Chinese."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}：{message}")
        self.field = field
        self.message = message


_SPACES = re.compile(r"[ \t\u3000\xa0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Chinese punctuation kept as written (NFKC would turn ，：？！ into ASCII, which changes how it reads).
_KEPT = "，。：；？！（）【】、“”‘’《》"
# Text every step of ``clean_text`` leaves as it is: printable ASCII, CJK unified ideographs (none of
# which NFKC changes) and the kept punctuation, in words separated by single spaces. Most of what
# partner systems send (references, names, units, times, phone numbers) is such text, so this one
# regex match replaces the per-character work for them; anything else takes the full path below.
_PLAIN = re.compile(rf"[!-~\u4e00-\u9fff{_KEPT}]+(?: [!-~\u4e00-\u9fff{_KEPT}]+)*")


class _CharTable(dict):
    """A ``str.translate`` table filled on first use: each character's replacement is computed once
    per process instead of once per occurrence. Bounded, so a flood of rare characters cannot grow it
    without end: past the bound a character is computed on each use, with the same result."""

    LIMIT = 20_000

    def __init__(self, compute):
        super().__init__()
        self.compute = compute

    def __missing__(self, code: int):
        value = self.compute(chr(code))
        if len(self) < self.LIMIT:
            self[code] = value
        return value


# NFKC folds full-width ASCII (ＡＢＣ１２３) and ideographic spaces, character by character.
_FOLD = _CharTable(lambda ch: ch if ch in _KEPT else unicodedata.normalize("NFKC", ch))
# Control characters and lone surrogates go (None deletes in str.translate); newlines and tabs stay.
_CONTROLS = _CharTable(
    lambda ch: ch if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs") else None
)


def clean_text(
    value, field: str = "content", *, max_length: int | None = None, required: bool = False
) -> str:
    """Full-width letters, digits and spaces to half-width (Chinese punctuation kept), whitespace tidied."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        value = str(value)
    if not _PLAIN.fullmatch(value):
        value = value.translate(_FOLD)
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        value = value.translate(_CONTROLS)
        value = "\n".join(_SPACES.sub(" ", line).strip() for line in value.split("\n"))
        value = _BLANK_LINES.sub("\n\n", value).strip()
    if required and not value:
        raise FieldError(field, "不能为空")
    if max_length is not None and len(value) > max_length:
        raise FieldError(field, f"过长（{len(value)} 字，最多 {max_length} 字）")
    return value


_PHONE_SEPARATORS = re.compile(r"[\s\-()（）]")
_PHONE_DIGITS = re.compile(r"\d{5,20}")
# What phonenumbers decided, by number block, for the two kinds of number that fill a batch: mobiles
# (11 digits starting with 1), keyed by their first 6 digits, and Jinan landlines (0531 + 8 digits, or
# the 8 digits alone), keyed by their first 8. The CN metadata's patterns look at no more than the first
# 5 digits of such a mobile and the first 7 of such a landline, so the verdict is the block's
# (``test_normalise_fast`` checks every block). Value: -1 invalid; 0 a mobile, returned as is; n > 0 a
# landline whose area code has n digits. Parsing and typing a number costs ~40-60 µs and a batch of a
# million rows has a phone on nearly every row. At most 110,000 keys, so it cannot grow without end.
_PHONE_BLOCKS: dict[str, int] = {}
_INVALID, _MOBILE = -1, 0


def _phone_block(candidate: str) -> str:
    if len(candidate) == 11 and candidate[0] == "1":
        return candidate[:6]
    if len(candidate) == 12 and candidate.startswith("0531"):
        return candidate[:8]
    return ""


def normalise_phone(value, field: str = "appellant_phone") -> str:
    """A mainland mobile as 11 digits, a landline as 0531-87654321; empty stays empty."""
    text = clean_text(value, field)
    if not text:
        return ""
    digits = _PHONE_SEPARATORS.sub("", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not _PHONE_DIGITS.fullmatch(digits):
        raise FieldError(field, f"“{text[:20]}”不是有效的电话号码")
    # A bare 8-digit number is a Jinan landline.
    candidate = "0531" + digits if len(digits) in (7, 8) and not digits.startswith("1") else digits
    block = _phone_block(candidate)
    known = _PHONE_BLOCKS.get(block) if block else None
    if known is not None:
        if known == _INVALID:
            raise FieldError(field, f"“{text[:20]}”不是有效的电话号码")
        if known == _MOBILE:
            return candidate
        return f"0{candidate[1 : known + 1]}-{candidate[known + 1 :]}"
    try:
        parsed = phonenumbers.parse(candidate, "CN")
    except phonenumbers.NumberParseException:
        raise FieldError(field, f"“{text[:20]}”不是有效的电话号码") from None
    # is_valid_number(p) is number_type(p) != UNKNOWN (same region, same type helper): one call, not two.
    kind = phonenumbers.number_type(parsed)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        if block:
            _PHONE_BLOCKS[block] = _INVALID
        raise FieldError(field, f"“{text[:20]}”不是有效的电话号码")
    national = str(parsed.national_number)
    if kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ) and national.startswith("1"):
        if block and national == candidate:
            _PHONE_BLOCKS[block] = _MOBILE
        return national
    area = phonenumbers.length_of_geographical_area_code(parsed)
    if area:
        if block and national == candidate[1:]:
            _PHONE_BLOCKS[block] = area
        return f"0{national[:area]}-{national[area:]}"
    return "0" + national if not national.startswith("1") else national


def normalise_id_number(value, field: str = "appellant_id_number") -> str:
    text = clean_text(value, field).upper().replace(" ", "")
    if not text:
        return ""
    if not is_valid_id_number(text):
        raise FieldError(field, "身份证号码校验不通过")
    return text


_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y%m%d%H%M%S",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y年%m月%d日",
)


def parse_time(value, field: str = "received_at", *, now: dt.datetime | None = None) -> dt.datetime:
    """An aware time: naive values are Asia/Shanghai; ISO with an offset keeps it. Future times are refused."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time.min)
    else:
        text = clean_text(value, field)
        if not text:
            raise FieldError(field, "不能为空")
        moment = None
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            for fmt in _TIME_FORMATS:
                try:
                    moment = dt.datetime.strptime(text, fmt)  # noqa: DTZ007 - made aware just below
                    break
                except ValueError:
                    continue
        if moment is None:
            raise FieldError(field, f"无法识别的时间“{text[:30]}”（应如 2026-11-27 09:30:00）")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    if moment.year < 2000:
        raise FieldError(field, f"时间“{moment:%Y-%m-%d}”过早")
    now = now or dt.datetime.now(SHANGHAI)
    if moment > now + dt.timedelta(minutes=10):
        raise FieldError(field, f"时间“{moment:%Y-%m-%d %H:%M}”晚于当前时间")
    return moment
