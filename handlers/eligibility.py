"""Budget Law art. 60.3: what the LDF may not fund. Such proposals are flagged for the
governor, never silently accepted or silently dropped."""

from __future__ import annotations

import re

from bot.translit import skeleton
from handlers.context import Text

# Word stems per category, in Cyrillic and the Latin spellings herders use. Matched on the
# skeleton of each word's start, so "наадмын", "naadmiin" and "NAADAM" all hit "наадам".
STEMS: dict[str, tuple[str, ...]] = {
    "festival": ("наадам", "наадм", "naadam", "naadm", "festival", "фестивал", "концерт"),
    "religion": (
        "хийд",
        "khiid",
        "hiid",
        "monastery",
        "монастир",
        "тахилга",
        "takhilga",
        "шашин",
        "шашны",
        "religio",
        "лам",
        "ritual",
        "зан үйл",
    ),
    "party": ("намын", "namiin", "party", "нам"),
    "ngo": ("ТББ", "NGO", "төрийн бус"),
    "monument": ("хөшөө", "khushuu", "hoshoo", "monument", "дурсгал"),
    "anniversary": ("ойн", "oin", "anniversary", "жилийн ой"),
}
# Short stems must match a whole word, long ones a word's beginning.
_WHOLE_WORD_MAX = 3


def _compile() -> list[tuple[str, str, bool]]:
    out: list[tuple[str, str, bool]] = []
    for category, stems in STEMS.items():
        for stem in stems:
            for part in stem.split():
                key = skeleton(part)
                if key:
                    out.append((category, key, len(key) <= _WHOLE_WORD_MAX))
    return out


_PATTERNS = _compile()
_WORD = re.compile(r"\w+", re.UNICODE)


def flag_for(text: str) -> str | None:
    """The first category of non-fundable spending the text seems to ask for, or None."""
    words = [skeleton(w) for w in _WORD.findall(text[:500])]
    for category, key, whole in _PATTERNS:
        for w in words:
            if (w == key) if whole else w.startswith(key):
                return category
    return None


def flag_label(flag: str) -> Text | str:
    """A category's catalog label, or a governor's own words as typed."""
    return Text(f"flag_label.{flag}") if flag in STEMS else flag
