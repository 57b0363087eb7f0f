"""A vote's text does not linger in the live server's files after the next sweep.

Every message is written before it is handled, and its text sealed in the handling
transaction. With SQLite's WAL the first frame (the text as typed) stays in the -wal file
until a checkpoint, which SQLite itself runs only every 1,000 pages: the scheduler's sweep
folds the WAL into the database, and the next write starts it over, cut to nothing. On
PostgreSQL the row's old version, text as typed, stays in the table's heap until a
VACUUM, which autovacuum may put off for thousands of changes: the sweep vacuums the
sealed tables (storage.postgres.PgDatabase.purge_sealed).
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.core.clock import ManualClock
from bot.web import build_web_app
from bot.wiring import build
from scheduler.service import SchedulerService
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_settings
from tests.scheduler.world import open_voting_round

VOTE = "сонго 2 1"  # of the round's two proposals; not the help text's example ("СОНГО 1 3")


def on_disk(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob("sanal.db*") if p.is_file())


# About SQLite's -wal file; the PostgreSQL heap's twin is below.
@pytest.mark.sqlite_only
async def test_a_sweep_takes_a_sealed_vote_out_of_the_wal(
    tmp_path: Path, clock: ManualClock
) -> None:
    settings = make_settings(tmp_path)
    db = Path(settings.db)
    app = build(settings, clock)
    [scheduler] = [s for s in app.services if isinstance(s, SchedulerService)]
    await app.open()
    try:
        async with TestClient(TestServer(build_web_app(app))) as client:
            voters = await open_voting_round(app, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR)
            citizen = Phone(client, voters[0])
            await citizen.say(VOTE)
            answer = await citizen.say("МИНИЙ")  # "Та 1, 2 дугаарт санал өгсөн"
            assert "дугаарт санал өгсөн" in answer
            # The vote is sealed in its table row, but its first frame is still in the WAL.
            assert VOTE.encode() in on_disk(db)
            assert answer.encode() in on_disk(db)
            await scheduler._run(app)  # one sweep, as the scheduler runs it every 30 s
            await Phone(client, voters[1]).say("ТУСЛАМЖ")  # any next write
            assert VOTE.encode() not in on_disk(db)
            assert answer.encode() not in on_disk(db)
    finally:
        await app.stop()


async def heap_tuples_holding(url: str, table: str, text: str) -> int:
    """How many row versions of ``table``, live or dead, hold ``text`` in their data, read
    from the heap's pages themselves (pageinspect) as a copy of the data directory would
    show them, not through SQL's view of the live rows."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        pages = await conn.fetchval(
            "SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int", table
        )
        found = 0
        for page in range(pages):
            found += await conn.fetchval(
                "SELECT count(*) FROM heap_page_items(get_raw_page($1, $2)) "
                "WHERE position($3::bytea IN t_data) > 0",
                table,
                page,
                text.encode(),
            )
        return int(found)
    finally:
        await conn.close()


async def test_a_sweep_vacuums_a_sealed_vote_out_of_the_postgresql_heap(
    tmp_path: Path, clock: ManualClock, pg_url: str
) -> None:
    app = build(make_settings(tmp_path, db=pg_url, data_dir=tmp_path), clock)
    [scheduler] = [s for s in app.services if isinstance(s, SchedulerService)]
    await app.open()
    try:
        async with TestClient(TestServer(build_web_app(app))) as client:
            voters = await open_voting_round(app, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR)
            citizen = Phone(client, voters[0])
            await citizen.say(VOTE)
            answer = await citizen.say("МИНИЙ")
            assert "дугаарт санал өгсөн" in answer
            # Sealed in the live rows, but the old versions are still in the pages.
            assert await app.db.fetchone("SELECT 1 FROM inbox WHERE text = ?", (VOTE,)) is None
            assert await app.db.fetchone("SELECT 1 FROM outbox WHERE text = ?", (answer,)) is None
            assert await heap_tuples_holding(pg_url, "inbox", VOTE) == 1
            assert await heap_tuples_holding(pg_url, "outbox", answer) >= 1
            await scheduler._run(app)  # one sweep, as the scheduler runs it every 30 s
            assert await heap_tuples_holding(pg_url, "inbox", VOTE) == 0
            assert await heap_tuples_holding(pg_url, "outbox", answer) == 0
    finally:
        await app.stop()
