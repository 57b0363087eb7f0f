"""The append-only audit log of every governor, operator and system action.

Never write a voter's choices here: the log is readable by officials.
"""

from __future__ import annotations

import json
from datetime import datetime

from bot.clock import to_db
from storage.db import Conn, Row, fetchall


async def record(
    conn: Conn,
    *,
    now: datetime,
    actor: str,
    action: str,
    actor_id: int | None = None,
    unit_code: str | None = None,
    round_id: int | None = None,
    **detail: object,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (at, actor_id, actor, action, unit_code, round_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            to_db(now),
            actor_id,
            actor,
            action,
            unit_code,
            round_id,
            json.dumps(detail, ensure_ascii=False, default=str),
        ),
    )


async def entries(conn: Conn, action: str | None = None) -> list[Row]:
    if action:
        return await fetchall(
            conn, "SELECT * FROM audit_log WHERE action = ? ORDER BY id", (action,)
        )
    return await fetchall(conn, "SELECT * FROM audit_log ORDER BY id")
