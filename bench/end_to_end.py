"""Benchmark 5: messages handled and answered end to end, beside the webhook storing them.

`sanal serve` runs as its own process (under bench/sql_count.py, which counts its database
round trips) with Twilio switched on; replies go to a fake Twilio REST API on loopback.
50 concurrent clients post signed webhooks as in benchmark 1: each phone joins the bag,
sends a proposal (refused: the round is voting) and votes.

Measured in each round, in the same run: the webhook's rate while the burst arrives (the
endpoint storing only: handling holds back while webhooks come, bot/intake.py), and the
rate end to end, from the round's first request until every message is handled and its
reply accepted by the fake Twilio API. Then, from the server's counts, the database round
trips per message: handling (router and handlers, savepoints and commits included),
storing, and sending. Checked: each ballot once, tallies equal to the ballots sent, one
reply per message.

``BENCH_E2E_PHONES`` (3 messages each; default 1,000) and ``BENCH_E2E_ROUNDS`` (default 2)
for a bigger run; ``BENCH_SQL_DETAIL=1`` prints the statements a message costs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import header, new_app, populate
from bench.inbound_sms import (
    ACCOUNT,
    CLIENTS,
    PROJECTS,
    PUBLIC,
    TOKEN,
    _check_ballots,
    _fake_twilio,
    _load,
    _profile,
    _requests,
    _summary,
    _wait_healthy,
)
from bench.memory import _free_port

PHONES = int(os.environ.get("BENCH_E2E_PHONES", "1000"))
ROUNDS = int(os.environ.get("BENCH_E2E_ROUNDS", "2"))
GOAL = 1_000  # messages a second end to end on 2 cores (issue 16)


def _cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process has used: what a message costs the server,
    whatever else shares the machine (its wall-clock rate drifts with them)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _until_answered(db: Path, expected: int) -> None:
    """Until ``expected`` messages are handled and no reply is waiting to be sent."""
    while True:
        # A new connection each time: one left open would keep reading its first snapshot.
        with contextlib.closing(sqlite3.connect(db)) as conn:
            handled = conn.execute("SELECT count(*) FROM inbox WHERE status != 'pending'")
            n = handled.fetchall()[0][0]
            queued = conn.execute(
                "SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')"
            ).fetchall()[0][0]
        if n >= expected and queued == 0:
            return
        await asyncio.sleep(0.05)


async def main(phones: int = PHONES, n_rounds: int = ROUNDS) -> None:
    per_round = phones * 3
    header(
        f"End to end: {n_rounds} rounds of {per_round:,} signed Twilio webhooks handled and "
        f"answered, {CLIENTS} concurrent clients"
    )
    rounds = [_requests(phones, first=r * phones) for r in range(n_rounds)]
    tally = {n: sum(t[n] for _, t in rounds) for n in range(1, PROJECTS + 1)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "sanal.db"
        app = new_app(folder)
        await app.open()
        await populate(app, 0, PROJECTS, 0)  # a voting round with 30 accepted proposals
        await app.stop()
        fake, fake_url, sent = await _fake_twilio()
        port = _free_port()
        counts_file = folder / "sql_counts.json"
        env = {
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
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            *_profile(),
            "-m",
            "bench.sql_count",
            str(counts_file),
            "serve",
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        webhook_rates, e2e_rates, cpu_ms = [], [], []
        try:
            await _wait_healthy(url)
            print(f"{'round':<6} {'end to end (handled and answered)':<36} "
                  f"{'webhook, storing only':<40} ratio  server CPU a message")  # fmt: skip
            for r, (per_phone, _) in enumerate(rounds, 1):
                t0, cpu0 = time.perf_counter(), _cpu_seconds(server.pid)
                load_s, latencies = await _load(f"{url}/sms/twilio", per_phone)
                await _until_answered(db, r * per_round)
                e2e = per_round / (time.perf_counter() - t0)
                cpu_ms.append((_cpu_seconds(server.pid) - cpu0) * 1000 / per_round)
                webhook, webhook_text = _summary(load_s, latencies)
                webhook_rates.append(webhook)
                e2e_rates.append(e2e)
                print(f"{r:<6} {f'{e2e:6,.0f} messages/s':<36} {webhook_text:<40} "
                      f"{e2e / webhook:.2f}  {cpu_ms[-1]:.2f} ms")  # fmt: skip
        finally:
            with contextlib.suppress(ProcessLookupError):  # SIGINT: a clean stop
                server.send_signal(signal.SIGINT)
            await server.wait()
            await fake.cleanup()
        e2e, webhook = statistics.median(e2e_rates), statistics.median(webhook_rates)
        met = "met" if e2e >= GOAL else "NOT met"
        print(f"median: {e2e:,.0f} messages/s end to end, webhook storing only "
              f"{webhook:,.0f} req/s (ratio {e2e / webhook:.2f})   goal: >= {GOAL:,} "
              f"messages/s -> {met}; server CPU {statistics.median(cpu_ms):.2f} ms a "
              f"message")  # fmt: skip
        total = per_round * n_rounds
        _print_counts(counts_file, total)
        _check_ballots(db, phones * n_rounds, tally)
        assert sent[0] == total, f"{sent[0]} replies reached Twilio, not {total}"


def _print_counts(counts_file: Path, messages: int) -> None:
    data = json.loads(counts_file.read_text(encoding="utf-8"))
    phases = ("handle", "store", "send")
    hops = {k: data["counts"].get(k, 0) / messages for k in phases}
    here = {k: data.get("inline", {}).get(k, 0) / messages for k in phases}
    print(f"database statements a message: handling {hops['handle'] + here['handle']:.1f}, "
          f"storing {hops['store'] + here['store']:.2f}, sending "
          f"{hops['send'] + here['send']:.2f}; of them round trips to its thread: "
          f"{sum(hops.values()):.2f} = {hops['handle']:.2f} + {hops['store']:.2f} + "
          f"{hops['send']:.2f}")  # fmt: skip
    for text, n in data["statements"]:
        print(f"  {n / messages:6.2f}  {text}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]  # [PHONES [ROUNDS]]
    asyncio.run(main(*args))
