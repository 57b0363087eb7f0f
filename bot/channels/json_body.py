"""Reading a JSON request body that anyone on the internet may have written.

Every JSON endpoint (the Telegram and Android webhooks, the simulator's POST) reads its
body here, so that no body can crash or stall the server:

* a size limit, checked while reading (a declared Content-Length over it is refused
  before anything is read);
* UTF-8 only, strict JSON only (no ``NaN``/``Infinity``, no 5,000-digit integers);
* nesting at most ``MAX_DEPTH`` deep: ``[[[[...]]]]`` 100,000 deep made ``json.loads``
  raise RecursionError, a 500 with a traceback in the log; a few hundred deep passed the
  parser and then recursed again in python-telegram-bot and in ``json.dumps``;
* an object at the top, since every endpoint expects one.

A refused body is a :class:`BadBody` with its HTTP status (400 or 413) and a short
reason that the caller puts in the audit log (``bot.channels.refusals``) and the answer.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NoReturn
from weakref import WeakKeyDictionary

from aiohttp import web

from bot.channels.refusals import RefusalLog
from storage.db import Database

# Deeper than any body we are sent: a Telegram update nests about 8 deep (update, message,
# reply_to_message, reply_markup, inline_keyboard, row, button, login_url).
MAX_DEPTH = 64


class BadBody(ValueError):
    """A body that is refused, with the status to answer and a reason for the audit log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def http(self, message: str | None = None, *, as_json: bool = False) -> web.HTTPException:
        """The refusal as an aiohttp exception: plain text, or ``{"error": ...}``."""
        text = message or self.reason
        kwargs: dict[str, Any] = (
            {"text": json.dumps({"error": text}), "content_type": "application/json"}
            if as_json
            else {"text": text}
        )
        if self.status == 413:
            return web.HTTPRequestEntityTooLarge(max_size=0, actual_size=0, **kwargs)
        return web.HTTPBadRequest(**kwargs)


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


async def read_bytes(request: web.Request, limit: int) -> bytes:
    """The whole body, or BadBody(413) as soon as it is longer than ``limit``."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BadBody(413, "body too large")
    chunks: list[bytes] = []
    size = 0
    # content.read(n) returns what has arrived so far, not n bytes: read to the end.
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise BadBody(413, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _depth_ok(value: Any, limit: int) -> bool:
    """Is no list or object nested deeper than ``limit``? Iterative: no recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return True


def parse_object(raw: bytes, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """A JSON object from ``raw``, or BadBody(400) saying why not."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody(400, "body not UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise BadBody(400, "JSON nested too deep") from None
    except ValueError:  # not JSON, or an integer of more than 4,300 digits
        raise BadBody(400, "body not JSON") from None
    # Fewer brackets than the limit cannot nest deeper than it: the walk is for the rare
    # body with many, and costs nothing on an ordinary update.
    if raw.count(b"[") + raw.count(b"{") > max_depth and not _depth_ok(value, max_depth):
        raise BadBody(400, "JSON nested too deep")
    if not isinstance(value, dict):
        raise BadBody(400, "body not a JSON object")
    return value


async def read_object(
    request: web.Request, limit: int, max_depth: int = MAX_DEPTH
) -> dict[str, Any]:
    """Read and parse a JSON object body; BadBody when it is refused."""
    return parse_object(await read_bytes(request, limit), max_depth)


# Endpoints without a channel plugin of their own (the simulator's POST) keep their
# refusal counters here, one set per database: per process, like the plugins' own.
_refusal_logs: WeakKeyDictionary[Database, dict[str, RefusalLog]] = WeakKeyDictionary()


async def read_or_refuse(
    request: web.Request, db: Database, now: datetime, *, channel: str, limit: int
) -> dict[str, Any]:
    """A JSON object body; else the refusal is audited (at most a row a minute) and raised
    as a 400/413 with a JSON ``{"error": ...}`` answer."""
    try:
        return await read_object(request, limit)
    except BadBody as bad:
        logs = _refusal_logs.setdefault(db, {})
        refusals = logs.setdefault(channel, RefusalLog(channel))
        await refusals.refused(db, now, bad.reason, request.remote)
        raise bad.http(f"body must be JSON: one JSON object ({bad.reason})", as_json=True) from None
