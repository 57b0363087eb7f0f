"""Questions, greetings and the fallback through the real router and a real database.

Every question topic is asked at every stage a person can be in (a newcomer, waiting for
approval, a bag without a round, collecting, voting, after the close) and by the governor;
the answer comes from the bag's round and fits one Cyrillic SMS. The clock starts at
2027-03-02 10:00 in Ulaanbaatar.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.sms_segments import count_segments
from bot.core.texts import catalog, render
from handlers.context import Text
from handlers.delivery import compose
from tests.catalog import assert_has, assert_lines, assert_reply
from tests.handlers.talk import Talker, citizen, governor, mn, mn_lines

# What a herder might write for each topic (sent with the topic attached: tests/handlers/
# talk.py); once the parser reads these words as the topic, nothing here changes.
ASKED = {
    "meeting_when": "Хурал хэзээ болох вэ?",
    "meeting_where": "хурал хаана болох вэ",
    "collect_until": "санал хэзээ хүртэл авах вэ",
    "vote_until": "санал хураалт хэзээ дуусах вэ",
    "deadline": "хэзээ дуусах вэ?",
    "results": "дүн гарсан уу",
    "how_propose": "яаж санал гаргах вэ?",
    "how_vote": "Яаж санал өгөх вэ?",
    "how_join": "яаж бүртгүүлэх вэ",
    "what": "ОНХС гэж юу вэ?",
    "general": "Энэ чинь юу вэ?",
}
JOINED = mn("question.joined", soum="Заг", bag="1-р баг, Баянбулаг")


async def ask(who: Talker, topic: str) -> str:
    return await who.means(ASKED[topic], "question", text=topic)


async def answers(who: Talker) -> dict[str, str]:
    return {topic: await ask(who, topic) for topic in ASKED}


def one_sms(text: str) -> bool:
    return count_segments(text).segments == 1


def assert_answers(got: dict[str, str], expected: dict[str, str]) -> None:
    assert got == expected
    for topic, reply in got.items():
        assert one_sms(reply), (topic, reply)


# ------------------------------------------------------------------------- questions


async def test_a_newcomer_is_told_to_join_first(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    gov = await governor(sanal, client)
    assert_reply(
        await gov.say("НЭЭХ 2027-03-20"), "round.opened", year=2028, until="2027-03-20 23:59"
    )
    join = mn("question.join")
    expected = {
        "meeting_when": mn("question.join_meeting"),
        "meeting_where": mn("question.join_meeting"),
        "collect_until": join,
        "vote_until": join,
        "deadline": join,
        "results": join,
        "how_propose": join,
        "how_vote": join,
        "how_join": mn("help.new"),
        "what": mn("question.what"),
        "general": mn("help.new"),
    }
    assert_answers(await answers(Talker(sanal, client, "88112233")), expected)


async def test_a_bag_without_a_round(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    herder = await citizen(sanal, client)
    no_round = mn("question.no_round")
    expected = {
        "meeting_when": mn("question.meeting_none"),
        "meeting_where": mn("question.meeting_none"),
        "collect_until": no_round,
        "vote_until": no_round,
        "deadline": no_round,
        "results": mn("question.results_none"),
        "how_propose": no_round,
        "how_vote": no_round,
        "how_join": JOINED,
        "what": mn("question.what"),
        "general": mn("help.general"),
    }
    assert_answers(await answers(herder), expected)


async def test_while_proposals_are_collected(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    gov = await governor(sanal, client)
    opened = await gov.say("НЭЭХ 2027-03-20 2027-04-01")
    assert_reply(opened, "round.opened", year=2028, until="2027-03-20 23:59")
    herder = await citizen(sanal, client)
    expected = {
        "meeting_when": mn("question.meeting_none"),
        "meeting_where": mn("question.meeting_none"),
        "collect_until": mn("question.collect_until", until="2027-03-20 23:59"),
        "vote_until": mn("question.vote_later", until="2027-04-01 23:59"),
        "deadline": mn("question.collect_until", until="2027-03-20 23:59"),
        "results": mn("question.results_not_yet"),
        "how_propose": mn("question.how_propose"),
        "how_vote": mn("question.how_vote_later"),
        "how_join": JOINED,
        "what": mn("question.what"),
        "general": mn("help.collecting"),
    }
    assert_answers(await answers(herder), expected)
    assert "Санал 2027-03-20 23:59 хүртэл авна" in expected["deadline"]


async def test_deadlines_not_set_yet(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    gov = await governor(sanal, client)
    await gov.say("НЭЭХ")
    herder = await citizen(sanal, client)
    assert await ask(herder, "collect_until") == mn("question.collect_open")
    assert await ask(herder, "deadline") == mn("question.collect_open")
    assert await ask(herder, "vote_until") == mn("question.vote_not_yet")
    await herder.say("САНАЛ Худаг гаргах, 40 өрх")
    await gov.say("ЗӨВ 1")
    assert_has(await gov.say("ХУРААЛТ"), "voting.ok", count=1)
    assert await ask(herder, "vote_until") == mn("question.vote_open")
    assert await ask(herder, "deadline") == mn("question.vote_open")
    assert await ask(herder, "collect_until") == mn("question.collect_over")


async def test_the_meeting_time_and_place(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    gov = await governor(sanal, client)
    await gov.say("НЭЭХ")
    herder = await citizen(sanal, client)
    assert await ask(herder, "meeting_when") == mn("question.meeting_none")
    await gov.say("ХУРАЛ 2027-04-10 14:00 Багийн төв")
    meeting = Text("question.meeting", {"when": "2027-04-10 14:00", "place": "Багийн төв"})
    told = mn_lines(meeting, Text("remind.meeting_rsvp"))  # how to say "I will come"
    assert await ask(herder, "meeting_when") == told
    assert await ask(herder, "meeting_where") == told
    assert told.startswith("ИНХ болно: 2027-04-10 14:00, Багийн төв")
    assert one_sms(told)
    rsvp = await herder.say("ИРНЭ")  # the word it names works
    assert_reply(rsvp, "rsvp.ok", when="2027-04-10 14:00", place="Багийн төв")
    # A long place name leaves the RSVP hint out rather than cost a second SMS.
    place = "Багийн соёлын төвийн их танхим, 2 давхар"
    await gov.say(f"ХУРАЛ 2027-04-10 14:00 {place}")
    long = await ask(herder, "meeting_where")
    assert long == mn("question.meeting", when="2027-04-10 14:00", place=place)
    assert one_sms(long)
    # After the meeting: when and where it was.
    clock = sanal.clock
    assert isinstance(clock, ManualClock)
    clock.set(datetime(2027, 4, 10, 8, 0, tzinfo=UTC))  # 16:00 in Ulaanbaatar
    held = mn("question.meeting_held", when="2027-04-10 14:00", place=place)
    assert await ask(herder, "meeting_when") == held


async def test_while_voting(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    gov = await governor(sanal, client)
    await gov.say("НЭЭХ 2027-03-20")
    herder = await citizen(sanal, client)
    await herder.say("САНАЛ Худаг гаргах, 40 өрх")
    await gov.say("ЗӨВ 1")
    assert_has(await gov.say("ХУРААЛТ 2027-04-01 18:00"), "voting.ok", until="2027-04-01 18:00")
    await gov.say("ХУРАЛ 2027-04-10 14:00 Сургууль")
    meeting = mn_lines(
        Text("question.meeting", {"when": "2027-04-10 14:00", "place": "Сургууль"}),
        Text("remind.meeting_rsvp"),
    )
    expected = {
        "meeting_when": meeting,
        "meeting_where": meeting,
        "collect_until": mn("question.collect_over_vote", until="2027-04-01 18:00"),
        "vote_until": mn("question.vote_until", until="2027-04-01 18:00"),
        "deadline": mn("question.vote_until", until="2027-04-01 18:00"),
        "results": mn("question.results_not_yet"),
        "how_propose": mn("question.propose_over_vote"),
        "how_vote": mn("help.voting", k=3),
        "how_join": JOINED,
        "what": mn("question.what"),
        "general": mn("help.voting", k=3),
    }
    assert_answers(await answers(herder), expected)


async def test_after_the_close(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    gov = await governor(sanal, client)
    await gov.say("НЭЭХ")
    herder = await citizen(sanal, client)
    await herder.say("САНАЛ Худаг гаргах, 40 өрх")
    await gov.say("ЗӨВ 1")
    await gov.say("ХУРААЛТ")
    await herder.say("СОНГО 1")
    await gov.say("ХААХ")
    over = mn("question.round_over")
    expected = {
        "meeting_when": mn("question.meeting_none"),  # the khural has yet to confirm
        "meeting_where": mn("question.meeting_none"),
        "collect_until": over,
        "vote_until": over,
        "deadline": over,
        "results": mn("question.results_out"),
        "how_propose": mn("question.propose_over"),
        "how_vote": over,
        "how_join": JOINED,
        "what": mn("question.what"),
        "general": mn("help.general"),
    }
    assert_answers(await answers(herder), expected)
    # The word the answer names reads the results.
    assert "ДҮН" in expected["results"]
    assert_has(await herder.say("ДҮН"), "results.header", year=2028)


async def test_waiting_for_approval(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    gov = await governor(sanal, client)
    await gov.say("БОДЛОГО ЗӨВШӨӨРӨЛ")
    await gov.say("НЭЭХ 2027-03-20")
    await gov.say("ХУРАЛ 2027-04-10 14:00 Багийн төв")
    herder = Talker(sanal, client, "99112233")
    assert_reply(await herder.say("НЭГДЭХ 644651"), "join.pending")
    wait = mn("join.pending_wait")
    expected = {
        # What the whole bag is told anyway; "ИРНЭ" is for approved citizens only.
        "meeting_when": mn("question.meeting", when="2027-04-10 14:00", place="Багийн төв"),
        "meeting_where": mn("question.meeting", when="2027-04-10 14:00", place="Багийн төв"),
        "collect_until": mn("question.collect_until", until="2027-03-20 23:59"),
        "vote_until": mn("question.vote_not_yet"),
        "deadline": mn("question.collect_until", until="2027-03-20 23:59"),
        "results": wait,
        "how_propose": wait,
        "how_vote": wait,
        "how_join": wait,
        "what": mn("question.what"),
        "general": wait,
    }
    assert_answers(await answers(herder), expected)


async def test_officials_get_the_same_answers(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    gov = await governor(sanal, client)
    await gov.say("НЭЭХ 2027-03-20")
    await gov.say("ХУРАЛ 2027-04-10 14:00 Багийн төв")
    herder = await citizen(sanal, client)
    for topic in ("meeting_when", "deadline", "vote_until", "results", "how_propose", "what"):
        assert await ask(gov, topic) == await ask(herder, topic), topic
    assert await ask(gov, "general") == mn("help.governor")


async def test_an_unknown_topic_gets_the_phase_help(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    herder = Talker(sanal, client, "99112233")
    assert await herder.means("Цаг агаар ямар байх вэ?", "question", text="weather") == mn(
        "help.new"
    )


# ------------------------------------------------------------------------- greetings

GREETED = {
    "hello": "Сайн байна уу",
    "wish": "Шинэ жилийн мэнд хүргэе!",
    "thanks": "Баярлалаа",
    "bye": "Баяртай",
}


async def greet(who: Talker, said: str) -> str:
    return await who.means(GREETED[said], "greeting", text=said)


def greeted(said: str, step: str, **params: object) -> str:
    return mn_lines(Text(f"greeting.{said}"), Text(f"greeting.step.{step}", params))


async def _greetings_in_one_sms(who: Talker, step: str, **params: object) -> None:
    for said in ("hello", "wish"):
        reply = await greet(who, said)
        assert reply == greeted(said, step, **params), (said, step)
        assert one_sms(reply), reply
    assert await greet(who, "thanks") == mn("greeting.thanks")
    assert await greet(who, "bye") == mn("greeting.bye")


async def test_greetings_with_the_next_step_of_each_phase(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    newcomer = Talker(sanal, client, "88112233")
    await _greetings_in_one_sms(newcomer, "new")  # how to join, not commands
    assert "НЭГДЭХ" in await greet(newcomer, "hello")
    gov = await governor(sanal, client)
    await gov.say("БОДЛОГО ЗӨВШӨӨРӨЛ")
    waiting = Talker(sanal, client, "95112233")
    await waiting.say("НЭГДЭХ 644651")
    await _greetings_in_one_sms(waiting, "pending")
    await gov.say("БОДЛОГО НЭЭЛТТЭЙ")
    herder = await citizen(sanal, client)
    await _greetings_in_one_sms(herder, "none")
    await _greetings_in_one_sms(gov, "governor")
    await gov.say("НЭЭХ")
    await _greetings_in_one_sms(herder, "collecting")
    await herder.say("САНАЛ Худаг гаргах, 40 өрх")
    await gov.say("ЗӨВ 1")
    await gov.say("ХУРААЛТ")
    await _greetings_in_one_sms(herder, "voting", k=3)
    await gov.say("ХААХ")
    await _greetings_in_one_sms(herder, "over")


async def test_an_unknown_greeting_is_a_hello(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    herder = Talker(sanal, client, "99112233")
    assert await herder.means("Ёо", "greeting", text="yo") == greeted("hello", "new")


# -------------------------------------------------------------------------- fallback


def led(help_: Text) -> str:
    """ "Ойлгосонгүй." and the help when both fit one segment; else the help alone."""
    both = mn_lines(Text("fallback.lead"), help_)
    return both if one_sms(both) else mn_lines(help_)


async def _not_understood(who: Talker, help_: Text) -> None:
    assert await who.means("Өнөөдөр цаг сайхан байна", "unknown") == led(help_)
    assert await who.say("qwzx plkj") == led(help_)  # what the parser makes of it today


async def test_the_fallback_is_the_help_of_the_phase(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    newcomer = Talker(sanal, client, "88112233")
    await _not_understood(newcomer, Text("help.new"))
    # The join help, whole; short enough now that "Ойлгосонгүй." fits before it.
    assert_lines(await newcomer.say("qwzx plkj"), "fallback.lead", "help.new")
    gov = await governor(sanal, client)
    await gov.say("БОДЛОГО ЗӨВШӨӨРӨЛ")
    waiting = Talker(sanal, client, "95112233")
    await waiting.say("НЭГДЭХ 644651")
    await _not_understood(waiting, Text("join.pending_wait"))
    said = await waiting.say("qwzx plkj")
    assert_lines(said, "fallback.lead", "join.pending_wait")  # it fits: said
    await gov.say("БОДЛОГО НЭЭЛТТЭЙ")
    herder = await citizen(sanal, client)
    await _not_understood(herder, Text("help.general"))
    await _not_understood(gov, Text("help.governor"))
    await gov.say("НЭЭХ")
    await _not_understood(herder, Text("help.collecting"))
    await herder.say("САНАЛ Худаг гаргах, 40 өрх")
    await gov.say("ЗӨВ 1")
    await gov.say("ХУРААЛТ")
    await _not_understood(herder, Text("help.voting", {"k": 3}))


async def test_usage_errors_and_empty_messages_keep_their_replies(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    newcomer = Talker(sanal, client, "88112233")
    assert await newcomer.say("НЭГДЭХ") == mn("join.usage")
    assert await newcomer.say("!!!") == mn("unknown.empty")
    assert await newcomer.means("...", "unknown", error="empty") == mn("unknown.empty")
    # A newcomer's vote word is answered with how to join: they cannot vote yet.
    assert await newcomer.say("СОНГО") == mn("help.new")


async def test_a_governor_word_from_a_citizen_is_a_full_sentence(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    await governor(sanal, client)
    herder = await citizen(sanal, client)
    reply = await herder.say("ШИНЭ")
    assert reply == mn("governor.not_allowed")
    assert one_sms(reply)


# ------------------------------------------------------------------ the texts themselves

# The longest values the texts are filled with.
LONGEST = {
    "when": "2027-04-10 14:00",
    "until": "2027-04-01 23:59",
    "place": "Багийн төв",
    "soum": "Баян-Овоо",
    "bag": "10-р баг, Чандмань-Овоо",
    "k": 10,
    "text": "Сургуулийн дотуур байрны…",
}
MINE = ("question.", "greeting.", "described.", "fallback.")


def _mine() -> list[str]:
    return sorted(k for k in catalog("mn") if k.startswith(MINE))


@pytest.mark.parametrize("lang", ["mn", "mn_latn", "en"])
def test_every_answer_fits_one_sms(lang: str) -> None:
    keys = _mine()
    assert len(keys) >= 35
    assert set(keys) == {k for k in catalog("en") if k.startswith(MINE)}
    for key in keys:
        text = render(key, lang, **LONGEST)
        assert one_sms(text), (lang, key, text)
    # A greeting or a wish with the longest next step: still one SMS.
    steps = [k for k in keys if k.startswith("greeting.step.")]
    for lead in ("greeting.hello", "greeting.wish"):
        for step in steps:
            assert one_sms(compose([Text(lead), Text(step, {"k": 10})], lang)), (lead, step)
