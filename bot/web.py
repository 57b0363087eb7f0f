"""The web server: health, metrics, channel webhooks, and in training the simulator page
and API. Every request gets one access line (logger ``sanal.access``, README "Logs").

The simulator's routes exist only when its gate is on (bot/channels/simulator_gate.py):
on a server with real channels and no training token they are not mounted at all (404).
Their refusals answer ``{"error": <text in the page's language>, "code": <stable code>}``:
the page is Mongolian first, so a trainee never reads "not a phone number" in English.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from importlib import resources
from typing import Any

from aiohttp import web

from bot.app import Sanal
from bot.channels import simulator, simulator_gate
from bot.channels.json_body import read_or_refuse
from bot.channels.refusals import RefusalLog
from bot.core.phone import PhoneError, normalise
from bot.core.texts import render
from storage import outbox
from storage import simulator as sim_store

log = logging.getLogger(__name__)
ACCESS = logging.getLogger("sanal.access")  # one line per request (README "Logs")
MAX_TEXT = 5_000  # a simulated SMS longer than this is refused, not truncated silently
SIM_BODY = 128 * 1024  # MAX_TEXT characters even if each is escaped (12 bytes an emoji)
SANAL: web.AppKey[Sanal] = web.AppKey("sanal", Sanal)
SIM_REFUSALS: web.AppKey[RefusalLog] = web.AppKey("sim_refusals", RefusalLog)
NUMBER_IN_USE = "number_in_use"  # one answer for every reason a number is refused
SIM_LANGS = ("mn", "en")


def build_web_app(sanal: Sanal) -> web.Application:
    # The access line is outermost: it sees the 500 that _no_tracebacks makes of a crash.
    app = web.Application(client_max_size=1024 * 1024, middlewares=[_access, _no_tracebacks])
    app[SANAL] = sanal
    app.add_routes([web.get("/healthz", healthz), web.get("/metrics", metrics_page)])
    if sanal.simulator.on:  # training only: never a way around the real channels
        app[SIM_REFUSALS] = RefusalLog(
            "sim", action="refused.simulator", actor="simulator", count=sanal.count_refusal
        )
        app.add_routes(
            [
                web.get("/", index),
                web.post("/api/sim/messages", sim_post),
                web.get("/api/sim/messages", sim_get),
            ]
        )
    for plugin in sanal.plugins:
        app.add_routes(plugin.routes(sanal))
    return app


@web.middleware
async def _access(request: web.Request, handler: Any) -> web.StreamResponse:
    """One line per request: method, path (the route's, never a query string), status,
    duration and bytes of the answer. Nothing a sender wrote: no number, no text, no
    token (a query string carries the simulator's phone numbers; a path may be anything
    a scanner tries, bot tokens included: see :func:`logged_path`)."""
    started = time.perf_counter()
    status, size = 500, 0
    try:
        response: web.StreamResponse = await handler(request)
        status, size = response.status, _size(response)
        return response
    except web.HTTPException as exc:
        status, size = exc.status, _size(exc)
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away before the answer (nginx's word for it)
        raise
    finally:
        ms = round((time.perf_counter() - started) * 1000, 1)
        path = logged_path(request)
        ACCESS.info(
            "%s %s %s %.1fms %dB",
            request.method,
            path,
            status,
            ms,
            size,
            extra={
                "method": request.method,
                "path": path,
                "status": status,
                "duration_ms": ms,
                "bytes": size,
            },
        )


def _size(response: web.StreamResponse) -> int:
    length = response.content_length if isinstance(response, web.Response) else None
    return length or 0


# A run that reads as a secret rather than a word: a Telegram bot token (digits, a colon,
# 35 characters), or any 24 or more letters, digits and -_ together (webhook secrets,
# API keys, a base64 blob).
_SECRETISH = re.compile(r"\d{5,}:[\w-]{20,}|[\w-]{24,}")
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")
PATH_LIMIT = 120


def logged_path(request: web.Request) -> str:
    """The path to log: the matched route's own (``/sms/twilio``), or for an unknown path
    (a scanner's) the path with anything secret-looking masked, control characters and
    spaces replaced (no forged log lines), and cut to a length."""
    resource = request.match_info.route.resource
    if resource is not None:
        return resource.canonical
    path = _SECRETISH.sub("<secret>", request.path)
    path = _UNPRINTABLE.sub("?", path)
    return path if len(path) <= PATH_LIMIT else path[:PATH_LIMIT] + "..."


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
        if request.path.startswith("/api/sim/"):  # the page shows it: in its language
            return _sim_refusal(request, "internal", 500)
        return web.json_response({"error": "internal error"}, status=500)


def _simulator_on(request: web.Request) -> None:
    """404 unless the simulator is on now: `serve` builds the routes before it opens the
    database, and a database real channels have used turns the simulator off at open."""
    if not request.app[SANAL].simulator.on:
        raise web.HTTPNotFound()


async def index(request: web.Request) -> web.Response:
    _simulator_on(request)
    page = resources.files("bot").joinpath("static/index.html").read_text("utf-8")
    return web.Response(text=page, content_type="text/html", charset="utf-8")


async def healthz(request: web.Request) -> web.Response:
    """200 when Sanal can do its job, else 503 with the reasons (bot/health.py)."""
    from bot.health import report

    body = await report(request.app[SANAL])
    return web.json_response(body, status=200 if body["ok"] else 503)


async def metrics_page(request: web.Request) -> web.Response:
    """Prometheus's text format (bot/metrics.py); local scrapers or the token only."""
    from bot import metrics

    sanal = request.app[SANAL]
    refused = metrics.refusal(request, sanal.settings.metrics_token)
    if refused is not None:
        return refused
    body = await sanal.metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})


def sim_lang(request: web.Request) -> str:
    """The language of the simulator's answers: ``?lang=`` (the page sends its own), else
    the browser's Accept-Language, else Mongolian."""
    asked = request.query.get("lang", "").lower()
    if asked in SIM_LANGS:
        return asked
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in SIM_LANGS:
            return tag
    return "mn"


def refusal_body(code: str, lang: str, **params: object) -> dict[str, str]:
    """The JSON of a simulator refusal: the catalog text (simulator.error.<code>) and the code."""
    return {"error": render(f"simulator.error.{code}", lang, **params), "code": code}


def _sim_refusal(request: web.Request, code: str, status: int, **params: object) -> web.Response:
    return web.json_response(refusal_body(code, sim_lang(request), **params), status=status)


def _bad(request: web.Request, code: str, **params: object) -> web.Response:
    return _sim_refusal(request, code, 400, **params)


def _phone_refusal(request: web.Request, exc: PhoneError) -> web.Response:
    if exc.code == "empty":
        return _bad(request, "phone_empty")
    return _bad(request, "phone_invalid", phone=exc.raw.strip()[:40])


async def _no_token(request: web.Request) -> web.Response | None:
    """401 unless the request carries the training token (when one is set)."""
    _simulator_on(request)
    sanal = request.app[SANAL]
    if sanal.simulator.admits(simulator_gate.presented_token(request.headers)):
        return None
    await request.app[SIM_REFUSALS].refused(sanal.db, sanal.clock.now(), "token", request.remote)
    return _sim_refusal(request, "token", 401)


async def _not_this_number(request: web.Request, phone: str) -> web.Response | None:
    """403 when the simulator may not act as, or read, this number (a real person's)."""
    sanal = request.app[SANAL]
    why = await simulator_gate.refusal(sanal.db.reader, sanal.simulator, phone)
    if why is None:
        return None
    await request.app[SIM_REFUSALS].refused(sanal.db, sanal.clock.now(), why, request.remote)
    # One answer for every reason (the audit log keeps which): the page must not tell a
    # token holder who is an official or which numbers have texted Sanal.
    return _sim_refusal(request, NUMBER_IN_USE, 403)


async def sim_post(request: web.Request) -> web.Response:
    sanal = request.app[SANAL]
    if (refused := await _no_token(request)) is not None:
        return refused
    try:
        body = await read_or_refuse(
            request, sanal.db, sanal.clock.now(), channel="sim", limit=SIM_BODY
        )
    except web.HTTPException as refused_body:  # audited already; answered in the page's words
        return _sim_refusal(request, "bad_body", refused_body.status)
    phone, text = body.get("phone"), body.get("text")
    if not isinstance(phone, str) or not isinstance(text, str):
        return _bad(request, "fields")
    if len(text) > MAX_TEXT:
        return _bad(request, "too_long", max=MAX_TEXT)
    message_id = body.get("id")
    if message_id is not None and not isinstance(message_id, str):
        return _bad(request, "id")
    try:
        msg = simulator.inbound(phone, text, sanal.clock.now(), message_id)
    except PhoneError as exc:
        return _phone_refusal(request, exc)
    if (refused := await _not_this_number(request, msg.phone or "")) is not None:
        return refused
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
    if (refused := await _no_token(request)) is not None:
        return refused
    raw = request.query.get("phone", "")
    try:
        phone = normalise(raw)
    except PhoneError as exc:
        return _phone_refusal(request, exc)
    if (refused := await _not_this_number(request, phone)) is not None:
        return refused
    rows = await sim_store.conversation(sanal.db.reader, phone)
    screen = simulator.screen_of(sanal.senders[simulator.SimulatorTransport.name].transport)
    messages = [
        {
            "direction": r.direction,
            "text": screen.show(r.direction, r.id, r.text),
            "at": r.at,
            "status": r.status,
        }
        for r in reversed(rows)
    ]
    return web.json_response({"phone": phone, "messages": messages})
