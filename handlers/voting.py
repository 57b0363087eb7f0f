"""Approval ballots: up to k proposal numbers; the last ballot before the close counts."""

from __future__ import annotations

from handlers import described
from handlers.context import Context
from handlers.proposals import citizen_round
from storage import ballots, proposals, units
from storage.rounds import Round


async def vote(ctx: Context) -> None:
    if await described.propose_by_vote_words(ctx):
        return  # "санал өгөх гэсэн юм. Худаг..." while proposals are collected
    intent = ctx.intent
    if intent.error or not intent.numbers:
        # A newcomer who wants to vote must join first: the join help, not how to vote.
        ctx.reply("vote.usage" if ctx.person.bag_code else "help.new")
        return
    rnd = await citizen_round(ctx)
    if rnd is None:  # in no bag, not yet approved, or the bag has no round: audited
        # (never the numbers: the audit log is read by officials)
        await ctx.audit("refused.vote", reason=ctx.reply_parts[0].key)
        return
    # A ballot sent after the deadline does not count, even if the close has not run yet;
    # one sent before it counts however late it is handled: the scheduler's close waits
    # for it while it is pending in the inbox (scheduler/sweeps.py, CLOSE_WAITS_AT_MOST).
    late = rnd.vote_until is not None and ctx.inbound.received_at > rnd.vote_until
    if rnd.status != "voting" or late:
        ctx.reply("vote.not_open" if rnd.status == "collecting" else "vote.closed")
        await ctx.audit(
            "refused.vote", unit_code=rnd.bag_code, round_id=rnd.id, reason=ctx.reply_parts[0].key
        )
        return
    if await voted_elsewhere(ctx, rnd):
        return
    numbers = list(dict.fromkeys(intent.numbers))
    if len(numbers) > rnd.max_choices:
        ctx.reply("vote.too_many", k=rnd.max_choices, given=len(numbers))
        return
    on_ballot = {p.number: p for p in await proposals.of_round(ctx.conn, rnd.id, "accepted")}
    unknown = [n for n in numbers if n not in on_ballot]
    if unknown:
        ctx.reply("vote.unknown_number", numbers=" ".join(map(str, unknown)))
        return
    already = await ballots.has_voted(ctx.conn, rnd.id, ctx.person.id)
    if already and not rnd.allow_change:
        ctx.reply("vote.no_change")
        return
    await ballots.cast(
        ctx.conn,
        ctx.ballot_key,
        round_id=rnd.id,
        person_id=ctx.person.id,
        channel=ctx.inbound.channel.value,
        proposal_ids=[on_ballot[n].id for n in numbers],
    )
    # The reply repeats the choice only to the voter, on the voter's own channel.
    ctx.reply("vote.changed" if already else "vote.ok", numbers=" ".join(map(str, numbers)))


async def voted_elsewhere(ctx: Context, rnd: Round) -> bool:
    """One ballot per person per planning year: someone who voted in another bag's round
    of the same year (then moved bags) is told so, kindly; True when refused."""
    other = await ballots.voted_in_year(ctx.conn, ctx.person.id, rnd.year, rnd.id)
    if other is None:
        return False
    bag = await units.get(ctx.conn, other)
    ctx.reply("vote.other_bag", year=rnd.year, bag=bag.name if bag else other)
    await ctx.audit("refused.vote", unit_code=rnd.bag_code, round_id=rnd.id, reason="other_bag")
    return True


async def my(ctx: Context) -> None:
    rnd = await citizen_round(ctx)
    if rnd is None:
        return
    chosen_ids = set(await ballots.choices_of(ctx.conn, ctx.ballot_key, rnd.id, ctx.person.id))
    if not chosen_ids:
        ctx.reply("my.none" if rnd.status == "voting" else "my.none_closed")
        return
    numbers = [p.number for p in await proposals.of_round(ctx.conn, rnd.id) if p.id in chosen_ids]
    ctx.reply("my.ballot", numbers=" ".join(map(str, numbers)))
