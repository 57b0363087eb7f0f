"""Equal shares as cities run it: MES with Add1 completion, then greedy, against pabutools.

``equal_shares_add1`` must give exactly what pabutools gives for

    completion_by_rule_combination(instance, profile,
        [exhaustion_by_budget_increase, greedy_utilitarian_welfare],
        [{"rule": method_of_equal_shares, "rule_params": {"sat_class": Cost_Sat},
          "budget_step": profile.num_ballots()}, {"sat_class": Cost_Sat}])

* on the 30 real elections of tests/data/pabulib, against results pabutools computed once
  (it takes minutes per file) and stored in add1_reference.json with the command that
  made them (``python -m tests.soum.make_add1_reference``);
* live, on small generated elections full of ties, empty ballots, free projects and zero
  budgets, where pabutools is quick;
* on a Mongolian-sized election (150,000,000 ₮, 300 voters) where the Add1 loop would take
  hundreds of thousands of steps, by its stopping condition checked with the plain MES.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Collection, Sequence
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pabutools.election import (
    ApprovalBallot,
    ApprovalProfile,
    Cardinality_Sat,
    Cost_Sat,
    Instance,
)
from pabutools.election import Project as PbProject
from pabutools.rules import (
    completion_by_rule_combination,
    exhaustion_by_budget_increase,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)

from handlers.allocation import (
    Allocation,
    Project,
    Reason,
    Utility,
    _mes,
    equal_shares,
    equal_shares_add1,
    greedy,
)
from handlers.reports.pabulib import read_pb

DATA = Path(
    os.environ.get("SANAL_PABULIB_DIR", Path(__file__).resolve().parents[1] / "data/pabulib")
)
FILES = sorted(DATA.glob("*.pb"))
REFERENCE = json.loads(
    (Path(__file__).resolve().parents[1] / "data/pabulib/add1_reference.json").read_text()
)
SATS: dict[Utility, type] = {"cost": Cost_Sat, "cardinality": Cardinality_Sat}
# Elections in the reference, per satisfaction measure (cardinality only where computed).
CASES = [(u, p) for u in SATS for p in FILES if p.stem in REFERENCE.get(u, {})]


def test_the_reference_covers_all_thirty_elections() -> None:
    assert len(FILES) == 30, f"expected the 30 pabulib elections in {DATA}"
    assert set(REFERENCE["cost"]) == {p.stem for p in FILES}
    assert REFERENCE["command"].startswith("python -m tests.soum.make_add1_reference")
    assert REFERENCE["pabutools"]


@pytest.mark.parametrize(("utility", "path"), CASES, ids=[f"{u}-{p.stem}" for u, p in CASES])
def test_same_funded_projects_as_pabutools_add1(utility: Utility, path: Path) -> None:
    election = read_pb(path.read_text(encoding="utf-8"))
    projects = election.allocation_projects()
    got = equal_shares_add1(projects, election.budget, election.ballots, utility)
    # Same projects in the same order: MES's purchases as bought, then greedy's.
    want = REFERENCE[utility][path.stem]
    assert list(got.funded) == want["add1"]
    assert (
        list(equal_shares(projects, election.budget, election.ballots, utility).funded)
        == (want["plain"])
    )
    assert got.spent <= election.budget
    assert got.voter_share is not None
    assert got.voter_share >= election.budget / len(election.ballots)
    for d in got.decisions:
        if d.reason == Reason.FUNDED_MES:
            assert d.mes_round is not None
            assert d.price is not None
            assert d.price > 0


def test_add1_changes_the_funded_set_on_thirteen_elections() -> None:
    # Data, not a hope: on these 30 elections pabutools' Add1 (then greedy) funds another
    # set than the plain MES completed by greedy at once on exactly 13 (the same set in
    # another order on others). The test above makes ours equal to pabutools' on every one.
    table = REFERENCE["cost"]
    differ = sorted(s for s, r in table.items() if set(r["add1"]) != set(r["plain"]))
    assert len(differ) == 13, differ


def _pabutools_add1(
    costs: dict[str, int], budget: int, ballots: Sequence[frozenset[str]], utility: Utility
) -> list[str]:
    inst = Instance([PbProject(name, cost) for name, cost in costs.items()], budget_limit=budget)
    prof = ApprovalProfile([ApprovalBallot([inst.get_project(n) for n in b]) for b in ballots])
    sat = SATS[utility]
    outcome = completion_by_rule_combination(
        inst,
        prof,
        [exhaustion_by_budget_increase, greedy_utilitarian_welfare],
        [
            {
                "rule": method_of_equal_shares,
                "rule_params": {"sat_class": sat},
                "budget_step": prof.num_ballots(),
            },
            {"sat_class": sat},
        ],
    )
    return [p.name for p in outcome]


NAMES = ["1", "2", "9", "10", "11", "20"]


@st.composite
def elections(draw: st.DrawFn) -> tuple[dict[str, int], int, list[frozenset[str]]]:
    """Small elections where ties are everywhere: few costs (free ones too), few distinct
    ballots (empty ones too), budgets from 0 up to where Add1 takes dozens of steps."""
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
    costs = {n: draw(st.sampled_from([0, 1, 2, 3, 4, 6, 9, 13])) for n in names}
    kinds = draw(st.lists(st.frozensets(st.sampled_from(names)), min_size=1, max_size=4))
    ballots = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=9))
    budget = draw(st.integers(0, 40))
    return costs, budget, ballots


@settings(max_examples=500, deadline=None)
@given(elections(), st.sampled_from(["cost", "cardinality"]))
def test_add1_matches_pabutools_live(
    election: tuple[dict[str, int], int, list[frozenset[str]]], utility: Utility
) -> None:
    costs, budget, ballots = election
    want = _pabutools_add1(costs, budget, ballots, utility)
    ours = [Project(n, Fraction(c)) for n, c in costs.items()]
    got = list(equal_shares_add1(ours, Fraction(budget), ballots, utility).funded)
    if utility == "cost":
        assert got == want
    else:
        # Cardinality_Sat: pabutools takes free wanted projects first in set order, the
        # rest as bought; compare the free ones as a set.
        free = {n for n, c in costs.items() if c == 0}
        assert set(got) == set(want)
        assert [p for p in got if p not in free] == [p for p in want if p not in free]


def test_many_add1_steps_match_pabutools() -> None:
    # "4" is out of its two supporters' reach until their shares have grown by 34 units
    # each (the money left would pay for it): pabutools walks 34 steps of one unit per
    # voter; we must stop exactly where it does, and take the outcome that buys it.
    costs = {"1": 40, "3": 90, "10": 7, "4": 150}
    ballots = [frozenset({"1", "3"})] * 5 + [frozenset({"4"})] * 2 + [frozenset({"10", "3"})]
    want = _pabutools_add1(costs, 330, ballots, "cost")
    ours = [Project(n, Fraction(c)) for n, c in costs.items()]
    got = equal_shares_add1(ours, Fraction(330), ballots)
    assert list(got.funded) == want
    assert got.voter_share == Fraction(330, 8) + 34
    assert got.decision("4").reason == Reason.FUNDED_MES
    assert got.decision("4").price == 75  # each of its two supporters pays half


def test_no_ballots_funds_by_greedy_alone() -> None:
    # pabutools loops for ever here (its step is the number of ballots, 0); we do what
    # MES does at any share without voters, nothing, and let greedy spend the budget.
    ours = [Project("1", Fraction(5)), Project("2", Fraction(9)), Project("3", Fraction(0))]
    got = equal_shares_add1(ours, Fraction(10), [])
    assert got.voter_share is None
    assert got.funded == greedy(ours, Fraction(10), []).funded
    assert all(d.reason != Reason.FUNDED_MES for d in got.decisions)


def test_zero_budget() -> None:
    ours = [Project("1", Fraction(5)), Project("2", Fraction(0))]
    ballots = [frozenset({"1", "2"})] * 3
    assert _pabutools_add1({"1": 5, "2": 0}, 0, ballots, "cost") == ["2"]
    got = equal_shares_add1(ours, Fraction(0), ballots)
    assert got.funded == ("2",)
    assert got.voter_share == 0


# -- A soum: the ceiling in tögrög, a few hundred voters, a handful of choices each ------


def _soum(seed: int) -> tuple[list[Project], Fraction, list[frozenset[str]]]:
    rng = random.Random(seed)
    projects = [
        Project(str(i), Fraction(rng.choice([3, 5, 8, 12, 18, 25, 40, 60]) * 1_000_000))
        for i in range(1, 21)
    ]
    weights = [rng.random() ** 2 for _ in projects]  # a few popular, many not
    ballots = [
        frozenset(p.id for p in rng.choices(projects, weights, k=rng.randint(1, 3)))
        for _ in range(300)
    ]
    return projects, Fraction(150_000_000), ballots


def _plain(
    projects: Sequence[Project], share: Fraction, ballots: Sequence[Collection[str]]
) -> tuple[list[str], Fraction, bool]:
    """The plain MES (no completion, no Add1) at a voter's share: what it buys, what that
    costs, and whether it is exhaustive for the real budget (as pabutools' loop tests)."""
    mes = _mes(projects, share * len(ballots), ballots, "cost")
    spent = sum((p.cost for p, _, _ in mes.bought), Fraction(0))
    taken = {p.id for p, _, _ in mes.bought}
    left = Fraction(150_000_000) - spent
    exhaustive = all(p.cost > left for p in projects if p.id not in taken)
    return [p.id for p, _, _ in mes.bought], spent, exhaustive


@pytest.mark.parametrize("seed", [1, 9, 17, 24])  # 9, 17, 24: projects tied all along
def test_a_soum_in_togrog_stops_where_add1_stops(seed: int) -> None:
    projects, budget, ballots = _soum(seed)
    t0 = time.perf_counter()
    got: Allocation = equal_shares_add1(projects, budget, ballots)
    seconds = time.perf_counter() - t0
    assert seconds < 5, seconds  # one unit per voter at a time would be ~10^5 MES runs
    assert got.spent <= budget
    assert got.voter_share is not None
    base = budget / len(ballots)
    k = got.voter_share - base
    assert k.denominator == 1
    assert k > 1000
    # The outcome kept is the plain MES at that share, within the budget ...
    bought, spent, exhaustive = _plain(projects, got.voter_share, ballots)
    assert [d.project.id for d in got.decisions if d.reason == Reason.FUNDED_MES] == bought
    assert spent <= budget
    # ... and the loop stops there: the outcome is exhaustive, or one unit more per voter
    # overspends (or the share reached pabutools' bound).
    if not exhaustive and k < budget:
        assert _plain(projects, got.voter_share + 1, ballots)[1] > budget
    # Before it, every step went on (spot checks: feasible, not exhaustive).
    rng = random.Random(seed)
    for step in [*sorted(rng.sample(range(int(k)), 12)), int(k) - 1]:
        _, spent, exhaustive = _plain(projects, base + step, ballots)
        assert spent <= budget, step
        assert not exhaustive, step
