"""Budget allocation: which projects a budget funds, and why each one is in or out.

Three rules (:data:`RULES`), computed side by side for the soum's LDF ceiling:

* **Greedy** ("fund in rank order, skip what no longer fits"): the projects are taken in
  order and each is funded if its cost fits the money left. :func:`greedy` orders them by
  votes, which is ``pabutools``' ``greedy_utilitarian_welfare`` with ``Cost_Sat``;
  :func:`greedy_in_order` takes an order given by the caller (the soum working group's
  ranking).
* **Method of Equal Shares** (:func:`equal_shares`): the budget is split equally among the
  voters; a project is bought by its supporters, cheapest price per supporter first, while
  their shares last. What is left is spent by the greedy rule (the usual completion). This
  is ``pabutools``' ``method_of_equal_shares`` (``Cost_Sat`` by default) completed by
  ``greedy_utilitarian_welfare`` (rule "mes_plain").
* **Equal shares as cities run it** (:func:`equal_shares_add1`, rule "mes", the default
  equal-shares rule): MES with Add1 completion (every voter's share raised by one currency
  unit while the outcome fits the budget), then greedy; equalshares.net's reference.

Both give exactly pabutools' outcome: the arithmetic is exact (:class:`fractions.Fraction`)
and ties are broken as pabutools does by default, by the project id as a string
(lexicographic, so "10" comes before "9"). The test suite checks this on 30 real elections.

Pure functions: no database, no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Literal

Utility = Literal["cost", "cardinality"]
# "greedy": fund in rank order, skip what does not fit. "mes": the Method of Equal Shares as
# cities run it (equalshares.net's reference computation: Add1 completion, then greedy), the
# default equal-shares rule. "mes_plain": MES completed by greedy at once.
RULES = ("greedy", "mes", "mes_plain")


@dataclass(frozen=True, slots=True)
class Project:
    """A project competing for the budget: an id (unique, compared as text) and its cost."""

    id: str
    cost: Fraction


class Reason(StrEnum):
    """Why a project is in or out (catalog keys ``alloc.reason.<value>``)."""

    FUNDED = "funded"  # funded when its turn came in rank order
    FUNDED_MES = "funded_mes"  # bought by its supporters' equal shares
    FUNDED_COMPLETION = "funded_completion"  # equal shares left money; greedy funded it
    OVER_BUDGET = "over_budget"  # its cost was more than the money left at its turn


@dataclass(frozen=True, slots=True)
class Decision:
    """One project's outcome under one rule, with what explains it."""

    project: Project
    funded: bool
    reason: Reason
    # Position in the order the greedy stage considered the projects (1 = first).
    position: int
    # Money of the budget left when the greedy stage considered it (before paying for it).
    money_left: Fraction
    votes: int = 0
    # Equal shares: the round in which its supporters bought it, and the most any
    # supporter paid for it.
    mes_round: int | None = None
    price: Fraction | None = None
    # Equal shares: what its supporters had left when that was less than its cost.
    supporters_money: Fraction | None = None


@dataclass(frozen=True, slots=True)
class Allocation:
    rule: str  # one of RULES
    budget: Fraction
    funded: tuple[str, ...]  # project ids in the order they were funded
    decisions: tuple[Decision, ...]  # every project, in the order considered

    @property
    def spent(self) -> Fraction:
        return sum((d.project.cost for d in self.decisions if d.funded), Fraction(0))

    @property
    def left(self) -> Fraction:
        return self.budget - self.spent

    def decision(self, project_id: str) -> Decision:
        for d in self.decisions:
            if d.project.id == project_id:
                return d
        raise KeyError(project_id)


def money(value: int | str | Fraction) -> Fraction:
    """An exact amount from an int, a Fraction or a decimal text ("740793.05", "1,5")."""
    if isinstance(value, str):
        return Fraction(value.strip().replace(",", "."))
    return Fraction(value)


def approvals(projects: Iterable[Project], ballots: Iterable[Collection[str]]) -> dict[str, int]:
    """Votes per project id (every project listed, zero included)."""
    votes = dict.fromkeys((p.id for p in projects), 0)
    for ballot in ballots:
        for pid in set(ballot):
            if pid in votes:
                votes[pid] += 1
    return votes


def _utility(project: Project, utility: Utility) -> Fraction:
    """A supporter's satisfaction from a project: its cost (Cost_Sat) or 1 (Cardinality)."""
    return project.cost if utility == "cost" else Fraction(1)


def _greedy_order(
    projects: Iterable[Project], votes: Mapping[str, int], utility: Utility
) -> list[Project]:
    """pabutools' greedy order: satisfaction per unit of cost, high first; ties by id.

    The satisfaction of a project is its votes times a supporter's utility; a free project
    with satisfaction comes first, and one with none (no votes, or free under Cost_Sat)
    ranks with the projects nobody voted for.
    """

    def density(p: Project) -> tuple[int, Fraction]:
        total = votes.get(p.id, 0) * _utility(p, utility)
        if total > 0:
            return (0, Fraction(0)) if p.cost == 0 else (1, -total / p.cost)
        return (2, Fraction(0))

    return sorted(projects, key=lambda p: (density(p), p.id))


def _fund(
    ordered: Sequence[Project],
    budget: Fraction,
    votes: Mapping[str, int],
    *,
    spent: Fraction = Fraction(0),
    funded_reason: Reason = Reason.FUNDED,
) -> list[Decision]:
    """Fund in the order given, skipping what no longer fits the money left."""
    left = budget - spent
    out: list[Decision] = []
    for position, p in enumerate(ordered, start=1):
        fits = p.cost <= left
        out.append(
            Decision(
                p,
                fits,
                funded_reason if fits else Reason.OVER_BUDGET,
                position,
                left,
                votes.get(p.id, 0),
            )
        )
        if fits:
            left -= p.cost
    return out


def greedy(
    projects: Sequence[Project],
    budget: Fraction,
    ballots: Iterable[Collection[str]],
    utility: Utility = "cost",
) -> Allocation:
    """Fund the most voted first, skipping what no longer fits (pabutools' greedy rule)."""
    votes = approvals(projects, ballots)
    decisions = _fund(_greedy_order(projects, votes, utility), budget, votes)
    return Allocation("greedy", budget, tuple(d.project.id for d in decisions if d.funded),
                      tuple(decisions))  # fmt: skip


def greedy_in_order(
    ranked: Sequence[Project], budget: Fraction, votes: Mapping[str, int] | None = None
) -> Allocation:
    """Fund in the rank order given (best first), skipping what no longer fits."""
    decisions = _fund(ranked, budget, votes or {})
    return Allocation("greedy", budget, tuple(d.project.id for d in decisions if d.funded),
                      tuple(decisions))  # fmt: skip


@dataclass(slots=True)
class _Candidate:
    project: Project
    groups: list[int]  # indices of the ballot groups that approve it
    total_sat: Fraction
    afford: Fraction  # last computed price factor: a lower bound of the current one


@dataclass(frozen=True, slots=True)
class _MesResult:
    bought: list[tuple[Project, int, Fraction]]  # (project, round, most paid by a supporter)
    unaffordable: dict[str, Fraction]  # project id -> supporters' money when it fell out


def _mes(
    projects: Sequence[Project],
    budget: Fraction,
    ballots: Sequence[Collection[str]],
    utility: Utility,
) -> _MesResult:
    """The Method of Equal Shares without completion, exactly as pabutools computes it.

    Identical ballots always hold the same money (they pay for the same projects), so they
    are one group with a multiplicity; within a price computation voters with equal money
    pass or fail together, so grouping changes nothing in the result.
    """
    if not ballots:
        return _MesResult([], {})
    share = budget / len(ballots)
    grouped = Counter(frozenset(b) for b in ballots)
    group_ballots = list(grouped)
    mult = [grouped[b] for b in group_ballots]
    wallet = [share] * len(group_ballots)

    bought: list[tuple[Project, int, Fraction]] = []
    candidates: list[_Candidate] = []
    for p in projects:
        members = [i for i, b in enumerate(group_ballots) if p.id in b]
        u = _utility(p, utility)
        total = sum(mult[i] for i in members) * u
        if total > 0:
            if p.cost > 0:
                candidates.append(_Candidate(p, members, total, p.cost / total))
            else:  # free and wanted (Cardinality_Sat): pabutools takes it at once
                bought.append((p, 0, Fraction(0)))
    unaffordable: dict[str, Fraction] = {}

    round_no = 0
    while True:
        round_no += 1
        best: Fraction | None = None
        tied: list[_Candidate] = []
        for c in sorted(candidates, key=lambda c: c.afford):
            available = sum((mult[i] * wallet[i] for i in c.groups), Fraction(0))
            if available < c.project.cost:
                candidates.remove(c)
                unaffordable[c.project.id] = available
                continue
            if best is not None and c.afford > best:
                break  # its price can only have risen: it cannot win this round
            c.afford = _price_factor(c, wallet, mult, utility)
            if best is None or c.afford < best:
                best, tied = c.afford, [c]
            elif c.afford == best:
                tied.append(c)
        if best is None:
            return _MesResult(bought, unaffordable)
        chosen = min(tied, key=lambda c: c.project.id)
        candidates.remove(chosen)
        u = _utility(chosen.project, utility)
        for i in chosen.groups:
            wallet[i] -= min(wallet[i], best * u)
        bought.append((chosen.project, round_no, best * u))


def _price_factor(
    c: _Candidate, wallet: list[Fraction], mult: list[int], utility: Utility
) -> Fraction:
    """The least factor rho such that the supporters, each paying min(money, rho * utility),
    cover the cost (pabutools' affordability; the poorest supporters pay all they have)."""
    u = _utility(c.project, utility)
    contributed = Fraction(0)
    denominator = c.total_sat
    for i in sorted(c.groups, key=lambda i: wallet[i]):
        factor = (c.project.cost - contributed) / denominator
        if factor * u <= wallet[i]:
            return factor
        contributed += mult[i] * wallet[i]
        denominator -= mult[i] * u
    raise AssertionError("an affordable project always has a price")  # pragma: no cover


def equal_shares(
    projects: Sequence[Project],
    budget: Fraction,
    ballots: Sequence[Collection[str]],
    utility: Utility = "cost",
    complete: bool = True,
) -> Allocation:
    """The plain Method of Equal Shares over approval ballots, completed by the greedy rule.

    ``ballots`` are every voter's approvals (empty ballots count: they hold a share too).
    """
    mes = _mes(projects, budget, ballots, utility)
    return _completed("mes_plain", projects, budget, ballots, utility, mes, complete=complete)


def equal_shares_add1(
    projects: Sequence[Project],
    budget: Fraction,
    ballots: Sequence[Collection[str]],
    utility: Utility = "cost",
) -> Allocation:
    """The Method of Equal Shares with Add1 completion, then greedy (rule "mes").

    pabutools' ``exhaustion_by_budget_increase(method_of_equal_shares, budget_step=n)``
    followed by ``greedy_utilitarian_welfare``: every voter's share is raised by one
    currency unit at a time while MES's outcome still fits the real budget (stopping early
    at an exhaustive outcome); the last outcome that fits is completed by greedy.
    """
    n = len(ballots)
    if n == 0:
        return _completed("mes", projects, budget, ballots, utility, _MesResult([], {}))
    costs = {p.id: p.cost for p in projects}

    def run(k: int) -> tuple[_MesResult, bool, bool]:
        res = _mes(projects, budget + k * n, ballots, utility)
        spent = sum((costs[p.id] for p, _, _ in res.bought), Fraction(0))
        taken = {p.id for p, _, _ in res.bought}
        feasible = spent <= budget
        exhaustive = feasible and all(
            p.cost > budget - spent for p in projects if p.id not in taken
        )
        return res, feasible, exhaustive

    # Interim search for the first stopping step, assuming the stop is monotone in k
    # (galloping, then bisection). The exact incremental computation replaces it.
    bound = int(budget)  # pabutools stops once the raised budget passes budget * (n + 1)
    best, feasible, exhaustive = run(0)
    if not feasible or exhaustive or bound == 0:
        return _completed("mes", projects, budget, ballots, utility, best)
    lo, hi = 0, 1  # run(lo) goes on; the first stop is in (lo, hi]
    while hi <= bound:
        res, feasible, exhaustive = run(hi)
        if not feasible or exhaustive:
            break
        best, lo, hi = res, hi, hi * 2
    hi = min(hi, bound + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        res, feasible, exhaustive = run(mid)
        if feasible and not exhaustive:
            best, lo = res, mid
        else:
            hi = mid
    if hi <= bound:
        res, feasible, _ = run(hi)
        if feasible:  # it stopped because the outcome is exhaustive: that one is taken
            best = res
    return _completed("mes", projects, budget, ballots, utility, best)


def _completed(
    rule: str,
    projects: Sequence[Project],
    budget: Fraction,
    ballots: Sequence[Collection[str]],
    utility: Utility,
    mes: _MesResult,
    *,
    complete: bool = True,
) -> Allocation:
    """MES's purchases, then greedy over what is left (the decisions of every project)."""
    votes = approvals(projects, ballots)
    decisions: list[Decision] = []
    spent = Fraction(0)
    for position, (p, round_no, price) in enumerate(mes.bought, start=1):
        decisions.append(
            Decision(
                p,
                True,
                Reason.FUNDED_MES,
                position,
                budget - spent,
                votes.get(p.id, 0),
                mes_round=round_no,
                price=price,
            )
        )
        spent += p.cost
    taken = {p.id for p, _, _ in mes.bought}
    rest = [p for p in projects if p.id not in taken]
    if complete:
        tail = _fund(
            _greedy_order(rest, votes, utility),
            budget,
            votes,
            spent=spent,
            funded_reason=Reason.FUNDED_COMPLETION,
        )
    else:
        tail = [
            Decision(p, False, Reason.OVER_BUDGET, 0, budget - spent, votes.get(p.id, 0))
            for p in _greedy_order(rest, votes, utility)
        ]
    offset = len(decisions)
    for d in tail:
        decisions.append(
            Decision(
                d.project,
                d.funded,
                d.reason,
                offset + d.position,
                d.money_left,
                d.votes,
                supporters_money=mes.unaffordable.get(d.project.id),
            )
        )
    funded = tuple(d.project.id for d in decisions if d.funded)
    return Allocation(rule, budget, funded, tuple(decisions))
