"""Greetings, wishes, thanks and goodbyes with no command in them (Kind.GREETING).

A greeting or a wish gets a kind word and the person's next step in one SMS: a newcomer
how to join, a citizen what the round takes now, a governor where to start. Thanks and
goodbyes get one kind line. Nothing here costs a second SMS.
"""

from __future__ import annotations

from bot.core.grammar.intents import GREETINGS
from handlers import phase
from handlers.context import Context, Text

LEADS = frozenset({"greeting.hello", "greeting.wish"})


async def greeting(ctx: Context) -> None:
    said = ctx.intent.text if ctx.intent.text in GREETINGS else "hello"
    if said in ("thanks", "bye"):
        ctx.reply(f"greeting.{said}")
        return
    phase.reply_led(ctx, Text(f"greeting.{said}"), next_step(await phase.of(ctx)))


def next_step(where: phase.Phase) -> Text:
    """The person's next step, short enough to follow a greeting in one SMS."""
    if where.governs:
        return Text("greeting.step.governor")
    if where.stage == phase.VOTING and where.round is not None:
        return Text("greeting.step.voting", {"k": where.round.max_choices})
    return Text(f"greeting.step.{where.stage}")
