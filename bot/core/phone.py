"""Phone numbers as Mongolians write them, normalised to E.164 with libphonenumber."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers


class PhoneError(ValueError):
    """An invalid number; the message is a short reason in English for the CLI and logs,
    ``code`` says which (``empty``, ``not_a_number``, ``invalid``) for a page that answers
    in its reader's language (bot/web.py)."""

    def __init__(self, message: str, code: str = "invalid", raw: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.raw = raw


def normalise(raw: str, region: str = "MN") -> str:
    """``99112233``, ``+976 9911 2233``, ``976-99112233`` -> ``+97699112233``."""
    text = raw.strip()
    if not text:
        raise PhoneError("empty phone number", "empty")
    digits = "".join(ch for ch in text if ch.isdigit())
    # "976-99112233" without a plus is common: read it as the country code.
    if not text.startswith("+") and digits.startswith("976") and len(digits) == 11:
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"not a phone number: {raw!r}", "not_a_number", raw) from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"not a valid number in {region} or abroad: {raw!r}", "invalid", raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# A herder's burst (join, propose, vote) repeats one sender: libphonenumber's parse was a
# sixth of a webhook's CPU. Small: a few thousand recent senders.
@lru_cache(maxsize=4096)
def try_normalise(raw: str) -> str | None:
    try:
        return normalise(raw)
    except PhoneError:
        return None


def tel(phone: str) -> str:
    return f"tel:{phone}"
