"""Keep the bot token out of every log line and traceback.

The token is part of every Bot API URL (``https://api.telegram.org/bot<token>/sendMessage``)
and httpx logs each request's URL at INFO; python-telegram-bot logs the base URL at DEBUG
and puts the token in an ``InvalidToken`` message. Whoever reads the token can impersonate
the bot, read every herder's messages and votes, so it must never reach a log file.

A filter on one logger does not see records of its children, and handlers added later
(``logging.basicConfig`` after us, pytest's capture) would miss a handler filter; so the
filter runs in the log record factory, on every record of every logger, at its creation.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

REDACTED = "<telegram-token>"


class TokenFilter(logging.Filter):
    """Replaces every registered secret in a record's message, arguments and traceback."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def add(self, *secrets: str) -> None:
        with self._lock:
            # Short strings would redact ordinary words; a bot token is 40+ characters.
            self._secrets = self._secrets | {s for s in secrets if len(s) >= 8}

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report
            message = str(record.msg)
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set: format the traceback once, clean.
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


TOKEN_FILTER = TokenFilter()
_installed = False
_install_lock = threading.Lock()


def install(*secrets: str) -> TokenFilter:
    """Redact these secrets from every log record from now on (idempotent)."""
    global _installed
    TOKEN_FILTER.add(*secrets)
    with _install_lock:
        if not _installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                TOKEN_FILTER.filter(record)
                return record

            logging.setLogRecordFactory(factory)
            _installed = True
    return TOKEN_FILTER


def redact(text: str) -> str:
    return TOKEN_FILTER.redact(text)
