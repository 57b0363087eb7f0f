"""Replies held until the documents they carry are rendered.

Rendering a report (PDF, PNG, XLSX, DOCX) takes seconds, too long to hold the one writer
for. So the reply is queued in the message's transaction like any other, but held: a
queued outbox row that is never due (``next_attempt_at`` is :data:`HELD`), naming in its
``extra["render"]`` what to render. After the commit the router renders outside the
transaction and releases the row in a short write (bot/router.py); a crash in between
leaves the row held, and the next start or sweep renders and releases it. The reply is
never lost (it is in the outbox from the first commit) and never doubled (it is the same
row, released once).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from storage.db import Conn, fetchall, to_json
from storage.times import to_db

HELD = datetime(9999, 12, 31, tzinfo=UTC)  # the due time of a held row: never
_HELD = to_db(HELD)


@dataclass(frozen=True, slots=True)
class HeldReply:
    id: int
    inbox_id: int | None
    person_id: int | None
    channel: str
    render: list[dict[str, Any]]  # what to render (handlers/report_request.py)
    extra: dict[str, Any]  # the rest of the row's extra, kept on release


async def held(conn: Conn, inbox_ids: Sequence[int] | None = None) -> list[HeldReply]:
    """The held replies (to these messages, when given), oldest first."""
    sql = (
        "SELECT id, inbox_id, person_id, channel, extra FROM outbox "
        "WHERE status = 'queued' AND next_attempt_at = ?"
    )
    args: list[object] = [_HELD]
    if inbox_ids is not None:
        if not inbox_ids:
            return []
        sql += f" AND inbox_id IN ({','.join('?' * len(inbox_ids))})"
        args += inbox_ids
    rows = await fetchall(conn, sql + " ORDER BY id", args)
    found = []
    for r in rows:
        extra = json.loads(r["extra"])
        render = extra.pop("render", [])
        found.append(HeldReply(r["id"], r["inbox_id"], r["person_id"], r["channel"], render, extra))
    return found


async def release(
    conn: Conn, outbox_id: int, extra: dict[str, Any], now: datetime, text: str | None = None
) -> bool:
    """Make a held reply due, in the place it was queued at, with its rendered documents
    in ``extra`` (and ``text`` instead of its own, when given). False when it was released
    already (by another process)."""
    cur = await conn.execute(
        "UPDATE outbox SET extra = ?, text = coalesce(?, text), "
        "next_attempt_at = CASE WHEN created_at < ? THEN created_at ELSE ? END "
        "WHERE id = ? AND status = 'queued' AND next_attempt_at = ?",
        (to_json(extra), text, to_db(now), to_db(now), outbox_id, _HELD),
    )
    return cur.rowcount == 1
