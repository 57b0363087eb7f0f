"""Sending outbox rows to Telegram with python-telegram-bot.

* Texts over 4,096 characters go as several messages. Each part Telegram accepts is
  recorded (``telegram_parts``) before the next is sent, so a retry after a failure
  part-way sends only what is missing: nobody gets the first half twice.
* A reply to a pressed button edits the message the button was on (a ballot whose ticks
  change in place) instead of adding a new one.
* Errors are typed for the sender: 429 pauses every chat for retry_after; network errors
  and timeouts retry; 403 (blocked, deactivated) marks the person unreachable on Telegram;
  other 400s fail the row.
"""

from __future__ import annotations

import asyncio
import logging
import os
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.channels.base import SendResult
from bot.channels.telegram_menu import set_governor_menu
from bot.channels.telegram_redact import redact
from bot.core.clock import Clock, SystemClock
from bot.core.message import Channel
from bot.core.settings import Settings
from bot.core.texts import render
from storage import telegram as store
from storage.db import Database
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)
# PTB 22 is moving durations (retry_after) from int seconds to timedelta and warns on every
# RetryAfter it builds unless told we take the new form (it reads this at each use); we
# do: retry_seconds reads both forms.
os.environ.setdefault("PTB_TIMEDELTA", "true")

MAX_TEXT = 4096  # Telegram's limit, in UTF-16 code units
MAX_CALLBACK_DATA = 64  # bytes
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | None


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of at most ``limit`` UTF-16 units, cut at line ends where possible."""
    if utf16_len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while utf16_len(line) > limit:
            head = _prefix(line, limit)
            parts.append(head)
            line = line[len(head) :]
        current = line
    if current:
        parts.append(current)
    return [p for p in parts if p.strip()] or [text[:limit]]


def _prefix(text: str, limit: int) -> str:
    """The longest prefix within ``limit`` UTF-16 units that does not split a character."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return text[:i]
    return text


def chat_id(address: str) -> int | None:
    value = address.removeprefix("telegram:")
    return int(value) if value.lstrip("-").isdigit() else None


def retry_seconds(exc: RetryAfter) -> float:
    # PTB 22 warns about the int form of retry_after; both forms mean seconds.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(exc: TelegramError) -> SendResult:
    """What the sender should do after Telegram refused or could not be reached."""
    reason = redact(str(exc))[:200]
    # in_doubt: Telegram may have the message all the same (an answer that never came).
    if isinstance(exc, RetryAfter):
        return SendResult.retry(
            f"telegram 429: {reason}",
            retry_after=retry_seconds(exc),
            pause_all=True,
            in_doubt=False,
        )
    if isinstance(exc, Forbidden):  # blocked by the user, deactivated, never started
        return SendResult.opted_out(f"telegram 403: {reason}")
    if isinstance(exc, BadRequest | ChatMigrated):
        return SendResult.failed(f"telegram 400: {reason}")
    if isinstance(exc, TimedOut):
        return SendResult.retry(f"telegram timeout: {reason}")
    if isinstance(exc, InvalidToken):
        return SendResult.retry("telegram refused the bot token", in_doubt=False)
    if isinstance(exc, NetworkError):
        return SendResult.retry(f"telegram network: {reason}")
    return SendResult.retry(f"telegram {type(exc).__name__}: {reason}")


class TelegramTransport:
    name = Channel.TELEGRAM.value
    # Sends in flight at once: Telegram is 100-300 ms away from a soum; one at a time
    # would reach a few messages a second, far under the 25 a second allowed.
    concurrency = 16

    def __init__(self, bot: Bot, settings: Settings) -> None:
        self.bot = bot
        self.settings = settings
        self.rate_per_second: float = settings.telegram_rate_per_second
        self.per_address_per_second: float | None = settings.telegram_per_chat_per_second
        self.db: Database | None = None
        self.clock: Clock = SystemClock()

    def attach(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock

    async def send(self, message: OutboxRow) -> SendResult:
        chat = chat_id(message.address)
        if chat is None:
            return SendResult.failed(f"not a Telegram address: {message.address}")
        if self.db is None:
            return SendResult.retry("telegram channel not started", retry_after=1.0)
        # A first attempt has no parts sent yet, and only a reply can answer a button:
        # a broadcast of 20,000 reminders skips both lookups.
        done = await store.sent_parts(self.db.reader, message.id) if message.tried else {}
        source = (
            await store.inbound_extra(self.db.reader, message.id) if message.kind == "reply" else {}
        )
        markup = await self._markup(message)
        if message.extra.get("governor_menu") and not done:
            await self._governor_menu(chat, message.person_id)
        parts = split_text(message.text) if message.text.strip() else []
        documents: list[dict[str, str]] = list(message.extra.get("documents") or [])
        # A message of one part needs no record of its parts: "sent" says it all.
        single = len(parts) + len(documents) == 1
        last_id: int | None = None
        try:
            for i, text in enumerate(parts):
                if i in done:
                    last_id = done[i]
                    continue
                last = i == len(parts) - 1
                edit_id = source.get("callback_message_id")
                if len(parts) == 1 and edit_id and not isinstance(markup, ReplyKeyboardMarkup):
                    last_id = await self._edit_or_send(chat, int(edit_id), text, markup)
                else:
                    sent = await self.bot.send_message(
                        chat, text, reply_markup=markup if last else None
                    )
                    last_id = sent.message_id
                if not single:
                    await self._record(message.id, i, last_id)
            for j, doc in enumerate(documents):
                part = len(parts) + j
                if part in done:
                    continue
                path = Path(doc.get("path", ""))
                try:
                    content = await asyncio.to_thread(path.read_bytes)
                except OSError:
                    log.warning("outbox %s: document %s is gone", message.id, path.name)
                    continue
                sent = await self.bot.send_document(
                    chat, document=content, filename=doc.get("filename") or path.name
                )
                last_id = sent.message_id
                await self._record(message.id, part, last_id)
        except TelegramError as exc:
            return classify(exc)
        return SendResult.sent(f"{chat}:{last_id}" if last_id is not None else None)

    async def _edit_or_send(self, chat: int, message_id: int, text: str, markup: Markup) -> int:
        """Edit the message a button was pressed on; a new message if it cannot be edited."""
        inline = markup if isinstance(markup, InlineKeyboardMarkup) else None
        try:
            edited = await self.bot.edit_message_text(
                text, chat_id=chat, message_id=message_id, reply_markup=inline
            )
        except BadRequest as exc:
            if "not modified" in str(exc).lower():  # pressed twice: it already says this
                return message_id
            sent = await self.bot.send_message(chat, text, reply_markup=markup)
            return sent.message_id
        return edited.message_id if not isinstance(edited, bool) else message_id

    async def _record(self, outbox_id: int, part: int, message_id: int) -> None:
        assert self.db is not None
        async with self.db.write() as conn:
            await store.record_part(conn, outbox_id, part, message_id, self._now())

    def _now(self) -> datetime:
        try:
            return self.clock.now()
        except Exception:  # pragma: no cover - a clock never fails; be safe in a sender
            return datetime.now(UTC)

    async def _governor_menu(self, chat: int, person_id: int | None) -> None:
        """Before the "linked" reply: the governor's menu (a failure costs only the menu)."""
        assert self.db is not None
        lang = await store.person_lang(self.db.reader, person_id)
        try:
            await set_governor_menu(self.bot, chat, lang)
        except TelegramError as exc:
            log.info("governor menu not set: %s", redact(str(exc)))

    async def _markup(self, message: OutboxRow) -> Markup:
        extra = message.extra
        if extra.get("ask_contact"):
            assert self.db is not None
            lang = await store.person_lang(self.db.reader, message.person_id)
            button = KeyboardButton(render("telegram.contact_button", lang), request_contact=True)
            return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
        rows = extra.get("buttons") or []
        keyboard: list[list[InlineKeyboardButton]] = []
        for row in rows:
            line = []
            for b in row:
                data = str(b.get("data", ""))
                if not data or len(data.encode()) > MAX_CALLBACK_DATA:
                    # Telegram would refuse the whole message; the text says what to type.
                    log.warning("outbox %s: button data over 64 bytes dropped", message.id)
                    continue
                line.append(InlineKeyboardButton(str(b.get("label", data)), callback_data=data))
            if line:
                keyboard.append(line)
        return InlineKeyboardMarkup(keyboard) if keyboard else None
