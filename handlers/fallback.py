"""What a message Sanal did not understand gets: the help of the person's phase.

A newcomer is told how to join, a citizen what the round takes now, a governor their
words. "Ойлгосонгүй." leads only when it still fits the one SMS: knowing what to write
next matters more than being told that something went wrong. A recognised word with bad
arguments keeps its own usage reply (its handler's); an empty message its own.
"""

from __future__ import annotations

from handlers import phase
from handlers.context import Context, Text

LEAD = "fallback.lead"


async def not_understood(ctx: Context) -> None:
    if ctx.intent.error == "empty":
        ctx.reply("unknown.empty")
        return
    phase.reply_led(ctx, Text(LEAD), phase.help_text(await phase.of(ctx)))
