"""Reading a message as a person writes it: the command inside politeness, a question, a
greeting, or a project described without the command word.

Called by the parser (bot.grammar.parser) before it looks for a command word, with a way to
read a bare command. It returns None when there is nothing for it to do (a bare command
with no question and no project in it), so plain commands cost one look at their words.

The order of the decisions, and why:

1. Greetings, thanks, "би", a name and "please" around the command are cut off
   (bot.grammar.wrapping); nothing left is a GREETING (hello, thanks, wish, bye).
2. A question (bot.grammar.questions) is a QUESTION, answered, never stored: unless what
   was asked carries a command's arguments, which then win. "СОНГО 1 3 уу?" is a vote
   (the numbers are a ballot, and a voter can change it until the close: a ballot read as
   a question would be lost, while a hesitant vote costs nothing); "НЭГДЭХ 644651 болох
   уу" joins; "ХУРАЛ 2027-04-10 14:00 төвд" schedules. Without arguments the command
   word is only the topic: "Хурал хэзээ болох вэ?", "дүн гарсан уу", "Санал яаж гаргах
   вэ?" (not the proposal "яаж гаргах вэ?"). "болох уу" after a project ("Санал: худаг
   гаргаж болох уу") is a polite way to ask for it, not a question of the round.
3. "санал өгөх гэсэн юм. Манай багт худаг гаргамаар байна": a vote word, no numbers, a
   description: a VOTE with error vote_usage and the description as text (while
   proposals are collected the handler makes it a proposal).
4. No command (or a governor's word used as an ordinary word, "Шинэ худаг гаргах, 40
   өрх") but a project: DESCRIBED.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from bot.core.grammar import described, greetings, questions, tokens, wrapping
from bot.core.grammar.amounts import amounts
from bot.core.grammar.intents import GOVERNOR_KINDS, SOUM_KINDS, Intent, Kind
from bot.core.grammar.tokens import Phrases, Word

Command = Callable[[str], Intent]

MAX_TEXT = 500
_TRIM = " \t\n:;,.-–—"
# Polite ways to ask for something: "… болох уу", "… хийж өгөх үү", "… өгөөч".
_POLITE = Phrases(
    "болох|boloh|bolokh|bolox уу|uu|үү|vv",
    "болох|boloh|bolokh болов|bolov уу|uu",
    "болохгүй|bolohgui|bolokhgui юу|yu|уу|uu",
    "болохуу|bolohuu|bolokhuu",
    "өгөх|ogoh|ugukh|uguh|ugux үү|uu|vv",
    "өгөхгүй|ogohgui|uguhgui|ugukhgui юу|yu|уу|uu",
    "өгнө|ogno|ugnu үү|uu|vv",
)
# Arguments a command must carry to win over a question.
_WITH_VALUES = frozenset(
    {
        Kind.ACCEPT, Kind.REJECT, Kind.MERGE, Kind.FLAG, Kind.CONFIRM, Kind.ADMIT,
        Kind.POLICY, Kind.LANG, Kind.ALLOCATE, Kind.CEILING, Kind.SCORE, Kind.WEIGHTS,
    }
)  # fmt: skip
_ALWAYS = frozenset({Kind.HELP, Kind.LIST, Kind.MY, Kind.STOP, Kind.START, Kind.ANSWER})
# A governor's or soum's word at the head that may be an ordinary word of a project.
_OFFICIAL = GOVERNOR_KINDS | SOUM_KINDS
_WHAT_ELSE = frozenset({"юу", "yu", "yuu", "what"})
# Officials' words that take nothing after them: what follows is ordinary words.
_NO_VALUES = frozenset({Kind.PENDING, Kind.CLOSE, Kind.COST})
# Words after an official's word that make it an ordinary one ("Зөв байна": right).
_ORDINARY = frozenset(
    tokens.key(w) for w in ("байна", "бна", "bn", "baina", "юм", "шүү", "даа", "дээ", "шд")
)


def read(body: str, script: str, command: Command) -> Intent | None:
    """What ``body`` means when it is more than a bare command; None to read it as one."""
    ws = tokens.words(body)
    if not ws:
        return None
    wrapped = wrapping.unwrap(ws)
    if wrapped.start >= wrapped.end:
        if wrapped.kinds or wrapped.introduced:
            kind = greetings.strongest(wrapped.kinds)
            return Intent(Kind.GREETING, text=kind, script=script)
        return None
    if wrapped.start > 0 or wrapped.end < len(ws):
        core = wrapping.cut(body, ws, wrapped)
        core_ws = tokens.words(core)
    else:
        core, core_ws = body, ws
    wanted = wrapping.wanted(core_ws)
    if wanted:  # "Би бүртгүүлмээр байна": read as "бүртгүүл"
        word, at, n = wanted
        rest = core[core_ws[at + n].start :] if at + n < len(core_ws) else ""
        core = f"{core[: core_ws[at].start]}{word} {rest}".strip()
        core_ws = tokens.words(core)
    asking = questions.asks(core_ws)
    if core is body and not asking and not described.signals(core_ws):
        return None
    if asking:
        intent = _question(core, core_ws, command)
    else:
        intent = _statement(command(core), core, core_ws, wrapped)
    return intent if intent.script == script else replace(intent, script=script)


def _question(core: str, ws: list[Word], command: Command) -> Intent:
    by_word = questions.asks_by_word(ws)
    polite = tokens.match_before(ws, len(ws), _POLITE)
    if polite:
        plain = _trim(core[: ws[-polite].start])
        plain_ws = tokens.words(plain)
        intent = command(plain)
        if _strong(intent, plain_ws, by_word):
            return intent
        if _reads_as_described(intent, plain_ws, plain) and not questions.asks(plain_ws):
            return _described(plain)
    # Without the particle or mark that asks ("СОНГО 1 3 уу?", "1 3?"): what the command
    # carries does not change with it, so one reading is enough.
    particle = questions.particle_at_end(ws)
    bare = _trim(core[: ws[-particle].start] if particle else core.rstrip(" ?？"))
    intent = command(bare if bare else core)
    if _strong(intent, ws, by_word):
        return intent
    # "ХУВААРИЛАХ юу?": a command word and "what" asks what the word takes, which its own
    # usage reply tells.
    n = wrapping.keyword_len(ws, 0)
    if n and len(ws) == n + 1 and ws[n].low in _WHAT_ELSE and intent.kind is not Kind.UNKNOWN:
        return intent
    return Intent(Kind.QUESTION, text=questions.topic(ws))


def _strong(intent: Intent, ws: list[Word], asked_by_word: bool) -> bool:
    """Does the command carry what it needs, so that it wins over a question?"""
    kind = intent.kind
    if kind in _ALWAYS:
        return True
    if kind is Kind.PENDING:
        # "ШИНЭ санал байна уу": asks for just what the word shows (new proposals).
        return len(ws) > 1 and (ws[1].key.startswith("sanal") or ws[1].low.startswith("propos"))
    if kind is Kind.VOTE or kind is Kind.RESULTS:
        return bool(intent.numbers)
    if kind is Kind.JOIN:
        return intent.bag_code is not None
    if kind is Kind.MEETING:
        return intent.error is None and not questions.asks(tokens.words(intent.text))
    if kind in (Kind.OPEN, Kind.VOTING):
        values = (intent.collect_until, intent.vote_until, intent.collect_time, intent.vote_time)
        return any(v is not None for v in values)
    if kind is Kind.PROPOSE:
        if intent.error is not None:
            return False
        text_ws = tokens.words(intent.text)
        if not described.reads_like_project(text_ws, intent.text):
            return False
        # A project with a question word is still a project when it says how many or how
        # much ("Яагаад манайд худаг байхгүй вэ? Худаг гаргая, 40 өрх"), or when a sentence
        # without a question says what to build ("Хүүхдүүд хаана тоглох вэ? Тоглоомын
        # талбай хэрэгтэй"); not "Санал: худаг хэзээ гаргах вэ?".
        if not asked_by_word or intent.beneficiaries is not None or intent.cost_mnt is not None:
            return True
        return any(_project_sentence(s) for s in _SENTENCE.split(intent.text))
    if kind in _WITH_VALUES:
        values_of = (intent.numbers, intent.phone, intent.lang, intent.text, intent.cost_mnt)
        return intent.error is None and any(bool(v) for v in values_of)
    return False


_SENTENCE = re.compile(r"[.!?？\n]+")


def _project_sentence(sentence: str) -> bool:
    ws = tokens.words(sentence)
    return not questions.asks(ws) and described.reads_like_project(ws, sentence)


def _official_or_unknown(intent: Intent) -> bool:
    if intent.kind is Kind.UNKNOWN:
        return intent.error == "unknown"
    return intent.kind in _OFFICIAL and not _strong(intent, [], False)


def _statement(intent: Intent, core: str, ws: list[Word], wrapped: wrapping.Wrapped) -> Intent:
    # "санал өгөх гэсэн юм. Худаг гаргамаар байна", "… Сургуулийн засвар 45 сая": the only
    # numbers, if any, are the project's amounts, not proposals on the ballot.
    if intent.kind is Kind.VOTE and (intent.error == "vote_usage" or _amounts_only(ws)):
        start = described.vote_description(ws)
        if start is None:
            return intent
        text = _trim(core[ws[start].start :])[:MAX_TEXT]
        beneficiaries, cost = amounts(text)
        return replace(
            intent,
            numbers=(),
            error="vote_usage",
            text=text,
            beneficiaries=beneficiaries,
            cost_mnt=cost,
            extra={},
        )
    if intent.kind is Kind.PROPOSE and intent.error is None:
        n = wrapping.keyword_len(ws, 0) or 1
        if described.only_the_wish_to_propose(ws[n:]):  # "Санал гаргах гэж байна"
            return Intent(Kind.PROPOSE, error="propose_usage")
        return intent
    if _reads_as_described(intent, ws, core):
        return _described(core)
    # "Зөв байна, баярлалаа" (that's right, thanks): an official's word made an ordinary
    # one by "байна", with thanks, is thanks. Not "close voting, thanks", not "НЭГТГЭХ 2,
    # баярлалаа": those are commands (or their usage) with thanks.
    rest = ws[(wrapping.keyword_len(ws, 0) or 1) :]
    ordinary = bool(rest) and all(w.key in _ORDINARY for w in rest)
    if intent.kind in _OFFICIAL and wrapped.kinds and ordinary:
        return Intent(Kind.GREETING, text=greetings.strongest(wrapped.kinds))
    greeted = wrapped.kinds or wrapped.introduced
    # "Сайн байна уу Дорж ах": a greeting with a few words more is still one.
    short = len(ws) <= 3 and not any(w.is_number for w in ws)
    if intent.kind is Kind.UNKNOWN and greeted and short:
        return Intent(Kind.GREETING, text=greetings.strongest(wrapped.kinds))
    return intent


def _amounts_only(ws: list[Word]) -> bool:
    numbers = [k for k, w in enumerate(ws) if w.is_number]
    return bool(numbers) and all(described.amount_number(ws, k) for k in numbers)


def _reads_as_described(intent: Intent, ws: list[Word], core: str) -> bool:
    """No command (or an official's word as an ordinary one), and a project."""
    if not _official_or_unknown(intent) or not described.reads_like_project(ws, core):
        return False
    if intent.kind in _NO_VALUES or intent.kind is Kind.UNKNOWN:
        return True
    # An official's word that takes values ("ХУРАЛ сургуулийн танхимд") stays its usage,
    # unless the project says how many or how much ("Хурлын танхимын засвар, 45 сая").
    return any(v is not None for v in amounts(core))


def _described(text: str) -> Intent:
    text = _trim(text)[:MAX_TEXT]
    beneficiaries, cost = amounts(text)
    return Intent(Kind.DESCRIBED, text=text, beneficiaries=beneficiaries, cost_mnt=cost)


def _trim(text: str) -> str:
    return " ".join(text.split()).strip(_TRIM)
