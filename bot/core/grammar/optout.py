"""STOP and START as people write them, and plain requests to stop the messages.

The law for bulk SMS: an opt-out must never be missed. People add punctuation, emoji and
polite words ("ZOGS!", "zogs 🙏", "Зогс, баярлалаа", "Stop pls"), or write a sentence
without the word ("Дахиж мессеж битгий явуулаарай", "sms bitgii yavuulaarai", "don't send
me messages"). Precision matters as much: "Зогсоол барих" (build a parking place) and a
proposal about one are not opt-outs, and "Мессеж ирэхгүй байна" (messages do not arrive)
asks for the opposite. When a message is neither clearly one nor clearly the other, the
handler asks one yes/no question (``error="stop_unsure"``); "yes" then opts out. "yes"
alone is an answer, never START.

Every word is compared on its skeleton (bot.translit), so one Cyrillic spelling covers the
Latin ways of typing it.
"""

from __future__ import annotations

import re

from bot.core.grammar.intents import Intent, Kind
from bot.core.translit import skeleton

_WORD = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)


def _set(*words: str) -> frozenset[str]:
    return frozenset(skeleton(w) for w in words)


# Whole words that stop or start on their own (exact, never fuzzy: "зогсоол" is parking).
STOP_WORDS = _set(
    "зогс", "зогсоо", "зогсоох", "зогсох", "зогсооно", "зогсоорой", "зогсооч", "стоп", "stop",
    "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke", "болиоч", "больё",
)  # fmt: skip
START_WORDS = _set(
    "эхлэх", "эхлүүлэх", "эхлүүл", "эхлүүлээрэй", "start", "unstop", "resume", "subscribe",
    "ехлех",
)  # fmt: skip
# English carriers' words that also begin ordinary sentences ("cancel my proposal 2", "end
# of the road"): alone they stop; with more words they are not even a question.
_ASK_WHEN_MORE = STOP_WORDS - _set("cancel", "end", "quit", "revoke")
YES_WORDS = _set("тийм", "тиймээ", "тиймэ", "yes", "yeah", "yep", "за", "ok", "ок", "okay")
NO_WORDS = _set("үгүй", "үгүйээ", "no", "nope", "битгий", "хэрэггүй")

# Words around a command that change nothing: courtesy, "me", "now", "again", "all", and
# the messages themselves ("sms zogs", "stop messages").
_FILLER = _set(
    "please", "pls", "plz", "pliz", "plis", "thanks", "thank", "thx", "ty", "you",
    "баярлалаа", "bayrlalaa", "barlaa", "баярла", "гуйя", "гуйе", "guiy",
    "сайн", "байна", "уу", "bnuu", "bn", "sn", "sainuu", "hi", "hello", "сайнуу",
    "ээ", "аа", "шүү", "даа", "дээ", "одоо", "now", "дахин", "again", "надад", "би", "me",
    "it", "all", "бүгд", "бүгдийг", "бүх", "the", "my", "миний", "өгөөч", "өгнө", "үү",
    "sms", "смс", "мессеж", "мэссэж", "message", "messages", "msg", "зурвас",
    "мэдэгдэл", "notifications", "notification", "texts", "spam", "bayrlaa", "баярлаа",
)  # fmt: skip
# A bare "yes"/"no" may come with courtesy, but not with "me" or "sms" ("sms ok" is not yes).
_COURTESY = _set(
    "please", "pls", "thanks", "thank", "you", "баярлалаа", "bayrlalaa", "ээ", "аа", "шүү",
    "даа", "дээ",
)  # fmt: skip

# Plain requests: a "don't"/"no need" word with a message or a sending verb.
_NEGATION = _set(
    "битгий", "bitgii", "bitgi", "хэрэггүй", "heregui", "хүсэхгүй", "авахгүй",
    "not", "no", "dont", "never", "болиоч", "больё", "болих", "болиорой", "болъё",
    "зогсоо", "зогсоох", "зогсооно", "зогсоож", "зогсоорой", "зогсооч", "stop", "хангалттай",
    "enough", "боль", "boli", "больж", "больчих", "бүү", "зогсоогоорой", "zogsoogooroi", "hereggvi",
)  # fmt: skip
# "I want the messages (again)": with a message word and no negation, START.
_WANT = _set("авъя", "авья", "авмаар", "avya", "avmaar", "ирүүлээрэй")
# "Needed" answers the opt-out question with a no ("Үгүй, хэрэгтэй").
_NEEDED = _set("хэрэгтэй", "heregtei", "need")
_MESSAGE = _set(
    "sms", "смс", "мессеж", "мэссэж", "мессежүүд", "мессежийг", "мессежээ", "message",
    "messages", "msg", "зурвас", "зурвасыг", "мэдэгдэл", "мэдэгдлийг", "notifications",
    "texts", "text", "spam",
)  # fmt: skip
# Stems of "send" and "write to me" ("явуулаарай", "yavuulaad", "илгээх", "бичээрэй").
_SEND_STEMS = tuple(
    skeleton(w)
    for w in ("явуул", "илгээ", "ирүүл", "бичээрэй", "бичих", "бичээд", "send", "texting")
)
# "It does not arrive": the opposite of an opt-out, never taken for one.
_NOT_ARRIVING = _set(
    "ирэхгүй", "ирээгүй", "ирсэнгүй", "аваагүй", "авсангүй", "ирэхээ", "received", "receive",
    "get", "got", "getting", "arrive", "arriving", "haven", "didn",
)  # fmt: skip
# Signs of a complaint about the messages, without a clear request: ask once.
_COMPLAINT = _set(
    "их", "ih", "олон", "яагаад", "why", "хэн", "who", "many", "much", "too", "залхаа",
    "залхлаа", "дахиад", "ахиад", "ахиж", "дахиж", "yagaad", "zalhlaa", "ирээд", "ireed",
)  # fmt: skip
# Proposal words: a sentence that starts with one is about a project, not the messages.
_PROPOSAL = _set("санал", "төсөл", "proposal", "propose", "idea")


def read(body: str, script: str) -> Intent | None:
    """STOP, START, an unsure STOP (ask once) or a yes/no answer; None if none of these."""
    words = [skeleton(w) for w in _WORD.findall(_english_contractions(body))]
    words = [w for w in words if w]
    meaning = list(dict.fromkeys(w for w in words if w not in _FILLER))  # "STOP STOP"
    if not words or (meaning and meaning[0] in _PROPOSAL):
        return None
    if len(meaning) == 1 and meaning[0] in STOP_WORDS:
        return Intent(Kind.STOP, script=script)
    if len(meaning) == 1 and meaning[0] in START_WORDS:
        return Intent(Kind.START, script=script)
    if words[:2] == [skeleton("opt"), skeleton("out")] and len(meaning) == 2:
        return Intent(Kind.STOP, script=script)
    answer = [w for w in words if w not in _COURTESY]
    # "za tiim", "за за": every word a yes; "Үгүй, хэрэгтэй": a no and "needed".
    if answer and all(w in YES_WORDS for w in answer):
        return Intent(Kind.ANSWER, text="yes", script=script)
    if answer and answer[0] in NO_WORDS and all(w in NO_WORDS | _NEEDED for w in answer):
        return Intent(Kind.ANSWER, text="no", script=script)
    # "Тийм ээ зогсоо", "yes stop": a yes and the word itself.
    said = [w for w in meaning if w not in YES_WORDS]
    if len(said) == 1 and said[0] in STOP_WORDS and len(said) < len(meaning):
        return Intent(Kind.STOP, script=script)
    if any(w in _NOT_ARRIVING for w in words):
        return None
    negated = any(w in _NEGATION for w in words)
    about_messages = any(w in _MESSAGE for w in words)
    sending = any(w.startswith(_SEND_STEMS) for w in words)
    if negated and (about_messages or sending):
        return Intent(Kind.STOP, script=script, extra={"plain": "1"})
    if about_messages and any(w in _WANT for w in words):
        return Intent(Kind.START, script=script, extra={"plain": "1"})
    if meaning and meaning[0] in _ASK_WHEN_MORE:
        # "stop the bridge project", "zogs 2": the word is there, but so is more.
        return Intent(Kind.STOP, error="stop_unsure", script=script)
    if about_messages and any(w in _COMPLAINT for w in words):
        return Intent(Kind.STOP, error="stop_unsure", script=script)
    return None


def _english_contractions(text: str) -> str:
    """Read "don't" as "do not", so that one negation word covers both."""
    return re.sub(r"n['’`]t\b", " not", text, flags=re.IGNORECASE)
