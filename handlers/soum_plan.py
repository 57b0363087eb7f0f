"""The soum's LDF plan: the bags' lists combined, scored, ranked and allocated.

Combined score (0 to 1, shown as 0-100): the weighted mean of the criteria, each scaled to
0..1. A criterion members score (1-5) counts as the mean over the members who scored it,
(value - 1) / 4; "beneficiaries" is the proposal's households over the most households of
any proposal on the soum list; "votes" is the share of its bag's voters who chose it. Each
member's own scores are kept beside it. A proposal is scored once every member criterion has
at least one score; until then it is ranked after the scored ones and the standard rule
leaves it out.

Ranking: combined score, then more beneficiaries, then a larger vote share, then the lower
soum list number. The standard rule funds in this order and skips what no longer fits the
ceiling; the Method of Equal Shares runs beside it on all the citizens' ballots of the
soum's submitted rounds. Allocation ids are the list numbers written with four digits, so
pabutools' tie-breaking by id is the list order.

The rule in force is one fact: the newest recorded run with a rule chosen
(storage.soum.in_force). The plan carries that rule, when its allocation was computed and a
fingerprint of the inputs (:func:`fingerprint`); handlers.soum records a new run whenever
the inputs change under a rule in force, so every report reads the same funded set, and
``stale`` says when a recorded run no longer matches what the plan computes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from fractions import Fraction

from handlers.allocation import (
    Allocation,
    Decision,
    Project,
    equal_shares,
    equal_shares_add1,
    greedy_in_order,
)
from storage import ballots, soum, units
from storage.db import Tx
from storage.soum import Criterion, ListItem, Score

# What a member may give a proposal on a criterion (a chat reply, a score sheet's cell).
SCORE_MIN, SCORE_MAX = 1, 5
NOT_SCORED = "not_scored"
NO_COST = "no_cost"


def project_id(number: int) -> str:
    return f"{number:04d}"


@dataclass(frozen=True, slots=True)
class Combined:
    score: Fraction | None  # 0..1; None until every member criterion has a score
    by_criterion: dict[str, Fraction | None]  # each criterion scaled to 0..1
    members: int  # how many members scored it (any criterion)


@dataclass(frozen=True, slots=True)
class PlanLine:
    item: ListItem
    bag_name: str
    combined: Combined
    member_scores: dict[int, dict[str, int]]  # person id -> criterion -> 1..5
    rank: int  # position in the soum ranking (1 = best)
    greedy: Decision | None
    mes: Decision | None
    greedy_reason: str
    mes_reason: str
    mes_plain: Decision | None = None
    mes_plain_reason: str = ""

    def decision(self, rule: str) -> Decision | None:
        """This proposal's decision under a rule of handlers.allocation.RULES."""
        return {"greedy": self.greedy, "mes": self.mes, "mes_plain": self.mes_plain}[rule]

    def reason(self, rule: str) -> str:
        """Catalog code (alloc.reason.<code>) of why the rule funds it or not."""
        return {
            "greedy": self.greedy_reason,
            "mes": self.mes_reason,
            "mes_plain": self.mes_plain_reason,
        }[rule]

    @property
    def share(self) -> Fraction:
        return Fraction(self.item.votes, self.item.voters) if self.item.voters else Fraction(0)


@dataclass(frozen=True, slots=True)
class SoumPlan:
    soum_code: str
    soum_name: str
    year: int
    ceiling: int | None
    criteria: tuple[Criterion, ...]
    lines: list[PlanLine]
    voters: int  # ballots over all the soum's submitted rounds
    greedy: Allocation | None = None
    mes: Allocation | None = None
    members: list[int] = field(default_factory=list)  # person ids who scored anything
    mes_plain: Allocation | None = None
    # The rule in force (chosen by the working group) and when its allocation was computed.
    rule_in_force: str | None = None
    computed_at: datetime | None = None
    chosen_at: datetime | None = None  # when the working group chose the rule in force
    inputs: str = ""  # fingerprint of what this plan was computed from
    run_id: int | None = None  # the recorded run that holds the rule in force
    # The recorded run of the rule in force was computed from other inputs, or funds other
    # proposals than this plan does: it must be recomputed (handlers.soum.keep_in_force).
    stale: bool = False

    def funded_in_force(self) -> list[PlanLine] | None:
        """The lines the rule in force funds, in rank order; None while no rule is chosen."""
        return self.funded(self.rule_in_force) if self.rule_in_force else None

    def allocation(self, rule: str) -> Allocation | None:
        return {"greedy": self.greedy, "mes": self.mes, "mes_plain": self.mes_plain}[rule]

    @property
    def unscored(self) -> int:
        return sum(1 for line in self.lines if line.combined.score is None)

    def funded(self, rule: str) -> list[PlanLine]:
        """The lines the rule funds, in soum rank order."""
        out = []
        for line in self.lines:
            d = line.decision(rule)
            if d is not None and d.funded:
                out.append(line)
        return out


def combine(
    items: Sequence[ListItem], scores: Sequence[Score], criteria: Sequence[Criterion]
) -> dict[int, Combined]:
    """Combined scores per proposal id (see the module docstring)."""
    most = max((i.beneficiaries or 0 for i in items), default=0)
    by_member: dict[int, dict[str, list[int]]] = {}
    who: dict[int, set[int]] = {}
    for s in scores:
        by_member.setdefault(s.proposal_id, {}).setdefault(s.criterion, []).append(s.value)
        who.setdefault(s.proposal_id, set()).add(s.person_id)
    total_weight = sum(c.weight for c in criteria)
    out: dict[int, Combined] = {}
    for item in items:
        values: dict[str, Fraction | None] = {}
        for c in criteria:
            if c.source == "member":
                given = by_member.get(item.proposal_id, {}).get(c.name, [])
                span = (SCORE_MAX - SCORE_MIN) * len(given)
                values[c.name] = (
                    Fraction(sum(v - SCORE_MIN for v in given), span) if given else None
                )
            elif c.source == "beneficiaries":
                values[c.name] = Fraction(item.beneficiaries or 0, most) if most else Fraction(0)
            else:
                values[c.name] = Fraction(item.votes, item.voters) if item.voters else Fraction(0)
        complete = all(v is not None for v in values.values())
        score: Fraction | None = None
        if complete:
            weighted = sum(
                (c.weight * (values[c.name] or Fraction(0)) for c in criteria), Fraction(0)
            )
            score = weighted / total_weight if total_weight else Fraction(0)
        out[item.proposal_id] = Combined(score, values, len(who.get(item.proposal_id, ())))
    return out


def rank(items: Sequence[ListItem], combined: Mapping[int, Combined]) -> list[ListItem]:
    """The soum ranking: scored first, by combined score, beneficiaries, vote share, number."""

    def key(i: ListItem) -> tuple[int, Fraction, int, Fraction, int]:
        c = combined[i.proposal_id].score
        share = Fraction(i.votes, i.voters) if i.voters else Fraction(0)
        return (c is None, -(c or Fraction(0)), -(i.beneficiaries or 0), -share, i.number)

    return sorted(items, key=key)


def allocate(
    ordered: Sequence[ListItem],
    combined: Mapping[int, Combined],
    ceiling: int,
    soum_ballots: Sequence[frozenset[str]],
) -> tuple[Allocation, Allocation, Allocation]:
    """(standard rule, equal shares, plain equal shares) over the ranked soum list."""
    budget = Fraction(ceiling)
    costed = [i for i in ordered if i.cost_mnt is not None]
    ranked = [
        Project(project_id(i.number), Fraction(i.cost_mnt or 0))
        for i in costed
        if combined[i.proposal_id].score is not None
    ]
    votes = {project_id(i.number): i.votes for i in costed}
    standard = greedy_in_order(ranked, budget, votes)
    everyone = sorted(
        (Project(project_id(i.number), Fraction(i.cost_mnt or 0)) for i in costed),
        key=lambda p: p.id,
    )
    mes = equal_shares_add1(everyone, budget, soum_ballots)
    plain = equal_shares(everyone, budget, soum_ballots)
    return standard, mes, plain


async def ballots_of(conn: Tx, items: Sequence[ListItem]) -> list[frozenset[str]]:
    """Every citizen's ballot of the rounds on the soum list, as allocation ids, in the
    order of the rounds and, within one, of the ballots' keys (random: nothing of a voter)."""
    number_of = {i.proposal_id: project_id(i.number) for i in items}
    out: list[frozenset[str]] = []
    for round_id in dict.fromkeys(i.round_id for i in items):
        for b in await ballots.anonymous_ballots(conn, round_id):
            out.append(frozenset(number_of[p] for p in b if p in number_of))
    return out


def fingerprint(
    ceiling: int | None,
    criteria: Sequence[Criterion],
    items: Sequence[ListItem],
    scores: Sequence[Score],
    soum_ballots: Sequence[frozenset[str]],
) -> str:
    """A SHA-256 of everything an allocation depends on: the ceiling, the criteria and
    weights, each list line's cost, households and votes, every member's scores and the
    soum's ballots (as a sorted multiset: nothing of who cast which)."""
    payload = {
        "ceiling": ceiling,
        "criteria": [[c.name, c.source, c.position, c.weight] for c in criteria],
        "items": sorted(
            [i.number, i.proposal_id, i.round_id, i.cost_mnt, i.beneficiaries, i.votes, i.voters]
            for i in items
        ),
        "scores": sorted([s.proposal_id, s.person_id, s.criterion, s.value] for s in scores),
        "ballots": sorted(sorted(b) for b in soum_ballots),
    }
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


async def build(conn: Tx, soum_code: str, year: int) -> SoumPlan:
    """Everything the working group, the reports and the allocation need, in rank order."""
    unit = await units.get(conn, soum_code)
    items = await soum.soum_list(conn, soum_code, year)
    criteria = await soum.criteria(conn, soum_code, year)
    all_scores = await soum.scores(conn, soum_code, year)
    ceiling = await soum.ceiling(conn, soum_code, year)
    combined = combine(items, all_scores, criteria)
    ordered = rank(items, combined)

    soum_ballots = await ballots_of(conn, items)

    standard: Allocation | None = None
    mes: Allocation | None = None
    plain: Allocation | None = None
    if ceiling is not None:
        standard, mes, plain = allocate(ordered, combined, ceiling, soum_ballots)

    per_member: dict[int, dict[int, dict[str, int]]] = {}
    for s in all_scores:
        per_member.setdefault(s.proposal_id, {}).setdefault(s.person_id, {})[s.criterion] = s.value
    names: dict[str, str] = {}
    lines: list[PlanLine] = []
    for position, item in enumerate(ordered, start=1):
        if item.bag_code not in names:
            bag = await units.get(conn, item.bag_code)
            names[item.bag_code] = bag.name if bag else item.bag_code
        pid = project_id(item.number)
        g = _decision(standard, pid)
        m = _decision(mes, pid)
        mp = _decision(plain, pid)
        no_cost = item.cost_mnt is None
        lines.append(
            PlanLine(
                item,
                names[item.bag_code],
                combined[item.proposal_id],
                per_member.get(item.proposal_id, {}),
                position,
                g,
                m,
                NO_COST if no_cost else (g.reason.value if g else NOT_SCORED),
                NO_COST if no_cost else (m.reason.value if m else ""),
                mp,
                NO_COST if no_cost else (mp.reason.value if mp else ""),
            )
        )
    members = sorted({s.person_id for s in all_scores})
    inputs = fingerprint(ceiling, criteria, items, all_scores, soum_ballots)
    plan = SoumPlan(
        soum_code,
        unit.name if unit else soum_code,
        year,
        ceiling,
        criteria,
        lines,
        len(soum_ballots),
        standard,
        mes,
        members,
        plain,
        inputs=inputs,
    )
    run = await soum.in_force(conn, soum_code, year)
    if run is None or run.chosen_rule is None:
        return plan
    live = frozenset(line.item.proposal_id for line in plan.funded(run.chosen_rule))
    return replace(
        plan,
        rule_in_force=run.chosen_rule,
        computed_at=run.run_at,
        chosen_at=run.chosen_at,
        run_id=run.id,
        # A run from before fingerprints (None) is stale too: its inputs are unknown.
        stale=run.inputs != inputs or run.funded() != live,
    )


def _decision(alloc: Allocation | None, pid: str) -> Decision | None:
    if alloc is None:
        return None
    try:
        return alloc.decision(pid)
    except KeyError:
        return None
