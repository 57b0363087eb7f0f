"""Stale fan-outs are cancelled a batch a transaction, so that senders go on meanwhile."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage import outbox, reminders
from storage.db import Database, Tx
from storage.times import to_db

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


async def _fan_out(conn: Tx, round_id: int, n: int, *, expires_at: datetime) -> str:
    key, prefix = reminders.vote_fanout(round_id)
    for i in range(n):
        await outbox.enqueue(
            conn,
            dedupe_key=f"{prefix}{i}",
            channel="twilio",
            address=f"tel:+9769{i:07d}",
            text="Санал өгөөрэй",
            now=NOW - timedelta(hours=2),
            kind="reminder",
            round_id=round_id,
        )
    await reminders.record(
        conn,
        key=key,
        kind="vote",
        round_id=round_id,
        prefix=prefix,
        due_at=NOW - timedelta(hours=2),
        expires_at=expires_at,
        queued=n,
        now=NOW - timedelta(hours=2),
    )
    return prefix


async def _statuses(db: Database, prefix: str) -> dict[str, int]:
    rows = await db.fetchall(
        "SELECT status, count(*) AS n FROM outbox WHERE dedupe_key LIKE ? GROUP BY status",
        (prefix + "%",),
    )
    return {r["status"]: int(r["n"]) for r in rows}


async def test_a_large_stale_fan_out_is_cancelled_in_several_transactions(
    backend: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Database(backend) as db:
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO units (code, level, name, tz) "
                "VALUES ('64', 'aimag', 'Баянхонгор', 'Asia/Ulaanbaatar')"
            )
            for rid in (1, 2, 3):
                await conn.execute(
                    "INSERT INTO rounds (id, bag_code, year, status, created_at) "
                    "VALUES (?, '64', ?, 'voting', ?)",
                    (rid, 2026 + rid, to_db(NOW)),
                )
            stale = await _fan_out(conn, 1, 2_500, expires_at=NOW - timedelta(minutes=1))
            small = await _fan_out(conn, 2, 40, expires_at=NOW)  # expires now too
            live = await _fan_out(conn, 3, 30, expires_at=NOW + timedelta(hours=1))
        # Some of the stale one went out before it expired: those stay as they are.
        async with db.write() as conn:
            sent = await outbox.claim_due(conn, "twilio", NOW, 7, timedelta(minutes=2), "s1")
            for row in sent:
                await outbox.mark_sent(conn, row.id, f"SM{row.id}", 1, NOW)

        writes = 0
        real_write = db.write

        @contextlib.asynccontextmanager
        async def counted(**kwargs: Any) -> AsyncIterator[Tx]:
            nonlocal writes
            writes += 1
            async with real_write(**kwargs) as conn:
                yield conn

        monkeypatch.setattr(db, "write", counted)
        assert await reminders.expire_all(db, NOW, batch=1_000) == 2_500 + 40 - 7
        assert writes == 3  # 1,000 + 1,000 + the rest with the small one: each committed
        monkeypatch.undo()

        assert await _statuses(db, stale) == {"cancelled": 2_500 - 7, "sent": 7}
        assert await _statuses(db, small) == {"cancelled": 40}
        assert await _statuses(db, live) == {"queued": 30}
        expired = await db.fetchall(
            "SELECT key FROM reminder_fanouts WHERE expired_at IS NOT NULL ORDER BY key"
        )
        assert [r["key"] for r in expired] == ["vote:1", "vote:2"]
        # Done: a second sweep finds nothing (in one transaction).
        assert await reminders.expire_all(db, NOW) == 0


async def test_a_batch_stops_short_and_the_next_goes_on(backend: Path | str) -> None:
    """expire(limit=...) is one batch: the fan-out it stopped in is not marked expired
    until none of its messages is left queued."""
    async with Database(backend) as db:
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO units (code, level, name, tz) "
                "VALUES ('64', 'aimag', 'Баянхонгор', 'Asia/Ulaanbaatar')"
            )
            await conn.execute(
                "INSERT INTO rounds (id, bag_code, year, status, created_at) "
                "VALUES (1, '64', 2027, 'voting', ?)",
                (to_db(NOW),),
            )
            prefix = await _fan_out(conn, 1, 25, expires_at=NOW)
        counts = []
        for _ in range(4):
            async with db.write() as conn:
                counts.append(await reminders.expire(conn, NOW, limit=10))
        assert counts == [10, 10, 5, 0]
        assert await _statuses(db, prefix) == {"cancelled": 25}
        assert await db.fetchone(
            "SELECT 1 FROM reminder_fanouts WHERE key = 'vote:1' AND expired_at IS NOT NULL"
        )
