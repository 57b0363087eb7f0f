"""STOP said in other words: opt out, or ask once when unsure; the yes/no that follows.

An unsure message ("stop the bridge project", "мессеж их ирээд байна") gets one short
yes/no question instead of a refusal, and the question is remembered in the audit log
against that message: a "yes" as the person's very next message, within a day, opts out.
A "yes" at any other time opts nobody out and starts nothing (it is not START).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.clock import to_db
from handlers import prefs
from handlers.context import Context
from storage import people
from storage.db import fetchone

ASKED = "asked.stop"
ANSWER_WITHIN = timedelta(days=1)


async def stop(ctx: Context) -> None:
    if ctx.intent.error == "stop_unsure":
        await ctx.audit(ASKED, inbox_id=ctx.inbox_id)
        ctx.reply("optout.ask")
        return
    await prefs.stop(ctx)


async def answer(ctx: Context) -> None:
    if not await _was_asked(ctx):
        # A yes or no to nothing: the help of the person's phase, never START.
        ctx.intent = replace(ctx.intent, text="")
        await prefs.help_(ctx)
        return
    if ctx.intent.text == "yes":
        await people.set_opted_out(ctx.conn, ctx.person.id, True)
        ctx.reply("stop.ok")
    else:
        ctx.reply("optout.kept")


async def _was_asked(ctx: Context) -> bool:
    """Was the person's previous message answered with the opt-out question, lately?"""
    previous = await fetchone(
        ctx.conn,
        "SELECT id FROM inbox WHERE address = ? AND channel = ? AND id < ? "
        "ORDER BY id DESC LIMIT 1",
        (ctx.inbound.address, ctx.channel, ctx.inbox_id),
    )
    if previous is None:
        return False
    asked = await fetchone(
        ctx.conn,
        "SELECT 1 FROM audit_log WHERE action = ? AND actor_id = ? AND at >= ? "
        "AND json_extract(detail, '$.inbox_id') = ? LIMIT 1",
        (ASKED, ctx.person.id, to_db(ctx.now - ANSWER_WITHIN), previous["id"]),
    )
    return asked is not None
