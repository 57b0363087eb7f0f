"""Telegram's command menu: citizens' commands for everyone, a bag governor's added for them.

Telegram shows the menu set for the narrowest scope that applies: a governor's own chat gets
its own menu (BotCommandScopeChat), set when Sanal starts and again when a governor links
their phone in Telegram, so the words they need are one tap away there too.
"""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeChat

from bot.core.texts import render

# The commands shown in Telegram's menu; each is a word the parser already knows.
COMMANDS = ("start", "join", "propose", "list", "vote", "my", "help", "lang", "stop")
# A governor's words that make sense alone: the rest take numbers and are typed.
GOVERNOR_COMMANDS = ("pending", "meeting", "close", "results", "cost", "report")


def menu(lang: str, governor: bool = False) -> list[BotCommand]:
    """The menu in ``lang`` (Mongolian for anything but English: Telegram shows Cyrillic)."""
    lang = "en" if lang == "en" else "mn"
    names = COMMANDS + (GOVERNOR_COMMANDS if governor else ())
    return [BotCommand(c, render(f"telegram.cmd.{c}", lang)) for c in names]


async def register_commands(bot: Bot) -> None:
    """The citizens' menu in Mongolian (the default and "mn") and in English."""
    for language_code, lang in ((None, "mn"), ("mn", "mn"), ("en", "en")):
        await bot.set_my_commands(menu(lang), language_code=language_code)


async def set_governor_menu(bot: Bot, chat_id: int, lang: str) -> None:
    """A governor's chat: the citizens' commands and theirs, in their language."""
    await bot.set_my_commands(menu(lang, governor=True), scope=BotCommandScopeChat(chat_id))
