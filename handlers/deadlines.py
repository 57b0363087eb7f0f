"""A governor's deadline, from what was typed to a moment, and back to words.

A date alone ends at the end of that day in the bag's time zone (Asia/Hovd for
Bayan-Ölgii, Khovd and Uvs; Asia/Ulaanbaatar elsewhere); a date with a time ends at that
time there. Stored as an aware moment; shown as the bag reads it, in the one format of
every date people read (bot.clock.local_text).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.clock import deadline_text

__all__ = ["deadline_at", "deadline_text"]


def deadline_at(day: date | None, at: time | None, tz: str, now: datetime) -> datetime | None:
    """The moment a typed deadline falls at, or None when nothing was typed.

    No date with a time means today; a date without a year (year 1 from the parser) is its
    next occurrence, today included. A moment in the past is returned as such: the caller
    refuses it with its own reply.
    """
    if day is None and at is None:
        return None
    zone = ZoneInfo(tz)
    local_today = now.astimezone(zone).date()
    if day is None:
        day = local_today
    elif day.year == 1:
        day = day.replace(year=local_today.year)
        if day < local_today:
            day = day.replace(year=local_today.year + 1)
    if at is None:
        return datetime.combine(day + timedelta(days=1), time(0, 0), zone)
    return datetime.combine(day, at, zone)
