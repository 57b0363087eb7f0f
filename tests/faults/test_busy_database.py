"""A second writer holds the database: people wait a moment, nobody sees "database is locked".

The other writer is another program on the database, as a second `serve`, `sanal chat` or
an operator's shell would be: on SQLite a connection of its own holding the file's write
lock (``BEGIN IMMEDIATE``); on PostgreSQL a connection of its own holding the lock every
Sanal writer takes first (storage/postgres.py, ``WRITE_LOCK``), with a row written under
it. Either way the messages wait for it, then are each handled once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.settings import is_postgres_url
from tests.conftest import Phone

HOLD_SECONDS = 1.5


def _hold_sqlite(path: str, ready: threading.Event, until: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO settings_kv VALUES ('other-process', '1')")
    ready.set()
    until.wait()
    conn.execute("COMMIT")
    conn.close()


def _hold_postgres(url: str, ready: threading.Event, until: threading.Event) -> None:
    import asyncpg

    from storage.postgres import LOCK_SPACE, WRITE_LOCK

    async def hold() -> None:
        conn = await asyncpg.connect(url)
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", LOCK_SPACE, WRITE_LOCK)
                await conn.execute("INSERT INTO settings_kv VALUES ('other-process', '1')")
                ready.set()
                await asyncio.to_thread(until.wait)
        finally:
            await conn.close()

    asyncio.run(hold())


def hold_write_lock(where: str, ready: threading.Event, until: threading.Event) -> None:
    """Another program's write transaction on the database at ``where`` (a file's path or
    a URL), from ``ready`` until ``until`` is set: run it in a thread."""
    if is_postgres_url(where):
        _hold_postgres(where, ready, until)
    else:
        _hold_sqlite(where, ready, until)


async def test_messages_wait_for_another_writer(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    ready, until = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(sanal.db.path, ready, until))
    holder.start()
    await asyncio.to_thread(ready.wait)
    threading.Timer(HOLD_SECONDS, until.set).start()
    try:
        phones = [Phone(client, f"+9769911000{i}") for i in range(5)]
        replies = await asyncio.gather(*(p.say("НЭГДЭХ 644651") for p in phones))
    finally:
        until.set()
        await asyncio.to_thread(holder.join)
    assert all("Баянбулаг" in r for r in replies), replies
    assert all("locked" not in r for r in replies)
    rows = await sanal.db.fetchall("SELECT status FROM inbox")
    assert [r["status"] for r in rows] == ["handled"] * 5
    # The other writer's row is there too: it committed, nobody overwrote it.
    kept = await sanal.db.fetchall("SELECT value FROM settings_kv WHERE key = 'other-process'")
    assert [r["value"] for r in kept] == ["1"]
