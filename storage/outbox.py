"""The outbox: every outbound message, with retries and status.

A row is claimed for sending with a lease (status 'sending', ``lease_owner`` the sender
that holds it, next_attempt_at = lease end): two senders never send the same row. A row
whose owner died is taken back as soon as another sender sees that (storage.lease_owners),
and a live owner's row is never taken. Each send is written down before the provider is
called (``attempts``, ``in_doubt``), so after a crash we know which rows may have reached
the provider and which were only claimed. Unique ``dedupe_key`` makes every enqueue
idempotent (one reply per inbound, one reminder per person and meeting time).

Rows someone is waiting for right now (``urgent``: see :func:`is_urgent`) are claimed
before the rest, whenever theirs were due: the answer to a message does not queue behind
a fan-out of 300,000 reminders.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core import backoff, channels
from storage.db import Conn, Row, fetchall, fetchone, to_json
from storage.times import from_db, to_db


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    channel: str
    address: str
    person_id: int | None
    kind: str
    text: str
    extra: dict[str, Any] = field(default_factory=dict)
    error_count: int = 0
    round_id: int | None = None
    created_at: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    attempts: int = 0  # sends started before this one
    # An earlier attempt may have reached the provider (a timeout, a crash mid-send) and
    # nothing has ruled that out since.
    in_doubt: bool = False
    check_failures: int = 0  # consecutive failed "do you have it already?" checks

    @property
    def maybe_accepted(self) -> bool:
        """An earlier attempt may have reached the provider: check before sending again."""
        return self.in_doubt

    @property
    def tried(self) -> bool:
        """A send was started before (parts of a long Telegram message may be out)."""
        return self.attempts > 0 or self.in_doubt


def _row(r: Row) -> OutboxRow:
    return OutboxRow(
        r["id"],
        r["channel"],
        r["address"],
        r["person_id"],
        r["kind"],
        r["text"],
        json.loads(r["extra"]),
        r["error_count"],
        r["round_id"],
        from_db(r["created_at"]),
        int(r["attempts"]),
        # A lease that ran out without an owner (a version before leases had owners, or a
        # test's bare claim) was cut short by a crash: the provider may have it.
        bool(r["in_doubt"]) or r["status"] == "sending",
        int(r["check_failures"]),
    )


# What handling a message queues besides its reply (bot/router.py): a governor asked to
# admit someone, a proposer told, the rest of a long answer. Its key names the inbound.
_HANDLING_NOTICE = "notice:"


def is_urgent(kind: str, dedupe_key: str) -> bool:
    """Whether someone is waiting for this message now: the reply to what they just wrote,
    and what handling it told others (a few people, at most a handful of messages each).
    Fan-outs (reminders, voting notices, results) wait behind them."""
    return kind == "reply" or dedupe_key.startswith(_HANDLING_NOTICE)


async def enqueue(
    conn: Conn,
    *,
    dedupe_key: str,
    channel: str,
    address: str,
    text: str,
    now: datetime,
    person_id: int | None = None,
    inbox_id: int | None = None,
    kind: str = "reply",
    extra: dict[str, Any] | None = None,
    round_id: int | None = None,
    bag_code: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Queue a message; False when one with this dedupe key exists already."""
    cur = await conn.execute(
        "INSERT INTO outbox (dedupe_key, channel, address, person_id, inbox_id, kind, "
        "text, extra, next_attempt_at, round_id, bag_code, created_at, urgent) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
        (
            dedupe_key,
            channel,
            address,
            person_id,
            inbox_id,
            kind,
            text,
            to_json(extra or {}),
            to_db(not_before or now),
            round_id,
            bag_code,
            to_db(now),
            int(is_urgent(kind, dedupe_key)),
        ),
    )
    if cur.rowcount != 1:
        return False
    conn.queued_outbox()
    return True


async def claim_due(
    conn: Conn,
    channel: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    owner: str | None = None,
    *,
    attempt: int = 0,
) -> list[OutboxRow]:
    """Take up to ``limit`` due rows of a channel for sending (call inside a write txn):
    the urgent ones first (:func:`is_urgent`), then the rest, each in the order they fell
    due (one chat's replies, or one person's reminders, keep their order).

    A row leased by an owner is never taken here, however old its lease: a dead owner's
    rows are given back by :func:`take_back`; only an owner-less lease ends by time.

    ``attempt``: the sends of the first this many rows start now, written down in this
    claim as :func:`mark_attempts` would (one commit for what goes out at once). The rows
    returned say what was true before (``in_doubt``, ``attempts``); a row then not sent
    after all goes back with :func:`unclaim`.

    On PostgreSQL the claim need not run alone (``db.write(serial=False)``): the rows
    read are locked, and rows another transaction holds (another sender's claim, a
    cancel) are skipped, not waited for, so two senders never take one row and a claim
    never waits. SQLite's one writer does the same by itself."""
    rows: list[Row] = []
    # Urgent rows first, then the rest: one statement each, so that each reads the index
    # outbox_claim in order from its start and stops at the batch (migration 0016).
    for urgent in (1, 0):
        if len(rows) < limit:
            rows += await fetchall(
                conn, _claim_sql(conn.dialect), (channel, urgent, to_db(now), limit - len(rows))
            )
    if rows:
        await conn.executemany(
            "UPDATE outbox SET status = 'sending', next_attempt_at = ?, lease_owner = ?, "
            "in_doubt = CASE WHEN ? = 1 OR in_doubt = 1 OR status = 'sending' THEN 1 "
            "ELSE 0 END, attempts = attempts + ? WHERE id = ?",
            [
                (to_db(now + lease), owner, int(i < attempt), int(i < attempt), r["id"])
                for i, r in enumerate(rows)
            ],
        )
    return [_row(r) for r in rows]


def _claim_sql(dialect: str) -> str:
    # The status test is the index's own condition, written the same (it is partial).
    skip_taken = " FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
    return (
        "SELECT * FROM outbox WHERE status IN ('queued', 'sending') AND channel = ? "  # noqa: S608 - placeholders and constants only
        "AND urgent = ? AND next_attempt_at <= ? AND (status = 'queued' OR lease_owner IS NULL) "
        f"ORDER BY next_attempt_at, id LIMIT ?{skip_taken}"
    )


async def claim_plan(conn: Conn, channel: str, now: datetime, *, urgent: bool) -> str:
    """How the database reads one step of :func:`claim_due` (EXPLAIN), one line a step:
    for tests and benches checking that a large queue is read through its index."""
    explain = "EXPLAIN QUERY PLAN " if conn.dialect == "sqlite" else "EXPLAIN "
    rows = await fetchall(
        conn,
        explain + _claim_sql(conn.dialect),
        (channel, int(urgent), to_db(now), 100),
    )
    return "\n".join(str(r[-1]) for r in rows)


async def unclaim(conn: Conn, rows: Sequence[OutboxRow], next_attempt: datetime) -> None:
    """Give back rows claimed with ``attempt=True`` that were not handed to the provider
    after all (a pause, the pace, a stop): queued again, no error counted, and their
    attempt undone (in doubt only if they were before the claim)."""
    await conn.executemany(
        "UPDATE outbox SET status = 'queued', next_attempt_at = ?, attempts = ?, "
        "in_doubt = ? WHERE id = ? AND status = 'sending'",
        [(to_db(next_attempt), r.attempts, int(r.in_doubt), r.id) for r in rows],
    )


async def lease_owners(conn: Conn) -> list[str]:
    """The owners of the rows being sent now, on every channel."""
    rows = await fetchall(
        conn,
        "SELECT DISTINCT lease_owner FROM outbox WHERE status = 'sending' "
        "AND lease_owner IS NOT NULL",
    )
    return [str(r["lease_owner"]) for r in rows]


@dataclass(frozen=True, slots=True)
class TakenBack:
    rows: int
    in_doubt: int  # of which a send had started: the provider may have them


async def take_back(conn: Conn, owner: str, now: datetime, keep: Sequence[int] = ()) -> TakenBack:
    """Queue again, due now, the rows leased by an owner that no longer sends them (it
    died, or it is us and these are not in flight: ``keep`` lists the ones that are).
    Whether a send had started stays written down (``in_doubt``)."""
    marks = ",".join("?" * len(keep))
    skip = f"AND id NOT IN ({marks})" if keep else ""
    # Due now, in the place it had: a chat's earlier message still goes before its later.
    rows = await fetchall(
        conn,
        "UPDATE outbox SET status = 'queued', "  # noqa: S608 - placeholders and constants only
        "next_attempt_at = CASE WHEN created_at < ? THEN created_at ELSE ? END, "
        "lease_owner = NULL "
        f"WHERE status = 'sending' AND lease_owner = ? {skip} RETURNING in_doubt",
        (to_db(now), to_db(now), owner, *keep),
    )
    return TakenBack(len(rows), sum(1 for r in rows if r["in_doubt"]))


async def mark_attempts(conn: Conn, ids: Sequence[int], owner: str | None) -> set[int]:
    """Write down that sends of these rows start now (before calling the provider): a
    crash from here on leaves them in doubt. Returns the ids still leased by ``owner``
    (only those may be sent)."""
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    rows = await fetchall(
        conn,
        "UPDATE outbox SET attempts = attempts + 1, in_doubt = 1 "  # noqa: S608 - placeholders and constants only
        f"WHERE id IN ({marks}) AND status = 'sending' "
        "AND lease_owner IS NOT DISTINCT FROM ? RETURNING id",
        (*ids, owner),
    )
    return {int(r["id"]) for r in rows}


async def mark_sent(
    conn: Conn, outbox_id: int, provider_id: str | None, segments: int | None, now: datetime
) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'sent', provider_id = ?, segments = ?, sent_at = ? "
        "WHERE id = ?",
        (provider_id, segments, to_db(now), outbox_id),
    )
    if provider_id is None:
        return
    early = await fetchone(
        conn,
        "DELETE FROM provider_receipts WHERE provider_id = ? "
        "AND channel = (SELECT channel FROM outbox WHERE id = ?) RETURNING status, error",
        (provider_id, outbox_id),
    )
    if early is not None:
        await _apply_receipt(conn, outbox_id, str(early["status"]), early["error"])


async def mark_sent_many(
    conn: Conn,
    channel: str,
    sent: Sequence[tuple[int, str | None, int | None]],
    now: datetime,
) -> None:
    """:func:`mark_sent` for many rows of one channel: (outbox id, provider id, segments).
    Two statements for the lot, which is what a broadcast's sender needs."""
    if not sent:
        return
    await conn.executemany(
        "UPDATE outbox SET status = 'sent', provider_id = ?, segments = ?, sent_at = ? "
        "WHERE id = ?",
        [(pid, segments, to_db(now), oid) for oid, pid, segments in sent],
    )
    row_of = {pid: oid for oid, pid, _ in sent if pid is not None}
    if not row_of:
        return
    marks = ",".join("?" * len(row_of))
    early = await fetchall(
        conn,
        f"DELETE FROM provider_receipts WHERE channel = ? AND provider_id IN ({marks}) "  # noqa: S608 - placeholders and constants only
        "RETURNING provider_id, status, error",
        (channel, *row_of),
    )
    for r in early:
        await _apply_receipt(conn, row_of[r["provider_id"]], str(r["status"]), r["error"])


async def mark_retry(
    conn: Conn,
    outbox_id: int,
    error: str,
    next_attempt: datetime,
    *,
    count_error: bool = True,
    in_doubt: bool | None = None,
) -> str:
    """Put a row back in the queue after a retryable error, or fail it when the retry
    policy gives up on it (bot.core.backoff).

    ``in_doubt``: after an attempt, whether the provider may have the message (None: a
    row put back unsent, which changes nothing)."""
    row = await fetchone(
        conn, "SELECT error_count, created_at FROM outbox WHERE id = ?", (outbox_id,)
    )
    errors = (int(row["error_count"]) if row else 0) + int(count_error)
    retried_for = next_attempt - from_db(row["created_at"]) if row else None
    # A row put back unsent (pacing) is not failed: it was not even tried.
    status = "failed" if count_error and backoff.gives_up(errors, retried_for) else "queued"
    if in_doubt is None:
        await conn.execute(
            "UPDATE outbox SET status = ?, error_count = ?, last_error = ?, "
            "next_attempt_at = ? WHERE id = ?",
            (status, errors, error[:500], to_db(next_attempt), outbox_id),
        )
        return status
    await conn.execute(
        "UPDATE outbox SET status = ?, error_count = ?, last_error = ?, next_attempt_at = ?, "
        "in_doubt = ?, check_failures = 0 WHERE id = ?",
        (status, errors, error[:500], to_db(next_attempt), int(in_doubt), outbox_id),
    )
    return status


async def mark_check_failed(conn: Conn, outbox_id: int, error: str, next_attempt: datetime) -> None:
    """The provider could not be asked whether it has the message: ask again later (the
    row stays in doubt; the sender settles it after a few failed checks)."""
    await conn.execute(
        "UPDATE outbox SET status = 'queued', check_failures = check_failures + 1, "
        "last_error = ?, next_attempt_at = ? WHERE id = ?",
        (error[:500], to_db(next_attempt), outbox_id),
    )


async def mark_failed(conn: Conn, outbox_id: int, error: str, status: str = "failed") -> None:
    await conn.execute(
        "UPDATE outbox SET status = ?, last_error = ?, error_count = error_count + 1 WHERE id = ?",
        (status, error[:500], outbox_id),
    )


# Receipts only move a message forward: a late "sent" never undoes "delivered".
FINAL = ("delivered", "failed", "undelivered")


async def update_by_provider_id(
    conn: Conn, channel: str, provider_id: str, status: str, error: str | None
) -> int | None:
    """Apply a delivery receipt; returns the row's person id (or None if unknown).

    A receipt for an id we have not recorded yet is kept and applied by :func:`mark_sent`."""
    row = await fetchone(
        conn,
        "SELECT id, person_id FROM outbox WHERE channel = ? AND provider_id = ?",
        (channel, provider_id),
    )
    if row is None:
        await conn.execute(
            "INSERT INTO provider_receipts (channel, provider_id, status, error, at) "
            "VALUES (?,?,?,?,?) ON CONFLICT (channel, provider_id) DO UPDATE "
            "SET status = excluded.status, "
            "error = coalesce(excluded.error, provider_receipts.error) "
            "WHERE provider_receipts.status NOT IN ('delivered', 'failed', 'undelivered')",
            (channel, provider_id, status, error, to_db(datetime.now(UTC))),
        )
        return None
    await _apply_receipt(conn, int(row["id"]), status, error)
    return int(row["person_id"]) if row["person_id"] is not None else None


async def _apply_receipt(conn: Conn, outbox_id: int, status: str, error: str | None) -> None:
    keep = FINAL if status not in FINAL else ()
    marks = ",".join("?" * len(keep)) or "''"
    await conn.execute(
        "UPDATE outbox SET status = ?, last_error = coalesce(?, last_error) "  # noqa: S608 - placeholders and constants only
        f"WHERE id = ? AND status NOT IN ('cancelled', {marks})",
        (status, error, outbox_id, *keep),
    )


async def cancel(conn: Conn, dedupe_prefix: str, limit: int | None = None) -> int:
    """Cancel queued rows whose dedupe key starts with a prefix (a moved meeting's reminders).

    ``limit``: cancel at most this many (the first by key), so that a fan-out of 100,000
    is cancelled in short transactions, the senders' claims going in between: call again
    until fewer than ``limit`` come back."""
    # The keys that start with the prefix are a range in binary order, read from the
    # queued rows' index (migration 0016): PostgreSQL compares them byte by byte ("C")
    # whatever the database's collation, as SQLite does.
    # SQLite's planner, without statistics, would rather read every queued row (status is
    # the first column of outbox_due) and sort them: it is told which index to read.
    pg = conn.dialect == "postgresql"
    key = 'dedupe_key COLLATE "C"' if pg else "dedupe_key"
    by_key = "" if pg else " INDEXED BY outbox_queued_key"
    queued = f"status = 'queued' AND {key} >= ? AND {key} < ?"
    bounds = (dedupe_prefix, _after_prefix(dedupe_prefix))
    if limit is None:
        cur = await conn.execute(
            f"UPDATE outbox{by_key} SET status = 'cancelled' WHERE {queued}",  # noqa: S608 - placeholders and constants only
            bounds,
        )
        return cur.rowcount
    # PostgreSQL looks at the status again if a sender's claim held a row meanwhile;
    # SQLite's one writer needs no second look, which would read every queued row.
    still = " AND status = 'queued'" if pg else ""
    cur = await conn.execute(
        "UPDATE outbox SET status = 'cancelled' WHERE id IN ("  # noqa: S608 - placeholders and constants only
        f"SELECT id FROM outbox{by_key} WHERE {queued} ORDER BY {key} LIMIT ?){still}",
        (*bounds, limit),
    )
    return cur.rowcount


def _after_prefix(prefix: str) -> str:
    """The least string after every string that starts with ``prefix`` (code point order,
    which is SQLite's binary order of UTF-8): its last character, one higher."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


async def replied_since(conn: Conn, address: str, since: datetime) -> bool:
    row = await fetchone(
        conn,
        "SELECT 1 FROM outbox WHERE address = ? AND kind = 'reply' AND created_at >= ? LIMIT 1",
        (address, to_db(since)),
    )
    return row is not None


async def for_inbox(conn: Conn, inbox_id: int) -> list[OutboxRow]:
    rows = await fetchall(conn, "SELECT * FROM outbox WHERE inbox_id = ? ORDER BY id", (inbox_id,))
    return [_row(r) for r in rows]


@dataclass(frozen=True, slots=True)
class Backlog:
    """Messages still to send (queued or sending), as /healthz counts them."""

    overdue: int  # due before the given time and still unsent
    failing: int  # with at least the given number of errors


async def backlog(conn: Conn, *, due_before: datetime, failing_after: int) -> Backlog:
    row = await fetchone(
        conn,
        "SELECT count(*) FILTER (WHERE next_attempt_at < ?) AS overdue, "
        "count(*) FILTER (WHERE error_count >= ?) AS failing "
        "FROM outbox WHERE status IN ('queued', 'sending')",
        (to_db(due_before), failing_after),
    )
    if row is None:  # pragma: no cover - an aggregate always answers one row
        return Backlog(0, 0)
    return Backlog(int(row["overdue"]), int(row["failing"]))


async def waiting_on_checks(conn: Conn) -> int:
    """Messages still to send whose "do you have it already?" check last failed."""
    row = await fetchone(
        conn,
        "SELECT count(*) AS n FROM outbox WHERE check_failures > 0 "
        "AND status IN ('queued', 'sending')",
    )
    return int(row["n"]) if row is not None else 0


async def known_provider_ids(conn: Conn, channel: str, ids: Sequence[str]) -> set[str]:
    """Which of these provider message ids are already recorded against one of our rows."""
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    rows = await fetchall(
        conn,
        f"SELECT provider_id FROM outbox WHERE channel = ? AND provider_id IN ({marks})",  # noqa: S608 - placeholders and constants only
        (channel, *ids),
    )
    return {str(r["provider_id"]) for r in rows}


@dataclass(frozen=True, slots=True)
class SmsCost:
    """What SMS a bag or a round cost: messages and segments by channel (sent or later)."""

    channel: str
    messages: int
    segments: int


async def sms_cost(
    conn: Conn, *, bag_code: str | None = None, round_id: int | None = None
) -> list[SmsCost]:
    priced = [c.name for c in channels.registered() if c.priced_per_segment]
    where = [
        "status IN ('sent', 'delivered', 'undelivered')",
        f"channel IN ({','.join('?' * len(priced))})",
    ]
    args: list[object] = [*priced]
    if bag_code is not None:
        where.append("bag_code = ?")
        args.append(bag_code)
    if round_id is not None:
        where.append("round_id = ?")
        args.append(round_id)
    rows = await fetchall(
        conn,
        "SELECT channel, COUNT(*) AS n, COALESCE(SUM(segments), 0) AS segs FROM outbox "  # noqa: S608 - placeholders and constants only
        f"WHERE {' AND '.join(where)} GROUP BY channel ORDER BY channel",
        tuple(args),
    )
    return [SmsCost(r["channel"], int(r["n"]), int(r["segs"])) for r in rows]
