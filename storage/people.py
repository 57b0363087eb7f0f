"""People: one phone number is one person, whatever channel they write from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Conn, Row, fetchall, fetchone, insert
from storage.times import to_db


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    phone: str | None
    telegram_id: int | None
    name: str | None
    bag_code: str | None
    lang: str
    status: str  # new | pending | approved
    opted_out: bool
    telegram_blocked: bool
    channel: str | None = None  # the channel they last wrote from

    @property
    def registered(self) -> bool:
        return self.bag_code is not None and self.status == "approved"


def _person(r: Row) -> Person:
    return Person(
        r["id"],
        r["phone"],
        r["telegram_id"],
        r["name"],
        r["bag_code"],
        r["lang"],
        r["status"],
        bool(r["opted_out"]),
        bool(r["telegram_blocked"]),
        r["channel"],
    )


async def get(conn: Conn, person_id: int) -> Person | None:
    row = await fetchone(conn, "SELECT * FROM people WHERE id = ?", (person_id,))
    return _person(row) if row else None


async def by_phone(conn: Conn, phone: str) -> Person | None:
    row = await fetchone(conn, "SELECT * FROM people WHERE phone = ?", (phone,))
    return _person(row) if row else None


async def by_telegram(conn: Conn, telegram_id: int) -> Person | None:
    row = await fetchone(conn, "SELECT * FROM people WHERE telegram_id = ?", (telegram_id,))
    return _person(row) if row else None


async def create(
    conn: Conn,
    *,
    now: datetime,
    phone: str | None = None,
    telegram_id: int | None = None,
    lang: str = "mn",
    name: str | None = None,
) -> Person:
    pid = await insert(
        conn,
        "INSERT INTO people (phone, telegram_id, lang, name, created_at) VALUES (?, ?, ?, ?, ?)",
        (phone, telegram_id, lang, name, to_db(now)),
    )
    person = await get(conn, pid)
    assert person is not None
    return person


async def get_or_create_by_phone(conn: Conn, phone: str, *, now: datetime, lang: str) -> Person:
    return await by_phone(conn, phone) or await create(conn, now=now, phone=phone, lang=lang)


async def set_bag(conn: Conn, person_id: int, bag_code: str, status: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE people SET bag_code = ?, status = ?, joined_at = ? WHERE id = ?",
        (bag_code, status, to_db(now), person_id),
    )


async def set_status(conn: Conn, person_id: int, status: str) -> None:
    await conn.execute("UPDATE people SET status = ? WHERE id = ?", (status, person_id))


async def set_lang(conn: Conn, person_id: int, lang: str) -> None:
    await conn.execute("UPDATE people SET lang = ? WHERE id = ?", (lang, person_id))


async def set_opted_out(conn: Conn, person_id: int, opted_out: bool) -> None:
    await conn.execute("UPDATE people SET opted_out = ? WHERE id = ?", (int(opted_out), person_id))


async def set_channel(conn: Conn, person_id: int, channel: str) -> None:
    await conn.execute("UPDATE people SET channel = ? WHERE id = ?", (channel, person_id))


async def set_name(conn: Conn, person_id: int, name: str) -> None:
    await conn.execute("UPDATE people SET name = ? WHERE id = ?", (name, person_id))


async def set_telegram_blocked(conn: Conn, person_id: int, blocked: bool) -> None:
    await conn.execute(
        "UPDATE people SET telegram_blocked = ? WHERE id = ?", (int(blocked), person_id)
    )


async def link_telegram(conn: Conn, person_id: int, telegram_id: int) -> None:
    await conn.execute("UPDATE people SET telegram_id = ? WHERE id = ?", (telegram_id, person_id))


async def registered_in_bag(conn: Conn, bag_code: str) -> list[Person]:
    rows = await fetchall(
        conn,
        "SELECT * FROM people WHERE bag_code = ? AND status = 'approved' ORDER BY id",
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
