"""When a reminder is due: offsets before a meeting, and quiet hours in the bag's time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Dates and times are written for people by bot.clock alone; kept importable from here.
from bot.core.clock import deadline_text, local_text

__all__ = [
    "deadline_text",
    "hold_until",
    "in_quiet",
    "latest_due",
    "local_text",
    "quiet_until",
]


def in_quiet(local: time, start: time, end: time) -> bool:
    """Whether a local wall-clock time is in the quiet window (which may span midnight)."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_until(now: datetime, tz: ZoneInfo, start: time, end: time) -> datetime | None:
    """The end of the quiet hours ``now`` is in (local time ``tz``), or None outside them."""
    local = now.astimezone(tz)
    if not in_quiet(local.time().replace(tzinfo=None), start, end):
        return None
    morning = datetime.combine(local.date(), end, tz)
    if morning <= local:
        morning += timedelta(days=1)
    return morning.astimezone(UTC)


def hold_until(
    now: datetime, deadline: datetime, tz: ZoneInfo, start: time, end: time
) -> datetime | None:
    """When a message about ``deadline`` due now must wait for the morning: that morning.

    None means send now: outside quiet hours, or when the morning would come after the
    deadline the message is about (a reminder after the meeting has started helps nobody).
    """
    morning = quiet_until(now, tz, start, end)
    if morning is None or morning >= deadline:
        return None
    return morning


def latest_due(
    now: datetime, starts_at: datetime, offsets: Sequence[timedelta]
) -> timedelta | None:
    """The offset whose reminder is due now: the nearest to the meeting whose time has come.

    After an outage spanning several reminder times only the latest is sent: one message
    with the same news, not three at once.
    """
    due = [o for o in offsets if starts_at - o <= now]
    return min(due) if due else None
