"""Intent -> handler. Governor words are refused to anyone who does not govern a bag."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.grammar.intents import Kind
from handlers import governor, khural, prefs, proposals, registration, voting
from handlers.context import Context

CitizenHandler = Callable[[Context], Awaitable[None]]
GovernorHandler = Callable[[Context, str], Awaitable[None]]

CITIZEN: dict[Kind, CitizenHandler] = {
    Kind.JOIN: registration.join,
    Kind.PROPOSE: proposals.propose,
    Kind.LIST: proposals.list_,
    Kind.VOTE: voting.vote,
    Kind.MY: voting.my,
    Kind.HELP: prefs.help_,
    Kind.STOP: prefs.stop,
    Kind.START: prefs.start,
    Kind.LANG: prefs.lang,
    Kind.RSVP: khural.rsvp,
}

GOVERNOR: dict[Kind, GovernorHandler] = {
    Kind.OPEN: governor.open_round,
    Kind.PENDING: governor.pending,
    Kind.ACCEPT: governor.accept,
    Kind.REJECT: governor.reject,
    Kind.MERGE: governor.merge,
    Kind.FLAG: governor.flag,
    Kind.VOTING: governor.voting,
    Kind.MEETING: khural.schedule,
    Kind.CLOSE: governor.close,
    Kind.RESULTS: governor.show_results,
    Kind.CONFIRM: governor.confirm,
    Kind.ADMIT: registration.admit,
    Kind.POLICY: registration.policy,
}


async def dispatch(ctx: Context) -> None:
    kind = ctx.intent.kind
    if kind in GOVERNOR:
        bag_code = await ctx.governed_bag()
        if bag_code is None:
            await ctx.audit("refused.governor_word", intent=kind.value)
            ctx.reply("governor.not_allowed")
            return
        await GOVERNOR[kind](ctx, bag_code)
        return
    handler = CITIZEN.get(kind)
    if handler is None:
        ctx.reply("unknown.empty" if ctx.intent.error == "empty" else "unknown.text")
        return
    await handler(ctx)
