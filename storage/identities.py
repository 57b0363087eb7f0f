"""People's accounts on chat channels: which person writes from ``telegram:123``.

A person's phone is on ``people`` (their identity for SMS, kind ``phone``); an account on
a chat channel is a row here, one per (kind, address), at most one of a kind per person.
The kind is the one a channel declares (``bot.core.channels``): adding a chat channel
adds a kind, not a column. Nothing here links to ballots: they are filed under an HMAC
voter key (storage.ballots), so an identity tells nobody how its person voted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from storage.db import Conn, fetchall, fetchone
from storage.times import to_db

# Bumped by every write to a person's record or identities in this process (people,
# identities, telegram): the router reads a person again after handling only when it moved.
# Another process cannot write while a handling transaction holds the write lock.
_person_writes = 0


def person_written() -> None:
    global _person_writes
    _person_writes += 1


def person_writes() -> int:
    """How many writes to people and identities this process has made (see above)."""
    return _person_writes


# The people table's rows carry their identities as one JSON array, so that loading a
# person (or a bag of them) stays one query: see storage.people.
OF_PERSON_JSON = (
    "(SELECT coalesce(json_group_array(json_array(kind, address, blocked)), '[]') FROM "
    "(SELECT kind, address, blocked FROM identities WHERE person_id = p.id ORDER BY id) AS i)"
)


@dataclass(frozen=True, slots=True)
class Identity:
    kind: str
    address: str
    blocked: bool = False  # the account blocked the bot: nothing we start goes there


def from_json(value: str | None) -> tuple[Identity, ...]:
    return tuple(Identity(k, a, bool(b)) for k, a, b in json.loads(value or "[]"))


async def owner(conn: Conn, kind: str, address: str) -> int | None:
    """The person this account belongs to, if any."""
    row = await fetchone(
        conn, "SELECT person_id FROM identities WHERE kind = ? AND address = ?", (kind, address)
    )
    return int(row["person_id"]) if row else None


async def of_person(conn: Conn, person_id: int) -> list[Identity]:
    rows = await fetchall(
        conn,
        "SELECT kind, address, blocked FROM identities WHERE person_id = ? ORDER BY id",
        (person_id,),
    )
    return [Identity(r["kind"], r["address"], bool(r["blocked"])) for r in rows]


async def link(conn: Conn, person_id: int, kind: str, address: str, now: datetime) -> None:
    person_written()
    await conn.execute(
        "INSERT INTO identities (person_id, kind, address, created_at) VALUES (?, ?, ?, ?)",
        (person_id, kind, address, to_db(now)),
    )


async def move(conn: Conn, kind: str, address: str, from_person: int, to_person: int) -> None:
    """Give an account to another person, in place of any account of that kind they had,
    unblocked (they write from it again)."""
    person_written()
    await conn.execute(
        "DELETE FROM identities WHERE person_id = ? AND kind = ? AND address != ?",
        (to_person, kind, address),
    )
    await conn.execute(
        "UPDATE identities SET person_id = ?, blocked = 0 "
        "WHERE kind = ? AND address = ? AND person_id = ?",
        (to_person, kind, address, from_person),
    )


async def set_blocked(conn: Conn, kind: str, address: str, blocked: bool) -> None:
    person_written()
    await conn.execute(
        "UPDATE identities SET blocked = ? WHERE kind = ? AND address = ?",
        (int(blocked), kind, address),
    )


async def set_blocked_of_person(conn: Conn, person_id: int, kind: str, blocked: bool) -> None:
    person_written()
    await conn.execute(
        "UPDATE identities SET blocked = ? WHERE person_id = ? AND kind = ?",
        (int(blocked), person_id, kind),
    )


async def any_linked(conn: Conn) -> bool:
    """Whether anyone has an account on a chat channel here (a real channel was used)."""
    row = await fetchone(conn, "SELECT EXISTS (SELECT 1 FROM identities) AS linked")
    return bool(row is not None and row["linked"])
