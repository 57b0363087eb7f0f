"""Money and household counts as herders write them in a proposal.

"45 сая", "6 сая 500 мянга" (6,500,000), "6.5 сая", "6,5 сая", "6500 мянга",
"6 500 000₮", "27 sai", "500 myanga"; "нийт 27 сая" is the total even when a unit price
is given too ("нэг нь 3 сая, 9 ширхэг, нийт 27 сая"), and a unit price times a count
stands for the total when no total is written. "80 өрх", "80 орчим өрх", "80 гаруй өрх",
"ойролцоогоор 80 өрх", "80 orchim ail": about 80 households.
"""

from __future__ import annotations

import re

from bot.core.grammar.keywords import (
    BENEFICIARY_UNITS,
    BILLION_UNITS,
    CURRENCY_WORDS,
    MILLION_UNITS,
    THOUSAND_UNITS,
)
from bot.core.translit import skeleton

MAX_SCAN = 2_000


def _units(*words: str) -> frozenset[str]:
    return frozenset(skeleton(w) for w in words) | frozenset(w for w in words if len(w) == 1)


_BENEFICIARY = _units(*BENEFICIARY_UNITS, "urh", "orh", "khun", "hun", "айлын", "ailiin")
_MULTIPLIER: dict[str, int] = {
    **dict.fromkeys(_units(*BILLION_UNITS), 1_000_000_000),
    **dict.fromkeys(_units(*MILLION_UNITS, "sayiin"), 1_000_000),
    **dict.fromkeys(_units(*THOUSAND_UNITS, "myangan"), 1_000),
}
_CURRENCY = _units(*CURRENCY_WORDS, "төгрөгийн", "tugrik", "togrog")
# "80 орчим өрх": words of "about" or "over" between a count and its unit, or before it.
_ABOUT = _units(
    "орчим", "гаруй", "шахам", "хавьцаа", "илүү", "ойролцоогоор", "бараг", "хүртэл",
    "orchim", "orcim", "garui", "garuy", "shaham", "oirolcoogoor", "oiroltsoogoor", "about",
    "around", "approximately", "approx", "over", "nearly", "some",
)  # fmt: skip
# "нийт 27 сая", "бүгд 27 сая", "total 27 mln": the whole cost.
_TOTAL = _units("нийт", "нийтдээ", "бүгд", "бүгдээрээ", "niit", "niitdee", "bugd", "total")
# "нэг нь 3 сая", "тус бүр 3 сая", "3 сая ширхэг нь": the price of one.
_EACH = _units("нь", "бүр", "нэгийн", "нэгж", "ni", "bur", "each", "per", "unit")
_PIECES = _units("ширхэг", "ширхгийг", "ш", "shirheg", "shirkheg", "pcs", "pieces", "units")
# A thousands separator between digits ("6 500 000", "6,500,000", "6.500.000").
_THOUSANDS = re.compile(r"(?<=\d)[ ,.'](?=\d{3}(?!\d))")
_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+|₮")


def amounts(text: str) -> tuple[int | None, int | None]:
    """(beneficiaries, cost in MNT) written anywhere in a proposal."""
    raw = _TOKEN.findall(_THOUSANDS.sub("", text[:MAX_SCAN]))
    keys = [skeleton(t) if not t[0].isdigit() else t for t in raw]
    low = [t.lower() for t in raw]
    beneficiaries: int | None = None
    totals: list[int] = []
    each: list[int] = []
    plain: list[int] = []
    pieces: int | None = None
    i = 0
    while i < len(raw):
        if not raw[i][0].isdigit():
            i += 1
            continue
        value = float(raw[i].replace(",", "."))
        j = i + 1
        while j < len(raw) and keys[j] in _ABOUT:
            j += 1  # "80 орчим өрх": the unit comes after the "about"
        unit, low_unit = (keys[j], low[j]) if j < len(raw) else ("", "")
        # "өрх: 80" names the unit first, unless that unit already had its number ("200
        # өрх. 45 сая": the 45 is money).
        unit_first = (
            i > 0 and keys[i - 1] in _BENEFICIARY and not (i > 1 and keys[i - 2][0].isdigit())
        )
        if unit in _BENEFICIARY or (unit_first and j == i + 1 and beneficiaries is None):
            if beneficiaries is None and value.is_integer():
                beneficiaries = int(value)
            i = j + 1 if unit in _BENEFICIARY else i + 1
            continue
        if unit in _PIECES and value.is_integer():
            pieces = pieces or int(value)
            i = j + 1
            continue
        factor = _MULTIPLIER.get(unit) or _MULTIPLIER.get(low_unit)
        if factor is None and (unit in _CURRENCY or low_unit in _CURRENCY) and value >= 1000:
            factor = 1
        if factor is None:
            i += 1
            continue
        cost = value * factor
        j += 1
        # "6 сая 500 мянга", "1 тэрбум 200 сая": a smaller amount right after adds on.
        while j + 1 < len(raw) and raw[j][0].isdigit():
            smaller = _MULTIPLIER.get(keys[j + 1]) or _MULTIPLIER.get(low[j + 1])
            if smaller is None or smaller >= factor:
                break
            cost += float(raw[j].replace(",", ".")) * smaller
            factor = smaller
            j += 2
        if j < len(raw) and (keys[j] in _CURRENCY or low[j] in _CURRENCY):
            j += 1  # "27 сая төгрөг"
        marks = {keys[k] for k in range(max(0, i - 2), i)}
        after = {keys[k] for k in range(j, min(len(raw), j + 2))}
        if marks & _TOTAL:
            totals.append(round(cost))
        elif marks & _EACH or (after & _EACH and not after & _TOTAL):
            each.append(round(cost))
        else:
            plain.append(round(cost))
        i = j
    return beneficiaries, _cost(totals, each, plain, pieces)


def _cost(totals: list[int], each: list[int], plain: list[int], pieces: int | None) -> int | None:
    if totals:
        return totals[0]
    if each and pieces and not plain:
        return each[0] * pieces  # "нэг нь 3 сая, 9 ширхэг": the total is the product
    if plain:
        return plain[0]
    return each[0] if each else None
