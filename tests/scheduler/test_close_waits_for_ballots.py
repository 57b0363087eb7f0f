"""A ballot sent before "vote until" counts however late the intake handles it: the
scheduler's close waits for messages received in time and still pending in the inbox (a
burst at the deadline is stored first and handled a little later), up to a bound."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.channels.simulator import inbound
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from scheduler.service import SchedulerService
from scheduler.sweeps import CLOSE_WAITS_AT_MOST
from storage import ballots, rounds
from storage.rounds import Round
from tests.conftest import GOVERNOR, ZAG_BAG_1
from tests.scheduler.world import open_voting_round, sweep


async def _voting(sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock) -> Round:
    await open_voting_round(sanal, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR, count=4)
    rnd = await rounds.current(sanal.db.reader, ZAG_BAG_1)
    assert rnd is not None
    assert rnd.status == "voting"
    assert rnd.vote_until is not None
    return rnd


async def _status(sanal: Sanal, round_id: int) -> str:
    rnd = await rounds.get(sanal.db.reader, round_id)
    assert rnd is not None
    return rnd.status


async def test_a_ballot_received_in_time_counts_though_handled_after_the_deadline(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    rnd = await _voting(sanal, client, clock)
    assert rnd.vote_until is not None
    voter = "+97699651000"  # the first of the bag's citizens (tests/scheduler/world.py)
    # Received a second before the deadline, stored, not yet handled (the intake holds
    # handling back while webhooks pour in; the app's worker is not running here).
    clock.set(rnd.vote_until - timedelta(seconds=1))
    _, new = await sanal.intake.receive(inbound(voter, "СОНГО 1", clock.now()))
    assert new
    # The scheduler's sweep at the deadline: the close waits for that message.
    report = await sweep(sanal, clock, rnd.vote_until + timedelta(seconds=1))
    assert report.closed == ()
    assert report.waiting == (rnd.id,)
    assert await _status(sanal, rnd.id) == "voting"
    # A ballot received after the deadline does not hold the close, and is refused.
    _, new = await sanal.intake.receive(inbound(voter[:-1] + "1", "СОНГО 2", clock.now()))
    assert new
    assert await sanal.intake.drain() == 2
    report = await sweep(sanal, clock, rnd.vote_until + timedelta(seconds=2))
    assert report.closed == (rnd.id,)
    assert report.waiting == ()
    assert await _status(sanal, rnd.id) == "closed"
    assert await ballots.count_ballots(sanal.db.reader, rnd.id) == 1


async def test_nothing_pending_closes_at_the_deadline(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    rnd = await _voting(sanal, client, clock)
    assert rnd.vote_until is not None
    report = await sweep(sanal, clock, rnd.vote_until)
    assert report.closed == (rnd.id,)
    assert report.waiting == ()


async def test_a_message_never_handled_holds_the_close_only_so_long(
    sanal: Sanal,
    client: TestClient[Any, Any],
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rnd = await _voting(sanal, client, clock)
    assert rnd.vote_until is not None
    clock.set(rnd.vote_until - timedelta(minutes=1))
    for i in range(2):
        await sanal.intake.receive(inbound(f"+9769965100{i}", "СОНГО 1", clock.now()))
    report = await sweep(sanal, clock, rnd.vote_until + CLOSE_WAITS_AT_MOST - timedelta(seconds=1))
    assert report.waiting == (rnd.id,)
    assert await _status(sanal, rnd.id) == "voting"
    with caplog.at_level(logging.WARNING, logger="scheduler.sweeps"):
        report = await sweep(sanal, clock, rnd.vote_until + CLOSE_WAITS_AT_MOST)
    assert report.closed == (rnd.id,)
    assert report.waiting == ()
    assert await _status(sanal, rnd.id) == "closed"
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "2 messages received in time still waiting" in warning.getMessage()
    # Handled at last, they are refused: the round closed without them.
    await sanal.intake.drain()
    assert await ballots.count_ballots(sanal.db.reader, rnd.id) == 0


async def test_the_service_sweeps_again_soon_while_a_close_waits(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock, settings: Settings
) -> None:
    rnd = await _voting(sanal, client, clock)
    assert rnd.vote_until is not None
    clock.set(rnd.vote_until - timedelta(seconds=1))
    await sanal.intake.receive(inbound("+97699651000", "СОНГО 1", clock.now()))
    clock.set(rnd.vote_until + timedelta(seconds=1))
    # An hour between interval sweeps: only the service's early re-sweep can close in time.
    service = SchedulerService(settings.model_copy(update={"sweep_interval_seconds": 3600}), clock)
    await service.start(sanal)  # the intake's worker is not running: the message waits
    try:
        await _until(lambda: _swept(service))
        assert service.last_report is not None
        assert service.last_report.waiting == (rnd.id,)
        assert await sanal.intake.drain() == 1
        await _until(lambda: _closed(sanal, rnd.id))
    finally:
        await service.stop()
    assert service.last_report is not None
    assert service.last_report.closed == (rnd.id,)
    assert await ballots.count_ballots(sanal.db.reader, rnd.id) == 1


async def _swept(service: SchedulerService) -> bool:
    return service.last_report is not None


async def _closed(sanal: Sanal, round_id: int) -> bool:
    return await _status(sanal, round_id) == "closed"


async def _until(check: Callable[[], Awaitable[bool]], limit: float = 30.0) -> None:
    """Wait for the scheduler's background sweeps to get there (bounded, never timed)."""
    deadline = time.monotonic() + limit
    while not await check():
        assert time.monotonic() < deadline, "the scheduler did not get there"
        await asyncio.sleep(0.05)
