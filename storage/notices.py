"""The notice that a bag's voting has opened: the bag's SMS choice and its outbox rows.

Who got the notice is in the outbox, one row per citizen and round under the dedupe key
``voting-open:<round id>:<person id>``: a second ХУРААЛТ, a scheduler and a governor at
once, or a restart queue nothing twice.
"""

from __future__ import annotations

from storage.db import Conn, fetchone


def prefix(round_id: int) -> str:
    """The dedupe-key prefix of one round's notices (cancelled together)."""
    return f"voting-open:{round_id}:"


def key(round_id: int, person_id: int) -> str:
    return f"{prefix(round_id)}{person_id}"


async def sms_choice(conn: Conn, bag_code: str) -> bool | None:
    """The bag governor's choice (True: by SMS too, False: Telegram only), or None when
    the bag follows the setting."""
    row = await fetchone(conn, "SELECT voting_notice_sms FROM units WHERE code = ?", (bag_code,))
    if row is None or row["voting_notice_sms"] is None:
        return None
    return bool(row["voting_notice_sms"])


async def set_sms_choice(conn: Conn, bag_code: str, by_sms: bool) -> None:
    await conn.execute(
        "UPDATE units SET voting_notice_sms = ? WHERE code = ?", (int(by_sms), bag_code)
    )


async def cancel_sms(conn: Conn, round_id: int) -> int:
    """Cancel the round's SMS notices not sent yet (Telegram ones cost nothing and stay)."""
    cur = await conn.execute(
        "UPDATE outbox SET status = 'cancelled' WHERE status = 'queued' "
        "AND channel != 'telegram' AND dedupe_key LIKE ?",
        (prefix(round_id) + "%",),
    )
    return cur.rowcount
