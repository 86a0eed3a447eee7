"""Phone numbers: E.164 from whatever people type, and masking for those who may not see them."""

from __future__ import annotations


import phonenumbers
from flask_babel import lazy_gettext as _l

from .errors import FieldError


def normalise_phone(raw: str, region: str = "HU", field: str = "phone") -> str:
    """E.164 (``+36301234567``) from national or international input; FieldError if invalid."""
    text = (raw or "").strip()
    if not text:
        raise FieldError(field, _l("A phone number is required."))
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise FieldError(field, _l("This is not a phone number.")) from None
    if not phonenumbers.is_valid_number(number):
        raise FieldError(field, _l("This phone number is not valid (check the area code and the number of digits)."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    """``+36 30 123 4567``: international format with spaces."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def mask_phone(e164: str) -> str:
    """``+36 30 *** **67``: country and area code and the last two digits; the rest hidden."""
    if not e164:
        return ""
    groups = display_phone(e164).split(" ")
    keep = 2 if len(groups) > 2 else 1
    hidden = " ".join(groups[keep:])
    digits = sum(c.isdigit() for c in hidden)
    seen = 0
    masked = []
    for char in hidden:
        if char.isdigit():
            seen += 1
            masked.append(char if seen > digits - 2 else "*")
        else:
            masked.append(char)
    return " ".join(groups[:keep] + ["".join(masked)])


def mask_email(email: str) -> str:
    """``k***@example.hu``."""
    if not email or "@" not in email:
        return ""
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def is_mobile(e164: str) -> bool:
    """Whether the number can take SMS (mobile, or a type that may be mobile)."""
    kind = phonenumbers.number_type(phonenumbers.parse(e164, None))
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


