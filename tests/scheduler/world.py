"""Helpers for scheduler tests: bags of citizens, sweeps at a given local time, and what
each phone received, read from the real outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import HOVD, UB, ManualClock
from scheduler.sweeps import SweepReport, run_once
from storage import people, roles
from tests.conftest import Phone

HOVD_BAG = "840151"  # 1-р баг, Алагтолгой, Жаргалант сум, Ховд аймаг (Asia/Hovd)


def local(zone: ZoneInfo, text: str) -> datetime:
    """A local wall-clock time in a bag, e.g. local(UB, "2027-04-10 14:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=zone)


__all__ = [
    "HOVD",
    "HOVD_BAG",
    "UB",
    "Sent",
    "citizens",
    "local",
    "open_voting_round",
    "prepare_round",
    "sent_to",
    "sweep",
]


async def citizens(sanal: Sanal, bag: str, count: int, prefix: str = "99") -> list[str]:
    """Register ``count`` approved citizens in a bag; returns their E.164 numbers."""
    numbers = []
    now = sanal.clock.now()
    async with sanal.db.write() as conn:
        for i in range(count):
            phone = f"+976{prefix}{bag[-3:]}{i:03d}"
            person = await people.get_or_create_by_phone(conn, phone, now=now, lang="mn")
            await people.set_bag(conn, person.id, bag, "approved", now)
            numbers.append(phone)
    return numbers


async def sweep(sanal: Sanal, clock: ManualClock, when: datetime | None = None) -> SweepReport:
    """Move the clock (if given), run every sweep once, and send what is due."""
    if when is not None:
        clock.set(when)
    report = await run_once(sanal.db, sanal.settings, clock.now())
    await sanal.drain_outbox()
    return report


@dataclass(frozen=True)
class Sent:
    text: str
    kind: str
    status: str
    dedupe_key: str
    next_attempt_at: str


async def sent_to(
    sanal: Sanal, phone: str, *, status: str | None = "sent", voting_notice: bool = False
) -> list[Sent]:
    """Messages to a phone from the scheduler and the close (not replies, nor notices
    that answer someone's message), oldest first. The notice that voting has opened only
    with ``voting_notice``: most tests here are about what comes after it."""
    rows = await sanal.db.fetchall(
        "SELECT text, kind, status, dedupe_key, next_attempt_at FROM outbox "
        "WHERE address = ? AND kind != 'reply' AND dedupe_key NOT LIKE 'notice:%' ORDER BY id",
        (f"tel:{phone}",),
    )
    found = [Sent(*r) for r in rows if voting_notice or not r[3].startswith("voting-open:")]
    return [s for s in found if status is None or s.status == status]


async def open_voting_round(
    sanal: Sanal,
    client: TestClient[Any, Any],
    clock: ManualClock,
    *,
    bag: str,
    governor: str,
    count: int = 4,
    vote_until: str = "2027-04-15",
    zone: ZoneInfo = UB,
) -> list[str]:
    """A bag with a governor and ``count`` citizens whose round the scheduler has moved to
    voting on 2027-03-21 (two proposals on the ballot). Returns the citizens' numbers."""
    numbers = await prepare_round(
        sanal, client, clock, bag=bag, governor=governor, count=count, vote_until=vote_until
    )
    report = await sweep(sanal, clock, local(zone, "2027-03-21 09:00"))
    assert len(report.voting) == 1
    return numbers


async def prepare_round(
    sanal: Sanal,
    client: TestClient[Any, Any],
    clock: ManualClock,
    *,
    bag: str,
    governor: str,
    count: int = 4,
    vote_until: str = "2027-04-15",
) -> list[str]:
    """A governor and citizens; a round collecting until 2027-03-20, proposals 1 and 2
    accepted. Returns the citizens' numbers."""
    now = clock.now()
    async with sanal.db.write() as conn:
        gov_person = await people.get_or_create_by_phone(conn, governor, now=now, lang="mn")
        await roles.grant(conn, gov_person.id, "governor", bag, now)
        await people.set_bag(conn, gov_person.id, bag, "approved", now)
    numbers = await citizens(sanal, bag, count)
    gov = Phone(client, governor)
    assert "эхэллээ" in await gov.say(f"НЭЭХ 2027-03-20 {vote_until}")
    await Phone(client, numbers[0]).say("САНАЛ Малын худаг гаргах, 40 өрх")
    await Phone(client, numbers[1]).say("САНАЛ Гудамжны гэрэлтүүлэг 80 өрх")
    assert "1 2" in await gov.say("ЗӨВ 1 2")
    return numbers
