"""Benchmark 5: equal shares as cities run it, on the 30 real elections of tests/data/pabulib.

Ours: ``handlers.allocation.equal_shares_add1`` (MES with Add1 completion, then greedy) on
every file. Reference: pabutools computing the same rule,

    completion_by_rule_combination(instance, profile,
        [exhaustion_by_budget_increase, greedy_utilitarian_welfare],
        [{"rule": method_of_equal_shares, "rule_params": {"sat_class": Cost_Sat},
          "budget_step": profile.num_ballots()}, {"sat_class": Cost_Sat}])

on the same files, in the same run. Each side parses the files beforehand (parsing is not
timed). pabutools needs minutes on some files (most of an hour for all 30 here), so by
default it runs on every fifth file (6 of the 30, in name order: the same ones every time),
and the ratio is computed on those 6 only. ``SANAL_BENCH_PABUTOOLS=all`` (or the argument
``all``) runs it on all 30, ``none`` not at all. Both sides' funded projects are checked
equal, in order, on every file pabutools runs on.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from bench.common import header
from handlers.allocation import equal_shares_add1
from handlers.reports.pabulib import read_pb

DATA = Path(__file__).resolve().parents[1] / "tests/data/pabulib"
GOAL_SECONDS = 5.0
GOAL_RATIO = 50.0


def _pabutools(path: Path) -> tuple[float, list[str]]:
    from pabutools.election import Cost_Sat, parse_pabulib
    from pabutools.rules import (
        completion_by_rule_combination,
        exhaustion_by_budget_increase,
        greedy_utilitarian_welfare,
        method_of_equal_shares,
    )

    instance, profile = parse_pabulib(str(path))
    t0 = time.perf_counter()
    outcome = completion_by_rule_combination(
        instance,
        profile,
        [exhaustion_by_budget_increase, greedy_utilitarian_welfare],
        [
            {
                "rule": method_of_equal_shares,
                "rule_params": {"sat_class": Cost_Sat},
                "budget_step": profile.num_ballots(),
            },
            {"sat_class": Cost_Sat},
        ],
    )
    return time.perf_counter() - t0, [p.name for p in outcome]


def _ours(path: Path) -> tuple[float, list[str], int]:
    election = read_pb(path.read_text(encoding="utf-8"))
    projects = election.allocation_projects()
    t0 = time.perf_counter()
    got = equal_shares_add1(projects, election.budget, election.ballots)
    seconds = time.perf_counter() - t0
    assert got.voter_share is not None
    steps = int(got.voter_share - election.budget / len(election.ballots))
    return seconds, list(got.funded), steps


async def main(which: str | None = None) -> None:
    which = which or os.environ.get("SANAL_BENCH_PABUTOOLS", "fifth")
    files = sorted(DATA.glob("*.pb"))
    reference = {"all": files, "none": []}.get(which, files[::5])
    header(f"Equal shares with Add1, then greedy: {len(files)} pabulib elections")
    print(f"pabutools on {len(reference)} of {len(files)} files ({which})")
    print(f"{'election':48} {'Add1 steps':>10} {'sanal':>9} {'pabutools':>10} {'ratio':>7}")
    ours_total = ours_ref = ref_total = 0.0
    for path in files:
        ours, funded, steps = _ours(path)
        ours_total += ours
        line = f"{path.stem[:48]:48} {steps:10,} {ours * 1000:7.0f} ms"
        if path in reference:
            ref, want = await asyncio.to_thread(_pabutools, path)
            assert funded == want, f"{path.stem}: {funded} != pabutools {want}"
            ours_ref += ours
            ref_total += ref
            line += f" {ref:8.1f} s {ref / ours:6.0f}x"
        print(line, flush=True)
    met = "met" if ours_total < GOAL_SECONDS else "NOT met"
    print(f"sanal, all {len(files)} files: {ours_total:.2f} s   goal < {GOAL_SECONDS:g} s -> {met}")
    if reference:
        ratio = ref_total / ours_ref
        print(
            f"on the {len(reference)} files pabutools ran on: sanal {ours_ref:.2f} s, "
            f"pabutools {ref_total:.1f} s, ratio {ratio:.0f}x   goal >= {GOAL_RATIO:g}x -> "
            f"{'met' if ratio >= GOAL_RATIO else 'NOT met'} (same funded projects: yes)"
        )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
