"""A vote written in words, in any order: "санал өгнө 3 5", "Би 4-р саналыг дэмжиж байна",
"3, 5-г дэмжинэ", "2 5 сонгоё", "Миний сонголт 2 7", "хоёр, тав", "13, 14 хоёрыг",
"I vote for 2 and 14".

The item numbers (0 < n <= 999) are read by bot.grammar.numerals; this module decides
whether the words around them make a ballot. Two ways to be sure:

* every word is one a ballot is made of (a vote verb, "санал"/"төсөл", "би", "ба", thanks...):
  then the numbers are the ballot; without a vote verb only a bare list is ("хоёр, тав",
  "3р 7р"), not "хоёр санал" (two proposals) nor "нэг санал байна" (I have a proposal);
* other words too, but a vote verb and only ordinal numbers followed by "санал" or the verb
  ("Би малын худгийн 4-р саналыг дэмжиж байна"): a number before any other word is an
  amount ("3 хоног", "40 өрх", "3-р багт"), and then nothing is a ballot.

A date, a time or a phone number written with separators ("04-01", "9:30", "99 11 22 33")
is never a ballot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.grammar import numerals
from bot.core.grammar.numerals import Part
from bot.core.translit import skeleton

MAX_ITEM = 999
MAX_ITEMS = 50  # a ballot longer than this is not a ballot (and keeps the work small)
MAX_BALLOT_CHARS = 400  # nor is a message longer than this, written in words


def _keys(words: str) -> frozenset[str]:
    return frozenset(skeleton(w) for w in words.split())


# "The proposal", "the project", "number", in their case forms.
NOUNS = _keys(
    "санал саналыг саналаа саналд саналын саналууд саналуудыг саналуудаас саналуудын "
    "төсөл төслийг төслөө төсөлд төслийн төслүүд төслүүдийг төслүүдээс дугаар дугаарыг "
    "дугаарт дугаарын номер номерийг sanaliig sanald tusliig tusuld tosliig tusul "
    "proposal proposals project projects number numbers nos item items option options"
)
# Words that say "my choice" / "vote" themselves.
CHOICE = _keys(
    "сонголт сонголтоо сонголтыг сонголтууд songolt vote votes voted voting ballot choice choices"
)
# Forms of "give" (санал өгөх, to vote), typed every way.
_GIVE = _keys(
    "өгье өгьё өгие өгөе өгнө өгнөө өгөх өгөв өглөө өгсөн өгч өгөөрэй өгмөөр өгөөч ugye "
    "ugie ugii ugiy ugnu ugnuu ugukh uguh ugluu ugsun ugch ogno ogie ugyo ugyu"
)
_ENGLISH_VERBS = _keys("vote choose chose pick select support supporting")
# Words starting like "сонго-" (choose) or "дэмж-" (support) that are nouns, not verbs:
# сонгууль (election), сонгогч (voter), дэмжлэг (support), дэмжигч (supporter).
_CHOOSE, _SUPPORT = skeleton("сонго"), skeleton("дэмж")
_NOT_VERB = skeleton("сонгууль")  # folds like the start of "сонголоо" (I chose): exact only
_NOT_VERB_STARTS = (
    skeleton("сонгуулийн")[:7],  # сонгуулийн, сонгуулиар
    skeleton("сонгуульд"),
    skeleton("сонгогч"),
    skeleton("дэмжлэг"),
    skeleton("дэмжигч"),
)
MINE = _keys("миний minii mini my mine")
CONNECTORS = _keys("ба болон бас мөн тэгээд ba bolon bas mon tegeed and also plus")
# Courtesy and small words that change nothing, allowed anywhere.
COURTESY = _keys(
    "баярлалаа bayarlalaa barlaa bayrlalaa thanks thank you please pls plz ээ аа оо өө шүү "
    "даа дээ доо за ok ок okay тийм tiim yes нь би bi i зөв zov"
)
# Words of a sentence around a vote verb ("дэмжиж байна", "өгөх гэсэн юм", "I want to
# vote for"): allowed when there is a vote verb, not in a bare list ("нэг санал байна").
HELPERS = _keys(
    "байна baina bna bn bnaa байгаа bgaa гэж gej гэсэн gesen юм yum бол bol энэ ene "
    "дараах daraah хүсч хүсэж хүсэлтэй husch husej want wanted would like to for the is "
    "am are will im ll d this these on"
)
# "Сайн байна уу" first: a greeting before a ballot ("Сайн байна уу, 3-р саналыг дэмжье").
_GREETING = re.compile(
    r"^\s*(?:сайн\s*(?:байна\s*)?уу|sain\s*(?:baina|bna|bn)?\s*uu|sn\s*bnu+|сайнуу|sainuu)"
    r"[\s,.!]*",
    re.IGNORECASE,
)
# Digits only, with signs between: a date ("04-01", "2027.04.01"), a time ("9:30") or
# a phone ("99 11 22 33", "+976 9911 2233") is not a ballot.
_DATE = re.compile(r"^\s*\d{1,4}\s*[-./]\s*\d{1,2}(?:\s*[-./]\s*\d{1,4})?\s*$")
_TIME = re.compile(r"\d{1,2}\s*:\s*\d{2}(?!\d)")
_DIGITS_ONLY = re.compile(r"^[\s\d+()\-.]*$")


@dataclass(frozen=True, slots=True)
class Ballot:
    numbers: tuple[int, ...]
    bare: bool  # no vote word at all: a list of numbers alone ("2 5", "хоёр, тав")
    # Every word is one a ballot is made of (not "Би малын худгийн 4-р саналыг дэмжиж байна").
    every_word_known: bool = True


def is_vote_verb(key: str) -> bool:
    """A word that says "I vote": forms of сонгох, дэмжих, өгөх and English verbs."""
    if key in _GIVE or key in _ENGLISH_VERBS:
        return True
    if key.startswith((_CHOOSE, _SUPPORT)):
        return key != _NOT_VERB and not key.startswith(_NOT_VERB_STARTS)
    return key in ("sonogo", "sonog")  # typed with a letter swapped


def not_a_ballot(text: str) -> bool:
    """Digits that are a date, a time or a phone number, not item numbers."""
    if _TIME.search(text) and _DIGITS_ONLY.match(text.replace(":", "")):
        return True
    if not _DIGITS_ONLY.match(text):
        return False
    groups = re.findall(r"\d+", text)
    if _DATE.match(text) and any(g.startswith("0") and len(g) > 1 for g in groups):
        return True  # "04-01", "03.20": a leading zero is a month or a day
    digits = "".join(groups)
    phone = len(digits) == 8 and digits[0] in "5789"
    phone = phone or (len(digits) == 11 and digits.startswith("976"))
    return phone and len(groups) > 1 and all(len(g) >= 2 for g in groups)


def read(text: str) -> Ballot | None:
    """The ballot written in ``text``, or None when the text is not (only) a ballot."""
    if len(text) > MAX_BALLOT_CHARS:
        return None
    text = _GREETING.sub("", text, count=1)
    if "?" in text or "？" in text:
        return None  # a question about a proposal is answered, not counted
    if not_a_ballot(text):
        return None
    found = numerals.parts(text)
    if sum(p.is_number for p in found) > MAX_ITEMS:
        return None
    verb = helper = unknown = counted_noun = False
    items: list[Part] = []
    run = 0  # numbers in the list being read (for "13, 14 хоёрыг")
    for i, part in enumerate(found):
        if part.kind == "sign":
            continue
        if part.kind == "word":
            key = part.key
            if is_vote_verb(key) or key in CHOICE:
                verb = True
            elif key in HELPERS:
                helper = True
            elif not (
                key in NOUNS
                or key in CONNECTORS
                or key in COURTESY
                or key in MINE
                or key in numerals.COUNT_WORDS
            ):
                unknown = True
            if key not in CONNECTORS:
                run = 0 if key not in numerals.COUNT_WORDS else run
            continue
        if part.spelled and part.accusative and run >= 2 and part.value == run:
            continue  # "13, 14 хоёрыг": both of them
        if not 0 < part.value <= MAX_ITEM:
            return None  # a year, an amount, a phone: not only a ballot
        after = found[i + 1] if i + 1 < len(found) else None
        if after is not None and after.kind == "word":
            if after.key in NOUNS and not part.marked:
                counted_noun = True  # "хоёр санал": two proposals (or, with a verb, item 2)
            elif not _may_follow_item(after.key):
                return None  # "3 хоног", "40 өрх", "3-р багт": an amount or a place
        items.append(part)
        run += 1
    if not items:
        return None
    numbers = tuple(dict.fromkeys(p.value for p in items))
    if not unknown:
        if verb:
            return Ballot(numbers, bare=False)
        if helper or counted_noun:
            return None
        return Ballot(numbers, bare=True)
    # Other words too: only a vote verb with ordinals naming the items.
    if verb and all(p.marked for p in items):
        return Ballot(numbers, bare=False, every_word_known=False)
    return None


def _may_follow_item(key: str) -> bool:
    return (
        key in NOUNS
        or key in CONNECTORS
        or key in COURTESY
        or key in HELPERS
        or key in CHOICE
        or key in numerals.COUNT_WORDS
        or is_vote_verb(key)
    )
