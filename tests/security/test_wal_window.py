"""A vote's text does not linger in the live server's -wal file.

Every message is written before it is handled, and its text sealed in the handling
transaction; with SQLite's WAL the first frame (the text as typed) stays in the -wal file
until a checkpoint, which SQLite itself runs only every 1,000 pages. The scheduler's sweep
folds the WAL into the database, and the next write starts it over, cut to nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.core.clock import ManualClock
from bot.web import build_web_app
from bot.wiring import build
from scheduler.service import SchedulerService
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_settings
from tests.scheduler.world import open_voting_round

VOTE = "сонго 4 2"  # not the help text's example ("СОНГО 1 3")


def on_disk(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob("sanal.db*") if p.is_file())


# About SQLite's -wal file. PostgreSQL keeps a row's old version in its heap until a
# vacuum and in its own WAL: not covered here (README "Tests").
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
            await citizen.say("МИНИЙ")
            # The vote is sealed in its table row, but its first frame is still in the WAL.
            assert VOTE.encode() in on_disk(db)
            await scheduler._run(app)  # one sweep, as the scheduler runs it every 30 s
            await Phone(client, voters[1]).say("ТУСЛАМЖ")  # any next write
            assert VOTE.encode() not in on_disk(db)
            assert "сонголт: 2 4".encode() not in on_disk(db)  # the МИНИЙ answer
    finally:
        await app.stop()
