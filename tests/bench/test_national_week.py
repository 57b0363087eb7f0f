"""The national week replay, scaled down: its checks hold (behaviour, not speed).

A real `sanal serve` with its scheduler, on the bench's simulated clock: 300 citizens over
4 bags, the week in 24 wall seconds (plus the clock's holds): joins, proposals, ballots,
the voting notice, the vote and meeting reminders, the close and its results. The
bench's own end-state checks are the assertions."""

from __future__ import annotations

from bench import national_week


async def test_week_on_sqlite() -> None:
    assert await national_week.run(300, 4, 0.4) == []


async def test_week_on_postgresql(pg_url: str) -> None:
    assert await national_week.run(300, 4, 0.4, url=pg_url) == []
