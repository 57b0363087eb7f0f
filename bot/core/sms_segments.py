"""How many SMS segments a text costs.

GSM-7 carries 160 septets in one segment, 153 per segment when split (the rest is the
concatenation header); extension characters (^{}\\[~]|€ and form feed) take two septets.
Anything outside GSM-7, Cyrillic included, makes the whole message UCS-2: 70 UTF-16 units
in one segment, 67 per segment when split; an emoji takes two units.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC)
_EXTENDED = frozenset(GSM7_EXTENDED)


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC or ch in _EXTENDED for ch in text)


def _units(text: str) -> tuple[str, int]:
    if is_gsm7(text):
        return "GSM-7", sum(2 if ch in _EXTENDED else 1 for ch in text)
    return "UCS-2", len(text.encode("utf-16-le")) // 2


def count_segments(text: str) -> Segments:
    encoding, units = _units(text)
    single, multi = (160, 153) if encoding == "GSM-7" else (70, 67)
    if units == 0:
        return Segments(encoding, 0, 0)
    segments = 1 if units <= single else -(-units // multi)
    return Segments(encoding, units, segments)


def capacity(encoding: str, segments: int) -> int:
    single, multi = (160, 153) if encoding == "GSM-7" else (70, 67)
    return single if segments <= 1 else multi * segments


def fit(text: str, max_segments: int) -> str:
    """Cut a text at a word boundary, marked with an ellipsis, to fit ``max_segments``."""
    if count_segments(text).segments <= max_segments:
        return text
    encoding, _ = _units(text)
    mark = "..." if encoding == "GSM-7" else "…"
    limit = capacity(encoding, max_segments)
    cut = text
    while cut and count_segments(cut + mark).segments > max_segments:
        # Drop roughly the overflow at once, then walk back to a space.
        over = _units(cut + mark)[1] - limit
        cut = cut[: max(0, len(cut) - max(1, over))]
    space = cut.rfind(" ")
    if space > len(cut) // 2:
        cut = cut[:space]
    return cut.rstrip() + mark
