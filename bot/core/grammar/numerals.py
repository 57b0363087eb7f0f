"""Numbers as people write them: digits with ordinal and case endings, and number words.

"3", "#3", "№3", "3-р", "3р", "3 дугаар", "3-рт", "5-г", "2-т", "3rd" are digits; "хоёр",
"гурван", "арван хоёр", "neg", "tav" are cardinal words; "хоёрдугаар", "гуравдугаар",
"tavdugaar", "хоёр дугаар" are ordinal words. An ending, an ordinal or a # / № says the
number names something ("the 3rd"): it is *marked*. "хоёрыг", "гурвыг" (the accusative)
after a list of numbers count that list ("13, 14 хоёрыг" is "13 and 14, both of them").

Words are matched on their skeleton (bot.translit), so one Cyrillic spelling covers the
Latin ways of typing it; a few Latin spellings whose skeleton differs are listed too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.core.translit import skeleton

# The skeleton of a word, remembered: the same few hundred words come again and again.
word_key = lru_cache(maxsize=8_192)(skeleton)


def _keys(words: str) -> frozenset[str]:
    return frozenset(skeleton(w) for w in words.split())


# Digits, words, a # or №, or one other sign; everything else (spaces) separates.
_TOKEN = re.compile(r"\d+|[^\W\d_]+|[#№]|[^\w\s]", re.UNICODE)
MAX_DIGITS = 9  # longer digit runs stay numbers, but never items (0 < item <= 999)
BIG = 10**MAX_DIGITS

# value: forms (nominative first). Attributive forms ("гурван", "арван") and the common
# case forms are all here; Latin only where the skeleton of the Cyrillic differs.
_CARDINALS: dict[int, str] = {
    1: "нэг нэгэн нэгийг нэгт нэгийн negen",
    2: "хоёр хоёрыг хоёрт хоёрын хоер hoyr hoer hoyoriig hoyrig",
    3: "гурав гурван гурвыг гуравт гурвын gurab gurviig",
    4: "дөрөв дөрвөн дөрвийг дөрөвт дөрвийн durvu durviig",
    5: "тав таван тавыг тавд тавын taviig",
    6: "зургаа зургаан зургааг зургаад зургаагийн",
    7: "долоо долоон долоог долоод",
    8: "найм найман наймыг наймд naiman naimiig",
    9: "ес есөн есийг есд yesun esun",
    10: "арав арван аравыг арвыг аравт araviig",
    20: "хорь хорин хорийг hori khori xori",
    30: "гуч гучин gujin",
    40: "дөч дөчин duchin",
    50: "тавь тавин tavi",
    60: "жар жаран zharan",
    70: "дал далан",
    80: "ная наян",
    90: "ер ерэн yeren",
    100: "зуу зуун zuun",
}
# The accusative: after a list it may be the count of that list ("13, 14 хоёрыг").
_ACCUSATIVE = _keys(
    "хоёрыг гурвыг дөрвийг тавыг зургааг долоог наймыг есийг аравыг арвыг hoyoriig hoyrig "
    "gurviig durviig taviig araviig"
)
# "Both", "all three", "all": always the count of the list before them, never an item.
COUNT_WORDS = _keys(
    "хоёуланг хоёуланд хоёулан хоёулангийг гуравланг гурвууланг бүгдийг бүгдэд бүгд hoyulang "
    "hoyuulang both all"
)
# Tens (and a hundred) in the attributive form that a unit may follow: "арван хоёр" = 12.
_TENS_ATTRIBUTIVE = _keys("арван хорин гучин дөчин тавин жаран далан наян ерэн зуун")
# Typed words that are something else: "yes" folds like "ес" (nine), "jar" and "dal" are
# English, "er" is a hesitation.
_NOT_NUMBERS = frozenset({"yes", "er", "jar", "dal"})
# Stems before an ordinal ending that are not a cardinal form: "долдугаар", "зургадугаар".
_ORDINAL_STEMS = {skeleton("дол"): 7, skeleton("зурга"): 6, skeleton("хорь"): 20}
# "дугаар" / "дүгээр" (and their case forms) make an ordinal of the word or digits before.
_ORDINAL_ENDINGS = tuple(
    sorted(
        _keys("дугаар дүгээр дугаарт дүгээрт дугаарыг дүгээрийг дугаарын дүгээрийн dugar dugr dgr"),
        key=len,
        reverse=True,
    )
)
# Endings written on digits ("3-р", "3р", "3-рт", "5-г", "2-т", "4-ийг", "3rd"): attached
# to the digits or after a hyphen, never after a space (a lone "т" is not "3-т").
ATTACHED_ENDINGS = _keys(
    "р рт рд т д г ыг ийг иг ийн ын ны нд ийнх r rt rd t d g iig ig iin yn st nd th дугаар "
    "дүгээр дугаарт дүгээрт дахь дэх dugaar dugeer dahi deh"
)
# Endings that may also stand after a space: "3 дугаар", "3 дахь", "хоёр дугаар".
_SPACED_ENDINGS = _keys("дугаар дүгээр дугаарт дүгээрт дугаарыг дахь дэх dugaar dugeer dahi deh")


def _tables() -> tuple[dict[str, int], dict[str, int]]:
    """(lower-case form -> value, skeleton -> value); on a skeleton shared by two values
    the smaller wins ("тав" 5 and "тавь" 50 fold alike: "тавь" is still read exactly)."""
    exact: dict[str, int] = {}
    folded: dict[str, int] = {}
    for value in sorted(_CARDINALS):
        for form in _CARDINALS[value].split():
            exact.setdefault(form, value)
            folded.setdefault(skeleton(form), value)
    return exact, folded


_EXACT, _FOLDED = _tables()


@dataclass(frozen=True, slots=True)
class Part:
    """A number (with what marks it) or a word or sign, in order of writing."""

    kind: str  # "number" | "word" | "sign"
    text: str  # as written (for a number: the digits or words it was read from)
    key: str = ""  # a word's skeleton
    value: int = 0
    marked: bool = False  # an ordinal, a case ending, # or №: it names an item
    spelled: bool = False  # written in words
    accusative: bool = False  # "хоёрыг": perhaps the count of the list before it
    attached: bool = False  # no space before it ("5-г", "3р"): for the sign "-" too

    @property
    def is_number(self) -> bool:
        return self.kind == "number"


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    start: int
    end: int


def word_number(word: str) -> tuple[int, bool, bool] | None:
    """(value, is an ordinal, is an accusative form) of one number word, or None."""
    low = word.lower()
    if low in _NOT_NUMBERS or not low.isalpha():
        return None
    if low in _EXACT:
        key = word_key(low)
        return _EXACT[low], False, key in _ACCUSATIVE
    key = word_key(low)
    if key in _FOLDED:
        return _FOLDED[key], False, key in _ACCUSATIVE
    for ending in _ORDINAL_ENDINGS:
        if key.endswith(ending) and len(key) > len(ending):
            stem = key[: -len(ending)]
            value = _FOLDED.get(stem) or _ORDINAL_STEMS.get(stem)
            if value is not None:
                return value, True, False
    return None


def is_tens_attributive(word: str) -> bool:
    return word_key(word) in _TENS_ATTRIBUTIVE


def parts(text: str) -> list[Part]:
    """The numbers, words and signs of a text, in order (linear in its length)."""
    tokens = [_Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    out: list[Part] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        gap = text[tokens[i - 1].end : tok.start] if i else " "
        attached = gap == ""
        if (
            tok.text in "#№"
            and i + 1 < len(tokens)
            and tokens[i + 1].text.isdecimal()
            and not text[tok.end : tokens[i + 1].start].strip()
        ):
            number, i = _digits(text, tokens, i + 1, marked=True)
            out.append(number)
            continue
        if tok.text.isdecimal():
            number, i = _digits(text, tokens, i, marked=False)
            out.append(number)
            continue
        if tok.text.isalpha():
            spelled, i = _spelled(text, tokens, i)
            if spelled is not None:
                out.append(spelled)
                continue
            out.append(Part("word", tok.text, key=word_key(tok.text), attached=attached))
            i += 1
            continue
        out.append(Part("sign", tok.text, attached=attached))
        i += 1
    return out


def _ending_after(text: str, tokens: list[_Token], i: int) -> bool:
    """Is token i an ending of the number just before it? ("3р", "3 дугаар"; a hyphen
    before an ending is a token of its own, handled by the caller.)"""
    if i >= len(tokens) or not tokens[i].text.isalpha():
        return False
    gap = text[tokens[i - 1].end : tokens[i].start]
    key = word_key(tokens[i].text)
    if not gap:
        return key in ATTACHED_ENDINGS
    return "\n" not in gap and key in _SPACED_ENDINGS


def _digits(text: str, tokens: list[_Token], i: int, *, marked: bool) -> tuple[Part, int]:
    tok = tokens[i]
    digits = tok.text
    value = int(digits) if len(digits) <= MAX_DIGITS else BIG
    end = i + 1
    # "3-р-ийг": at most two endings in a row.
    for _ in range(2):
        if _ending_after(text, tokens, end):
            marked = True
            end += 1
        elif (
            end + 1 < len(tokens)
            and tokens[end].text == "-"
            and tokens[end].start == tokens[end - 1].end
            and tokens[end + 1].start == tokens[end].end
            and _ending_after(text, tokens, end + 1)
        ):
            marked = True  # "3-р": the hyphen is a token of its own
            end += 2
        else:
            break
    attached = i > 0 and tokens[i - 1].end == tok.start
    return Part("number", digits, value=value, marked=marked, attached=attached), end


def _spelled(text: str, tokens: list[_Token], i: int) -> tuple[Part | None, int]:
    """A number in words at token i ("хоёр", "арван хоёр", "хоёрдугаар", "хоёр дугаар")."""
    read = word_number(tokens[i].text)
    if read is None:
        return None, i
    value, ordinal, accusative = read
    end = i + 1
    words = [tokens[i].text]
    # "арван хоёр", "хорин таван": attributive tens, then a unit.
    if is_tens_attributive(tokens[i].text) and end < len(tokens) and tokens[end].text.isalpha():
        unit = word_number(tokens[end].text)
        spaced = not text[tokens[i].end : tokens[end].start].strip()
        if unit is not None and unit[0] < 10 and spaced:
            value += unit[0]
            ordinal, accusative = unit[1], unit[2]
            words.append(tokens[end].text)
            end += 1
    if not ordinal and end < len(tokens) and tokens[end].text.isalpha():
        gap = text[tokens[end - 1].end : tokens[end].start]
        if gap.strip() == "" and "\n" not in gap and word_key(tokens[end].text) in _SPACED_ENDINGS:
            ordinal = True  # "хоёр дугаар"
            words.append(tokens[end].text)
            end += 1
    part = Part(
        "number",
        " ".join(words),
        value=value,
        marked=ordinal,
        spelled=True,
        accusative=accusative and not ordinal,
    )
    return part, end
