"""Benchmark 2: closing a round with 100,000 ballots over 30 proposals.

Ours: the SQL tally and ranking that closing runs (handlers.closing.results). Reference:
pabutools' greedy rule (greedy_utilitarian_welfare with Cost_Sat) on the same ballots,
which includes building its profile, as a user of pabutools would.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from bench.common import header, new_app, populate, timed
from handlers.closing import results
from storage import rounds

VOTERS = 100_000
PROJECTS = 30


async def main(voters: int = VOTERS) -> None:
    header(f"Closing a round: {voters:,} ballots over {PROJECTS} proposals")
    with tempfile.TemporaryDirectory() as tmp:
        app = new_app(Path(tmp))
        await app.open()
        try:
            round_id, ballots = await populate(app, voters, PROJECTS, voters)
            rnd = await rounds.get(app.db.reader, round_id)
            assert rnd is not None
            ours, res = await timed(lambda: results(app.db.reader, rnd))
        finally:
            await app.stop()
    ref, funded = await timed(lambda: asyncio.to_thread(_pabutools, ballots))
    top = [r.proposal.number for r in res.ranked[:5]]
    print(f"sanal tally+rank: {ours * 1000:8.1f} ms   (top: {top})")
    print(f"pabutools greedy: {ref * 1000:8.1f} ms   (funded {len(funded)} of {PROJECTS})")
    print(
        f"ratio pabutools/sanal: {ref / ours:.1f}x   goal: sanal under 1 s -> "
        f"{'met' if ours < 1 else 'NOT met'}"
    )
    votes = {r.proposal.number: r.votes for r in res.ranked}
    expected = {n: sum(n in b for b in ballots) for n in range(1, PROJECTS + 1)}
    assert votes == expected, "tally differs from the ballots"


def _pabutools(ballots: list[list[int]]) -> list[str]:
    from pabutools.election import ApprovalBallot, ApprovalProfile, Cost_Sat, Instance, Project
    from pabutools.rules import greedy_utilitarian_welfare

    projects = {n: Project(str(n), 1) for n in range(1, PROJECTS + 1)}
    instance = Instance(projects.values(), budget_limit=10)
    profile = ApprovalProfile(
        [ApprovalBallot(projects[n] for n in b) for b in ballots], instance=instance
    )
    chosen = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)
    return [p.name for p in chosen]


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else VOTERS))
