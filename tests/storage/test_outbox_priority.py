"""Replies go before fan-outs: the claim takes urgent rows first, through its index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from storage import outbox
from storage.db import Database, Tx, applied_versions, migrate, migration_files
from storage.times import to_db

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
FANOUT = 5_000


async def _fan_out(db: Database, n: int, *, at: datetime = NOW) -> None:
    """``n`` meeting reminders, queued the way the scheduler queues them."""
    async with db.write() as conn:
        for i in range(n):
            await outbox.enqueue(
                conn,
                dedupe_key=f"remind:meeting:1:v1:20270301T1200Z:60m:{i}",
                channel="twilio",
                address=f"tel:+9769{i:07d}",
                text="Хурал 12:00",
                now=at,
                kind="reminder",
            )


async def _reply(db: Database, key: str, address: str, at: datetime) -> None:
    async with db.write() as conn:
        await outbox.enqueue(
            conn, dedupe_key=key, channel="twilio", address=address, text="Тийм", now=at
        )


async def test_a_reply_queued_after_a_fan_out_is_claimed_first(backend: Path | str) -> None:
    async with Database(backend) as db:
        await _fan_out(db, FANOUT)
        later = NOW + timedelta(minutes=1)
        await _reply(db, "reply:1", "tel:+97699000001", later)
        await _reply(db, "reply:2", "tel:+97699000001", later + timedelta(seconds=1))
        # What handling that message told a governor is waited for too.
        async with db.write() as conn:
            await outbox.enqueue(
                conn,
                dedupe_key="notice:1:0",
                channel="twilio",
                address="tel:+97699000002",
                text="Шинэ гишүүн",
                now=later,
                kind="notice",
            )
        async with db.write() as conn:
            rows = await outbox.claim_due(conn, "twilio", later + timedelta(seconds=2), 5, LEASE)
        # The chat's earlier reply before its later; then the fan-out, in its own order.
        assert [(r.kind, r.text) for r in rows[:3]] == [
            ("reply", "Тийм"),
            ("notice", "Шинэ гишүүн"),
            ("reply", "Тийм"),
        ]
        assert [r.address for r in rows[:3:2]] == ["tel:+97699000001"] * 2
        assert rows[0].id < rows[2].id
        assert [r.kind for r in rows[3:]] == ["reminder", "reminder"]
        assert [r.address for r in rows[3:]] == ["tel:+97690000000", "tel:+97690000001"]


async def test_a_reply_not_due_yet_waits_its_turn(backend: Path | str) -> None:
    """Urgency orders what is due; it does not make a retry's backoff shorter."""
    async with Database(backend) as db:
        await _fan_out(db, 3)
        async with db.write() as conn:
            await outbox.enqueue(
                conn,
                dedupe_key="reply:9",
                channel="twilio",
                address="tel:+97699000009",
                text="Дараа",
                now=NOW,
                not_before=NOW + timedelta(minutes=5),
            )
            rows = await outbox.claim_due(conn, "twilio", NOW, 10, LEASE, "s1")
        assert [r.kind for r in rows] == ["reminder"] * 3
        async with db.write() as conn:
            rows = await outbox.claim_due(conn, "twilio", NOW + timedelta(minutes=5), 10, LEASE)
        assert [r.kind for r in rows] == ["reply"]


async def test_the_claim_reads_its_index_not_the_whole_queue(backend: Path | str) -> None:
    async with Database(backend) as db:
        await _fan_out(db, FANOUT)
        # Many more not due yet (a voting notice held until the morning): never read.
        await _fan_out_held(db, FANOUT)
        async with db.write() as conn:
            if conn.dialect == "postgresql":
                await conn.execute("ANALYZE outbox")
            plans = [
                await outbox.claim_plan(conn, "twilio", NOW, urgent=urgent)
                for urgent in (True, False)
            ]
        # Searched by channel, urgency and due time, read in the index's order: no scan of
        # the table or of the not-due rows, no sort of the queue.
        for plan in plans:
            if db.writer.dialect == "sqlite":
                assert plan.startswith(
                    "SEARCH outbox USING INDEX outbox_claim "
                    "(channel=? AND urgent=? AND next_attempt_at<?)"
                ), plan
                assert "TEMP B-TREE" not in plan, plan
            else:
                assert "Index Scan using outbox_claim" in plan, plan
                assert "next_attempt_at <=" in plan.split("Index Cond:")[1], plan
                assert "Sort" not in plan, plan
                assert "Seq Scan" not in plan, plan


async def _fan_out_held(db: Database, n: int) -> None:
    async with db.write() as conn:
        for i in range(n):
            await outbox.enqueue(
                conn,
                dedupe_key=f"voting-open:1:{i}",
                channel="twilio",
                address=f"tel:+9768{i:07d}",
                text="Санал өгөх",
                now=NOW,
                kind="notice",
                not_before=NOW + timedelta(hours=10),
            )


@pytest.mark.sqlite_only  # builds a version-0015 SQLite file by hand
async def test_the_upgrade_marks_the_waiting_rows_of_an_older_queue(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "old.db") as conn:
        conn.row_factory = aiosqlite.Row
        await applied_versions(Tx(conn))  # creates schema_migrations
        for version, name, sql in migration_files():
            if version < 16:  # the database as version 0015 left it
                await conn.executescript(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, '2027-01-01')", (version, name)
                )
        at = to_db(NOW)
        await conn.executemany(
            "INSERT INTO outbox (dedupe_key, channel, address, kind, text, status, "
            "next_attempt_at, created_at) "
            "VALUES (?, 'twilio', 'tel:+97699000001', ?, 'x', ?, ?, ?)",
            [
                ("reply:1", "reply", "queued", at, at),
                ("reply:2", "reply", "sent", at, at),  # gone: not the claim's business
                ("notice:1:0", "notice", "sending", at, at),
                ("remind:vote:1:5", "reminder", "queued", at, at),
                ("voting-open:1:5", "notice", "queued", at, at),
            ],
        )
        await conn.commit()
        assert "0016_outbox_urgent.sql" in await migrate(Tx(conn))
        rows = await conn.execute_fetchall(
            "SELECT dedupe_key FROM outbox WHERE urgent = 1 ORDER BY id"
        )
    assert [r["dedupe_key"] for r in rows] == ["reply:1", "notice:1:0"]
