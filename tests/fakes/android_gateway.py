"""A fake of the "SMS Gateway for Android" REST API (local server mode) on loopback.

``POST /message`` takes ``{"id", "textMessage": {"text"}, "phoneNumbers"}`` with Basic auth
and answers 202; an id it already has is refused with 409, as the gateway does. ``GET
/message/{id}`` tells a message's state. Each send is answered from a script: "ok",
"500", "429", "hang" (accept, then answer too late) or "drop" (answer too late, not kept).
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class FakeGateway:
    user: str
    password: str
    hang_seconds: float = 2.0
    script: list[str] = field(default_factory=list)
    requests: list[tuple[str, Any]] = field(default_factory=list)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def start(self) -> FakeGateway:
        app = web.Application()
        app.add_routes([web.post("/message", self._send), web.get("/message/{id}", self._get)])
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def sends(self) -> list[dict[str, Any]]:
        return [body for method, body in self.requests if method == "POST"]

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    async def _send(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        body = await request.json()
        self.requests.append(("POST", body))
        action = self.script.pop(0) if self.script else "ok"
        if action == "500":
            return web.json_response({"message": "internal"}, status=500)
        if action == "429":
            return web.json_response({"message": "slow down"}, status=429)
        if action == "drop":
            await asyncio.sleep(self.hang_seconds)
            return web.json_response({"message": "too late"}, status=500)
        message_id = body["id"]
        if message_id in self.messages:
            return web.json_response({"message": "message already exists"}, status=409)
        self.messages[message_id] = {
            "id": message_id,
            "state": "Pending",
            "text": body["textMessage"]["text"],
            "recipients": [{"phoneNumber": p, "state": "Pending"} for p in body["phoneNumbers"]],
        }
        if action == "hang":
            await asyncio.sleep(self.hang_seconds)
        return web.json_response(self.messages[message_id], status=202)

    async def _get(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        self.requests.append(("GET", request.match_info["id"]))
        found = self.messages.get(request.match_info["id"])
        if found is None:
            return web.json_response({"message": "not found"}, status=404)
        return web.json_response(found)
