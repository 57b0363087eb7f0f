"""Benchmark 3: 20,000 khural reminders through Telegram, against the API's own limit.

The scheduler's real fan-out queues a reminder for every citizen of a bag whose khural
meets tomorrow; the real Sender and Telegram transport (python-telegram-bot) send them to a
fake Bot API on loopback that enforces a limit (1,000 messages a second here, raised from
Telegram's 30 for the benchmark), answers 429 with retry_after over it, and counts
duplicates. Reported: the achieved rate over the limit (goal >= 0.9), 429s (goal 0) and
duplicates (goal 0).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from telegram.error import NetworkError

from bench.common import START, header, new_app, populate
from bench.memory import _free_port
from bot.channels.telegram import make_bot
from bot.channels.telegram_transport import TelegramTransport
from bot.sender import Sender
from scheduler.reminders import meeting_reminders
from storage import meetings

LIMIT = 1_000  # messages a second the fake API allows
CITIZENS = 20_000
TOKEN = "123456:bench-token"


class RunningClock:
    """Real time, starting at a chosen moment of the scene."""

    def __init__(self, start: datetime) -> None:
        self.start, self.t0 = start, time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.t0)


class LimitedBotApi:
    """sendMessage with a one-second window limit; getMe for the client's start."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.window_start = 0.0
        self.in_window = 0
        self.accepted = 0
        self.too_many = 0
        self.texts: Counter[tuple[int, str]] = Counter()
        self.first = 0.0
        self.last = 0.0

    async def stats(self, request: web.Request) -> web.Response:
        duplicates = sum(n - 1 for n in self.texts.values() if n > 1)
        rate = self.accepted / (self.last - self.first) if self.last > self.first else 0.0
        return web.json_response(
            {"accepted": self.accepted, "too_many": self.too_many, "duplicates": duplicates,
             "rate": rate}
        )  # fmt: skip

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "getMe":
            return web.json_response(
                {
                    "ok": True,
                    "result": {
                        "id": 123456,
                        "is_bot": True,
                        "first_name": "Sanal",
                        "username": "sanal_bot",
                    },
                }
            )
        if method != "sendMessage":
            return web.json_response({"ok": True, "result": True})
        body: dict[str, Any] = dict(await request.post())
        if not body:
            body = await request.json()
        now = time.perf_counter()
        if now - self.window_start >= 1.0:
            self.window_start, self.in_window = now, 0
        if self.in_window >= self.limit:
            self.too_many += 1
            return web.json_response(
                {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                 "parameters": {"retry_after": 1}},
                status=429,
            )  # fmt: skip
        self.in_window += 1
        self.accepted += 1
        self.first = self.first or now
        self.last = now
        chat = int(body["chat_id"])
        self.texts[(chat, str(body["text"]))] += 1
        return web.json_response(
            {
                "ok": True,
                "result": {
                    "message_id": self.accepted,
                    "date": int(time.time()),
                    "chat": {"id": chat, "type": "private"},
                    "text": body["text"],
                },
            }
        )


def serve_fake(port: int, limit: int) -> None:
    """The fake Bot API in its own process: Telegram is not on our event loop either."""
    api = LimitedBotApi(limit)
    app = web.Application()
    app.add_routes([web.post("/bot{token}/{method}", api.handle), web.get("/stats", api.stats)])
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


async def main(citizens: int = CITIZENS) -> None:
    header(f"Broadcast: {citizens:,} khural reminders through Telegram, limit {LIMIT:,}/s")
    port = _free_port()
    fake = await asyncio.create_subprocess_exec(
        sys.executable, "-c", f"from bench.broadcast import serve_fake; serve_fake({port}, {LIMIT})"
    )
    api_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        app = new_app(
            Path(tmp),
            telegram_bot_token=TOKEN,
            telegram_api_url=api_url,
            telegram_rate_per_second=float(LIMIT),
        )
        await app.open()
        try:
            round_id, _ = await populate(app, citizens, 30, 0)
            async with app.db.write() as conn:
                await conn.execute(
                    "INSERT INTO identities (person_id, kind, address, created_at) "
                    "SELECT id, 'telegram', CAST(700000000 + id AS TEXT), created_at FROM people"
                )
                await conn.execute("UPDATE people SET channel = 'telegram'")
                meeting_at = START + timedelta(days=1, hours=6)
                await meetings.schedule(conn, round_id, meeting_at, "Багийн төв", START)
            t0 = time.perf_counter()
            fanout_at = START + timedelta(hours=7)  # 17:00 in the bag: the 1-day reminder
            queued = await meeting_reminders(app.db, app.settings, fanout_at)
            fanout = time.perf_counter() - t0
            bot, _ = make_bot(app.settings, TOKEN)
            for _ in range(100):  # the fake's process is starting
                try:
                    await bot.initialize()
                    break
                except NetworkError:
                    await asyncio.sleep(0.1)
            transport = TelegramTransport(bot, app.settings)
            # From the fan-out on, time runs as it really does: pacing and retry_after.
            running = RunningClock(fanout_at)
            transport.attach(app.db, running)
            sender = Sender(app.db, running, transport)
            t1 = time.perf_counter()
            while await _pending(app) > 0:
                if await sender.drain_once() == 0:
                    await asyncio.sleep(0.05)
            took = time.perf_counter() - t1
            await bot.shutdown()
            async with aiohttp.ClientSession() as session, session.get(f"{api_url}/stats") as r:
                stats = await r.json()
        finally:
            await app.stop()
            fake.terminate()
            await fake.wait()
    rate = stats["rate"]
    print(f"fan-out: {queued:,} reminders queued in {fanout * 1000:.0f} ms")
    print(f"sent {stats['accepted']:,} in {took:.1f} s: {rate:,.0f}/s against a limit of "
          f"{LIMIT:,}/s ({transport.concurrency} in flight)")  # fmt: skip
    print(f"ratio achieved/limit: {rate / LIMIT:.2f} (goal >= 0.9)   429s: {stats['too_many']} "
          f"(goal 0)   duplicates: {stats['duplicates']} (goal 0)")  # fmt: skip
    assert stats["accepted"] == queued == citizens, (stats, queued)


async def _pending(app: Any) -> int:
    rows = await app.db.fetchall(
        "SELECT count(*) AS n FROM outbox WHERE channel = 'telegram' AND status IN "
        "('queued', 'sending')"
    )
    return int(rows[0]["n"])


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else CITIZENS))
