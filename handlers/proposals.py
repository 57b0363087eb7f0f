"""Citizens propose; everyone in the bag can list the proposals."""

from __future__ import annotations

from handlers.context import Context, Text
from handlers.eligibility import flag_for, flag_label
from handlers.paging import budget, fitted_pages, words_short
from storage import proposals, roles, rounds
from storage.rounds import Round


async def citizen_round(ctx: Context) -> Round | None:
    """The sender's bag's current round, replying with the reason when there is none."""
    person = ctx.person
    if not person.bag_code:
        ctx.reply("join.first")
        return None
    if person.status != "approved":
        ctx.reply("join.pending_wait")
        return None
    rnd = await rounds.current(ctx.conn, person.bag_code)
    if rnd is None:
        ctx.reply("round.none")
        return None
    ctx.round_id = rnd.id
    return rnd


async def propose(ctx: Context) -> None:
    intent = ctx.intent
    if intent.error or not intent.text.strip():
        ctx.reply("propose.usage")
        return
    rnd = await citizen_round(ctx)
    if rnd is None:
        return
    if rnd.status != "collecting":
        ctx.reply("propose.closed")
        return
    flag = flag_for(intent.text)
    p = await proposals.create(
        ctx.conn,
        round_id=rnd.id,
        person_id=ctx.person.id,
        text=intent.text.strip(),
        beneficiaries=intent.beneficiaries,
        cost_mnt=intent.cost_mnt,
        flag=flag,
        now=ctx.now,
    )
    ctx.reply("propose.ok", n=p.number)
    for gov in await roles.holders(ctx.conn, "governor", rnd.bag_code):
        ctx.notify(
            gov.person_id,
            "propose.flagged_notice" if flag else "propose.governor_notice",
            round_id=rnd.id,
            n=p.number,
            text=short(p.text),
            flag=flag_label(flag) if flag else "",
        )


# Characters of a proposal's text in a list row (cut at a word: handlers/paging.py).
ROW_TEXT = 40


def short(text: str, limit: int = 40) -> str:
    """A proposal's text for a notice or a list line, cut at a word (never in a number)."""
    return words_short(text, limit)


async def list_(ctx: Context) -> None:
    rnd = await citizen_round(ctx)
    if rnd is None:
        return
    await reply_list(ctx, rnd, ctx.intent.page)


async def reply_list(ctx: Context, rnd: Round, page: int) -> None:
    shown = await proposals.of_round(ctx.conn, rnd.id, "accepted")
    if not shown:
        ctx.reply("list.empty")
        return
    # Pages of whole rows within this reader's SMS budget (handlers/paging.py): a text is
    # cut at a word, never inside a number, and ЖАГСААЛТ 2 starts where page 1 ended.
    tail = [Text("list.vote_hint", {"k": rnd.max_choices})] if rnd.status == "voting" else []
    pages = fitted_pages(
        lambda n, total: [Text("list.header", {"page": n, "pages": total})],
        lambda limit: [
            Text("list.item", {"n": p.number, "text": words_short(p.text, limit)}) for p in shown
        ],
        lambda nxt: Text("list.more", {"next": nxt}),
        ctx.person.lang,
        budget(ctx.inbound.channel.is_sms, ctx.settings.max_segments),
        first_limit=ROW_TEXT,
        tail=tail,
        max_rows=ctx.settings.list_page_size,
    )
    chosen = pages[min(max(page, 1), len(pages)) - 1]
    ctx.reply(chosen[0].key, **chosen[0].params)
    for part in chosen[1:]:
        ctx.add(part.key, **part.params)
