"""Keep secrets and people's numbers out of every log line and traceback.

What must never reach a log file, whoever reads it later:

* secrets: the Telegram bot token (part of every Bot API URL, which httpx logs at INFO;
  python-telegram-bot puts it in an ``InvalidToken`` message) and the webhook secret;
  whoever reads the token can impersonate the bot and read every herder's messages;
* phone numbers: with ``-v`` the twilio library logs each request's URL and query
  (``GET .../Messages.json?To=%2B97699112233`` when a send is reconciled); an access log
  writes the simulator page's ``GET /api/sim/messages?phone=99112233``; an exception's
  text may carry an address (``tel:+976...``). Beside the times and outbox ids of the
  same log, a number tells who wrote when;
* Telegram ids (``telegram:123456789``, ``chat_id=...``): they name a person as well.

Secrets are replaced by ``<telegram-token>``, numbers by ``<phone>`` and ``<id>``. Masking
is by pattern, so it errs on the side of masking: any run of nine or more digits, any
eight digits standing alone (a Mongolian number), ``+`` and seven or more digits.

A filter on one logger does not see records of its children, and handlers added later
(``logging.basicConfig`` after us, pytest's capture) would miss a handler filter; so the
filter runs in the log record factory, on every record of every logger, at its creation.
It formats each message with its arguments once, masks the text, and keeps it with no
arguments; a traceback is formatted once and masked too.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

REDACTED = "<telegram-token>"
PHONE = "<phone>"
ID = "<id>"

# Digits not inside a word or a decimal number: "SM0123456789abcdef" (a Twilio sid) and
# "0.123456789" keep theirs; "call 99112233." does not.
_ALONE_BEFORE = r"(?<!\w)(?<!\d\.)"
_ALONE_AFTER = r"(?!\w|\.\d)"
_PERSONAL = re.compile(
    # A Telegram id after a name that says so: keep the name, mask the number.
    r"(?P<named>(?:telegram:|chat_id\W{0,3}|user_id\W{0,3}|['\"]id['\"]:\s?))-?\d{5,}"
    # E.164, also URL-encoded (+ is %2B in a query string)...
    r"|(?P<phone>(?:\+|%2[Bb])\d{7,15}(?!\d)"
    # ...or a Mongolian number: 8 digits, perhaps as 4 and 4, perhaps after 976.
    rf"|{_ALONE_BEFORE}(?:976[\s-]?)?\d{{4}}[\s-]?\d{{4}}{_ALONE_AFTER})"
    # Any longer run of digits: Telegram ids, numbers without their +.
    rf"|{_ALONE_BEFORE}-?\d{{9,}}{_ALONE_AFTER}"
)


def _mask(match: re.Match[str]) -> str:
    named = match.group("named")
    if named is not None:
        return named + ID
    return PHONE if match.group("phone") is not None else ID


def mask_personal(text: str) -> str:
    """``text`` with phone numbers and Telegram ids masked."""
    return _PERSONAL.sub(_mask, text)


class LogRedactor(logging.Filter):
    """Masks registered secrets and personal numbers in a record's message, arguments
    and traceback."""

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
        return mask_personal(text)

    def filter(self, record: logging.LogRecord) -> bool:
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


REDACTOR = LogRedactor()
_installed = False
_install_lock = threading.Lock()


def install(*secrets: str) -> LogRedactor:
    """Redact these secrets, and personal numbers, from every log record from now on
    (idempotent: `sanal`'s start, the app's build and the Telegram channel all call it)."""
    global _installed
    REDACTOR.add(*secrets)
    with _install_lock:
        if not _installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                REDACTOR.filter(record)
                return record

            logging.setLogRecordFactory(factory)
            _installed = True
    return REDACTOR


def redact(text: str) -> str:
    return REDACTOR.redact(text)
