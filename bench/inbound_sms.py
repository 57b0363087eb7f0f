"""Benchmark 1: inbound SMS through the whole path, beside a bare endpoint.

`sanal serve` runs as its own process with Twilio switched on (replies go to a fake
Twilio REST API that accepts everything). 50 concurrent clients post signed webhooks:
each phone joins the bag, sends a proposal (politely refused: the round is voting) and
votes. The reference is a bare aiohttp endpoint, in its own process, that returns the
same empty TwiML; the same client load hits both, one after the other, in this run.

Measured: requests a second, p50 and p99 latency of the webhook (signature check and
durable inbox write; handling runs in the same process, held back while the burst lasts:
see bot/intake.py), then the time until every message is handled and every reply sent.
The shared machine's speed drifts by a quarter within a minute, so the two are measured in
ROUNDS alternating rounds (bare, then Sanal on fresh phones, then waiting until Sanal has
handled and answered everything), and the headline is the median of the rounds' ratios.
Checked: every ballot is in the database once, the tallies equal the ballots sent, and
each message got exactly one reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from bench.common import BAG, header, new_app, populate
from bench.memory import _free_port

PUBLIC = "https://bench.sanal.mn"
ACCOUNT = "AC" + "b" * 32
TOKEN = "bench-token"
CLIENTS = 50
PHONES = 4_000  # three webhooks each: 12,000 requests a round
ROUNDS = 3
PROJECTS = 30
BARE_SERVER = """
import sys
from aiohttp import web
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
async def sms(request):
    await request.post()
    return web.Response(text=TWIML, content_type="text/xml")
app = web.Application()
app.add_routes([web.post("/sms/twilio", sms), web.get("/healthz", lambda r: web.json_response({}))])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def _profile() -> list[str]:
    """BENCH_PROFILE=/tmp/serve.prof runs the server under cProfile, for looking into it."""
    out = os.environ.get("BENCH_PROFILE")
    return ["-m", "cProfile", "-o", out] if out else []


def _requests(
    phones: int, first: int = 0, seed: int = 11
) -> tuple[list[list[tuple[bytes, str]]], dict[int, int]]:
    """Signed form bodies, per phone in order (join, propose, vote), and the expected tally.

    Phones (and message ids) ``first`` to ``first + phones``: each round has its own."""
    rng = random.Random(seed + first)
    validator = RequestValidator(TOKEN)
    tally = dict.fromkeys(range(1, PROJECTS + 1), 0)
    per_phone = []
    sid = first * 3
    for i in range(first, first + phones):
        phone = f"+9768{i:07d}"
        choice = sorted(rng.sample(range(1, PROJECTS + 1), rng.randint(1, 3)))
        for n in choice:
            tally[n] += 1
        texts = [
            f"НЭГДЭХ {BAG}" if i % 3 else f"join {BAG}",
            "САНАЛ Худаг гаргах 40 өрх" if i % 2 else "sanal guur barih 60 urh",
            ("СОНГО " if i % 4 else "songo ") + " ".join(map(str, choice)),
        ]
        signed = []
        for text in texts:
            sid += 1
            params = {"MessageSid": f"SM{sid:032x}", "From": phone, "To": "+15005550006",
                      "Body": text}  # fmt: skip
            body = urlencode(params).encode()
            signed.append((body, validator.compute_signature(PUBLIC + "/sms/twilio", params)))
        per_phone.append(signed)
    return per_phone, tally


async def _load(url: str, per_phone: list[list[tuple[bytes, str]]]) -> tuple[float, list[float]]:
    """50 clients, each sending its phones' messages in order. Returns (seconds, latencies)."""
    latencies: list[float] = []
    queue = list(range(len(per_phone)))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    async def client(session: aiohttp.ClientSession) -> None:
        while queue:
            for body, sig in per_phone[queue.pop()]:
                t0 = time.perf_counter()
                async with session.post(
                    url, data=body, headers={**headers, "X-Twilio-Signature": sig}
                ) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"webhook answered {resp.status}")
                latencies.append(time.perf_counter() - t0)

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(CLIENTS)))
        return time.perf_counter() - t0, latencies


async def _wait_healthy(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(f"{url}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def serve_env(db: Path | str, port: int, fake_url: str) -> dict[str, str]:
    """`sanal serve`'s environment for a bench: Twilio pointed at the fake API, sends not
    paced, the flood limit out of the way, no scheduler."""
    return {
        **os.environ,
        "SANAL_DB": str(db),
        "SANAL_PORT": str(port),
        "SANAL_BALLOT_KEY": "bench",
        "SANAL_SMS_PROVIDER": "twilio",
        "SANAL_PUBLIC_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "SANAL_TWILIO_API_URL": fake_url,
        "SANAL_TWILIO_RATE_PER_SECOND": "100000",
        "SANAL_FLOOD_THRESHOLD": "100",
        "SANAL_SCHEDULER_ENABLED": "false",
    }


async def _fake_twilio() -> tuple[web.AppRunner, str, list[int]]:
    """Accepts every message (201), counting them."""
    count = [0]

    async def create(request: web.Request) -> web.Response:
        form = await request.post()
        count[0] += 1
        return web.json_response(
            {"sid": f"SM{count[0]:032x}", "status": "queued", "body": form.get("Body"),
             "to": form.get("To"), "num_segments": "1"},
            status=201,
        )  # fmt: skip

    app = web.Application()
    app.add_routes([web.post(f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json", create)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}", count


def _summary(seconds: float, latencies: list[float]) -> tuple[float, str]:
    """Requests a second, and that with p50 and p99 latency as one printable figure."""
    rps = len(latencies) / seconds
    q = statistics.quantiles(latencies, n=100)
    return rps, f"{rps:6,.0f} req/s (p50 {q[49] * 1000:4.1f} ms, p99 {q[98] * 1000:4.1f} ms)"


async def main(phones: int = PHONES, n_rounds: int = ROUNDS) -> None:
    header(
        f"Inbound SMS: {n_rounds} rounds of {phones * 3:,} signed Twilio webhooks, "
        f"{CLIENTS} concurrent clients"
    )
    rounds = [_requests(phones, first=r * phones) for r in range(n_rounds)]
    tally = {n: sum(t[n] for _, t in rounds) for n in range(1, PROJECTS + 1)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        app = new_app(folder)
        await app.open()
        await populate(app, 0, PROJECTS, 0)  # a voting round with 30 accepted proposals
        await app.stop()
        fake, fake_url, sent = await _fake_twilio()
        port = _free_port()
        env = serve_env(folder / "sanal.db", port, fake_url)
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            *_profile(),
            "-m",
            "bot.cli",
            "serve",
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        bare_port = _free_port()
        bare = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            BARE_SERVER,
            str(bare_port),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        ratios, ours_rps, drains = [], [], []
        try:
            await _wait_healthy(f"http://127.0.0.1:{port}")
            await _wait_healthy(f"http://127.0.0.1:{bare_port}")
            print(f"{'round':<6} {'sanal (full path)':<40} {'bare aiohttp endpoint':<40} ratio")
            for r, (per_phone, _) in enumerate(rounds, 1):
                bare_s, bare_lat = await _load(
                    f"http://127.0.0.1:{bare_port}/sms/twilio", per_phone
                )
                ours_s, ours_lat = await _load(f"http://127.0.0.1:{port}/sms/twilio", per_phone)
                t_drain = time.perf_counter()
                await _wait_handled(folder / "sanal.db", r * phones * 3)
                drains.append(time.perf_counter() - t_drain + ours_s)
                ours, ours_text = _summary(ours_s, ours_lat)
                ref, ref_text = _summary(bare_s, bare_lat)
                ratios.append(ours / ref)
                ours_rps.append(ours)
                print(f"{r:<6} {ours_text:<40} {ref_text:<40} {ours / ref:.2f}")
        finally:
            for proc, sig in ((server, signal.SIGINT), (bare, signal.SIGTERM)):
                with contextlib.suppress(ProcessLookupError):  # SIGINT: a clean stop
                    proc.send_signal(sig)
            await server.wait()
            await bare.wait()
            await fake.cleanup()
        ratio, rps = statistics.median(ratios), statistics.median(ours_rps)
        met = "met" if rps >= 1000 and ratio >= 0.5 else "NOT met"
        print(f"median: sanal {rps:,.0f} req/s, ratio sanal/bare {ratio:.2f}   goals: >= 1,000 "
              f"req/s and ratio >= 0.5 -> {met}")  # fmt: skip
        drain = statistics.median(drains)
        print(f"each round's {phones * 3:,} messages handled and replies sent {drain:.1f} s "
              f"(median) after its first request ({phones * 3 / drain:.0f} messages/s end "
              f"to end)")  # fmt: skip
        _check_ballots(folder / "sanal.db", phones * n_rounds, tally)
        total = phones * 3 * n_rounds
        assert sent[0] == total, f"{sent[0]} replies reached Twilio, not {total}"
        print(f"the fake Twilio API received {sent[0]:,} replies: one per message")


async def _wait_handled(db: Path, expected: int) -> int:
    """Until ``expected`` messages are handled and no reply is waiting to be sent."""
    while True:
        with sqlite3.connect(db) as conn:
            handled = conn.execute("SELECT count(*) FROM inbox WHERE status != 'pending'")
            n = handled.fetchone()[0]
            queued = conn.execute(
                "SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')"
            ).fetchone()[0]
        if n >= expected and queued == 0:
            return int(n)
        await asyncio.sleep(0.2)


def _check_ballots(db: Path, voters: int, tally: dict[int, int]) -> None:
    with sqlite3.connect(db) as conn:
        inbox = conn.execute("SELECT count(*), count(DISTINCT external_id) FROM inbox").fetchone()
        replies = conn.execute(
            "SELECT count(*), count(DISTINCT inbox_id) FROM outbox WHERE kind = 'reply'"
        ).fetchone()
        ballots = conn.execute("SELECT count(*) FROM participation").fetchone()[0]
        counts = dict(
            conn.execute(
                "SELECT p.number, count(*) FROM ballot_choices b "
                "JOIN proposals p ON p.id = b.proposal_id GROUP BY p.number"
            ).fetchall()
        )
    assert inbox[0] == inbox[1] == voters * 3, f"inbox {inbox}"
    assert replies[0] == replies[1] == voters * 3, f"replies {replies}"
    assert ballots == voters, f"{ballots} ballots for {voters} voters"
    assert counts == {n: c for n, c in tally.items() if c}, "tallies differ from ballots sent"
    print(f"checked: {voters:,} ballots, each once; tallies equal the ballots sent; "
          f"one reply per message")  # fmt: skip


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]  # [PHONES [ROUNDS]]
    asyncio.run(main(*args))
