"""Intake: storing bursts in one statement, and webhooks first while a burst lasts."""

from __future__ import annotations

import asyncio

import pytest

from bot import intake as intake_module
from bot.app import Sanal
from bot.channels import simulator
from bot.core.message import Inbound
from storage import inbox


def _msg(sanal: Sanal, n: int, phone: str = "99112233", text: str = "ТУСЛАМЖ") -> Inbound:
    return simulator.inbound(phone, text, sanal.clock.now(), f"ext-{n}")


async def test_a_burst_is_stored_in_order_and_repeats_are_not_new(sanal: Sanal) -> None:
    first = await sanal.db.alone(lambda c: inbox.store_many(c, [_msg(sanal, 1)]))
    assert first == [(first[0][0], True)]
    # 1,200 messages: more than one statement's worth (STORE_MANY_MAX), with repeats of a
    # message stored before and of one earlier in the same burst.
    burst = [_msg(sanal, n) for n in range(2, 1202)]
    burst.insert(10, _msg(sanal, 1))
    burst.insert(700, _msg(sanal, 5))
    results = await sanal.db.alone(lambda c: inbox.store_many(c, burst))
    assert len(results) == len(burst)
    new_ids = [inbox_id for inbox_id, new in results if new]
    assert len(new_ids) == 1200
    assert new_ids == sorted(new_ids)
    assert results[10] == (first[0][0], False)
    assert results[700][1] is False
    assert results[700][0] == results[[m.external_id for m in burst].index("ext-5")][0]
    rows = await sanal.db.fetchall("SELECT count(*) AS n FROM inbox")
    assert rows[0]["n"] == 1201


async def test_handling_waits_while_a_burst_lasts_and_no_longer(sanal: Sanal) -> None:
    """The hold is judged by the last stores' times and the oldest message's arrival."""
    intake = sanal.intake
    loop = asyncio.get_running_loop()
    now = loop.time()
    intake._arrived[1] = now
    assert intake._hold(1) == 0  # no burst: fewer than BURST webhooks so far
    intake._recent.extend([now - 0.01] * intake_module.BURST)
    hold = intake._hold(1)
    assert 0 < hold <= intake_module.BURST_WINDOW  # a burst: wait, then look again
    assert intake._hold(2) == 0  # not stored by this process (left by a crash): no hold
    intake._arrived[1] = now - intake_module.MAX_HOLD
    assert intake._hold(1) == 0  # waited long enough: handling takes its share again
    intake._arrived[1] = now
    intake._recent.extend([now - 2 * intake_module.BURST_WINDOW] * intake_module.BURST)
    assert intake._hold(1) == 0  # the burst is over


async def test_a_burst_is_handled_once_it_stops_and_a_long_one_is_not_starved(
    sanal: Sanal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake_module, "MAX_HOLD", 0.3)
    sanal.intake.start()  # the background worker, as `sanal serve` runs it

    async def count_handled() -> int:
        rows = await sanal.db.fetchall("SELECT count(*) AS n FROM inbox WHERE status != 'pending'")
        return int(rows[0]["n"])

    # Webhooks keep coming, a few every few milliseconds, for well over MAX_HOLD.
    loop = asyncio.get_running_loop()
    n = 0
    start = loop.time()
    early = None
    while loop.time() < start + 1.5:
        await asyncio.gather(*(sanal.intake.receive(_msg(sanal, n + i)) for i in range(5)))
        n += 5
        await asyncio.sleep(0.002)
        if early is None and loop.time() > start + 0.2:
            early = await count_handled()
    # Only what came before the burst was recognised (BURST stores) was handled at once.
    assert early is not None, f"{early} handled at once"
    assert early <= intake_module.BURST, f"{early} handled at once"
    assert await count_handled() > 0, "handling waited for the whole burst, past MAX_HOLD"
    for _ in range(200):  # then everything is handled, each once
        if await count_handled() == n:
            break
        await asyncio.sleep(0.05)
    rows = await sanal.db.fetchall("SELECT status, count(*) AS n FROM inbox GROUP BY status")
    assert {r["status"]: r["n"] for r in rows} == {"handled": n}


async def test_arrivals_handled_elsewhere_are_forgotten(sanal: Sanal) -> None:
    """A second `serve` on the same file may handle what this one stored: no leak."""
    await sanal.intake.receive(_msg(sanal, 1))
    await sanal.intake.receive(_msg(sanal, 2))
    assert len(sanal.intake._arrived) == 2
    other = Sanal(sanal.settings, sanal.clock)
    await other.open()
    try:
        assert await other.intake.drain() == 2
    finally:
        await other.stop()
    assert await sanal.intake.drain() == 0
    assert sanal.intake._arrived == {}
