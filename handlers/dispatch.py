"""Intent -> handler. Governor words are refused to anyone who does not govern a bag."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.core.grammar.intents import GOVERNOR_KINDS, SOUM_KINDS, Kind
from handlers import (
    answers,
    described,
    fallback,
    governor,
    greetings,
    khural,
    optout,
    prefs,
    proposals,
    questions,
    registration,
    results_word,
    soum,
    telegram_flow,
    voting,
    voting_notice,
)
from handlers import report_request as reports
from handlers.context import Context

CitizenHandler = Callable[[Context], Awaitable[None]]
GovernorHandler = Callable[[Context, str], Awaitable[None]]
SoumHandler = Callable[[Context, str], Awaitable[None]]

CITIZEN: dict[Kind, CitizenHandler] = {
    Kind.JOIN: registration.join,
    Kind.PROPOSE: proposals.propose,
    Kind.LIST: proposals.list_,
    Kind.VOTE: voting.vote,
    Kind.MY: voting.my,
    Kind.HELP: prefs.help_,
    Kind.STOP: optout.stop,  # asks once when unsure
    Kind.START: prefs.start,
    Kind.LANG: prefs.lang,
    Kind.RSVP: khural.rsvp,
    Kind.ANSWER: answers.answer,  # to the question asked last: opt out, or store a proposal
    Kind.QUESTION: questions.question,
    Kind.GREETING: greetings.greeting,
    Kind.DESCRIBED: described.described,
    Kind.UNKNOWN: fallback.not_understood,
    Kind.REPORT: reports.request,  # checks the official's role itself
    # Anyone of the bag after the close, the governor any time (counts only after it).
    Kind.RESULTS: results_word.show,
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
    Kind.CONFIRM: governor.confirm,
    Kind.ADMIT: registration.admit,
    Kind.POLICY: registration.policy,
    Kind.COST: governor.sms_cost,
    Kind.NOTICE: voting_notice.sms_word,
}

# Soum working-group words, refused to anyone who is not a member or operator of a soum.
# Which words are whose is the grammar's (GOVERNOR_KINDS, SOUM_KINDS): these tables only
# say who handles them, and tests/handlers/test_dispatch_tables.py keeps them the same.
SOUM: dict[Kind, SoumHandler] = {
    Kind.SCORE: soum.score,
    Kind.CEILING: soum.ceiling,
    Kind.WEIGHTS: soum.weights,
    Kind.ALLOCATE: soum.allocate,
}


async def dispatch(ctx: Context) -> None:
    if not ctx.inbound.channel.caps.buttons:
        await _dispatch(ctx)
        return
    # A channel with buttons (Telegram) adds a contact gate, keyboards and a button
    # ballot around the same words.
    if not await telegram_flow.before(ctx):
        await _dispatch(ctx)
    await telegram_flow.after(ctx)


async def _dispatch(ctx: Context) -> None:
    kind = ctx.intent.kind
    if kind in SOUM_KINDS:
        soum_code = await soum.soum_of(ctx.conn, ctx.person.id, ctx.person.bag_code)
        if soum_code is None:
            await ctx.audit("refused.soum_word", intent=kind.value)
            ctx.reply("soum.not_allowed")
            return
        await SOUM[kind](ctx, soum_code)
        return
    if kind in GOVERNOR_KINDS:
        bag_code = await ctx.governed_bag()
        if bag_code is None:
            await ctx.audit("refused.governor_word", intent=kind.value)
            ctx.reply("governor.not_allowed")
            return
        await GOVERNOR[kind](ctx, bag_code)
        return
    await CITIZEN.get(kind, fallback.not_understood)(ctx)
