"""What people write around a command: a greeting, "би", their name, thanks, "please".

"Сайн байна уу? Санал: сургуулийн бие засах газар", "Би Баянбулаг багийн малчин Дорж.
САНАЛ …", "Миний нэр Бат. СОНГО 1 3", "Бат байна. ЖАГСААЛТ", "СОНГО 2 баярлалаа 🙏",
"ЖАГСААЛТ pls". :func:`unwrap` finds where the command starts and ends; the rest of the
grammar reads that part as if it had been sent alone.

"Миний" is also the word of МИНИЙ (my ballot): only "миний нэр" (my name) opens an
introduction, so "МИНИЙ" and "Миний санал" stay what they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.grammar import described, greetings, questions
from bot.core.grammar.keywords import KEYWORDS
from bot.core.grammar.tokens import Phrases, Word, key, match_at, match_before

_PHRASE_WORD = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)


def _keyword_keys() -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    one: set[str] = set()
    two: set[tuple[str, str]] = set()
    for phrases in KEYWORDS.values():
        for p in phrases:
            ks = [key(w) for w in _PHRASE_WORD.findall(p.lower())]
            if len(ks) == 1 and ks[0]:
                one.add(ks[0])
            elif len(ks) == 2:
                two.add((ks[0], ks[1]))
    return frozenset(one), frozenset(two)


_ONE, _TWO = _keyword_keys()


def keyword_at(ws: list[Word], i: int) -> bool:
    """A command word (exactly, no typo) starts at word ``i``."""
    return keyword_len(ws, i) > 0


def keyword_len(ws: list[Word], i: int) -> int:
    """How many words of a command word (exactly, no typo) start at word ``i`` (0 if none)."""
    if i >= len(ws):
        return 0
    if i + 1 < len(ws) and (ws[i].key, ws[i + 1].key) in _TWO:
        return 2
    return 1 if ws[i].key in _ONE else 0


# "бүртгүүлмээр байна" (I would like to register), "сонгомоор байна 2": the command verb
# with "-маар" (would like to). Its stem, or the stem with -х, is the command word.
_WANT_ENDS = ("маар", "мээр", "моор", "мөөр", "maar", "meer", "moor", "muur", "mvvr")
_INFINITIVE = ("", "х", "эх", "ах", "ох", "өх")


def wanted(ws: list[Word]) -> tuple[str, int, int] | None:
    """The command word hidden in a "-маар байна" at the start: (the word, the first word
    it replaces, how many). "бүртгүүлмээр байна" -> ("бүртгүүл", 0, 2); "санал өгмөөр
    байна" -> ("өгөх", 1, 2) (САНАЛ ӨГӨХ). None if there is none."""
    for i in (0, 1):
        if i >= len(ws) or len(ws[i].low) < 6 or not ws[i].low.endswith(_WANT_ENDS):
            continue
        stem = ws[i].low[:-4]
        for end in _INFINITIVE:
            k = key(stem + end)
            if (k in _ONE and i == 0) or (i == 1 and (ws[0].key, k) in _TWO):
                n = 2 if i + 1 < len(ws) and ws[i + 1].key in _BAINA else 1
                return stem + end, i, n
    return None


# The fund's name before a command: "ОНХС-ийн санал өгөх гэсэн юм".
_FUND = Phrases(
    "онхс|onhs|onxs",
    "онхс|onhs|onxs ийн|iin|in",
    "орон|oron нутгийн|nutgiin хөгжлийн|hugjliin сангийн|sangiin",
    "энэ|ene жилийн|jiliin",
)
_PRONOUNS = frozenset(key(w) for w in ("би", "бид", "bi", "bid", "бидэнд"))
_AFTER_PRONOUN = frozenset(key(w) for w in ("бол", "бас", "ч", "хувьд"))
# "Миний нэр Бат", "Намайг Бат гэдэг", "My name is Bat": an introduction follows.
_INTRO_OPENERS = Phrases(
    "миний|minii|mini|minij нэр|ner",
    "миний|minii|mini|minij нэрийг|neriig",
    "намайг|namaig|namig",
    "my name is",
    "my name",
    "this is",
)
# People-words of an introduction: "Баянбулаг багийн малчин Дорж", "Заг сумын иргэн".
_PEOPLE = tuple(
    key(w)
    for w in (
        "малчин", "малчид", "иргэн", "оршин", "суугч", "нэр", "гэдэг", "багш", "эмч", "гуай",
        "ахлагч", "тэргүүн", "жолооч", "ажилтан", "тэтгэврийн", "оюутан", "сурагч", "herder",
    )
)  # fmt: skip
_BAINA = frozenset(key(w) for w in ("байна", "бна", "bn", "baina", "bna"))
_GEDEG = frozenset(key(w) for w in ("гэдэг", "гэдэг юм", "gedeg", "байна", "bna", "bn"))
_MAX_INTRO = 8
# Words at the end that change nothing: "please", "шүү", "гэсэн юм" (I meant to).
_TAIL = Phrases(
    "please|pls|plz|pliz|plis|плиз|гуйя|гуйе|guiya|guie",
    "шүү|shuu|=шд|=ээ|=аа|=даа|=дээ|=ee|=aa",
    "гэсэн|gesen юм|yum|юмаа|yumaa",
    "гэсэн|gesen юм|yum =аа|=aa|шүү|shuu",
    "гэж|gej байна|baina|bna|bn",
)


@dataclass(slots=True)
class Wrapped:
    start: int  # first word of the command
    end: int  # one past its last word
    kinds: list[str] = field(default_factory=list)  # greetings found (hello, thanks...)
    introduced: bool = False  # a name or "I am a herder of …"


def _clause(ws: list[Word], i: int, end: int) -> tuple[int, str]:
    """Where the clause from word ``i`` ends (one past) and why: "mark" (a sentence mark),
    "command" (a command word or a number follows), "end" or "long" (too many words)."""
    j = i
    while j < end:
        if j > i and (ws[j].is_number or keyword_at(ws, j)):
            return j, "command"
        if ws[j].clause_end:
            return j + 1, "mark" if j + 1 < end else "end"
        if j - i >= _MAX_INTRO:
            return j, "long"
        j += 1
    return j, "end"


# Not a name: a negation or a wish ("мэдэхгүй байна", "гаргамаар байна").
_NOT_NAME_ENDS = ("хгүй", "hgui", "hgvi", "khgui", "маар", "мээр", "моор", "мөөр", "maar", "meer")


def _names(ws: list[Word]) -> bool:
    return all(
        not w.is_number and not w.low.endswith(_NOT_NAME_ENDS) and not questions.asks_by_word([w])
        for w in ws
    ) and not described.signals(ws)


def _introduction(ws: list[Word], i: int, end: int, greeted: bool, after_pronoun: bool) -> int:
    """How many words of an introduction start at word ``i`` (0 if none)."""
    n = match_at(ws, i, _INTRO_OPENERS, end)
    if n:
        stop, why = _clause(ws, i + n, end)
        if why != "long":
            return stop - i
        # No mark in sight: the name, and "гэдэг" or "байна" after it.
        return n + 1 + (1 if i + n + 1 < end and ws[i + n + 1].key in _GEDEG else 0)
    if after_pronoun:
        stop, why = _clause(ws, i, end)
        clause = ws[i:stop]
        if not clause or any(w.is_number for w in clause) or described.signals(clause):
            return 0
        people = [k for k, w in enumerate(clause) if w.key.startswith(_PEOPLE)]
        # "Би Дорж байна": a name or two and "байна"; not "Би мэдэхгүй байна".
        ends_in_baina = (
            2 <= len(clause) <= 3
            and clause[-1].key in _BAINA
            and why in ("mark", "end")
            and _names(clause[:-1])
        )
        if not people and not ends_in_baina:
            return 0
        if why in ("mark", "end") or ends_in_baina:
            return stop - i
        # No mark before the command: keep what comes after the last people-word (a place
        # that the command may need), except a name right before the command ("… малчин
        # Дорж санал өгье 2").
        last = people[-1] + 1
        return last + 1 if last + 1 == len(clause) else last
    # "Бат байна. ЖАГСААЛТ": a name and "байна" as a sentence of its own.
    for k in (1, 2):
        j = i + k
        if j < end and ws[j].key in _BAINA and ws[j].clause_end:
            named = ws[i:j]
            if any(keyword_at(ws, i + m) for m in range(k)) or not _names(named):
                return 0
            if greeted or (j + 1 < end and (ws[j + 1].is_number or keyword_at(ws, j + 1))):
                return k + 1
            return 0
    return 0


def unwrap(ws: list[Word]) -> Wrapped:
    """Where the command is among the words, and what was around it."""
    found = Wrapped(0, len(ws))
    i, end = 0, len(ws)
    after_pronoun = False
    while i < end:
        g = greetings.at(ws, i, end)
        if g:
            i += g[0]
            found.kinds.append(g[1])
            continue
        if ws[i].key in _PRONOUNS and i + 1 < end:
            i += 1
            while i < end and ws[i].key in _AFTER_PRONOUN:
                i += 1
            after_pronoun = True
            continue
        n = match_at(ws, i, _FUND, end)
        if n and keyword_at(ws, i + n):
            i += n
            continue
        if ws[i].raw in ("I", "i") and i + 1 < end and not ws[i + 1].is_number:
            i += 1  # English "I vote for 2"
            continue
        n = _introduction(ws, i, end, bool(found.kinds), after_pronoun)
        after_pronoun = False
        if n:
            i += n
            found.introduced = True
            continue
        break
    while end > i:
        g = greetings.before(ws, end, i)
        if g:
            end -= g[0]
            found.kinds.append(g[1])
            continue
        n = match_before(ws, end, _TAIL, i)
        if n:
            end -= n
            continue
        break
    found.start, found.end = i, end
    return found


def cut(body: str, ws: list[Word], wrapped: Wrapped) -> str:
    """The command's text: from its first word to its last, with a mark typed right after
    it ("…", "?", "."), without the words around it."""
    if wrapped.start >= wrapped.end:
        return ""
    start = ws[wrapped.start].start
    if wrapped.end == len(ws):
        return body[start:].strip()
    stop = ws[wrapped.end - 1].end
    gap = body[stop : ws[wrapped.end].start]
    mark = re.match(r"[^\s,;:\-–—]*", gap)
    return body[start : stop + (mark.end() if mark else 0)].strip()
