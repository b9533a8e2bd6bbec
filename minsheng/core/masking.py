"""Masking of citizens' phone and ID numbers for people who do not need the full value."""


def mask_phone(phone: str) -> str:
    """138****8000 for a mobile; 0531-****1234 for a landline; short values are fully starred."""
    if not phone:
        return ""
    digits = phone.replace(" ", "")
    if len(digits) >= 11 and digits[-11] == "1" and digits[-11:].isdigit():
        tail = digits[-11:]
        return f"{tail[:3]}****{tail[-4:]}"
    if len(digits) > 4:
        head, sep, rest = digits.partition("-")
        if sep:
            return f"{head}-{'*' * max(len(rest) - 4, 1)}{rest[-4:]}"
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


def mask_id_number(number: str) -> str:
    """370102********1234: keeps the area code and last four, hides the birth date."""
    if not number:
        return ""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]
