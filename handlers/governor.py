"""The bag governor's words: open, review proposals, move to voting, close, results,
record the khural's confirmation. Every action is checked against the role and audited."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.clock import day_text, deadline_text
from bot.core.grammar.intents import Kind
from bot.core.grammar.structured import intent_of
from bot.core.message import Button
from bot.core.texts import render
from handlers import asked, results_word, soum, voting_notice
from handlers import report_request as reports
from handlers.closing import close_round
from handlers.context import Context, Text
from handlers.deadlines import deadline_at
from handlers.eligibility import flag_label
from handlers.proposals import short
from storage import confirmations, inbox, meetings, outbox, proposals, rounds
from storage.places import bag_zone
from storage.proposals import Proposal
from storage.rounds import Round


def end_of_day(day: date, tz: str, now: datetime) -> datetime:
    """A deadline typed as a date means the end of that day in the bag's time zone.

    The parser gives year 1 for a date typed without a year: take its next occurrence.
    """
    zone = ZoneInfo(tz)
    if day.year == 1:
        local_today = now.astimezone(zone).date()
        day = day.replace(year=local_today.year)
        if day < local_today:
            day = day.replace(year=local_today.year + 1)
    return datetime.combine(day + timedelta(days=1), time(0, 0), zone)


async def open_round(ctx: Context, bag_code: str) -> None:
    tz = (await bag_zone(ctx.conn, bag_code)).key
    rnd = await rounds.current(ctx.conn, bag_code)
    if rnd is not None and rnd.status in ("draft", "collecting", "voting"):
        # The state as words people read ("санал авч байна"), never the database's "collecting".
        ctx.reply("round.already_open", status=Text(f"report.state.{rnd.status}"))
        return
    year = ctx.now.astimezone(ZoneInfo(tz)).year + ctx.settings.planning_year_offset
    if rnd is not None and rnd.year >= year:
        year = rnd.year + 1
    intent = ctx.intent
    collect = deadline_at(intent.collect_until, intent.collect_time, tz, ctx.now)
    vote = deadline_at(intent.vote_until, intent.vote_time, tz, ctx.now)
    if _refused(ctx, tz, collect, vote):
        return
    new = await rounds.create(
        ctx.conn,
        bag_code=bag_code,
        year=year,
        now=ctx.now,
        max_choices=ctx.settings.max_choices,
        allow_change=ctx.settings.allow_ballot_change,
        collect_until=collect,
        vote_until=vote,
    )
    ctx.round_id = new.id
    await ctx.audit("round.open", unit_code=bag_code, round_id=new.id, year=year)
    if collect is None:
        ctx.reply("round.opened_no_date", year=year)
    else:
        ctx.reply("round.opened", year=year, until=deadline_text(collect, tz))


def _refused(ctx: Context, tz: str, *deadlines: datetime | None) -> bool:
    """Refuse, with one reply, a deadline already past or a vote deadline that comes no
    later than the proposals deadline (collect first, then vote)."""
    for when in deadlines:
        if when is not None and when <= ctx.now:
            ctx.reply("round.past_deadline", when=deadline_text(when, tz))
            return True
    collect, vote = (*deadlines, None, None)[:2]
    if collect is not None and vote is not None and vote <= collect:
        ctx.reply("round.vote_before_collect", collect=deadline_text(collect, tz))
        return True
    return False


async def round_in(ctx: Context, bag_code: str, *statuses: str) -> Round | None:
    """The bag's current round if it is in one of ``statuses`` (any, if none given);
    otherwise None, with the reply that says why, the round's stage in words."""
    rnd = await rounds.current(ctx.conn, bag_code)
    if rnd is None:
        ctx.reply("round.none")
        return None
    ctx.round_id = rnd.id
    if statuses and rnd.status not in statuses:
        ctx.reply("round.wrong_state", status=Text(f"report.state.{rnd.status}"))
        return None
    return rnd


async def pending(ctx: Context, bag_code: str) -> None:
    rnd = await round_in(ctx, bag_code)
    if rnd is None:
        return
    waiting = await proposals.of_round(ctx.conn, rnd.id, "pending")
    if not waiting:
        ctx.reply("pending.none")
        return
    ctx.reply("pending.header", count=len(waiting))
    for p in waiting[: ctx.settings.list_page_size]:
        ctx.add(
            "pending.flagged_item" if p.flag else "pending.item",
            n=p.number,
            text=short(p.text),
            flag=flag_label(p.flag) if p.flag else "",
        )


async def _proposal(ctx: Context, rnd: Round, number: int) -> Proposal | None:
    found = await proposals.by_number(ctx.conn, rnd.id, number)
    if found is None:
        # Numbers are per round: another bag's number means nothing here. Audited, as a
        # governor trying numbers that are not theirs should show.
        await ctx.audit(
            "refused.unknown_proposal", unit_code=rnd.bag_code, round_id=rnd.id, number=number
        )
        ctx.reply("proposal.unknown", n=number)
    return found


async def accept(ctx: Context, bag_code: str) -> None:
    if ctx.intent.error or not ctx.intent.numbers:
        ctx.reply("accept.usage")
        return
    rnd = await round_in(ctx, bag_code, "collecting", "voting")
    if rnd is None:
        return
    found: list[Proposal] = []
    for n in dict.fromkeys(ctx.intent.numbers):
        p = await _proposal(ctx, rnd, n)
        if p is None:
            return
        found.append(p)
    done = []  # every number now on the ballot, including ones accepted before
    for p in found:
        if p.status == "merged":
            continue
        done.append(p.number)
        if p.status in ("pending", "rejected"):
            await proposals.set_status(ctx.conn, p.id, "accepted")
            await ctx.audit("proposal.accept", unit_code=bag_code, round_id=rnd.id, number=p.number)
            if p.person_id is not None:
                ctx.notify(
                    p.person_id, "accept.notice", round_id=rnd.id, n=p.number, text=short(p.text)
                )
    ctx.reply("accept.ok", numbers=" ".join(map(str, done)) or "-")


async def reject(ctx: Context, bag_code: str) -> None:
    if ctx.intent.error or not ctx.intent.numbers:
        ctx.reply("reject.usage")
        return
    rnd = await round_in(ctx, bag_code, "collecting", "voting")
    if rnd is None:
        return
    p = await _proposal(ctx, rnd, ctx.intent.numbers[0])
    if p is None:
        return
    if p.status == "merged":
        ctx.reply("proposal.merged", n=p.number)
        return
    reason = ctx.intent.text.strip() or "-"
    await proposals.set_status(ctx.conn, p.id, "rejected", reason=reason)
    await ctx.audit(
        "proposal.reject", unit_code=bag_code, round_id=rnd.id, number=p.number, reason=reason
    )
    for person_id in await proposals.supporters(ctx.conn, p.id):
        ctx.notify(
            person_id,
            "reject.notice",
            round_id=rnd.id,
            n=p.number,
            text=short(p.text),
            reason=reason if ctx.intent.text.strip() else Text("reject.no_reason"),
        )
    ctx.reply("reject.ok", n=p.number)


async def merge(ctx: Context, bag_code: str) -> None:
    nums = ctx.intent.numbers
    if ctx.intent.error or len(nums) != 2 or nums[0] == nums[1]:
        ctx.reply("merge.usage")
        return
    rnd = await round_in(ctx, bag_code, "collecting")
    if rnd is None:
        return
    src = await _proposal(ctx, rnd, nums[0])
    if src is None:
        return
    dst = await _proposal(ctx, rnd, nums[1])
    if dst is None:
        return
    if src.status == "merged" or dst.status in ("merged", "rejected"):
        ctx.reply("merge.usage")
        return
    await proposals.set_status(ctx.conn, src.id, "merged", merged_into=dst.id)
    if dst.status == "pending":
        await proposals.set_status(ctx.conn, dst.id, "accepted")
    moved = await proposals.move_supporters(ctx.conn, src.id, dst.id)
    await ctx.audit(
        "proposal.merge", unit_code=bag_code, round_id=rnd.id, number=src.number, into=dst.number
    )
    for person_id in set(moved) | set(await proposals.supporters(ctx.conn, dst.id)):
        ctx.notify(
            person_id,
            "merge.notice",
            round_id=rnd.id,
            n=src.number,
            into=dst.number,
            text=short(dst.text),
        )
    ctx.reply("merge.ok", n=src.number, into=dst.number)


async def flag(ctx: Context, bag_code: str) -> None:
    if ctx.intent.error or not ctx.intent.numbers:
        ctx.reply("flag.usage")
        return
    rnd = await round_in(ctx, bag_code)
    if rnd is None:
        return
    p = await _proposal(ctx, rnd, ctx.intent.numbers[0])
    if p is None:
        return
    reason = ctx.intent.text.strip() or "60.3"
    await proposals.set_flag(ctx.conn, p.id, reason)
    await ctx.audit(
        "proposal.flag", unit_code=bag_code, round_id=rnd.id, number=p.number, reason=reason
    )
    ctx.reply("flag.ok", n=p.number)


async def voting(ctx: Context, bag_code: str) -> None:
    rnd = await round_in(ctx, bag_code, "collecting")
    if rnd is None:
        return
    on_ballot = await proposals.of_round(ctx.conn, rnd.id, "accepted")
    if not on_ballot:
        ctx.reply("voting.empty")
        return
    tz = (await bag_zone(ctx.conn, bag_code)).key
    until = deadline_at(ctx.intent.vote_until, ctx.intent.vote_time, tz, ctx.now)
    if _refused(ctx, tz, until):
        return
    if until is not None:
        await rounds.set_deadlines(ctx.conn, rnd.id, vote_until=until)
    await rounds.advance(ctx.conn, rnd.id, "collecting", ctx.now)
    fresh = await rounds.get(ctx.conn, rnd.id)
    assert fresh is not None
    await ctx.audit("round.voting", unit_code=bag_code, round_id=rnd.id, proposals=len(on_ballot))
    ctx.reply("voting.ok", count=len(on_ballot), until=deadline_text(fresh.vote_until, tz))
    await voting_notice.on_voting(ctx, fresh)  # citizens told; the reply says at what cost


async def close(ctx: Context, bag_code: str) -> None:
    rnd = await round_in(ctx, bag_code, "voting")
    if rnd is None:
        return
    res = await close_round(
        ctx.conn,
        ctx.settings,
        rnd,
        ctx.now,
        actor=ctx.actor,
        channel=ctx.channel,
        actor_id=ctx.person.id,
        skip_person=ctx.person.id,
    )
    if res is None:  # closed by the scheduler a moment ago
        ctx.reply("round.wrong_state", status=Text("report.state.closed"))
        return
    await results_word.reply_page(ctx, res, bag_code, page=1)
    await reports.attach_chart(ctx, rnd.id)  # Telegram: the results chart as a document


@dataclass(frozen=True, slots=True)
class KhuralCheck:
    """What БАТЛАХ is checked against: the quorum Sanal computes (handlers/khural.quorum,
    the figure ХУРАЛ shows) and the meeting's date in the bag's time zone."""

    attendance: int
    quorum: int
    registered: int
    meeting_at: datetime | None
    meeting_day: date | None  # the meeting's date, local to the bag

    @property
    def below_quorum(self) -> bool:
        return self.attendance < self.quorum

    def before_meeting(self, now: datetime, zone: ZoneInfo) -> bool:
        return self.meeting_day is not None and now.astimezone(zone).date() < self.meeting_day


async def confirm(ctx: Context, bag_code: str) -> None:
    """БАТЛАХ 64: the khural confirmed the list, 64 present. Below the quorum or before the
    meeting's date the governor is warned and nothing changes, until БАТЛАХ 64 ТИЙМ (or
    "тийм" as the next message, or the Telegram button) confirms it explicitly; the
    minutes then say so (storage/confirmations)."""
    if ctx.intent.error or not ctx.intent.numbers:
        ctx.reply("confirm.usage")
        return
    rnd = await round_in(ctx, bag_code, "closed")
    if rnd is None:
        return
    from handlers.khural import quorum  # khural imports this module

    attendance = ctx.intent.numbers[0]
    zone = await bag_zone(ctx.conn, bag_code)
    need, registered = await quorum(ctx.conn, ctx.settings, bag_code)
    meeting = await meetings.current(ctx.conn, rnd.id)
    check = KhuralCheck(
        attendance,
        need,
        registered,
        meeting.starts_at if meeting else None,
        meeting.starts_at.astimezone(zone).date() if meeting else None,
    )
    early = check.before_meeting(ctx.now, zone)
    if (check.below_quorum or early) and ctx.intent.text != "yes":
        await _warn(ctx, rnd, check, early, zone)
        return
    await rounds.set_attendance(ctx.conn, rnd.id, attendance)
    await rounds.advance(ctx.conn, rnd.id, "closed", ctx.now)
    recorded = await confirmations.record(
        ctx.conn,
        round_id=rnd.id,
        bag_code=bag_code,
        year=rnd.year,
        attendance=attendance,
        quorum=check.quorum,
        registered=check.registered,
        meeting_at=check.meeting_at,
        below_quorum=check.below_quorum,
        before_meeting=early,
        now=ctx.now,
        person_id=ctx.person.id,
    )
    await ctx.audit(
        "round.confirm",
        unit_code=bag_code,
        round_id=rnd.id,
        attendance=attendance,
        quorum=check.quorum,
        registered=check.registered,
        below_quorum=check.below_quorum,
        before_meeting=early,
        decision=recorded.decision,
    )
    ctx.reply("confirm.ok", attendance=attendance)
    # The confirmed list goes to the soum at once; its working group is told.
    confirmed = await rounds.get(ctx.conn, rnd.id)
    assert confirmed is not None
    sent = await soum.submit_round(
        ctx.conn,
        ctx.settings,
        confirmed,
        ctx.now,
        actor=ctx.actor,
        channel=ctx.channel,
        actor_id=ctx.person.id,
    )
    if sent is not None:
        ctx.add("soum.submitted", count=len(sent.numbers), members=sent.members)


async def _warn(ctx: Context, rnd: Round, check: KhuralCheck, early: bool, zone: ZoneInfo) -> None:
    """One short reply: present against required, or the meeting's date; the words (and on
    Telegram the button) that confirm anyway. Asked, so that a bare "тийм" answers it."""
    await ctx.audit(
        "round.confirm_warned",
        unit_code=rnd.bag_code,
        round_id=rnd.id,
        attendance=check.attendance,
        quorum=check.quorum,
        registered=check.registered,
        below_quorum=check.below_quorum,
        before_meeting=early,
    )
    await asked.ask(ctx, asked.CONFIRM)
    day = day_text(check.meeting_at, zone) if check.meeting_at else ""
    params = {"attendance": check.attendance, "quorum": check.quorum, "when": day}
    if check.below_quorum and early:
        ctx.reply("confirm.both", **params)
    elif check.below_quorum:
        ctx.reply("confirm.below_quorum", **params)
    else:
        ctx.reply("confirm.before_meeting", **params)
    if ctx.inbound.channel.caps.buttons:  # one tap instead of the words
        label = render("telegram.btn.confirm_anyway", ctx.person.lang)
        ctx.buttons = ((Button(label, f"CONFIRM {check.attendance} YES"),),)


async def confirm_answered(ctx: Context, question: asked.Asked) -> None:
    """The yes or no to the warning of БАТЛАХ: a yes confirms the attendance asked about,
    with every check of БАТЛАХ again (the round may have moved on meanwhile)."""
    row = await inbox.get(ctx.conn, question.inbox_id)
    earlier = intent_of(row.message.text, row.message.extra) if row else None
    if ctx.intent.text != "yes" or earlier is None or earlier.kind is not Kind.CONFIRM:
        ctx.reply("confirm.not_confirmed")
        return
    bag_code = await ctx.governed_bag()
    if bag_code is None:
        await ctx.audit("refused.governor_word", intent=Kind.CONFIRM.value)
        ctx.reply("governor.not_allowed")
        return
    ctx.intent = replace(earlier, text="yes")
    await confirm(ctx, bag_code)


async def sms_cost(ctx: Context, bag_code: str) -> None:
    """ЗАРДАЛ: the SMS the bag's current round has cost so far, and the bag's total."""
    rnd = await rounds.current(ctx.conn, bag_code)
    total = await outbox.sms_cost(ctx.conn, bag_code=bag_code)
    this = await outbox.sms_cost(ctx.conn, round_id=rnd.id) if rnd is not None else []
    ctx.reply(
        "cost.round",
        messages=sum(c.messages for c in this),
        segments=sum(c.segments for c in this),
    )
    ctx.add(
        "cost.bag",
        messages=sum(c.messages for c in total),
        segments=sum(c.segments for c in total),
    )
