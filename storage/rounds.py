"""Rounds: one bag, one planning year, moving draft -> collecting -> voting -> closed ->
confirmed (by the khural) -> submitted (to the soum)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Conn, Row, fetchall, fetchone, insert
from storage.times import from_db, to_db

STATUSES = ("draft", "collecting", "voting", "closed", "confirmed", "submitted")
# The one allowed next status of each status.
NEXT = {
    "draft": "collecting",
    "collecting": "voting",
    "voting": "closed",
    "closed": "confirmed",
    "confirmed": "submitted",
}
STAMP = {
    "collecting": "collecting_at",
    "voting": "voting_at",
    "closed": "closed_at",
    "confirmed": "confirmed_at",
    "submitted": "submitted_at",
}


@dataclass(frozen=True, slots=True)
class Round:
    id: int
    bag_code: str
    year: int
    status: str
    max_choices: int
    allow_change: bool
    opens_at: datetime | None
    collect_until: datetime | None
    vote_until: datetime | None
    closed_at: datetime | None
    attendance: int | None
    # Approved citizens of the bag when voting closed (None before the close): turnout is
    # frozen there, so every report of the round gives the same figure (migration 0010).
    registered_at_close: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status in ("collecting", "voting")


def _dt(value: str | None) -> datetime | None:
    return from_db(value) if value else None


def _round(r: Row) -> Round:
    return Round(
        r["id"],
        r["bag_code"],
        r["year"],
        r["status"],
        r["max_choices"],
        bool(r["allow_change"]),
        _dt(r["opens_at"]),
        _dt(r["collect_until"]),
        _dt(r["vote_until"]),
        _dt(r["closed_at"]),
        r["attendance"],
        r["registered_at_close"],
    )


async def get(conn: Conn, round_id: int) -> Round | None:
    row = await fetchone(conn, "SELECT * FROM rounds WHERE id = ?", (round_id,))
    return _round(row) if row else None


async def current(conn: Conn, bag_code: str) -> Round | None:
    """The bag's newest round that is not yet submitted (or the newest of all)."""
    row = await fetchone(
        conn,
        "SELECT * FROM rounds WHERE bag_code = ? "
        "ORDER BY (status = 'submitted'), year DESC, id DESC "
        "LIMIT 1",
        (bag_code,),
    )
    return _round(row) if row else None


async def create(
    conn: Conn,
    *,
    bag_code: str,
    year: int,
    now: datetime,
    status: str = "collecting",
    max_choices: int = 3,
    allow_change: bool = True,
    opens_at: datetime | None = None,
    collect_until: datetime | None = None,
    vote_until: datetime | None = None,
) -> Round:
    rid = await insert(
        conn,
        "INSERT INTO rounds (bag_code, year, status, max_choices, allow_change, opens_at, "
        "collect_until, vote_until, created_at, collecting_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            bag_code,
            year,
            status,
            max_choices,
            int(allow_change),
            to_db(opens_at) if opens_at else None,
            to_db(collect_until) if collect_until else None,
            to_db(vote_until) if vote_until else None,
            to_db(now),
            to_db(now) if status == "collecting" else None,
        ),
    )
    rnd = await get(conn, rid)
    assert rnd is not None
    return rnd


async def advance(conn: Conn, round_id: int, from_status: str, now: datetime) -> bool:
    """Move a round one step on, only from ``from_status``: True if this call moved it.

    The WHERE on the old status makes a transition happen exactly once, however many
    schedulers or governors try it at the same time.
    """
    to_status = NEXT[from_status]
    cur = await conn.execute(
        f"UPDATE rounds SET status = ?, {STAMP[to_status]} = ? WHERE id = ? AND status = ?",  # noqa: S608 - placeholders and constants only
        (to_status, to_db(now), round_id, from_status),
    )
    return cur.rowcount == 1


async def set_deadlines(
    conn: Conn,
    round_id: int,
    *,
    collect_until: datetime | None = None,
    vote_until: datetime | None = None,
) -> None:
    if collect_until is not None:
        await conn.execute(
            "UPDATE rounds SET collect_until = ? WHERE id = ?", (to_db(collect_until), round_id)
        )
    if vote_until is not None:
        await conn.execute(
            "UPDATE rounds SET vote_until = ? WHERE id = ?", (to_db(vote_until), round_id)
        )


async def freeze_registered(conn: Conn, round_id: int, registered: int) -> None:
    """Keep the bag's registered count at the close, for turnout from then on."""
    await conn.execute(
        "UPDATE rounds SET registered_at_close = ? WHERE id = ?", (registered, round_id)
    )


async def set_attendance(conn: Conn, round_id: int, attendance: int) -> None:
    await conn.execute("UPDATE rounds SET attendance = ? WHERE id = ?", (attendance, round_id))


async def due(conn: Conn, status: str, column: str, now: datetime) -> list[Round]:
    """Rounds in ``status`` whose deadline ``column`` has passed (for the scheduler)."""
    if column not in ("opens_at", "collect_until", "vote_until"):
        raise ValueError(column)
    rows = await fetchall(
        conn,
        f"SELECT * FROM rounds WHERE status = ? AND {column} IS NOT NULL AND {column} <= ? "  # noqa: S608 - placeholders and constants only
        "ORDER BY id",
        (status, to_db(now)),
    )
    return [_round(r) for r in rows]


async def of_year(conn: Conn, bag_code: str, year: int) -> Round | None:
    """The bag's round of one planning year (a bag has at most one a year)."""
    row = await fetchone(
        conn, "SELECT * FROM rounds WHERE bag_code = ? AND year = ?", (bag_code, year)
    )
    return _round(row) if row else None


async def in_unit(conn: Conn, unit_code: str, year: int) -> list[Round]:
    """The rounds of one year of every bag under a unit (a soum, an aimag), by bag code."""
    rows = await fetchall(
        conn,
        "SELECT * FROM rounds WHERE year = ? AND bag_code LIKE ? || '%' ORDER BY bag_code",
        (year, unit_code),
    )
    return [_round(r) for r in rows]


async def newest_year(conn: Conn, unit_code: str) -> int | None:
    """The latest planning year with a round in any bag under the unit (or the bag)."""
    row = await fetchone(
        conn, "SELECT max(year) AS y FROM rounds WHERE bag_code LIKE ? || '%'", (unit_code,)
    )
    return None if row is None or row["y"] is None else int(row["y"])


async def next_deadline(conn: Conn, now: datetime) -> datetime | None:
    """The earliest deadline still ahead of any round: the opening of a draft, the end of
    collecting, the close of voting."""
    row = await fetchone(
        conn,
        "SELECT min(at) AS at FROM ("
        "SELECT opens_at AS at FROM rounds WHERE status = 'draft' "
        "UNION ALL SELECT collect_until FROM rounds WHERE status = 'collecting' "
        "UNION ALL SELECT vote_until FROM rounds WHERE status = 'voting'"
        ") AS deadlines WHERE at > ?",
        (to_db(now),),
    )
    if row is None or row["at"] is None:
        return None
    return from_db(row["at"])
