"""Mainland resident ID numbers (GB 11643): 17 digits, then an ISO 7064 MOD 11-2 check character."""

import datetime as dt

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def is_valid_id_number(number: str) -> bool:
    """True for an 18-character ID with a real birth date and the right check character."""
    number = (number or "").strip().upper()
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if birth.year < 1900:
        return False
    return check_character(number[:17]) == number[17]
