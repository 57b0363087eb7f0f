"""What the training simulator may see and touch.

The simulator writes as any phone number; where real people use Sanal that would be a back
door. These queries tell a real person's number (it has written, or been written to,
through a real channel, or it is linked to a chat account such as Telegram) from a
training phone, and read back only the simulator's own messages, never a real channel's.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import channels
from storage.db import Conn, fetchall, fetchone

SIM = "sim"


def real_channels() -> list[str]:
    """The registered channels that reach real people (all but the simulator)."""
    return [c.name for c in channels.registered() if not c.training]


async def real_channels_seen(conn: Conn) -> list[str]:
    """The real channels that have carried a message in this database, either way."""
    seen = []
    for channel in real_channels():
        # Both tables have an index that starts with the channel: each probe is one seek.
        row = await fetchone(
            conn,
            "SELECT EXISTS (SELECT 1 FROM inbox WHERE channel = ?) "
            "OR EXISTS (SELECT 1 FROM outbox WHERE channel = ?) AS seen",
            (channel, channel),
        )
        if row is not None and row["seen"]:
            seen.append(channel)
    if "telegram" not in seen:
        row = await fetchone(
            conn, "SELECT EXISTS (SELECT 1 FROM identities WHERE kind = 'telegram') AS seen"
        )
        if row is not None and row["seen"]:
            seen.append("telegram")
    return seen


async def real_history(conn: Conn, phone: str) -> bool:
    """Whether this number belongs to a real person: it wrote or was written to through a
    real channel, or its person last wrote through one, or has a chat account (Telegram)."""
    address = f"tel:{phone}"
    row = await fetchone(
        conn,
        "SELECT EXISTS (SELECT 1 FROM inbox WHERE address = ? AND channel != ?) "
        "OR EXISTS (SELECT 1 FROM outbox WHERE address = ? AND channel != ?) "
        "OR EXISTS (SELECT 1 FROM people p WHERE phone = ? AND (coalesce(channel, ?) != ? "
        "    OR EXISTS (SELECT 1 FROM identities i WHERE i.person_id = p.id))) AS real",
        (address, SIM, address, SIM, phone, SIM, SIM),
    )
    return bool(row is not None and row["real"])


@dataclass(frozen=True, slots=True)
class SimMessage:
    """One message of a simulator conversation, as the simulator page shows it."""

    direction: str  # "in" (the phone wrote it) or "out" (Sanal did)
    id: int  # its inbox or outbox id
    text: str
    at: str  # when it was received or queued, as stored
    status: str | None  # an outgoing message's outbox status


async def conversation(conn: Conn, phone: str, limit: int = 200) -> list[SimMessage]:
    """The simulator's own messages to and from this number, newest first.

    Only rows of the ``sim`` channel: a number's Twilio, Android or Telegram messages never
    reach the simulator page, whatever number is asked for."""
    address = f"tel:{phone}"
    # Within one second, a reply sorts right after the message it answers (seq 2n+1 after
    # 2n); messages we started sort after both.
    rows = await fetchall(
        conn,
        "SELECT * FROM (SELECT 'in' AS direction, id, text, received_at AS at, NULL AS status, "
        "id * 2 AS seq FROM inbox WHERE address = ? AND channel = ? UNION ALL "
        "SELECT 'out' AS direction, id, text, created_at AS at, status, "
        "coalesce(inbox_id * 2 + 1, 1000000000000 + id) AS seq "
        "FROM outbox WHERE address = ? AND channel = ?) AS m ORDER BY at DESC, seq DESC LIMIT ?",
        (address, SIM, address, SIM, limit),
    )
    return [
        SimMessage(str(r["direction"]), int(r["id"]), str(r["text"]), str(r["at"]), r["status"])
        for r in rows
    ]
