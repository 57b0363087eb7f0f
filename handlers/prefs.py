"""Help, STOP/START and the language switch."""

from __future__ import annotations

from handlers import phase
from handlers.context import Context
from storage import people

LANG_NAMES = {"mn": "Монгол (кирилл)", "mn_latn": "Mongol (latin)", "en": "English"}


async def help_(ctx: Context) -> None:
    topic = ctx.intent.text
    if topic:
        ctx.reply(f"help.topic.{topic}" if topic in HELP_TOPICS else "help.general")
        return
    phase.reply_with(ctx, phase.help_text(await phase.of(ctx)))


HELP_TOPICS = frozenset({"join", "propose", "list", "vote", "my", "stop", "lang"})


async def stop(ctx: Context) -> None:
    await people.set_opted_out(ctx.conn, ctx.person.id, True)
    ctx.reply("stop.ok")


async def start(ctx: Context) -> None:
    await people.set_opted_out(ctx.conn, ctx.person.id, False)
    ctx.reply("start.ok")


async def lang(ctx: Context) -> None:
    chosen = ctx.intent.lang
    if chosen not in LANG_NAMES:
        ctx.reply("lang.usage")
        return
    # The router reads the person again after the handler, so this reply is already in
    # the new language.
    await people.set_lang(ctx.conn, ctx.person.id, chosen)
    ctx.reply("lang.ok", name=LANG_NAMES[chosen])
