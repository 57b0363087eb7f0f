"""Our allocation rules against pabutools, the reference implementation, on real elections.

Every ``.pb`` file of the 30 real participatory-budgeting elections in tests/data/pabulib
(Łódź 2020, Warszawa 2017-2018): the greedy rule must fund exactly what pabutools'
``greedy_utilitarian_welfare`` funds, and the Method of Equal Shares completed by greedy
exactly what ``method_of_equal_shares`` completed by ``greedy_utilitarian_welfare``
(``completion_by_rule_combination``) funds: same projects, in the same order, with
``Cost_Sat`` (the issue's rule) and also with ``Cardinality_Sat``.

Real elections almost never tie, so the tie-breaking (pabutools' default: the project name
compared as text) is checked on small generated elections made of equal costs and equal
ballots, where ties are everywhere.
"""

from __future__ import annotations

import os
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
    parse_pabulib,
)
from pabutools.election import Project as PbProject
from pabutools.rules import (
    completion_by_rule_combination,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)

from handlers.allocation import Project, Utility, equal_shares, greedy
from handlers.reports.pabulib import read_pb

# A copy of the shared data's 30 elections ships with the tests (a clean clone is whole);
# SANAL_PABULIB_DIR points elsewhere.
DATA = Path(
    os.environ.get("SANAL_PABULIB_DIR", Path(__file__).resolve().parents[1] / "data/pabulib")
)
FILES = sorted(DATA.glob("*.pb"))
SATS: dict[Utility, type] = {"cost": Cost_Sat, "cardinality": Cardinality_Sat}


def reference(inst: Instance, prof: ApprovalProfile, utility: Utility) -> tuple[list[str], ...]:
    """pabutools' funded projects, in the order selected: (greedy, MES + greedy)."""
    sat = SATS[utility]
    g = greedy_utilitarian_welfare(inst, prof, sat_class=sat)
    m = completion_by_rule_combination(
        inst,
        prof,
        [method_of_equal_shares, greedy_utilitarian_welfare],
        [{"sat_class": sat}, {"sat_class": sat}],
    )
    return [p.name for p in g], [p.name for p in m]


def test_all_thirty_elections_are_there() -> None:
    # The issue asks for every one of the 30: a missing folder must fail, not skip.
    assert len(FILES) == 30, f"expected the 30 pabulib elections in {DATA}"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_same_funded_projects_as_pabutools(path: Path) -> None:
    inst, prof = parse_pabulib(str(path))
    election = read_pb(path.read_text(encoding="utf-8"))
    projects = election.allocation_projects()

    # Our reader sees the same election pabutools sees.
    assert election.budget == Fraction(str(inst.budget_limit))
    assert {p.id: p.cost for p in projects} == {p.name: Fraction(str(p.cost)) for p in inst}
    assert len(election.ballots) == prof.num_ballots()
    assert sorted(sorted(b) for b in election.ballots) == sorted(
        sorted(p.name for p in b) for b in prof
    )

    for utility in ("cost", "cardinality"):
        want_greedy, want_mes = reference(inst, prof, utility)
        got_greedy = greedy(projects, election.budget, election.ballots, utility)
        got_mes = equal_shares(projects, election.budget, election.ballots, utility)
        assert list(got_greedy.funded) == want_greedy, (path.stem, utility, "greedy")
        assert list(got_mes.funded) == want_mes, (path.stem, utility, "mes")
        for alloc in (got_greedy, got_mes):
            assert alloc.spent <= election.budget
            # Every project has a decision and a reason, funded or not.
            assert {d.project.id for d in alloc.decisions} == {p.id for p in projects}


def test_equal_shares_really_differs_from_greedy_on_real_data() -> None:
    # Guard against a test that passes because both rules are the same function: on these
    # elections equal shares funds a different set than greedy at least once.
    differ = 0
    for path in FILES:
        e = read_pb(path.read_text(encoding="utf-8"))
        ps = e.allocation_projects()
        if set(greedy(ps, e.budget, e.ballots).funded) != set(
            equal_shares(ps, e.budget, e.ballots).funded
        ):
            differ += 1
    assert differ >= 5, differ


def _pabutools_election(
    costs: dict[str, int], budget: int, ballots: list[frozenset[str]]
) -> tuple[Instance, ApprovalProfile]:
    inst = Instance([PbProject(name, cost) for name, cost in costs.items()], budget_limit=budget)
    prof = ApprovalProfile([ApprovalBallot([inst.get_project(n) for n in b]) for b in ballots])
    return inst, prof


def test_ties_go_to_the_name_first_as_text() -> None:
    # Two projects of equal cost and votes: pabutools takes "10" before "9" (text order),
    # and the budget fits only one of them.
    costs = {"9": 50, "10": 50}
    ballots = [frozenset({"9", "10"})] * 4
    inst, prof = _pabutools_election(costs, 60, ballots)
    ours = [Project(n, Fraction(c)) for n, c in costs.items()]
    want_greedy, want_mes = reference(inst, prof, "cost")
    assert want_greedy == want_mes == ["10"]
    assert list(greedy(ours, Fraction(60), ballots).funded) == ["10"]
    assert list(equal_shares(ours, Fraction(60), ballots).funded) == ["10"]
    out = greedy(ours, Fraction(60), ballots).decision("9")
    assert not out.funded
    assert out.reason == "over_budget"
    assert out.money_left == 10


NAMES = ["1", "2", "9", "10", "11", "20"]


@st.composite
def tied_elections(draw: st.DrawFn) -> tuple[dict[str, int], int, list[frozenset[str]]]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
    costs = {n: draw(st.sampled_from([0, 2, 3, 4, 6])) for n in names}  # few distinct costs
    kinds = draw(
        st.lists(st.frozensets(st.sampled_from(names)), min_size=1, max_size=3)
    )  # few distinct ballots: equal supporter groups, so equal prices
    ballots = draw(st.lists(st.sampled_from(kinds), max_size=8))
    budget = draw(st.integers(0, 20))
    return costs, budget, ballots


@settings(max_examples=400, deadline=None)
@given(tied_elections(), st.sampled_from(["cost", "cardinality"]))
def test_tie_breaking_matches_pabutools(
    election: tuple[dict[str, int], int, list[frozenset[str]]], utility: Utility
) -> None:
    costs, budget, ballots = election
    inst, prof = _pabutools_election(costs, budget, ballots)
    ours = [Project(n, Fraction(c)) for n, c in costs.items()]
    want_greedy, want_mes = reference(inst, prof, utility)
    assert list(greedy(ours, Fraction(budget), ballots, utility).funded) == want_greedy
    # As sets: pabutools takes free wanted projects (Cardinality_Sat) in set order.
    assert set(equal_shares(ours, Fraction(budget), ballots, utility).funded) == set(want_mes)
