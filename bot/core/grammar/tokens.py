"""A message as words with their skeletons, for the readers of what surrounds a command.

The greeting, question and project readers (bot.grammar.greetings, questions, described,
wrapping) all look at the same words: each message is cut into words once, each word is
folded to its skeleton once (bot.translit), and every reader walks that list. Nothing here
is quadratic: a 2,000-character message is a few hundred words, each looked at a bounded
number of times.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from bot.core.translit import skeleton

# Letters and digits are separate words, as in the parser ("Нэгдэх644651").
_WORD = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)
# What ends a clause between two words: a sentence mark, a comma, a colon or a new line.
_CLAUSE_END = re.compile(r"[.!?？;,:\n…]")


def key(word: str) -> str:
    """The skeleton of one word (remembered by bot.translit)."""
    return skeleton(word)


class Word(NamedTuple):
    raw: str  # as typed
    low: str  # lower case
    key: str  # skeleton
    start: int
    end: int
    # A clause ends right after this word (a sentence mark, comma, colon, new line or the
    # end of the text), and whether that mark is a question mark.
    clause_end: bool
    asks: bool

    @property
    def is_number(self) -> bool:
        return self.raw.isdigit()


def words(text: str) -> list[Word]:
    """The words of ``text`` in order, each with its skeleton and what follows it."""
    found = list(_WORD.finditer(text))
    # The marks between words, walked once beside the words (no search per gap).
    marks = [(m.start(), m.group() in "?？") for m in _CLAUSE_END.finditer(text)]
    out: list[Word] = []
    at = 0
    for i, m in enumerate(found):
        stop = found[i + 1].start() if i + 1 < len(found) else len(text)
        while at < len(marks) and marks[at][0] < m.end():
            at += 1
        ends = asks = False
        while at < len(marks) and marks[at][0] < stop:
            ends = True
            asks = asks or marks[at][1]
            at += 1
        raw = m.group()
        out.append(
            Word(
                raw,
                raw.lower(),
                raw if raw.isdigit() else key(raw),
                m.start(),
                m.end(),
                ends or i + 1 == len(found),
                asks,
            )
        )
    return out


Phrase = tuple[frozenset[str], ...]


def phrase(text: str) -> Phrase:
    """A phrase to match, word by word: "сайн|sain|sn байна|bna" -> ({sain, sn}, {baina, bna}).

    Each alternative is folded to its skeleton, so a Cyrillic spelling also covers the Latin
    ways of typing it; one written "=bye" is matched as typed (the skeleton of "bye" is that
    of "бэ", a question particle).
    """
    return tuple(
        frozenset(alt if alt.startswith("=") else key(alt) for alt in slot.split("|"))
        for slot in text.split()
    )


def _in(w: Word, slot: frozenset[str]) -> bool:
    return w.key in slot or "=" + w.low in slot


class Phrases:
    """Phrases indexed by their first and last word, so a match looks at a few, not all."""

    def __init__(self, *texts: str) -> None:
        self.by_first: dict[str, list[Phrase]] = {}
        self.by_last: dict[str, list[Phrase]] = {}
        for p in sorted((phrase(t) for t in texts), key=len, reverse=True):
            for k in p[0]:
                self.by_first.setdefault(k, []).append(p)
            for k in p[-1]:
                self.by_last.setdefault(k, []).append(p)


def match_at(ws: list[Word], i: int, phrases: Phrases, stop: int | None = None) -> int:
    """How many words of the longest phrase that starts at word ``i`` (0 if none)."""
    stop = len(ws) if stop is None else stop
    if i >= stop:
        return 0
    for first in (ws[i].key, "=" + ws[i].low):
        for p in phrases.by_first.get(first, ()):  # longest first
            n = len(p)
            if i + n <= stop and all(_in(ws[i + k], p[k]) for k in range(1, n)):
                return n
    return 0


def match_before(ws: list[Word], j: int, phrases: Phrases, start: int = 0) -> int:
    """How many words of the longest phrase that ends just before word ``j`` (0 if none)."""
    if j - 1 < start:
        return 0
    for last in (ws[j - 1].key, "=" + ws[j - 1].low):
        for p in phrases.by_last.get(last, ()):
            n = len(p)
            if j - n >= start and all(_in(ws[j - n + k], p[k]) for k in range(n - 1)):
                return n
    return 0
