"""The outbox: every outbound message, with retries and status.

A row is claimed for sending with a lease (status 'sending', next_attempt_at = lease end):
two senders never send the same row, and a row whose sender died is sent again when the
lease ends. Unique ``dedupe_key`` makes every enqueue idempotent (one reply per inbound,
one reminder per person and meeting time).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import from_db, to_db
from storage.db import Conn, Row, fetchall, fetchone

MAX_ERRORS = 5  # a message is failed after this many retryable errors...
# ...and only once it has been retried for this long. Retryable errors (500, 429,
# timeouts) come in bursts: five of them fit in the first 13 minutes of backoff, so a
# short provider outage used to lose every reply queued during it (found by
# tests/faults/test_provider_faults.py). Now an outage of up to three hours loses nothing.
RETRY_FOR = timedelta(hours=3)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    channel: str
    address: str
    person_id: int | None
    kind: str
    text: str
    extra: dict[str, Any] = field(default_factory=dict)
    error_count: int = 0
    round_id: int | None = None
    created_at: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    # Claimed again after a lease ran out mid-send (a crash): the provider may have it.
    reclaimed: bool = False

    @property
    def maybe_accepted(self) -> bool:
        """An earlier attempt may have reached the provider: check before sending again."""
        return self.error_count > 0 or self.reclaimed


def _row(r: Row) -> OutboxRow:
    return OutboxRow(
        r["id"],
        r["channel"],
        r["address"],
        r["person_id"],
        r["kind"],
        r["text"],
        json.loads(r["extra"]),
        r["error_count"],
        r["round_id"],
        from_db(r["created_at"]),
        r["status"] == "sending",
    )


async def enqueue(
    conn: Conn,
    *,
    dedupe_key: str,
    channel: str,
    address: str,
    text: str,
    now: datetime,
    person_id: int | None = None,
    inbox_id: int | None = None,
    kind: str = "reply",
    extra: dict[str, Any] | None = None,
    round_id: int | None = None,
    bag_code: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Queue a message; False when one with this dedupe key exists already."""
    cur = await conn.execute(
        "INSERT OR IGNORE INTO outbox (dedupe_key, channel, address, person_id, inbox_id, kind, "
        "text, extra, next_attempt_at, round_id, bag_code, created_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            dedupe_key,
            channel,
            address,
            person_id,
            inbox_id,
            kind,
            text,
            json.dumps(extra or {}, ensure_ascii=False),
            to_db(not_before or now),
            round_id,
            bag_code,
            to_db(now),
        ),
    )
    return cur.rowcount == 1


async def claim_due(
    conn: Conn, channel: str, now: datetime, limit: int, lease: timedelta
) -> list[OutboxRow]:
    """Take up to ``limit`` due rows of a channel for sending (call inside a write txn)."""
    rows = await fetchall(
        conn,
        "SELECT * FROM outbox WHERE status IN ('queued', 'sending') AND channel = ? "
        "AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
        (channel, to_db(now), limit),
    )
    if rows:
        await conn.executemany(
            "UPDATE outbox SET status = 'sending', next_attempt_at = ? WHERE id = ?",
            [(to_db(now + lease), r["id"]) for r in rows],
        )
    return [_row(r) for r in rows]


async def mark_sent(
    conn: Conn, outbox_id: int, provider_id: str | None, segments: int | None, now: datetime
) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'sent', provider_id = ?, segments = ?, sent_at = ? "
        "WHERE id = ?",
        (provider_id, segments, to_db(now), outbox_id),
    )
    if provider_id is None:
        return
    early = await fetchone(
        conn,
        "DELETE FROM provider_receipts WHERE provider_id = ? "
        "AND channel = (SELECT channel FROM outbox WHERE id = ?) RETURNING status, error",
        (provider_id, outbox_id),
    )
    if early is not None:
        await _apply_receipt(conn, outbox_id, str(early["status"]), early["error"])


async def mark_sent_many(
    conn: Conn,
    channel: str,
    sent: Sequence[tuple[int, str | None, int | None]],
    now: datetime,
) -> None:
    """:func:`mark_sent` for many rows of one channel: (outbox id, provider id, segments).
    Two statements for the lot, which is what a broadcast's sender needs."""
    if not sent:
        return
    await conn.executemany(
        "UPDATE outbox SET status = 'sent', provider_id = ?, segments = ?, sent_at = ? "
        "WHERE id = ?",
        [(pid, segments, to_db(now), oid) for oid, pid, segments in sent],
    )
    row_of = {pid: oid for oid, pid, _ in sent if pid is not None}
    if not row_of:
        return
    marks = ",".join("?" * len(row_of))
    early = await fetchall(
        conn,
        f"DELETE FROM provider_receipts WHERE channel = ? AND provider_id IN ({marks}) "
        "RETURNING provider_id, status, error",
        (channel, *row_of),
    )
    for r in early:
        await _apply_receipt(conn, row_of[r["provider_id"]], str(r["status"]), r["error"])


async def mark_retry(
    conn: Conn, outbox_id: int, error: str, next_attempt: datetime, *, count_error: bool = True
) -> str:
    """Put a row back in the queue after a retryable error; fail it after MAX_ERRORS
    errors once its next attempt would come more than RETRY_FOR after it was queued."""
    row = await fetchone(
        conn, "SELECT error_count, created_at FROM outbox WHERE id = ?", (outbox_id,)
    )
    errors = (int(row["error_count"]) if row else 0) + int(count_error)
    expired = row is None or next_attempt - from_db(row["created_at"]) > RETRY_FOR
    # A row put back unsent (pacing) is not failed: it was not even tried.
    status = "failed" if count_error and errors >= MAX_ERRORS and expired else "queued"
    await conn.execute(
        "UPDATE outbox SET status = ?, error_count = ?, last_error = ?, next_attempt_at = ? "
        "WHERE id = ?",
        (status, errors, error[:500], to_db(next_attempt), outbox_id),
    )
    return status


async def mark_failed(conn: Conn, outbox_id: int, error: str, status: str = "failed") -> None:
    await conn.execute(
        "UPDATE outbox SET status = ?, last_error = ?, error_count = error_count + 1 WHERE id = ?",
        (status, error[:500], outbox_id),
    )


# Receipts only move a message forward: a late "sent" never undoes "delivered".
FINAL = ("delivered", "failed", "undelivered")


async def update_by_provider_id(
    conn: Conn, channel: str, provider_id: str, status: str, error: str | None
) -> int | None:
    """Apply a delivery receipt; returns the row's person id (or None if unknown).

    A receipt for an id we have not recorded yet is kept and applied by :func:`mark_sent`."""
    row = await fetchone(
        conn,
        "SELECT id, person_id FROM outbox WHERE channel = ? AND provider_id = ?",
        (channel, provider_id),
    )
    if row is None:
        await conn.execute(
            "INSERT INTO provider_receipts (channel, provider_id, status, error, at) "
            "VALUES (?,?,?,?,datetime('now')) ON CONFLICT (channel, provider_id) DO UPDATE "
            "SET status = excluded.status, error = coalesce(excluded.error, error) "
            "WHERE provider_receipts.status NOT IN ('delivered', 'failed', 'undelivered')",
            (channel, provider_id, status, error),
        )
        return None
    await _apply_receipt(conn, int(row["id"]), status, error)
    return int(row["person_id"]) if row["person_id"] is not None else None


async def _apply_receipt(conn: Conn, outbox_id: int, status: str, error: str | None) -> None:
    keep = FINAL if status not in FINAL else ()
    marks = ",".join("?" * len(keep)) or "''"
    await conn.execute(
        "UPDATE outbox SET status = ?, last_error = coalesce(?, last_error) "
        f"WHERE id = ? AND status NOT IN ('cancelled', {marks})",
        (status, error, outbox_id, *keep),
    )


async def cancel(conn: Conn, dedupe_prefix: str) -> int:
    """Cancel queued rows whose dedupe key starts with a prefix (a moved meeting's reminders)."""
    escaped = dedupe_prefix.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
    cur = await conn.execute(
        "UPDATE outbox SET status = 'cancelled' WHERE status = 'queued' "
        "AND dedupe_key LIKE ? ESCAPE '\\'",
        (escaped + "%",),
    )
    return cur.rowcount


async def replied_since(conn: Conn, address: str, since: datetime) -> bool:
    row = await fetchone(
        conn,
        "SELECT 1 FROM outbox WHERE address = ? AND kind = 'reply' AND created_at >= ? LIMIT 1",
        (address, to_db(since)),
    )
    return row is not None


async def for_inbox(conn: Conn, inbox_id: int) -> list[OutboxRow]:
    rows = await fetchall(conn, "SELECT * FROM outbox WHERE inbox_id = ? ORDER BY id", (inbox_id,))
    return [_row(r) for r in rows]


async def known_provider_ids(conn: Conn, channel: str, ids: Sequence[str]) -> set[str]:
    """Which of these provider message ids are already recorded against one of our rows."""
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    rows = await fetchall(
        conn,
        f"SELECT provider_id FROM outbox WHERE channel = ? AND provider_id IN ({marks})",
        (channel, *ids),
    )
    return {str(r["provider_id"]) for r in rows}


@dataclass(frozen=True, slots=True)
class SmsCost:
    """What SMS a bag or a round cost: messages and segments by channel (sent or later)."""

    channel: str
    messages: int
    segments: int


async def sms_cost(
    conn: Conn, *, bag_code: str | None = None, round_id: int | None = None
) -> list[SmsCost]:
    where = ["status IN ('sent', 'delivered', 'undelivered')", "channel != 'telegram'"]
    args: list[object] = []
    if bag_code is not None:
        where.append("bag_code = ?")
        args.append(bag_code)
    if round_id is not None:
        where.append("round_id = ?")
        args.append(round_id)
    rows = await fetchall(
        conn,
        "SELECT channel, COUNT(*) AS n, COALESCE(SUM(segments), 0) AS segs FROM outbox "
        f"WHERE {' AND '.join(where)} GROUP BY channel ORDER BY channel",
        tuple(args),
    )
    return [SmsCost(r["channel"], int(r["n"]), int(r["segs"])) for r in rows]
