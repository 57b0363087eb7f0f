"""One tolerant parser for every channel: text in, :class:`Intent` out, never an exception.

Keywords are found at the start of the message (after a Telegram "/" or a "#"), one or two
words, matched on their skeleton (see bot.translit) and, for words of five letters or more,
with one typo allowed. Arguments are read by one small function per intent. Dates typed
without a year ("03-20", "3/20") come back with year 1: the handler picks the next such day.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time

from bot.core.grammar import joining, optout, understand
from bot.core.grammar.amounts import amounts
from bot.core.grammar.deadlines import deadlines
from bot.core.grammar.intents import Intent, Kind
from bot.core.grammar.keywords import (
    ALONE_ONLY,
    CONFIRM_YES_WORDS,
    KEYWORDS,
    LANG_WORDS,
    NOTICE_WORDS,
    POLICY_WORDS,
    RULE_WORDS,
)
from bot.core.grammar.phrases import phrase_intent, vote_after_keyword
from bot.core.translit import is_cyrillic, skeleton

Reader = Callable[[str, str], Intent]

MAX_SCAN = 2_000  # keyword and argument work looks at this much of a message
MAX_PROPOSAL = 500
FUZZY_MIN_LEN = 5

# Letters and digits are separate words, so "Нэгдэх644651" reads as "Нэгдэх 644651".
_WORD = re.compile(r"[^\W\d_]+|\d+|\?", re.UNICODE)
_INT = re.compile(r"\d+")
_BARE_BALLOT = re.compile(
    r"^[\s\d,.;:#№+&/\-]*(?:(?:ба|and|болон|,)[\s\d,.;:#№+&/\-]*)*$", re.IGNORECASE
)
_THOUSANDS = re.compile(r"(?<=\d)[ ,.'](?=\d{3}(?!\d))")
_FULL_DATE = re.compile(r"\b(\d{4})[-./](\d{1,2})[-./](\d{1,2})\b")
_SHORT_DATE = re.compile(r"(?<![\d:.])(\d{1,2})[-/.](\d{1,2})(?![\d:])(?:\s*-?\s*(?:нд|ны|nd))?")
_TIME = re.compile(r"(?<![\d\-/])(\d{1,2})[:.](\d{2})(?!\d)")
_TIME_AMPM = re.compile(r"\b(\d{1,2})\s*(am|pm)\b", re.IGNORECASE)
_TIME_TSAG = re.compile(r"(?<!\d)(\d{1,2})\s*(?:цагт|цаг|ц\b|tsagt|tsag|cagt|cag)", re.IGNORECASE)


def _build_tables() -> tuple[dict[str, Kind], dict[str, Kind]]:
    one: dict[str, Kind] = {}
    two: dict[str, Kind] = {}
    for kind, phrases in KEYWORDS.items():
        for phrase in phrases:
            words = _WORD.findall(phrase.lower())
            key = "".join(skeleton(w) for w in words)
            if not key:
                continue
            (two if len(words) == 2 else one).setdefault(key, kind)
    return one, two


_ONE, _TWO = _build_tables()
# STOP and START are never guessed from a near word: "зогсоол" (parking) is not "зогсоох".
_FUZZY = [
    (k, kind) for k, kind in _ONE.items() if len(k) >= FUZZY_MIN_LEN and kind not in ALONE_ONLY
]
# Everyday words one letter from a keyword are words, not typos: "заавал ирнэ" (surely,
# I will come) is not "заавар" (help).
_NOT_TYPOS = frozenset(skeleton(w) for w in ("заавал", "zaaval"))
_LANG = {skeleton(w): lang for w, lang in LANG_WORDS.items()}
_POLICY = {skeleton(w): p for w, p in POLICY_WORDS.items()}
_RULE = {skeleton(w): r for w, r in RULE_WORDS.items()}
_NOTICE = {skeleton(w): v for w, v in NOTICE_WORDS.items()}
_CONFIRM_YES = frozenset(skeleton(w) for w in CONFIRM_YES_WORDS)


def parse(text: str) -> Intent:
    """What a message means. Any text, any length: never raises."""
    try:
        return _parse(text if isinstance(text, str) else "")
    except Exception:  # defensive: a parser bug must cost one "not understood", not a reply
        return Intent(Kind.UNKNOWN, error="unknown")


def _parse(text: str, plain: bool = False) -> Intent:
    head = text[:MAX_SCAN].strip()
    script = "cyrl" if is_cyrillic(head) else "latn"
    body = re.sub(r"^[/#!]+", "", head)
    body = re.sub(r"^([^\W_]+)@\w+", r"\1", body)  # /vote@SanalBot 1 2
    if body.strip() in ("?", "？", "??"):
        return Intent(Kind.HELP, script=script)
    if not any(ch.isalnum() for ch in body):
        return Intent(Kind.UNKNOWN, error="empty", script=script)
    if head.lower().startswith("/start"):
        return Intent(Kind.HELP, script=script, extra={"telegram_start": "1"})

    # Before the keywords: "ZOGS!" must never be missed. A long command cut out of a message
    # (plain) was already read whole: an opt-out or a yes/no answer is short.
    opt = optout.read(body, script) if not plain or len(body) <= 160 else None
    if opt is not None:
        return opt
    if not plain:  # politeness, questions, greetings, projects without the word
        understood = understand.read(body, script, _bare_command)
        if understood is not None:
            return understood
    words = list(_WORD.finditer(body))
    kind, used = _keyword(words)
    # Numbers in words, other words and other orders (bot.grammar.phrases).
    said = phrase_intent(body, script, kind)
    if said is not None:
        return said
    if kind is None:
        return _no_keyword(body, script)
    rest = body[words[used - 1].end() :].strip(" \t\n:;,.-–—")
    full_rest = text[len(head) - len(head.lstrip()) :]  # keep long proposal text beyond the scan
    if kind == Kind.PROPOSE and len(text) > MAX_SCAN:
        rest = (rest + full_rest[len(head) :])[: MAX_PROPOSAL * 2]
    return _ARGUMENTS[kind](rest, script)


def _bare_command(text: str) -> Intent:
    """The command in ``text`` read as if sent alone (bot.grammar.understand cut it out)."""
    return _parse(text, plain=True)


def _keyword(words: list[re.Match[str]]) -> tuple[Kind | None, int]:
    if not words:
        return None, 0
    first = skeleton(words[0].group())
    if len(words) >= 2:
        pair = first + skeleton(words[1].group())
        if pair in _TWO:
            return _TWO[pair], 2
    if first in _ONE:
        return _ONE[first], 1
    if len(first) >= FUZZY_MIN_LEN and not first.isdigit() and first not in _NOT_TYPOS:
        near = {kind for key, kind in _FUZZY if _within_one(first, key)}
        if len(near) == 1:
            return near.pop(), 1
    return None, 0


def _within_one(a: str, b: str) -> bool:
    """Levenshtein distance of at most one."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _no_keyword(body: str, script: str) -> Intent:
    words = _WORD.findall(body)
    if len(words) == 1 and skeleton(words[0]) in _LANG and not words[0].isdigit():
        return Intent(Kind.LANG, lang=_LANG[skeleton(words[0])], script=script)
    if _BARE_BALLOT.match(body):
        numbers = [int(n) for n in _INT.findall(body)]
        if len(numbers) == 1 and re.fullmatch(r"\s*\d{6}\s*", body):
            return Intent(Kind.JOIN, bag_code=body.strip(), script=script)
        if numbers and all(0 < n <= 999 for n in numbers):
            return Intent(Kind.VOTE, numbers=_unique(numbers), script=script, extra={"bare": "1"})
    return Intent(Kind.UNKNOWN, error="unknown", script=script)


def _unique(numbers: list[int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(numbers))


def _ints(text: str) -> list[int]:
    return [int(n) for n in _INT.findall(text) if len(n) <= 9]


# --- one argument reader per intent -------------------------------------------------------


def _amounts(text: str) -> tuple[int | None, int | None]:
    """(beneficiaries, cost in MNT) written anywhere in a proposal (bot.grammar.amounts)."""
    return amounts(text)


def _propose(rest: str, script: str) -> Intent:
    text = " ".join(rest.split())[:MAX_PROPOSAL]
    if not any(ch.isalnum() for ch in text):
        return Intent(Kind.PROPOSE, error="propose_usage", script=script)
    beneficiaries, cost = _amounts(text)
    return Intent(
        Kind.PROPOSE, text=text, beneficiaries=beneficiaries, cost_mnt=cost, script=script
    )


def _page(kind: Kind) -> Reader:
    def read(rest: str, script: str) -> Intent:
        numbers = _ints(rest)
        return Intent(
            kind,
            page=numbers[0] if numbers and numbers[0] > 0 else 1,
            numbers=tuple(numbers[:1]),
            script=script,
        )

    return read


def _numbers(kind: Kind, usage: str) -> Reader:
    def read(rest: str, script: str) -> Intent:
        numbers = _ints(rest)
        if not numbers:
            return Intent(kind, error=usage, script=script)
        return Intent(kind, numbers=_unique(numbers), script=script)

    return read


def _number_and_text(kind: Kind, usage: str) -> Reader:
    def read(rest: str, script: str) -> Intent:
        m = re.match(r"\s*[#№]?\s*(\d{1,6})\b[\s,.:;-]*(.*)", rest, re.DOTALL)
        if not m:
            return Intent(kind, error=usage, script=script)
        return Intent(
            kind, numbers=(int(m.group(1)),), text=" ".join(m.group(2).split())[:300], script=script
        )

    return read


def _confirm(rest: str, script: str) -> Intent:
    """БАТЛАХ 64, and БАТЛАХ 64 ТИЙМ: the attendance, confirmed explicitly (text "yes")."""
    read = _numbers(Kind.CONFIRM, "confirm_usage")(rest, script)
    if read.error is None and any(skeleton(w) in _CONFIRM_YES for w in _WORD.findall(rest)):
        return Intent(Kind.CONFIRM, numbers=read.numbers, text="yes", script=script)
    return read


def _merge(rest: str, script: str) -> Intent:
    numbers = _ints(rest)
    if len(numbers) != 2:
        return Intent(Kind.MERGE, error="merge_usage", script=script)
    return Intent(Kind.MERGE, numbers=(numbers[0], numbers[1]), script=script)


def _plain(kind: Kind) -> Reader:
    def read(rest: str, script: str) -> Intent:
        if kind in ALONE_ONLY and rest:
            return Intent(Kind.UNKNOWN, error="unknown", script=script)
        return Intent(kind, script=script)

    return read


def _help(rest: str, script: str) -> Intent:
    words = list(_WORD.finditer(rest))
    kind, _ = _keyword(words)
    return Intent(Kind.HELP, text=kind.value if kind else "", script=script)


def _lang(rest: str, script: str) -> Intent:
    words = _WORD.findall(rest)
    lang = _LANG.get(skeleton(words[0])) if words else None
    if lang is None:
        return Intent(Kind.LANG, error="lang_usage", script=script)
    return Intent(Kind.LANG, lang=lang, script=script)


def _dates(text: str) -> tuple[list[date], str]:
    """Dates in order of writing, and the text with them removed."""
    found: list[tuple[int, date]] = []

    def full(m: re.Match[str]) -> str:
        try:
            found.append((m.start(), date(int(m.group(1)), int(m.group(2)), int(m.group(3)))))
        except ValueError:
            return m.group(0)
        return " "

    text = _FULL_DATE.sub(full, text)

    def short(m: re.Match[str]) -> str:
        try:
            found.append((m.start(), date(1, int(m.group(1)), int(m.group(2)))))
        except ValueError:
            return m.group(0)
        return " "

    text = _SHORT_DATE.sub(short, text)
    return [d for _, d in sorted(found, key=lambda p: p[0])], text


def _open(rest: str, script: str) -> Intent:
    found = deadlines(rest)
    collect = found[0] if found else (None, None)
    vote = found[1] if len(found) > 1 else (None, None)
    return Intent(
        Kind.OPEN,
        collect_until=collect[0],
        collect_time=collect[1],
        vote_until=vote[0],
        vote_time=vote[1],
        script=script,
    )


def _voting(rest: str, script: str) -> Intent:
    found = deadlines(rest)
    day, at = found[0] if found else (None, None)
    return Intent(Kind.VOTING, vote_until=day, vote_time=at, script=script)


def _time(text: str) -> tuple[time | None, str]:
    m = _TIME.search(text)
    if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
        return time(int(m.group(1)), int(m.group(2))), text[: m.start()] + " " + text[m.end() :]
    m = _TIME_AMPM.search(text)
    if m and 1 <= int(m.group(1)) <= 12:
        hour = int(m.group(1)) % 12 + (12 if m.group(2).lower() == "pm" else 0)
        return time(hour, 0), text[: m.start()] + " " + text[m.end() :]
    m = _TIME_TSAG.search(text)
    if m and int(m.group(1)) < 24:
        return time(int(m.group(1)), 0), text[: m.start()] + " " + text[m.end() :]
    return None, text


def _meeting(rest: str, script: str) -> Intent:
    dates, without = _dates(rest)
    when, place = _time(without)
    place = " ".join(place.split()).strip(" ,.;:-")
    if not dates or when is None:
        return Intent(Kind.MEETING, error="meeting_usage", text=place, script=script)
    return Intent(
        Kind.MEETING, meeting_date=dates[0], meeting_time=when, text=place[:200], script=script
    )


def _admit(rest: str, script: str) -> Intent:
    phone = re.sub(r"[^\d+]", "", rest)
    if len(re.sub(r"\D", "", phone)) < 8:
        return Intent(Kind.ADMIT, error="admit_usage", script=script)
    return Intent(Kind.ADMIT, phone=phone, script=script)


def _policy(rest: str, script: str) -> Intent:
    words = _WORD.findall(rest)
    value = _POLICY.get(skeleton(words[0])) if words else None
    if value is None:
        return Intent(Kind.POLICY, error="policy_usage", script=script)
    return Intent(Kind.POLICY, text=value, script=script)


def _score(rest: str, script: str) -> Intent:
    """ОНОО 12 4 5: the soum list number, then a score per criterion (repeats allowed)."""
    return Intent(Kind.SCORE, numbers=tuple(_ints(rest)[:10]), script=script)


def _ceiling(rest: str, script: str) -> Intent:
    """ХЯЗГААР 150 сая, or with the planning year first: ХЯЗГААР 2028 150 сая."""
    year: int | None = None
    m = re.match(r"\s*(20\d\d)(?:\s*(?:оны|онд|он|ony|ond|on|year))?[\s:,;.-]+(?=\d)", rest)
    if m:
        year, rest = int(m.group(1)), rest[m.end() :]
    _, cost = _amounts(rest)
    if cost is None:
        plain = _THOUSANDS.sub("", rest).strip(" ₮.,;:")
        if re.fullmatch(r"\d{4,13}", plain):
            cost = int(plain)
    if cost is None:
        return Intent(Kind.CEILING, error="ceiling_usage", year=year, script=script)
    return Intent(Kind.CEILING, cost_mnt=cost, year=year, script=script)


def _weights(rest: str, script: str) -> Intent:
    return Intent(Kind.WEIGHTS, numbers=tuple(_ints(rest)[:10]), script=script)


def _allocate(rest: str, script: str) -> Intent:
    words = _WORD.findall(rest)
    if not words:
        return Intent(Kind.ALLOCATE, script=script)
    rule = _RULE.get(skeleton(words[0])) or _RULE.get(words[0])
    if rule is None:
        return Intent(Kind.ALLOCATE, error="allocate_usage", script=script)
    return Intent(Kind.ALLOCATE, text=rule, script=script)


def _notice(rest: str, script: str) -> Intent:
    """МЭДЭГДЭЛ SMS [ТИЙМ|ҮГҮЙ]. Anything else after the two words is a sentence about
    notices ("мэдэгдэл sms ирсэнгүй"), not the governor's word."""
    words = _WORD.findall(rest)
    value = _NOTICE.get(skeleton(words[0])) if len(words) == 1 else ""
    if value is None or len(words) > 1:
        return Intent(Kind.UNKNOWN, error="unknown", script=script)
    return Intent(Kind.NOTICE, text=value, script=script)


_ARGUMENTS: dict[Kind, Reader] = {
    Kind.JOIN: joining.read,
    Kind.PROPOSE: _propose,
    Kind.LIST: _page(Kind.LIST),
    Kind.VOTE: vote_after_keyword,
    Kind.MY: _plain(Kind.MY),
    Kind.HELP: _help,
    Kind.STOP: _plain(Kind.STOP),
    Kind.START: _plain(Kind.START),
    Kind.LANG: _lang,
    Kind.RSVP: _plain(Kind.RSVP),
    Kind.OPEN: _open,
    Kind.PENDING: _plain(Kind.PENDING),
    Kind.ACCEPT: _numbers(Kind.ACCEPT, "accept_usage"),
    Kind.REJECT: _number_and_text(Kind.REJECT, "reject_usage"),
    Kind.MERGE: _merge,
    Kind.FLAG: _number_and_text(Kind.FLAG, "flag_usage"),
    Kind.VOTING: _voting,
    Kind.MEETING: _meeting,
    Kind.CLOSE: _plain(Kind.CLOSE),
    Kind.RESULTS: _page(Kind.RESULTS),
    Kind.CONFIRM: _confirm,
    Kind.ADMIT: _admit,
    Kind.POLICY: _policy,
    Kind.SCORE: _score,
    Kind.CEILING: _ceiling,
    Kind.WEIGHTS: _weights,
    Kind.ALLOCATE: _allocate,
    Kind.REPORT: _plain(Kind.REPORT),
    Kind.COST: _plain(Kind.COST),
    Kind.NOTICE: _notice,
}
