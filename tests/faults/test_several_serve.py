"""Two and three `sanal serve` processes on one PostgreSQL database, one killed mid-burst.

The processes share nothing but the database (storage/postgres.py: one serial writer
across processes, outbox claims that skip taken rows, sweeps in one process at a time,
senders' liveness as advisory locks, NOTIFY when messages are queued). Signed Twilio
webhooks are spread over them by concurrent clients, as a proxy would; one process is
killed with SIGKILL mid-burst and started again. Meanwhile the vote deadline of bag 3's
round passes, so every process's scheduler wants to close it. Checked, as in
test_kill9.py:

* every webhook answered 200 is in the inbox right after the kill;
* every message handled once (one reply each, one proposal, join and ballot each);
* the fake Twilio got every outbox row exactly once (none lost, none doubled), the rows
  the killed process left mid-send taken back by the live ones (their owner's lock went
  with its connection), with no process restarted for it;
* bag 3's round closed once: one close in the audit log, one result message a person.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from storage import people, roles
from tests.channels.conftest import ACCOUNT, PUBLIC, TOKEN
from tests.conftest import make_settings
from tests.fakes.twilio_api import FakeTwilio
from tests.faults import test_kill9 as kill9
from tests.faults.serve import Server, free_port
from tests.faults.test_kill9 import FROM, Hook, Poster

ZAG_BAG_3 = "644655"
GOV_3 = "+97699000003"
BAG_3_VOTERS = [f"+9769960{i:04d}" for i in range(3)]
CLOSE_IN = timedelta(seconds=3)  # bag 3's vote deadline, from the burst's start
WEBHOOKS = 150
CLIENTS = 12


def _env(url: str, fake: FakeTwilio) -> dict[str, str]:
    return {
        **kill9._env(Path("unused"), fake),
        "SANAL_DB": url,
        "SANAL_SWEEP_INTERVAL_SECONDS": "1",
        # No quiet hours: the results of a round closed at night would wait for 08:00.
        "SANAL_QUIET_START": "00:00",
        "SANAL_QUIET_END": "00:00",
    }


def _settings(folder: Path, fake: FakeTwilio, url: str) -> Settings:
    return make_settings(
        folder,
        db=url,
        data_dir=folder,
        sms_provider="twilio",
        public_url=PUBLIC,
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
        twilio_from_number=FROM,
        twilio_api_url=fake.url,
        twilio_rate_per_second=1000.0,
        scheduler_enabled=False,
        quiet_start=time(0),
        quiet_end=time(0),
    )


async def _rows(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def _wait_idle(url: str, limit_seconds: float = 30.0) -> None:
    """Until nothing is pending, queued or being sent (a killed process's leases are
    taken back by the live ones within a few seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_seconds
    while True:
        [row] = await _rows(
            url,
            "SELECT (SELECT count(*) FROM inbox WHERE status = 'pending') AS pending, "
            "(SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')) AS unsent",
        )
        if row["pending"] == 0 and row["unsent"] == 0:
            return
        assert loop.time() < deadline, dict(row)
        await asyncio.sleep(0.3)


async def _closed(url: str, bag: str, limit_seconds: float = 30.0) -> None:
    """Until the bag's round is closed (its deadline passed and a sweep came)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_seconds
    while True:
        [rnd] = await _rows(url, "SELECT status FROM rounds WHERE bag_code = $1", bag)
        if rnd["status"] == "closed":
            return
        assert loop.time() < deadline, f"bag {bag}'s round still {rnd['status']}"
        await asyncio.sleep(0.3)


async def _prepare_bag_3(settings: Settings) -> None:
    """Bag 3's governor and voters, beside test_kill9's people of bags 1 and 2."""
    app = Sanal(settings, ManualClock(datetime.now(UTC)))
    await app.open()
    now = app.clock.now()
    async with app.db.write() as conn:
        gov = await people.create(conn, now=now, phone=GOV_3)
        await roles.grant(conn, gov.id, "governor", ZAG_BAG_3, now)
        await people.set_bag(conn, gov.id, ZAG_BAG_3, "approved", now)
        for phone in BAG_3_VOTERS:
            person = await people.get_or_create_by_phone(conn, phone, now=now, lang="mn")
            await people.set_bag(conn, person.id, ZAG_BAG_3, "approved", now)
    await app.stop()


async def _setup(servers: list[Server], url: str) -> list[Hook]:
    """Through the servers, in turn: bag 1 votes on five proposals, bag 2 collects, bag 3
    votes on two and has two ballots already."""
    steps = [
        [
            Hook("SMsetup00", kill9.GOV_1, "НЭЭХ", "setup"),
            Hook("SMsetup01", kill9.GOV_2, "НЭЭХ", "setup"),
            Hook("SMsetup02", GOV_3, "НЭЭХ", "setup"),
        ],
        [
            Hook(f"SMsetup1{i}", f"+9769950{i:04d}", f"САНАЛ Төсөл {i + 1}, 50 өрх", "setup")
            for i in range(kill9.ON_BALLOT)
        ]
        + [
            Hook(f"SMsetup3{i}", BAG_3_VOTERS[i], f"САНАЛ Гүүр {i + 1}, 20 өрх", "setup")
            for i in range(2)
        ],
        [
            Hook("SMsetup20", kill9.GOV_1, "ЗӨВ 1 2 3 4 5", "setup"),
            Hook("SMsetup21", GOV_3, "ЗӨВ 1 2", "setup"),
        ],
        [
            Hook("SMsetup40", kill9.GOV_1, "ХУРААЛТ", "setup"),
            Hook("SMsetup41", GOV_3, "ХУРААЛТ", "setup"),
        ],
        [Hook(f"SMsetup5{i}", BAG_3_VOTERS[i], f"СОНГО {i + 1}", "setup") for i in range(2)],
    ]
    done: list[Hook] = []
    async with aiohttp.ClientSession() as http:
        for step in steps:
            for i, hook in enumerate(step):
                assert await Poster(servers[i % len(servers)]).post(http, hook)
                done.append(hook)
            await _wait_idle(url)
    statuses = await _rows(url, "SELECT bag_code, status FROM rounds ORDER BY bag_code")
    assert [(r["bag_code"], r["status"]) for r in statuses] == [
        (kill9.ZAG_BAG_1, "voting"),
        (kill9.ZAG_BAG_2, "collecting"),
        (ZAG_BAG_3, "voting"),
    ]
    return done


async def _burst(
    servers: list[Server], victim: Server, hooks: list[Hook], kill_at: int
) -> set[str]:
    """Post every hook, spread over the servers by CLIENTS clients, until each is answered
    200 (Twilio posts again what was not); kill -9 ``victim`` after ``kill_at`` answers,
    check that what it answered 200 is stored, start it again. Returns the sids answered
    200 before the kill."""
    queue: asyncio.Queue[Hook] = asyncio.Queue()
    for h in hooks:
        queue.put_nowait(h)
    ok: set[str] = set()
    answered = 0
    reached = asyncio.Event()
    turn = 0

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal answered, turn
        while not queue.empty():
            hook = queue.get_nowait()
            turn += 1
            server = servers[turn % len(servers)]
            if server.running and await Poster(server).post(http, hook):
                ok.add(hook.sid)
            else:  # a proxy would send it elsewhere; Twilio posts it again later
                queue.put_nowait(hook)
                await asyncio.sleep(0.05)
            answered += 1
            if answered >= kill_at:
                reached.set()

    async def killer() -> set[str]:
        await reached.wait()
        await victim.kill9()
        before = set(ok)
        stored = await _rows(url_of(victim), "SELECT external_id FROM inbox")
        assert before <= {r["external_id"] for r in stored}, "a 200 was not stored"
        await victim.start()
        return before

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS)) as http:
        kill = asyncio.create_task(killer())
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
        before = await kill
    assert {h.sid for h in hooks} <= ok
    return before


def url_of(server: Server) -> str:
    return server.env["SANAL_DB"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    fake = await FakeTwilio(ACCOUNT, TOKEN).start()
    yield fake
    await fake.close()


@pytest.mark.parametrize("processes", [2, 3])
async def test_several_serve_processes_one_killed(
    tmp_path: Path, pg_url: str, fake: FakeTwilio, processes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(processes)
    hooks, choices = kill9._plan(WEBHOOKS, rng)
    settings = _settings(tmp_path, fake, pg_url)
    # test_kill9's preparation and final checks, on this database.
    monkeypatch.setattr(kill9, "_settings", lambda folder, fake: settings)
    await kill9._prepare(tmp_path, fake, hooks)
    await _prepare_bag_3(settings)
    servers = []
    for i in range(processes):
        folder = tmp_path / f"serve{i}"
        folder.mkdir()
        servers.append(Server(folder, _env(pg_url, fake), free_port()))
    try:
        await asyncio.gather(*(s.start() for s in servers))
        setup = await _setup(servers, pg_url)
        # Bag 3's vote deadline passes during the burst: whichever process sweeps first
        # closes the round, the others find it closed.
        await _rows(
            pg_url,
            "UPDATE rounds SET vote_until = $1 WHERE bag_code = $2",
            (datetime.now(UTC) + CLOSE_IN).isoformat(timespec="seconds"),
            ZAG_BAG_3,
        )
        victim = servers[-1]
        before = await _burst(servers, victim, hooks, kill_at=WEBHOOKS // 2)
        assert before, "the kill came mid-burst"
        # Twilio's duplicates: some webhooks answered 200, posted again.
        again = rng.sample(hooks, k=WEBHOOKS // 10)
        async with aiohttp.ClientSession() as http:
            for i, hook in enumerate(again):
                assert await Poster(servers[i % processes]).post(http, hook)
        # A short burst may end before bag 3's deadline: the close comes by the sweeps.
        await _closed(pg_url, ZAG_BAG_3)
        await _wait_idle(pg_url)
        await _check_close(pg_url)
        for server in servers:
            assert await server.interrupt() == 0
        await kill9._check(tmp_path, fake, hooks, setup, choices)
        logs = "\n".join(s.logs() for s in servers)
        assert "Traceback" not in logs, logs[-3000:]
    finally:
        for server in servers:
            if server.running:
                await server.kill9()


async def _check_close(url: str) -> None:
    """Bag 3's round closed once, and each of its people was sent one result."""
    [rnd] = await _rows(url, "SELECT id, status FROM rounds WHERE bag_code = $1", ZAG_BAG_3)
    assert rnd["status"] == "closed"
    closes = await _rows(
        url, "SELECT count(*) AS n FROM audit_log WHERE action = 'round.close' AND round_id = $1",
        rnd["id"],
    )  # fmt: skip
    assert closes[0]["n"] == 1
    results = await _rows(
        url,
        "SELECT person_id, count(*) AS n, min(status) AS status FROM outbox "
        "WHERE round_id = $1 AND kind = 'result' GROUP BY person_id",
        rnd["id"],
    )
    assert results, "the close told nobody"
    assert {(r["n"], r["status"]) for r in results} == {(1, "sent")}
