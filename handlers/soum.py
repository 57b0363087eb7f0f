"""The soum LDF working group: bag lists submitted, the ceiling, criteria and weights,
members' scores, and the allocation with the rule chosen. Every action is audited.

Soum words (ОНОО, ХЯЗГААР, ЖИН, ХУВААРИЛАХ) are for the soum's working-group members and
for operators of the soum or above it; anyone else is refused and the refusal audited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from bot.core.channels import capabilities
from bot.core.clock import local_text
from bot.core.message import Button
from bot.core.settings import Settings
from bot.core.sms_segments import count_segments
from handlers.allocation import RULES
from handlers.closing import results
from handlers.context import Context, Notice, Text
from handlers.delivery import compose, queue_for_person, route_for
from handlers.proposals import short
from handlers.reports.labels import criterion_key
from handlers.soum_plan import SCORE_MAX, SCORE_MIN, SoumPlan, build
from storage import audit, people, roles, rounds, soum, units
from storage.db import Tx
from storage.rounds import Round
from storage.soum import AllocationItem, Criterion, ListItem

TEXT_LIMIT = 28


def mln(amount: int | Fraction) -> Text:
    """An amount in millions of MNT, as the catalog writes it ("150 сая₮")."""
    value = Fraction(amount) / 1_000_000
    shown = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return Text("soum.mln", {"x": shown})


def criterion_label(name: str) -> Text:
    return Text(*criterion_key(name))


# --- who may act for which soum -----------------------------------------------------------


async def soum_of(conn: Tx, person_id: int, bag_code: str | None) -> str | None:
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


async def planning_year(conn: Tx, settings: Settings, soum_code: str, now: datetime) -> int:
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
    conn: Tx,
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
    # The soum list grew: an allocation in force is recomputed with the new bag in it.
    await keep_in_force(
        conn, settings, soum_code, rnd.year, now, cause="list",
        actor=actor, channel=channel, actor_id=actor_id, skip_person=skip_person,
    )  # fmt: skip
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
    await _keep(ctx, soum_code, year, "scores")
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
        text=short(item.text, TEXT_LIMIT),
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


async def _keep(ctx: Context, soum_code: str, year: int, cause: str) -> None:
    """After a member's change of the inputs: the rule in force is applied to them."""
    await keep_in_force(
        ctx.conn, ctx.settings, soum_code, year, ctx.now, cause=cause,
        actor=ctx.actor, channel=ctx.channel, actor_id=ctx.person.id,
    )  # fmt: skip


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
    await _keep(ctx, soum_code, year, "ceiling")
    unit = await units.get(ctx.conn, soum_code)
    ctx.reply("ceiling.ok", soum=unit.name if unit else soum_code, year=year, amount=mln(amount))


async def set_weights(
    conn: Tx, soum_code: str, year: int, weights: Sequence[int]
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
    await _keep(ctx, soum_code, year, "weights")
    ctx.reply("weights.ok", year=year)
    _list_weights(ctx, new)


def _list_weights(ctx: Context, crits: Sequence[Criterion]) -> None:
    for c in crits:
        ctx.add("soum.weight_item", name=criterion_label(c.name), w=c.weight)


# --- allocation -----------------------------------------------------------------------------

# Why an allocation was recomputed under the rule in force (soum_allocations.cause, and the
# catalog's alloc.recomputed.<cause>): a bag's list joined the soum list, a member's
# scores, the weights or the ceiling changed, or ХУВААРИЛАХ found the recorded run stale.
CAUSES = ("list", "scores", "weights", "ceiling", "view")


@dataclass(frozen=True, slots=True)
class Recomputed:
    plan: SoumPlan  # the plan as recomputed, with the new run's time
    run_id: int
    changed: bool  # the rule in force now funds other proposals than before
    told: int  # working-group members the notice was queued for


async def _record(
    conn: Tx,
    plan: SoumPlan,
    now: datetime,
    *,
    actor: str,
    actor_id: int | None,
    chosen_rule: str | None,
    chosen_at: datetime | None,
    cause: str,
) -> int:
    """Record every rule's decisions of ``plan`` as one run."""
    assert plan.ceiling is not None
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
    return await soum.record_allocation(
        conn,
        soum_code=plan.soum_code,
        year=plan.year,
        ceiling_mnt=plan.ceiling,
        now=now,
        actor=actor,
        actor_id=actor_id,
        items=items,
        chosen_rule=chosen_rule,
        chosen_at=chosen_at,
        inputs=plan.inputs,
        cause=cause,
    )


async def run_allocation(
    conn: Tx,
    soum_code: str,
    year: int,
    now: datetime,
    *,
    actor: str,
    channel: str,
    actor_id: int | None = None,
    choose: str | None = None,
) -> tuple[SoumPlan, int] | None:
    """Compute every rule, record the run (and the rule chosen) and audit it.

    None when the soum has no ceiling for the year.
    """
    plan = await build(conn, soum_code, year)
    if plan.ceiling is None or any(plan.allocation(rule) is None for rule in RULES):
        return None
    run_id = await _record(
        conn,
        plan,
        now,
        actor=actor,
        actor_id=actor_id,
        chosen_rule=choose,
        chosen_at=now if choose else None,
        cause="chosen" if choose else "view",
    )
    if choose:
        plan = replace(
            plan, rule_in_force=choose, computed_at=now, chosen_at=now, run_id=run_id, stale=False
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


async def keep_in_force(
    conn: Tx,
    settings: Settings,
    soum_code: str,
    year: int,
    now: datetime,
    *,
    cause: str,
    actor: str,
    channel: str,
    actor_id: int | None = None,
    skip_person: int | None = None,
) -> Recomputed | None:
    """The rule in force stays one fact: after any change of the allocation's inputs, call
    this in the same transaction. When a rule is in force and its recorded run no longer
    matches the inputs, the allocation is recomputed under that rule and recorded as a new
    run (same rule, same time chosen, computed now), audited, and, when the funded set
    changed, every working-group member is told. None when nothing was recomputed."""
    if cause not in CAUSES:
        raise ValueError(f"unknown cause {cause!r}")
    plan = await build(conn, soum_code, year)
    rule = plan.rule_in_force
    if rule is None or not plan.stale or plan.ceiling is None:
        return None
    before = await soum.in_force(conn, soum_code, year)
    run_id = await _record(
        conn,
        plan,
        now,
        actor=actor,
        actor_id=actor_id,
        chosen_rule=rule,
        chosen_at=plan.chosen_at,
        cause=cause,
    )
    plan = replace(plan, computed_at=now, run_id=run_id, stale=False)
    funded = plan.funded(rule)
    was = before.funded() if before else frozenset()
    changed = was != {ln.item.proposal_id for ln in funded}
    # SMS costs: the members hear of a recomputation that changes what is funded; one that
    # funds the same proposals is recorded and audited, and the reports show its time.
    told = (
        await _tell_working_group(conn, settings, plan, run_id, cause, now, skip_person)
        if changed
        else 0
    )
    number_of = {ln.item.proposal_id: ln.item.number for ln in plan.lines}
    await audit.record(
        conn,
        now=now,
        actor=actor,
        actor_id=actor_id,
        action="soum.allocate.recompute",
        channel=channel,
        unit_code=soum_code,
        run=run_id,
        replaces=before.id if before else None,
        year=year,
        cause=cause,
        rule=rule,
        ceiling_mnt=plan.ceiling,
        before=sorted(number_of[p] for p in was if p in number_of),
        funded=[ln.item.number for ln in funded],
        changed=changed,
        members_told=told,
    )
    return Recomputed(plan, run_id, changed, told)


def _segments(parts: Sequence[Text], lang: str) -> int:
    return count_segments(compose(parts, lang)).segments


def _funded_parts(plan: SoumPlan, rule: str, key: str) -> list[list[Text]]:
    """The funded set under ``rule`` said two ways: every number, or how many."""
    said = {"rule": Text(f"alloc.rule.{rule}"), "spent": _spent(plan, rule)}
    return [
        [Text(key, {**said, "numbers": _numbers(plan, rule)})],
        [Text(f"{key}_count", {**said, "count": len(plan.funded(rule))})],
    ]


async def _tell_working_group(
    conn: Tx,
    settings: Settings,
    plan: SoumPlan,
    run_id: int,
    cause: str,
    now: datetime,
    skip_person: int | None,
) -> int:
    """Queue the recomputation notice for every working-group member (as the bags' lists
    are announced, soum.submitted_notice): why, the rule, and what it funds now."""
    assert plan.rule_in_force is not None
    why = Text(f"alloc.recomputed.{cause}")
    numbers, count = _funded_parts(plan, plan.rule_in_force, "alloc.funded_now")
    told = 0
    for member in await roles.holders(conn, "soum", plan.soum_code):
        person = await people.get(conn, member.person_id)
        if person is None or person.id == skip_person:
            continue
        parts = [why, *numbers]
        route = route_for(person, settings)
        sms = route is not None and capabilities(route[0]).is_sms
        if sms and _segments(parts, person.lang) > settings.max_segments:
            parts = [why, *count]
        told += await queue_for_person(
            conn,
            settings,
            person,
            parts,
            dedupe_key=f"soum_alloc:{run_id}:{person.id}",
            now=now,
        )
    return told


def _decimal(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):.4f}"


def _numbers(plan: SoumPlan, rule: str) -> str:
    return " ".join(f"№{line.item.number}" for line in plan.funded(rule)) or "-"


def _spent(plan: SoumPlan, rule: str) -> Text:
    alloc = plan.allocation(rule)
    return mln(alloc.spent if alloc else 0)


# The side-by-side, in the order the replies number them (1, 2, 3) and Telegram's buttons.
SHOWN_RULES = ("greedy", "mes", "mes_plain")
BUTTON_WORDS = {"greedy": "GREEDY", "mes": "MES", "mes_plain": "PLAIN"}


async def allocate(ctx: Context, soum_code: str) -> None:
    """ХУВААРИЛАХ: the rules side by side; ХУВААРИЛАХ ЭРЭМБЭ|ТЭГШ|ЭНГИЙН records the rule
    chosen (with its explanation); ХУВААРИЛАХ ТАЙЛБАР explains the rules."""
    if ctx.intent.error:
        ctx.reply("alloc.usage")
        return
    year = await planning_year(ctx.conn, ctx.settings, soum_code, ctx.now)
    if not await soum.soum_list(ctx.conn, soum_code, year):
        ctx.reply("soum.no_list", year=year)
        return
    word = ctx.intent.text or None
    if word == "explain":
        rules = SHOWN_RULES if not ctx.inbound.channel.is_sms else ("greedy", "mes")
        _say(ctx, [[]], [_about(rule) for rule in rules])
        return
    choose = word if word in RULES else None
    if choose is None:
        # A look at the rules also brings a stale allocation in force up to date.
        await keep_in_force(
            ctx.conn, ctx.settings, soum_code, year, ctx.now, cause="view",
            actor=ctx.actor, channel=ctx.channel, actor_id=ctx.person.id,
        )  # fmt: skip
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
    if choose:
        # Every funded number when the SMS has room, else how many and where the list is;
        # the rule's two sentences follow (in a second SMS when they do not fit the first).
        numbers, count = _funded_parts(plan, choose, "alloc.chosen")
        _say(ctx, [numbers, [*count, Text("alloc.where")]], [Text(f"alloc.explain.{choose}")])
        return
    in_force = await _in_force_line(ctx, plan)
    if ctx.inbound.channel.is_sms:
        # Every funded number if it fits, else how many; greedy and equal shares always;
        # the third rule, the pointer to the explanations, the words to choose with (known
        # once a rule is in force) and the rule in force where they fit, given up in that
        # order. The last has room in three segments whatever the list.
        pair = SHOWN_RULES[:2]
        heads = [
            _side_by_side(
                plan, year, rules, numbers=numbers, in_force=now, hint=hint, choose=choose
            )
            for numbers in (True, False)
            for rules, hint, choose, now in (
                (SHOWN_RULES, True, True, in_force),
                (pair, True, True, in_force),
                (pair, False, True, in_force),
                (pair, False, in_force is None, in_force),
                (pair, False, True, None),
            )
        ]
        _say(ctx, heads, [])
    else:  # Telegram: everything, each rule explained under its result, and buttons
        every = _side_by_side(
            plan, year, SHOWN_RULES, numbers=True, in_force=in_force, hint=False, choose=True
        )
        _say(ctx, [every], [_about(rule) for rule in SHOWN_RULES])
        ctx.buttons = (
            tuple(
                Button(str(i), f"ALLOCATE {BUTTON_WORDS[rule]}")
                for i, rule in enumerate(SHOWN_RULES, start=1)
            ),
        )


async def _in_force_line(ctx: Context, plan: SoumPlan) -> Text | None:
    if plan.rule_in_force is None or plan.computed_at is None:
        return None
    unit = await units.get(ctx.conn, plan.soum_code)
    return Text(
        "alloc.in_force",
        {
            "rule": Text(f"alloc.rule.{plan.rule_in_force}"),
            "when": local_text(plan.computed_at, unit.tz if unit else None),
        },
    )


def _side_by_side(
    plan: SoumPlan,
    year: int,
    rules: Sequence[str],
    *,
    numbers: bool,
    in_force: Text | None,
    hint: bool,
    choose: bool,
) -> list[Text]:
    parts = [
        Text(
            "alloc.header",
            {
                "soum": plan.soum_name,
                "year": year,
                "ceiling": mln(plan.ceiling or 0),
                "unscored": plan.unscored,
            },
        )
    ]
    for rule in rules:
        if numbers:
            params: dict[str, object] = {"numbers": _numbers(plan, rule)}
            key = f"alloc.{rule}"
        else:
            params, key = {"count": len(plan.funded(rule))}, f"alloc.{rule}_count"
        parts.append(Text(key, {**params, "spent": _spent(plan, rule)}))
    if not numbers:
        parts.append(Text("alloc.where"))
    if in_force is not None:
        parts.append(in_force)
    if choose:
        parts.append(Text("alloc.choose" if len(rules) == 2 else "alloc.choose3"))
    if hint:
        parts.append(Text("alloc.explain_hint"))
    return parts


def _about(rule: str) -> Text:
    """A rule's two sentences after its number and name in the side-by-side."""
    return Text(f"alloc.about.{rule}", {"text": Text(f"alloc.explain.{rule}")})


def _fits(ctx: Context, parts: Sequence[Text]) -> bool:
    if not ctx.inbound.channel.is_sms:
        return True
    return _segments(parts, ctx.person.lang) <= ctx.settings.max_segments


def _say(ctx: Context, heads: Sequence[Sequence[Text]], tail: Sequence[Text]) -> None:
    """Reply with the first of ``heads`` that fits the SMS budget (the last one if none
    does), then the ``tail`` parts. On SMS a tail part that does not fit goes in a further
    message, whole: a rule's explanation is never cut, nor split from its number."""
    head = list(heads[-1])
    for option in heads:
        if _fits(ctx, option):
            head = list(option)
            break
    messages: list[list[Text]] = [head]
    for part in tail:
        if _fits(ctx, [*messages[-1], part]) or not messages[-1]:
            messages[-1].append(part)
        else:
            messages.append([part])
    first, *more = messages
    ctx.reply(first[0].key, **first[0].params)
    for part in first[1:]:
        ctx.add(part.key, **part.params)
    for parts in more:
        # Sent to the member like a notice, on the channel they wrote from, after the reply.
        ctx.notices.append(Notice(ctx.person.id, tuple(parts)))


# --- scores from a sheet --------------------------------------------------------------------


async def import_scores(
    conn: Tx,
    settings: Settings,
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
    await keep_in_force(
        conn, settings, soum_code, year, now, cause="scores",
        actor=actor, channel=channel, actor_id=person_id,
    )  # fmt: skip
    return stored
