"""Keep the bot token out of every log line and traceback.

The token is part of every Bot API URL (``https://api.telegram.org/bot<token>/sendMessage``)
and httpx logs each request's URL at INFO; python-telegram-bot logs the base URL at DEBUG
and puts the token in an ``InvalidToken`` message. Whoever reads the token can impersonate
the bot, read every herder's messages and votes, so it must never reach a log file.

The filter itself is :mod:`bot.core.log_redact`, which also masks phone numbers and Telegram
ids in every record; the Telegram channel registers its token and webhook secret there.
"""

from __future__ import annotations

from bot.core.log_redact import REDACTED, LogRedactor, install, redact
from bot.core.log_redact import REDACTOR as TOKEN_FILTER

TokenFilter = LogRedactor

__all__ = ["REDACTED", "TOKEN_FILTER", "TokenFilter", "install", "redact"]
