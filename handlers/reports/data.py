"""What reports show, gathered from storage: counts and texts only, never a voter.

Every report is built from these dataclasses, so what a report can contain is decided here:
proposals (texts with phone-like numbers masked), votes per proposal, ranks, officials'
names, participation counts. No phone number, no person id of a citizen, no ballot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.closing import CHANNEL_LABELS, DEFAULT_MIN_VOTERS, results
from handlers.soum_plan import PlanLine, SoumPlan, build
from handlers.tally import Participation, Ranked
from storage import ballots, meetings, people, proposals, roles, rounds, soum, units
from storage.db import Tx
from storage.proposals import Proposal
from storage.rounds import Round
from storage.units import Unit

OPEN_STATUSES = ("draft", "collecting", "voting")
# A phone number written inside a proposal ("call 9911 2233"): masked in every report.
_PHONE_LIKE = re.compile(r"(?:\+?976[\s-]?)?(?<!\d)\d{4}[\s-]?\d{4}(?!\d)")


class ReportError(ValueError):
    """A report that cannot be made (unknown unit, no round, counts still hidden)."""


# Control characters an SMS or a Telegram message may carry: XML (XLSX) cannot hold them,
# fonts have no glyph for them (the chart and the PDF); nobody meant them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class CountsHidden(ReportError):
    """Too few voted: the counts would be their ballots (Settings.min_voters_for_counts)."""


def public_text(text: str) -> str:
    """A proposal's text as reports show it: phone-like numbers masked, no control
    characters."""
    return _PHONE_LIKE.sub("••••", " ".join(_CONTROL.sub("", text).split()))


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)


def by_label(by_channel: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for ch, n in by_channel.items():
        out[channel_label(ch)] = out.get(channel_label(ch), 0) + n
    return out


@dataclass(frozen=True, slots=True)
class RoundLine:
    rank: int
    number: int
    text: str
    beneficiaries: int | None
    cost_mnt: int | None
    votes: int
    share: float
    flag: str | None
    soum_number: int | None = None
    soum_funded: bool | None = None  # by the soum's rule in force, once one is chosen


@dataclass(frozen=True, slots=True)
class OtherProposal:
    number: int
    text: str
    status: str  # pending | rejected | merged
    note: str  # the reason, or the number it was merged into


@dataclass(frozen=True, slots=True)
class RoundReport:
    round: Round
    bag: Unit
    soum: Unit | None
    aimag: Unit | None
    lines: list[RoundLine]
    others: list[OtherProposal]
    participation: Participation
    meeting_at: datetime | None  # local time of the bag
    meeting_place: str | None
    chair: str | None  # names of officials, never phone numbers
    governor: str | None
    proposals_total: int
    # The soum's allocation the lines' soum_funded come from (handlers.soum_plan): the rule
    # in force (None: no rule chosen yet, or the list is not at the soum), when it was
    # computed, and whether the recorded run is stale (inputs changed, not yet recomputed).
    rule_in_force: str | None = None
    computed_at: datetime | None = None
    allocation_stale: bool = False

    @property
    def attendance(self) -> int | None:
        return self.round.attendance

    @property
    def title(self) -> str:
        return f"{self.bag.name}, {self.round.year}"


async def find_round(conn: Tx, bag_code: str, year: int | None = None) -> Round:
    bag = await units.get(conn, bag_code)
    if bag is None or bag.level != "bag":
        raise ReportError(f"no bag with code {bag_code}")
    if year is None:
        rnd = await rounds.current(conn, bag_code)
    else:
        rnd = await rounds.of_year(conn, bag_code, year)
    if rnd is None:
        raise ReportError(
            f"{bag.name} ({bag_code}) has no round" + (f" for {year}" if year else "")
        )
    return rnd


async def _official_name(conn: Tx, role: str, bag_code: str) -> str | None:
    for holder in await roles.holders(conn, role, bag_code):
        if holder.name:
            return holder.name
    return None


async def round_report(conn: Tx, rnd: Round, min_voters: int = DEFAULT_MIN_VOTERS) -> RoundReport:
    """The round's results for reports. Refused while the round is open (counts hidden),
    and when fewer than ``min_voters`` voted (:class:`CountsHidden`)."""
    if rnd.status in OPEN_STATUSES:
        raise ReportError(
            f"round {rnd.id} is still {rnd.status}: counts are hidden until it closes"
        )
    bag = await units.get(conn, rnd.bag_code)
    if bag is None:
        raise ReportError(f"no bag with code {rnd.bag_code}")
    soum_unit = await units.get(conn, bag.parent_code) if bag.parent_code else None
    aimag = (
        await units.get(conn, soum_unit.parent_code)
        if soum_unit and soum_unit.parent_code
        else None
    )
    res = await results(conn, rnd, min_voters)
    if res.counts_hidden:
        raise CountsHidden(
            f"{bag.name} ({bag.code}), {rnd.year}: only {res.participation.voted} voted, "
            f"fewer than {min_voters}: counts are not shown, to keep ballots secret "
            "(SANAL_MIN_VOTERS_FOR_COUNTS)"
        )
    on_list, plan = await _soum_numbers(conn, rnd)
    lines = [_line(r, on_list) for r in res.ranked]
    everything = await proposals.of_round(conn, rnd.id)
    number_of = {p.id: p.number for p in everything}
    others = [
        OtherProposal(
            p.number,
            public_text(p.text),
            p.status,
            str(number_of.get(p.merged_into or 0, ""))
            if p.status == "merged"
            else public_text(p.reason or ""),
        )
        for p in everything
        if p.status != "accepted"
    ]
    meeting = await meetings.current(conn, rnd.id)
    return RoundReport(
        rnd,
        bag,
        soum_unit,
        aimag,
        lines,
        others,
        res.participation,
        meeting.starts_at.astimezone(ZoneInfo(bag.tz)) if meeting else None,
        meeting.place if meeting else None,
        await _official_name(conn, "chair", bag.code),
        await _official_name(conn, "governor", bag.code),
        len(everything),
        plan.rule_in_force if plan else None,
        plan.computed_at if plan else None,
        plan.stale if plan else False,
    )


def _line(r: Ranked, on_list: dict[int, tuple[int, bool | None]]) -> RoundLine:
    p: Proposal = r.proposal
    number, funded = on_list.get(p.id, (None, None))
    return RoundLine(
        r.rank,
        p.number,
        public_text(p.text),
        p.beneficiaries,
        p.cost_mnt,
        r.votes,
        r.share,
        p.flag,
        number,
        funded,
    )


async def _soum_numbers(
    conn: Tx, rnd: Round
) -> tuple[dict[int, tuple[int, bool | None]], SoumPlan | None]:
    """proposal id -> (soum list number, funded by the rule in force or None), and the
    soum's plan they come from: the same computation as the soum's own report, so a bag's
    report, its .pb and the soum's XLSX never disagree on what is funded."""
    listed = await soum.list_of_round(conn, rnd.id)
    if listed is None:
        return {}, None
    plan = await build(conn, *listed)
    out: dict[int, tuple[int, bool | None]] = {}
    for line in plan.lines:
        if line.item.round_id != rnd.id:
            continue
        funded: bool | None = None
        if plan.rule_in_force is not None:
            d = line.decision(plan.rule_in_force)
            funded = bool(d and d.funded)
        out[line.item.proposal_id] = (line.item.number, funded)
    return out, plan


# --- participation for the annual performance assessment -----------------------------------


@dataclass(frozen=True, slots=True)
class ParticipationRow:
    code: str
    name: str
    level: str  # bag | soum | aimag
    year: int
    round_status: str  # "-" when the bag had no round that year
    registered: int
    voted: int
    proposals: int
    accepted: int
    by_channel: dict[str, int]  # SMS / Telegram -> voters

    @property
    def turnout(self) -> float:
        return self.voted / self.registered if self.registered else 0.0


async def participation(
    conn: Tx, unit_code: str, year: int, progress: object | None = None
) -> list[ParticipationRow]:
    """One row per bag under the unit (a soum or an aimag), then one per soum, then the total.

    ``registered`` is the bag's approved citizens when its round closed, today's count
    before that (people are not kept per year). ``progress`` is a callable told the
    number of bags done (a progress bar).
    """
    unit = await units.get(conn, unit_code)
    if unit is None:
        raise ReportError(f"no unit with code {unit_code}")
    if unit.level == "bag":
        parent = await units.get(conn, unit.parent_code or "")
        soums = [parent] if parent else []
        bags_of = {parent.code if parent else "": [unit]}
    elif unit.level == "soum":
        soums = [unit]
        bags_of = {unit.code: await units.children(conn, unit.code)}
    else:
        soums = await units.children(conn, unit.code)
        bags_of = {s.code: await units.children(conn, s.code) for s in soums}
    out: list[ParticipationRow] = []
    for s in soums:
        bag_rows = []
        for bag in bags_of.get(s.code, []):
            bag_rows.append(await _bag_row(conn, bag, year))
            if callable(progress):
                progress(1)
        out.extend(bag_rows)
        out.append(_total(s.code, s.name, "soum", year, bag_rows))
    if unit.level == "aimag":
        out.append(
            _total(unit.code, unit.name, "aimag", year, [r for r in out if r.level == "soum"])
        )
    return out


async def _bag_row(conn: Tx, bag: Unit, year: int) -> ParticipationRow:
    registered = await people.count_registered(conn, bag.code)
    rnd = await rounds.of_year(conn, bag.code, year)
    if rnd is not None and rnd.registered_at_close is not None:
        registered = rnd.registered_at_close  # frozen at the close (migration 0010)
    if rnd is None:
        return ParticipationRow(bag.code, bag.name, "bag", year, "-", registered, 0, 0, 0, {})
    counts = await proposals.counts(conn, rnd.id)
    return ParticipationRow(
        bag.code,
        bag.name,
        "bag",
        year,
        rnd.status,
        registered,
        await ballots.count_ballots(conn, rnd.id),
        counts.total,
        counts.accepted,
        by_label(await ballots.turnout_by_channel(conn, rnd.id)),
    )


def _total(
    code: str, name: str, level: str, year: int, rows: list[ParticipationRow]
) -> ParticipationRow:
    channels: dict[str, int] = {}
    for r in rows:
        for ch, n in r.by_channel.items():
            channels[ch] = channels.get(ch, 0) + n
    return ParticipationRow(
        code,
        name,
        level,
        year,
        "-",
        sum(r.registered for r in rows),
        sum(r.voted for r in rows),
        sum(r.proposals for r in rows),
        sum(r.accepted for r in rows),
        channels,
    )


# --- the soum ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberScores:
    label: str  # the member's name, or "№<n>" (never a phone number)
    scores: dict[int, dict[str, int]]  # soum list number -> criterion -> 1..5


@dataclass(frozen=True, slots=True)
class SoumReport:
    plan: SoumPlan
    aimag: Unit | None
    participation: list[ParticipationRow]
    members: list[MemberScores]
    chosen_rule: str | None  # the rule in force (plan.rule_in_force); None: none chosen
    chosen_at: datetime | None  # when it was chosen; plan.computed_at: when last computed
    # A bag round with fewer voters than this shows no votes, share or bag rank.
    min_voters: int = DEFAULT_MIN_VOTERS
    tz: str = "Asia/Ulaanbaatar"  # the soum's zone: times are shown in it

    @property
    def lines(self) -> list[PlanLine]:
        return self.plan.lines


def bag_counts_hidden(line: PlanLine, min_voters: int = DEFAULT_MIN_VOTERS) -> bool:
    """Whether a soum list line's votes (and its rank in its bag, made of them) would give
    its bag's few ballots away (handlers.closing.Results.counts_hidden)."""
    return line.item.voters < min_voters


async def soum_report(
    conn: Tx, soum_code: str, year: int, min_voters: int = DEFAULT_MIN_VOTERS
) -> SoumReport:
    unit = await units.get(conn, soum_code)
    if unit is None or unit.level != "soum":
        raise ReportError(f"no soum with code {soum_code}")
    plan = await build(conn, soum_code, year)
    members: list[MemberScores] = []
    for i, person_id in enumerate(plan.members, start=1):
        person = await people.get(conn, person_id)
        scores: dict[int, dict[str, int]] = {}
        for line in plan.lines:
            mine = line.member_scores.get(person_id)
            if mine:
                scores[line.item.number] = dict(mine)
        members.append(MemberScores(person.name if person and person.name else f"№{i}", scores))
    return SoumReport(
        plan,
        await units.get(conn, unit.parent_code) if unit.parent_code else None,
        await participation(conn, soum_code, year),
        members,
        plan.rule_in_force,
        plan.chosen_at,
        min_voters,
        unit.tz,
    )
