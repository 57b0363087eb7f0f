"""`kill -9` of `sanal serve` during a burst of signed Twilio webhooks, then a restart.

The real server runs as a child process on the run's database (a SQLite file, or a
PostgreSQL database on the PostgreSQL pass: tests/suite_backend.py); a fake of Twilio's
REST API runs in this process on loopback, and the child's twilio Client sends every
reply to it.

A governor has opened bag 1's round and started its voting, bag 2 collects proposals. Then
a burst of webhooks (ballots, joins, proposals, list requests from many phones) is posted
by 20 concurrent clients, and the server is killed with SIGKILL at random points of it and
started again on the same database. As Twilio does, every webhook that was not answered
200 is posted again, and so are some that were (duplicates). Checked:

* right after each kill, before anything is re-sent: every webhook answered 200 so far is
  in the inbox (a 200 means "stored");
* at the end: every message handled once: one reply each (``reply:<inbox id>``), one
  proposal per proposer, one join per newcomer, one ballot per voter with the choices sent;
* Twilio got every outbox row exactly once: the rows' provider ids are all different and
  are exactly the messages the fake accepted, with the same number and text.

Rows a kill left mid-send are taken back by the restarted server at once (their owner's
lock is free: storage/lease_owners.py), and those whose send had started go through the
reconcile path (ask Twilio first, send only what it does not have). The last step drains
the outbox in this process with a clock past any lease, for what an orderly stop left.

`make test` runs 300 webhooks with 2 kills; `make soak` 2,000 with 6.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from twilio.request_validator import RequestValidator

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.wiring import build
from storage import people, proposals, roles, rounds
from storage.ballots import BallotKey, choices_of
from storage.db import fetchone
from storage.inbox import SEALED
from tests import suite_backend
from tests.channels.conftest import ACCOUNT, PUBLIC, TOKEN
from tests.conftest import ZAG_BAG_1, ZAG_BAG_2, make_settings
from tests.fakes.twilio_api import FakeTwilio
from tests.faults.serve import Server, free_port

GOV_1 = "+97699000001"
GOV_2 = "+97699000002"
FROM = "+15005550006"
BALLOT_KEY = "test-ballot-key"
CLIENTS = 20
ON_BALLOT = 5  # proposals accepted in bag 1 before the burst


@dataclass(frozen=True)
class Hook:
    sid: str
    phone: str
    body: str
    kind: str  # ballot, join, propose, list, setup


@dataclass
class Burst:
    """What the clients saw: which webhooks were answered 200, which were not."""

    ok: set[str] = field(default_factory=set)
    failed: list[Hook] = field(default_factory=list)
    posts: int = 0
    kills: int = 0
    lost_on_kill: int = 0  # webhooks answered 200 but missing right after a kill: must be 0


def _env(db: Path | str, fake: FakeTwilio) -> dict[str, str]:
    return {
        "SANAL_DB": str(db),
        "SANAL_BALLOT_KEY": BALLOT_KEY,
        "SANAL_SMS_PROVIDER": "twilio",
        "SANAL_PUBLIC_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": FROM,
        "SANAL_TWILIO_API_URL": fake.url,
        "SANAL_TWILIO_RATE_PER_SECOND": "1000",
        # The voting notice waits for 08:00 in the bag's zone (quiet hours): a burst at
        # night would leave it queued; these tests count replies, not notices.
        "SANAL_VOTING_NOTICE_SMS": "false",
    }


def _settings(folder: Path, fake: FakeTwilio) -> Settings:
    return make_settings(
        folder,
        sms_provider="twilio",
        public_url=PUBLIC,
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
        twilio_from_number=FROM,
        twilio_api_url=fake.url,
        twilio_rate_per_second=1000.0,
        scheduler_enabled=False,
    )


def _plan(n: int, rng: random.Random) -> tuple[list[Hook], dict[str, list[int]]]:
    """The burst: half ballots, a quarter joins, proposals and list requests. Each phone
    sends one message that changes something, so the end state does not depend on the
    order in which retries arrive."""
    hooks: list[Hook] = []
    choices: dict[str, list[int]] = {}
    kinds = ["ballot"] * 50 + ["join"] * 25 + ["propose"] * 15 + ["list"] * 10
    counts: Counter[str] = Counter()
    for i in range(n):
        kind = kinds[i % len(kinds)]
        k = counts[kind]
        counts[kind] += 1
        sid = f"SM{i:032x}"
        if kind == "ballot":
            phone = f"+9769920{k:04d}"
            chosen = rng.sample(range(1, ON_BALLOT + 1), rng.randint(1, 3))
            choices[phone] = sorted(chosen)
            word = rng.choice(["СОНГО", "songo", ""])
            hooks.append(Hook(sid, phone, f"{word} {' '.join(map(str, chosen))}".strip(), kind))
        elif kind == "join":
            code = rng.choice([ZAG_BAG_1, ZAG_BAG_2])
            hooks.append(Hook(sid, f"+9769940{k:04d}", f"НЭГДЭХ {code}", kind))
        elif kind == "propose":
            body = f"САНАЛ Худгийн засвар {k}, {rng.randint(10, 200)} өрх"
            hooks.append(Hook(sid, f"+9769930{k:04d}", body, kind))
        else:  # a voter asks for the list as well: no effect, one reply
            hooks.append(Hook(sid, f"+9769920{k:04d}", rng.choice(["ЖАГСААЛТ", "list"]), kind))
    rng.shuffle(hooks)
    return hooks, choices


class Poster:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.validator = RequestValidator(TOKEN)

    async def post(self, http: aiohttp.ClientSession, hook: Hook) -> bool:
        params = {"MessageSid": hook.sid, "AccountSid": ACCOUNT, "From": hook.phone}
        params |= {"To": FROM, "Body": hook.body, "NumSegments": "1"}
        signature = self.validator.compute_signature(f"{PUBLIC}/sms/twilio", params)
        try:
            async with http.post(
                f"{self.server.url}/sms/twilio",
                data=params,
                headers={"X-Twilio-Signature": signature},
                timeout=aiohttp.ClientTimeout(total=15),
            ) as resp:
                body = await resp.text()
                return resp.status == 200 and "<Response>" in body
        except (aiohttp.ClientError, TimeoutError):  # killed mid-request, or down
            return False


def _query(db: Path | str, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows read straight from the database, as a second program would (a SQLite file
    waits up to 30 s for the server's writer; PostgreSQL readers never wait)."""
    if not isinstance(db, Path):
        return suite_backend.rows(db, sql, *args)
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


async def _stored(db: Path | str, sids: set[str]) -> set[str]:
    rows = await asyncio.to_thread(
        _query, db, "SELECT external_id FROM inbox WHERE channel = 'twilio'"
    )
    return sids & {r[0] for r in rows}


async def _burst(
    server: Server, db: Path | str, hooks: list[Hook], kill_at: list[int], burst: Burst
) -> None:
    """Post every hook with CLIENTS concurrent clients; kill -9 the server when the count of
    answers reaches each point of ``kill_at``, check, restart, go on."""
    poster = Poster(server)
    queue: asyncio.Queue[Hook] = asyncio.Queue()
    for h in hooks:
        queue.put_nowait(h)
    up = asyncio.Event()
    up.set()
    answered = 0
    reached = asyncio.Event()
    points = sorted(kill_at)

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal answered
        while not queue.empty():
            await up.wait()
            try:
                hook = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            burst.posts += 1
            if await poster.post(http, hook):
                burst.ok.add(hook.sid)
            else:
                burst.failed.append(hook)
            answered += 1
            if points and answered >= points[0]:
                reached.set()

    finished = asyncio.Event()  # every hook posted and answered

    async def killer() -> None:
        while points:
            waits = [asyncio.ensure_future(e.wait()) for e in (reached, finished)]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
            if not reached.is_set():  # the rest of the points lie past the end: no kill
                return
            reached.clear()
            points.pop(0)
            up.clear()  # no new requests; those in flight die with the server
            await server.kill9()
            burst.kills += 1
            ok_so_far = set(burst.ok)
            burst.lost_on_kill += len(ok_so_far - await _stored(db, ok_so_far))
            await server.start()
            up.set()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS)) as http:
        kill_task = asyncio.create_task(killer())
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
        # A point reached by the last answers is still killed and restarted (cancelling the
        # killer mid-kill left a dead server taken for a live one); a failed restart raises.
        finished.set()
        await kill_task
        if not server.running:
            await server.start()


async def _wait_idle(db: Path | str, limit_seconds: float = 60.0) -> None:
    """Until nothing is pending in the inbox, nothing is queued in the outbox, and the rows
    being sent stay the same."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_seconds
    last: tuple[int, int, int] | None = None
    while True:
        [(pending,)] = await asyncio.to_thread(
            _query, db, "SELECT count(*) FROM inbox WHERE status = 'pending'"
        )
        [(queued, sending)] = await asyncio.to_thread(
            _query,
            db,
            "SELECT count(*) FILTER (WHERE status = 'queued'), "
            "count(*) FILTER (WHERE status = 'sending') FROM outbox",
        )
        now = (pending, queued, sending)
        if pending == 0 and queued == 0 and now == last:
            return
        assert loop.time() < deadline, f"{pending} inbox rows pending, {queued} replies queued"
        last = now
        await asyncio.sleep(0.5)


async def _prepare(folder: Path, fake: FakeTwilio, hooks: list[Hook]) -> None:
    """Citizens registered earlier (a registration week), and the two governors."""
    app = Sanal(_settings(folder, fake), ManualClock(datetime.now(UTC)))
    await app.open()
    now = app.clock.now()
    async with app.db.write() as conn:
        for gov, bag in ((GOV_1, ZAG_BAG_1), (GOV_2, ZAG_BAG_2)):
            person = await people.create(conn, now=now, phone=gov)
            await roles.grant(conn, person.id, "governor", bag, now)
            await people.set_bag(conn, person.id, bag, "approved", now)
        citizens = {(h.phone, ZAG_BAG_1) for h in hooks if h.kind in ("ballot", "list")}
        citizens |= {(h.phone, ZAG_BAG_2) for h in hooks if h.kind == "propose"}
        citizens |= {(f"+9769950{i:04d}", ZAG_BAG_1) for i in range(ON_BALLOT)}
        for phone, bag in sorted(citizens):
            person = await people.get_or_create_by_phone(conn, phone, now=now, lang="mn")
            await people.set_bag(conn, person.id, bag, "approved", now)
    await app.stop()


async def _setup_round(server: Server, db: Path | str) -> list[Hook]:
    """Through the server: governor 1 opens, five proposals, accepted, voting starts;
    governor 2 opens bag 2's round (collecting)."""
    steps = [
        [Hook("SMsetup00", GOV_1, "НЭЭХ", "setup"), Hook("SMsetup01", GOV_2, "НЭЭХ", "setup")],
        [
            Hook(f"SMsetup1{i}", f"+9769950{i:04d}", f"САНАЛ Төсөл {i + 1}, 50 өрх", "setup")
            for i in range(ON_BALLOT)
        ],
        [Hook("SMsetup20", GOV_1, "ЗӨВ " + " ".join(map(str, range(1, 6))), "setup")],
        [Hook("SMsetup30", GOV_1, "ХУРААЛТ", "setup")],
    ]
    poster = Poster(server)
    done: list[Hook] = []
    async with aiohttp.ClientSession() as http:
        for step in steps:
            for hook in step:
                assert await poster.post(http, hook)
                done.append(hook)
            await _wait_idle(db)
    [(status,)] = await asyncio.to_thread(
        _query, db, "SELECT status FROM rounds WHERE bag_code = ?", (ZAG_BAG_1,)
    )
    assert status == "voting"
    return done


async def _finish_outbox(folder: Path, fake: FakeTwilio) -> tuple[int, int]:
    """Send what killed processes left mid-send, as a restarted server does once their
    lease ends (and anything the last, orderly stop put back); returns how many rows that
    was, and how many of them Twilio had already (found by reconciling, not sent again)."""
    clock = ManualClock(datetime.now(UTC) + timedelta(minutes=3))
    app = build(_settings(folder, fake), clock)
    await app.open()
    for plugin in app.plugins:
        await plugin.start(app)
    try:
        leased = await app.db.fetchall("SELECT count(*) AS n FROM outbox WHERE status != 'sent'")
        creates = len(fake.creates())
        while await app.drain_outbox():
            pass
        n = int(leased[0]["n"])
        return n, n - (len(fake.creates()) - creates)
    finally:
        await app.stop()


async def run(tmp_path: Path, n: int, kills: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    hooks, choices = _plan(n, rng)
    db = suite_backend.db(tmp_path / "sanal.db")  # _settings(tmp_path)'s database too
    fake = await FakeTwilio(ACCOUNT, TOKEN, hang_seconds=1.0).start()
    server = Server(tmp_path, _env(db, fake), free_port())
    try:
        await _prepare(tmp_path, fake, hooks)
        await server.start()
        setup = await _setup_round(server, db)
        burst = Burst()
        kill_at = sorted(rng.sample(range(n // 10, n * 9 // 10), kills))
        await _burst(server, db, hooks, kill_at, burst)
        assert burst.kills == kills, "every kill point is inside the burst"
        assert burst.lost_on_kill == 0, "a webhook answered 200 was not in the database"
        # Twilio's retries: every webhook not answered 200, and some that were, again.
        first_ok = len(burst.ok)
        again = [h for h in hooks if h.sid not in burst.ok]
        again += rng.sample([h for h in hooks if h.sid in burst.ok], k=n // 10)
        retries = Burst(ok=set(burst.ok))
        await _burst(server, db, again, [], retries)
        while retries.failed:  # a retry that failed is retried later, as Twilio does
            left, retries.failed = retries.failed, []
            await _burst(server, db, left, [], retries)
        assert {h.sid for h in hooks} <= retries.ok
        await _wait_idle(db)
        assert await server.interrupt() == 0
        leased, found = await _finish_outbox(tmp_path, fake)
        await _check(tmp_path, fake, hooks, setup, choices)
        logs = server.logs()
        assert "Traceback" not in logs, logs[-3000:]
        assert "database is locked" not in logs, logs[-3000:]
        # The server's own output holds no secret and no voter's number.
        assert TOKEN not in logs
        assert BALLOT_KEY not in logs
        assert not [h.phone for h in hooks if h.phone in logs or h.phone[4:] in logs]
        return {
            "webhooks": n,
            "posts": burst.posts + retries.posts,
            "kills": burst.kills,
            "answered_200_first_time": first_ok,
            "resent": len(again),
            "left_mid_send": leased,
            "of_which_twilio_had": found,
            "replies_sent": len(fake.messages),
        }
    finally:
        if server.running:
            await server.kill9()
        await fake.close()


async def _check(
    folder: Path,
    fake: FakeTwilio,
    hooks: list[Hook],
    setup: list[Hook],
    choices: dict[str, list[int]],
) -> None:
    app = Sanal(_settings(folder, fake), ManualClock(datetime.now(UTC)))
    await app.open()
    try:
        db = app.db
        sids = {h.sid for h in hooks} | {h.sid for h in setup}
        inbox = await db.fetchall("SELECT id, external_id, status FROM inbox")
        assert sorted(r["external_id"] for r in inbox) == sorted(sids)  # each once
        assert {r["status"] for r in inbox} == {"handled"}
        # One reply per inbound message, each sent.
        replies = await db.fetchall(
            "SELECT inbox_id, count(*) AS n FROM outbox WHERE kind = 'reply' GROUP BY inbox_id"
        )
        assert {r["inbox_id"] for r in replies} == {r["id"] for r in inbox}
        assert {r["n"] for r in replies} == {1}
        # Each change made once: proposals, joins, ballots.
        proposers = [h.phone for h in hooks if h.kind == "propose"]
        made = await db.fetchall(
            "SELECT p.phone, count(*) AS n FROM proposals x JOIN people p ON p.id = x.person_id "
            "JOIN rounds r ON r.id = x.round_id WHERE r.bag_code = ? GROUP BY p.phone",
            (ZAG_BAG_2,),
        )
        assert {r["phone"]: r["n"] for r in made} == dict.fromkeys(proposers, 1)
        joiners = {h.phone for h in hooks if h.kind == "join"}
        joined = await db.fetchall(
            "SELECT actor, count(*) AS n FROM audit_log WHERE action = 'person.join' GROUP BY actor"
        )
        assert {r["actor"]: r["n"] for r in joined} == {f"tel:{p}": 1 for p in joiners}
        async with db.write() as conn:
            rnd = await rounds.current(conn, ZAG_BAG_1)
            assert rnd is not None
            assert rnd.status == "voting"
            number = {p.id: p.number for p in await proposals.of_round(conn, rnd.id)}
            key = BallotKey(BALLOT_KEY.encode())
            voters = await fetchone(
                conn, "SELECT count(*) AS n FROM participation WHERE round_id = ?", (rnd.id,)
            )
            keys = await fetchone(
                conn,
                "SELECT count(DISTINCT voter_key) AS n FROM ballot_choices WHERE round_id = ?",
                (rnd.id,),
            )
            assert voters is not None
            assert keys is not None
            assert voters["n"] == keys["n"] == len(choices)  # one ballot per voter
            for phone, chosen in choices.items():
                person = await people.by_phone(conn, phone)
                assert person is not None
                ids = await choices_of(conn, key, rnd.id, person.id)
                assert sorted(number[i] for i in ids) == chosen, phone
        # Twilio got every outbox row once: its messages are exactly our rows.
        rows = await db.fetchall("SELECT address, text, status, provider_id FROM outbox")
        assert {r["status"] for r in rows} == {"sent"}
        ids = [r["provider_id"] for r in rows]
        extra = [(m.to, m.body[:50], m.created) for m in fake.messages if m.sid not in set(ids)]
        assert len(set(ids)) == len(ids) == len(fake.messages), extra
        at_fake = {m.sid: (f"tel:{m.to}", m.body) for m in fake.messages}
        # A reply to a ballot is sealed once sent (ballot secrecy): its address is kept.
        sealed = {r["provider_id"] for r in rows if r["text"] == SEALED}
        at_fake |= {sid: (at_fake[sid][0], SEALED) for sid in sealed if sid in at_fake}
        assert {r["provider_id"]: (r["address"], r["text"]) for r in rows} == at_fake
    finally:
        await app.stop()


async def test_kill9_during_a_burst_loses_and_doubles_nothing(tmp_path: Path) -> None:
    report = await run(tmp_path, n=300, kills=2, seed=7)
    print("kill -9:", report)


@pytest.mark.soak
async def test_kill9_soak(tmp_path: Path) -> None:
    seed = int(os.environ.get("SANAL_SEED", "2027"))
    report = await run(tmp_path, n=2_000, kills=6, seed=seed)
    print("kill -9 (soak):", report)
