"""ДҮН (RESULTS): the ranked results of the bag's round, a page at a time.

After the close the governor, the khural chair and every registered citizen of the bag may
read every rank (ДҮН, ДҮН 2, ...). While the round is open nobody sees counts, only how
many have voted; with fewer voters than SANAL_MIN_VOTERS_FOR_COUNTS nobody ever does.
Pages are whole rows within the reader's SMS budget (handlers/paging.py).
"""

from __future__ import annotations

from handlers.closing import Results, results, results_pages
from handlers.context import Context
from handlers.paging import budget
from storage import ballots, rounds, units


async def show(ctx: Context) -> None:
    bag_code = await ctx.governed_bag()
    if bag_code is None:
        # Not a governor: the bag the person is an approved member of (the chair is one).
        if not ctx.person.bag_code:
            ctx.reply("join.first")
            return
        if ctx.person.status != "approved":
            ctx.reply("join.pending_wait")
            return
        bag_code = ctx.person.bag_code
    rnd = await rounds.current(ctx.conn, bag_code)
    if rnd is None:
        ctx.reply("round.none")
        return
    ctx.round_id = rnd.id
    if rnd.status in ("collecting", "voting", "draft"):
        # While a round is open nobody sees counts: only how many ballots there are.
        ctx.reply("results.open", ballots=await ballots.count_ballots(ctx.conn, rnd.id))
        return
    res = await results(ctx.conn, rnd, ctx.settings.min_voters_for_counts)
    await reply_page(ctx, res, bag_code, page=ctx.intent.page)


async def reply_page(ctx: Context, res: Results, bag_code: str, page: int) -> None:
    """Reply with one page of the results, built for this reader's script and channel."""
    bag = await units.get(ctx.conn, bag_code)
    pages = results_pages(
        res,
        bag.name if bag else bag_code,
        ctx.person.lang,
        budget(ctx.inbound.channel.is_sms, ctx.settings.max_segments),
    )
    chosen = pages[min(max(page, 1), len(pages)) - 1]
    ctx.reply(chosen[0].key, **chosen[0].params)
    for part in chosen[1:]:
        ctx.add(part.key, **part.params)
