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

import math
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
    # Equal shares with Add1 ("mes"): the share of the budget every voter started with in
    # the MES run whose purchases were kept (budget / voters + k); None for the other rules.
    voter_share: Fraction | None = None

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
    followed by ``greedy_utilitarian_welfare``: every voter's share ``budget / n + k`` for
    k = 0, 1, 2, ... (one currency unit more per voter at each step, while ``budget + k * n``
    stays within pabutools' bound ``budget * (n + 1)``); the first k whose MES outcome costs
    more than the real budget stops with the previous outcome (none before k = 0), the first
    exhaustive one stops with itself, and the outcome kept is completed by greedy.

    Exact and fast: :class:`_Add1` runs MES once per *distinct outcome* rather than once per
    step (see there). With no ballots MES buys nothing whatever the share (pabutools would
    loop for ever: its step is 0), so the outcome is greedy's alone and ``voter_share`` is
    None.
    """
    n = len(ballots)
    if n == 0:
        return _completed("mes", projects, budget, ballots, utility, _MesResult([], {}))
    add1 = _Add1(projects, ballots, utility)
    base = budget / n
    last_k = budget.numerator // budget.denominator  # budget + k n <= budget (n + 1)
    kept: _Run | None = None  # the outcome kept
    kept_k = 0  # the step it is taken at
    horizon = 8 * _GRID  # how far past the share a run looks (units of 1 / _GRID)
    k = 0
    while k <= last_k:
        run = add1.run(base + k, horizon)
        spent = add1.spent(run)
        if spent > budget:  # infeasible: the previous outcome stands
            break
        if add1.exhaustive(run, budget - spent):
            kept, kept_k = run, k
            break
        # Every step whose share is below s0 + the run's limit gives this same outcome,
        # so the loop goes on from the first step at or past it (the last one within the
        # bound is the one pabutools would keep if it stopped there).
        following = k + max(1, -(-run.limit // _GRID))
        kept, kept_k = run, min(following - 1, last_k)
        k = following
        # The next horizon: twice as far when the whole of this one held; as far when part
        # of it held (what stopped this run is usually behind the next one); nearer when
        # almost nothing did (the bounds widen with the horizon: events far ahead can stop
        # a run at once, say two projects tied at the share).
        if run.limit >= horizon:
            horizon *= 2
        elif run.limit <= _GRID:
            horizon = max(_GRID, horizon // 2)
    if kept is None:
        return _completed("mes", projects, budget, ballots, utility, _MesResult([], {}))
    share = base + kept_k
    # The same purchases at the share kept, for their prices and the money of those left.
    final = add1.run(share, 0, eager=True)
    assert [b[0] for b in final.bought] == [b[0] for b in kept.bought], "Add1 interval"
    mes = add1.result(final)
    return _completed("mes", projects, budget, ballots, utility, mes, voter_share=share)


# Slopes and limits only bound: rounded outwards to multiples of 1 / _GRID they stay
# bounds, and are integers (the numerators) where exact ones would grow round after round.
_GRID = 1 << 32
_GRID2 = _GRID * _GRID
# Tangents computed per candidate that may overtake the bought one in a round (Newton).
_NEWTON = 4


def _whole(t: int) -> int:
    """A limit t (shares below share + t hold) as whole steps: only shares share + k for
    whole k are ever run, so a limit of 2.3 steps holds as far as one of 3."""
    return -(-t // _GRID) * _GRID


@dataclass(frozen=True, slots=True)
class _Run:
    """One MES run at the share ``s0``, every amount an affine function of the share.

    Amounts are pairs (value at s0, slope): the amount at share s0 + t is value + slope * t.
    ``limit`` is the t up to which (excluded) MES does exactly the same purchases with these
    affine amounts; None when that holds for every larger share.
    """

    share: Fraction
    bought: list[tuple[int, int, Fraction]]  # (candidate, round, most paid by a supporter)
    fell: dict[int, Fraction]  # candidate -> its supporters' money when it fell out
    limit: int


class _Add1:
    """The Method of Equal Shares as a function of every voter's starting share s.

    Within an interval of shares where every comparison MES makes keeps its outcome, each
    wallet, price factor and payment is an affine function a + b * s: the wallets start at
    s, and a project's price factor is (cost - money of the supporters who pay all they
    have) / (satisfaction of the others), with those two sets fixed. :meth:`run` runs MES
    once at a share s0 carrying (value, slope) pairs, and records for each comparison that
    decides the outcome the smallest share above s0 at which it could turn. Below the least
    of these MES buys the same projects in the same rounds, so the Add1 loop jumps straight
    to the first step at or past it: it runs MES once per interval, not once per currency
    unit per voter (150,000,000 ₮ among 300 voters would be 500,000 steps).

    The comparisons, and why they are enough:

    * A project that its supporters cannot afford (money < cost) stays out until their
      money, rising with s, reaches the cost.
    * The project bought in a round: its supporters split into those who pay all they have
      and the others (who pay price * utility); each must stay on its side. At s0 a
      supporter exactly on the edge is put on the side it takes for shares just above (the
      comparison is made on (value, slope) lexicographically); at s0 itself both sides give
      the same price.
    * Every other candidate must stay dearer (or equal with a later name): its price factor
      is a convex function of s (the least rho with sum(min(wallet, rho * u)) >= cost, the
      wallets affine: a concave constraint), so its tangent at s0 is below it and it is
      enough that the tangent stays above the bought project's price. A price from an
      earlier round (MES skips a project whose last price already exceeds the best one, as
      pabutools does) is also below the current price, since wallets only shrink.

    Ties at s0 are decided as pabutools decides them (the name as text); where a tie at s0
    turns into a different order just above it, the limit is 0 and the next step is run.

    Voters who paid for the same projects hold the same money, so a run keeps *wallet
    classes*: the set of voters holding one (value, slope), as the bits of an int (voter i
    is bit i), and counts a project's supporters in a class with one AND and a popcount.
    A handful of classes stand for thousands of voters.
    """

    def __init__(
        self, projects: Sequence[Project], ballots: Sequence[Collection[str]], utility: Utility
    ) -> None:
        self.projects = list(projects)
        self.free: list[Project] = []  # free and wanted (Cardinality_Sat): always bought
        self.cands: list[Project] = []
        self.fans: list[int] = []  # a candidate's supporters, as bits
        # Amounts in units of 1 / scale of the currency, so that every cost is an integer
        # (MES is unchanged when the budget and the costs are scaled alike).
        self.scale = math.lcm(1, *(p.cost.denominator for p in projects))
        self.cost: list[int] = []
        self.util: list[int] = []
        self.sat: list[int] = []  # total satisfaction of a candidate's supporters
        ids = {p.id for p in projects}
        fans = dict.fromkeys(ids, 0)
        for voter, ballot in enumerate(ballots):
            for pid in set(ballot) & ids:
                fans[pid] |= 1 << voter
        self.everyone = (1 << len(ballots)) - 1
        for p in projects:
            cost = int(p.cost * self.scale)
            u = cost if utility == "cost" else 1
            total = fans[p.id].bit_count() * u
            if total > 0:
                if cost > 0:
                    self.cands.append(p)
                    self.fans.append(fans[p.id])
                    self.cost.append(cost)
                    self.util.append(u)
                    self.sat.append(total)
                else:
                    self.free.append(p)

    def spent(self, run: _Run) -> Fraction:
        return sum((self.cands[i].cost for i, _, _ in run.bought), Fraction(0))

    def exhaustive(self, run: _Run, left: Fraction) -> bool:
        """pabutools' is_exhaustive: no project outside the outcome fits the money left."""
        taken = {self.cands[i].id for i, _, _ in run.bought} | {p.id for p in self.free}
        return all(p.cost > left for p in self.projects if p.id not in taken)

    def result(self, run: _Run) -> _MesResult:
        bought = [(p, 0, Fraction(0)) for p in self.free]
        bought += [(self.cands[i], r, price) for i, r, price in run.bought]
        return _MesResult(bought, {self.cands[i].id: m for i, m in run.fell.items()})

    def run(self, share: Fraction, horizon: int, eager: bool = False) -> _Run:
        """MES at ``share``, and the t <= horizon below which share + t gives the same.

        t, the horizon and every slope are integers in units of 1 / _GRID. Wallets are
        integers over a common denominator ``d``, so that the loops do integer arithmetic.
        A limit of one unit or less is reported as it stands when it fell there: the next
        step is the next unit then, however small it is, and no more bounds are computed.
        ``eager``: check a candidate's money before skipping it, as pabutools does, so that
        ``fell`` records the supporters' money in the round pabutools finds it short (as
        :func:`_mes` does; for the reports).
        """
        fans, cost, util, scale = self.fans, self.cost, self.util, self.scale
        s0 = share * scale
        d = s0.denominator
        # Wallet classes, poorest first: (wallet * d at the share, slope of an upper and of
        # a lower bound of the wallet at share + t for 0 <= t <= limit, voters as bits).
        # Ties at the share are ordered by the upper slope: the order just above it.
        ordered: list[tuple[int, int, int, int]] = [
            (s0.numerator, scale * _GRID, scale * _GRID, self.everyone)
        ]
        # A lower bound of each candidate's price factor, a line: its last computed price
        # (the tangent at the share), at first cost / total satisfaction.
        low_v = [Fraction(c, s) for c, s in zip(cost, self.sat, strict=True)]
        low_b = [Fraction(0)] * len(cost)  # (exact: ties are compared exactly)
        remaining = list(range(len(cost)))
        bought: list[tuple[int, int, Fraction]] = []
        fell: dict[int, Fraction] = {}
        limit = horizon

        round_no = 0
        while True:
            round_no += 1
            bounds = limit > _GRID  # (else the next step is the next unit anyway)
            remaining.sort(key=lambda i: low_v[i])
            best: Fraction | None = None
            tied: list[int] = []
            priced: list[int] = []
            poor: dict[int, int] = {}  # candidate -> where its walk stopped
            gone: list[int] = []
            skipped: list[int] = []
            for pos, i in enumerate(remaining):
                lazy = best is not None and low_v[i] > best
                if lazy and not eager:
                    # Its price can only have risen since: it cannot win (nor can the
                    # ones after it); whether it is still affordable does not matter.
                    skipped = remaining[pos:]
                    break
                found = self._walk(i, ordered, d)
                if lazy and isinstance(found[0], Fraction):
                    skipped = remaining[pos:]
                    break
                if not isinstance(found[0], Fraction):  # its supporters' money is short
                    gone.append(i)
                    money, most = found
                    fell[i] = Fraction(money, d * scale)
                    if bounds and most > 0:  # out while the most they may hold stays short
                        limit = min(limit, _whole((cost[i] * d - money) * _GRID2 // (d * most)))
                    continue
                rv, rb, poor[i] = found
                low_v[i], low_b[i] = rv, rb
                priced.append(i)
                if best is None or rv < best:
                    best, tied = rv, [i]
                elif rv == best:
                    tied.append(i)
            for i in gone:
                remaining.remove(i)
            if best is None:
                return _Run(share, bought, fell, limit)
            c = min(tied, key=lambda i: self.cands[i].id)
            f, u = fans[c], util[c]
            rv = best
            price = rv * u  # what each of the others pays; amounts move to a common
            d2 = math.lcm(d, price.denominator)  # denominator with it
            r, p = d2 // d, price.numerator * (d2 // price.denominator)
            remaining.remove(c)
            alive = 0  # voters with nothing left to vote for no longer matter
            for i in remaining:
                alive |= fans[i]
            others = alive & ~f
            sup: list[tuple[int, int, int, int, int]] = []  # (wallet, upper, lower, n, bits)
            kept: list[tuple[int, int, int, int]] = []  # those who do not pay
            money = least = 0
            for v, bh, bl, bits in ordered:
                x = bits & f
                if x:
                    n = x.bit_count()
                    sup.append((v, bh, bl, n, x))
                    money += n * v
                    least += n * bl
                    x = bits & others
                else:
                    x = bits & alive
                if x:
                    kept.append((v * r, bh, bl, x))
            cb = low_b[c]
            if bounds and limit > _GRID:
                # The bought project's price factor at share + t is at most the chord of
                # its price with the supporters' least money (convex in t) over
                # [0, limit], and never above its price at the share (more money never
                # raises a price).
                if money * _GRID2 + least * limit * d < cost[c] * d * _GRID2:
                    # The least money falls short of the cost before the limit.
                    limit = _whole((money - cost[c] * d) * _GRID2 // (d * -least))
                h = limit - _GRID  # the last whole step that may hold
                if h > 0:
                    at_h = sorted((v * _GRID2 + bl * h * d, n) for v, _, bl, n, _ in sup)
                    chord = (self._price_of(c, at_h, d * _GRID2) - rv) * _GRID2 / h
                    cb = min(chord, Fraction(0))
                # Every other candidate must stay at least as dear (strictly for an
                # earlier name, which holds at the share since it lost): its price must
                # not cross.
                for i in priced + skipped:
                    if i != c and not self._twins(i, c, poor, rv == low_v[i], ordered):
                        limit = self._stays_dearer(i, low_v[i], low_b[i], rv, cb, ordered, d, limit)
            # The supporters pay min(money, price * utility) and keep max(0, money - that):
            # at least max(0, least money - most price), at most max(0, most money - least
            # price), both bounded by lines over [0, limit] (the upper one by its chord),
            # and money never shrinks as the share grows: every slope of a wallet is >= 0,
            # of a price <= 0.
            plo, phi = math.floor(low_b[c] * u), math.ceil(cb * u)
            h = max(limit - _GRID, 1)  # the last whole step that may hold (or any)
            paid: dict[tuple[int, int, int], int] = {}
            for v, bh, bl, _, x in sup:
                x &= alive
                if x:
                    w = v * r - p
                    b = bh - plo  # of the most left (>= bh: the upper bound stays above)
                    if w > 0:
                        key = (w, b, max(bl - phi, 0))
                    else:  # poor at the share; maybe not by h: the chord of max(0, ...)
                        at_h2 = w * _GRID2 + b * h * d2  # the most left at h (* d2 _GRID2)
                        up = 0 if at_h2 <= 0 else -(-at_h2 // (d2 * h)) if w else b
                        key = (0, up, 0)
                    paid[key] = paid.get(key, 0) | x
            kept += [(v, bh, bl, x) for (v, bh, bl), x in paid.items()]
            kept.sort()
            if len(kept) > 1 and kept[0][:3] == kept[1][:3]:  # two spent classes
                kept[:2] = [(*kept[0][:3], kept[0][3] | kept[1][3])]
            ordered = kept
            d = d2
            bought.append((c, round_no, price / scale))

    def _twins(
        self,
        i: int,
        c: int,
        poor: dict[int, int],
        tied: bool,
        ordered: list[tuple[int, int, int, int]],
    ) -> bool:
        """Candidate i tied with the bought c at the share, with the same price at every
        share up to the limit: the same cost, as much satisfaction among the supporters who
        can pay the share, and the others (who pay all they have) alike two by two, holding
        the same money at every share: the same voters, or voters whose money is known
        exactly (its bounds coincide). Then the same become able to pay as the shares grow
        (and nobody stops being able), so c, first by name, stays first, where the bounds
        could not tell (they differ at least by their rounding)."""
        if not tied or i not in poor or self.cost[i] != self.cost[c]:
            return False

        def alike(k: int) -> tuple[int, Counter[tuple[int, ...]]]:
            count, out, f = 0, Counter[tuple[int, ...]](), self.fans[k]
            for j, (v, bh, bl, bits) in enumerate(ordered[: poor[k]]):
                n = (bits & f).bit_count()
                count += n
                if n and (v or bh):  # (who holds nothing and gets nothing: no matter)
                    out[(v, bh) if bh == bl else (v, bh, bl, j)] += n
            return count, out

        ni, mi = alike(i)
        nc, mc = alike(c)
        rich_i = self.util[i] * (self.fans[i].bit_count() - ni)
        return rich_i == self.util[c] * (self.fans[c].bit_count() - nc) and mi == mc

    def _stays_dearer(
        self,
        i: int,
        value: Fraction,
        slope: Fraction,
        rv: Fraction,
        cb: Fraction,
        ordered: list[tuple[int, int, int, int]],
        d: int,
        limit: int,
    ) -> int:
        """The limit, lowered to where candidate i's price could fall to the line rv + cb t
        (the most the bought project's price may be), given a line below its price.

        The price with the most money the supporters may hold is convex in t, so each of
        its tangents is below it: from the first line's crossing, the tangent there gives
        a later crossing (Newton's method from below), a few times while it is before the
        limit (each costs a price computation)."""
        at = 0  # the line is value + slope * (t - at)
        for tries in range(_NEWTON):
            if slope >= cb:
                return limit  # it never falls to the bought one's price
            cross = at + ((value - rv) * _GRID2 - cb * at) / (cb - slope)
            if _whole(math.floor(cross)) >= limit:
                return limit  # (only whole steps matter)
            if tries == _NEWTON - 1:
                break
            at = math.floor(cross)
            found = self._walk_at(i, ordered, d, at)
            if not isinstance(found[0], Fraction):
                # Short of money there (the most they may hold): out until that reaches
                # the cost; from there on its price, falling, must stay above the line.
                money, most = found
                if most <= 0:
                    return limit
                cross = at + Fraction(self.cost[i] * d * _GRID2 - money, d * most)
                if _whole(math.floor(cross)) >= limit:
                    return limit
                at = math.ceil(cross)
                found = self._walk_at(i, ordered, d, at)
                edge = rv * _GRID2 + cb * math.floor(cross)  # the line at the crossing
                if not isinstance(found[0], Fraction) or found[0] * _GRID2 <= edge:
                    break
            value, slope = found[0], found[1]
        return _whole(math.floor(cross))

    def _walk_at(
        self, i: int, ordered: list[tuple[int, int, int, int]], d: int, t: int
    ) -> tuple[Fraction, Fraction, int] | tuple[int, int]:
        """:meth:`_walk` with the most money the supporters may hold at share + t."""
        f, u = self.fans[i], self.util[i]
        rows = sorted(
            (v * _GRID2 + b * t * d, b, x.bit_count())
            for v, b, _, bits in ordered
            if (x := bits & f)
        )
        d *= _GRID2  # (the amounts at t come times d * _GRID2)
        left = self.cost[i] * d
        lu = left * u
        slope = 0
        den = self.sat[i]
        for j, (v, b, n) in enumerate(rows):
            rv = v * den
            if lu < rv or (lu == rv and slope * u >= -b * den):
                return Fraction(left, d * den), Fraction(-slope, den), j
            left -= n * v
            lu = left * u
            slope += n * b
            den -= n * u
        return self.cost[i] * d - left, slope

    def _price_of(self, i: int, rows: list[tuple[int, int]], d: int) -> Fraction:
        """Candidate i's price factor for its supporters' wallets given as (value * d, how
        many), poorest first, their money covering the cost."""
        u = self.util[i]
        left = self.cost[i] * d
        den = self.sat[i]
        for v, n in rows:
            if left * u <= v * den:
                break
            left -= n * v
            den -= n * u
        return Fraction(left, d * den)

    def _walk(
        self, i: int, ordered: list[tuple[int, int, int, int]], d: int
    ) -> tuple[Fraction, Fraction, int] | tuple[int, int]:
        """Candidate i's price factor at the share and the slope of a line below it for
        shares above: pabutools' loop (the poorest supporters pay all they have until the
        others can pay the same share) on wallets (value * d, upper slope), so that ties at
        the share go as they go just above it (its tangent there: the price is convex in
        the share), and where the walk stopped: the classes before it that hold supporters
        pay all they have. Only those are walked. When the supporters' money falls short
        of the cost: (their money * d, the upper slope of it), two integers."""
        f, u = self.fans[i], self.util[i]
        left = self.cost[i] * d  # of the cost, times d
        lu = left * u
        slope = 0  # of what the poorer ones paid
        den = self.sat[i]
        for j, (v, b, _, bits) in enumerate(ordered):
            x = bits & f
            if x:
                rv = v * den  # this wallet against price * utility (= left * u / den)
                if lu < rv or (lu == rv and slope * u >= -b * den):
                    return Fraction(left, d * den), Fraction(-slope, den), j
                n = x.bit_count()
                left -= n * v
                lu = left * u
                slope += n * b
                den -= n * u
        return self.cost[i] * d - left, slope


def _completed(
    rule: str,
    projects: Sequence[Project],
    budget: Fraction,
    ballots: Sequence[Collection[str]],
    utility: Utility,
    mes: _MesResult,
    *,
    complete: bool = True,
    voter_share: Fraction | None = None,
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
    return Allocation(rule, budget, funded, tuple(decisions), voter_share)
