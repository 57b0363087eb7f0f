"""Citizens propose; everyone in the bag can list the proposals."""

from __future__ import annotations

from handlers.context import Context
from handlers.eligibility import flag_for, flag_label
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


TEXT_LIMITS = (40, 30, 22, 16, 10)


def short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def list_(ctx: Context) -> None:
    rnd = await citizen_round(ctx)
    if rnd is None:
        return
    await reply_list(ctx, rnd, ctx.intent.page)


async def reply_list(ctx: Context, rnd: Round, page: int) -> None:
    shown = await proposals.of_round(ctx.conn, rnd.id, "accepted")
    size = ctx.settings.list_page_size
    pages = max(1, -(-len(shown) // size))
    if not shown:
        ctx.reply("list.empty")
        return
    page = min(max(page, 1), pages)
    # Shorten the proposals' texts until the page fits the SMS budget; the page stays the
    # same size so that "LIST 2" always means the same proposals.
    for limit in TEXT_LIMITS:
        ctx.restart_reply()
        ctx.reply("list.header", page=page, pages=pages)
        for p in shown[(page - 1) * size : page * size]:
            ctx.add("list.item", n=p.number, text=short(p.text, limit))
        if page < pages:
            ctx.add("list.more", next=page + 1)
        elif rnd.status == "voting":
            ctx.add("list.vote_hint", k=rnd.max_choices)
        if ctx.fits():
            return
