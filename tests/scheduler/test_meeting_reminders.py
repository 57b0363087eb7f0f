"""Khural meeting reminders: offsets, outages, quiet hours, moves, two time zones."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from scheduler.sweeps import run_once
from tests.conftest import GOVERNOR, ZAG_BAG_1, ZAG_BAG_2, Phone
from tests.scheduler.world import (
    HOVD,
    HOVD_BAG,
    UB,
    citizens,
    local,
    open_voting_round,
    prepare_round,
    sent_to,
    sweep,
)

GOVERNOR_2 = "+97699000002"
HOVD_GOVERNOR = "+97699000084"


async def _reminders(sanal: Sanal, phone: str, status: str | None = "sent") -> list[str]:
    return [s.dedupe_key for s in await sent_to(sanal, phone, status=status)]


async def _offsets(sanal: Sanal, phone: str) -> list[str]:
    """Which meeting reminders a phone got, by offset: ["4320m", "1440m", "120m"]."""
    keys = await _reminders(sanal, phone)
    return [k.split(":")[5] for k in keys if k.startswith("remind:meeting:")]


async def test_down_during_two_reminder_times(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    people = await open_voting_round(sanal, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR)
    gov = Phone(client, GOVERNOR)
    assert "2027-04-10 14:00" in await gov.say("ХУРАЛ 2027-04-10 14:00 Багийн төв")
    assert "Баярлалаа" in await Phone(client, people[0]).say("СОНГО 1")
    assert (await sweep(sanal, clock, local(UB, "2027-04-07 13:59"))).reminders == 0

    # The process is down from before the 3-day reminder until after the 1-day one. A new
    # instance on the same database file catches up with one reminder, the latest.
    later = Sanal(sanal.settings, clock)
    await later.open()
    try:
        report = await sweep(later, clock, local(UB, "2027-04-09 20:00"))
        assert report.reminders == len(people) + 1  # the citizens and the governor
        for phone in people:
            keys = await _reminders(later, phone)
            assert len(keys) == 1, keys
            assert ":1440m:" in keys[0], keys
        voted, not_voted = [await sent_to(later, p) for p in people[:2]]
        assert "2027-04-10 14:00, Багийн төв" in voted[0].text
        assert "СОНГО" not in voted[0].text  # has voted: not told how to vote
        assert "СОНГО 1 3, 2027-04-15 23:59 хүртэл" in not_voted[0].text
        assert "ИРНЭ" in not_voted[0].text
        governor = [s for s in await sent_to(later, GOVERNOR) if s.kind == "reminder"]
        assert len(governor) == 1
        assert "0 хүн ирнэ, 3 хэрэгтэй" in governor[0].text
        assert (await sweep(later, clock, local(UB, "2027-04-09 20:30"))).reminders == 0

        # The 2-hour reminder is queued, and the process stops before sending it; it comes
        # back after the meeting has started: the reminder is dropped, not sent late.
        queued = await run_once(later.db, later.settings, local(UB, "2027-04-10 12:00"))
        assert queued.reminders == len(people) + 1
        report = await sweep(later, clock, local(UB, "2027-04-10 14:01"))
        assert report.expired == len(people) + 1
        assert report.reminders == 0
        for phone in people:
            assert len(await _reminders(later, phone)) == 1
            assert len(await _reminders(later, phone, status="cancelled")) == 1
    finally:
        await later.stop()


async def test_reminder_after_voting_closed_names_the_top_proposals(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    people = await open_voting_round(
        sanal, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR, vote_until="2027-04-01"
    )
    await Phone(client, GOVERNOR).say("ХУРАЛ 2027-04-10 14:00 Багийн төв")
    for p in people[:3]:
        await Phone(client, p).say("СОНГО 2")
    await Phone(client, people[3]).say("СОНГО 1 2")
    await sweep(sanal, clock, local(UB, "2027-04-02 09:00"))  # closed
    report = await sweep(sanal, clock, local(UB, "2027-04-07 14:00"))
    assert report.reminders == len(people) + 1
    text = next(s.text for s in await sent_to(sanal, people[0]) if s.kind == "reminder")
    lines = text.splitlines()
    assert lines[0] == "Иргэдийн Нийтийн Хурал болно: 2027-04-10 14:00, Багийн төв"
    assert "Тэргүүлсэн саналууд:" in lines
    assert "1. Гудамжны гэрэлтүүлэг 80… (4)" in lines  # short: SMS costs by the segment
    assert "2. Малын худаг гаргах, 40… (1)" in lines
    assert "СОНГО" not in text


async def test_quiet_hours_wait_for_the_morning_unless_the_meeting_comes_first(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    early_bag = await prepare_round(sanal, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR)
    dawn_bag = await prepare_round(sanal, client, clock, bag=ZAG_BAG_2, governor=GOVERNOR_2)
    await Phone(client, GOVERNOR).say("ХУРАЛ 2027-04-10 09:00 Багийн төв")
    await Phone(client, GOVERNOR_2).say("ХУРАЛ 2027-04-10 07:30 Худгийн хажууд")
    await sweep(sanal, clock, local(UB, "2027-04-07 10:00"))  # both 3-day reminders
    assert await _offsets(sanal, dawn_bag[0]) == await _offsets(sanal, early_bag[0]) == ["4320m"]
    # The 1-day reminders are at 09:00 and 07:30 the day before: the 07:30 one is quiet and
    # waits for 08:00, which is still long before its meeting.
    await sweep(sanal, clock, local(UB, "2027-04-09 07:30"))
    assert await _offsets(sanal, dawn_bag[0]) == ["4320m"]
    await sweep(sanal, clock, local(UB, "2027-04-09 08:00"))
    assert await _offsets(sanal, dawn_bag[0]) == ["4320m", "1440m"]
    await sweep(sanal, clock, local(UB, "2027-04-09 09:00"))
    assert await _offsets(sanal, early_bag[0]) == ["4320m", "1440m"]

    # 2 hours before 07:30 is 05:30: waiting for 08:00 would be after the meeting, so it
    # goes now. 2 hours before 09:00 is 07:00: it waits for 08:00.
    await sweep(sanal, clock, local(UB, "2027-04-10 05:30"))
    assert await _offsets(sanal, dawn_bag[0]) == ["4320m", "1440m", "120m"]
    await sweep(sanal, clock, local(UB, "2027-04-10 07:00"))
    await sweep(sanal, clock, local(UB, "2027-04-10 07:59"))
    assert await _offsets(sanal, early_bag[0]) == ["4320m", "1440m"]
    await sweep(sanal, clock, local(UB, "2027-04-10 08:00"))
    assert await _offsets(sanal, early_bag[0]) == ["4320m", "1440m", "120m"]


async def test_a_meeting_moved_twice(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    people = await open_voting_round(sanal, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR)
    gov = Phone(client, GOVERNOR)
    await gov.say("ХУРАЛ 2027-04-10 14:00 Багийн төв")
    await sweep(sanal, clock, local(UB, "2027-04-07 14:00"))  # the 3-day reminder
    assert "Баярлалаа" in await Phone(client, people[0]).say("ИРНЭ")

    # First move, two days later: everyone reminded is told at once; the RSVP for the old
    # time no longer counts.
    clock.set(local(UB, "2027-04-07 15:00"))
    reply = await gov.say("ХУРАЛ 2027-04-12 14:00 Багийн төв")
    assert "2027-04-12 14:00" in reply
    assert f"{len(people)} хүнд мэдэгдэнэ" in reply
    assert "0 хүн ирнэ" in (await gov.say("ХУРАЛ")).lower()
    await sanal.drain_outbox()
    moved = (await sent_to(sanal, people[1]))[-1].text
    assert moved.startswith("Хурал шилжлээ: 2027-04-12 14:00, Багийн төв")
    assert "ИРНЭ" in moved
    assert (await sweep(sanal, clock, local(UB, "2027-04-07 15:01"))).reminders == 0

    # The new time's 3-day reminder is queued but not yet sent when the meeting moves back.
    queued = await run_once(sanal.db, sanal.settings, local(UB, "2027-04-09 14:00"))
    assert queued.reminders == len(people) + 1
    clock.set(local(UB, "2027-04-09 14:30"))
    await gov.say("ХУРАЛ 2027-04-10 14:00 Багийн төв")
    await sanal.drain_outbox()
    # A changed time is a new reminder: the 1-day one for the 10th goes out.
    assert (await sweep(sanal, clock, local(UB, "2027-04-09 14:31"))).reminders == len(people) + 1
    # The same time again changes nothing; a new place is told, without a new reminder.
    clock.set(local(UB, "2027-04-09 15:00"))
    assert "Багийн төв" in await gov.say("ХУРАЛ 2027-04-10 14:00 Багийн төв")
    assert "мэдэгдэнэ" in await gov.say("ХУРАЛ 2027-04-10 14:00 Сургуулийн заал")
    assert (await sweep(sanal, clock, local(UB, "2027-04-09 15:01"))).reminders == 0

    for phone in people:
        texts = [s.text.splitlines()[0] for s in await sent_to(sanal, phone)]
        assert texts == [
            "Иргэдийн Нийтийн Хурал болно: 2027-04-10 14:00, Багийн төв",
            "Хурал шилжлээ: 2027-04-12 14:00, Багийн төв",
            "Хурал шилжлээ: 2027-04-10 14:00, Багийн төв",
            "Иргэдийн Нийтийн Хурал болно: 2027-04-10 14:00, Багийн төв",
            "Хурлын газар өөрчлөгдлөө: Сургуулийн заал, 2027-04-10 14:00",
        ], texts
        cancelled = await _reminders(sanal, phone, status="cancelled")
        assert len(cancelled) == 1
        assert ":v2:" in cancelled[0]


async def test_hovd_and_ulaanbaatar_bags_at_once(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    ub = await prepare_round(sanal, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR)
    hovd = await prepare_round(sanal, client, clock, bag=HOVD_BAG, governor=HOVD_GOVERNOR)
    # Both meetings at 09:00 local: Hovd's is an hour later in absolute time.
    await Phone(client, GOVERNOR).say("ХУРАЛ 2027-04-10 09:00 Багийн төв")
    await Phone(client, HOVD_GOVERNOR).say("ХУРАЛ 2027-04-10 09:00 Сумын төв")

    await sweep(sanal, clock, local(UB, "2027-04-07 12:00"))  # both 3-day reminders
    # 1 day before: 09:00 local in each bag.
    await sweep(sanal, clock, local(UB, "2027-04-09 09:00"))
    assert await _offsets(sanal, ub[0]) == ["4320m", "1440m"]
    assert await _offsets(sanal, hovd[0]) == ["4320m"]
    await sweep(sanal, clock, local(HOVD, "2027-04-09 09:00"))
    assert await _offsets(sanal, hovd[0]) == ["4320m", "1440m"]
    assert "2027-04-10 09:00, Сумын төв" in (await sent_to(sanal, hovd[0]))[1].text

    # 2 hours before is 07:00 local, quiet in both: each waits for its own 08:00.
    await sweep(sanal, clock, local(UB, "2027-04-10 07:00"))
    await sweep(sanal, clock, local(HOVD, "2027-04-10 07:00"))  # 08:00 in Ulaanbaatar
    assert (await _offsets(sanal, ub[0]))[-1] == "120m"
    assert (await _offsets(sanal, hovd[0]))[-1] == "1440m"
    await sweep(sanal, clock, local(HOVD, "2027-04-10 08:00"))
    assert (await _offsets(sanal, hovd[0]))[-1] == "120m"
    assert "2027-04-10 09:00, Сумын төв" in (await sent_to(sanal, hovd[0]))[2].text


async def test_opted_out_and_unregistered_people_get_no_reminders(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    people = await open_voting_round(sanal, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR)
    await Phone(client, GOVERNOR).say("ХУРАЛ 2027-04-10 14:00 Багийн төв")
    await Phone(client, people[2]).say("ЗОГС")
    elsewhere = await citizens(sanal, ZAG_BAG_2, 1)
    report = await sweep(sanal, clock, local(UB, "2027-04-07 14:00"))
    assert report.reminders == len(people)  # three citizens and the governor
    assert await sent_to(sanal, people[2]) == []
    assert await sent_to(sanal, elsewhere[0]) == []
