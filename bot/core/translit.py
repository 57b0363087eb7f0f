"""Mongolian Cyrillic and the Latin spellings herders use, for matching and for cheap SMS.

Two jobs:

* :func:`skeleton` folds a word to one key, so that "санал", "SANAL" and "saanal" match,
  and "өвөлжөө" equals "uvuljuu", "ovoljoo" and "qvqljqq". The fold: Cyrillic to Latin;
  ө/ү/о/у and their Latin stand-ins (o, u, q, ö, ü) all become "o"; х, kh, x -> h;
  ч, ch, ж, zh -> j; ц, ts -> c; ы, й, ь, y, ii -> i; е/ye -> e; repeated letters collapse
  (long vowels are often typed single). Collisions this creates are harmless for our small
  keyword set and are checked by the grammar tests.
* :func:`to_latin` writes Cyrillic the way herders type Mongolian in Latin letters, using
  only GSM-7 characters, so a Mongolian reply costs 160 characters a segment instead of 70:
  х is h (NEGDEH, EHLEH, HEL), ө and о are o, ү and у are u (ZOV, DUN), ц is ts, ч ch,
  ж j, ы and ий ii; е is e after a consonant and ye at the start or after a vowel, so
  loanwords read as people write them ("messej", not "myessyej"). Not MNS 5217 (kh, ö,
  ü): that is what a standard writes, not what a herder types or reads back, and a reply
  tells people which words to type.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache

from bot.core.sms_segments import GSM7_BASIC, GSM7_EXTENDED

_CYR_TO_LAT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "ye", "ё": "yo", "ж": "j",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "ө": "ö", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ү": "ü", "ф": "f",
    "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "i", "ы": "y", "ь": "i",
    "э": "e", "ю": "yu", "я": "ya",
    # Kazakh letters of Bayan-Ölgii, folded to their nearest Mongolian Latin.
    "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ұ": "u", "һ": "h", "і": "i",
}  # fmt: skip

# Order matters: multi-letter spellings first.
_FOLDS = (
    ("kh", "h"), ("zh", "j"), ("ch", "j"), ("ts", "c"), ("sh", "S"), ("ye", "e"),
    ("x", "h"), ("q", "o"), ("ö", "o"), ("ü", "o"), ("u", "o"), ("y", "i"), ("w", "v"),
)  # fmt: skip
_FOLD_RE = re.compile("|".join(re.escape(a) for a, _ in _FOLDS))
_FOLD_MAP = dict(_FOLDS)
_REPEATS = re.compile(r"(.)\1+")
# A "v" with no vowel beside it is a typed ү ("bvrtgvvleh", "dvn"); в always touches a vowel.
_V_AS_U = re.compile(r"(?<![aeiouyöüq])v+(?![aeiouyöüq])")
_NOT_WORD = re.compile(r"[^a-zS0-9]+")


def _cyr_to_lat_lower(text: str) -> str:
    return "".join(_CYR_TO_LAT.get(ch, ch) for ch in text)


# Remembered: every message's words are folded by several readers (opt-out, keywords,
# amounts, greetings), and the same few thousand words come every day.
@lru_cache(maxsize=32_768)
def skeleton(word: str) -> str:
    """The matching key of a word or short phrase (see the module docstring)."""
    # The soft and hard signs are mostly left out when typed in Latin: drop them.
    latin = _cyr_to_lat_lower(word.lower().replace("ь", "").replace("ъ", ""))
    latin = unicodedata.normalize("NFKD", latin)
    # Keep ö and ü before stripping marks: they are letters of their own here.
    latin = latin.replace("o\u0308", "ö").replace("u\u0308", "ü")
    latin = "".join(ch for ch in latin if not unicodedata.combining(ch))
    latin = _V_AS_U.sub("ü", latin)
    folded = _FOLD_RE.sub(lambda m: _FOLD_MAP[m.group(0)], latin)
    folded = _NOT_WORD.sub("", folded)
    return _REPEATS.sub(r"\1", folded).replace("S", "sh")


def fuzzy_ratio(a: str, b: str) -> float:
    """How alike two names are, 0..1, compared on their skeletons."""
    sa, sb = skeleton(a), skeleton(b)
    if not sa or not sb:
        return 0.0
    return SequenceMatcher(None, sa, sb).ratio()


def is_cyrillic(text: str) -> bool:
    """True when most letters of the text are Cyrillic."""
    cyr = lat = 0
    for ch in text:
        if ch.isalpha():
            if "\u0400" <= ch <= "\u04ff":
                cyr += 1
            else:
                lat += 1
    return cyr > lat


_PUNCT = {
    "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "‚": "'",
    "–": "-", "—": "-", "−": "-", "…": "...", "№": "No", "₮": "tug", "•": "*", "·": "*",
    "\u00a0": " ", "\t": " ", "≤": "<=", "≥": ">=", "×": "x", "✓": "v",
}  # fmt: skip
_GSM = frozenset(GSM7_BASIC) | frozenset(GSM7_EXTENDED)


# What herders type (DOMAIN.md, "How herders write"), for replies. skeleton() reads with
# the map above (MNS letters, which it folds to the same keys anyway).
_TYPED = {**_CYR_TO_LAT, "х": "h", "ө": "o", "ү": "u", "ы": "ii"}
_CYR_VOWELS = frozenset("аэиоуөүыеёюяәұі")


def _latin_char(ch: str, prev: str, upper_word: bool) -> str:
    low = ch.lower()
    if low not in _TYPED:
        return ch
    out = _TYPED[low]
    # е is "ye" where it is said so (at the start, after a vowel: "ерөнхий", "бие"), "e"
    # after a consonant, as in the loanwords people write: мессеж -> messej, телефон.
    if low == "е" and prev.lower() not in _CYR_VOWELS and prev.isalpha():
        out = "e"
    if ch != low:  # an upper-case Cyrillic letter
        return out.upper() if upper_word else out[:1].upper() + out[1:]
    return out


def to_latin(text: str) -> str:
    """Cyrillic Mongolian as herders type it in Latin, in GSM-7 characters only."""
    out: list[str] = []
    for word in re.split(r"(\s+)", text):
        letters = [c for c in word if c.isalpha()]
        upper_word = len(letters) > 1 and all(c.isupper() for c in letters)
        prev = ""
        for ch in word:
            out.append(_latin_char(ch, prev, upper_word))
            prev = ch
    return gsm_safe("".join(out))


def gsm_safe(text: str) -> str:
    """Replace or drop every character GSM-7 cannot carry."""
    out: list[str] = []
    for ch in text:
        if ch in _GSM:
            out.append(ch)
            continue
        if ch in _PUNCT:
            out.append(_PUNCT[ch])
            continue
        decomposed = unicodedata.normalize("NFKD", ch)
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        if base and all(c in _GSM for c in base):
            out.append(base)
        elif ch.isspace():
            out.append(" ")
        # Anything else (emoji, other scripts) is dropped: it would turn the SMS into UCS-2.
    return "".join(out)
