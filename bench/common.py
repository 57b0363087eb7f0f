"""Helpers shared by the benchmarks: a populated database, timing, printing."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from storage import proposals, rounds
from storage.times import to_db

START = datetime(2027, 3, 2, 2, 0, tzinfo=UTC)
BAG = "644651"


def settings_for(folder: Path, **extra: Any) -> Settings:
    extra = {"db": folder / "sanal.db", "data_dir": folder, **extra}
    return Settings(_env_file=None, ballot_key=SecretStr("bench"), **extra)  # type: ignore[call-arg]


def header(title: str) -> None:
    print(f"\n== {title} (cores: {os.cpu_count()}) ==")


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = await fn()
    return time.perf_counter() - t0, result


async def populate(
    app: Sanal,
    citizens: int,
    n_proposals: int,
    ballots: int,
    seed: int = 7,
    channel: str = "twilio",
) -> tuple[int, list[list[int]]]:
    """A voting round with ``citizens`` registered, ``ballots`` of them voted (1-3 choices).

    ``channel`` is where the citizens last wrote from: ``sim`` for a bench that drives
    them through the simulator, which refuses people of a real channel.

    Written with executemany straight into the tables: this builds the scene, it is not
    what is measured. Returns the round id and the ballots as lists of proposal numbers.
    """
    rng = random.Random(seed)
    now = START
    async with app.db.write() as conn:
        await conn.executemany(
            "INSERT INTO people (phone, bag_code, lang, status, created_at, channel) "
            "VALUES (?, ?, 'mn', 'approved', ?, ?)",
            [(f"+9769{i:07d}", BAG, to_db(now), channel) for i in range(citizens)],
        )
        rnd = await rounds.create(conn, bag_code=BAG, year=2028, now=now, status="voting")
        ids = []
        for n in range(n_proposals):
            p = await proposals.create(
                conn,
                round_id=rnd.id,
                person_id=None,
                text=f"Төсөл {n + 1}",
                beneficiaries=rng.randint(5, 200),
                cost_mnt=rng.randint(5, 80) * 1_000_000,
                flag=None,
                now=now,
            )
            await proposals.set_status(conn, p.id, "accepted")
            ids.append(p.id)
        # Popularity differs between projects, as in real rounds.
        weights = [rng.random() ** 2 for _ in ids]
        people_ids = [r[0] for r in await conn.execute_fetchall("SELECT id FROM people")]
        chosen_people = rng.sample(people_ids, ballots)
        all_ballots: list[list[int]] = []
        part_rows = []
        choice_rows: list[tuple[int, str, int]] = []
        for pid in chosen_people:
            k = rng.randint(1, 3)
            picks: set[int] = set()
            while len(picks) < k:
                picks.add(rng.choices(range(len(ids)), weights)[0])
            nums = sorted(picks)
            all_ballots.append([n + 1 for n in nums])
            part_rows.append((rnd.id, pid, "twilio"))
            vk = app.router.key.voter_key(rnd.id, pid)
            choice_rows.extend((rnd.id, vk, ids[n]) for n in nums)
        await conn.executemany(
            "INSERT INTO participation (round_id, person_id, channel) VALUES (?, ?, ?)", part_rows
        )
        await conn.executemany(
            "INSERT INTO ballot_choices (round_id, voter_key, proposal_id) VALUES (?, ?, ?)",
            choice_rows,
        )
    return rnd.id, all_ballots


def new_app(folder: Path, **extra: Any) -> Sanal:
    return Sanal(settings_for(folder, **extra), ManualClock(START))
