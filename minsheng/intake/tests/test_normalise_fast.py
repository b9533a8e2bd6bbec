"""The fast paths of ``normalise`` give exactly what the plain implementations give.

``clean_text`` skips its per-character work for plain text and memoises per-character folds;
``normalise_phone`` remembers phonenumbers' verdict per mobile block (6 digits) and per Jinan landline
block (8 digits). The references below are
the straightforward versions they replaced, kept here as the specification.
"""

import random
import re
import unicodedata

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minsheng.intake import normalise
from minsheng.intake.normalise import FieldError


def reference_clean_text(value, field="content", *, max_length=None, required=False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        value = str(value)
    kept = "，。：；？！（）【】、“”‘’《》"
    value = "".join(ch if ch in kept else unicodedata.normalize("NFKC", ch) for ch in value)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    value = "\n".join(re.sub(r"[ \t\u3000\xa0]+", " ", line).strip() for line in value.split("\n"))
    value = re.sub(r"\n{3,}", "\n\n", value).strip()
    if required and not value:
        raise FieldError(field, "不能为空")
    if max_length is not None and len(value) > max_length:
        raise FieldError(field, f"过长（{len(value)} 字，最多 {max_length} 字）")
    return value


def reference_phone(value, field="appellant_phone") -> str:
    text = reference_clean_text(value, field)
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


def outcome(function, *args, **kwargs):
    try:
        return "ok", function(*args, **kwargs)
    except FieldError as error:
        return "error", error.field, error.message


TEXTS = [
    "",
    " ",
    "泺口街道夜市噪音扰民",
    "CK000000001",
    "济南市公安局 历下分局",
    "济南市公安局  历下分局",
    " 前后空格 ",
    "全角ＡＢＣ１２３",
    "a\u3000b\xa0c\td",
    "第一行\r\n\r\n\r\n\r\n第二行\r",
    "标点，。：；？！（）【】、“”‘’《》保留",
    "\x00控制\x07字符\x1f",
    "㎏㍿ﬁ",
    "e\u0301 composed",
    "\ud800 lone surrogate",
    "emoji 😀 ok",
    "2026-11-20 09:00:00",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("max_length", [None, 5])
def test_clean_text_matches_the_reference(text, max_length):
    expected = outcome(reference_clean_text, text, "f", max_length=max_length, required=True)
    assert outcome(normalise.clean_text, text, "f", max_length=max_length, required=True) == expected


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60) | st.integers() | st.none())
def test_clean_text_matches_the_reference_on_anything(value):
    assert outcome(normalise.clean_text, value) == outcome(reference_clean_text, value)


PHONES = [
    "13905310001",
    "139 0531 0001",
    "+86 139-0531-0001",
    "008613905310001",
    "0531-86081234",
    "053186081234",
    "86081234",
    "6081234",
    "0531-12345678",
    "0531-0000000",
    "0532-86081234",
    "０５３１－８６０８１２３４",
    "010-12345678",
    "10212345678",
    "11012345678",
    "12345678901",
    "14000000000",
    "17400000000",
    "17406000000",
    "19912345678",
    "16212345678",
    "12",
    "",
    "abc",
    "400-123-4567",
]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_matches_the_reference_twice(phone):
    expected = outcome(reference_phone, phone)
    assert outcome(normalise.normalise_phone, phone) == expected
    assert outcome(normalise.normalise_phone, phone) == expected  # the second time from the cache


def test_mobile_blocks_decide_the_whole_block():
    """Mobiles are cached by their first 6 digits; the metadata must not look further. For every
    5-digit start of an 11-digit number beginning with 1, numbers that differ after it agree."""
    rng = random.Random(5)
    normalise._PHONE_BLOCKS.clear()
    for head in range(10000, 20000):
        numbers = [f"{head}000000", f"{head}999999"] + [f"{head}{rng.randrange(10**6):06d}" for _ in range(3)]
        assert len({outcome(reference_phone, n)[0] for n in numbers}) == 1, numbers
        for number in numbers:
            assert outcome(normalise.normalise_phone, number) == outcome(reference_phone, number)


def test_jinan_landline_blocks_decide_the_whole_block():
    """Jinan landlines are cached by their first 8 digits (0531 and 4 more); for every such block,
    numbers that differ after it agree, written with the area code or without."""
    rng = random.Random(6)
    normalise._PHONE_BLOCKS.clear()
    for head in range(10000):
        numbers = [f"0531{head:04d}0000", f"0531{head:04d}9999", f"0531{head:04d}{rng.randrange(10**4):04d}"]
        assert len({outcome(reference_phone, n)[0] for n in numbers}) == 1, numbers
        for number in [*numbers, numbers[2][4:], f"0531-{numbers[0][4:]}"]:
            assert outcome(normalise.normalise_phone, number) == outcome(reference_phone, number), number


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A(\+86|0086)?1[0-9]{10}\Z") | st.from_regex(r"\A0?[1-9][0-9]{6,11}\Z"))
def test_phone_matches_the_reference_on_numbers(value):
    assert outcome(normalise.normalise_phone, value) == outcome(reference_phone, value)
