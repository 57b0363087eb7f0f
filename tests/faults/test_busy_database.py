"""A second writer holds the database: people wait a moment, nobody sees "database is locked"."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from tests.conftest import Phone


def _hold_write_lock(path: str, seconds: float, ready: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO settings_kv VALUES ('other-process', '1')")
    ready.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


async def test_messages_wait_for_another_writer(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(sanal.db.path, 1.5, ready))
    holder.start()
    await asyncio.to_thread(ready.wait)
    try:
        phones = [Phone(client, f"+9769911000{i}") for i in range(5)]
        replies = await asyncio.gather(*(p.say("НЭГДЭХ 644651") for p in phones))
    finally:
        await asyncio.to_thread(holder.join)
    assert all("Баянбулаг" in r for r in replies), replies
    assert all("locked" not in r for r in replies)
    rows = await sanal.db.fetchall("SELECT status FROM inbox")
    assert [r["status"] for r in rows] == ["handled"] * 5
