"""What a message means, independent of the words and script it was written in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from enum import StrEnum


class Kind(StrEnum):
    # Citizens
    JOIN = "join"  # bag_code, or soum_query + bag_query (+ aimag_query)
    PROPOSE = "propose"  # text, beneficiaries, cost_mnt
    LIST = "list"  # page
    VOTE = "vote"  # numbers
    MY = "my"
    HELP = "help"  # topic (optional keyword name)
    STOP = "stop"
    START = "start"
    LANG = "lang"  # lang: "mn" | "mn_latn" | "en"
    RSVP = "rsvp"  # "I will come" to the khural meeting
    ANSWER = "answer"  # text = "yes" | "no": a reply to the question Sanal asked last
    # A question about the round, answered from it; text = one of QUESTION_TOPICS.
    QUESTION = "question"
    # Greetings, thanks and wishes with no command in them; text = one of GREETINGS.
    GREETING = "greeting"
    # No command word, but it reads like a project (what, how many, how much): while
    # proposals are collected Sanal asks once whether to store it; text = the description,
    # beneficiaries and cost_mnt as for PROPOSE.
    DESCRIBED = "described"
    # Governor (bag) and operator
    OPEN = "open"  # collect_until, vote_until (dates, optional)
    PENDING = "pending"
    ACCEPT = "accept"  # numbers
    REJECT = "reject"  # numbers[0], text = reason
    MERGE = "merge"  # numbers = [from, into]
    FLAG = "flag"  # numbers[0], text = reason
    VOTING = "voting"  # vote_until (optional)
    MEETING = "meeting"  # meeting_date, meeting_time, text = place
    CLOSE = "close"
    RESULTS = "results"
    CONFIRM = "confirm"  # numbers[0] = attendance; text "yes": confirmed despite a warning
    ADMIT = "admit"  # phone (approve a pending registration)
    POLICY = "policy"  # text = "open" | "approval"
    # Soum working group (and operators)
    SCORE = "score"  # numbers = [soum list number, score per member criterion...]; none: next
    CEILING = "ceiling"  # cost_mnt = the soum's LDF ceiling, year (optional)
    WEIGHTS = "weights"  # numbers = a weight per criterion, in order
    ALLOCATE = "allocate"  # text = "" (show both rules) | "greedy" | "mes" (the rule chosen)
    COST = "cost"  # governor: what SMS the bag's round cost
    # Governor: whether the notice that voting has opened goes by SMS too; text = "on" |
    # "off" | "" (say how it is set and what it costs).
    NOTICE = "notice"
    REPORT = "report"  # officials: the round's or soum's report (a document in Telegram)
    # Nothing understood; `error` says why in a catalog key.
    UNKNOWN = "unknown"


QUESTION_TOPICS = frozenset(
    {
        "meeting_when",  # Хурал хэзээ болох вэ?
        "meeting_where",  # хурал хаана
        "collect_until",  # санал хэзээ хүртэл авах вэ (proposals)
        "vote_until",  # санал хураалт хэзээ дуусах вэ
        "deadline",  # хэзээ дуусах вэ: whichever deadline is next in the round
        "results",  # дүн гарсан уу
        "how_propose",  # яаж санал гаргах вэ
        "how_vote",  # яаж санал өгөх вэ
        "how_join",  # яаж бүртгүүлэх вэ
        "what",  # ОНХС гэж юу вэ / энэ юу вэ
        "general",  # any other question: the help of the person's phase
    }
)
GREETINGS = frozenset({"hello", "thanks", "wish", "bye"})

# Whose words these are: the grammar reads them as an official's (a word of a project
# otherwise, bot/core/grammar/understand.py) and handlers/dispatch.py lets only a soum's
# working group, or a bag's governor, use them.
SOUM_KINDS = frozenset({Kind.SCORE, Kind.CEILING, Kind.WEIGHTS, Kind.ALLOCATE})

GOVERNOR_KINDS = frozenset(
    {
        Kind.OPEN,
        Kind.PENDING,
        Kind.ACCEPT,
        Kind.REJECT,
        Kind.MERGE,
        Kind.FLAG,
        Kind.VOTING,
        Kind.MEETING,
        Kind.CLOSE,
        Kind.CONFIRM,
        Kind.ADMIT,
        Kind.POLICY,
        Kind.COST,
        Kind.NOTICE,
    }
)


@dataclass(frozen=True, slots=True)
class Intent:
    kind: Kind
    numbers: tuple[int, ...] = ()
    text: str = ""
    bag_code: str | None = None
    soum_query: str | None = None
    bag_query: str | None = None
    # The aimag named before the soum ("Баянхонгор Заг 1"): it tells apart soums of the
    # same name (six are called Жаргалант).
    aimag_query: str | None = None
    beneficiaries: int | None = None
    cost_mnt: int | None = None
    page: int = 1
    lang: str | None = None
    phone: str | None = None
    collect_until: date | None = None
    vote_until: date | None = None
    # A time typed with a deadline (НЭЭХ 2027-03-20 12:00); None: the end of that day.
    collect_time: time | None = None
    vote_time: time | None = None
    meeting_date: date | None = None
    meeting_time: time | None = None
    year: int | None = None  # a planning year typed with a soum word (ХЯЗГААР 2028 150 сая)
    # Catalog key of what was wrong, for UNKNOWN or a recognised keyword with bad arguments.
    error: str | None = None
    # Script the message was written in: "cyrl" or "latn" (used to answer in kind).
    script: str = "latn"
    # Free extra values, kept for corpus tests to compare.
    extra: dict[str, str] = field(default_factory=dict)
