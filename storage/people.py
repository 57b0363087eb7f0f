"""People: one phone number is one person, whatever channel they write from.

A person's accounts on chat channels (Telegram) are their identities (storage.identities),
loaded with them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.channels import Channel
from storage.db import Conn, Row, fetchall, fetchone
from storage.identities import (
    OF_PERSON_JSON,
    Identity,
    from_json,
    person_writes,
    person_written,
    set_blocked_of_person,
)
from storage.times import to_db

TELEGRAM = Channel.TELEGRAM.caps.identity
# people.telegram_id and telegram_blocked are emptied by migration 0015 and never read.
_SELECT = (
    "SELECT p.id, p.phone, p.name, p.bag_code, p.lang, p.status, p.opted_out, p.channel, "  # noqa: S608 - placeholders and constants only
    f"{OF_PERSON_JSON} AS identities FROM people p"
)


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    phone: str | None
    name: str | None
    bag_code: str | None
    lang: str
    status: str  # new | pending | approved
    opted_out: bool
    channel: str | None = None  # the channel they last wrote from
    identities: tuple[Identity, ...] = ()

    @property
    def registered(self) -> bool:
        return self.bag_code is not None and self.status == "approved"

    def identity(self, kind: str) -> Identity | None:
        return next((i for i in self.identities if i.kind == kind), None)

    @property
    def telegram_id(self) -> int | None:
        found = self.identity(TELEGRAM)
        return int(found.address) if found is not None else None

    @property
    def telegram_blocked(self) -> bool:
        found = self.identity(TELEGRAM)
        return found is not None and found.blocked


def _person(r: Row) -> Person:
    return Person(
        r["id"],
        r["phone"],
        r["name"],
        r["bag_code"],
        r["lang"],
        r["status"],
        bool(r["opted_out"]),
        r["channel"],
        from_json(r["identities"]),
    )


def generation() -> int:
    """Changes when any person's record or identities are written in this process: a
    Person read before and unchanged after is still current."""
    return person_writes()


async def get(conn: Conn, person_id: int) -> Person | None:
    row = await fetchone(conn, f"{_SELECT} WHERE p.id = ?", (person_id,))
    return _person(row) if row else None


async def by_phone(conn: Conn, phone: str) -> Person | None:
    row = await fetchone(conn, f"{_SELECT} WHERE p.phone = ?", (phone,))
    return _person(row) if row else None


async def by_identity(conn: Conn, kind: str, address: str) -> Person | None:
    """The person with this account on a chat channel (storage.identities)."""
    row = await fetchone(
        conn,
        f"{_SELECT} JOIN identities i ON i.person_id = p.id WHERE i.kind = ? AND i.address = ?",
        (kind, address),
    )
    return _person(row) if row else None


async def create(
    conn: Conn,
    *,
    now: datetime,
    phone: str | None = None,
    lang: str = "mn",
    name: str | None = None,
) -> Person:
    person_written()
    # The new row as get() reads it, in the same round trip: no identities yet.
    rows = await fetchall(
        conn,
        "INSERT INTO people (phone, lang, name, created_at) VALUES (?, ?, ?, ?) "
        "RETURNING id, phone, name, bag_code, lang, status, opted_out, channel, "
        "'[]' AS identities",
        (phone, lang, name, to_db(now)),
    )
    return _person(rows[0])


async def get_or_create_by_phone(conn: Conn, phone: str, *, now: datetime, lang: str) -> Person:
    return await by_phone(conn, phone) or await create(conn, now=now, phone=phone, lang=lang)


async def set_bag(conn: Conn, person_id: int, bag_code: str, status: str, now: datetime) -> None:
    person_written()
    await conn.execute(
        "UPDATE people SET bag_code = ?, status = ?, joined_at = ? WHERE id = ?",
        (bag_code, status, to_db(now), person_id),
    )


async def set_status(conn: Conn, person_id: int, status: str) -> None:
    person_written()
    await conn.execute("UPDATE people SET status = ? WHERE id = ?", (status, person_id))


async def set_lang(conn: Conn, person_id: int, lang: str) -> None:
    person_written()
    await conn.execute("UPDATE people SET lang = ? WHERE id = ?", (lang, person_id))


async def set_opted_out(conn: Conn, person_id: int, opted_out: bool) -> None:
    person_written()
    await conn.execute("UPDATE people SET opted_out = ? WHERE id = ?", (int(opted_out), person_id))


async def set_channel(conn: Conn, person_id: int, channel: str) -> None:
    person_written()
    await conn.execute("UPDATE people SET channel = ? WHERE id = ?", (channel, person_id))


async def set_name(conn: Conn, person_id: int, name: str) -> None:
    person_written()
    await conn.execute("UPDATE people SET name = ? WHERE id = ?", (name, person_id))


async def set_telegram_blocked(conn: Conn, person_id: int, blocked: bool) -> None:
    await set_blocked_of_person(conn, person_id, TELEGRAM, blocked)


async def registered_in_bag(conn: Conn, bag_code: str) -> list[Person]:
    rows = await fetchall(
        conn,
        f"{_SELECT} WHERE p.bag_code = ? AND p.status = 'approved' ORDER BY p.id",
        (bag_code,),
    )
    return [_person(r) for r in rows]


async def count_registered(conn: Conn, bag_code: str) -> int:
    row = await fetchone(
        conn,
        "SELECT count(*) AS n FROM people WHERE bag_code = ? AND status = 'approved'",
        (bag_code,),
    )
    return int(row["n"]) if row else 0
