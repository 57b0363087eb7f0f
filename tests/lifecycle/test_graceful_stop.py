"""SIGTERM (what systemd, Docker and Kubernetes send) and SIGINT (Ctrl+C) during a burst
of signed Twilio webhooks: an orderly stop, exit code 0, within the stop timeout.

The world is the one of tests/faults/test_kill9.py: a real `sanal serve` child on the
run's database (a SQLite file, or a PostgreSQL database on that pass), a fake of Twilio's
REST API on loopback (here answering after 100 ms, as the real one does from far away, so
that sends are in flight when the signal comes), a round in its voting stage, and 20
concurrent clients posting ballots, joins, proposals and list requests. Halfway, the
signal. Checked right after the process exits, before anything else touches the database:

* exit code 0, within ``SANAL_STOP_TIMEOUT_SECONDS`` (plus the interpreter's exit);
* every webhook answered 200 is in the inbox (the requests in flight at the signal
  finished: before this, about 100 of a 1,500 burst were cut);
* no outbox row is left "sending": the sends in flight finished and were recorded (a
  kill -9 leaves rows leased for two minutes, and some sent twice).

Then, as Twilio would not (it does not retry), the webhooks that got no answer are posted
to a restarted server; at the end every message is handled once, with one reply each,
and Twilio got each reply exactly once (test_kill9's checks).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests import suite_backend
from tests.channels.conftest import ACCOUNT, TOKEN
from tests.fakes.twilio_api import FakeTwilio
from tests.faults.serve import Server, free_port
from tests.faults.test_kill9 import (
    Hook,
    Poster,
    _check,
    _env,
    _plan,
    _prepare,
    _query,
    _setup_round,
    _stored,
    _wait_idle,
)

CLIENTS = 20
STOP_LIMIT = 10.0  # SANAL_STOP_TIMEOUT_SECONDS for the child
EXIT_SLACK = 5.0  # the interpreter's own exit, on a busy test machine


class FarTwilio(FakeTwilio):
    """Twilio 100 ms away: a send takes a while, so some are in flight at the signal."""

    async def _create(self, request: web.Request) -> web.Response:
        await asyncio.sleep(0.1)
        return await super()._create(request)


async def _burst_with_signal(
    server: Server, hooks: list[Hook], at: int, signum: signal.Signals
) -> dict[str, object]:
    """Post every hook with CLIENTS concurrent clients; when ``at`` have been answered,
    send ``signum`` to the server (the clients go on, as providers do, and are refused)."""
    assert server.proc is not None
    proc = server.proc
    poster = Poster(server)
    queue = list(reversed(hooks))
    ok: set[str] = set()
    failed: list[Hook] = []
    answered = 0
    signalled = asyncio.Event()
    sent_at = 0.0
    in_flight_ok = in_flight_cut = 0

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal answered, in_flight_ok, in_flight_cut
        while queue:
            hook = queue.pop()
            before = signalled.is_set()
            good = await poster.post(http, hook)
            (ok.add(hook.sid) if good else failed.append(hook))
            if not before and signalled.is_set():  # was in flight when the signal came
                in_flight_ok += good
                in_flight_cut += not good
            answered += 1
            if answered == at:
                nonlocal sent_at
                sent_at = time.monotonic()
                proc.send_signal(signum)
                signalled.set()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS)) as http:
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
    try:
        code = await asyncio.wait_for(proc.wait(), STOP_LIMIT + EXIT_SLACK)
    except TimeoutError:
        await server.kill9()
        raise AssertionError(f"no exit within {STOP_LIMIT + EXIT_SLACK}s") from None
    return {
        "ok": ok,
        "failed": failed,
        "code": code,
        "stop_seconds": time.monotonic() - sent_at,
        "in_flight_answered_200": in_flight_ok,
        "in_flight_cut": in_flight_cut,
    }


async def run(tmp_path: Path, signum: signal.Signals, n: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    hooks, choices = _plan(n, rng)
    db = suite_backend.db(tmp_path / "sanal.db")  # _prepare's and _check's database too
    fake = await FarTwilio(ACCOUNT, TOKEN, hang_seconds=1.0).start()
    env = _env(db, fake) | {"SANAL_STOP_TIMEOUT_SECONDS": str(STOP_LIMIT)}
    server = Server(tmp_path, env, free_port())
    try:
        await _prepare(tmp_path, fake, hooks)
        await server.start()
        setup = await _setup_round(server, db)
        seen = await _burst_with_signal(server, hooks, n // 2, signum)
        # Right after the exit, before anything else opens the database.
        assert seen["code"] == 0, server.logs()[-3000:]
        assert isinstance(seen["stop_seconds"], float)
        assert seen["stop_seconds"] <= STOP_LIMIT + EXIT_SLACK
        ok = seen["ok"]
        assert isinstance(ok, set)
        assert await _stored(db, ok) == ok, "a webhook answered 200 was not stored"
        [(sending,)] = await asyncio.to_thread(
            _query, db, "SELECT count(*) FROM outbox WHERE status = 'sending'"
        )
        assert sending == 0, "a send in flight was cut, not finished and recorded"
        [(cut,)] = await asyncio.to_thread(
            _query, db, "SELECT count(*) FROM outbox WHERE error_count > 0"
        )
        assert cut == 0, "a send failed at the stop (its connection closed under it)"
        logs = server.logs()
        assert "stopped in order" in logs, logs[-3000:]
        assert "Traceback" not in logs, logs[-3000:]
        # The provider's side of it: what got no answer is posted again to a new start.
        await server.start()
        failed = seen["failed"]
        assert isinstance(failed, list)
        async with aiohttp.ClientSession() as http:
            poster = Poster(server)
            for hook in failed:
                assert await poster.post(http, hook)
        await _wait_idle(db)
        assert await server.interrupt() == 0
        [(left,)] = await asyncio.to_thread(
            _query, db, "SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')"
        )
        assert left == 0
        await _check(tmp_path, fake, hooks, setup, choices)
        assert "Traceback" not in server.logs()
        return {k: v for k, v in seen.items() if k not in ("ok", "failed")} | {
            "answered_200_before_exit": len(ok),
            "posted_again": len(failed),
            "replies_sent": len(fake.messages),
        }
    finally:
        if server.running:
            await server.kill9()
        await fake.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_mid_burst_stops_in_order(tmp_path: Path, signum: signal.Signals) -> None:
    report = await run(tmp_path, signum, n=300, seed=11)
    print(f"{signum.name} mid-burst:", report)


@pytest.mark.soak
async def test_sigterm_mid_burst_soak(tmp_path: Path) -> None:
    """The issue's figure: 1,500 webhooks, SIGTERM at 750 answered."""
    report = await run(
        tmp_path, signal.SIGTERM, n=1_500, seed=int(os.environ.get("SANAL_SEED", "5"))
    )
    print("SIGTERM mid-burst (soak):", report)


async def test_a_stop_that_cannot_finish_is_cut_at_the_timeout(tmp_path: Path) -> None:
    """Twilio hangs on a send (30 s) and the stop timeout is 2 s: the process still exits
    within the bound, with code 1 and a line saying the stop was cut short. The reply is
    left for the next start, which asks Twilio before sending it again."""
    hooks, _ = _plan(4, random.Random(3))
    db = suite_backend.db(tmp_path / "sanal.db")
    fake = await FakeTwilio(ACCOUNT, TOKEN, hang_seconds=30.0, script=["hang"]).start()
    env = _env(db, fake) | {"SANAL_STOP_TIMEOUT_SECONDS": "2"}
    server = Server(tmp_path, env, free_port())
    try:
        await _prepare(tmp_path, fake, hooks)
        await server.start()
        async with aiohttp.ClientSession() as http:
            assert await Poster(server).post(http, hooks[0])
        for _ in range(200):  # until the reply's send is in flight at the hanging fake
            if fake.creates():
                break
            await asyncio.sleep(0.05)
        assert fake.creates(), "the reply was not sent"
        assert server.proc is not None
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(server.proc.wait(), 2 + EXIT_SLACK)
        seconds = time.monotonic() - started
        assert code == 1
        assert "stop cut short" in server.logs()
        assert "Traceback" not in server.logs()
        [(inbox,)] = await asyncio.to_thread(_query, db, "SELECT count(*) FROM inbox")
        assert inbox == 1
        print(f"cut short after {seconds:.1f}s")
    finally:
        if server.running:
            await server.kill9()
        await fake.close()
