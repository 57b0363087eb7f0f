"""What the operator's views read: the figures behind `/metrics` and `sanal status`.

Counts only. Ballots are counted per round only once its voting has closed: while a round
is open nothing here says how many have voted in its bag (the global total, over every
round ever, is all there is), and nothing anywhere here reads ``ballot_choices``.

Also the scheduler's own mark (``settings_kv``): when its last sweep finished, so that
another process (`sanal status`, a second `serve`) can tell whether sweeps still come.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiosqlite

from storage.db import BUSY_TIMEOUT_MS, Conn, Tx, fetchall, fetchone, sqlite_file
from storage.rounds import STATUSES
from storage.times import from_db, to_db

LAST_SWEEP_KEY = "scheduler.last_sweep_at"
LAST_BACKUP_KEY = "backup.last_at"  # written by scheduler/backups.py
BACKLOG = ("queued", "sending")  # outbox rows not done with yet
# Rounds whose turnout is settled: it may be shown per bag.
FINISHED = ("closed", "confirmed", "submitted")
# Rounds still ahead of their close, in the order they move.
UNDER_WAY = ("draft", "collecting", "voting")


@dataclass(frozen=True, slots=True)
class ClosedTurnout:
    """Ballots cast in a round whose voting has closed."""

    bag_code: str
    year: int
    ballots: int


@dataclass(frozen=True, slots=True)
class Figures:
    """One reading of the database for `/metrics` and `sanal status`."""

    inbox: dict[str, int]  # 'pending', 'failed'
    backlog: dict[tuple[str, str], int]  # (channel, 'queued' | 'sending') -> messages
    oldest_due: dict[str, datetime]  # channel -> the earliest due time of a queued message
    rounds: dict[str, int]  # every status, 0 where none
    ballots: int  # ballots cast in every round of this database, together
    closed_turnout: list[ClosedTurnout]
    last_sweep: datetime | None
    last_backup: datetime | None
    size_bytes: int | None = None  # the database's own size (file, or pg_database_size)
    first_close_due: datetime | None = None  # the earliest "vote until" of rounds voting


async def figures(conn: Conn) -> Figures:
    """Everything `/metrics` shows from the database, in a handful of indexed queries."""
    inbox = {"pending": 0, "failed": 0}
    for r in await fetchall(
        conn,
        "SELECT status, count(*) AS n FROM inbox WHERE status IN ('pending', 'failed') "
        "GROUP BY status",
    ):
        inbox[str(r["status"])] = int(r["n"])
    backlog: dict[tuple[str, str], int] = {}
    oldest: dict[str, datetime] = {}
    for r in await fetchall(
        conn,
        "SELECT channel, status, count(*) AS n, min(next_attempt_at) AS first FROM outbox "
        "WHERE status IN ('queued', 'sending') GROUP BY channel, status",
    ):
        backlog[(str(r["channel"]), str(r["status"]))] = int(r["n"])
        if r["status"] == "queued" and r["first"]:
            oldest[str(r["channel"])] = from_db(str(r["first"]))
    rounds = dict.fromkeys(STATUSES, 0)
    for r in await fetchall(conn, "SELECT status, count(*) AS n FROM rounds GROUP BY status"):
        rounds[str(r["status"])] = int(r["n"])
    total = await fetchone(conn, "SELECT count(*) AS n FROM participation")
    marks = await _marks(conn, LAST_SWEEP_KEY, LAST_BACKUP_KEY)
    due = await fetchone(conn, "SELECT min(vote_until) AS t FROM rounds WHERE status = 'voting'")
    return Figures(
        inbox=inbox,
        backlog=backlog,
        oldest_due=oldest,
        rounds=rounds,
        ballots=int(total["n"]) if total else 0,
        closed_turnout=await closed_turnout(conn),
        last_sweep=marks.get(LAST_SWEEP_KEY),
        last_backup=marks.get(LAST_BACKUP_KEY),
        size_bytes=await database_size(conn),
        first_close_due=_time(due["t"]) if due else None,
    )


async def closed_turnout(conn: Conn) -> list[ClosedTurnout]:
    """Ballots per round, for rounds whose voting has closed only (never an open one's)."""
    rows = await fetchall(
        conn,
        "SELECT r.bag_code, r.year, (SELECT count(*) FROM participation p "  # noqa: S608 - placeholders and constants only
        "WHERE p.round_id = r.id) AS n FROM rounds r "
        f"WHERE r.status IN ({_marks_of(FINISHED)}) ORDER BY r.bag_code, r.year",
        FINISHED,
    )
    return [ClosedTurnout(str(r["bag_code"]), int(r["year"]), int(r["n"])) for r in rows]


def _marks_of(values: tuple[str, ...]) -> str:
    return ",".join("?" * len(values))


async def _marks(conn: Conn, *keys: str) -> dict[str, datetime]:
    rows = await fetchall(
        conn,
        f"SELECT key, value FROM settings_kv WHERE key IN ({_marks_of(keys)})",  # noqa: S608
        keys,
    )
    found: dict[str, datetime] = {}
    for r in rows:
        try:
            found[str(r["key"])] = from_db(str(r["value"]))
        except ValueError:  # not a time: as if never written
            continue
    return found


async def note_sweep(conn: Conn, at: datetime) -> None:
    """The scheduler finished a sweep at ``at`` (inside the caller's write transaction)."""
    await conn.execute(
        "INSERT INTO settings_kv (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (LAST_SWEEP_KEY, to_db(at)),
    )


# --- `sanal status` -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoundLine:
    """A round not yet closed, with where it is and what comes next."""

    id: int
    bag_code: str
    bag: str
    soum: str | None
    tz: str
    year: int
    status: str
    opens_at: datetime | None
    collect_until: datetime | None
    vote_until: datetime | None
    meeting_at: datetime | None  # the khural meeting, when one is scheduled
    meeting_id: int | None
    meeting_version: int | None


async def rounds_under_way(conn: Conn) -> list[RoundLine]:
    """Rounds in draft, collecting or voting, and their khural meeting if one is set."""
    rows = await fetchall(
        conn,
        "SELECT r.id, r.bag_code, r.year, r.status, r.opens_at, r.collect_until, "  # noqa: S608 - placeholders and constants only
        "r.vote_until, b.name AS bag, s.name AS soum, COALESCE(b.tz, 'Asia/Ulaanbaatar') AS tz, "
        "m.id AS meeting_id, m.starts_at, m.version FROM rounds r "
        "LEFT JOIN units b ON b.code = r.bag_code LEFT JOIN units s ON s.code = b.parent_code "
        "LEFT JOIN khural_meetings m ON m.id = (SELECT max(id) FROM khural_meetings "
        "WHERE round_id = r.id AND cancelled = 0) "
        f"WHERE r.status IN ({_marks_of(UNDER_WAY)}) ORDER BY r.bag_code, r.year",
        UNDER_WAY,
    )
    return [
        RoundLine(
            id=int(r["id"]),
            bag_code=str(r["bag_code"]),
            bag=str(r["bag"] or r["bag_code"]),
            soum=r["soum"],
            tz=str(r["tz"]),
            year=int(r["year"]),
            status=str(r["status"]),
            opens_at=_time(r["opens_at"]),
            collect_until=_time(r["collect_until"]),
            vote_until=_time(r["vote_until"]),
            meeting_at=_time(r["starts_at"]),
            meeting_id=r["meeting_id"],
            meeting_version=r["version"],
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class MeetingLine:
    """A khural meeting still ahead."""

    id: int
    version: int
    round_id: int
    bag_code: str
    bag: str
    tz: str
    starts_at: datetime


async def meetings_ahead(conn: Conn, now: datetime) -> list[MeetingLine]:
    """Khural meetings not cancelled and not yet begun, soonest first."""
    rows = await fetchall(
        conn,
        "SELECT m.id, m.version, m.round_id, m.starts_at, r.bag_code, b.name AS bag, "
        "COALESCE(b.tz, 'Asia/Ulaanbaatar') AS tz FROM khural_meetings m "
        "JOIN rounds r ON r.id = m.round_id LEFT JOIN units b ON b.code = r.bag_code "
        "WHERE m.cancelled = 0 AND m.starts_at > ? ORDER BY m.starts_at",
        (to_db(now),),
    )
    return [
        MeetingLine(
            id=int(r["id"]),
            version=int(r["version"]),
            round_id=int(r["round_id"]),
            bag_code=str(r["bag_code"]),
            bag=str(r["bag"] or r["bag_code"]),
            tz=str(r["tz"]),
            starts_at=from_db(str(r["starts_at"])),
        )
        for r in rows
    ]


async def fanouts_done(conn: Conn, keys: list[str]) -> set[str]:
    """Which of these reminder fan-outs (storage/reminders.py keys) have gone out."""
    if not keys:
        return set()
    rows = await fetchall(
        conn,
        f"SELECT key FROM reminder_fanouts WHERE key IN ({_marks_of(tuple(keys))})",  # noqa: S608 - placeholders and constants only
        tuple(keys),
    )
    return {str(r["key"]) for r in rows}


@dataclass(frozen=True, slots=True)
class ChannelLine:
    """How one channel's sending goes, read from its outbox rows."""

    channel: str
    last_sent: datetime | None
    overdue: int  # queued and due before the given moment
    failing: int  # queued or sending after this many errors or more
    checks_failing: int  # waiting because the provider cannot be asked about them
    failed_since: int  # failed for good since the given moment
    last_error: str | None  # of the latest row that had one (may name a provider's code)


async def channels(
    conn: Conn, *, overdue_before: datetime, failing_after: int, since: datetime
) -> list[ChannelLine]:
    """Per channel: when it last sent, and what is stuck or failing."""
    rows = await fetchall(
        conn,
        "SELECT channel, max(sent_at) AS last_sent, "
        "count(*) FILTER (WHERE status = 'queued' AND next_attempt_at < ?) AS overdue, "
        "count(*) FILTER (WHERE status IN ('queued', 'sending') AND error_count >= ?) "
        "AS failing, "
        "count(*) FILTER (WHERE status IN ('queued', 'sending') AND check_failures > 0) "
        "AS checks, "
        "count(*) FILTER (WHERE status = 'failed' AND created_at >= ?) AS failed "
        "FROM outbox GROUP BY channel ORDER BY channel",
        (to_db(overdue_before), failing_after, to_db(since)),
    )
    lines = []
    for r in rows:
        error = await fetchone(
            conn,
            "SELECT last_error FROM outbox WHERE channel = ? AND last_error IS NOT NULL "
            "AND last_error != 'paced' ORDER BY id DESC LIMIT 1",
            (r["channel"],),
        )
        lines.append(
            ChannelLine(
                channel=str(r["channel"]),
                last_sent=_time(r["last_sent"]),
                overdue=int(r["overdue"]),
                failing=int(r["failing"]),
                checks_failing=int(r["checks"]),
                failed_since=int(r["failed"]),
                last_error=str(error["last_error"]) if error else None,
            )
        )
    return lines


async def schema_behind(conn: Conn, known: set[int]) -> list[int]:
    """Migrations this version knows that the database has not had (`sanal migrate`)."""
    rows = await fetchall(conn, "SELECT version FROM schema_migrations")
    return sorted(known - {int(r["version"]) for r in rows})


async def database_size(conn: Conn) -> int | None:
    """Bytes the database takes: the server's ``pg_database_size``, or SQLite's pages
    (the main file; its WAL aside). None when it cannot be told."""
    if conn.dialect == "postgresql":
        row = await fetchone(conn, "SELECT pg_database_size(current_database()) AS n")
    else:
        row = await fetchone(
            conn,
            "SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()",
        )
    return int(row["n"]) if row and row["n"] is not None else None


@asynccontextmanager
async def read_only(path: Path) -> AsyncIterator[Tx]:
    """A connection that cannot write (``mode=ro``): safe beside a running `serve`, and
    it never creates a file where none is. In WAL mode it reads the last commit without
    waiting for a writer."""
    conn = await aiosqlite.connect(_read_only_uri(path), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA query_only=ON")
        yield Tx(conn)
    finally:
        await conn.close()


def _read_only_uri(path: Path) -> str:
    return f"{Path(os.path.abspath(sqlite_file(path))).as_uri()}?mode=ro"


def _time(value: str | None) -> datetime | None:
    return from_db(value) if value else None
