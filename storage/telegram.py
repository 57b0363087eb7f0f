"""The few queries only the Telegram channel needs: parts already sent, the message a
button was pressed on, and linking a Telegram account to the person with that phone."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.core.channels import Channel
from storage import identities
from storage.db import Conn, fetchall, fetchone
from storage.times import to_db

TELEGRAM_CHANNEL = Channel.TELEGRAM.value
TELEGRAM = Channel.TELEGRAM.caps.identity  # its identity kind (storage.identities)


async def sent_parts(conn: Conn, outbox_id: int) -> dict[int, int]:
    """Parts of this outbox row Telegram has accepted: {part: message_id}."""
    rows = await fetchall(
        conn, "SELECT part, message_id FROM telegram_parts WHERE outbox_id = ?", (outbox_id,)
    )
    return {int(r["part"]): int(r["message_id"]) for r in rows}


async def record_part(
    conn: Conn, outbox_id: int, part: int, message_id: int, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO telegram_parts (outbox_id, part, message_id, sent_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (outbox_id, part) DO UPDATE "
        "SET message_id = excluded.message_id, sent_at = excluded.sent_at",
        (outbox_id, part, message_id, to_db(now)),
    )


async def inbound_extra(conn: Conn, outbox_id: int) -> dict[str, Any]:
    """The extra data of the message a reply answers ({} for messages we start)."""
    row = await fetchone(
        conn,
        "SELECT i.extra FROM outbox o JOIN inbox i ON i.id = o.inbox_id WHERE o.id = ?",
        (outbox_id,),
    )
    if row is None:
        return {}
    extra: dict[str, Any] = json.loads(row["extra"])
    return extra


async def person_lang(conn: Conn, person_id: int | None) -> str:
    if person_id is None:
        return "mn"
    row = await fetchone(conn, "SELECT lang FROM people WHERE id = ?", (person_id,))
    return str(row["lang"]) if row else "mn"


async def earlier_messages(conn: Conn, address: str, inbox_id: int) -> int:
    """How many messages this address sent before this one."""
    row = await fetchone(
        conn, "SELECT count(*) AS n FROM inbox WHERE address = ? AND id < ?", (address, inbox_id)
    )
    return int(row["n"]) if row else 0


async def set_phone(conn: Conn, person_id: int, phone: str) -> None:
    identities.person_written()
    await conn.execute("UPDATE people SET phone = ? WHERE id = ?", (phone, person_id))


async def move_telegram(conn: Conn, from_id: int, to_id: int, telegram_id: int) -> None:
    """Give the Telegram account to the person who owns the phone it shared.

    The account's first, phone-less record keeps its history (its messages and our
    replies point at it) but no longer answers to the account: an identity has one owner
    (storage.identities)."""
    await identities.move(conn, TELEGRAM, str(telegram_id), from_id, to_id)
    identities.person_written()
    await conn.execute("UPDATE people SET channel = ? WHERE id = ?", (TELEGRAM_CHANNEL, to_id))


async def governors_in_telegram(conn: Conn) -> list[tuple[int, str]]:
    """(Telegram chat id, language) of every bag governor linked in Telegram."""
    rows = await fetchall(
        conn,
        "SELECT DISTINCT i.address, p.lang FROM people p JOIN roles r ON r.person_id = p.id "
        "JOIN identities i ON i.person_id = p.id AND i.kind = ? WHERE r.role IN ('governor')",
        (TELEGRAM,),
    )
    return [(int(r["address"]), str(r["lang"])) for r in rows]


async def is_governor(conn: Conn, person_id: int) -> bool:
    row = await fetchone(
        conn,
        "SELECT 1 FROM roles WHERE person_id = ? AND role IN ('governor') LIMIT 1",
        (person_id,),
    )
    return row is not None
