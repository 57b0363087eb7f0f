"""The soum LDF working group: bag lists submitted, the ceiling, criteria and weights,
members' scores, and the allocation with the rule chosen. Every action is audited.

Soum words (ОНОО, ХЯЗГААР, ЖИН, ХУВААРИЛАХ) are for the soum's working-group members and
for operators of the soum or above it; anyone else is refused and the refusal audited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from bot.delivery import queue_for_person
from bot.message import Button
from bot.settings import Settings
from handlers.allocation import RULES
from handlers.closing import results
from handlers.context import Context, Text
from handlers.soum_plan import SoumPlan, build
from storage import audit, people, roles, rounds, soum, units
from storage.db import Conn
from storage.rounds import Round
from storage.soum import AllocationItem, Criterion, ListItem

SCORE_MIN, SCORE_MAX = 1, 5
TEXT_LIMIT = 28


def mln(amount: int | Fraction) -> Text:
    """An amount in millions of MNT, as the catalog writes it ("150 сая₮")."""
    value = Fraction(amount) / 1_000_000
    shown = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return Text("soum.mln", {"x": shown})


def short(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def criterion_label(name: str) -> Text:
    if name in ("importance", "fit", "beneficiaries", "votes"):
        return Text(f"soum.criterion.{name}")
    return Text("soum.criterion.other", {"name": name})


# --- who may act for which soum -----------------------------------------------------------


async def soum_of(conn: Conn, person_id: int, bag_code: str | None) -> str | None:
    """The soum this person acts for: as a working-group member, else as an operator."""
    mine = await roles.of_person(conn, person_id)
    for r in mine:
        if r.role == "soum":
            return r.unit_code
    # Operators of the soum, or of its aimag for the soum they live in. A bag's operator
    # is below the soum and does not act for it (units: aimag 2, soum 4, bag 6 digits).
    for r in mine:
        if r.role != "operator":
            continue
        if len(r.unit_code) == 4:
            return r.unit_code
        if len(r.unit_code) == 2 and bag_code and bag_code.startswith(r.unit_code):
            return bag_code[:4]
    return None


async def planning_year(conn: Conn, settings: Settings, soum_code: str, now: datetime) -> int:
    """The year the soum is working on: its newest list, else the next planning year."""
    year = await soum.latest_year(conn, soum_code)
    if year is not None:
        return year
    unit = await units.get(conn, soum_code)
    tz = ZoneInfo(unit.tz if unit else "Asia/Ulaanbaatar")
    return now.astimezone(tz).year + settings.planning_year_offset


# --- a bag's confirmed list goes to the soum ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Submitted:
    soum_code: str
    numbers: list[int]
    members: int


async def submit_round(
    conn: Conn,
    settings: Settings,
    rnd: Round,
    now: datetime,
    *,
    actor: str,
    channel: str,
    actor_id: int | None = None,
    skip_person: int | None = None,
) -> Submitted | None:
    """Move a confirmed round to 'submitted': its ranked list joins the soum list and every
    working-group member of the soum is told. None if it was not confirmed (done already)."""
    if not await rounds.advance(conn, rnd.id, "confirmed", now):
        return None
    bag = await units.get(conn, rnd.bag_code)
    soum_code = bag.parent_code if bag and bag.parent_code else rnd.bag_code[:4]
    res = await results(conn, rnd)
    numbers = [
        await soum.add_to_list(
            conn,
            soum_code=soum_code,
            year=rnd.year,
            proposal_id=r.proposal.id,
            round_id=rnd.id,
            bag_rank=r.rank,
            votes=r.votes,
            voters=res.participation.voted,
            now=now,
        )
        for r in res.ranked
    ]
    members = await roles.holders(conn, "soum", soum_code)
    told = 0
    if numbers:
        parts = [
            Text(
                "soum.submitted_notice",
                {
                    "bag": bag.name if bag else rnd.bag_code,
                    "year": rnd.year,
                    "count": len(numbers),
                    "first": min(numbers),
                    "last": max(numbers),
                },
            )
        ]
        for m in members:
            person = await people.get(conn, m.person_id)
            if person is None or person.id == skip_person:
                continue
            told += await queue_for_person(
                conn,
                settings,
                person,
                parts,
                dedupe_key=f"soum_submit:{rnd.id}:{person.id}",
                now=now,
                round_id=rnd.id,
            )
    await audit.record(
        conn,
        now=now,
        actor=actor,
        actor_id=actor_id,
        action="round.submit",
        channel=channel,
        unit_code=rnd.bag_code,
        round_id=rnd.id,
        soum=soum_code,
        proposals=len(numbers),
        members_told=told,
    )
    return Submitted(soum_code, numbers, len(members))


# --- scoring --------------------------------------------------------------------------------


def _member_criteria(criteria: Sequence[Criterion]) -> list[Criterion]:
    return [c for c in criteria if c.source == "member"]


async def score(ctx: Context, soum_code: str) -> None:
    """ОНОО: alone, the next proposal this member has not scored; with numbers, the list
    number and one score 1-5 per member criterion, in order.

    A member's score of a proposal is stored whole: with fewer numbers than criteria the
    reply asks for the next one (carrying those typed, as Telegram's buttons do) and
    nothing is stored, so a half-typed score never moves the combined score."""
    conn = ctx.conn
    year = await planning_year(conn, ctx.settings, soum_code, ctx.now)
    crits = _member_criteria(await soum.criteria(conn, soum_code, year))
    numbers = list(ctx.intent.numbers)
    if not numbers:
        await _next_to_score(ctx, soum_code, year, crits)
        return
    number, values = numbers[0], numbers[1:]
    item = await soum.list_item(conn, soum_code, year, number)
    if item is None:
        ctx.reply("score.unknown", n=number)
        return
    if len(values) > len(crits):
        ctx.reply("score.too_many", k=len(crits), usage=_usage(crits, number))
        return
    if any(not SCORE_MIN <= v <= SCORE_MAX for v in values):
        ctx.reply("score.bad_value", usage=_usage(crits, number))
        return
    if len(values) < len(crits):
        _ask(ctx, item, crits, values)
        return
    for c, v in zip(crits, values, strict=True):
        await soum.set_score(
            conn,
            proposal_id=item.proposal_id,
            person_id=ctx.person.id,
            criterion=c.name,
            value=v,
            via="message",
            now=ctx.now,
        )
    given = {c.name: v for c, v in zip(crits, values, strict=True)}
    await ctx.audit("soum.score", unit_code=soum_code, number=number, year=year, **given)
    plan = await build(conn, soum_code, year)
    line = next(x for x in plan.lines if x.item.proposal_id == item.proposal_id)
    shown = line.combined.score
    ctx.reply(
        "score.ok",
        n=number,
        given=" ".join(map(str, values)),
        combined=round(float(shown * 100)) if shown is not None else "-",
        members=line.combined.members,
    )
    await _offer_next(ctx, soum_code, year, crits, after_reply=True)


def _usage(crits: Sequence[Criterion], number: int | str = 12) -> str:
    return f"{number} " + " ".join("1-5" for _ in crits)


def _ask(ctx: Context, item: ListItem, crits: Sequence[Criterion], given: Sequence[int]) -> None:
    """Ask for the next criterion of one proposal; Telegram gets buttons 1..5."""
    nxt = crits[len(given)]
    prefix = " ".join(str(v) for v in [item.number, *given])
    ctx.reply(
        "score.ask",
        n=item.number,
        text=short(item.text),
        cost=mln(item.cost_mnt) if item.cost_mnt is not None else "-",
        criterion=criterion_label(nxt.name),
        example=f"{prefix} 4",
    )
    ctx.buttons = (
        tuple(Button(str(v), f"SCORE {prefix} {v}") for v in range(SCORE_MIN, SCORE_MAX + 1)),
    )


async def _unscored(
    ctx: Context, soum_code: str, year: int, crits: Sequence[Criterion]
) -> list[ListItem]:
    items = await soum.soum_list(ctx.conn, soum_code, year)
    mine: dict[int, set[str]] = {}
    for s in await soum.scores(ctx.conn, soum_code, year):
        if s.person_id == ctx.person.id:
            mine.setdefault(s.proposal_id, set()).add(s.criterion)
    names = {c.name for c in crits}
    return [i for i in items if not names <= mine.get(i.proposal_id, set())]


async def _next_to_score(
    ctx: Context, soum_code: str, year: int, crits: Sequence[Criterion]
) -> None:
    items = await soum.soum_list(ctx.conn, soum_code, year)
    if not items:
        ctx.reply("soum.no_list", year=year)
        return
    await _offer_next(ctx, soum_code, year, crits, after_reply=False)


async def _offer_next(
    ctx: Context, soum_code: str, year: int, crits: Sequence[Criterion], *, after_reply: bool
) -> None:
    todo = await _unscored(ctx, soum_code, year, crits)
    if not todo:
        if after_reply:
            ctx.add("score.all_done")
        else:
            ctx.reply("score.all_done")
        return
    item = todo[0]
    if after_reply:
        ctx.add("score.next", n=item.number, left=len(todo))
        return
    _ask(ctx, item, crits, [])
    ctx.add("score.left", left=len(todo), usage=_usage(crits, item.number))


# --- ceiling and weights ------------------------------------------------------------------


async def ceiling(ctx: Context, soum_code: str) -> None:
    """ХЯЗГААР 150 сая: the soum's LDF ceiling for the planning year (or the year typed)."""
    amount = ctx.intent.cost_mnt
    if ctx.intent.error or amount is None or amount <= 0:
        ctx.reply("ceiling.usage")
        return
    year = ctx.intent.year or await planning_year(ctx.conn, ctx.settings, soum_code, ctx.now)
    await soum.set_ceiling(ctx.conn, soum_code, year, amount, ctx.person.id, ctx.now)
    await ctx.audit("soum.ceiling", unit_code=soum_code, year=year, amount_mnt=amount)
    unit = await units.get(ctx.conn, soum_code)
    ctx.reply("ceiling.ok", soum=unit.name if unit else soum_code, year=year, amount=mln(amount))


async def set_weights(
    conn: Conn, soum_code: str, year: int, weights: Sequence[int]
) -> tuple[Criterion, ...] | None:
    """New weights for the soum's criteria, in their order; None if the count differs."""
    current = await soum.criteria(conn, soum_code, year)
    if len(weights) != len(current) or any(w < 0 for w in weights) or sum(weights) == 0:
        return None
    new = tuple(
        Criterion(c.name, c.source, c.position, w) for c, w in zip(current, weights, strict=True)
    )
    await soum.set_criteria(conn, soum_code, year, new)
    return new


async def weights(ctx: Context, soum_code: str) -> None:
    """ЖИН 3 3 2 2: the criteria's weights, in order (importance, fit, beneficiaries, votes)."""
    year = await planning_year(ctx.conn, ctx.settings, soum_code, ctx.now)
    current = await soum.criteria(ctx.conn, soum_code, year)
    if ctx.intent.error or not ctx.intent.numbers:
        ctx.reply("weights.show", year=year, k=len(current))
        _list_weights(ctx, current)
        return
    new = await set_weights(ctx.conn, soum_code, year, list(ctx.intent.numbers))
    if new is None:
        ctx.reply("weights.usage", k=len(current))
        _list_weights(ctx, current)
        return
    await ctx.audit(
        "soum.weights", unit_code=soum_code, year=year, **{c.name: c.weight for c in new}
    )
    ctx.reply("weights.ok", year=year)
    _list_weights(ctx, new)


def _list_weights(ctx: Context, crits: Sequence[Criterion]) -> None:
    for c in crits:
        ctx.add("soum.weight_item", name=criterion_label(c.name), w=c.weight)


# --- allocation -----------------------------------------------------------------------------


async def run_allocation(
    conn: Conn,
    soum_code: str,
    year: int,
    now: datetime,
    *,
    actor: str,
    channel: str,
    actor_id: int | None = None,
    choose: str | None = None,
) -> tuple[SoumPlan, int] | None:
    """Compute both rules, record the run (and the rule chosen) and audit it.

    None when the soum has no ceiling for the year.
    """
    plan = await build(conn, soum_code, year)
    if plan.ceiling is None or any(plan.allocation(rule) is None for rule in RULES):
        return None
    items: list[AllocationItem] = []
    for line in plan.lines:
        for rule in RULES:
            decision, reason = line.decision(rule), line.reason(rule)
            items.append(
                AllocationItem(
                    rule,
                    line.item.proposal_id,
                    decision.position if decision else 0,
                    bool(decision and decision.funded),
                    reason,
                    _decimal(decision.money_left) if decision else None,
                    _decimal(line.combined.score * 100)
                    if line.combined.score is not None
                    else None,
                )
            )
    run_id = await soum.record_allocation(
        conn,
        soum_code=soum_code,
        year=year,
        ceiling_mnt=plan.ceiling,
        now=now,
        actor=actor,
        actor_id=actor_id,
        items=items,
        chosen_rule=choose,
    )
    await audit.record(
        conn,
        now=now,
        actor=actor,
        actor_id=actor_id,
        action="soum.allocate.choose" if choose else "soum.allocate",
        channel=channel,
        unit_code=soum_code,
        run=run_id,
        year=year,
        ceiling_mnt=plan.ceiling,
        rule=choose,
        greedy=[line.item.number for line in plan.funded("greedy")],
        mes=[line.item.number for line in plan.funded("mes")],
        mes_plain=[line.item.number for line in plan.funded("mes_plain")],
    )
    return plan, run_id


def _decimal(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):.4f}"


def _numbers(plan: SoumPlan, rule: str) -> str:
    return " ".join(f"№{line.item.number}" for line in plan.funded(rule)) or "-"


def _spent(plan: SoumPlan, rule: str) -> Text:
    alloc = plan.allocation(rule)
    return mln(alloc.spent if alloc else 0)


async def allocate(ctx: Context, soum_code: str) -> None:
    """ХУВААРИЛАХ: both rules side by side; ХУВААРИЛАХ ЭРЭМБЭ|ТЭГШ records the rule chosen."""
    if ctx.intent.error:
        ctx.reply("alloc.usage")
        return
    year = await planning_year(ctx.conn, ctx.settings, soum_code, ctx.now)
    if not await soum.soum_list(ctx.conn, soum_code, year):
        ctx.reply("soum.no_list", year=year)
        return
    choose = ctx.intent.text or None
    done = await run_allocation(
        ctx.conn,
        soum_code,
        year,
        ctx.now,
        actor=ctx.actor,
        channel=ctx.channel,
        actor_id=ctx.person.id,
        choose=choose,
    )
    if done is None:
        ctx.reply("alloc.no_ceiling")
        return
    plan, _ = done
    # Every funded number when the SMS has room; else how many, and where the list is
    # (an SMS cut at its segment budget would lose the second rule without a word).
    for numbers in (True, False):
        ctx.restart_reply()
        if choose:
            _chosen(ctx, plan, choose, numbers=numbers)
        else:
            _side_by_side(ctx, plan, year, numbers=numbers)
        if ctx.fits():
            break
    if not choose:
        ctx.buttons = ((Button("1", "ALLOCATE GREEDY"), Button("2", "ALLOCATE MES")),)


def _chosen(ctx: Context, plan: SoumPlan, rule: str, *, numbers: bool) -> None:
    name = Text(f"alloc.rule.{rule}")
    if numbers:
        ctx.reply("alloc.chosen", rule=name, numbers=_numbers(plan, rule),
                  spent=_spent(plan, rule))  # fmt: skip
        return
    ctx.reply("alloc.chosen_count", rule=name, count=len(plan.funded(rule)),
              spent=_spent(plan, rule))  # fmt: skip
    ctx.add("alloc.where")


def _side_by_side(ctx: Context, plan: SoumPlan, year: int, *, numbers: bool) -> None:
    ctx.reply(
        "alloc.header",
        soum=plan.soum_name,
        year=year,
        ceiling=mln(plan.ceiling or 0),
        unscored=plan.unscored,
    )
    for rule in ("greedy", "mes"):
        if numbers:
            ctx.add(f"alloc.{rule}", numbers=_numbers(plan, rule), spent=_spent(plan, rule))
        else:
            ctx.add(f"alloc.{rule}_count", count=len(plan.funded(rule)), spent=_spent(plan, rule))
    if not numbers:
        ctx.add("alloc.where")
    ctx.add("alloc.choose")


# --- scores from a sheet --------------------------------------------------------------------


async def import_scores(
    conn: Conn,
    soum_code: str,
    year: int,
    person_id: int,
    rows: Mapping[int, Mapping[str, int]],
    now: datetime,
    *,
    actor: str,
    channel: str,
) -> int:
    """Store a member's scores read from a score sheet: {list number: {criterion: 1..5}}.

    Raises ValueError naming the first bad line; nothing is stored then (the caller's
    transaction rolls back).
    """
    crits = {c.name for c in _member_criteria(await soum.criteria(conn, soum_code, year))}
    stored = 0
    for number, values in sorted(rows.items()):
        item = await soum.list_item(conn, soum_code, year, number)
        if item is None:
            raise ValueError(f"№{number} is not on the soum list of {year}")
        for name, value in values.items():
            if name not in crits:
                raise ValueError(f"№{number}: unknown criterion {name!r}")
            if not SCORE_MIN <= value <= SCORE_MAX:
                raise ValueError(f"№{number}: {name} must be 1-5, not {value}")
            await soum.set_score(
                conn,
                proposal_id=item.proposal_id,
                person_id=person_id,
                criterion=name,
                value=value,
                via="xlsx",
                now=now,
            )
            stored += 1
    await audit.record(
        conn,
        now=now,
        actor=actor,
        actor_id=person_id,
        action="soum.score.import",
        channel=channel,
        unit_code=soum_code,
        year=year,
        scores=stored,
    )
    return stored
