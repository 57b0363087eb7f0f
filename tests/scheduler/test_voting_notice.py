"""Voting opened by the scheduler at "collect until": every citizen of the bag is told once,
in the bag's morning, whatever the restarts and however many schedulers run; the governor
and the chair read how many and at what SMS cost."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.sms_segments import count_segments
from scheduler.sweeps import run_once
from storage import people
from storage.times import to_db
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone
from tests.scheduler.world import HOVD, HOVD_BAG, UB, local, prepare_round, sent_to, sweep

NOTICE = "Санал өгч болно 2027-04-15 23:59 хүртэл: СОНГО 1 3. Саналууд: ЖАГСААЛТ"


async def _pending(sanal: Sanal, phone: str, bag: str) -> None:
    """Someone who asked to join and waits for the governor: not a citizen yet."""
    now = sanal.clock.now()
    async with sanal.db.write() as conn:
        person = await people.get_or_create_by_phone(conn, phone, now=now, lang="mn")
        await people.set_bag(conn, person.id, bag, "pending", now)


async def test_citizens_are_told_once_in_the_morning(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    numbers = await prepare_round(sanal, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR)
    await Phone(client, numbers[1]).say("ХЭЛ ЛАТИН")
    await Phone(client, numbers[3]).say("ЗОГС")
    await _pending(sanal, "+97699990001", ZAG_BAG_1)

    # Proposals close at midnight: voting starts, the notices wait for 08:00.
    report = await sweep(sanal, clock, local(UB, "2027-03-21 00:00"))
    assert len(report.voting) == 1
    morning = to_db(local(UB, "2027-03-21 08:00"))
    for phone in numbers[:3]:
        [held] = await sent_to(sanal, phone, status="queued", voting_notice=True)
        assert held.kind == "notice"
        assert held.next_attempt_at == morning
    [told] = await sent_to(sanal, GOVERNOR, status="queued")
    assert "Иргэдэд мэдэгдэл: Telegram 0, SMS 3 (60 ₮)" in told.text

    # A second scheduler on the same file and a restart: nobody is told twice.
    other = Sanal(sanal.settings, clock)
    await other.open()
    try:
        await run_once(other.db, other.settings, clock.now())
        await sweep(other, clock, local(UB, "2027-03-21 08:00"))
    finally:
        await other.stop()
    await sweep(sanal, clock, local(UB, "2027-03-21 08:01"))
    texts = {p: [s.text for s in await sent_to(sanal, p, voting_notice=True)] for p in numbers}
    assert texts == {
        numbers[0]: [NOTICE],
        numbers[1]: ["Sanal ogch bolno 2027-04-15 23:59 hurtel: SONGO 1 3. Sanaluud: JAGSAALT"],
        numbers[2]: [NOTICE],
        numbers[3]: [],  # said STOP
    }
    assert count_segments(NOTICE).segments == 1
    assert await sent_to(sanal, "+97699990001", status=None, voting_notice=True) == []
    official = await sent_to(sanal, GOVERNOR, status=None, voting_notice=True)
    assert [s.dedupe_key for s in official] == [told.dedupe_key]  # not told as a citizen


async def test_a_hovd_bag_is_told_in_its_own_morning(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    numbers = await prepare_round(sanal, client, clock, bag=HOVD_BAG, governor="+97699000084")
    # Midnight in Khovd is 01:00 in Ulaanbaatar; its 08:00 is Ulaanbaatar's 09:00.
    assert len((await sweep(sanal, clock, local(HOVD, "2027-03-21 00:00"))).voting) == 1
    [held] = await sent_to(sanal, numbers[0], status="queued", voting_notice=True)
    assert held.next_attempt_at == to_db(local(UB, "2027-03-21 09:00"))
    assert held.text == NOTICE  # the deadline in Khovd's own time
    await sweep(sanal, clock, local(UB, "2027-03-21 08:30"))
    assert await sent_to(sanal, numbers[0], voting_notice=True) == []
    await sweep(sanal, clock, local(HOVD, "2027-03-21 08:00"))
    assert [s.text for s in await sent_to(sanal, numbers[0], voting_notice=True)] == [NOTICE]


async def test_sms_off_the_officials_read_what_it_would_cost(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    numbers = await prepare_round(sanal, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR)
    gov = Phone(client, GOVERNOR)
    assert "80 ₮ хэмнэнэ" in await gov.say("МЭДЭГДЭЛ SMS ҮГҮЙ")
    # Down over the deadline: the first sweep after the start opens voting (10:00, awake).
    await sweep(sanal, clock, local(UB, "2027-03-22 10:00"))
    [told] = await sent_to(sanal, GOVERNOR)
    assert told.text.splitlines()[1:] == [
        "Иргэдэд мэдэгдэл: Telegram 0",
        "SMS мэдэгдэл унтраалттай (4 хүн, 80 ₮). Илгээх: МЭДЭГДЭЛ SMS ТИЙМ",
    ]
    for phone in numbers:
        assert await sent_to(sanal, phone, status=None, voting_notice=True) == []
    # The governor changes their mind: the notices go at once, once.
    assert "4 хүн, 80 ₮" in await gov.say("МЭДЭГДЭЛ SMS ТИЙМ")
    await sweep(sanal, clock, local(UB, "2027-03-22 10:01"))
    for phone in numbers:
        assert [s.text for s in await sent_to(sanal, phone, voting_notice=True)] == [NOTICE]
