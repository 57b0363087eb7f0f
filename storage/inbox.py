"""The inbox: every inbound message is stored here before it is handled.

Unique on (channel, external_id): a provider's redelivery is one row and one effect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot.core.message import Channel, Inbound
from storage.db import Conn, Row, fetchall, fetchone, to_json
from storage.times import from_db, to_db

# What a sealed message's text becomes (handlers.secrecy): it says a message was here and
# nothing of what it said.
SEALED = "🔒"
# Of a sealed message's extra, only what its reply still needs: the Telegram message a
# pressed button was on (the reply edits it) and the press's id.
KEPT_WHEN_SEALED = ("callback", "callback_message_id")


@dataclass(frozen=True, slots=True)
class InboxRow:
    id: int
    status: str
    message: Inbound


def _row(r: Row) -> InboxRow:
    msg = Inbound(
        channel=Channel(r["channel"]),
        external_id=r["external_id"],
        address=r["address"],
        text=r["text"],
        received_at=from_db(r["received_at"]),
        phone=r["phone"],
        telegram_id=r["telegram_id"],
        extra=json.loads(r["extra"]),
    )
    return InboxRow(r["id"], r["status"], msg)


# Eight values a row: 500 rows stay far below SQLite's limit on bound parameters.
STORE_MANY_MAX = 500


async def store_many(conn: Conn, msgs: list[Inbound]) -> list[tuple[int, bool]]:
    """Store messages with one statement, atomic alone: (inbox id, new) for each, in order.

    One statement is one round trip to the database thread for a whole burst of webhooks
    (a statement per message, plus BEGIN and COMMIT, made that thread the bottleneck).
    Rows get ids in the order given. A repeat, in the batch or from before, is not new.
    """
    if not msgs:
        return []
    if len(msgs) > STORE_MANY_MAX:
        head = await store_many(conn, msgs[:STORE_MANY_MAX])
        return head + await store_many(conn, msgs[STORE_MANY_MAX:])
    values: list[object] = []
    for msg in msgs:
        values += (
            msg.channel.value,
            msg.external_id,
            msg.address,
            msg.phone,
            msg.telegram_id,
            msg.text,
            to_json(msg.extra),
            to_db(msg.received_at),
        )
    rows = await conn.execute_fetchall(
        "INSERT INTO inbox (channel, external_id, address, phone, telegram_id, "  # noqa: S608 - placeholders and constants only
        "text, extra, received_at) VALUES "
        + ",".join(["(?,?,?,?,?,?,?,?)"] * len(msgs))
        + " ON CONFLICT DO NOTHING RETURNING id, channel, external_id",
        values,
    )
    ids = {(r["channel"], r["external_id"]): int(r["id"]) for r in rows}
    new = set(ids)
    missing = {(m.channel.value, m.external_id) for m in msgs} - new
    for channel, external_id in missing:  # stored before: rare (a provider's retry)
        row = await fetchone(
            conn,
            "SELECT id FROM inbox WHERE channel = ? AND external_id = ?",
            (channel, external_id),
        )
        assert row is not None
        ids[(channel, external_id)] = int(row["id"])
    results = []
    for msg in msgs:
        key = (msg.channel.value, msg.external_id)
        results.append((ids[key], key in new))
        new.discard(key)  # the same message twice in one batch: only the first is new
    return results


async def get(conn: Conn, inbox_id: int) -> InboxRow | None:
    row = await fetchone(conn, "SELECT * FROM inbox WHERE id = ?", (inbox_id,))
    return _row(row) if row else None


async def batch(
    conn: Conn, inbox_ids: list[int], since: datetime
) -> dict[int, tuple[InboxRow, int]]:
    """The rows of a batch about to be handled, in one statement: each with the number of
    messages from its sender since ``since`` up to it, as :func:`recent_from` counts."""
    marks = ", ".join("?" * len(inbox_ids))
    rows = await fetchall(
        conn,
        "SELECT i.*, (SELECT count(*) FROM inbox j WHERE j.address = i.address "  # noqa: S608 - placeholders only
        f"AND j.received_at >= ? AND j.id <= i.id) AS recent FROM inbox i WHERE i.id IN ({marks})",
        (to_db(since), *inbox_ids),
    )
    return {int(r["id"]): (_row(r), int(r["recent"])) for r in rows}


async def pending(conn: Conn, limit: int = 100) -> list[InboxRow]:
    rows = await fetchall(
        conn, "SELECT * FROM inbox WHERE status = 'pending' ORDER BY id LIMIT ?", (limit,)
    )
    return [_row(r) for r in rows]


async def pending_received_by(conn: Conn, until: datetime) -> int:
    """How many messages received at or before ``until`` are still to be handled.

    The pending rows are few and found by the (status, id) index; their times are then
    read, so a large inbox of handled rows costs nothing."""
    row = await fetchone(
        conn,
        "SELECT count(*) AS n FROM inbox WHERE status = 'pending' AND received_at <= ?",
        (to_db(until),),
    )
    return int(row["n"]) if row else 0


async def previous_id(conn: Conn, address: str, channel: str, before_id: int) -> int | None:
    """The sender's message just before this one on the same channel, if any."""
    row = await fetchone(
        conn,
        "SELECT id FROM inbox WHERE address = ? AND channel = ? AND id < ? "
        "ORDER BY id DESC LIMIT 1",
        (address, channel, before_id),
    )
    return int(row["id"]) if row else None


async def mark(conn: Conn, inbox_id: int, status: str, intent: str | None, now: datetime) -> bool:
    """Mark a pending row handled (or failed); False if another worker already did."""
    cur = await conn.execute(
        "UPDATE inbox SET status = ?, intent = ?, handled_at = ? "
        "WHERE id = ? AND status = 'pending'",
        (status, intent, to_db(now), inbox_id),
    )
    return cur.rowcount == 1


async def mark_many(conn: Conn, marks: list[tuple[int, str, str | None, datetime]]) -> None:
    """:func:`mark` for several rows (id, status, intent, now) in one round trip."""
    await conn.executemany(
        "UPDATE inbox SET status = ?, intent = ?, handled_at = ? "
        "WHERE id = ? AND status = 'pending'",
        [(status, intent, to_db(now), inbox_id) for inbox_id, status, intent, now in marks],
    )


async def recent_from(conn: Conn, address: str, since: datetime, up_to_id: int) -> int:
    """Messages from this sender since then, up to this one (those stored after it and
    not handled yet do not count: a burst is judged the same however it is batched)."""
    row = await fetchone(
        conn,
        "SELECT count(*) AS n FROM inbox WHERE address = ? AND received_at >= ? AND id <= ?",
        (address, to_db(since), up_to_id),
    )
    return int(row["n"]) if row else 0


async def seen_recently(
    conn: Conn,
    channel: str,
    address: str,
    text: str,
    since: datetime,
    fingerprint: str | None = None,
) -> bool:
    """Has this sender sent this very text on this channel since then? (Android retries.)

    A sealed message no longer has its text: its keyed ``fingerprint`` is compared."""
    row = await fetchone(
        conn,
        "SELECT 1 FROM inbox WHERE address = ? AND channel = ? AND received_at >= ? "
        "AND (text = ? OR (text = ? AND json_extract(extra, '$.fp') = ?)) LIMIT 1",
        (address, channel, to_db(since), text, SEALED, fingerprint),
    )
    return row is not None


async def seal(conn: Conn, inbox_id: int, extra: dict[str, str], fingerprint: str) -> None:
    """Blank a message that carries a ballot (call in the transaction that handles it).

    The row, its dedupe key (channel, external_id), its sender and its intent stay: the
    message was received and handled once. Its text and raw update go; ``fingerprint`` (a
    keyed digest of the text) still lets a provider's retry of it be recognised."""
    kept: dict[str, str] = {k: extra[k] for k in KEPT_WHEN_SEALED if k in extra}
    kept |= {"sealed": "1", "fp": fingerprint}
    await conn.execute(
        "UPDATE inbox SET text = ?, extra = ? WHERE id = ?",
        (SEALED, to_json(kept), inbox_id),
    )
