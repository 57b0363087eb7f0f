"""Governors set deadlines with a time as well as a date (issue 12), through the real router
and a real database. The clock starts at 2027-03-02 02:00 UTC: 10:00 in Ulaanbaatar, 09:00
in Khovd."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from storage import rounds
from storage.rounds import Round
from tests.catalog import assert_has, assert_reply
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_official

KHOVD_BAG = "840151"  # 1-р баг, Алагтолгой, Жаргалант сум, Ховд: Asia/Hovd (UTC+7)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def _round(sanal: Sanal, bag: str = ZAG_BAG_1) -> Round | None:
    async with sanal.db.write() as conn:
        return await rounds.current(conn, bag)


async def _ready_to_vote(sanal: Sanal, client: TestClient[Any, Any]) -> Phone:
    """A collecting round with one accepted proposal; the governor's phone."""
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov, herder = Phone(client, GOVERNOR), Phone(client, "99112233")
    await gov.say("НЭЭХ")
    await herder.say("НЭГДЭХ 644651")
    await herder.say("САНАЛ Худаг гаргах, 40 өрх")
    await gov.say("ЗӨВ 1")
    return gov


async def test_voting_deadline_with_a_time(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    gov = await _ready_to_vote(sanal, client)
    reply = await gov.say("ХУРААЛТ 2027-04-01 18:00")
    assert_has(reply, "voting.ok", until="2027-04-01 18:00")
    rnd = await _round(sanal)
    assert rnd is not None
    assert rnd.status == "voting"
    assert rnd.vote_until == utc("2027-04-01 10:00")  # 18:00 in Ulaanbaatar


async def test_hours_written_in_words(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    gov = await _ready_to_vote(sanal, client)
    assert_has(await gov.say("хураалт 2027-04-01 18 цаг"), "voting.ok", until="2027-04-01 18:00")
    rnd = await _round(sanal)
    assert rnd is not None
    assert rnd.vote_until == utc("2027-04-01 10:00")


async def test_open_with_two_timed_deadlines(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    reply = await Phone(client, GOVERNOR).say("НЭЭХ 2027-03-20 12:00 2027-04-01 18:00 цагт")
    assert_reply(reply, "round.opened", until="2027-03-20 12:00")
    rnd = await _round(sanal)
    assert rnd is not None
    assert (rnd.collect_until, rnd.vote_until) == (utc("2027-03-20 04:00"), utc("2027-04-01 10:00"))


async def test_a_date_alone_is_the_end_of_that_day_in_the_bags_zone(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    latin = await Phone(client, GOVERNOR).say("NEEH 2027-03-20")
    assert_reply(latin, "round.opened", lang="mn_latn", until="2027-03-20 23:59")
    ub = await _round(sanal)
    assert ub is not None
    assert ub.collect_until == utc("2027-03-20 16:00")
    khovd_gov = "+97699000001"
    await make_official(sanal, khovd_gov, "governor", KHOVD_BAG)
    khovd_opened = await Phone(client, khovd_gov).say("НЭЭХ 2027-03-20")
    assert_reply(khovd_opened, "round.opened", until="2027-03-20 23:59")
    khovd = await _round(sanal, KHOVD_BAG)
    assert khovd is not None
    assert khovd.collect_until == utc("2027-03-20 17:00")


async def test_a_time_is_read_in_khovds_zone(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    await make_official(sanal, GOVERNOR, "governor", KHOVD_BAG)
    opened = await Phone(client, GOVERNOR).say("НЭЭХ 2027-03-20 18:00")
    assert_reply(opened, "round.opened", until="2027-03-20 18:00")
    rnd = await _round(sanal, KHOVD_BAG)
    assert rnd is not None
    assert rnd.collect_until == utc("2027-03-20 11:00")


async def test_a_time_alone_means_today(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    gov = await _ready_to_vote(sanal, client)
    assert_has(await gov.say("ХУРААЛТ 18:00"), "voting.ok", until="2027-03-02 18:00")
    rnd = await _round(sanal)
    assert rnd is not None
    assert rnd.vote_until == utc("2027-03-02 10:00")


async def test_a_time_in_the_past_is_refused_once_and_changes_nothing(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    gov = await _ready_to_vote(sanal, client)
    # 09:00 today has passed (it is 10:00 in Ulaanbaatar).
    reply = await gov.say("ХУРААЛТ 2027-03-02 09:00")
    assert_reply(reply, "round.past_deadline", when="2027-03-02 09:00")
    rnd = await _round(sanal)
    assert rnd is not None
    assert rnd.status == "collecting"
    assert rnd.vote_until is None
    assert_reply(await gov.say("ХУРААЛТ 9 цаг"), "round.past_deadline", when="2027-03-02 09:00")


async def test_open_in_the_past_is_refused(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    refused = await Phone(client, GOVERNOR).say("НЭЭХ 2027-03-01 2027-04-01")
    assert_reply(refused, "round.past_deadline")
    assert await _round(sanal) is None


async def test_a_vote_deadline_before_the_proposals_deadline_is_refused(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov = Phone(client, GOVERNOR)
    reply = await gov.say("НЭЭХ 2027-03-20 18:00 2027-03-20 12:00")
    assert_reply(reply, "round.vote_before_collect", collect="2027-03-20 18:00")
    # The same day without a time for the proposals means its end, after 12:00.
    same_day = await gov.say("НЭЭХ 2027-03-20 2027-03-20 12:00")
    assert_reply(same_day, "round.vote_before_collect", collect="2027-03-20 23:59")
    assert await _round(sanal) is None
    opened = await gov.say("НЭЭХ 2027-03-20 18:00 2027-03-21")
    assert_reply(opened, "round.opened", until="2027-03-20 18:00")


async def test_latin_reply_states_the_time(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    gov = await _ready_to_vote(sanal, client)
    await gov.say("hel latin")
    reply = await gov.say("huraalt 2027-04-01 18:00 tsagt")
    assert_has(reply, "voting.ok", lang="mn_latn", until="2027-04-01 18:00")
