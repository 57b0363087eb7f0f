"""Bag khural meetings (ИНХ) and the citizens who said they will come."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Conn, Row, fetchall, fetchone, insert
from storage.times import from_db, to_db


@dataclass(frozen=True, slots=True)
class Meeting:
    id: int
    round_id: int
    starts_at: datetime
    place: str
    version: int


def _meeting(r: Row) -> Meeting:
    return Meeting(r["id"], r["round_id"], from_db(r["starts_at"]), r["place"], r["version"])


async def current(conn: Conn, round_id: int) -> Meeting | None:
    row = await fetchone(
        conn,
        "SELECT * FROM khural_meetings WHERE round_id = ? AND cancelled = 0 "
        "ORDER BY id DESC LIMIT 1",
        (round_id,),
    )
    return _meeting(row) if row else None


async def schedule(
    conn: Conn, round_id: int, starts_at: datetime, place: str, now: datetime
) -> tuple[Meeting, bool]:
    """Set the round's meeting. Returns (meeting, time_changed).

    A changed time bumps the version, so reminders planned for the old time (keyed by
    version) are no longer due and new ones are planned; a changed place alone keeps it.
    A changed time also clears the RSVPs given for the old time.
    """
    old = await current(conn, round_id)
    if old is None:
        mid = await insert(
            conn,
            "INSERT INTO khural_meetings (round_id, starts_at, place, created_at) VALUES (?,?,?,?)",
            (round_id, to_db(starts_at), place, to_db(now)),
        )
        m = await current(conn, round_id)
        assert m is not None
        assert m.id == mid
        return m, True
    changed = old.starts_at != starts_at
    if changed:
        # "I will come" was said for the old time: the count against the quorum restarts,
        # and the people reminded are asked again.
        await conn.execute("DELETE FROM rsvps WHERE meeting_id = ?", (old.id,))
    await conn.execute(
        "UPDATE khural_meetings SET starts_at = ?, place = ?, version = version + ? WHERE id = ?",
        (to_db(starts_at), place, int(changed), old.id),
    )
    m = await current(conn, round_id)
    assert m is not None
    return m, changed


async def get(conn: Conn, meeting_id: int) -> Meeting | None:
    row = await fetchone(conn, "SELECT * FROM khural_meetings WHERE id = ?", (meeting_id,))
    return _meeting(row) if row else None


async def has_rsvp(conn: Conn, meeting_id: int, person_id: int) -> bool:
    row = await fetchone(
        conn, "SELECT 1 FROM rsvps WHERE meeting_id = ? AND person_id = ?", (meeting_id, person_id)
    )
    return row is not None


async def rsvp(conn: Conn, meeting_id: int, person_id: int, now: datetime) -> bool:
    cur = await conn.execute(
        "INSERT INTO rsvps (meeting_id, person_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (meeting_id, person_id, to_db(now)),
    )
    return cur.rowcount == 1


async def coming(conn: Conn, meeting_id: int) -> set[int]:
    """The people (ids) who said they will come to the meeting."""
    rows = await fetchall(conn, "SELECT person_id FROM rsvps WHERE meeting_id = ?", (meeting_id,))
    return {int(r["person_id"]) for r in rows}


async def rsvp_count(conn: Conn, meeting_id: int) -> int:
    row = await fetchone(
        conn, "SELECT count(*) AS n FROM rsvps WHERE meeting_id = ?", (meeting_id,)
    )
    return int(row["n"]) if row else 0


async def upcoming(conn: Conn, now: datetime) -> list[Meeting]:
    rows = await fetchall(
        conn,
        "SELECT * FROM khural_meetings WHERE cancelled = 0 AND starts_at > ? ORDER BY starts_at",
        (to_db(now),),
    )
    return [_meeting(r) for r in rows]
