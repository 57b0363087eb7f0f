"""The web server: health, the simulator page and its JSON API, and channel webhooks."""

from __future__ import annotations

import json
import logging
from importlib import resources
from typing import Any

from aiohttp import web

from bot.app import Sanal
from bot.channels import simulator
from bot.phone import PhoneError, normalise
from storage import outbox

log = logging.getLogger(__name__)
MAX_TEXT = 5_000  # a simulated SMS longer than this is refused, not truncated silently
SANAL: web.AppKey[Sanal] = web.AppKey("sanal", Sanal)


def build_web_app(sanal: Sanal) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024, middlewares=[_no_tracebacks])
    app[SANAL] = sanal
    app.add_routes(
        [
            web.get("/", index),
            web.get("/healthz", healthz),
            web.post("/api/sim/messages", sim_post),
            web.get("/api/sim/messages", sim_get),
        ]
    )
    for plugin in sanal.plugins:
        app.add_routes(plugin.routes(sanal))
    return app


@web.middleware
async def _no_tracebacks(request: web.Request, handler: Any) -> web.StreamResponse:
    """Whatever breaks, the caller gets a short JSON error, never a stack trace."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException:
        raise
    except Exception:
        log.exception("error on %s %s", request.method, request.path)
        return web.json_response({"error": "internal error"}, status=500)


async def index(request: web.Request) -> web.Response:
    page = resources.files("bot").joinpath("static/index.html").read_text("utf-8")
    return web.Response(text=page, content_type="text/html", charset="utf-8")


async def healthz(request: web.Request) -> web.Response:
    sanal = request.app[SANAL]
    try:
        ok = await sanal.db.ping()
    except Exception:
        ok = False
    return web.json_response({"ok": ok}, status=200 if ok else 503)


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def sim_post(request: web.Request) -> web.Response:
    sanal = request.app[SANAL]
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _bad('body must be JSON: {"phone": "99112233", "text": "..."}')
    if not isinstance(body, dict):
        return _bad("body must be a JSON object")
    phone, text = body.get("phone"), body.get("text")
    if not isinstance(phone, str) or not isinstance(text, str):
        return _bad("phone and text must be strings")
    if len(text) > MAX_TEXT:
        return _bad(f"text longer than {MAX_TEXT} characters")
    message_id = body.get("id")
    if message_id is not None and not isinstance(message_id, str):
        return _bad("id must be a string")
    try:
        msg = simulator.inbound(phone, text, sanal.clock.now(), message_id)
    except PhoneError as exc:
        return _bad(str(exc))
    inbox_id = await sanal.intake.receive_and_wait(msg)
    screen = simulator.screen_of(sanal.senders[msg.channel.value].transport)
    screen.keep("in", inbox_id, msg.text)  # the phone shows what it sent, sealed or not
    rows = await outbox.for_inbox(sanal.db.reader, inbox_id)
    await sanal.senders[msg.channel.value].drain_once()
    return web.json_response(
        {
            "inbox_id": inbox_id,
            "phone": msg.phone,
            "replies": [screen.show("out", r.id, r.text) for r in rows if r.kind == "reply"],
        }
    )


async def sim_get(request: web.Request) -> web.Response:
    sanal = request.app[SANAL]
    raw = request.query.get("phone", "")
    try:
        phone = normalise(raw)
    except PhoneError as exc:
        return _bad(str(exc))
    rows = await outbox.conversation(sanal.db.reader, [f"tel:{phone}"])
    screen = simulator.screen_of(sanal.senders[simulator.SimulatorTransport.name].transport)
    messages = [
        {
            "direction": r["direction"],
            "text": screen.show(r["direction"], r["id"], r["text"]),
            "at": r["at"],
            "status": r["status"],
        }
        for r in reversed(rows)
    ]
    return web.json_response({"phone": phone, "messages": messages})
