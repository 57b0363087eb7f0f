"""Times the application keeps by name in ``settings_kv``: when something last happened,
until when a lease is held (the scheduled backup's, storage.backup.LEASE_KEY)."""

from __future__ import annotations

from datetime import datetime

from storage.db import Conn, fetchall, fetchone
from storage.times import from_db, to_db


async def time_of(conn: Conn, key: str) -> datetime | None:
    row = await fetchone(conn, "SELECT value FROM settings_kv WHERE key = ?", (key,))
    return from_db(str(row["value"])) if row else None


async def times_of(conn: Conn, *keys: str) -> dict[str, datetime]:
    """The times kept under these keys (a key never written is left out)."""
    marks = ",".join("?" for _ in keys)
    rows = await fetchall(conn, f"SELECT key, value FROM settings_kv WHERE key IN ({marks})", keys)  # noqa: S608 - placeholders and constants only
    return {str(r["key"]): from_db(str(r["value"])) for r in rows}


async def put_time(conn: Conn, key: str, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO settings_kv (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, to_db(at)),
    )


async def forget(conn: Conn, key: str) -> None:
    await conn.execute("DELETE FROM settings_kv WHERE key = ?", (key,))
