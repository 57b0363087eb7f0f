"""A fake of Twilio's REST API (the Messages resource) on loopback, for the real twilio client.

It checks the account's Basic auth, records every request, keeps the messages it accepted,
and answers each create from a script: "ok", "429", "500", "21610", "hang" (accept the
message, then answer too late: the client times out after Twilio has it) or "drop" (answer
too late without accepting it). The list (the sender's "do you have it already?" check)
answers from ``list_script`` ("ok", "500", "429", "hang"), then ``list_default``.
``latency`` delays every create before it is accepted (a slow API: rows stay leased);
:meth:`go_down` and :meth:`come_back` close and reopen the port (connections refused).
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.core.sms_segments import count_segments


@dataclass
class FakeMessage:
    sid: str
    to: str
    sender: str
    body: str
    created: datetime
    status: str = "queued"


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    hang_seconds: float = 2.0
    script: list[str] = field(default_factory=list)
    list_script: list[str] = field(default_factory=list)
    list_default: str = "ok"
    latency: float = 0.0
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    messages: list[FakeMessage] = field(default_factory=list)
    server: TestServer | None = None
    _url: str = ""

    @property
    def url(self) -> str:
        return self._url

    async def start(self, port: int | None = None) -> FakeTwilio:
        app = web.Application()
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        app.add_routes([web.post(base, self._create), web.get(base, self._list)])
        self.server = TestServer(app, host="127.0.0.1", port=port)
        await self.server.start_server()
        self._url = str(self.server.make_url("")).rstrip("/")
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()
            self.server = None

    async def go_down(self) -> None:
        """Close the port: every connection is refused until :meth:`come_back`."""
        await self.close()

    async def come_back(self) -> None:
        await self.start(int(self._url.rsplit(":", 1)[1]))

    def creates(self) -> list[dict[str, str]]:
        return [form for method, form in self.requests if method == "POST"]

    def methods(self) -> list[str]:
        """POST (a send) and GET (a check), in the order they came."""
        return [method for method, _ in self.requests]

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        body = {"code": code, "message": message, "more_info": "", "status": status}
        return web.json_response(body, status=status)

    def _json(self, m: FakeMessage) -> dict[str, Any]:
        return {
            "sid": m.sid,
            "account_sid": self.account_sid,
            "to": m.to,
            "from": m.sender,
            "body": m.body,
            "status": m.status,
            "num_segments": str(count_segments(m.body).segments),
            "direction": "outbound-api",
            "date_created": format_datetime(m.created, usegmt=True),
            "date_updated": format_datetime(m.created, usegmt=True),
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{m.sid}.json",
        }

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._error(401, 20003, "Authenticate")
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        self.requests.append(("POST", form))
        action = self.script.pop(0) if self.script else "ok"
        if self.latency:
            await asyncio.sleep(self.latency)
        if action == "429":
            return self._error(429, 20429, "Too Many Requests")
        if action == "500":
            return self._error(500, 20500, "Internal Server Error")
        if action == "21610":
            return self._error(400, 21610, "Attempt to send to unsubscribed recipient")
        if action == "drop":
            await asyncio.sleep(self.hang_seconds)
            return self._error(500, 20500, "too late")
        message = FakeMessage(
            sid="SM" + secrets.token_hex(16),
            to=form.get("To", ""),
            sender=form.get("From") or form.get("MessagingServiceSid", ""),
            body=form.get("Body", ""),
            created=self.now(),
        )
        self.messages.append(message)
        if action == "hang":
            await asyncio.sleep(self.hang_seconds)
        return web.json_response(self._json(message), status=201)

    async def _list(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._error(401, 20003, "Authenticate")
        self.requests.append(("GET", dict(request.query)))
        action = self.list_script.pop(0) if self.list_script else self.list_default
        if action == "429":
            return self._error(429, 20429, "Too Many Requests")
        if action == "500":
            return self._error(500, 20500, "Internal Server Error")
        if action == "hang":
            await asyncio.sleep(self.hang_seconds)
        to = request.query.get("To")
        after = request.query.get("DateSent>")
        found = [m for m in self.messages if to is None or m.to == to]
        if after:  # Twilio compares dates only
            day = datetime.fromisoformat(after.replace("Z", "+00:00")).date()
            found = [m for m in found if m.created.date() >= day]
        return web.json_response(
            {
                "messages": [self._json(m) for m in reversed(found)],
                "page": 0,
                "page_size": 50,
                "start": 0,
                "end": len(found),
                "uri": request.path_qs,
                "first_page_uri": request.path_qs,
                "next_page_uri": None,
                "previous_page_uri": None,
            }
        )
