"""A fake of the Telegram Bot API on loopback, for the real python-telegram-bot client.

It answers ``/bot<token>/<method>`` like api.telegram.org: checks the token, records every
call with its parameters, keeps an update queue with getUpdates' offset semantics (an
update is forgotten only when a later getUpdates asks with a higher offset), keeps the
messages the bot sent and edited per chat, and can be told to fail: a 429 with
retry_after, a 403 "bot was blocked by the user", a 500.

``latency`` makes it as far away as the real one: half of it before a send is accepted
(the request on the wire), half after (the answer on the wire). ``accepted`` records when
each sent message was accepted and answered (``time.monotonic()``), so that a test which
kills the bot can tell a message sent twice because its answer was still on the wire from
one whose answer had arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

BOT_ID = 7000000001
SENDS = {"sendMessage", "sendDocument", "editMessageText"}
JSON_KEYS = {"reply_markup", "commands", "allowed_updates", "scope", "entities"}
INT_KEYS = {"chat_id", "message_id", "offset", "limit", "timeout", "retry_after"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class SentMessage:
    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None = None
    document: str | None = None  # the file name, for sendDocument
    edits: int = 0

    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of the inline keyboard, row by row."""
        markup = self.reply_markup or {}
        return [
            (b["text"], b.get("callback_data", ""))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]

    @property
    def asks_contact(self) -> bool:
        rows = (self.reply_markup or {}).get("keyboard", [])
        return any(isinstance(b, dict) and b.get("request_contact") for r in rows for b in r)


@dataclass
class Accepted:
    chat_id: int
    text: str
    at: float  # time.monotonic() when accepted
    answered: float = 0.0  # when the answer left (0: not yet)


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None
    chat_id: int | None = None  # only calls for this chat fail; None: any
    times: int = 1
    after: int = 0  # let this many calls through first


@dataclass
class FakeTelegram:
    token: str
    username: str = "SanalTestBot"
    calls: list[Call] = field(default_factory=list)
    messages: dict[int, list[SentMessage]] = field(default_factory=dict)
    webhook_url: str = ""
    latency: float = 0.0  # seconds for a send's round trip (see the module's docstring)
    accepted: list[Accepted] = field(default_factory=list)
    webhook_secret: str | None = None
    server: TestServer | None = None
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _failures: dict[str, list[Failure]] = field(default_factory=dict)
    _blocked: set[int] = field(default_factory=set)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(500))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _callback_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _news: asyncio.Event = field(default_factory=asyncio.Event)
    _answered: asyncio.Event = field(default_factory=asyncio.Event)

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def start(self) -> FakeTelegram:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.add_routes([web.route("*", "/bot{token}/{method}", self._handle)])
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    # ------------------------------------------------------------ test controls

    def fail(
        self,
        method: str,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """After ``after`` good calls, the next ``times`` calls of ``method`` (for that
        chat) fail this way."""
        self._failures.setdefault(method, []).append(
            Failure(status, description, retry_after, chat_id, times, after)
        )

    def flood(self, retry_after: int, method: str = "sendMessage", times: int = 1) -> None:
        self.fail(
            method,
            429,
            f"Too Many Requests: retry after {retry_after}",
            retry_after=retry_after,
            times=times,
        )

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: every send to them is a 403 from now on."""
        self._blocked.add(chat_id)

    def queue(self, update: dict[str, Any]) -> dict[str, Any]:
        """Make an update available to getUpdates (again, if it was delivered before)."""
        self._updates.append(update)
        self._updates.sort(key=lambda u: u["update_id"])
        self._news.set()
        return update

    def pending_updates(self) -> list[int]:
        return [u["update_id"] for u in self._updates]

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait until a call to the API makes ``condition`` true (background tests)."""
        while not condition():
            self._answered.clear()
            await self._answered.wait()

    # ---------------------------------------------------------------- updates

    def _user(self, user_id: int, first_name: str, lang: str) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": lang}

    def _chat(self, user_id: int, first_name: str) -> dict[str, Any]:
        return {"id": user_id, "type": "private", "first_name": first_name}

    def message_update(
        self,
        user_id: int,
        text: str | None = None,
        *,
        first_name: str = "Бат",
        lang: str = "mn",
        contact: dict[str, Any] | None = None,
        chat: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat or self._chat(user_id, first_name),
            "from": self._user(user_id, first_name, lang),
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split()[0])
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if contact is not None:
            message["contact"] = contact
        return {"update_id": next(self._update_ids), "message": message}

    def contact_update(
        self, user_id: int, phone: str, *, owner_id: int | None, lang: str = "mn"
    ) -> dict[str, Any]:
        """A shared contact card: ``owner_id`` is whose card it is (None: not on Telegram)."""
        contact: dict[str, Any] = {"phone_number": phone, "first_name": "Бат"}
        if owner_id is not None:
            contact["user_id"] = owner_id
        return self.message_update(user_id, contact=contact, lang=lang)

    def callback_update(
        self, user_id: int, data: str, message: SentMessage, *, lang: str = "mn"
    ) -> dict[str, Any]:
        assert len(data.encode()) <= 64, data
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": f"cq{next(self._callback_ids)}",
                "from": self._user(user_id, "Бат", lang),
                "chat_instance": f"ci{user_id}",
                "data": data,
                "message": {
                    "message_id": message.message_id,
                    "date": int(time.time()),
                    "chat": self._chat(user_id, "Бат"),
                    "from": self._bot_user(),
                    "text": message.text,
                },
            },
        }

    # ---------------------------------------------------------------- queries

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    def chat(self, chat_id: int) -> list[SentMessage]:
        return self.messages.get(chat_id, [])

    def last(self, chat_id: int) -> SentMessage:
        return self.chat(chat_id)[-1]

    # ---------------------------------------------------------------- the API

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Sanal",
            "username": self.username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    @staticmethod
    def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body) if isinstance(body, dict) else {}
        params: dict[str, Any] = {}
        if request.method == "GET":
            items: list[tuple[str, Any]] = list(request.query.items())
        else:
            items = list((await request.post()).items())
        for key, value in items:
            if isinstance(value, web.FileField):
                params[key] = {"filename": value.filename, "size": len(value.file.read())}
                continue
            # PTB sends nested values (keyboards, lists) and numbers JSON-encoded.
            if key in JSON_KEYS or key in INT_KEYS:
                params[key] = json.loads(value)
            else:
                params[key] = value
        return params

    def _failure_for(self, method: str, params: dict[str, Any]) -> Failure | None:
        chat = params.get("chat_id")
        if method in ("sendMessage", "sendDocument", "editMessageText") and chat in self._blocked:
            return Failure(403, "Forbidden: bot was blocked by the user")
        for failure in self._failures.get(method, []):
            if failure.times > 0 and failure.chat_id in (None, chat):
                if failure.after > 0:
                    failure.after -= 1
                    continue
                failure.times -= 1
                return failure
        return None

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append(Call(method, params))
        failure = self._failure_for(method, params)
        if failure is not None:
            return self._error(failure.status, failure.description, failure.retry_after)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(404, f"Not Found: method {method} not faked")
        far = self.latency / 2 if method in SENDS else 0.0
        if far:
            await asyncio.sleep(far)  # the request on its way
        try:
            result = await handler(params)
        finally:
            self._answered.set()
        record: Accepted | None = None
        if method in SENDS and not isinstance(result, web.Response):
            record = Accepted(int(params["chat_id"]), str(params.get("text", "")), time.monotonic())
            self.accepted.append(record)
        if far:
            await asyncio.sleep(far)  # the answer on its way back
        if record is not None:
            record.answered = time.monotonic()
        if isinstance(result, web.Response):
            return result
        return self._ok(result)

    def doubles(self) -> list[list[Accepted]]:
        """Messages accepted more than once: the same text to the same chat."""
        by: dict[tuple[int, str], list[Accepted]] = {}
        for a in self.accepted:
            by.setdefault((a.chat_id, a.text), []).append(a)
        return [copies for copies in by.values() if len(copies) > 1]

    async def _m_getMe(self, params: dict[str, Any]) -> Any:
        return self._bot_user()

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = params.get("offset")
        if offset is not None:  # confirms every update before it, for good
            self._updates = [u for u in self._updates if u["update_id"] >= int(offset)]
        wait = float(params.get("timeout") or 0)
        if not self._updates and wait > 0:
            self._news.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._news.wait(), timeout=wait)
        limit = int(params.get("limit") or 100)
        return self._updates[:limit]

    async def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url = str(params.get("url", ""))
        self.webhook_secret = params.get("secret_token")
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook_url, self.webhook_secret = "", None
        return True

    async def _m_setMyCommands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands") or []
        for c in commands:
            assert 1 <= len(c["command"]) <= 32, c
            assert c["command"].islower(), c
            assert 1 <= len(c["description"]) <= 256, c
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    def _message_json(self, m: SentMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": m.message_id,
            "date": int(time.time()),
            "chat": {"id": m.chat_id, "type": "private"},
            "from": self._bot_user(),
        }
        if m.document is not None:
            body["document"] = {"file_id": f"f{m.message_id}", "file_unique_id": f"u{m.message_id}",
                                "file_name": m.document}  # fmt: skip
        else:
            body["text"] = m.text
        if m.reply_markup and "inline_keyboard" in m.reply_markup:
            body["reply_markup"] = m.reply_markup
        return body

    def _check_markup(self, markup: Any) -> None:
        for row in (markup or {}).get("inline_keyboard", []):
            for b in row:
                data = b.get("callback_data", "")
                assert 1 <= len(data.encode()) <= 64, data  # Telegram: BUTTON_DATA_INVALID

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        text = str(params.get("text", ""))
        if not text or len(text) > 4096:
            return self._error(400, "Bad Request: message text is empty or too long")
        self._check_markup(params.get("reply_markup"))
        chat_id = int(params["chat_id"])
        m = SentMessage(chat_id, next(self._message_ids), text, params.get("reply_markup"))
        self.messages.setdefault(chat_id, []).append(m)
        return self._message_json(m)

    async def _m_sendDocument(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        document = params.get("document")
        name = document["filename"] if isinstance(document, dict) else str(document)
        m = SentMessage(chat_id, next(self._message_ids), "", None, document=name)
        self.messages.setdefault(chat_id, []).append(m)
        return self._message_json(m)

    def _find(self, params: dict[str, Any]) -> SentMessage | None:
        chat_id = int(params.get("chat_id", 0))
        wanted = int(params.get("message_id", 0))
        return next((m for m in self.chat(chat_id) if m.message_id == wanted), None)

    async def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        m = self._find(params)
        if m is None:
            return self._error(400, "Bad Request: message to edit not found")
        markup = params.get("reply_markup")
        self._check_markup(markup)
        if m.text == params.get("text") and m.reply_markup == markup:
            return self._error(400, "Bad Request: message is not modified")
        m.text, m.reply_markup = str(params.get("text", "")), markup
        m.edits += 1
        # The edited message moves to the end: it is what the person looks at now.
        chat = self.messages[m.chat_id]
        chat.remove(m)
        chat.append(m)
        return self._message_json(m)

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        m = self._find(params)
        if m is None:
            return self._error(400, "Bad Request: message to edit not found")
        m.reply_markup = params.get("reply_markup")
        m.edits += 1
        return self._message_json(m)
