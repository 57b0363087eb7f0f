"""The soum's .pb is reproducible open data: pabutools, reading the file alone, with the
rule named in its META, funds exactly what Sanal shows.

- equal shares (META rule equalshares/add1): pabutools' Add1 computation from the issue,
  ``exhaustion_by_budget_increase(method_of_equal_shares, budget_step=n)`` completed by
  greedy, on a small soum (costs in thousands of tögrög: pabutools raises the voters'
  shares one tögrög at a time);
- the plain variant (equalshares): ``method_of_equal_shares`` completed by greedy;
- the standard rule (greedy-custom): pabutools' greedy with a satisfaction made of the
  working group's ranking (the file's soum_rank column), on the scored scenario.

The ballots stay unlinkable: sorted by content, voter ids 1..n, no other voter column; a
soum with a bag of too few voters gets no .pb at all.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pabutools.election import (
    AbstractApprovalProfile,
    AdditiveSatisfaction,
    Cost_Sat,
    Instance,
    parse_pabulib,
)
from pabutools.election import Project as PbProject
from pabutools.rules import (
    completion_by_rule_combination,
    exhaustion_by_budget_increase,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)

from bot.app import Sanal
from handlers.reports.data import CountsHidden, round_report, soum_report
from handlers.reports.pabulib import soum_pb
from storage import rounds
from tests.conftest import ZAG_BAG_1, ZAG_BAG_2
from tests.soum.scenario import BAGS, PLAN_YEAR, ZAG, run_bag, scored_and_chosen, working_group

# A small soum where the three rules fund three different sets (found by searching small
# elections): two bags, costs in tögrög, a 10 мянга ceiling.
SMALL: dict[str, dict[str, Any]] = {
    ZAG_BAG_1: {
        "governor": "+97699000001",
        "proposals": [
            "Худаг засах, 30 өрх, 3500 төгрөг",
            "Хашаа, 20 өрх, 2 мянга",
            "Гүүр, 40 өрх, 4 мянга",
        ],
        "ballots": [[1, 3], [1], [2], [1, 3], [3], [1, 3]],
        "attendance": 20,
        "place": "Багийн төв",
    },
    ZAG_BAG_2: {
        "governor": "+97699000002",
        "proposals": [
            "Самбар, 10 өрх, 1 мянга",
            "Сандал, 15 өрх, 1500 төгрөг",
            "Гэрэл, 25 өрх, 1500 төгрөг",
        ],
        "ballots": [[3], [3], [1, 3], [3], [2], [1, 3]],
        "attendance": 18,
        "place": "Сургууль",
    },
}


async def small_soum(sanal: Sanal, client: TestClient[Any, Any]) -> Any:
    s = await working_group(sanal, client)
    for bag, spec in SMALL.items():
        await run_bag(s, bag, spec)
    return s


async def export(sanal: Sanal, path: Path) -> tuple[Instance, AbstractApprovalProfile, set[str]]:
    """The soum's .pb written to ``path`` and read by pabutools; Sanal's funded set."""
    async with sanal.db.write() as conn:
        text = await soum_pb(conn, ZAG, PLAN_YEAR)
        plan = (await soum_report(conn, ZAG, PLAN_YEAR)).plan
    shown = {f"{ln.item.number:04d}" for ln in plan.funded_in_force() or []}
    inst, prof = read_back(text, path)
    selected = {p.name for p in inst if inst.project_meta[p].get("selected") == "1"}
    assert selected == shown  # the file says what Sanal shows
    return inst, prof, shown


def read_back(text: str, path: Path) -> tuple[Instance, AbstractApprovalProfile]:
    """The file as pabutools reads it; its selected projects are what Sanal shows."""
    path.write_text(text, encoding="utf-8")
    return parse_pabulib(str(path))


def ballots_in(path: Path) -> list[list[int]]:
    """The VOTES of a .pb: voter ids must be 1..n in order, and nothing but the vote."""
    votes = path.read_text(encoding="utf-8").split("\nVOTES\n", 1)[1].splitlines()
    assert votes[0] == "voter_id;vote"
    assert [int(v.split(";")[0]) for v in votes[1:]] == list(range(1, len(votes)))
    return [[int(x) for x in v.split(";")[1].split(",") if x] for v in votes[1:]]


def add1(inst: Instance, prof: AbstractApprovalProfile) -> set[str]:
    """The issue's reference: equal shares with Add1 completion, then greedy."""
    out = completion_by_rule_combination(
        inst,
        prof,
        [exhaustion_by_budget_increase, greedy_utilitarian_welfare],
        [
            {
                "rule": method_of_equal_shares,
                "rule_params": {"sat_class": Cost_Sat},
                "budget_step": prof.num_ballots(),
            },
            {"sat_class": Cost_Sat},
        ],
    )
    return {p.name for p in out}


def plain(inst: Instance, prof: AbstractApprovalProfile) -> set[str]:
    out = completion_by_rule_combination(
        inst,
        prof,
        [method_of_equal_shares, greedy_utilitarian_welfare],
        [{"sat_class": Cost_Sat}, {"sat_class": Cost_Sat}],
    )
    return {p.name for p in out}


async def test_equal_shares_of_the_soum_file_by_pabutools(
    sanal: Sanal, client: TestClient[Any, Any], tmp_path: Path
) -> None:
    s = await small_soum(sanal, client)
    a = s.members[0]
    assert "хязгаар" in await a.say("ХЯЗГААР 10000")
    assert (await a.say("ХУВААРИЛАХ ТЭГШ")).startswith("Сонгосон: тэгш хуваалт")
    inst, prof, shown = await export(sanal, tmp_path / "mes.pb")
    assert inst.meta["rule"] == "equalshares/add1"
    assert "Add1" in inst.meta["comment"]
    assert inst.budget_limit == 10_000
    assert prof.num_ballots() == 12
    assert add1(inst, prof) == shown

    # The plain variant, chosen under its own name: the same file format, its own rule.
    assert (await a.say("ХУВААРИЛАХ ЭНГИЙН")).startswith("Сонгосон: энгийн тэгш хуваалт")
    inst, prof, shown_plain = await export(sanal, tmp_path / "plain.pb")
    assert inst.meta["rule"] == "equalshares"
    assert plain(inst, prof) == shown_plain
    # This soum was chosen so that Add1 matters: it funds another set than the plain
    # variant and than greedy by votes, so the test tells the rules apart.
    by_votes = {p.name for p in greedy_utilitarian_welfare(inst, prof, sat_class=Cost_Sat)}
    assert shown != shown_plain
    assert shown != by_votes

    # The ballots: every citizen's, as a multiset, sorted by content, numbered 1..n.
    cast = ballots_in(tmp_path / "plain.pb")
    assert cast == sorted(cast, key=lambda b: (len(b), b))
    assert len(cast) == 12
    async with sanal.db.write() as conn:  # each bag's proposal number -> its soum number
        soum_number = {}
        for bag in SMALL:
            rnd = await rounds.current(conn, bag)
            assert rnd is not None
            for ln in (await round_report(conn, rnd)).lines:
                soum_number[(bag, ln.number)] = ln.soum_number
    want = Counter(
        tuple(sorted(soum_number[(bag, n)] for n in ballot))
        for bag, spec in SMALL.items()
        for ballot in spec["ballots"]
    )
    assert Counter(tuple(b) for b in cast) == want


def ranking_satisfaction(inst: Instance) -> type:
    """A pabutools satisfaction made of the working group's ranking in the file: every
    ballot values a ranked project at its cost times (projects + 1 - soum_rank), so
    pabutools' greedy, which funds by satisfaction per cost, takes them in soum_rank
    order; an unranked project is worth nothing. The ranking, not the ballots, decides the
    standard rule. (pabutools builds the satisfactions without the instance's project
    columns, so the instance read from the file is given here.)"""
    rank = {p.name: inst.project_meta[p].get("soum_rank") for p in inst}

    def ranked(instance: Any, profile: Any, ballot: Any, project: PbProject, _: Any) -> Any:
        mine = rank[project.name]
        return project.cost * (len(rank) + 1 - int(mine)) if mine else 0

    class SoumRankSat(AdditiveSatisfaction):  # type: ignore[misc]
        def __init__(self, instance: Instance, profile: Any, ballot: Any) -> None:
            super().__init__(instance, profile, ballot, ranked)

    return SoumRankSat


async def test_the_standard_rule_of_the_soum_file_by_pabutools(
    sanal: Sanal, client: TestClient[Any, Any], tmp_path: Path
) -> None:
    await scored_and_chosen(sanal, client)  # three bags, all scored, ЭРЭМБЭ chosen
    inst, prof, shown = await export(sanal, tmp_path / "greedy.pb")
    assert inst.meta["rule"] == "greedy-custom"
    assert "soum_rank" in inst.meta["comment"]
    assert inst.budget_limit == 80_000_000
    assert len(inst) == 7
    assert prof.num_ballots() == sum(len(spec["ballots"]) for spec in BAGS.values())
    got = greedy_utilitarian_welfare(inst, prof, sat_class=ranking_satisfaction(inst))
    assert {p.name for p in got} == shown
    # Not a coincidence of votes: pabutools' greedy by votes funds another set here.
    by_votes = greedy_utilitarian_welfare(inst, prof, sat_class=Cost_Sat)
    assert {p.name for p in by_votes} != shown
    ranks = sorted(int(inst.project_meta[p]["soum_rank"]) for p in inst)
    assert ranks == list(range(1, 8))


async def test_no_soum_file_when_a_bag_had_too_few_voters(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    await scored_and_chosen(sanal, client)
    async with sanal.db.write() as conn:
        with pytest.raises(CountsHidden, match="fewer than 7 voted in 2-р баг"):
            await soum_pb(conn, ZAG, PLAN_YEAR, min_voters=7)
