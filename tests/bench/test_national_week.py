"""The national week replay, scaled down: its checks hold (behaviour, not speed).

A real `sanal serve` with its scheduler, on a simulated clock, 300 citizens over 4 bags,
the week in under half a minute: joins, proposals, ballots, the voting notice, reminders,
the close and its results. The bench's own checks are the assertions."""

from __future__ import annotations

import pytest

from bench import national_week


@pytest.fixture
def short_week(monkeypatch: pytest.MonkeyPatch) -> None:
    # At this compression a sweep comes every few simulated hours: the 2-hour meeting
    # reminder would fall between two sweeps (skipped, as a late one rightly is).
    pass


@pytest.mark.usefixtures("short_week")
async def test_week_on_sqlite() -> None:
    assert await national_week.run(300, 4, 0.4) == []


@pytest.mark.usefixtures("short_week")
async def test_week_on_postgresql(pg_url: str) -> None:
    assert await national_week.run(300, 4, 0.4, url=pg_url) == []
