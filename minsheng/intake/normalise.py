"""Normalisation of what citizens and partner systems send: phones, ID numbers, times, text, places.

Every function here either returns a clean value or raises ``FieldError`` naming the field and what
was wrong; nothing else escapes (the hypothesis tests hold them to that).
"""

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
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


def clean_text(
    value, field: str = "content", *, max_length: int | None = None, required: bool = False
) -> str:
    """Full-width letters, digits and spaces to half-width (Chinese punctuation kept), whitespace tidied."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        value = str(value)
    # NFKC folds full-width ASCII (ＡＢＣ１２３) and ideographic spaces; it would also turn Chinese
    # punctuation (，：？！) into ASCII, which changes how a message reads, so those are kept.
    kept = "，。：；？！（）【】、“”‘’《》"
    value = "".join(ch if ch in kept else unicodedata.normalize("NFKC", ch) for ch in value)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    value = "\n".join(_SPACES.sub(" ", line).strip() for line in value.split("\n"))
    value = _BLANK_LINES.sub("\n\n", value).strip()
    if required and not value:
        raise FieldError(field, "不能为空")
    if max_length is not None and len(value) > max_length:
        raise FieldError(field, f"过长（{len(value)} 字，最多 {max_length} 字）")
    return value


def normalise_phone(value, field: str = "appellant_phone") -> str:
    """A mainland mobile as 11 digits, a landline as 0531-87654321; empty stays empty."""
    text = clean_text(value, field)
    if not text:
        return ""
    digits = re.sub(r"[\s\-()（）]", "", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not re.fullmatch(r"\d{5,20}", digits):
        raise FieldError(field, f"“{text[:20]}”不是有效的电话号码")
    try:
        # A bare 8-digit number is a Jinan landline.
        candidate = "0531" + digits if len(digits) in (7, 8) and not digits.startswith("1") else digits
        parsed = phonenumbers.parse(candidate, "CN")
    except phonenumbers.NumberParseException:
        raise FieldError(field, f"“{text[:20]}”不是有效的电话号码") from None
    if not phonenumbers.is_valid_number(parsed):
        raise FieldError(field, f"“{text[:20]}”不是有效的电话号码")
    national = str(parsed.national_number)
    if phonenumbers.number_type(parsed) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ) and national.startswith("1"):
        return national
    area = phonenumbers.length_of_geographical_area_code(parsed)
    if area:
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


@dataclass(frozen=True)
class Place:
    district: str = ""
    township: str = ""
    community: str = ""


class Gazetteer:
    """Resolves address text to gazetteer codes by the names people write (a first, literal resolver;
    routing refines it). Longest names win, and a township or community must agree with a district
    when both are named."""

    def __init__(self):
        from minsheng.divisions.models import Division

        self.districts: list[tuple[str, str]] = []
        self.townships: list[tuple[str, str, str]] = []
        self.communities: list[tuple[str, str, str, str]] = []
        for code, name, short, level, district in Division.objects.values_list(
            "code", "name", "short_name", "level", "district_code"
        ):
            if level == "district":
                for alias in {name, name[:-1] if len(name) > 2 else name}:
                    self.districts.append((alias, code))
            elif level == "township":
                for alias in {name, short} - {""}:
                    self.townships.append((alias, code, district))
            elif level == "community" and short and len(short) >= 2:
                self.communities.append((short, code, code[:9], district))
        self.districts.append(("高新区", "370176"))
        for table in (self.districts, self.townships, self.communities):
            table.sort(key=lambda row: -len(row[0]))

    def resolve(self, text: str) -> Place:
        if not text:
            return Place()
        district = next((code for name, code in self.districts if name in text), "")
        township = next(
            (code for name, code, d in self.townships if name in text and (not district or d == district)), ""
        )
        community = next(
            (
                code
                for name, code, t, d in self.communities
                if (name + "社区") in text
                or (name + "村") in text
                or (township and t == township and name in text)
            ),
            "",
        )
        if community:
            township = township or community[:9]
        if township:
            district = district or township[:6]
        return Place(district, township, community)


_gazetteer: Gazetteer | None = None


def gazetteer() -> Gazetteer:
    global _gazetteer
    if _gazetteer is None:
        _gazetteer = Gazetteer()
    return _gazetteer
