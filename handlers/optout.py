"""STOP said in other words: opt out, or ask once when unsure; the yes/no that follows.

An unsure message ("stop the bridge project", "мессеж их ирээд байна") gets one short
yes/no question instead of a refusal, and the question is remembered (handlers/asked): a
"yes" as the person's very next message, within a day, opts out. A "yes" at any other
time opts nobody out and starts nothing (it is not START).
"""

from __future__ import annotations

from handlers import asked, prefs
from handlers.context import Context
from storage import people


async def stop(ctx: Context) -> None:
    if ctx.intent.error == "stop_unsure":
        await asked.ask(ctx, asked.STOP)
        ctx.reply("optout.ask")
        return
    await prefs.stop(ctx)


async def answered(ctx: Context) -> None:
    """The answer to the opt-out question: yes opts out, no keeps the messages coming."""
    if ctx.intent.text == "yes":
        await people.set_opted_out(ctx.conn, ctx.person.id, True)
        ctx.reply("stop.ok")
    else:
        ctx.reply("optout.kept")
