"""Citizens' words one by one: registration policy, language, STOP/START, paging, floods."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.sms_segments import count_segments, is_gsm7
from bot.core.texts import render
from handlers.context import Text
from handlers.prefs import LANG_NAMES
from storage import ballots, people, proposals, rounds
from tests.catalog import assert_has, assert_reply, keys_of, matches
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_official


async def _person(sanal: Sanal, phone: str) -> people.Person:
    async with sanal.db.write() as conn:
        found = await people.by_phone(conn, phone)
    assert found is not None
    return found


async def test_registration_by_approval(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov, herder = Phone(client, GOVERNOR), Phone(client, "99112233")
    assert_reply(await herder.say("БОДЛОГО ЗӨВШӨӨРӨЛ"), "governor.not_allowed")
    assert_reply(await gov.say("БОДЛОГО ЗӨВШӨӨРӨЛ"), "policy.approval")
    assert_reply(await herder.say("НЭГДЭХ 644651"), "join.pending")
    assert (await _person(sanal, "+97699112233")).status == "pending"
    await sanal.drain_outbox()
    told = [m["text"] for m in await gov.inbox() if m["direction"] == "out"]
    assert any(matches(t, ("join.governor_notice", {"phone": "+97699112233"})) for t in told)
    assert_reply(await herder.say("САНАЛ Худаг"), "join.pending_wait")
    assert_reply(await gov.say("БҮРТГЭ 88776655"), "admit.unknown", phone="88776655")
    assert_reply(await gov.say("БҮРТГЭ 9911 2233"), "admit.ok", phone="+97699112233")
    assert (await _person(sanal, "+97699112233")).status == "approved"
    await sanal.drain_outbox()
    admitted = ("admit.notice", {"bag": "1-р баг, Баянбулаг"})
    assert any(matches(m["text"], admitted) for m in await herder.inbox())


async def test_join_by_soum_name_and_ambiguity(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    herder = Phone(client, "99112233")
    reply = await herder.say("НЭГДЭХ Заг")
    assert keys_of(reply)[0] == "join.which_bag"
    assert_has(reply, "join.which_bag", soum="Заг")
    assert_has(reply, "join.bag_choice", code="644651")
    assert_has(reply, "join.bag_choice", code="644657")
    joined = await herder.say("НЭГДЭХ Заг Баянбулаг")
    assert_reply(joined, "join.ok", soum="Заг", bag="1-р баг, Баянбулаг")
    assert_reply(await herder.say("НЭГДЭХ Зүгээр 1"), "join.unknown_soum", soum="Зүгээр")
    assert_reply(await herder.say("НЭГДЭХ 999999"), "join.unknown_code", code="999999")
    # Khüreemaral typed the way herders do, with a typo: answered with the Cyrillic name.
    assert_reply(await herder.say("НЭГДЭХ khuremaral 1"), "join.ok", soum="Хүрээмарал")


async def test_language_and_script(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    herder = Phone(client, "99112233")
    latin = await herder.say("tuslamj")
    assert is_gsm7(latin)
    assert_reply(latin, "help.new", lang="mn_latn")
    assert_reply(await herder.say("LANG EN"), "lang.ok", lang="en", name=LANG_NAMES["en"])
    assert_reply(await herder.say("help"), "help.new", lang="en")
    assert_reply(await herder.say("КИРИЛЛ"), "lang.ok", name=LANG_NAMES["mn"])
    assert_reply(await herder.say("?"), "help.new")
    assert_reply(
        await herder.say("ХЭЛ ЛАТИН"), "lang.ok", lang="mn_latn", name=LANG_NAMES["mn_latn"]
    )
    assert (await _person(sanal, "+97699112233")).lang == "mn_latn"


async def test_stop_and_start(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    herder = Phone(client, "99112233")
    assert_reply(await herder.say("ЗОГС"), "stop.ok")
    assert (await _person(sanal, "+97699112233")).opted_out
    unsure = await herder.say("зогс гүүрийн төсөл")  # unsure: asked, not done
    assert_reply(unsure, "optout.ask")
    assert_reply(await herder.say("ЭХЛЭХ"), "start.ok")
    assert not (await _person(sanal, "+97699112233")).opted_out
    await herder.say("stop")
    assert (await _person(sanal, "+97699112233")).opted_out


async def test_list_is_paged_and_fits_the_segment_budget(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov, herder = Phone(client, GOVERNOR), Phone(client, "99112233")
    await gov.say("НЭЭХ")
    await herder.say("НЭГДЭХ 644651")
    for i in range(12):
        await herder.say(f"САНАЛ Багийн төвийн худаг дугаар {i + 1}, {10 + i} өрх")
        clock.advance(timedelta(seconds=10))  # a person, not a flood
    await gov.say("ЗӨВ " + " ".join(str(n) for n in range(1, 13)))
    first = await herder.say("ЖАГСААЛТ")
    assert keys_of(first)[0] == "list.header"
    assert keys_of(first)[-1] == "list.more"
    assert_has(first, "list.header", page=1, pages=3)
    assert_has(first, "list.more", next=2)
    assert count_segments(first).segments <= sanal.settings.max_segments
    third = await herder.say("жагсаалт 3")
    assert_has(third, "list.header", page=3, pages=3)
    assert_has(third, "list.item", n=11)
    assert_has(third, "list.item", n=12)
    assert_has(await herder.say("ЖАГСААЛТ 99"), "list.header", page=3, pages=3)


async def test_flooding_sender_gets_one_reply_a_minute(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    bot = Phone(client, "99887766")
    replies = [await bot.say(f"hello {i}") for i in range(30)]
    threshold = sanal.settings.flood_threshold
    # Up to the threshold every message is answered; after it, one reply a minute, and
    # the one reply of this minute was already given: the sender is told so, once.
    assert all(replies[:threshold])
    assert replies[threshold] == render("flood.limited", "mn_latn")
    assert replies[threshold + 1 :] == [""] * (30 - threshold - 1)
    clock.advance(timedelta(seconds=61))
    assert await bot.say("hello again")


async def test_proposal_amounts_reach_storage(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    await Phone(client, GOVERNOR).say("НЭЭХ")
    herder = Phone(client, "99112233")
    await herder.say("НЭГДЭХ 644651")
    await herder.say("sanal Guur barih 1,5 sai 60 ail")
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
        assert rnd is not None
        (p,) = await proposals.of_round(conn, rnd.id)
    assert (p.beneficiaries, p.cost_mnt, p.text) == (60, 1_500_000, "Guur barih 1,5 sai 60 ail")


async def test_a_voter_cannot_move_to_another_bag_until_the_close(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov, herder = Phone(client, GOVERNOR), Phone(client, "99112233")
    await gov.say("НЭЭХ")
    await herder.say("НЭГДЭХ 644651")
    await herder.say("САНАЛ Худаг 30 өрх")
    await gov.say("ЗӨВ 1")
    await gov.say("ХУРААЛТ")
    await herder.say("1")
    assert_reply(await herder.say("НЭГДЭХ 644653"), "join.locked")
    assert (await _person(sanal, "+97699112233")).bag_code == ZAG_BAG_1
    await gov.say("ХААХ")
    assert_reply(await herder.say("НЭГДЭХ 644653"), "join.ok", bag="2-р баг, Баян-Улаан")


async def test_a_ballot_sent_after_the_deadline_does_not_count(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """Even before the close has run: the deadline is the message's arrival time."""
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov, herder = Phone(client, GOVERNOR), Phone(client, "99112233")
    await gov.say("НЭЭХ 2027-03-20 2027-04-01")
    await herder.say("НЭГДЭХ 644651")
    await herder.say("САНАЛ Худаг гаргах 40 өрх")
    await gov.say("ЗӨВ 1")
    await gov.say("ХУРААЛТ")
    clock.advance(timedelta(days=31))  # 2 April: past "vote until", no close yet
    reply = await herder.say("СОНГО 1")
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
        assert rnd is not None
        assert rnd.status == "voting"
        assert not await ballots.has_voted(conn, rnd.id, 2)
    assert_reply(reply, "vote.closed")


async def test_a_governor_word_out_of_turn_names_the_round_state_in_words(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov = Phone(client, GOVERNOR)
    await gov.say("НЭЭХ 2027-03-20 2027-04-01")
    collecting = Text("report.state.collecting")  # in words, not the database's state
    assert_reply(await gov.say("БАТЛАХ 40"), "round.wrong_state", status=collecting)
    await gov.say("LANG EN")
    assert_reply(await gov.say("CONFIRM 40"), "round.wrong_state", lang="en", status=collecting)
