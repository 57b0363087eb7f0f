"""The khural's confirmation of a bag's list (БАТЛАХ) and its decision number.

What the minutes say about the quorum is what Sanal computed when the governor confirmed:
present (the attendance the governor gave), required (the quorum from the registered
citizens, handlers/khural.quorum) and whether the governor had to confirm explicitly
because the attendance was below it or the meeting date had not come (migration 0014).

Decision numbers (Тогтоол №) read ``<planning year>/<bag code>-<nn>``, "2028/644651-01":
the round's planning year, the bag's national code, and the sequence of the khural
decisions Sanal has recorded for that bag and year (a bag has one round a year, so its
list is 01; the sequence leaves room for a later decision of the same khural). The number
is stored at the confirmation and never recomputed; a round not yet confirmed (or one
confirmed before the numbers were stored) shows the number the same rule gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Conn, Row, fetchone
from storage.times import from_db, to_db


@dataclass(frozen=True, slots=True)
class Confirmation:
    round_id: int
    decision: str
    attendance: int
    quorum: int
    registered: int
    meeting_at: datetime | None
    below_quorum: bool  # confirmed explicitly with fewer present than the quorum
    before_meeting: bool  # confirmed explicitly before the meeting's date (bag's time zone)
    confirmed_at: datetime
    confirmed_by: int | None


def decision_number(year: int, bag_code: str, sequence: int = 1) -> str:
    return f"{year}/{bag_code}-{sequence:02d}"


def _confirmation(r: Row) -> Confirmation:
    return Confirmation(
        int(r["round_id"]),
        str(r["decision"]),
        int(r["attendance"]),
        int(r["quorum"]),
        int(r["registered"]),
        from_db(r["meeting_at"]) if r["meeting_at"] else None,
        bool(r["below_quorum"]),
        bool(r["before_meeting"]),
        from_db(r["confirmed_at"]),
        r["confirmed_by"],
    )


async def get(conn: Conn, round_id: int) -> Confirmation | None:
    row = await fetchone(conn, "SELECT * FROM khural_confirmations WHERE round_id = ?", (round_id,))
    return _confirmation(row) if row else None


async def next_decision(conn: Conn, bag_code: str, year: int) -> str:
    """The number the bag's next recorded decision of ``year`` gets."""
    row = await fetchone(
        conn,
        "SELECT count(*) AS n FROM khural_confirmations c JOIN rounds r ON r.id = c.round_id "
        "WHERE r.bag_code = ? AND r.year = ?",
        (bag_code, year),
    )
    return decision_number(year, bag_code, (int(row["n"]) if row else 0) + 1)


async def record(
    conn: Conn,
    *,
    round_id: int,
    bag_code: str,
    year: int,
    attendance: int,
    quorum: int,
    registered: int,
    meeting_at: datetime | None,
    below_quorum: bool,
    before_meeting: bool,
    now: datetime,
    person_id: int | None,
) -> Confirmation:
    """Store the round's confirmation with its new decision number (once per round)."""
    await conn.execute(
        "INSERT INTO khural_confirmations (round_id, decision, attendance, quorum, registered, "
        "meeting_at, below_quorum, before_meeting, confirmed_at, confirmed_by) "
        "VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            round_id,
            await next_decision(conn, bag_code, year),
            attendance,
            quorum,
            registered,
            to_db(meeting_at) if meeting_at else None,
            int(below_quorum),
            int(before_meeting),
            to_db(now),
            person_id,
        ),
    )
    stored = await get(conn, round_id)
    assert stored is not None
    return stored
