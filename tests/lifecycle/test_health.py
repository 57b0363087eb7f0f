"""`/healthz` answers 503, with its reasons, whenever Sanal cannot do its job: the
database takes no write, its file is damaged, the disk is nearly full, the outbox is
stuck or failing, the scheduler has stopped sweeping. Before, it ran `SELECT 1` and said
"ok" on a full disk and on a malformed database.

Each condition is made for real on a real database: a read-only connection (SQLite's
`PRAGMA query_only`, which binds root too, unlike chmod; on the PostgreSQL pass the
database's `default_transaction_read_only`, as a standby or a DBA's lock would be), a page
of the SQLite file overwritten, a free-space floor above the disk's free space, a reply
left unsent, a scheduler stopped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.web import build_web_app
from bot.wiring import build
from scheduler.service import SchedulerService
from storage import outbox
from storage.postgres import PgDatabase
from tests import suite_backend
from tests.conftest import make_settings


async def health(client: TestClient[Any, Any]) -> tuple[int, dict[str, Any]]:
    resp = await client.get("/healthz")
    body: dict[str, Any] = await resp.json()
    assert body["ok"] is (resp.status == 200)
    return resp.status, body


def one(body: dict[str, Any], start: str) -> str:
    found = [p for p in body["problems"] if p.startswith(start)]
    assert len(found) == 1, body
    return found[0]


def overwrite_page(path: Path, number: int, page: int = 4096) -> None:
    """Random bytes over one page of the file, as a failing disk or a stray write would."""
    assert path.stat().st_size > page * (number + 5)
    with path.open("r+b") as f:
        f.seek(page * number)
        f.write(os.urandom(page))


async def test_healthy(client: TestClient[Any, Any]) -> None:
    status, body = await health(client)
    assert status == 200
    assert body["problems"] == []
    assert body["disk_free_mb"] > 0
    assert body["outbox_overdue"] == 0


async def refuse_writes(sanal: Sanal, refuse: bool) -> str:
    """The database takes no write (``refuse``) or takes them again; the words its refusal
    has. On a server: the database's own setting, set from another database (a read-only
    session cannot unset it), and the pool's connections made afresh to take it."""
    if not isinstance(sanal.db, PgDatabase):
        await sanal.db.writer.execute(f"PRAGMA query_only = {'ON' if refuse else 'OFF'}")
        return "readonly"
    url = urlsplit(sanal.db.path)
    name = url.path.strip("/")
    admin = url._replace(path="/postgres").geturl()
    change = (
        "SET default_transaction_read_only = on"
        if refuse
        else "RESET default_transaction_read_only"
    )
    await asyncio.to_thread(suite_backend.rows, admin, f"ALTER DATABASE {name} {change}")
    assert sanal.db._pool is not None
    await sanal.db._pool.expire_connections()
    return "read-only transaction"


async def test_a_database_that_takes_no_write(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    words = await refuse_writes(sanal, True)
    status, body = await health(client)
    assert status == 503
    assert words in one(body, "database not writable")
    await refuse_writes(sanal, False)
    assert (await health(client))[0] == 200


@pytest.mark.sqlite_only  # a server checks its own pages; Sanal reads none of its files
async def test_a_damaged_database_file(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    assert (await health(client))[0] == 200
    await sanal.db.writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    await asyncio.to_thread(overwrite_page, Path(sanal.db.path), 5)
    from bot import health as health_module

    # The whole file is read at most every few minutes: the test does not wait for that.
    health_module._file_checks.pop(sanal.db, None)
    status, body = await health(client)
    assert status == 503
    assert "Page 6" in one(body, "database file damaged")


@pytest.fixture
async def full_disk(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    free_mb = shutil.disk_usage(tmp_path).free // (1024 * 1024)
    settings = make_settings(tmp_path, min_free_disk_mb=free_mb + 10_000)
    app = Sanal(settings)
    await app.open()
    async with TestClient(TestServer(build_web_app(app))) as client:
        yield client
    await app.stop()


async def test_a_disk_nearly_full(full_disk: TestClient[Any, Any]) -> None:
    status, body = await health(full_disk)
    assert status == 503
    assert "MB free, fewer than" in one(body, "disk nearly full")


async def test_an_outbox_that_does_not_move(
    sanal: Sanal, clock: ManualClock, client: TestClient[Any, Any]
) -> None:
    """A reply queued and never sent (the senders are not running here, as when their task
    died); 16 minutes later that is a 503. Once it is sent, 200 again."""
    async with sanal.db.write() as conn:
        await outbox.enqueue(
            conn,
            dedupe_key="t:1",
            channel="sim",
            address="tel:+97699112233",
            text="Сайн",
            now=clock.now(),
        )
    assert (await health(client))[0] == 200  # due now: not stuck yet
    clock.advance(timedelta(minutes=16))
    status, body = await health(client)
    assert status == 503
    assert body["outbox_overdue"] == 1
    assert "over 15 min ago" in one(body, "outbox stuck")
    assert await sanal.drain_outbox() == 1
    assert (await health(client))[0] == 200


async def test_an_outbox_whose_provider_keeps_refusing(
    sanal: Sanal, clock: ManualClock, client: TestClient[Any, Any]
) -> None:
    async with sanal.db.write() as conn:
        await outbox.enqueue(
            conn,
            dedupe_key="t:2",
            channel="sim",
            address="tel:+97699112233",
            text="Сайн",
            now=clock.now(),
        )
        [row] = await outbox.claim_due(conn, "sim", clock.now(), 1, timedelta(minutes=2))
        for attempt in range(3):  # as the sender records three 5xx answers
            later = clock.now() + timedelta(seconds=5 * (attempt + 1))
            assert await outbox.mark_retry(conn, row.id, "HTTP 500", later) == "queued"
    status, body = await health(client)
    assert status == 503
    assert body["outbox_failing"] == 1
    one(body, "outbox failing")


async def test_a_scheduler_that_stopped_sweeping(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, scheduler_enabled=True, sweep_interval_seconds=1)
    app = build(settings)
    await app.open()
    try:
        async with TestClient(TestServer(build_web_app(app))) as client:
            assert (await health(client))[1].get("last_sweep_seconds_ago") is None  # not started
            await app.start()
            [scheduler] = [s for s in app.services if isinstance(s, SchedulerService)]
            for _ in range(100):
                if scheduler.last_sweep_at is not None:
                    break
                await asyncio.sleep(0.05)
            status, body = await health(client)
            assert status == 200
            assert body["last_sweep_seconds_ago"] < 1
            await scheduler.stop()  # as when its job dies: no sweep comes any more
            await asyncio.sleep(4.5)  # four intervals
            status, body = await health(client)
            assert status == 503
            assert "every 1s" in one(body, "scheduler: no sweep for")
    finally:
        await app.stop()


def test_the_health_write_leaves_one_row(tmp_path: Path) -> None:
    """The health table never grows: one row, rewritten."""
    settings = make_settings(tmp_path)

    async def go() -> None:
        app = Sanal(settings)
        await app.open()
        async with TestClient(TestServer(build_web_app(app))) as client:
            for _ in range(3):
                assert (await health(client))[0] == 200
        await app.stop()

    asyncio.run(go())
    assert suite_backend.rows(settings.db, "SELECT count(*) FROM health") == [(1,)]


async def test_health_requests_at_once_share_one_write(sanal: Sanal) -> None:
    """A flood of /healthz (anyone the proxy lets through) is not a flood of writes."""
    from bot.health import report

    writes = 0
    original = sanal.db.write

    def counting_write() -> Any:
        nonlocal writes
        writes += 1
        return original()

    sanal.db.write = counting_write  # type: ignore[method-assign]
    answers = await asyncio.gather(*(report(sanal) for _ in range(50)))
    assert writes == 1
    assert all(a["ok"] for a in answers)
    await report(sanal)  # a later request checks afresh
    assert writes == 2
