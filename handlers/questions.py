"""Questions get answers from the person's bag round, never a refusal (Kind.QUESTION).

"Хурал хэзээ болох вэ?", "санал хэзээ дуусах вэ", "дүн гарсан уу", "яаж санал гаргах вэ":
each topic (bot.grammar.intents.QUESTION_TOPICS) is answered in one short SMS from what
the round says now: the khural meeting's time and place, the deadline of the stage the
round is in, whether results are out, how to do a thing at this stage. A newcomer is told
how to join first; officials get the same answers about the bag they govern.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.core.clock import deadline_text, local_text
from bot.core.grammar.intents import QUESTION_TOPICS
from handlers import phase
from handlers.context import Context, Text
from handlers.phase import COLLECTING, NEW, NO_ROUND, OVER, PENDING, VOTING, Phase
from storage import meetings, units

DEADLINES = frozenset({"collect_until", "vote_until", "deadline"})


async def question(ctx: Context) -> None:
    topic = ctx.intent.text if ctx.intent.text in QUESTION_TOPICS else "general"
    where = await phase.of(ctx)
    if where.round is not None:
        ctx.round_id = where.round.id
    if topic == "general":
        phase.reply_with(ctx, phase.help_text(where))
    elif topic == "what":
        ctx.reply("question.what")
    elif topic == "how_join":
        await _how_join(ctx, where)
    elif where.stage == NEW:
        # Everything else is about a bag's round: first the bag.
        ctx.reply("question.join_meeting" if topic.startswith("meeting") else "question.join")
    elif topic.startswith("meeting"):
        await _meeting(ctx, where)
    elif topic in DEADLINES:
        phase.reply_with(ctx, await _deadline(ctx, where, topic))
    elif where.stage == PENDING:
        # Results, proposing and voting wait for the governor's approval.
        ctx.reply("join.pending_wait")
    elif topic == "results":
        ctx.reply(_results(where))
    elif topic == "how_propose":
        phase.reply_with(ctx, _how_propose(where))
    else:
        assert topic == "how_vote", topic
        phase.reply_with(ctx, _how_vote(where))


async def _zone(ctx: Context, where: Phase) -> ZoneInfo:
    bag = await units.get(ctx.conn, where.bag_code or "")
    return ZoneInfo(bag.tz if bag else "Asia/Ulaanbaatar")


async def _meeting(ctx: Context, where: Phase) -> None:
    meeting = await meetings.current(ctx.conn, where.round.id) if where.round else None
    if meeting is None:
        done = where.round is not None and where.round.status in ("confirmed", "submitted")
        ctx.reply("question.round_over" if done else "question.meeting_none")
        return
    # Printed as the governor typed it (ХУРАЛ 2027-04-10 14:00), in the bag's time.
    when = local_text(meeting.starts_at, await _zone(ctx, where))
    if meeting.starts_at <= ctx.now:
        ctx.reply("question.meeting_held", when=when, place=meeting.place)
        return
    main = Text("question.meeting", {"when": when, "place": meeting.place})
    if where.stage == PENDING:  # only approved citizens can say they will come
        phase.reply_with(ctx, main)
        return
    # "Ирэх бол ИРНЭ" when it still fits the one SMS (a long place name leaves it out).
    parts = [main, Text("remind.meeting_rsvp")]
    ctx.reply(main.key, **main.params)
    if phase.one_segment(ctx, parts):
        ctx.add("remind.meeting_rsvp")


async def _deadline(ctx: Context, where: Phase, topic: str) -> Text:
    rnd = where.round
    if rnd is None or where.round_stage == NO_ROUND:
        return Text("question.no_round")
    if where.round_stage == OVER:
        return Text("question.round_over")
    tz = (await _zone(ctx, where)).key
    if where.round_stage == COLLECTING:
        if topic == "vote_until":
            if rnd.vote_until is None:
                return Text("question.vote_not_yet")
            return Text("question.vote_later", {"until": deadline_text(rnd.vote_until, tz)})
        if rnd.collect_until is None:
            return Text("question.collect_open")
        return Text("question.collect_until", {"until": deadline_text(rnd.collect_until, tz)})
    assert where.round_stage == VOTING
    if topic == "collect_until":
        if rnd.vote_until is None:
            return Text("question.collect_over")
        return Text("question.collect_over_vote", {"until": deadline_text(rnd.vote_until, tz)})
    if rnd.vote_until is None:
        return Text("question.vote_open")
    return Text("question.vote_until", {"until": deadline_text(rnd.vote_until, tz)})


def _results(where: Phase) -> str:
    if where.stage == OVER:
        return "question.results_out"
    if where.stage in (COLLECTING, VOTING):
        return "question.results_not_yet"
    return "question.results_none"


def _how_propose(where: Phase) -> Text:
    if where.stage == COLLECTING:
        return Text("question.how_propose")
    if where.stage == VOTING:
        return Text("question.propose_over_vote")
    if where.stage == OVER:
        return Text("question.propose_over")
    return Text("question.no_round")


def _how_vote(where: Phase) -> Text:
    if where.stage == VOTING and where.round is not None:
        return Text("help.voting", {"k": where.round.max_choices})
    if where.stage == COLLECTING:
        return Text("question.how_vote_later")
    if where.stage == OVER:
        return Text("question.round_over")
    return Text("question.no_round")


async def _how_join(ctx: Context, where: Phase) -> None:
    if where.stage == NEW:
        ctx.reply("help.new")
        return
    if where.stage == PENDING:
        ctx.reply("join.pending_wait")
        return
    bag = await units.get(ctx.conn, where.bag_code or "")
    soum = await units.get(ctx.conn, bag.parent_code or "") if bag else None
    ctx.reply(
        "question.joined",
        bag=bag.name if bag else where.bag_code,
        soum=soum.name if soum else "",
    )
