"""Telegram: long polling or a verified webhook in, the outbox out (python-telegram-bot).

* Durable intake: each update is stored in the inbox, keyed by its ``update_id``, before
  Telegram is told we have it (the getUpdates offset moves past an update only after its
  row is on disk). A crash between fetching and handling loses nothing; a redelivered
  update is one row and one effect. The key also holds the message or button-press id:
  after a week without updates Telegram may start update ids again from a random number.
* Webhook mode (``SANAL_PUBLIC_URL`` set): the webhook is registered with a secret token;
  a request without it is refused with 403 and stores nothing. Polling mode deletes any
  webhook first (Telegram refuses getUpdates while one is set).
* Only private chats count: a ballot must never be answered in a group.
* The bot token is redacted from every log record (see telegram_redact).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from datetime import datetime
from typing import Any

from aiohttp import web
from telegram import Bot as PtbBot
from telegram import Update
from telegram.error import BadRequest, InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest

from bot.channels import json_body
from bot.channels.base import ChannelHost, ConfigError, Transport
from bot.channels.refusals import RefusalLog
from bot.channels.telegram_http import AiohttpRequest
from bot.channels.telegram_menu import register_commands, set_governor_menu
from bot.channels.telegram_redact import install, redact
from bot.channels.telegram_transport import TelegramTransport, retry_seconds
from bot.core.message import Channel, Inbound
from bot.core.settings import Settings, variable_in_use
from storage import telegram as store

log = logging.getLogger(__name__)
# PTB logs every API call's parameters and result at DEBUG: a voter's chat id beside
# "your choice: 1 3", a pressed ballot button beside its presser. Ballot secrecy must not
# depend on the log level (as for aiosqlite in storage.db), so that output is off for good.
logging.getLogger("telegram").setLevel(logging.INFO)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header's name
ALLOWED_UPDATES = ["message", "callback_query"]
MAX_TEXT = 4096
# An update is a few kilobytes; a message with a long reply and entities, tens.
MAX_UPDATE_BYTES = 1024 * 1024


class TelegramConfigError(ConfigError):
    """Telegram is switched on but cannot work as configured."""


class WebhookRefused(TelegramConfigError):
    """Telegram will not call SANAL_PUBLIC_URL (setWebhook answered 400)."""


def webhook_secret(token: str) -> str:
    """The webhook's secret token: derived from the bot token, so every process and every
    restart registers and expects the same one (Telegram allows [A-Za-z0-9_-], 256)."""
    return hmac.new(token.encode(), b"sanal telegram webhook", hashlib.sha256).hexdigest()


def make_bot(settings: Settings, token: str) -> tuple[PtbBot, list[BaseRequest]]:
    base = (settings.telegram_api_url or "https://api.telegram.org").rstrip("/")
    t = settings.telegram_timeout_seconds
    requests: list[BaseRequest] = [
        # Sending on aiohttp: PTB's httpx layer is the broadcast's bottleneck (telegram_http).
        AiohttpRequest(timeout=t, connections=32),
        # getUpdates waits on its own connection (PTB adds the poll timeout to read_timeout).
        HTTPXRequest(connection_pool_size=1, read_timeout=t, write_timeout=t, connect_timeout=t),
    ]
    bot = PtbBot(
        token,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=requests[0],
        get_updates_request=requests[1],
    )
    return bot, requests


def to_inbound(update: Update, now: datetime) -> Inbound | None:
    """Our message from a Telegram update; None for what is not for us (groups, bots)."""
    extra: dict[str, str] = {}
    if update.callback_query is not None:
        query = update.callback_query
        user = query.from_user
        where = query.message
        chat = where.chat if where is not None else None
        if where is None or chat is None or chat.id != user.id or not query.data:
            return None  # a button in a group or an inline message: not a private chat
        text = query.data
        external_id = f"{update.update_id}:cb{query.id}"
        extra["callback"] = query.id
        extra["callback_message_id"] = str(where.message_id)
    elif update.message is not None:
        message = update.message
        sender = message.from_user
        if sender is None or message.chat is None or message.chat.type != "private":
            return None
        user = sender
        text = message.text or message.caption or ""
        external_id = f"{update.update_id}:{message.message_id}"
        if message.contact is not None:
            extra["contact_phone"] = message.contact.phone_number
            extra["contact_user_id"] = str(message.contact.user_id or "")
    else:
        return None
    if user.is_bot:
        return None
    extra["tg_lang"] = user.language_code or ""
    # The raw update, as Telegram sent it, for whoever must check what came in; but not
    # the bot's own messages inside it (a quoted "Таны сонголт: 1 3", the ballot a button
    # sits on): they would put a voter's choice beside their id (ballot secrecy).
    raw = _without_quoted(update.to_dict())
    extra["raw"] = json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
    return Inbound(
        channel=Channel.TELEGRAM,
        external_id=external_id,
        address=f"telegram:{user.id}",
        text=text[:MAX_TEXT],
        received_at=now,
        telegram_id=user.id,
        extra=extra,
    )


# Parts of an update that repeat another message: a reply's quote, a pinned message, the
# message a pressed button is on. Only their ids are kept.
QUOTED = ("reply_to_message", "external_reply", "quote", "pinned_message")


def _without_quoted(raw: dict[str, Any]) -> dict[str, Any]:
    for part in ("message", "edited_message"):
        message = raw.get(part)
        if isinstance(message, dict):
            for key in QUOTED:
                quoted = message.pop(key, None)
                if isinstance(quoted, dict) and "message_id" in quoted:
                    message[key] = {"message_id": quoted["message_id"]}
    query = raw.get("callback_query")
    if isinstance(query, dict) and isinstance(query.get("message"), dict):
        shown = query["message"]
        query["message"] = {k: shown[k] for k in ("message_id", "date", "chat") if k in shown}
    return raw


class TelegramChannel:
    """The Telegram plugin: intake (polling or webhook), transport, command menu."""

    def __init__(self, settings: Settings) -> None:
        secret = settings.telegram_bot_token
        token = secret.get_secret_value() if secret is not None else ""
        if not token.strip():
            raise TelegramConfigError("Telegram needs TELEGRAM_BOT_TOKEN (from @BotFather)")
        self.settings = settings
        self.secret = webhook_secret(token)
        # Before the Bot exists: PTB logs its API URL, token included, when it is made.
        install(token, self.secret)
        self.webhook = settings.telegram_webhook()
        if self.webhook and not settings.public_url:
            raise TelegramConfigError("a Telegram webhook needs SANAL_PUBLIC_URL")
        self.bot, self._requests = make_bot(settings, token)
        self._transport = TelegramTransport(self.bot, settings)
        # Tests drive polling by hand (poll_once); `serve` polls in the background.
        self.background = True
        self.ready = False
        self._offset: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._app: ChannelHost | None = None
        self.refusals = RefusalLog(Channel.TELEGRAM.value)

    def transport(self) -> Transport:
        return self._transport

    def routes(self, app: ChannelHost) -> list[web.RouteDef]:
        self._app = app
        self.refusals.count = app.count_refusal
        return [web.post(WEBHOOK_PATH, self.webhook_update)] if self.webhook else []

    @property
    def webhook_url(self) -> str:
        return f"{self.settings.public_url}{WEBHOOK_PATH}"

    async def start(self, app: ChannelHost) -> None:
        self._app = app
        self.refusals.count = app.count_refusal
        self._transport.attach(app.db, app.clock)
        try:
            await self.setup()
        except InvalidToken:
            # getMe or setWebhook answered 401 or 404: this token will never work, and
            # retrying it for ever only fills the log. PTB's message would carry the token
            # to the terminal: say it without.
            raise TelegramConfigError(
                f"Telegram refused {variable_in_use('telegram_bot_token')}: "
                "copy the token again from @BotFather"
            ) from None
        except TelegramError as exc:  # unreachable, 5xx, 429: it will pass, so retry
            log.warning("Telegram not reachable at start (%s); retrying", redact(str(exc)))
        if self.background:
            self._task = asyncio.create_task(self._run(), name="telegram")

    async def setup(self) -> None:
        """Check the token (getMe), set or delete the webhook, register the commands."""
        await self.bot.initialize()
        if self.webhook:
            try:
                await self.bot.set_webhook(
                    self.webhook_url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES
                )
            except BadRequest as exc:  # "bad webhook: ...": an address Telegram cannot call
                raise WebhookRefused(
                    f"Telegram will not call {self.webhook_url} ({redact(exc.message)}): "
                    "check SANAL_PUBLIC_URL, or SANAL_TELEGRAM_MODE=polling"
                ) from None
        else:
            await self.bot.delete_webhook(drop_pending_updates=False)
        await register_commands(self.bot)
        await self._governor_menus()
        self.ready = True
        log.info("Telegram bot @%s ready (%s)", self.bot.username, self.mode)

    async def _governor_menus(self) -> None:
        """Each governor already linked in Telegram gets their menu (one call each)."""
        app = self._app
        if app is None:
            return
        for chat_id, lang in await store.governors_in_telegram(app.db.reader):
            try:
                await set_governor_menu(self.bot, chat_id, lang)
            except TelegramError as exc:  # a blocked chat: their menu can wait
                log.info("governor menu for a chat not set: %s", redact(str(exc)))

    @property
    def mode(self) -> str:
        return "webhook" if self.webhook else "polling"

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for request in self._requests:
            await request.shutdown()

    async def _run(self) -> None:
        delay = 1.0
        while True:
            try:
                if not self.ready:
                    await self.setup()
                if self.webhook:
                    return
                await self.poll_once(self.settings.telegram_poll_timeout)
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except TimedOut:
                continue  # a long poll the network dropped: ask again
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
            except InvalidToken:
                # Refused after a start that could not reach Telegram (or revoked while
                # running): Telegram stops, SMS goes on; one line says what to fix.
                log.error(
                    "Telegram refused %s: Telegram stops until a restart with a good token",
                    variable_in_use("telegram_bot_token"),
                )
                return
            except Exception as exc:
                log.warning("Telegram polling: %s; again in %.0fs", redact(repr(exc)), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def fetch(self, wait_seconds: int = 0) -> tuple[Update, ...]:
        """Updates Telegram has for us; asking with a higher offset confirms earlier ones."""
        return await self.bot.get_updates(
            offset=self._offset, timeout=wait_seconds, allowed_updates=ALLOWED_UPDATES
        )

    async def poll_once(self, wait_seconds: int = 0) -> int:
        """One getUpdates round: store each update, then move the offset past it."""
        updates = await self.fetch(wait_seconds)
        for update in updates:
            await self.accept(update)
            self._offset = update.update_id + 1
        return len(updates)

    async def accept(self, update: Update) -> bool:
        """Store one update in the inbox (durably); True if it was new."""
        app = self._app
        assert app is not None, "start() first"
        try:
            msg = to_inbound(update, app.clock.now())
        except (AttributeError, TypeError, ValueError):
            # A malformed update (fields Telegram always sends are missing): skipped, so that
            # polling moves past it instead of asking for it again for ever.
            log.warning("skipped malformed Telegram update %s", update.update_id)
            return False
        if msg is None:
            return False
        _, new = await app.intake.receive(msg)
        if new and update.callback_query is not None:
            # Stops the button's spinner; the answer itself comes through the outbox.
            try:
                await self.bot.answer_callback_query(update.callback_query.id)
            except TelegramError as exc:
                log.info("answerCallbackQuery failed: %s", redact(str(exc)))
        return new

    def _secret_refusal(self, given: str) -> str | None:
        """Why the secret header is refused, or None when it is ours.

        aiohttp keeps header bytes that are not UTF-8 as surrogates, which ``str.encode``
        refuses: such a header would be a 500 with a traceback. Ours is ASCII, so anything else
        is wrong before it is compared (compare_digest takes ASCII text)."""
        if not given:
            return "no secret"
        if not given.isascii():
            return "secret not ASCII"
        return None if hmac.compare_digest(given, self.secret) else "wrong secret"

    async def webhook_update(self, request: web.Request) -> web.Response:
        app = self._app
        assert app is not None, "routes() first"
        reason = self._secret_refusal(request.headers.get(SECRET_HEADER, ""))
        if reason is not None:
            log.warning("refused a Telegram webhook: %s", reason)
            await self.refusals.refused(app.db, app.clock.now(), reason, request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            data = await json_body.read_object(request, MAX_UPDATE_BYTES)
        except json_body.BadBody as bad:  # Telegram never sends one: audited as an attack
            await self.refusals.refused(app.db, app.clock.now(), bad.reason, request.remote)
            return web.Response(status=bad.status, text=bad.reason)
        try:
            update = Update.de_json(data, self.bot)
        except Exception:  # not an update; Telegram never sends one of these
            return web.Response(status=400, text="not an update")
        await self.accept(update)
        return web.Response(status=200)
