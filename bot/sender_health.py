"""What the senders have to say to /healthz: messages whose provider cannot be asked.

After a timeout or a crash mid-send, Twilio (or the Android gateway) is asked whether it
already has a message before it is sent again. When that check itself fails, the message
waits; after a few failed checks it is settled as failed, "uncertain" (bot/sender.py).
Both are said in the log; this module says them to /healthz too:

* :func:`sender_health` reads the database (every process's rows, not only ours): how
  many messages are waiting because their check failed, right now.
* :func:`note_check_failed` and :func:`note_settled_uncertain` count what this process
  saw since it started.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage import outbox
from storage.db import Database


@dataclass
class _Seen:
    checks_failed: int = 0
    settled_uncertain: int = 0
    last_error: str | None = None
    last_at: datetime | None = None


_SEEN = _Seen()


def note_check_failed(channel: str, error: str, at: datetime) -> None:
    _SEEN.checks_failed += 1
    _SEEN.last_error, _SEEN.last_at = f"{channel}: {error}", at


def note_settled_uncertain(channel: str, error: str, at: datetime) -> None:
    _SEEN.settled_uncertain += 1
    _SEEN.last_error, _SEEN.last_at = f"{channel}: {error}", at


@dataclass(frozen=True, slots=True)
class SenderHealth:
    ok: bool  # False while a provider cannot be asked about messages waiting on it
    checks_failing: int  # messages waiting because checking them failed (all processes)
    checks_failed: int  # failed checks this process saw since it started
    settled_uncertain: int  # messages this process settled as "uncertain: ..." failed
    detail: str  # one line for people, "" when there is nothing to say


async def sender_health(db: Database) -> SenderHealth:
    """For /healthz: not ok while any message waits on a check that failed (a restart
    does not help; the provider's API, or its credentials, need a look)."""
    failing = await outbox.waiting_on_checks(db.reader)
    parts = []
    if failing:
        parts.append(
            f"{failing} message(s) wait: the provider cannot be asked whether it already has them"
        )
    if _SEEN.settled_uncertain:
        parts.append(f"{_SEEN.settled_uncertain} settled as uncertain since start")
    if parts and _SEEN.last_error:
        parts.append(f"last: {_SEEN.last_error}")
    return SenderHealth(
        ok=failing == 0,
        checks_failing=failing,
        checks_failed=_SEEN.checks_failed,
        settled_uncertain=_SEEN.settled_uncertain,
        detail="; ".join(parts),
    )
