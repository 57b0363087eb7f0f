"""Time, injectable. Every datetime in Sanal is timezone-aware; we store UTC."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

UB = ZoneInfo("Asia/Ulaanbaatar")
HOVD = ZoneInfo("Asia/Hovd")

# Every date and time a person reads, in every language: year, month, day (the order
# Mongolians write dates in), then the 24-hour time. It is exactly what a governor types
# (ХУРААЛТ 2027-04-01 18:00), so a reply can be copied back; the year keeps a deadline
# read in December unambiguous and the minutes complete; digits, "-" and ":" are the same
# in Cyrillic, Latin and English texts and cost the same in GSM-7 and UCS-2.
SHOWN = "%Y-%m-%d %H:%M"
SHOWN_DAY = "%Y-%m-%d"


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("aware datetimes only")
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return UB
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def local_text(when: datetime, tz: str | tzinfo | None) -> str:
    """The one way a moment is written for people: "2027-04-01 18:00", in the bag's zone
    (Asia/Ulaanbaatar or Asia/Hovd)."""
    return when.astimezone(_zone(tz)).strftime(SHOWN)


def deadline_text(when: datetime | None, tz: str | tzinfo | None) -> str:
    """A deadline in the same form. One typed as a date ends at the next midnight, which
    reads as that day's 23:59 (the day people think of); one typed with a time reads as
    that time, not a minute before. None (no deadline set) reads "-"."""
    if when is None:
        return "-"
    if when.astimezone(_zone(tz)).time() == time(0, 0):
        when -= timedelta(minutes=1)
    return local_text(when, tz)


def day_text(when: datetime, tz: str | tzinfo | None) -> str:
    """A day alone, as in a typed example (ХУРААЛТ 2027-04-15): the date part of the same."""
    return when.astimezone(_zone(tz)).strftime(SHOWN_DAY)
