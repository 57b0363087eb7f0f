"""Mongolian case endings for the names and numbers Sanal puts into its replies.

A catalog text asks for a case with a format spec, ``"№{n:acc} №{into:dat} нэгтгэлээ"``,
and :func:`bot.texts.render` fills it in through :func:`inflect`; a text never glues an
ending to a ``{variable}`` itself, because the right ending depends on the value.

* **Names** (a bag, a soum, an aimag) take the ending on their last word, written on
  without a hyphen ("Баянбулагт", "Загийн"), chosen by the word's vowels (vowel harmony)
  and its last sound. Proper names keep their spelling whole (Алтанбулагийн, Рашбулагийн,
  Мандал-Овоогийн are how names are written), so the fleeting vowel of common nouns
  (булаг → булгийн) is not applied to them; the few common nouns a unit's name can end in
  (баг, сум, хороо, аймаг, дүүрэг) have their real forms ("5-р хороонд", "Заг суманд").
* **Numbers** take a hyphen and the ending of the number as it is read aloud: 6 is
  "зургаа", so "№6-г", "6-д", "6-гаас"; 1 is "нэг", so "1-ийг", "1-ийн". The same for a
  name that ends in a number ("Буянт 2-т") or in a name between slashes, as official
  texts write it ("Могой /Рэнчинжугнай/-д").

What cannot be read (no Cyrillic vowel at the end, Latin letters) is returned as it is:
a missing ending reads a little bare, a wrong one reads wrong, and a render never fails.
"""

from __future__ import annotations

import re
from typing import Final

GEN: Final = "gen"  # genitive, "of": Загийн, 6-гийн
DAT: Final = "dat"  # dative-locative, "to, in": Загт, 6-д
ABL: Final = "abl"  # ablative, "from, than": Загаас, 6-гаас
ACC: Final = "acc"  # accusative, the object: Загийг, 6-г
INS: Final = "ins"  # instrumental, "by, with": Загаар, 6-гаар
CASES: Final = (GEN, DAT, ABL, ACC, INS)

_BACK = frozenset("аоуыяёю")
_FRONT = frozenset("эөүе")
_VOWELS = _BACK | _FRONT | {"и"}
_CYRILLIC_WORD = re.compile(r"[а-яёөү]+$")

# The endings of a number by the last word it is read with (hyphen forms, in CASES order).
_NUMBER_WORDS: dict[str, tuple[str, str, str, str, str]] = {
    "тэг": ("ийн", "т", "ээс", "ийг", "ээр"),
    "нэг": ("ийн", "д", "ээс", "ийг", "ээр"),
    "хоёр": ("ын", "т", "оос", "ыг", "оор"),
    "гурав": ("ын", "т", "аас", "ыг", "аар"),
    "дөрөв": ("ийн", "т", "өөс", "ийг", "өөр"),
    "тав": ("ын", "д", "аас", "ыг", "аар"),
    "зургаа": ("гийн", "д", "гаас", "г", "гаар"),
    "долоо": ("гийн", "д", "гоос", "г", "гоор"),
    "найм": ("ын", "д", "аас", "ыг", "аар"),
    "ес": ("ийн", "д", "өөс", "ийг", "өөр"),
    "арав": ("ын", "т", "аас", "ыг", "аар"),
    "хорь": ("ийн", "д", "иос", "ийг", "иор"),
    "гуч": ("ийн", "д", "аас", "ийг", "аар"),
    "дөч": ("ийн", "д", "өөс", "ийг", "өөр"),
    "тавь": ("ийн", "д", "иас", "ийг", "иар"),
    "жар": ("ын", "т", "аас", "ыг", "аар"),
    "дал": ("ын", "д", "аас", "ыг", "аар"),
    "ная": ("ын", "д", "аас", "ыг", "аар"),
    "ер": ("ийн", "т", "өөс", "ийг", "өөр"),
    "зуу": ("гийн", "д", "гаас", "г", "гаар"),
    "мянга": ("ын", "д", "аас", "ыг", "аар"),
    "сая": ("ын", "д", "аас", "ыг", "аар"),
    "тэрбум": ("ын", "д", "аас", "ыг", "аар"),
}
_UNITS = ("тэг", "нэг", "хоёр", "гурав", "дөрөв", "тав", "зургаа", "долоо", "найм", "ес")
_TENS = ("", "арав", "хорь", "гуч", "дөч", "тавь", "жар", "дал", "ная", "ер")

# Abbreviations take a hyphen and the ending of how they are read, as DOMAIN.md writes
# them ("ОНХС-ийн", "ИНХ-ын"); one not listed gets no ending rather than a guessed one.
_ABBREVIATIONS: dict[str, tuple[str, str, str, str, str]] = {
    "ОНХС": ("ийн", "т", "ээс", "ийг", "ээр"),
    "ИНХ": ("ын", "д", "аас", "ыг", "аар"),
    "ИТХ": ("ын", "д", "аас", "ыг", "аар"),
}

# Common nouns a unit's name ends in, with their real forms (hidden н, fleeting vowel).
_NOUNS: dict[str, tuple[str, str, str, str, str]] = {
    "баг": ("багийн", "багт", "багаас", "багийг", "багаар"),
    "сум": ("сумын", "суманд", "сумаас", "сумыг", "сумаар"),
    "хороо": ("хорооны", "хороонд", "хорооноос", "хороог", "хороогоор"),
    "аймаг": ("аймгийн", "аймагт", "аймгаас", "аймгийг", "аймгаар"),
    "дүүрэг": ("дүүргийн", "дүүрэгт", "дүүргээс", "дүүргийг", "дүүргээр"),
    "хот": ("хотын", "хотод", "хотоос", "хотыг", "хотоор"),
}


def inflect(value: object, case: str) -> str:
    """``value`` (a number, or a name) with the ending of ``case`` (one of CASES)."""
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}: one of {', '.join(CASES)}")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return str(value)
    if isinstance(value, int):
        return f"{value}-{number_ending(value, case)}"
    return _name(value, case)


def number_ending(n: int, case: str) -> str:
    """The ending of ``n`` as it is read aloud (without the hyphen)."""
    return _NUMBER_WORDS[_last_word_read(abs(n))][CASES.index(case)]


def _last_word_read(n: int) -> str:
    """The last word of ``n`` read aloud: 16 "арван зургаа", 20 "хорь", 300 "гурван зуу"."""
    if n == 0:
        return "тэг"
    if n % 10:
        return _UNITS[n % 10]
    if n % 100:
        return _TENS[n % 100 // 10]
    if n % 1000:
        return "зуу"
    if n % 1_000_000:
        return "мянга"
    if n % 1_000_000_000:
        return "сая"
    return "тэрбум"


def _name(name: str, case: str) -> str:
    text = name.rstrip()
    if not text:
        return name
    # "Могой /Рэнчинжугнай/": official texts put the ending after the slashes, with a
    # hyphen, as after an abbreviation; it is the ending of the name in the slashes.
    if text.endswith("/") and text.count("/") >= 2:
        inner = text[text.rindex("/", 0, len(text) - 1) + 1 : -1].split()
        if inner and (ending := _word_ending(inner[-1], case)) is not None:
            return f"{text}-{ending}"
        return text
    last = text.split()[-1]
    digits = re.search(r"(\d+)$", last)
    if digits:  # "Буянт 2", "№6": the number's ending, after a hyphen
        return f"{text}-{number_ending(int(digits.group(1)), case)}"
    if len(last) > 1 and last.isupper():  # an abbreviation: ОНХС-ийн
        endings = _ABBREVIATIONS.get(last)
        return f"{text}-{endings[CASES.index(case)]}" if endings else text
    word = last.split("-")[-1]  # "Чандмань-Овоо", "Баян-Улаан": the last part
    inflected = _inflect_word(word, case)
    if inflected is None:
        return text
    return text[: len(text) - len(word)] + inflected


def _word_ending(word: str, case: str) -> str | None:
    """The ending ``word`` takes, for writing after a hyphen (the stem left as it is)."""
    inflected = _inflect_word(word, case)
    if inflected is None:
        return None
    stem = _stem_kept(word, inflected)
    return inflected[stem:]


def _stem_kept(word: str, inflected: str) -> int:
    n = 0
    while n < min(len(word), len(inflected)) and word[n].lower() == inflected[n].lower():
        n += 1
    return n


def _inflect_word(word: str, case: str) -> str | None:
    low = word.lower()
    if not _CYRILLIC_WORD.search(low) or not any(ch in _VOWELS for ch in low):
        return None
    i = CASES.index(case)
    if low in _NOUNS:
        form = _NOUNS[low][i]
        return word[0] + form[1:] if word[:1].isupper() else form
    back = _is_back(low)
    long_vowel = _long_vowel(low)  # аа, оо, ээ, өө (the ablative's, the instrumental's)
    yn = "ын" if back else "ийн"
    yg = "ыг" if back else "ийг"
    last = low[-1]
    stem = word[:-1]
    if last == "й" and len(low) > 1 and low[-2] in _VOWELS:  # ай, ой, уй, эй, ий...
        return word + ("н", "д", f"г{long_vowel}с", "г", f"г{long_vowel}р")[i]
    if last == "ь":  # говь → говийн, говьд, говиос
        if back:
            return (stem + "ийн", word + "д", stem + f"и{long_vowel[0]}с", stem + "ийг",
                    stem + f"и{long_vowel[0]}р")[i]  # fmt: skip
        return (stem + "ийн", word + "д", stem + f"{long_vowel}с", stem + "ийг",
                stem + f"{long_vowel}р")[i]  # fmt: skip
    if last in _VOWELS:
        if (len(low) > 1 and low[-2] == last) or low[-2:] in ("иа", "ио", "иу"):
            # A long vowel: Мандал-Овоогийн, Овоог, Овоод, Овоогоос.
            return word + ("гийн", "д", f"г{long_vowel}с", "г", f"г{long_vowel}р")[i]
        if last in "яёюе":  # an iotated vowel at the end: үе → үеийн
            return word + (yn, "д", f"{long_vowel}с", yg, f"{long_vowel}р")[i]
        # A short vowel gives way to the ending, by harmony alone: Сэлэнгэ → Сэлэнгийн,
        # Тамга → Тамгын (the -ийн after г is for a г that ends the word: Загийн).
        return (stem + yn, word + "д", stem + f"{long_vowel}с", stem + yg,
                stem + f"{long_vowel}р")[i]  # fmt: skip
    if last == "н":  # Дарханы, хүний
        return word + (yn[0] if back else "ий", "д", f"{long_vowel}с", yg,
                       f"{long_vowel}р")[i]  # fmt: skip
    gen = _after_consonant(word, yn, "ийн")
    acc = _after_consonant(word, yg, "ийг")
    if last in "грск":
        dat = "т"
    elif last in "жчшщ":
        dat = "ид"  # Доржид
    elif last in "дтхцз":
        dat = long_vowel[0] + "д"  # хотод, Ховдод, Эрдэнэтэд
    else:
        dat = "д"
    return word + (gen, dat, f"{long_vowel}с", acc, f"{long_vowel}р")[i]


def _after_consonant(word: str, plain: str, palatal: str) -> str:
    """After г, к, ж, ч, ш, щ the genitive and accusative are -ийн, -ийг (Загийн, Доржийг)."""
    return palatal if word[-1:].lower() in "гкжчшщ" else plain


def _is_back(word: str) -> bool:
    """Vowel harmony: the word's last vowel that is not the neutral и decides."""
    for ch in reversed(word):
        if ch in _BACK:
            return True
        if ch in _FRONT:
            return False
    return False  # only и (Их, бичиг): front endings


def _long_vowel(word: str) -> str:
    """The long vowel of a four-way ending (-аас/-оос/-ээс/-өөс) for this word."""
    for ch in reversed(word):
        if ch in "оё":
            return "оо"
        if ch == "ө":
            return "өө"
        if ch in "ауыяю":
            return "аа"
        if ch in "эүе":
            return "ээ"
    return "ээ"
