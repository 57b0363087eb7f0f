"""A fake of the "SMS Gateway for Android" REST API (local server mode) on loopback.

The paths are the app's (its local server, app 1.28 or newer: modules/localserver/
WebService.kt and routes/): ``POST /messages`` (and the older ``/message``) takes ``{"id",
"textMessage": {"text"}, "phoneNumbers"}`` with Basic auth and answers 202; an id it
already has is refused with 409, as the gateway does. ``GET /messages/{id}`` tells a
message's state. Each send is answered from a script: "ok", a status ("500", "429",
"400": that answer, nothing kept), "hang" (accept, then answer too late) or "drop" (answer
too late, not kept).

Webhooks as the app keeps them (routes/WebhooksRoutes.kt, webhooks/WebHooksService.kt):
``GET /webhooks`` lists them, ``POST /webhooks`` registers one and replaces one with the
same id (201; a url that is not https or http://127.0.0.1 is a 400), ``DELETE
/webhooks/{id}`` removes one (204).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
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
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    paths: list[tuple[str, str]] = field(default_factory=list)  # (method, path), each call
    server: TestServer | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def start(self) -> FakeGateway:
        app = web.Application(middlewares=[self._log])
        for root in ("/message", "/messages"):  # the app serves both
            app.add_routes([web.post(root, self._send), web.get(root + "/{id}", self._get)])
        for root in ("/webhook", "/webhooks"):
            app.add_routes(
                [
                    web.get(root, self._list_webhooks),
                    web.post(root, self._add_webhook),
                    web.delete(root + "/{id}", self._delete_webhook),
                ]
            )
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def sends(self) -> list[dict[str, Any]]:
        return [body for method, body in self.requests if method == "POST"]

    @web.middleware
    async def _log(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.paths.append((request.method, request.path))
        response: web.StreamResponse = await handler(request)
        return response

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    async def _send(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        body = await request.json()
        self.requests.append(("POST", body))
        action = self.script.pop(0) if self.script else "ok"
        if action.isdigit():  # "500", "429", "400"...: that answer, nothing kept
            return web.json_response({"message": ANSWERS.get(action, "no")}, status=int(action))
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

    async def _list_webhooks(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        return web.json_response(list(self.webhooks.values()))

    async def _add_webhook(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        body = await request.json()
        url = str(body.get("url") or "")
        if not (url.startswith("https://") or url.startswith("http://127.0.0.1")):
            return web.json_response(
                {"message": "url must start with https:// or http://127.0.0.1"}, status=400
            )
        if body.get("event") not in EVENTS:
            return web.json_response({"message": "Unsupported event"}, status=400)
        hook_id = body.get("id") or f"random{next(self._ids)}"
        self.webhooks[hook_id] = {
            "id": hook_id,
            "deviceId": DEVICE,
            "url": url,
            "event": body["event"],
            "source": "Local",
        }
        return web.json_response(self.webhooks[hook_id], status=201)

    async def _delete_webhook(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        self.webhooks.pop(request.match_info["id"], None)
        return web.Response(status=204)


DEVICE = "ffffffffceb0b1db0000018e937c815b"
ANSWERS = {"500": "internal", "429": "slow down", "400": "phoneNumbers is invalid"}
# The events the app accepts (webhooks/domain/WebHookEvent.kt).
EVENTS = {
    "sms:received",
    "sms:data-received",
    "sms:sent",
    "sms:delivered",
    "sms:failed",
    "system:ping",
    "mms:received",
}
