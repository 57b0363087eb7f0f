"""Ballots, kept secret.

Who voted and what was chosen live in two tables that share no key: ``participation``
(round, person, channel) and ``ballot_choices`` (round, voter key, proposal). The voter key
is an HMAC of the round and the person under a secret kept outside the database, so a copy
of the database, an official or a report can count ballots and turnout but cannot say who
chose what. Only the process holding the key can find a person's own ballot (for "MY" and
for replacing it with a later one).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Conn, fetchall, fetchone


@dataclass(frozen=True, slots=True)
class BallotKey:
    secret: bytes

    def voter_key(self, round_id: int, person_id: int) -> str:
        msg = f"{round_id}:{person_id}".encode()
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()

    def fingerprint(self, *parts: str) -> str:
        """A keyed digest of a sealed message's parts (handlers.secrecy), to recognise a
        provider's retry of it. Without the key it tells nothing: the texts are short and
        few ("1 3"), so an unkeyed hash could be reversed by trying them all."""
        msg = "\x1f".join(("message", *parts)).encode()
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()[:32]


async def cast(
    conn: Conn,
    key: BallotKey,
    *,
    round_id: int,
    person_id: int,
    channel: str,
    proposal_ids: Sequence[int],
) -> bool:
    """Store a ballot, replacing the person's earlier one. True when it replaced one."""
    vk = key.voter_key(round_id, person_id)
    cur = await conn.execute(
        "DELETE FROM ballot_choices WHERE round_id = ? AND voter_key = ?", (round_id, vk)
    )
    replaced = cur.rowcount > 0
    await conn.executemany(
        "INSERT INTO ballot_choices (round_id, voter_key, proposal_id) VALUES (?, ?, ?)",
        [(round_id, vk, pid) for pid in dict.fromkeys(proposal_ids)],
    )
    await conn.execute(
        "INSERT INTO participation (round_id, person_id, channel) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (round_id, person_id, channel),
    )
    return replaced


async def has_voted(conn: Conn, round_id: int, person_id: int) -> bool:
    row = await fetchone(
        conn,
        "SELECT 1 FROM participation WHERE round_id = ? AND person_id = ?",
        (round_id, person_id),
    )
    return row is not None


async def voted_in_year(conn: Conn, person_id: int, year: int, but_round: int) -> str | None:
    """The bag where the person voted in another round of this planning year, if any.

    One ballot per person per planning year, whichever bag they have moved to: read from
    participation (who voted, which is not secret), never from the ballots."""
    row = await fetchone(
        conn,
        "SELECT r.bag_code FROM participation x JOIN rounds r ON r.id = x.round_id "
        "WHERE x.person_id = ? AND r.year = ? AND r.id != ? LIMIT 1",
        (person_id, year, but_round),
    )
    return str(row["bag_code"]) if row else None


async def choices_of(conn: Conn, key: BallotKey, round_id: int, person_id: int) -> list[int]:
    """The person's own choices (proposal ids); only callable with the key."""
    rows = await fetchall(
        conn,
        "SELECT proposal_id FROM ballot_choices WHERE round_id = ? AND voter_key = ?",
        (round_id, key.voter_key(round_id, person_id)),
    )
    return [int(r["proposal_id"]) for r in rows]


async def voters(conn: Conn, round_id: int) -> list[int]:
    """Who voted in the round (person ids, in order): read from participation, which is
    not secret, and never joined to the ballots."""
    rows = await fetchall(
        conn,
        "SELECT person_id FROM participation WHERE round_id = ? ORDER BY person_id",
        (round_id,),
    )
    return [int(r["person_id"]) for r in rows]


async def count_ballots(conn: Conn, round_id: int) -> int:
    row = await fetchone(
        conn, "SELECT count(*) AS n FROM participation WHERE round_id = ?", (round_id,)
    )
    return int(row["n"]) if row else 0


async def votes_per_proposal(conn: Conn, round_id: int) -> dict[int, int]:
    rows = await fetchall(
        conn,
        "SELECT proposal_id, count(*) AS n FROM ballot_choices WHERE round_id = ? "
        "GROUP BY proposal_id",
        (round_id,),
    )
    return {int(r["proposal_id"]): int(r["n"]) for r in rows}


async def turnout_by_channel(conn: Conn, round_id: int) -> dict[str, int]:
    rows = await fetchall(
        conn,
        "SELECT channel, count(*) AS n FROM participation WHERE round_id = ? GROUP BY channel",
        (round_id,),
    )
    return {str(r["channel"]): int(r["n"]) for r in rows}


async def anonymous_ballots(conn: Conn, round_id: int) -> list[list[int]]:
    """Every ballot as a list of proposal ids, in voter-key order (random), for open data."""
    rows = await fetchall(
        conn,
        "SELECT voter_key, proposal_id FROM ballot_choices WHERE round_id = ? "
        "ORDER BY voter_key, proposal_id",
        (round_id,),
    )
    out: list[list[int]] = []
    last: str | None = None
    for r in rows:
        if r["voter_key"] != last:
            out.append([])
            last = r["voter_key"]
        out[-1].append(int(r["proposal_id"]))
    return out


async def voters_missing(conn: Conn, round_id: int, bag_code: str) -> list[int]:
    """Registered people of the bag who have not voted in the round (for vote reminders)."""
    rows = await fetchall(
        conn,
        "SELECT p.id FROM people p WHERE p.bag_code = ? AND p.status = 'approved' "
        "AND NOT EXISTS (SELECT 1 FROM participation x "
        "WHERE x.round_id = ? AND x.person_id = p.id) "
        "ORDER BY p.id",
        (bag_code, round_id),
    )
    return [int(r["id"]) for r in rows]
