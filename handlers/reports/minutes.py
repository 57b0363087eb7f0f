"""The bag khural's minutes (протокол) as one model, drawn by both the PDF and the DOCX.

What khural minutes carry, in the order they carry it: the title (aimag, soum, bag), the
decision number and budget year, date and place of the meeting, chair and secretary; the
attendance against the quorum; the agenda; the vote on the list (counts only: ballots are
secret); the decision with the governor's confirmation; the signatures. Every text is
taken from the catalogs here, once, in the language asked for, so the two files say the
same thing word for word; the renderers only lay it out (:meth:`Minutes.blocks`).

The quorum statement comes from the confirmation stored at БАТЛАХ (storage/confirmations:
present, required, and whether the governor confirmed below the quorum or before the
meeting). A round not yet confirmed shows the quorum БАТЛАХ would check today
(handlers/khural.quorum); one confirmed before those were stored, the quorum computed
from the citizens registered when voting closed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot.core.clock import day_text, local_text
from bot.core.settings import Settings
from handlers.percent import percent, percent_number
from handlers.reports.data import RoundReport, by_label
from handlers.reports.labels import label
from storage import confirmations
from storage.confirmations import Confirmation, decision_number
from storage.db import Tx

BLANK = "________________"
SIGN_LINE = "______________________"
CAPITAL = "11"  # Ulaanbaatar: a city of districts (дүүрэг), not an aimag of soums


@dataclass(frozen=True, slots=True)
class KhuralFacts:
    """What the minutes need beyond the round's results: the quorum and the confirmation."""

    quorum: int
    registered: int
    confirmation: Confirmation | None


async def khural_facts(conn: Tx, rep: RoundReport, settings: Settings) -> KhuralFacts:
    conf = await confirmations.get(conn, rep.round.id)
    if conf is not None:
        return KhuralFacts(conf.quorum, conf.registered, conf)
    if rep.round.status == "closed":  # not confirmed yet: what БАТЛАХ would check now
        from handlers.khural import quorum

        need, registered = await quorum(conn, settings, rep.bag.code)
        return KhuralFacts(need, registered, None)
    registered = rep.participation.registered  # frozen at the close
    return KhuralFacts(quorum_of(registered, settings), registered, None)


def quorum_of(registered: int, settings: Settings) -> int:
    """handlers/khural.quorum's rule for a given count of registered citizens."""
    if settings.khural_quorum > 0:
        return settings.khural_quorum
    return math.ceil(registered * settings.khural_quorum_share)


# --- what the renderers draw --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Title:
    text: str


@dataclass(frozen=True, slots=True)
class Heading:
    text: str


@dataclass(frozen=True, slots=True)
class Para:
    text: str
    bold: bool = False
    small: bool = False
    label: str = ""  # "Хурлын газар": the value follows the label, the label in bold


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    # Share of the text width of each column; the proposal column wraps.
    widths: tuple[float, ...]
    numeric: tuple[bool, ...]  # right-aligned columns


@dataclass(frozen=True, slots=True)
class Signature:
    role: str
    name: str


@dataclass(frozen=True, slots=True)
class Signatures:
    heading: str
    rows: tuple[Signature, ...]


Block = Title | Heading | Para | Table | Signatures
COLUMNS = ("rank", "number", "proposal", "households", "cost", "votes")
WIDTHS = (0.09, 0.06, 0.47, 0.10, 0.14, 0.14)
NUMERIC = (True, True, False, True, True, True)


@dataclass(frozen=True, slots=True)
class Minutes:
    lang: str
    title: str
    note: str
    facts: tuple[Para, ...]
    attendance: tuple[Para, ...]
    agenda: tuple[str, ...]
    vote: tuple[Para, ...]
    table: Table | None
    no_proposals: str | None
    others: tuple[str, ...]
    decision: tuple[Para, ...]
    signatures: Signatures
    headings: dict[str, str] = field(default_factory=dict)
    # The facts themselves, for whoever reads the model rather than the text.
    decision_number: str = ""
    present: int | None = None
    required: int = 0
    registered: int = 0
    below_quorum: bool = False
    before_meeting: bool = False
    confirmed: bool = False

    def blocks(self) -> list[Block]:
        """The document from top to bottom, as both renderers draw it."""
        h = self.headings
        out: list[Block] = [Title(self.title), Para(self.note, small=True), *self.facts]
        out += [Heading(h["attendance"]), *self.attendance]
        out.append(Heading(h["agenda"]))
        out += [Para(f"{i}. {item}") for i, item in enumerate(self.agenda, start=1)]
        out += [Heading(h["vote"]), *self.vote]
        if self.table is not None:
            out.append(self.table)
        if self.no_proposals:
            out.append(Para(self.no_proposals))
        if self.others:
            out.append(Para(h["others"], bold=True))
            out += [Para(o, small=True) for o in self.others]
        out += [Heading(h["decision"]), *self.decision, self.signatures]
        return out


def minutes_of(rep: RoundReport, facts: KhuralFacts | None, lang: str = "mn") -> Minutes:
    """The minutes of the round's khural in ``lang`` ("mn" or "en"). ``facts`` None: the
    quorum is not known (the figures are left blank for the secretary)."""
    lang = "en" if lang == "en" else "mn"

    def t(key: str, **params: object) -> str:
        return label(f"minutes.{key}", lang, **params)

    zone = ZoneInfo(rep.bag.tz)
    conf = facts.confirmation if facts else None
    number = conf.decision if conf else decision_number(rep.round.year, rep.bag.code)
    present = conf.attendance if conf else rep.attendance
    confirmed = rep.round.status in ("confirmed", "submitted")

    places = [u.name for u in (rep.aimag, rep.soum) if u is not None] + [rep.bag.name]
    facts_lines = (
        Para(", ".join(places), label=t("place_unit")),
        Para(local_text(rep.meeting_at, zone) if rep.meeting_at else BLANK, label=t("date")),
        Para(rep.meeting_place or BLANK, label=t("place")),
        Para(rep.chair or BLANK, label=t("chair")),
        Para(BLANK, label=t("secretary")),
        Para(str(rep.round.year), label=t("year")),
        Para(number, label=t("decision_number")),
    )

    attendance = [Para(str(present) if present is not None else BLANK, label=t("attendance"))]
    below = False
    if facts is not None:
        attendance.append(
            Para(t("quorum_required", quorum=facts.quorum, registered=facts.registered))
        )
        if present is not None:
            below = present < facts.quorum
            key = "quorum_met"
            if below:
                key = "quorum_overridden" if conf and conf.below_quorum else "quorum_short"
            attendance.append(Para(t(key, attendance=present, quorum=facts.quorum), bold=below))

    p = rep.participation
    shown = percent_number(p.turnout)  # the one rounding every report uses
    vote = [Para(t("turnout", voted=p.voted, registered=p.registered, turnout=shown))]
    channels = by_label(dict(p.by_channel))
    if channels:
        counts = ", ".join(f"{name} {n}" for name, n in sorted(channels.items()))
        vote.append(Para(t("channels", channels=counts)))
    vote.append(Para(t("secret"), small=True))
    table = None
    if rep.lines:
        vote.append(Para(t("list_intro")))
        table = Table(
            tuple(t(f"col.{c}") for c in COLUMNS),
            tuple(
                (
                    str(ln.rank),
                    str(ln.number),
                    ln.text,
                    str(ln.beneficiaries) if ln.beneficiaries is not None else "-",
                    f"{ln.cost_mnt:,}" if ln.cost_mnt is not None else "-",
                    f"{ln.votes} ({percent(ln.share)})",
                )
                for ln in rep.lines
            ),
            WIDTHS,
            NUMERIC,
        )
    others = tuple(
        t("other_merged", n=o.number, text=o.text, into=o.note)
        if o.status == "merged"
        else t("other_rejected", n=o.number, text=o.text, reason=o.note or "-")
        if o.status == "rejected"
        else t("other_pending", n=o.number, text=o.text)
        for o in rep.others
    )

    decision = [
        Para(t("decision_title", decision=number), bold=True),
        Para(t("decision", count=len(rep.lines))),
    ]
    early = bool(conf and conf.before_meeting)
    if conf is not None:
        decision.append(Para(t("confirmed", when=local_text(conf.confirmed_at, zone))))
        if early:
            day = day_text(conf.meeting_at, zone) if conf.meeting_at else BLANK
            decision.append(Para(t("before_meeting", when=day), bold=True))
    elif not confirmed:
        decision.append(Para(t("not_confirmed")))

    signatures = Signatures(
        t("sign_heading"),
        (
            Signature(t("sign_chair"), rep.chair or BLANK),
            Signature(t("sign_secretary"), BLANK),
            Signature(t("sign_governor"), rep.governor or BLANK),
        ),
    )
    return Minutes(
        lang=lang,
        title=_title(rep, lang),
        note=t("prepared" if confirmed else "draft"),
        facts=facts_lines,
        attendance=tuple(attendance),
        agenda=(t("agenda_results"), t("agenda_list", year=rep.round.year)),
        vote=tuple(vote),
        table=table,
        no_proposals=None if rep.lines else t("no_proposals"),
        others=others,
        decision=tuple(decision),
        signatures=signatures,
        headings={
            "attendance": t("attendance_heading"),
            "agenda": t("agenda_heading"),
            "vote": t("vote_heading"),
            "others": t("others_heading"),
            "decision": t("decision_heading"),
        },
        decision_number=number,
        present=present,
        required=facts.quorum if facts else 0,
        registered=facts.registered if facts else 0,
        below_quorum=below,
        before_meeting=early,
        confirmed=confirmed,
    )


def _title(rep: RoundReport, lang: str) -> str:
    if rep.aimag is None or rep.soum is None:
        return label("minutes.title_bag", lang, bag=rep.bag.name)
    key = "minutes.title_capital" if rep.aimag.code == CAPITAL else "minutes.title"
    return label(key, lang, aimag=rep.aimag.name, soum=rep.soum.name, bag=rep.bag.name)
