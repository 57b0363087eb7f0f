"""A project written without САНАЛ is asked about once, and "санал өгөх гэсэн юм. …" is a
proposal while proposals are collected: through the real router and a real database.

The yes that follows the question stores the proposal exactly as САНАЛ would; a second
yes, a yes a day later, a yes after another message, or a no stores nothing; and a yes
knows which question it answers (the opt-out one or this one).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.sms_segments import count_segments
from handlers.described import QUOTED
from handlers.paging import words_short
from storage import inbox, outbox, proposals
from storage.db import fetchall
from storage.proposals import Proposal
from tests.catalog import assert_has, matches
from tests.conftest import GOVERNOR, ZAG_BAG_1, make_official
from tests.handlers.talk import Talker, citizen, current_round, governor, mn

PROJECT = "Сургуулийн дотуур байрны засвар. 200 өрх. 45 сая"
ARGS = {"text": PROJECT, "beneficiaries": 200, "cost_mnt": 45_000_000}
ASK = mn("described.ask", text=words_short(PROJECT, QUOTED))


async def describe(who: Talker, words: str = PROJECT, **args: object) -> str:
    return await who.means(words, "described", **(args or ARGS))


async def stored(sanal: Sanal) -> list[Proposal]:
    return await proposals.of_round(sanal.db.reader, (await current_round(sanal)).id)


async def collecting(sanal: Sanal, client: TestClient[Any, Any]) -> tuple[Talker, Talker]:
    gov = await governor(sanal, client)
    await gov.say("НЭЭХ 2027-03-20")
    return gov, await citizen(sanal, client)


async def test_asked_once_and_a_yes_stores_it_as_a_proposal(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    gov, herder = await collecting(sanal, client)
    ask = await describe(herder)
    assert ask == ASK
    assert ask.startswith('"Сургуулийн дотуур байрны')
    assert "ТИЙМ / ҮГҮЙ" in ask
    assert count_segments(ask).segments == 1
    assert await stored(sanal) == []  # only asked
    assert await herder.say("тийм") == mn("propose.ok", n=1)
    [p] = await stored(sanal)
    assert (p.text, p.beneficiaries, p.cost_mnt, p.status) == (PROJECT, 200, 45_000_000, "pending")
    assert p.person_id == (await herder.person()).id
    # The governor hears of it as of any САНАЛ.
    await sanal.drain_outbox()
    told = [m["text"] for m in await gov.phone.inbox() if m["direction"] == "out"]
    assert any(matches(t, ("propose.governor_notice", {"n": 1})) for t in told)
    # A second yes answers nothing: the phase's help, nothing stored again.
    assert await herder.say("тийм") == mn("help.collecting")
    assert len(await stored(sanal)) == 1


async def test_it_is_stored_like_a_proposal_sent_with_the_word(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    """Same checks and flags as САНАЛ: a naadam is flagged for the governor."""
    _, herder = await collecting(sanal, client)
    festival = "Сумын наадам зохион байгуулах, 300 өрх"
    assert await describe(herder, festival, text=festival, beneficiaries=300) == mn(
        "described.ask", text=words_short(festival, QUOTED)
    )
    await herder.say("Тийм")
    other = await citizen(sanal, client, "99445566")
    await other.say(f"САНАЛ {festival}")
    by_word, by_yes = sorted(await stored(sanal), key=lambda p: p.number, reverse=True)
    assert by_yes.flag == by_word.flag is not None
    assert (by_yes.text, by_yes.beneficiaries) == (by_word.text, by_word.beneficiaries)


async def test_no_stores_nothing(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    _, herder = await collecting(sanal, client)
    assert await describe(herder) == ASK
    assert await herder.say("үгүй") == mn("described.not_stored")
    assert await stored(sanal) == []
    assert await herder.say("тийм") == mn("help.collecting")  # the question is gone
    assert await stored(sanal) == []


async def test_a_yes_a_day_later_stores_nothing(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    _, herder = await collecting(sanal, client)
    assert await describe(herder) == ASK
    clock = sanal.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(hours=25))
    assert await herder.say("тийм") == mn("help.collecting")
    assert await stored(sanal) == []


async def test_only_the_very_next_message_answers(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    _, herder = await collecting(sanal, client)
    assert await describe(herder) == ASK
    await herder.say("ЖАГСААЛТ")
    assert await herder.say("тийм") == mn("help.collecting")
    assert await stored(sanal) == []


async def test_a_yes_knows_which_question_it_answers(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    _, herder = await collecting(sanal, client)
    # Asked about a project, then about the messages: the yes stops the messages.
    assert await describe(herder) == ASK
    assert await herder.say("zogs 2") == mn("optout.ask")
    assert await herder.say("тийм") == mn("stop.ok")
    assert (await herder.person()).opted_out
    assert await stored(sanal) == []
    await herder.say("ЭХЛЭХ")
    # Asked about the messages, then about a project: the yes stores the project.
    assert await herder.say("Мессеж их ирээд байна") == mn("optout.ask")
    assert await describe(herder) == ASK
    assert await herder.say("тийм") == mn("propose.ok", n=1)
    assert not (await herder.person()).opted_out
    assert len(await stored(sanal)) == 1
    audits = await fetchall(sanal.db.reader, "SELECT action FROM audit_log")
    asked = [r["action"] for r in audits if r["action"].startswith("asked.")]
    assert asked == ["asked.proposal", "asked.stop", "asked.stop", "asked.proposal"]


async def test_a_yes_after_proposals_closed_gets_the_propose_reply(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    """The yes goes through САНАЛ's checks at the time of the yes."""
    gov, herder = await collecting(sanal, client)
    await herder.say("САНАЛ Худаг гаргах, 40 өрх")
    await gov.say("ЗӨВ 1")
    assert await describe(herder) == ASK
    assert_has(await gov.say("ХУРААЛТ"), "voting.ok", count=1)
    assert await herder.say("тийм") == mn("propose.closed")
    assert len(await stored(sanal)) == 1


async def test_others_get_the_help_of_their_phase(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    newcomer = Talker(sanal, client, "88112233")
    assert await describe(newcomer) == mn("help.new")
    gov = await governor(sanal, client)
    herder = await citizen(sanal, client)
    assert await describe(herder) == mn("help.general")  # no round
    await gov.say("БОДЛОГО ЗӨВШӨӨРӨЛ")
    waiting = Talker(sanal, client, "95112233")
    await waiting.say("НЭГДЭХ 644651")
    await gov.say("НЭЭХ")
    assert await describe(waiting) == mn("join.pending_wait")
    await herder.say("САНАЛ Худаг гаргах, 40 өрх")
    await gov.say("ЗӨВ 1")
    await gov.say("ХУРААЛТ")
    assert await describe(herder) == mn("help.voting", k=3)  # how to vote, in short
    assert await herder.say("тийм") == mn("help.voting", k=3)  # nothing was asked
    assert len(await stored(sanal)) == 1
    sql = "SELECT 1 FROM audit_log WHERE action = 'asked.proposal'"
    assert not await fetchall(sanal.db.reader, sql)


async def test_the_question_fits_one_sms_however_long_the_text(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    _, herder = await collecting(sanal, client)
    long = "Багийн төвийн гудамжны гэрэлтүүлэг, хогийн цэг, тоглоомын талбай " * 3
    ask = await describe(herder, long, text=long)
    assert count_segments(ask).segments == 1
    assert "…" in ask
    assert await herder.say("тийм") == mn("propose.ok", n=1)
    assert (await stored(sanal))[0].text == long.strip()  # whole, not the quoted start


# ------------------------------------------------------- vote words with a description

VOTE_WORDS = "санал өгөх гэсэн юм. Худаг гаргамаар байна"
WISH = "Худаг гаргамаар байна"


async def vote_words(who: Talker, text: str = WISH) -> str:
    return await who.means(VOTE_WORDS, "vote", error="vote_usage", text=text)


async def test_vote_words_with_a_description_propose_while_collecting(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    _, herder = await collecting(sanal, client)
    assert await vote_words(herder) == mn("propose.ok", n=1)
    [p] = await stored(sanal)
    assert (p.text, p.status) == (WISH, "pending")
    # Read as a vote, the message is sealed like one; the proposal keeps its text.
    rows = await fetchall(sanal.db.reader, "SELECT * FROM inbox ORDER BY id DESC LIMIT 1")
    assert rows[0]["text"] == inbox.SEALED
    assert rows[0]["intent"] == "vote"
    assert VOTE_WORDS not in json.dumps([dict(r) for r in rows], ensure_ascii=False)
    assert not await fetchall(sanal.db.reader, "SELECT * FROM ballot_choices")
    assert not await fetchall(sanal.db.reader, "SELECT * FROM participation")
    reply = (await outbox.for_inbox(sanal.db.reader, rows[0]["id"]))[0]
    assert reply.extra.get("ballot") == 1  # blanked once sent, as every vote's reply


async def test_vote_words_are_a_vote_otherwise(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    newcomer = Talker(sanal, client, "88112233")
    assert await vote_words(newcomer) == mn("help.new")  # join first
    gov, herder = await collecting(sanal, client)
    assert await vote_words(herder, "") == mn("vote.usage")  # no description
    await herder.say("САНАЛ Худаг гаргах, 40 өрх")
    await gov.say("ЗӨВ 1")
    await gov.say("ХУРААЛТ")
    assert await vote_words(herder) == mn("vote.usage")
    assert len(await stored(sanal)) == 1


async def test_vote_words_in_telegram_propose_instead_of_opening_the_ballot(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    """Telegram opens the button ballot for a vote without numbers: not while collecting."""
    from bot.core.message import Channel, Inbound
    from storage import identities, people
    from storage import telegram as telegram_store

    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    await Talker(sanal, client, GOVERNOR).say("НЭЭХ")
    now = sanal.clock.now()
    async with sanal.db.write() as conn:
        person = await people.create(conn, now=now, lang="mn")
        await identities.link(conn, person.id, "telegram", "7001", now)
        person = await people.get(conn, person.id) or person
        await telegram_store.set_phone(conn, person.id, "+97699887766")
        await people.set_bag(conn, person.id, ZAG_BAG_1, "approved", now)
    msg = Inbound(
        Channel.TELEGRAM,
        "update-1",
        "telegram:7001",
        VOTE_WORDS,
        now,
        telegram_id=7001,
        extra={"intent": "vote", "error": "vote_usage", "text": WISH},
    )
    inbox_id = await sanal.intake.receive_and_wait(msg)
    [reply] = await outbox.for_inbox(sanal.db.reader, inbox_id)
    assert reply.text == mn("propose.ok", n=1)
    assert "buttons" not in reply.extra
    assert [p.text for p in await stored(sanal)] == [WISH]
