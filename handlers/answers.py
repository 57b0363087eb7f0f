"""A bare yes or no (Kind.ANSWER): the answer to the question Sanal asked last.

Which question it was is remembered against the message it was asked about
(handlers/asked): the opt-out question (handlers/optout), "store this as a proposal?"
(handlers/described) or a governor's БАТЛАХ warned about (handlers/governor). A yes or no
to nothing (asked long ago, answered already, or never asked) changes nothing: it gets the
help of the person's phase, and is never START.
"""

from __future__ import annotations

from handlers import asked, described, governor, optout, phase
from handlers.context import Context


async def answer(ctx: Context) -> None:
    question = await asked.last(ctx)
    if question is None:
        phase.reply_with(ctx, phase.help_text(await phase.of(ctx)))
    elif question.question == asked.STOP:
        await optout.answered(ctx)
    elif question.question == asked.CONFIRM:
        await governor.confirm_answered(ctx, question)
    else:
        await described.answered(ctx, question)
