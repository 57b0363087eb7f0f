"""A project described without the command word: "Сургуулийн дотуур байрны засвар. 200 өрх.
45 сая", "Манай багт худаг гаргамаар байна", "gvvr zasuulmaar baina".

It reads like a project when it names a thing the fund builds or repairs (a well, a bridge,
a school, a road, lighting, a fence, a toilet...) and says what to do with it (build,
repair, dig, install, "хэрэгтэй" needed, "-маар байна" we want) or how many it serves or
what it costs (bot.grammar.amounts). A thing alone ("Зам муу байна": the road is bad) or a
verb alone is not enough: Sanal asks before it stores anything, but a question about a
complaint would be a wrong question.

Words are compared on skeletons (bot.translit), so the Latin spellings come with the
Cyrillic ones; short stems are listed with their case forms, since "гүүр" (bridge) and
"гурав" (three) fold alike.
"""

from __future__ import annotations

from bot.core.grammar.amounts import amounts
from bot.core.grammar.keywords import (
    BENEFICIARY_UNITS,
    BILLION_UNITS,
    CURRENCY_WORDS,
    MILLION_UNITS,
    THOUSAND_UNITS,
)
from bot.core.grammar.tokens import Word, key

# Things the fund pays for, as the start of a word's skeleton (any case ending follows).
_THING_STEMS = (
    *(key(w)
    for w in (
        "худаг", "худг", "сургууль", "цэцэрлэг", "эмнэлэг", "эмнэлг", "гэрэлтүүлэг", "хашаа",
        "тоглоом", "талбай", "цахилгаан", "гудамж", "бэлчээр", "өвөлжөө", "хаваржаа",
        "угаалга", "ариутгал", "насос", "камер", "интернет", "сүлжээ", "барилга", "агуулах",
        "ясли", "шуудуу", "усалгаа", "тохижилт", "жорлон", "соёл", "засвар", "заал",
        "цэнгэлдэх", "танхим", "гэрэл", "бассейн", "спорт",
    )),
    "internet", "kamer",
)  # fmt: skip
# Short stems that fold into other words: their forms, exactly.
_THING_FORMS = frozenset(
    key(w)
    for w in (
        "гүүр", "гүүрийн", "гүүрийг", "гүүрт", "гүүрэн", "гүүрээс", "зам", "замын", "замыг",
        "замд", "замаа", "ус", "усны", "усан", "усыг", "хог", "хогийн", "мод", "модны",
        "модон", "гэрэл", "гэрлийн", "гэрлийг",
    )
) | frozenset(
    {
        "well", "wells", "bridge", "school", "kindergarten", "hospital", "clinic", "road",
        "roads", "lighting", "lights", "streetlight", "streetlights", "fence", "toilet",
        "toilets", "dormitory", "dorm", "pool", "playground", "park", "water", "electricity",
        "gym",
    }
)  # fmt: skip
# "дотуур байр" (dormitory), "бие засах газар" (toilet): a word that makes the next one a
# thing.
_BEFORE_THING = {key("дотуур"): (key("байр"),), key("бие"): ("zas",), key("усан"): ("san",)}
# Doing something to a thing: build, repair, dig, install, plant, renew, fence.
_DOING_STEMS = (
    *(key(w)
    for w in (
        "барих", "барьж", "бариул", "засах", "засаж", "засуул", "засъя", "засвар", "гаргах",
        "гаргаж", "гаргуул", "гаргая", "хийх", "хийж", "хийлгэ", "хийе", "тавих", "тавьж",
        "тавиул", "суурилуул", "байгуул", "тарих", "тарьж", "шинэчл", "сэргээ", "өргөтгө",
        "тохижуул", "хашаал", "татах", "татуул", "хэрэгтэй", "шаардлагатай", "хүсэж", "хүсч",
        "хүсэлт", "барья",
    )),
    "build", "repair", "fix", "renovat", "install", "construct", "need", "want",
)  # fmt: skip
# "-маар байна": we would like to.
_WANT_ENDS = ("маар", "мээр", "моор", "мөөр", "maar", "meer", "moor", "muur", "mvvr")


def _thing(ws: list[Word], k: int) -> bool:
    w = ws[k]
    if w.key in _THING_FORMS or w.low in _THING_FORMS or w.key.startswith(_THING_STEMS):
        return True
    nxt = _BEFORE_THING.get(w.key)
    return bool(nxt) and k + 1 < len(ws) and ws[k + 1].key.startswith(nxt or ())


def _doing(w: Word) -> bool:
    return (
        w.key.startswith(_DOING_STEMS)
        or (len(w.low) >= 6 and w.low.endswith(_WANT_ENDS))
        or w.low.startswith(("build", "repair", "renovat", "install", "construct"))
    )


def signals(ws: list[Word]) -> bool:
    """Any word of a project at all (a cheap first look)."""
    return any(_thing(ws, k) or _doing(w) for k, w in enumerate(ws))


def reads_like_project(ws: list[Word], text: str) -> bool:
    """A thing and (what to do with it, or how many it serves, or its cost)."""
    if sum(1 for w in ws if not w.is_number) < 2:
        return False
    things = [k for k in range(len(ws)) if _thing(ws, k)]
    doing = [k for k, w in enumerate(ws) if _doing(w)]
    if not things and not doing:
        return False
    # Two different words: "засвар" alone is a thing and a doing, not yet a project.
    if things and doing and (len(things) > 1 or any(d != things[0] for d in doing)):
        return True
    beneficiaries, cost = amounts(text)
    if not things:
        # "Ойн зурвас байгуулах, 40 өрх": no thing we know, but what to do and for whom.
        return bool(doing) and (beneficiaries is not None or cost is not None)
    return beneficiaries is not None or cost is not None


# The words of a vote that open "санал өгөх гэсэн юм. Манай багт худаг гаргамаар байна":
# what follows them is the description.
_VOTE_WORDS = ("sanal", "songo", "sonog", "og", "vote")
_FILLER = frozenset(
    key(w)
    for w in (
        "гэсэн", "юм", "юмаа", "гэж", "байна", "бна", "байсан", "бодож", "хүсэж", "хүсч", "ээ",
        "аа", "шүү", "би", "бид", "гэсэн юм", "bi", "i", "want", "to", "would", "like", "bn",
        "ирлээ", "байгаа",
    )
)  # fmt: skip


def _opening(w: Word) -> bool:
    return w.key.startswith(_VOTE_WORDS) or w.key in _FILLER


# The unit after a number of a project ("45 сая", "80 өрх", "80 орчим айл"): that number is
# an amount, not a proposal's number on the ballot.
_UNITS = frozenset(
    key(w)
    for w in (
        *BENEFICIARY_UNITS,
        *MILLION_UNITS,
        *THOUSAND_UNITS,
        *BILLION_UNITS,
        *CURRENCY_WORDS,
        "sai",
        "saya",
        "urh",
        "orh",
        "ail",
        "хүүхэд",
        "huuhed",
        "айлд",
    )
    if len(w) > 1
)
_ABOUT = frozenset(key(w) for w in ("орчим", "гаруй", "шахам", "orchim", "garui"))


def amount_number(ws: list[Word], k: int) -> bool:
    """Is the number at word ``k`` an amount ("45 сая", "6 сая 500 мянга", "1.5 сая")?"""
    j = k + 1
    while j < len(ws) and j - k <= 2 and (ws[j].is_number or ws[j].key in _ABOUT):
        j += 1
    return j < len(ws) and (ws[j].key in _UNITS or ws[j].raw == "₮")


def vote_description(ws: list[Word]) -> int | None:
    """Where the description after the vote words starts (a word index), or None if what
    follows them does not read like a project."""
    first_clause = 0
    while first_clause < len(ws) and not ws[first_clause].clause_end:
        first_clause += 1
    opening = ws[: first_clause + 1]
    if first_clause + 1 < len(ws) and all(_opening(w) for w in opening):
        start = first_clause + 1
    else:
        start = 0
        while start < len(ws) and _opening(ws[start]):
            start += 1
    rest = ws[start:]
    if not rest or any(w.is_number and not amount_number(rest, k) for k, w in enumerate(rest)):
        return None
    if any(_thing(rest, k) or _doing(w) for k, w in enumerate(rest)):
        return start
    return None


# "Санал гаргах гэж байна", "Санал гаргамаар байна": the wish to propose, no project yet.
_PROPOSING = ("garg", "orol", "ilge", "iavol", "bij", "og", "hos")
_ASKING_FILLER = _FILLER | frozenset(
    key(w) for w in ("болох", "болно", "уу", "үү", "юу", "вэ", "бэ", "хэрэгтэй", "байх", "юмаа")
)


def only_the_wish_to_propose(ws: list[Word]) -> bool:
    """Nothing but "(I) want to propose" in what follows САНАЛ."""
    return bool(ws) and all(
        w.key in _ASKING_FILLER or (w.key.startswith(_PROPOSING) and not _thing([w], 0)) for w in ws
    )
