"""Reminder fan-outs: one row per reminder sent out to a bag (see 0003_scheduler.sql).

Who got what is in the outbox (dedupe keys ``remind:...``); this table only remembers that
a fan-out happened and until when its unsent messages are worth sending.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage import outbox
from storage.db import Conn, Database, fetchall, fetchone
from storage.times import to_db


def compact(when: datetime) -> str:
    """A UTC time for a dedupe key, without the colons that separate its parts."""
    return when.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def meeting_prefix(meeting_id: int, version: int) -> str:
    """Every message about one time of one meeting starts with this (cancelled together)."""
    return f"remind:meeting:{meeting_id}:v{version}:"


def meeting_fanout(
    meeting_id: int, version: int, starts_at: datetime, offset: timedelta
) -> tuple[str, str]:
    """(fan-out key, dedupe-key prefix) of one reminder of one meeting time.

    The time is in the key: a changed time is a new reminder, an unchanged one is not sent
    again; the version too, so that a meeting moved away and back is announced again.
    """
    minutes = f"{int(offset.total_seconds() // 60)}m"
    key = f"meeting:{meeting_id}:v{version}:{minutes}"
    return key, f"{meeting_prefix(meeting_id, version)}{compact(starts_at)}:{minutes}:"


def moved_fanout(meeting_id: int, version: int, starts_at: datetime, place: str) -> tuple[str, str]:
    """(fan-out key, prefix) of the notice that a meeting's time or place changed."""
    digest = hashlib.sha256(f"{compact(starts_at)}|{place}".encode()).hexdigest()[:10]
    key = f"meeting:{meeting_id}:v{version}:moved:{digest}"
    return key, f"{meeting_prefix(meeting_id, version)}moved:{digest}:"


def vote_fanout(round_id: int) -> tuple[str, str]:
    """(fan-out key, prefix) of the one vote reminder of a round."""
    return f"vote:{round_id}", f"remind:vote:{round_id}:"


@dataclass(frozen=True, slots=True)
class Fanout:
    key: str
    kind: str
    round_id: int
    prefix: str
    queued: int


async def done(conn: Conn, key: str) -> bool:
    return await fetchone(conn, "SELECT 1 FROM reminder_fanouts WHERE key = ?", (key,)) is not None


async def record(
    conn: Conn,
    *,
    key: str,
    kind: str,
    round_id: int,
    prefix: str,
    due_at: datetime,
    expires_at: datetime,
    queued: int,
    now: datetime,
    meeting_id: int | None = None,
    version: int | None = None,
) -> bool:
    """Remember a fan-out; False if another scheduler recorded it first (nothing to undo:
    its messages were deduplicated by their keys)."""
    cur = await conn.execute(
        "INSERT INTO reminder_fanouts (key, kind, round_id, meeting_id, version, "
        "prefix, due_at, expires_at, queued, at) VALUES (?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT DO NOTHING",
        (
            key,
            kind,
            round_id,
            meeting_id,
            version,
            prefix,
            to_db(due_at),
            to_db(expires_at),
            queued,
            to_db(now),
        ),
    )
    return cur.rowcount == 1


# Rows cancelled a transaction by expire_all: a stale fan-out of 90,000 reminders in one
# transaction stopped every sender for a minute and a half (SQLite has one writer).
EXPIRE_BATCH = 1_000


async def expire(conn: Conn, now: datetime, limit: int | None = None) -> int:
    """Cancel the unsent messages of fan-outs that are no longer worth sending.

    That is: the meeting has started or voting has closed (``expires_at``), the meeting
    was moved to another time (its version changed) or cancelled. Returns rows cancelled.

    ``limit``: cancel at most this many; a fan-out is marked expired once none of its
    messages is left queued, so the next call goes on where this one stopped (see
    :func:`expire_all`).
    """
    rows = await fetchall(
        conn,
        "SELECT f.key, f.prefix FROM reminder_fanouts f "
        "LEFT JOIN khural_meetings m ON m.id = f.meeting_id "
        "WHERE f.expired_at IS NULL AND (f.expires_at <= ? OR (f.meeting_id IS NOT NULL "
        "AND (m.id IS NULL OR m.cancelled = 1 OR m.version != f.version))) ORDER BY f.key",
        (to_db(now),),
    )
    cancelled = 0
    for r in rows:
        left = None if limit is None else limit - cancelled
        if left == 0:
            break
        n = await outbox.cancel(conn, r["prefix"], left)
        cancelled += n
        if left is not None and n == left:
            break  # maybe more of it queued: the next call finishes it
        await conn.execute(
            "UPDATE reminder_fanouts SET expired_at = ? WHERE key = ?", (to_db(now), r["key"])
        )
    return cancelled


async def expire_all(db: Database, now: datetime, batch: int = EXPIRE_BATCH) -> int:
    """:func:`expire`, in transactions of at most ``batch`` cancelled rows, committed one
    after another so that senders and handling go on in between. Returns rows cancelled."""
    total = 0
    while True:
        async with db.write() as conn:
            n = await expire(conn, now, batch)
        total += n
        if n < batch:
            return total


async def of_round(conn: Conn, round_id: int) -> list[Fanout]:
    rows = await fetchall(
        conn,
        "SELECT key, kind, round_id, prefix, queued FROM reminder_fanouts WHERE round_id = ? "
        "ORDER BY at, key",
        (round_id,),
    )
    return [Fanout(r["key"], r["kind"], r["round_id"], r["prefix"], r["queued"]) for r in rows]


async def reached(conn: Conn, prefix: str) -> list[int]:
    """People who were sent (or are being sent) a message under this dedupe-key prefix."""
    rows = await fetchall(
        conn,
        "SELECT DISTINCT person_id FROM outbox WHERE dedupe_key LIKE ? AND person_id IS NOT NULL "
        "AND status IN ('sending', 'sent', 'delivered') ORDER BY person_id",
        (prefix + "%",),
    )
    return [int(r["person_id"]) for r in rows]
