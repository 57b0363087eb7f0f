"""Budget Law art. 60.3: what the LDF may not fund. Such proposals are flagged for the
governor, never silently accepted or silently dropped."""

from __future__ import annotations

import re

from bot.core.translit import skeleton
from handlers.context import Text

# Words per category, in Cyrillic and the Latin spellings herders use, each matched as a
# whole word in its inflected forms (stem + a case, plural or possessive ending, compared on
# skeletons, so "наадмын", "naadmiin" and "NAADAM" all hit "наадам") and never as a
# substring: "хийдийн" is a monastery's, "хийц" is not. A stem that changes before an
# ending is listed in both forms ("наадам", "наадм"). Phrases match consecutive words.
# Some words are too ambiguous alone: "ой" is a forest as often as an anniversary ("ойн
# зурвас" is a forest strip), so only "жилийн ой" and "ойн баяр" count; "нам" alone is
# also "low" ("нам дор газар"), so only its case forms count.
STEMS: dict[str, tuple[str, ...]] = {
    "festival": (
        "наадам", "наадм", "naadam", "naadm", "festival", "festivals", "фестивал",
        "концерт", "concert", "kontsert",
    ),
    "religion": (
        "хийд", "khiid", "hiid", "monastery", "monasteries", "монастир", "тахилга",
        "тахилг", "takhilga", "takhilg", "шашин", "шашн", "religion", "religious", "лам",
        "ritual", "rituals", "зан үйл", "zan üil",
    ),
    "party": ("+намын", "+намд", "+намаас", "+намыг", "+намууд", "party", "улс төрийн нам"),
    "ngo": ("ТББ", "NGO", "төрийн бус"),
    "monument": (
        "хөшөө", "хөшөөн", "khushuu", "hoshoo", "monument", "monuments",
        # Not "дурсгалт" (memorable, historic): a word of its own.
        "+дурсгал", "+дурсгалын", "+дурсгалд", "+дурсгалыг", "+dursgal", "+dursgaliin",
    ),
    "anniversary": (
        "жилийн ой", "jiliin oi", "ойн баяр", "oin bayar", "anniversary", "anniversaries",
    ),
}  # fmt: skip

# Endings a noun takes (case, plural, reflexive possessive), in both vowel harmonies.
_ENDINGS = (
    "", "ын", "ийн", "ы", "ий", "н", "ны", "ний", "д", "т", "ад", "эд", "од", "өд", "ид",
    "нд", "ыг", "ийг", "г", "ныг", "нийг", "аар", "ээр", "оор", "өөр", "иар", "аас", "ээс",
    "оос", "өөс", "тай", "тэй", "той", "ууд", "үүд", "уудын", "үүдийн", "уудад", "үүдэд",
    "аа", "ээ", "оо", "өө", "ыгаа", "ийгээ", "гаа", "гээ", "даа", "дээ", "доо", "дөө",
    "ынхаа", "ийнхээ",
    # Latin and English endings that skeletons of the Cyrillic ones do not cover.
    "s", "iin", "in", "d", "iig",
)  # fmt: skip
# Words an anniversary phrase must not follow: "олон жилийн ой" is an old forest.
_NOT_AFTER = {"anniversary": frozenset({skeleton("олон"), skeleton("olon")})}


def _forms(word: str) -> frozenset[str]:
    """The skeletons of a word and its inflected forms; "+word" is that form alone."""
    if word.startswith("+"):
        return frozenset({skeleton(word[1:])})
    return frozenset(skeleton(word + ending) for ending in _ENDINGS) - {""}


def _compile() -> list[tuple[str, tuple[frozenset[str], ...]]]:
    out: list[tuple[str, tuple[frozenset[str], ...]]] = []
    for category, entries in STEMS.items():
        for entry in entries:
            words = entry.split()
            # In a phrase only the last word is inflected ("жилийн ойн", not "жилийнд ой").
            parts = [frozenset({skeleton(w)}) for w in words[:-1]] + [_forms(words[-1])]
            out.append((category, tuple(parts)))
    return out


_PATTERNS = _compile()
_WORD = re.compile(r"\w+", re.UNICODE)


def flag_for(text: str) -> str | None:
    """The first category of non-fundable spending the text seems to ask for, or None."""
    words = [skeleton(w) for w in _WORD.findall(text[:500])]
    for category, parts in _PATTERNS:
        not_after = _NOT_AFTER.get(category, frozenset())
        for i in range(len(words) - len(parts) + 1):
            if all(words[i + j] in forms for j, forms in enumerate(parts)) and not (
                i > 0 and words[i - 1] in not_after
            ):
                return category
    return None


def flag_label(flag: str) -> Text | str:
    """A category's catalog label, or a governor's own words as typed."""
    return Text(f"flag_label.{flag}") if flag in STEMS else flag
