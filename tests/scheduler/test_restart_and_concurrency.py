"""Restarts and a second process: the real APScheduler service, two apps on one file."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.channels.base import SendResult
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.wiring import build
from scheduler.service import SchedulerService
from scheduler.sweeps import SweepReport, run_once
from storage import audit, rounds
from storage.outbox import OutboxRow
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_settings
from tests.scheduler.world import UB, local, open_voting_round, prepare_round, sent_to

CHAIR = "+97699000009"


async def _until(check: Callable[[], Awaitable[bool]], limit: float = 10.0) -> None:
    """Wait for a background task to have done something (bounded; asserts it happened)."""
    deadline = time.monotonic() + limit
    while not await check():
        assert time.monotonic() < deadline, "the scheduler did not get there"
        await asyncio.sleep(0.02)


def _scheduler(app: Sanal) -> SchedulerService:
    return next(s for s in app.services if isinstance(s, SchedulerService))


async def _status(app: Sanal) -> str:
    row = await app.db.fetchone("SELECT status FROM rounds WHERE bag_code = ?", (ZAG_BAG_1,))
    assert row is not None
    return str(row["status"])


async def test_restart_across_the_close(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock, settings: Settings
) -> None:
    people = await open_voting_round(
        sanal, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR, vote_until="2027-04-01"
    )
    for p in people[:3]:
        await Phone(client, p).say("СОНГО 1")
    # The first process stops before the close and is not swept again. `sanal serve`
    # starts the next morning: the close is overdue and runs at once, not skipped.
    clock.set(local(UB, "2027-04-02 10:00"))
    second = build(settings, clock)
    await second.open()
    await second.start()
    try:

        async def results_sent() -> bool:
            # Every result out (a stop lets the sends in flight finish, and what was not
            # started waits for the next start, which would then send it).
            waiting = await second.db.fetchall(
                "SELECT 1 FROM outbox WHERE status IN ('queued', 'sending') LIMIT 1"
            )
            governor = [s.kind for s in await sent_to(second, GOVERNOR)][-1:] == ["result"]
            return governor and not waiting

        await _until(results_sent)
    finally:
        await second.stop()
    assert await _status(sanal) == "closed"
    report = _scheduler(second).last_report
    assert report is not None
    assert len(report.closed) == 1

    # Started again (twice): nothing more is closed or sent.
    before = await sanal.db.fetchall("SELECT id, status FROM outbox ORDER BY id")
    for _ in range(2):
        again = build(settings, clock)
        await again.open()
        await again.start()
        try:

            async def swept(app: Sanal = again) -> bool:
                return _scheduler(app).last_report is not None

            await _until(swept)
        finally:
            await again.stop()
        last = _scheduler(again).last_report
        assert last == SweepReport()
    after = await sanal.db.fetchall("SELECT id, status FROM outbox ORDER BY id")
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    for phone in (GOVERNOR, *people[:3]):
        assert [s.kind for s in await sent_to(sanal, phone)].count("result") == 1
    async with sanal.db.write() as conn:
        closes = [r for r in await audit.entries(conn) if r["action"] == "round.close"]
    assert len(closes) == 1


class RunningClock:
    """Real time moving on from a chosen start: for the service's own wake-ups."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.t0)


async def test_a_deadline_gets_its_own_wake_up(tmp_path: Any) -> None:
    """With an hour between sweeps, a round still closes at its deadline."""
    settings = make_settings(tmp_path, sweep_interval_seconds=3600)
    start = local(UB, "2027-04-01 10:00")
    clock = RunningClock(start)
    app = build(settings, clock)
    await app.open()
    async with app.db.write() as conn:
        rnd = await rounds.create(
            conn,
            bag_code=ZAG_BAG_1,
            year=2028,
            now=start,
            status="voting",
            collect_until=start - timedelta(days=1),
            vote_until=start + timedelta(seconds=1),
        )
    await app.start()
    try:

        async def closed() -> bool:
            got = await app.db.fetchone("SELECT status FROM rounds WHERE id = ?", (rnd.id,))
            return got is not None and got["status"] == "closed"

        await _until(closed, limit=5.0)
        assert clock.now() >= start + timedelta(seconds=1)  # not before its time
    finally:
        await app.stop()


class Recording:
    """A simulator transport that remembers every outbox row it was asked to send."""

    name = "sim"
    rate_per_second = 1000.0
    per_address_per_second: float | None = None

    def __init__(self, sends: list[int]) -> None:
        self.sends = sends

    async def send(self, message: OutboxRow) -> SendResult:
        self.sends.append(message.id)
        await asyncio.sleep(0)  # let the other process's sender interleave
        return SendResult.sent(f"rec-{message.id}", 1)


async def test_two_schedulers_on_one_database(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    people = await prepare_round(
        sanal, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR, count=20, vote_until="2027-04-01"
    )
    await Phone(client, GOVERNOR).say("ХУРАЛ 2027-04-10 14:00 Багийн төв")
    other = Sanal(sanal.settings, clock)  # a second `serve` on the same file, by mistake
    await other.open()
    await sanal.drain_outbox()
    row = await sanal.db.fetchone("SELECT max(id) AS n FROM outbox")
    already = int(row["n"]) if row else 0
    sends: list[int] = []
    for app in (sanal, other):
        app.senders["sim"].transport = Recording(sends)
    reports: list[SweepReport] = []

    async def both(when: datetime) -> None:
        clock.set(when)
        reports.extend(
            await asyncio.gather(
                run_once(sanal.db, sanal.settings, clock.now()),
                run_once(other.db, other.settings, clock.now()),
            )
        )
        await asyncio.gather(sanal.drain_outbox(), other.drain_outbox())

    try:
        await both(local(UB, "2027-03-21 00:00"))  # voting starts
        await both(local(UB, "2027-03-21 08:00"))  # the governor's notice, after quiet hours
        for p in people[:12]:
            await Phone(client, p).say("СОНГО 1 2")
        await both(local(UB, "2027-04-01 08:00"))  # the vote reminder
        await both(local(UB, "2027-04-02 00:00"))  # the close
        for when in ("2027-04-02 08:00", "2027-04-07 14:00", "2027-04-09 14:00"):
            await both(local(UB, when))
        await both(local(UB, "2027-04-10 12:00"))
        await both(local(UB, "2027-04-10 12:01"))
    finally:
        await other.stop()

    assert sum(len(r.voting) for r in reports) == 1
    assert sum(len(r.closed) for r in reports) == 1
    twice = [row_id for row_id, n in Counter(sends).items() if n > 1]
    assert twice == []
    # Every citizen: the notice that voting opened, one vote reminder if they had not
    # voted, one result if they had, and each khural reminder once.
    for i, phone in enumerate(people):
        kinds = Counter(
            s.dedupe_key.split(":")[1 if s.dedupe_key.startswith("remind:") else 0]
            for s in await sent_to(sanal, phone, voting_notice=True)
        )
        offsets = [
            s.dedupe_key.split(":")[5]
            for s in await sent_to(sanal, phone)
            if s.dedupe_key.startswith("remind:meeting:")
        ]
        assert offsets == ["4320m", "1440m", "120m"]
        if i < 12:
            assert kinds == Counter({"voting-open": 1, "meeting": 3, "result": 1}), kinds
        else:
            assert kinds == Counter({"voting-open": 1, "meeting": 3, "vote": 1}), kinds
    sent = await sanal.db.fetchall(
        "SELECT id FROM outbox WHERE status = 'sent' AND id > ?", (already,)
    )
    assert sorted(sends) == sorted(int(r["id"]) for r in sent)
