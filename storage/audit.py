"""The append-only audit log of every governor, operator and system action.

Never write a voter's choices here: the log is readable by officials. Every row names the
channel the action came through, so that what was done through the training simulator
can never pass for what a person sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core import channels
from storage.db import Conn, Row, fetchall, fetchone, to_json
from storage.times import to_db

# Where an action can come from besides the registered message channels
# (bot.core.channels): the operator's and the scheduler's own work.
OWN_WORK = frozenset({"cli", "scheduler"})


def origins() -> frozenset[str]:
    """Every channel an audited action can come through."""
    return OWN_WORK | {c.name for c in channels.registered()}


async def record(
    conn: Conn,
    *,
    now: datetime,
    actor: str,
    action: str,
    channel: str,
    actor_id: int | None = None,
    unit_code: str | None = None,
    round_id: int | None = None,
    **detail: object,
) -> None:
    if channel not in origins():  # a typo here would hide an action's origin for good
        raise ValueError(f"audit channel {channel!r} is not one of {sorted(origins())}")
    await conn.execute(
        "INSERT INTO audit_log (at, actor_id, actor, action, channel, unit_code, round_id, "
        "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            to_db(now),
            actor_id,
            actor,
            action,
            channel,
            unit_code,
            round_id,
            to_json(detail, default=str),
        ),
    )


async def recorded_since(conn: Conn, action: str, actor: str, since: datetime) -> bool:
    """Whether ``action`` was recorded for this actor (an address) at ``since`` or later."""
    row = await fetchone(
        conn,
        "SELECT 1 FROM audit_log WHERE action = ? AND actor = ? AND at >= ? LIMIT 1",
        (action, actor, to_db(since)),
    )
    return row is not None


async def latest_about_message(
    conn: Conn, actions: Sequence[str], actor_id: int, inbox_id: int, since: datetime
) -> str | None:
    """The newest of these actions recorded since then by the person about one inbox
    message (its ``inbox_id`` detail), if any."""
    marks = ",".join("?" for _ in actions)
    row = await fetchone(
        conn,
        f"SELECT action FROM audit_log WHERE action IN ({marks}) AND actor_id = ? "  # noqa: S608 - placeholders and constants only
        "AND at >= ? AND CAST(json_extract(detail, '$.inbox_id') AS TEXT) = ? "
        "ORDER BY id DESC LIMIT 1",
        # Compared as text: SQLite's json_extract gives a number, PostgreSQL's (migration
        # 0007's function) text.
        (*actions, actor_id, to_db(since), str(inbox_id)),
    )
    return str(row["action"]) if row else None


async def entries(conn: Conn, action: str | None = None) -> list[Row]:
    if action:
        return await fetchall(
            conn, "SELECT * FROM audit_log WHERE action = ? ORDER BY id", (action,)
        )
    return await fetchall(conn, "SELECT * FROM audit_log ORDER BY id")
