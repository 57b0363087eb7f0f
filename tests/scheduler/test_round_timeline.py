"""A round that opens, moves to voting and closes on its own, in the bag's local time,
with the governor and the chair told and results delivered once, in the morning."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.sms_segments import count_segments
from storage import audit, rounds
from tests.conftest import GOVERNOR, ZAG_BAG_1, ZAG_BAG_2, Phone, make_official
from tests.scheduler.world import UB, citizens, local, sent_to, sweep

CHAIR = "+97699000009"
GOVERNOR_2 = "+97699000002"


async def test_a_round_runs_on_its_own(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    await make_official(sanal, CHAIR, "chair", ZAG_BAG_1)
    await make_official(sanal, GOVERNOR_2, "governor", ZAG_BAG_2)
    people = await citizens(sanal, ZAG_BAG_1, 6)
    phones = [Phone(client, p) for p in people]
    gov = Phone(client, GOVERNOR)

    # Bag 1: the governor opens a round with both deadlines, then reviews proposals.
    assert "эхэллээ" in await gov.say("НЭЭХ 2027-03-20 2027-04-01")
    await phones[0].say("САНАЛ Малын худаг гаргах, 40 өрх")
    await phones[1].say("САНАЛ Гудамжны гэрэлтүүлэг 80 өрх")
    await phones[2].say("САНАЛ Сургуулийн засвар 120 өрх")
    assert "1 2" in await gov.say("ЗӨВ 1 2")
    # Bag 2: a round prepared ahead (a draft) that opens by date.
    async with sanal.db.write() as conn:
        draft = await rounds.create(
            conn,
            bag_code=ZAG_BAG_2,
            year=2028,
            now=clock.now(),
            status="draft",
            opens_at=local(UB, "2027-03-10 09:00"),
            collect_until=local(UB, "2027-04-11 00:00"),
        )
        first = await rounds.current(conn, ZAG_BAG_1)
    assert first is not None

    report = await sweep(sanal, clock, local(UB, "2027-03-10 08:59"))
    assert report.opened == ()
    assert report.voting == ()
    report = await sweep(sanal, clock, local(UB, "2027-03-10 09:00"))
    assert report.opened == (draft.id,)
    assert (await _status(sanal, draft.id)) == "collecting"
    told = await sent_to(sanal, GOVERNOR_2)
    assert len(told) == 1
    assert "2027-04-10 23:59 хүртэл санал авна" in told[0].text

    # "Collect until" 2027-03-20 means the end of that day, local: voting starts at
    # midnight. The governor's notice waits out the quiet hours.
    report = await sweep(sanal, clock, local(UB, "2027-03-20 23:59"))
    assert report.voting == ()
    report = await sweep(sanal, clock, local(UB, "2027-03-21 00:00"))
    assert report.voting == (first.id,)
    assert (await _status(sanal, first.id)) == "voting"
    assert await sent_to(sanal, GOVERNOR) == []
    held = await sent_to(sanal, GOVERNOR, status="queued")
    assert len(held) == 1
    assert "Санал хураалт эхэллээ: 2 санал" in held[0].text
    assert "Хянаагүй 1 санал" in held[0].text  # proposal 3 still waits for review
    # The six citizens are told too, in the morning; the governor reads at what cost.
    assert "Иргэдэд мэдэгдэл: Telegram 0, SMS 6 (120 ₮)" in held[0].text
    for p in people:
        [opened] = await sent_to(sanal, p, status="queued", voting_notice=True)
        assert opened.text.startswith("Санал өгч болно 2027-04-01 23:59 хүртэл: СОНГО 1 3")
    await sweep(sanal, clock, local(UB, "2027-03-21 08:00"))
    assert [s.text for s in await sent_to(sanal, GOVERNOR)] == [held[0].text]
    assert len(await sent_to(sanal, CHAIR)) == 1
    for p in people:
        [opened] = await sent_to(sanal, p, voting_notice=True)
        assert count_segments(opened.text).segments == 1

    for p in phones[:4]:
        assert "Баярлалаа" in await p.say("СОНГО 1")
    assert "Баярлалаа" in await phones[4].say("СОНГО 2 1")

    # The vote reminder is due 24 h before the close: local midnight, quiet, so at 08:00.
    report = await sweep(sanal, clock, local(UB, "2027-04-01 00:00"))
    assert report.vote_reminders == 0
    report = await sweep(sanal, clock, local(UB, "2027-04-01 08:00"))
    assert report.vote_reminders == 3  # citizen 6, the governor and the chair
    reminded = await sent_to(sanal, people[5])
    assert len(reminded) == 1
    assert "2027-04-01 23:59 хүртэл" in reminded[0].text
    assert count_segments(reminded[0].text).segments == 1  # one Cyrillic SMS, not two
    assert await sent_to(sanal, people[0]) == []
    assert (await sweep(sanal, clock, local(UB, "2027-04-01 12:00"))).vote_reminders == 0

    # The close at midnight: exactly once; results reach governor and chair in the morning.
    report = await sweep(sanal, clock, local(UB, "2027-04-02 00:00"))
    assert report.closed == (first.id,)
    assert (await _status(sanal, first.id)) == "closed"
    assert [s.kind for s in await sent_to(sanal, GOVERNOR)] == ["notice", "reminder"]
    assert [s.kind for s in await sent_to(sanal, GOVERNOR, status="queued")] == ["result"]
    assert (await sweep(sanal, clock, local(UB, "2027-04-02 00:30"))).closed == ()
    await sweep(sanal, clock, local(UB, "2027-04-02 08:00"))
    for official in (GOVERNOR, CHAIR):
        results = [s for s in await sent_to(sanal, official) if s.kind == "result"]
        assert len(results) == 1
        lines = results[0].text.splitlines()
        assert "5/8" in lines[1]  # 6 citizens, the governor and the chair are registered
        assert lines[2].startswith("1. №1 ")
        assert ": 5 (" in lines[2]
        assert lines[3].startswith("2. №2 ")
        assert ": 1 (" in lines[3]
    voter = [s for s in await sent_to(sanal, people[0]) if s.kind == "result"]
    assert len(voter) == 1
    assert "дууслаа, 5 хүн" in voter[0].text
    assert all(s.kind != "result" for s in await sent_to(sanal, people[5]))

    async with sanal.db.write() as conn:
        log = await audit.entries(conn)
    by_scheduler = [(r["action"], r["round_id"]) for r in log if r["actor"] == "scheduler"]
    assert by_scheduler == [
        ("round.open", draft.id),
        ("round.voting", first.id),
        ("round.close", first.id),
    ]


async def test_nothing_to_vote_on_waits_for_the_governor(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    people = await citizens(sanal, ZAG_BAG_1, 2)
    gov = Phone(client, GOVERNOR)
    await gov.say("НЭЭХ 2027-03-20 2027-04-01")
    await Phone(client, people[0]).say("САНАЛ Малын худаг гаргах, 40 өрх")
    rid = (await _current(sanal)).id

    # At "collect until" nothing is accepted yet: no empty ballot, the governor is told once.
    assert (await sweep(sanal, clock, local(UB, "2027-03-21 09:00"))).voting == ()
    assert (await sweep(sanal, clock, local(UB, "2027-03-21 10:00"))).voting == ()
    told = await sent_to(sanal, GOVERNOR)
    assert len(told) == 1
    assert "зөвшөөрсөн санал алга" in told[0].text
    assert (await _status(sanal, rid)) == "collecting"
    # The governor accepts: the next sweep starts the voting.
    await gov.say("ЗӨВ 1")
    assert (await sweep(sanal, clock, local(UB, "2027-03-21 11:00"))).voting == (rid,)

    # And it closes at "vote until", as set when the round was opened.
    await sweep(sanal, clock, local(UB, "2027-04-02 09:00"))
    assert (await _status(sanal, rid)) == "closed"  # this one was voting: closed on time


async def test_a_vote_deadline_passed_while_collecting(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    await citizens(sanal, ZAG_BAG_1, 2)
    gov = Phone(client, GOVERNOR)
    await gov.say("НЭЭХ 2027-03-20 2027-04-01")
    rid = (await _current(sanal)).id
    # Nothing accepted until after both deadlines (say the governor was away).
    await sweep(sanal, clock, local(UB, "2027-04-03 10:00"))
    told = [s.text for s in await sent_to(sanal, GOVERNOR)]
    assert any("ХУРААЛТ 2027-04-17" in t for t in told), told
    await Phone(client, "+97699110000").say(f"НЭГДЭХ {ZAG_BAG_1}")
    await Phone(client, "+97699110000").say("САНАЛ Худаг")
    await gov.say("ЗӨВ 1")
    assert (await sweep(sanal, clock, local(UB, "2027-04-03 11:00"))).voting == ()
    assert (await _status(sanal, rid)) == "collecting"
    # A new vote date from the governor starts the voting by hand, as before.
    assert "эхэллээ" in await gov.say("ХУРААЛТ 2027-04-20")
    assert (await sweep(sanal, clock, local(UB, "2027-04-21 00:00"))).closed == (rid,)


async def _status(sanal: Sanal, round_id: int) -> str:
    async with sanal.db.write() as conn:
        rnd = await rounds.get(conn, round_id)
    assert rnd is not None
    return rnd.status


async def _current(sanal: Sanal) -> rounds.Round:
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
    assert rnd is not None
    return rnd
