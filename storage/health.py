"""What `/healthz` asks of the database itself: does it take a write, is the file sound."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from storage.db import Tx, first_complaint, sqlite_file
from storage.times import to_db

QUICK_CHECK_TIMEOUT = 5.0  # seconds a read of the file waits for another process's lock


async def mark_checked(tx: Tx, now: datetime) -> None:
    """Rewrite the one row of the ``health`` table: a real write in a real transaction (a
    full disk, a read-only file or a lost connection fail here)."""
    await tx.execute(
        "INSERT INTO health (id, checked_at) VALUES (1, ?) "
        "ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
        (to_db(now),),
    )


def file_problem(path: str) -> str | None:
    """``PRAGMA quick_check`` of the file on disk, through a fresh read-only connection
    (what is on disk, not the server's page cache): None when sound, else its first
    complaint in one line. Blocking (it reads every page): run it in a thread. Raises
    storage.db.DatabaseError when the file cannot be read at all."""
    conn = sqlite3.connect(
        f"{sqlite_file(path).resolve().as_uri()}?mode=ro", uri=True, timeout=QUICK_CHECK_TIMEOUT
    )
    try:
        rows = conn.execute("PRAGMA quick_check(1)").fetchall()
    finally:
        conn.close()
    first = first_complaint(rows)
    return None if first == "ok" else first
