"""Commands written as phrases, in other words and in other orders.

The parser finds a command word at the start of a message. People also write the command
after its argument ("644653 negdeh", "2 5 сонгоё"), as a verb in a sentence ("Би 4-р
саналыг дэмжиж байна", "хуралд очно", "латинаар бичээч"), or without a command word
("Баянхонгор Заг 1", "хоёр, тав"). :func:`phrase_intent` is asked first, with the command word the
parser found at the start (or None); it answers only what it is sure of and leaves the
rest to the parser.

* votes: bot.grammar.votes (ballots in words, ordinals, "13, 14 хоёрыг");
* joins: bot.grammar.joining (bag codes in groups, place names, the join word last);
* RSVP: "би ирнэ", "хуралд очно", "Тийм, ирнэ", "bi irne", "хуралд оролцоно";
* language: "латинаар бичээч", "монголоор бичээрэй", "in English please".
"""

from __future__ import annotations

import re

from bot.core.grammar import joining, votes
from bot.core.grammar.intents import Intent, Kind
from bot.core.grammar.keywords import LANG_WORDS
from bot.core.grammar.numerals import word_key
from bot.core.translit import skeleton

_WORD = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)
MAX_PHRASE_WORDS = 12  # an RSVP or a language switch is short


def _keys(words: str) -> frozenset[str]:
    return frozenset(skeleton(w) for w in words.split())


# "I will come" in the forms people write (not "ирэхгүй": I will not).
RSVP_VERBS = _keys(
    "ирнэ ирье ирнээ очно очъё очие очноо оролцоно оролцъё оролцоё оролцох ирэх очих "
    "irne irie irnee ochno ochie orolcono oroltsono coming come attend attending"
)
# The words around it: "би", "тийм", "хуралд", "заавал" (surely), "маргааш" (tomorrow).
_RSVP_WORDS = _keys(
    "би bi i бид bid тийм tiim yes за za ok ок хуралд хурал хуралдаа хурлын хурал дээр deer "
    "hurald hural khurald khural meeting the to will be there im m ll заавал zaaval маргааш "
    "margaash ээ оо шүү даа дээ баярлалаа bayarlalaa thanks please pls гэж gej бодож "
    "байна baina bna bn бүгдээрээ бүгд bugd"
)
_LANGS = {skeleton(w): lang for w, lang in LANG_WORDS.items()} | {
    skeleton("mongolian"): "mn",
    skeleton("монголоор"): "mn",
    skeleton("latinaar"): "mn_latn",
    skeleton("кириллээр"): "mn",
}
# "write", "answer", "in letters", "in the language", "please"...
_LANG_WORDS = _keys(
    "бичээч бичнэ бичээрэй бич бичих бичиж бичээд бичвэл хариулаарай хариулна хариул "
    "хариулаач үсгээр үсэг хэлээр хэл надад над надтай би bi i me to in please pls write "
    "reply answer text bichne bicheech bicheerei bich bichij hariulaarai usgeer useg heleer "
    "hel nadad болно bolno болох bolokh уу үү uu ээ шүү баярлалаа thanks letters language"
)


def phrase_intent(body: str, script: str, kind: Kind | None) -> Intent | None:
    """The command a phrase means, or None to let the parser read the message."""
    if kind is None:
        return _without_keyword(body, script)
    ballot = votes.read(body)
    # "Миний сонголт 2 7", "сонгоё хоёр, тав": a ballot. After "санал" only with a vote verb
    # ("санал өгнө 3 5"): "САНАЛ 2 худаг 40 өрх" and even "САНАЛ 3 5" stay proposals. After
    # any other first word a vote verb and nothing but ballot words: "Зөв, 3-р саналыг
    # дэмжье" is a vote, "ТАТГАЛЗ 2-р саналыг дэмжих боломжгүй" a governor's reason.
    if ballot is not None and (
        kind in (Kind.MY, Kind.VOTE)
        or (kind is Kind.PROPOSE and not ballot.bare)
        or (ballot.every_word_known and not ballot.bare)
    ):
        return Intent(Kind.VOTE, numbers=ballot.numbers, script=script)
    if kind is Kind.MEETING:
        return _rsvp(body, script)  # "хуралд очно": the meeting word, then "I will come"
    return None


def vote_after_keyword(rest: str, script: str) -> Intent:
    """СОНГО 1 3 (when the words around are not a ballot in words): the item numbers."""
    numbers = [int(n) for n in re.findall(r"\d+", rest[:2_000]) if len(n) <= 3]
    numbers = [n for n in numbers if 0 < n <= votes.MAX_ITEM]
    if not numbers:
        return Intent(Kind.VOTE, error="vote_usage", script=script)
    return Intent(Kind.VOTE, numbers=tuple(dict.fromkeys(numbers)), script=script)


def _without_keyword(body: str, script: str) -> Intent | None:
    code = joining.bare_code(body)
    if code is not None:  # "64 46 51": a bag code, not a ballot of three
        return Intent(Kind.JOIN, bag_code=code, script=script)
    if votes.not_a_ballot(body):  # "04-01", "9:30", "99 11 22 33"
        return Intent(Kind.UNKNOWN, error="unknown", script=script)
    ballot = votes.read(body)
    if ballot is not None:
        extra = {"bare": "1"} if ballot.bare else {}
        return Intent(Kind.VOTE, numbers=ballot.numbers, script=script, extra=extra)
    return joining.read_phrase(body, script) or _rsvp(body, script) or _lang(body, script)


def _words(body: str) -> list[str]:
    """The skeletons of a short message's words ([] for a long one: not a phrase)."""
    words = _WORD.findall(body[:400])
    return [] if len(words) > MAX_PHRASE_WORDS else [word_key(w) for w in words]


def _rsvp(body: str, script: str) -> Intent | None:
    keys = _words(body)
    if not keys or len(keys) > MAX_PHRASE_WORDS or "?" in body:
        return None
    if any(k in RSVP_VERBS for k in keys) and all(
        k in RSVP_VERBS or k in _RSVP_WORDS for k in keys
    ):
        return Intent(Kind.RSVP, script=script)
    return None


def _lang(body: str, script: str) -> Intent | None:
    keys = _words(body)
    if not keys or len(keys) > MAX_PHRASE_WORDS:
        return None
    langs = {_LANGS[k] for k in keys if k in _LANGS}
    if len(langs) != 1 or not all(k in _LANGS or k in _LANG_WORDS for k in keys):
        return None
    return Intent(Kind.LANG, lang=langs.pop(), script=script)
