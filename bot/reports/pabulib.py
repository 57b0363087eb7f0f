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
from fractions import Fraction

from bot.reports.data import round_report
from handlers.allocation import Project, money
from handlers.closing import DEFAULT_MIN_VOTERS
from storage import ballots, proposals
from storage import soum as soum_store
from storage.db import Conn
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


async def round_pb(conn: Conn, rnd: Round, min_voters: int = DEFAULT_MIN_VOTERS) -> str:
    """A closed round as open data. Ballots are sorted by their content and numbered, so
    nothing of a voter is left but what they chose together with everyone else."""
    # Refuses a round still open, and one with too few ballots to publish unlinked.
    rep = await round_report(conn, rnd, min_voters)
    on_ballot = await proposals.of_round(conn, rnd.id, "accepted")
    number_of = {p.id: str(p.number) for p in on_ballot}
    raw = await ballots.anonymous_ballots(conn, rnd.id)
    votes = sorted(
        (sorted((number_of[pid] for pid in b if pid in number_of), key=int) for b in raw),
        key=lambda b: (len(b), [int(n) for n in b]),
    )
    ceiling = await soum_store.ceiling(conn, rep.soum.code, rnd.year) if rep.soum else None
    costs = [ln.cost_mnt or 0 for ln in rep.lines]
    budget = ceiling if ceiling is not None else sum(costs)
    where = ", ".join(u.name for u in (rep.bag, rep.soum, rep.aimag) if u is not None)
    meta: dict[str, object] = {
        "description": f"Sanal: LDF (ОНХС) bag round, {where}, {rnd.year}",
        "country": "Mongolia",
        "unit": rep.soum.name if rep.soum else rep.bag.name,
        "subunit": rep.bag.name,
        "instance": rnd.year,
        "budget": budget,
        "vote_type": "approval",
        "rule": "greedy",
        "min_length": 1,
        "max_length": rnd.max_choices,
        "currency": "MNT",
        "language": "mn",
    }
    if ceiling is None:
        meta["comment"] = "budget: the total cost of the proposals (no soum ceiling set)"
    rows: list[dict[str, object]] = []
    for ln in sorted(rep.lines, key=lambda x: x.number):
        row: dict[str, object] = {
            "project_id": ln.number,
            "cost": ln.cost_mnt or 0,
            "votes": ln.votes,
            "name": ln.text,
            "beneficiaries": ln.beneficiaries if ln.beneficiaries is not None else "",
        }
        if ln.soum_funded is not None:
            row["selected"] = int(ln.soum_funded)
        rows.append(row)
    return write_pb(meta, rows, votes)
