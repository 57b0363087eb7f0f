"""The pabulib ``.pb`` format (pabulib.org): open data of a round, and reading real elections.

A file has three ``;``-separated sections: META (key;value), PROJECTS (project_id;cost;...)
and VOTES (voter_id;vote, the vote a comma-separated list of project ids). Our export
writes voter ids 1, 2, 3... in the order of the ballot keys (an HMAC: random with respect
to people), and nothing else about a voter: no phone, no channel, no time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from handlers.allocation import Project, money
from handlers.closing import DEFAULT_MIN_VOTERS
from handlers.reports.data import CountsHidden, ReportError, public_text, round_report
from handlers.soum_plan import ballots_of, build
from handlers.soum_plan import project_id as pid
from storage import ballots, proposals, rounds, units
from storage import soum as soum_store
from storage.db import Tx
from storage.rounds import Round


@dataclass(frozen=True, slots=True)
class PbElection:
    """A parsed ``.pb`` file: metadata, projects (as rows) and approval ballots."""

    meta: dict[str, str]
    projects: list[dict[str, str]]
    ballots: list[frozenset[str]] = field(default_factory=list)

    @property
    def budget(self) -> Fraction:
        return money(self.meta["budget"])

    def allocation_projects(self) -> list[Project]:
        return [Project(row["project_id"], money(row["cost"])) for row in self.projects]


class PbError(ValueError):
    """A file that is not readable as an approval election in the pabulib format."""


def read_pb(text: str) -> PbElection:
    """Parse a ``.pb`` file's text (approval elections)."""
    meta: dict[str, str] = {}
    projects: list[dict[str, str]] = []
    ballots: list[frozenset[str]] = []
    section = ""
    header: list[str] = []
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";")
    for row in rows:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        first = row[0].strip().lower()
        if first in ("meta", "projects", "votes"):
            section = first
            header = [h.strip() for h in next(rows, [])]
            continue
        if section == "meta":
            meta[row[0].strip()] = row[1].strip() if len(row) > 1 else ""
        elif section == "projects":
            projects.append(
                {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header)}
            )
        elif section == "votes":
            values = {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header)}
            vote = values.get("vote", "")
            ballots.append(frozenset(v.strip() for v in vote.split(",") if v.strip()))
        else:
            raise PbError(f"data before a META, PROJECTS or VOTES line: {row[:3]}")
    if "budget" not in meta:
        raise PbError("META has no budget")
    if meta.get("vote_type", "approval") not in ("approval", "choose-1"):
        raise PbError(f"only approval elections are read, not {meta.get('vote_type')!r}")
    return PbElection(meta, projects, ballots)


def _number(value: Fraction) -> str:
    """An exact amount as pabulib writes it: an integer, else a decimal."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}"


def write_pb(
    meta: Mapping[str, object],
    projects: Sequence[Mapping[str, object]],
    ballots: Sequence[Sequence[str]],
) -> str:
    """A ``.pb`` file. ``projects`` rows need ``project_id`` and ``cost``; the voters are
    numbered 1, 2, 3... in the order given (give them in an order that says nothing)."""
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\n")
    w.writerow(["META"])
    w.writerow(["key", "value"])
    full = dict(meta)
    full.setdefault("num_projects", len(projects))
    full.setdefault("num_votes", len(ballots))
    full.setdefault("vote_type", "approval")
    for key, value in full.items():
        w.writerow([key, _clean(value)])
    w.writerow(["PROJECTS"])
    columns: list[str] = ["project_id", "cost"]
    for row in projects:
        columns += [k for k in row if k not in columns]
    w.writerow(columns)
    for row in projects:
        w.writerow([_clean(row.get(c, "")) for c in columns])
    w.writerow(["VOTES"])
    w.writerow(["voter_id", "vote"])
    for i, ballot in enumerate(ballots, start=1):
        w.writerow([i, ",".join(ballot)])
    return out.getvalue()


def _clean(value: object) -> str:
    """One cell: no separators or line breaks inside (pabulib has no quoting)."""
    text = _number(value) if isinstance(value, Fraction) else str(value)
    return " ".join(text.replace(";", ",").split())


# pabulib's names of the rules (pabulib.org/format, META ``rule``). Sanal's standard rule
# funds in the working group's ranking, not by votes: pabulib calls a greedy rule with its
# own order "greedy-custom" and asks for a comment saying what it is. Sanal's two equal-
# shares rules are completed by greedy by votes, which the comment says too.
PB_RULES = {"greedy": "greedy-custom", "mes": "equalshares/add1", "mes_plain": "equalshares"}
NO_RULE = "unknown"  # pabulib: the information is not available (no rule chosen yet)
RULE_NOTES = {
    "greedy": (
        "rule greedy-custom: Sanal's standard rule, greedy in the soum working group's "
        "ranking (column soum_rank: soum_score, the working group's combined score 0-100, "
        "then households, vote share, list number), funding each project that fits the money "
        "left; a project without soum_rank is not fully scored and is not funded"
    ),
    "mes": (
        "rule equalshares/add1: the Method of Equal Shares (Cost_Sat) with Add1 completion "
        "(every voter's share raised by 1 MNT while the outcome fits the budget), then greedy "
        "by votes for the money left, as equalshares.net computes it"
    ),
    "mes_plain": (
        "rule equalshares: the Method of Equal Shares (Cost_Sat) completed by greedy by votes"
    ),
}


def pb_rule(rule: str | None) -> str:
    """The META ``rule`` of an allocation under Sanal's ``rule`` (None: none chosen)."""
    return PB_RULES[rule] if rule else NO_RULE


def local_iso(when: datetime, tz: str | None) -> str:
    """A moment as ISO 8601 with the offset of the soum's zone (+08:00, or +07:00 in the
    west), to the second."""
    return when.astimezone(ZoneInfo(tz or "Asia/Ulaanbaatar")).isoformat(timespec="seconds")


def _comment(notes: Sequence[str]) -> str:
    """pabulib's META comment: each note numbered, "#1: ... #2: ..."."""
    return " ".join(f"#{i}: {note}" for i, note in enumerate(notes, start=1))


def _unlinkable(raw: Sequence[Sequence[str]]) -> list[list[str]]:
    """Ballots sorted by their content (length, then project ids): the order they were cast
    in, and the voter keys', are gone; voter ids are only positions in this order."""
    return sorted(
        (sorted(b, key=_id_order) for b in raw),
        key=lambda b: (len(b), [_id_order(p) for p in b]),
    )


def _id_order(project: str) -> tuple[int, str]:
    return (int(project), project) if project.isdigit() else (1 << 62, project)


async def round_pb(conn: Tx, rnd: Round, min_voters: int = DEFAULT_MIN_VOTERS) -> str:
    """A closed round as open data. Ballots are sorted by their content and numbered, so
    nothing of a voter is left but what they chose together with everyone else.

    The bag's budget: the money the soum's allocation under the rule in force gives the
    bag's projects (``selected`` marks them, the soum's .pb holds the whole allocation);
    while no rule is chosen, the total cost of the bag's proposals, nothing selected. The
    META comment says which, and the rule."""
    # Refuses a round still open, and one with too few ballots to publish unlinked.
    rep = await round_report(conn, rnd, min_voters)
    on_ballot = await proposals.of_round(conn, rnd.id, "accepted")
    number_of = {p.id: str(p.number) for p in on_ballot}
    raw = await ballots.anonymous_ballots(conn, rnd.id)
    votes = _unlinkable([[number_of[pid] for pid in b if pid in number_of] for b in raw])
    rule = rep.rule_in_force
    where = ", ".join(u.name for u in (rep.bag, rep.soum, rep.aimag) if u is not None)
    notes: list[str] = []
    if rule is not None:
        budget = sum(ln.cost_mnt or 0 for ln in rep.lines if ln.soum_funded)
        ceiling = await soum_store.ceiling(conn, rep.soum.code, rnd.year) if rep.soum else None
        computed = local_iso(rep.computed_at, rep.bag.tz) if rep.computed_at else "-"
        notes += [
            "budget: the money the soum's allocation gives this bag's projects (selected); "
            f"the soum's LDF ceiling, {ceiling} MNT, is shared by all its bags, and the "
            "soum's own .pb holds the whole allocation",
            f"selected: funded by the soum's allocation under the rule in force, computed "
            f"{computed} over the ballots and projects of every bag of the soum",
            RULE_NOTES[rule],
        ]
        if rep.allocation_stale:
            notes.append("the soum's inputs changed after this allocation was recorded")
    else:
        budget = sum(ln.cost_mnt or 0 for ln in rep.lines)
        notes.append(
            "no allocation rule chosen yet by the soum working group: budget is the total "
            "cost of the bag's proposals and nothing is selected"
        )
    meta: dict[str, object] = {
        "description": f"Sanal: LDF (ОНХС) bag round, {where}, {rnd.year}",
        "country": "Mongolia",
        "unit": rep.soum.name if rep.soum else rep.bag.name,
        "subunit": rep.bag.name,
        "instance": rnd.year,
        "budget": budget,
        "vote_type": "approval",
        "rule": pb_rule(rule),
        "min_length": 1,
        "max_length": rnd.max_choices,
        "currency": "MNT",
        "language": "mn",
        "comment": _comment(notes),
    }
    rows: list[dict[str, object]] = []
    for ln in sorted(rep.lines, key=lambda x: x.number):
        row: dict[str, object] = {
            "project_id": ln.number,
            "cost": ln.cost_mnt or 0,
            "votes": ln.votes,
            "name": ln.text,
            "beneficiaries": ln.beneficiaries if ln.beneficiaries is not None else "",
        }
        if rule is not None:
            row["selected"] = int(bool(ln.soum_funded))
        rows.append(row)
    return write_pb(meta, rows, votes)


async def soum_pb(conn: Tx, soum_code: str, year: int, min_voters: int = DEFAULT_MIN_VOTERS) -> str:
    """The soum's allocation as open data: every project of the soum list with a cost
    (project ids are the list numbers with four digits, the ids the allocation breaks ties
    by), every ballot of the bags' submitted rounds, the soum's ceiling as the budget, and
    ``selected`` by the rule in force. pabutools on this file and the rule in META funds
    what Sanal shows (tests/soum/test_one_truth.py).

    Refused (:class:`CountsHidden`) when a bag's round had fewer voters than
    ``min_voters``: its projects' ids would tell its few ballots apart."""
    unit = await units.get(conn, soum_code)
    if unit is None or unit.level != "soum":
        raise ReportError(f"no soum with code {soum_code}")
    plan = await build(conn, soum_code, year)
    if plan.ceiling is None:
        raise ReportError(f"soum {soum_code} has no ceiling for {year}: no budget to publish")
    few = sorted(
        {(ln.bag_name, ln.item.voters) for ln in plan.lines if ln.item.voters < min_voters}
    )
    if few:
        bags = ", ".join(f"{name} ({voters} voted)" for name, voters in few)
        raise CountsHidden(
            f"{plan.soum_name} ({soum_code}), {year}: fewer than {min_voters} voted in {bags}: "
            "their ballots would be told apart, so the soum's .pb is not written "
            "(SANAL_MIN_VOTERS_FOR_COUNTS)"
        )
    costed = {pid(ln.item.number) for ln in plan.lines if ln.item.cost_mnt is not None}
    raw = await ballots_of(conn, [ln.item for ln in plan.lines])
    votes = _unlinkable([[p for p in b if p in costed] for b in raw])
    rule = plan.rule_in_force
    aimag = await units.get(conn, unit.parent_code) if unit.parent_code else None
    where = ", ".join(u.name for u in (unit, aimag) if u is not None)
    notes = (
        [RULE_NOTES[rule]]
        if rule
        else ["no allocation rule chosen yet by the soum working group: nothing is selected"]
    )
    if rule and plan.computed_at:
        notes.append(f"selected: the allocation computed {local_iso(plan.computed_at, unit.tz)}")
        if plan.stale:
            notes.append("the inputs changed after this allocation was recorded")
    uncosted = [ln.item.number for ln in plan.lines if ln.item.cost_mnt is None]
    if uncosted:
        notes.append(
            "left out, having no cost estimate (no rule funds them): soum list numbers "
            + ", ".join(str(n) for n in sorted(uncosted))
            + "; the ballots keep their other choices"
        )
    notes.append(
        "soum_rank and soum_score: the working group's ranking and combined score 0-100 "
        "(empty: not fully scored); ballots are sorted by their content, voter ids are "
        "positions"
    )
    rounds_max = [
        r.max_choices
        for r in [await rounds.get(conn, rid) for rid in {ln.item.round_id for ln in plan.lines}]
        if r is not None
    ]
    meta: dict[str, object] = {
        "description": f"Sanal: LDF (ОНХС) soum allocation, {where}, {year}",
        "country": "Mongolia",
        "unit": unit.name,
        "instance": year,
        "budget": plan.ceiling,
        "vote_type": "approval",
        "rule": pb_rule(rule),
        "min_length": 1,
        "max_length": max(rounds_max, default=1),
        "currency": "MNT",
        "language": "mn",
        "comment": _comment(notes),
    }
    rows: list[dict[str, object]] = []
    for ln in sorted(plan.lines, key=lambda x: x.item.number):
        if ln.item.cost_mnt is None:
            continue
        score = ln.combined.score
        row: dict[str, object] = {
            "project_id": pid(ln.item.number),
            "cost": ln.item.cost_mnt,
            "votes": ln.item.votes,
            "name": public_text(ln.item.text),
            "bag": ln.bag_name,
            "beneficiaries": ln.item.beneficiaries if ln.item.beneficiaries is not None else "",
            "soum_rank": ln.rank if score is not None else "",
            "soum_score": f"{float(score * 100):.2f}" if score is not None else "",
        }
        if rule is not None:
            d = ln.decision(rule)
            row["selected"] = int(bool(d and d.funded))
        rows.append(row)
    return write_pb(meta, rows, votes)
