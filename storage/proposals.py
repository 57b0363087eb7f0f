"""Citizens' proposals within a round, numbered 1, 2, 3... for typing on a basic phone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Conn, Row, fetchall, fetchone, insert
from storage.times import from_db, to_db


@dataclass(frozen=True, slots=True)
class Proposal:
    id: int
    round_id: int
    number: int
    person_id: int | None
    text: str
    beneficiaries: int | None
    cost_mnt: int | None
    status: str  # pending | accepted | rejected | merged
    merged_into: int | None
    flag: str | None
    reason: str | None
    created_at: datetime


def _proposal(r: Row) -> Proposal:
    return Proposal(
        r["id"],
        r["round_id"],
        r["number"],
        r["person_id"],
        r["text"],
        r["beneficiaries"],
        r["cost_mnt"],
        r["status"],
        r["merged_into"],
        r["flag"],
        r["reason"],
        from_db(r["created_at"]),
    )


async def create(
    conn: Conn,
    *,
    round_id: int,
    person_id: int | None,
    text: str,
    beneficiaries: int | None,
    cost_mnt: int | None,
    flag: str | None,
    now: datetime,
) -> Proposal:
    row = await fetchone(
        conn,
        "SELECT coalesce(max(number), 0) + 1 AS n FROM proposals WHERE round_id = ?",
        (round_id,),
    )
    number = int(row["n"]) if row else 1
    pid = await insert(
        conn,
        "INSERT INTO proposals (round_id, number, person_id, text, beneficiaries, cost_mnt, "
        "flag, created_at) VALUES (?,?,?,?,?,?,?,?)",
        (round_id, number, person_id, text, beneficiaries, cost_mnt, flag, to_db(now)),
    )
    if person_id is not None:
        await add_supporter(conn, pid, person_id)
    found = await get(conn, pid)
    assert found is not None
    return found


async def get(conn: Conn, proposal_id: int) -> Proposal | None:
    row = await fetchone(conn, "SELECT * FROM proposals WHERE id = ?", (proposal_id,))
    return _proposal(row) if row else None


async def by_number(conn: Conn, round_id: int, number: int) -> Proposal | None:
    row = await fetchone(
        conn, "SELECT * FROM proposals WHERE round_id = ? AND number = ?", (round_id, number)
    )
    return _proposal(row) if row else None


async def of_round(conn: Conn, round_id: int, status: str | None = None) -> list[Proposal]:
    if status:
        rows = await fetchall(
            conn,
            "SELECT * FROM proposals WHERE round_id = ? AND status = ? ORDER BY number",
            (round_id, status),
        )
    else:
        rows = await fetchall(
            conn, "SELECT * FROM proposals WHERE round_id = ? ORDER BY number", (round_id,)
        )
    return [_proposal(r) for r in rows]


async def set_status(
    conn: Conn,
    proposal_id: int,
    status: str,
    *,
    reason: str | None = None,
    merged_into: int | None = None,
) -> None:
    await conn.execute(
        "UPDATE proposals SET status = ?, reason = coalesce(?, reason), merged_into = ? "
        "WHERE id = ?",
        (status, reason, merged_into, proposal_id),
    )


async def set_flag(conn: Conn, proposal_id: int, flag: str) -> None:
    await conn.execute("UPDATE proposals SET flag = ? WHERE id = ?", (flag, proposal_id))


async def add_supporter(conn: Conn, proposal_id: int, person_id: int) -> None:
    await conn.execute(
        "INSERT INTO proposal_people (proposal_id, person_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (proposal_id, person_id),
    )


async def supporters(conn: Conn, proposal_id: int) -> list[int]:
    rows = await fetchall(
        conn,
        "SELECT person_id FROM proposal_people WHERE proposal_id = ? ORDER BY person_id",
        (proposal_id,),
    )
    return [int(r["person_id"]) for r in rows]


async def move_supporters(conn: Conn, from_id: int, into_id: int) -> list[int]:
    moved = await supporters(conn, from_id)
    for person_id in moved:
        await add_supporter(conn, into_id, person_id)
    return moved


@dataclass(frozen=True, slots=True)
class Counts:
    total: int
    accepted: int


async def counts(conn: Conn, round_id: int) -> Counts:
    """How many proposals the round has, and how many of them were accepted."""
    row = await fetchone(
        conn,
        # count(CASE ...), not sum(a comparison): PostgreSQL has no sum of booleans.
        "SELECT count(*) AS n, count(CASE WHEN status = 'accepted' THEN 1 END) AS a "
        "FROM proposals WHERE round_id = ?",
        (round_id,),
    )
    if row is None:  # pragma: no cover - an aggregate always answers one row
        return Counts(0, 0)
    return Counts(int(row["n"] or 0), int(row["a"] or 0))
