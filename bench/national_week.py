"""Benchmark: a national week replayed, compressed into minutes.

`sanal serve` runs as its own process with Twilio switched on (replies and reminders go to
a fake Twilio REST API on loopback) and its scheduler running, on a database with
BENCH_WEEK_BAGS bags (default 1,600) spread over every aimag and soum of the national
units file, BENCH_WEEK_CITIZENS citizens (default 300,000) over them, a governor and a
khural chair in each, and in each bag a round collecting proposals, 6 of them already
accepted, with its khural meeting on Sunday.

The week (local time, Monday 00:00 to Sunday 24:00): a fifth of the citizens join by SMS,
most of them early in the week; 3 % send a proposal until "collect until" (Wednesday
20:00); then the scheduler opens the vote and tells everyone, and 40 % vote until "vote
until" (Saturday 20:00), more of them as the deadline nears; the scheduler reminds those
who have not voted a day before, closes each round at the deadline (results to the
governor, the chair and the voters) and sends the meeting reminders (3 days, 1 day and
2 hours before the khural) to every registered citizen. Arrivals in each hour follow a
day's curve (night lull, a morning and a lunch rise, the evening peak).

The server's clock is this bench's: simulated time runs BENCH_WEEK_MINUTES (default 5)
wall minutes for the week, the compression factor printed. It stops a simulated minute
before each deadline until the messages sent before it are handled, and a minute after
each deadline and reminder until the scheduler has done it and sent what it queued: in a
real week a message is handled within a second and a fan-out has days to go out, so
nothing may miss its moment or be cancelled as stale because of the compression alone.
Each hold's wall time is printed: how long a national burst takes to go out.

Reported: messages in by kind, replies and scheduler messages out by kind, the inbound
backlog (inbox rows stored, not yet handled) and outbound backlog (outbox rows queued or
being sent) sampled from the database every half second, with their peaks, and the time
to drain them after the last arrival and after the last reminder came due. Checked: every
message stored and handled once with one reply, every ballot counted once, tallies equal
to the ballots sent, every reminder sent once to every citizen it was for, every governor
told the results, and the fake Twilio API received each sent message once.

BENCH_WEEK_PG=1 runs it on PostgreSQL too (tests/postgres.py's throwaway cluster).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import mmap
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator

from bench.common import header, settings_for
from bench.inbound_sms import PUBLIC, TOKEN, _fake_twilio, serve_env
from bench.memory import _free_port
from bot.app import Sanal
from bot.core.clock import UB, ManualClock
from bot.core.settings import parse_offsets

CITIZENS = int(os.environ.get("BENCH_WEEK_CITIZENS", "300000"))
BAGS = int(os.environ.get("BENCH_WEEK_BAGS", "1600"))
MINUTES = float(os.environ.get("BENCH_WEEK_MINUTES", "5"))
# Sanal's default meeting reminders.
REMINDERS = os.environ.get("BENCH_WEEK_REMINDERS", "3d,1d,2h")
VOTE_REMINDER_HOURS = 24  # Sanal's default
CLIENTS = 50
JOINING, PROPOSING, VOTING = 0.20, 0.03, 0.40  # shares of the citizens, this week
ON_BALLOT = 6  # proposals each bag accepted before the week
PROPOSALS = [
    "САНАЛ Худаг гаргах {} өрх",
    "sanal guur barih {} urh",
    "САНАЛ Цэцэрлэгийн хашаа {} хүүхэд",
]
YEAR = 2028
SAMPLE_EVERY = 0.5  # seconds between two looks at the backlogs

# The week, Ulaanbaatar time (a western bag's deadlines are the same moments).
WEEK = datetime(2027, 3, 1, 0, 0, tzinfo=UB)  # a Monday
COLLECT_UNTIL = WEEK + timedelta(days=2, hours=20)
VOTE_UNTIL = WEEK + timedelta(days=5, hours=20)
KHURAL = WEEK + timedelta(days=6, hours=14)
WEEK_SECONDS = 7 * 86_400
# Arrivals a local hour of the day, relative: night lull, morning and lunch, evening peak.
DAY_CURVE = [0.08, 0.04, 0.03, 0.03, 0.04, 0.1, 0.3, 0.6, 0.9, 1.0, 1.0, 1.05, 1.3, 1.2,
             1.0, 0.95, 1.0, 1.1, 1.4, 1.7, 1.8, 1.5, 0.8, 0.3]  # fmt: skip


def _sim(when: datetime) -> float:
    """Simulated seconds since the week began."""
    return (when - WEEK).total_seconds()


# ---------------------------------------------------------------- the server's clock


def _serve_with_shared_clock(clock_file: str) -> None:
    """`sanal serve` whose system clock is the week's, read from ``clock_file`` (a double:
    simulated seconds since WEEK, written by the bench): production code, another now()."""
    import runpy

    from bot.core import clock

    with open(clock_file, "r+b") as f:
        shared = mmap.mmap(f.fileno(), 8)
    week = WEEK.astimezone(UTC)

    def now(self: clock.SystemClock) -> datetime:
        return week + timedelta(seconds=struct.unpack_from("d", shared, 0)[0])

    clock.SystemClock.now = now  # type: ignore[method-assign]
    sys.argv[0] = "sanal"
    runpy.run_module("bot.cli", run_name="__main__", alter_sys=True)


@dataclass
class WeekClock:
    """Simulated time: ``factor`` simulated seconds a wall second, except that it stops at
    each of ``holds`` (simulated seconds) until released. Written to a shared file the
    server reads."""

    path: Path
    factor: float
    holds: list[float]
    _t0: float = 0.0
    _held: float = 0.0  # wall seconds spent held, released holds
    _hold_at: float | None = None  # the simulated moment it stands at
    hold_since: float = 0.0
    _map: mmap.mmap | None = None

    def open(self) -> None:
        self.path.write_bytes(struct.pack("d", 0.0))
        with self.path.open("r+b") as f:
            self._map = mmap.mmap(f.fileno(), 8)
        self._t0 = time.perf_counter()

    def now(self) -> float:
        if self._hold_at is not None:
            return self._hold_at
        sim = (time.perf_counter() - self._t0) * self.factor
        if self.holds and sim >= self.holds[0]:
            self._hold_at, self.hold_since = self.holds[0], time.perf_counter()
            return self._hold_at
        return sim

    @property
    def holding(self) -> bool:
        return self._hold_at is not None

    def release(self) -> None:
        """Time goes on from where it stood."""
        assert self._hold_at is not None
        self._held += time.perf_counter() - self.hold_since
        self._t0 = time.perf_counter() - self._hold_at / self.factor
        self._hold_at = None
        self.holds.pop(0)

    @property
    def held(self) -> float:
        extra = time.perf_counter() - self.hold_since if self._hold_at is not None else 0.0
        return self._held + extra

    def publish(self) -> None:
        assert self._map is not None
        struct.pack_into("d", self._map, 0, self.now())


# ---------------------------------------------------------------- the week's script


@dataclass(frozen=True, slots=True)
class Arrival:
    at: float  # simulated seconds since WEEK
    phone: str
    kind: str  # join | propose | vote
    text: str


@dataclass
class Scene:
    bags: list[str]
    citizens: dict[str, str]  # phone -> bag
    joiners: list[str]
    arrivals: list[Arrival]
    ballots: dict[int, int] = field(default_factory=dict)  # proposal id -> votes sent
    proposal_ids: dict[str, list[int]] = field(default_factory=dict)  # bag -> on the ballot
    officials: int = 0


def _minutes(start: datetime, end: datetime, shape: Callable[[float], float]) -> list[float]:
    """Weights of each simulated minute from start to end: the day's curve (local hour)
    times ``shape`` of the window's progress (0 at start, 1 at end)."""
    n = int((end - start).total_seconds() // 60)
    weights = []
    for m in range(n):
        when = start + timedelta(minutes=m)
        weights.append(DAY_CURVE[when.astimezone(UB).hour] * shape(m / n))
    return weights


def _times(
    rng: random.Random, k: int, start: datetime, end: datetime, shape: Callable[[float], float]
) -> list[float]:
    """``k`` arrival moments in [start, end), simulated seconds since WEEK."""
    if k == 0:
        return []
    weights = _minutes(start, end, shape)
    minutes = rng.choices(range(len(weights)), weights=weights, k=k)
    base = _sim(start)
    return [base + m * 60 + rng.random() * 60 for m in minutes]


def _pick_bags(codes: list[str], n: int, rng: random.Random) -> list[str]:
    """``n`` bags spread over the country: every soum's bags in turn, aimag by aimag."""
    if n > len(codes):
        raise SystemExit(f"BENCH_WEEK_BAGS={n}: the national units file has {len(codes)} bags")
    return sorted(rng.sample(codes, n))


def script(bag_codes: list[str], citizens: int, n_bags: int, seed: int = 16) -> Scene:
    """Who lives where, and what arrives when."""
    rng = random.Random(seed)
    bags = _pick_bags(bag_codes, n_bags, rng)
    # Bags differ in size (a soum centre's bag against a herders' one): lognormal weights.
    sizes = [rng.lognormvariate(0, 0.6) for _ in bags]
    home = rng.choices(bags, weights=sizes, k=citizens)
    phones = [f"+9768{i:07d}" for i in range(citizens)]
    citizen_bag = dict(zip(phones, home, strict=True))
    joiners = rng.sample(phones, round(citizens * JOINING))
    arrivals: list[Arrival] = []
    join_at = dict(
        zip(
            joiners,
            _times(
                rng,
                len(joiners),
                WEEK,
                COLLECT_UNTIL - timedelta(hours=1),
                lambda p: math.exp(-4 * p),
            ),
            strict=True,
        )
    )
    for phone, at in join_at.items():
        bag = citizen_bag[phone]
        text = f"НЭГДЭХ {bag}" if rng.random() < 0.7 else f"join {bag}"
        arrivals.append(Arrival(at, phone, "join", text))
    proposers = rng.sample(phones, round(citizens * PROPOSING))
    window_end = COLLECT_UNTIL - timedelta(hours=1)
    for phone, at in zip(
        proposers,
        _times(rng, len(proposers), WEEK, window_end, lambda p: 0.6 + p),
        strict=True,
    ):
        # A joiner proposes after joining (within the window).
        at = max(at, join_at.get(phone, 0.0) + 600)
        at = min(at, _sim(window_end))
        text = rng.choice(PROPOSALS).format(rng.randint(10, 300))
        arrivals.append(Arrival(at, phone, "propose", text))
    voters = rng.sample(phones, round(citizens * VOTING))
    ballot_start = COLLECT_UNTIL + timedelta(hours=1)
    ballot_end = VOTE_UNTIL - timedelta(hours=1)
    votes_at = _times(
        rng, len(voters), ballot_start, ballot_end,
        # A rise when the notice arrives, then more and more as the deadline nears.
        lambda p: 1.0 + 2.5 * math.exp(-p * 12) + 3.0 * p**3,
    )  # fmt: skip
    scene = Scene(bags, citizen_bag, joiners, arrivals)
    for phone, at in zip(voters, votes_at, strict=True):
        picks = sorted(rng.sample(range(1, ON_BALLOT + 1), rng.randint(1, 3)))
        word = "СОНГО" if rng.random() < 0.75 else "songo"
        arrivals.append(Arrival(at, phone, "vote", f"{word} {' '.join(map(str, picks))}"))
    arrivals.sort(key=lambda a: a.at)
    return scene


# What the clock waits for at a hold: (messages posted, inbox backlog, outbox backlog).
Condition = Callable[
    [int, int, int], Awaitable[bool]
]  # script() reads it; main() sets it for the run


async def build(app: Sanal, scene_of: Callable[[list[str]], Scene]) -> Scene:
    """The database as the week begins: units, people, officials, rounds, meetings.

    Written with executemany straight into the tables: this builds the scene, it is not
    what is measured."""
    from storage import meetings, proposals, roles, rounds
    from storage.times import to_db

    now = WEEK.astimezone(UTC) - timedelta(days=10)
    async with app.db.write() as conn:
        codes = [
            str(r[0])
            for r in await conn.execute_fetchall(
                "SELECT code FROM units WHERE level = 'bag' ORDER BY code"
            )
        ]
    scene = scene_of(codes)
    joining = set(scene.joiners)
    async with app.db.write() as conn:
        rows = [
            (phone, bag, to_db(now), to_db(now))
            for phone, bag in scene.citizens.items()
            if phone not in joining
        ]
        for i in range(0, len(rows), 20_000):
            await conn.executemany(
                "INSERT INTO people (phone, bag_code, lang, status, created_at, joined_at, "
                "channel) VALUES (?, ?, 'mn', 'approved', ?, ?, 'twilio')",
                rows[i : i + 20_000],
            )
        staff = [(f"+9769{i:07d}", bag, to_db(now), to_db(now))
                 for i, bag in enumerate(b for b in scene.bags for _ in range(2))]  # fmt: skip
        await conn.executemany(
            "INSERT INTO people (phone, bag_code, lang, status, created_at, joined_at, "
            "channel) VALUES (?, ?, 'mn', 'approved', ?, ?, 'twilio')",
            staff,
        )
        ids = {
            str(r[0]): int(str(r[1]))
            for r in await conn.execute_fetchall(
                "SELECT phone, id FROM people WHERE phone LIKE '+9769%'"
            )
        }
        for i, (phone, bag, _, _) in enumerate(staff):
            await roles.grant(conn, ids[phone], "governor" if i % 2 == 0 else "chair", bag, now)
        scene.officials = len(staff)
        for bag in scene.bags:
            rnd = await rounds.create(
                conn,
                bag_code=bag,
                year=YEAR,
                now=now,
                status="collecting",
                collect_until=COLLECT_UNTIL.astimezone(UTC),
                vote_until=VOTE_UNTIL.astimezone(UTC),
            )
            on_ballot = []
            for n in range(ON_BALLOT):
                p = await proposals.create(
                    conn,
                    round_id=rnd.id,
                    person_id=None,
                    text=f"Төсөл {n + 1}",
                    beneficiaries=20 + 10 * n,
                    cost_mnt=(n + 5) * 1_000_000,
                    flag=None,
                    now=now,
                )
                await proposals.set_status(conn, p.id, "accepted")
                on_ballot.append(p.id)
            scene.proposal_ids[bag] = on_ballot
            await meetings.schedule(conn, rnd.id, KHURAL.astimezone(UTC), "Сумын танхим", now)
    for a in scene.arrivals:
        if a.kind == "vote":
            ballot = scene.proposal_ids[scene.citizens[a.phone]]
            for number in a.text.split()[1:]:
                pid = ballot[int(number) - 1]
                scene.ballots[pid] = scene.ballots.get(pid, 0) + 1
    return scene


# ---------------------------------------------------------------- the replay


@dataclass
class Backlogs:
    samples: list[tuple[float, float, int, int]] = field(default_factory=list)  # wall, sim, in, out
    inbox_peak: tuple[int, float] = (0, 0.0)  # rows, simulated time
    outbox_peak: tuple[int, float] = (0, 0.0)

    def add(self, wall: float, sim: float, pending: int, queued: int) -> None:
        self.samples.append((wall, sim, pending, queued))
        if pending > self.inbox_peak[0]:
            self.inbox_peak = (pending, sim)
        if queued > self.outbox_peak[0]:
            self.outbox_peak = (queued, sim)


def _signed(arrivals: list[Arrival]) -> list[tuple[Arrival, bytes, str]]:
    validator = RequestValidator(TOKEN)
    out = []
    for n, a in enumerate(arrivals, 1):
        params = {"MessageSid": f"SM{n:032x}", "From": a.phone, "To": "+15005550006",
                  "Body": a.text}  # fmt: skip
        sig = validator.compute_signature(PUBLIC + "/sms/twilio", params)
        out.append((a, urlencode(params).encode(), sig))
    return out


def _print_hold(name: str, at: float, seconds: float, out: int) -> None:
    rate = f", {out / seconds:,.0f}/s" if out and seconds else ""
    print(f"  clock held at {_when(at)} {seconds:6.1f} s: {name} ({out:,} sent{rate})", flush=True)


def _ahead(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def _when(sim: float) -> str:
    return (WEEK + timedelta(seconds=sim)).strftime("%a %H:%M")


async def replay(
    url: str, db: Path | str, scene: Scene, clock: WeekClock, sent: list[int]
) -> dict[str, object]:
    """Post the week's webhooks as simulated time reaches them; sample the backlogs."""
    from bench.end_to_end import _query

    signed = _signed(scene.arrivals)
    queue: asyncio.Queue[tuple[Arrival, bytes, str] | None] = asyncio.Queue()
    last_of: dict[str, asyncio.Event] = {}
    backlogs = Backlogs()
    posted = [0]
    last_arrival = [0.0]
    behind = [0.0]  # the most simulated seconds an arrival was posted late
    end = _sim(KHURAL) + 60
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    done = asyncio.Event()

    async def client(session: aiohttp.ClientSession) -> None:
        while (item := await queue.get()) is not None:
            a, body, sig = item
            before = last_of.get(a.phone)
            mine = last_of[a.phone] = asyncio.Event()
            if before is not None:  # one phone's messages in order
                await before.wait()
            behind[0] = max(behind[0], clock.now() - a.at)
            async with session.post(
                url + "/sms/twilio", data=body, headers={**headers, "X-Twilio-Signature": sig}
            ) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"webhook answered {resp.status}")
            mine.set()
            posted[0] += 1
            last_arrival[0] = time.perf_counter()

    async def tick() -> None:
        while not done.is_set():
            clock.publish()
            await asyncio.sleep(0.01)

    async def sample() -> None:
        while not done.is_set():
            # Posted before the count is read: a message posted meanwhile may not be in it.
            posted_then = posted[0]
            [(pending, queued)] = await _query(
                db,
                "SELECT (SELECT count(*) FROM inbox WHERE status = 'pending'), "
                "(SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending'))",
            )
            p, q = int(str(pending)), int(str(queued))
            backlogs.add(time.perf_counter(), clock.now(), p, q)
            if clock.holding and at_hold[0] is None:
                at_hold[0] = sent[0]
            if clock.holding and await conditions[0](posted_then, p, q):
                out = sent[0] - (at_hold[0] or 0)
                took = time.perf_counter() - clock.hold_since
                held.append((names.pop(0), clock.now(), took, out))
                at_hold[0] = None
                _print_hold(*held[-1])  # as it happens: a full-size week is long
                conditions.pop(0)
                clock.release()
            await asyncio.sleep(SAMPLE_EVERY)

    sent_before = [0]

    async def handled(posted_then: int, pending: int, queued: int) -> bool:
        return posted_then >= sent_before[0] and pending == 0

    def rounds_in(status: str) -> Condition:
        async def moved(posted_then: int, pending: int, queued: int) -> bool:
            if queued:
                return False
            rows = await _query(db, f"SELECT count(*) FROM rounds WHERE status = '{status}'")  # noqa: S608 - a constant
            return int(str(rows[0][0])) == len(scene.bags)

        return moved

    def fanouts(kind: str, count: int) -> Condition:
        async def recorded(posted_then: int, pending: int, queued: int) -> bool:
            if queued:
                return False
            rows = await _query(db, f"SELECT count(*) FROM reminder_fanouts WHERE kind = '{kind}'")  # noqa: S608 - a constant
            return int(str(rows[0][0])) >= count * len(scene.bags)

        return recorded

    # In a real week the scheduler sweeps every 30 s, a message is handled within a second
    # and a fan-out has days to go out before the next: at this compression a sweep is
    # simulated hours apart, a backlog spans simulated hours, and a reminder still queued
    # when the next one comes is cancelled as stale. So the clock stops a simulated minute
    # before each deadline until what was sent before it is handled, and a minute after
    # each deadline or reminder until the scheduler has done it and every message it
    # queued is sent: nothing misses its moment because of the compression alone, and
    # how long each burst took to go out is measured.
    vote_reminder = VOTE_UNTIL - timedelta(hours=VOTE_REMINDER_HOURS)
    steps: list[tuple[datetime, int, str, Condition]] = [
        (COLLECT_UNTIL, -60, "ballots and proposals handled before collect-until", handled),
        (COLLECT_UNTIL, 60, "voting opened, every citizen told", rounds_in("voting")),
        (vote_reminder, 60, "vote reminders sent", fanouts("vote", 1)),
        (VOTE_UNTIL, -60, "ballots handled before vote-until", handled),
        (VOTE_UNTIL, 60, "rounds closed, results sent", rounds_in("closed")),
    ]
    for k, offset in enumerate(parse_offsets(REMINDERS), 1):
        steps.append(
            (
                KHURAL - offset,
                60,
                f"meeting reminders ({_ahead(offset)} ahead) sent",
                fanouts("meeting", k),
            )
        )
    steps.sort(key=lambda s: _sim(s[0]) + s[1])
    clock.holds = [_sim(when) + offset for when, offset, _, _ in steps]
    names = [name for _, _, name, _ in steps]
    conditions = [condition for _, _, _, condition in steps]
    # What, when (simulated), wall seconds, messages the fake Twilio API received meanwhile.
    held: list[tuple[str, float, float, int]] = []
    at_hold: list[int | None] = [None]
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    t0 = time.perf_counter()
    clock.open()
    async with aiohttp.ClientSession(connector=connector) as session:
        workers = [asyncio.create_task(client(session)) for _ in range(CLIENTS)]
        tasks = [asyncio.create_task(tick()), asyncio.create_task(sample())]
        i = 0
        while i < len(signed):
            sim = clock.now()
            while i < len(signed) and signed[i][0].at <= sim:
                queue.put_nowait(signed[i])
                i += 1
            # What a hold waits for: the messages sent before the deadline it stands at.
            sent_before[0] = i if clock.holding else sent_before[0]
            await asyncio.sleep(0.01)
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)
        sent_before[0] = len(signed)
        t_last = last_arrival[0]
        print(f"last of {len(signed):,} arrivals posted at {_when(clock.now())} "
              f"(simulated), {t_last - t0:.0f} s after the start; arrivals at most "
              f"{behind[0] / 60:.0f} simulated minutes behind the script", flush=True)  # fmt: skip
        # The rest of the week: the close, the last reminders; then until all is sent.
        while True:
            pending, queued = backlogs.samples[-1][2:]
            if clock.now() >= end and pending == 0 and queued == 0:
                break
            if time.perf_counter() - t0 > 3600 * 3:
                raise RuntimeError("the week did not drain within three hours")
            await asyncio.sleep(SAMPLE_EVERY)
        t_empty = backlogs.samples[-1][0]
        # The last reminder came due 2 hours before the khural.
        due = _sim(KHURAL - timedelta(hours=2))
        t_due = next(w for w, s, _, _ in backlogs.samples if s >= due)
        done.set()
        await asyncio.gather(*tasks)
    return {
        "backlogs": backlogs,
        "wall": t_empty - t0,
        "drain_after_arrival": t_empty - t_last,
        "drain_after_due": max(0.0, t_empty - t_due),
        "held": clock.held,
        "holds": held,
        "posted": posted[0],
    }


# ---------------------------------------------------------------- checks and report


async def check(db: Path | str, scene: Scene, posted: int, twilio: int) -> list[str]:
    """What is wrong with the end state; empty when all holds."""
    from bench.end_to_end import _query

    def n(v: object) -> int:
        return int(str(v))

    problems = []
    [(rows, distinct, pending, failed)] = await _query(
        db,
        "SELECT count(*), count(DISTINCT external_id), "
        "count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'failed') "
        "FROM inbox",
    )
    if not n(rows) == n(distinct) == posted == len(scene.arrivals):
        problems.append(f"inbox {rows} rows ({distinct} distinct) for {len(scene.arrivals)} sent")
    if n(pending) or n(failed):
        problems.append(f"{pending} messages left pending, {failed} failed")
    [(replies, replied)] = await _query(
        db, "SELECT count(*), count(DISTINCT inbox_id) FROM outbox WHERE kind = 'reply'"
    )
    if not n(replies) == n(replied) == posted:
        problems.append(f"{replies} replies to {replied} messages, for {posted}")
    voters = sum(a.kind == "vote" for a in scene.arrivals)
    [(ballots,)] = await _query(db, "SELECT count(*) FROM participation")
    if n(ballots) != voters:
        problems.append(f"{ballots} ballots counted for {voters} sent")
    counts = {
        n(p): n(c)
        for p, c in await _query(
            db, "SELECT proposal_id, count(*) FROM ballot_choices GROUP BY proposal_id"
        )
    }
    if counts != scene.ballots:
        problems.append("tallies differ from the ballots sent")
    # A reminder still queued when it is stale (the close, the next one, the meeting) is
    # cancelled, as Sanal does: counted in the report, not a fault.
    [(unsent, dup, outbox_sent)] = await _query(
        db,
        "SELECT count(*) FILTER (WHERE status NOT IN ('sent', 'delivered') AND NOT (status = "
        "'cancelled' AND kind = 'reminder')), "
        "count(*) - count(DISTINCT dedupe_key), "
        "count(*) FILTER (WHERE status IN ('sent', 'delivered')) FROM outbox",
    )
    if n(unsent) or n(dup):
        problems.append(f"outbox: {unsent} messages not sent, {dup} duplicate keys")
    if n(outbox_sent) != twilio:
        problems.append(f"{twilio} messages reached Twilio for {outbox_sent} sent")
    # Every registered citizen reminded of the meeting once per offset (3d, 1d, 2h); the
    # vote reminder to each who had not voted, once; what the fan-outs queued, all there.
    [(fanouts, vote_fanouts, queued_total)] = await _query(
        db,
        "SELECT count(*) FILTER (WHERE kind = 'meeting'), count(*) FILTER (WHERE kind = "
        "'vote'), coalesce(sum(queued), 0) FROM reminder_fanouts",
    )
    [(to_citizens, people_reminded, reminders)] = await _query(
        db,
        "SELECT count(*) FILTER (WHERE dedupe_key LIKE 'remind:meeting:%' AND person_id NOT IN "
        "(SELECT person_id FROM roles)), count(DISTINCT person_id) FILTER (WHERE dedupe_key "
        "LIKE 'remind:meeting:%'), count(*) FROM outbox "
        "WHERE kind = 'reminder'",
    )
    registered, staff = len(scene.citizens), scene.officials
    times = len(REMINDERS.split(","))
    if n(fanouts) != times * len(scene.bags) or n(to_citizens) != times * registered:
        problems.append(
            f"meeting reminders: {fanouts} fan-outs for {times * len(scene.bags)}, "
            f"{to_citizens} to citizens for {times * registered}"
        )
    if n(people_reminded) != registered + staff:
        problems.append(
            f"{people_reminded} people reminded of the meeting, not {registered + staff}"
        )
    if n(vote_fanouts) != len(scene.bags) or n(queued_total) != n(reminders):
        problems.append(
            f"{vote_fanouts} vote reminder fan-outs for {len(scene.bags)} bags; the fan-outs "
            f"queued {queued_total}, the outbox has {reminders} reminders"
        )
    [(results, governors)] = await _query(
        db,
        "SELECT count(*), (SELECT count(*) FROM roles WHERE role = 'governor') FROM outbox o "
        "JOIN roles r ON r.person_id = o.person_id AND r.role = 'governor' "
        "WHERE o.kind = 'result'",
    )
    if n(results) != n(governors) or n(governors) != len(scene.bags):
        problems.append(f"results to {results} of {governors} governors")
    [(closed,)] = await _query(db, "SELECT count(*) FROM rounds WHERE status = 'closed'")
    if n(closed) != len(scene.bags):
        problems.append(f"{closed} of {len(scene.bags)} rounds closed")
    return problems


async def _database(
    backend: str, folder: Path, url: str | None
) -> tuple[Path | str, Callable[[], None], Sanal]:
    """The database the week runs on, how to clean it up, and an app to build it with."""
    if url is not None:  # a PostgreSQL database given (the tests' cluster)
        target: Path | str = url
        stop: Callable[[], None] = lambda: None  # noqa: E731 - its owner drops it
    elif backend == "sqlite":
        target = folder / "sanal.db"
        stop = lambda: None  # noqa: E731 - the folder goes with its tmp
    else:
        from tests.postgres import Cluster

        cluster = await asyncio.to_thread(Cluster.start)
        target = await cluster.create()
        stop = cluster.stop
    app = Sanal(settings_for(folder, db=target), ManualClock(WEEK))
    return target, stop, app


async def run(
    citizens: int, bags: int, minutes: float, backend: str = "sqlite", url: str | None = None
) -> list[str]:
    """One week; returns the problems the checks found (empty: all held). ``url``: an
    empty PostgreSQL database to run on instead of a cluster of its own."""
    backend = "postgresql" if url else backend
    factor = WEEK_SECONDS / (minutes * 60)
    where = "SQLite" if backend == "sqlite" else "PostgreSQL"
    header(
        f"National week replay on {where}: {citizens:,} citizens over {bags:,} bags, the "
        f"week in {minutes:g} minutes (compression {factor:,.0f}x: a wall second is "
        f"{factor / 60:,.1f} simulated minutes)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(os.environ.get("BENCH_WEEK_KEEP") or tmp)  # a folder to look into after
        os.makedirs(folder, exist_ok=True)
        try:
            db, cleanup, app = await _database(backend, folder, url)
        except Exception as exc:  # no PostgreSQL here: say so and go on
            print(f"not run: {type(exc).__name__}: {str(exc)[:200]}")
            return []
        try:
            t_build = time.perf_counter()
            await app.open()
            scene = await build(app, lambda codes: script(codes, citizens, bags))
            await app.stop()
            kinds = Counter(a.kind for a in scene.arrivals)
            print(f"scene built in {time.perf_counter() - t_build:.0f} s: "
                  f"{len(scene.citizens) - len(scene.joiners):,} registered before the "
                  f"week, {scene.officials:,} officials; arriving: {kinds['join']:,} joins, "
                  f"{kinds['propose']:,} proposals, {kinds['vote']:,} ballots",
                  flush=True)  # fmt: skip
            fake, fake_url, received = await _fake_twilio()
            port = _free_port()
            env = serve_env(db, port, fake_url)
            env["SANAL_SCHEDULER_ENABLED"] = "true"
            env["SANAL_SWEEP_INTERVAL_SECONDS"] = "1"
            env["SANAL_MEETING_REMINDERS"] = REMINDERS
            env["SANAL_VOTE_REMINDER_HOURS"] = str(VOTE_REMINDER_HOURS)
            env["SANAL_FLOOD_THRESHOLD"] = "10"  # the default: no phone floods here
            if backend != "sqlite":
                env["SANAL_DATA_DIR"] = str(folder / "data")
            clock = WeekClock(folder / "clock", factor, [])
            clock.path.write_bytes(struct.pack("d", 0.0))
            log = folder / "serve.log"
            with log.open("wb") as errors:
                server = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bench.national_week", "--serve", str(clock.path),
                    "serve", env=env, stdout=subprocess.DEVNULL, stderr=errors,
                )  # fmt: skip
            try:
                from bench.end_to_end import _wait_listening

                try:
                    await _wait_listening(f"http://127.0.0.1:{port}")
                except RuntimeError:
                    print(log.read_text(errors="replace")[-2000:])
                    raise
                result = await replay(f"http://127.0.0.1:{port}", db, scene, clock, received)
            finally:
                with contextlib.suppress(ProcessLookupError):  # SIGINT: a clean stop
                    server.send_signal(signal.SIGINT)
                await server.wait()
                await fake.cleanup()
            await _report(db, scene, result, received[0])
            problems = await check(db, scene, int(str(result["posted"])), received[0])
        finally:
            cleanup()
    if problems:
        print("NOT consistent: " + "; ".join(problems))
    else:
        print(f"checked: {len(scene.arrivals):,} messages each stored and handled once with "
              f"one reply; {kinds['vote']:,} ballots each counted once, tallies equal to "
              f"the ballots sent; every reminder sent once to each citizen it was for; "
              f"every governor told the results")  # fmt: skip
    return problems


async def _report(db: Path | str, scene: Scene, result: dict[str, object], twilio: int) -> None:
    from bench.end_to_end import _query

    backlogs = result["backlogs"]
    assert isinstance(backlogs, Backlogs)
    intents = await _query(db, "SELECT intent, count(*) FROM inbox GROUP BY intent ORDER BY 2 DESC")
    print("messages in, as handled: " + ", ".join(f"{k} {int(str(c)):,}" for k, c in intents))
    out = await _query(
        db,
        "SELECT kind || CASE status WHEN 'cancelled' THEN ' cancelled as stale' ELSE '' END, "
        "count(*) FROM outbox GROUP BY 1 ORDER BY 2 DESC",
    )
    print("messages out: " + ", ".join(f"{k} {int(str(c)):,}" for k, c in out)
          + f" (the fake Twilio API received {twilio:,})")  # fmt: skip
    print(f"{'simulated day':<14} {'inbox backlog peak':>19} {'outbox backlog peak':>20}")
    for day in range(8):
        rows = [s for s in backlogs.samples if day * 86_400 <= s[1] < (day + 1) * 86_400]
        if rows:
            label = (WEEK + timedelta(days=day)).strftime("%a %d %b")
            print(f"{label:<14} {max(r[2] for r in rows):>19,} {max(r[3] for r in rows):>20,}")
    (ip, iat), (op, oat) = backlogs.inbox_peak, backlogs.outbox_peak
    print(f"peaks: inbound backlog {ip:,} messages at {_when(iat)}, outbound backlog {op:,} "
          f"at {_when(oat)} (simulated time)")  # fmt: skip
    holds = result["holds"]
    assert isinstance(holds, list)
    print(f"clock held {sum(h[2] for h in holds):.0f} s in all at {len(holds)} moments (above)")
    print(f"drained: both backlogs empty {result['drain_after_arrival']:.0f} s after the last "
          f"arrival, {result['drain_after_due']:.0f} s after the last reminder came due; "
          f"the week took {result['wall']:.0f} s of wall time, the clock held "
          f"{result['held']:.0f} s of it at the deadlines")  # fmt: skip


async def main() -> None:
    await run(CITIZENS, BAGS, MINUTES)
    if os.environ.get("BENCH_WEEK_PG") == "1":
        await run(CITIZENS, BAGS, MINUTES, "postgresql")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        clock_file = sys.argv.pop(2)
        sys.argv.pop(1)
        _serve_with_shared_clock(clock_file)
    else:
        asyncio.run(main())
