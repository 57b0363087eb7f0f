"""Time, injectable. Every datetime in Sanal is timezone-aware; we store UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

UB = ZoneInfo("Asia/Ulaanbaatar")
HOVD = ZoneInfo("Asia/Hovd")


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


def to_db(when: datetime) -> str:
    """The stored form: UTC ISO-8601 with offset, so strings sort in time order."""
    if when.tzinfo is None:
        raise ValueError("naive datetime refused: aware datetimes only")
    return when.astimezone(UTC).isoformat(timespec="seconds")


def from_db(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"naive datetime in the database: {text!r}")
    return value


def tz_for_aimag(aimag_code: str) -> str:
    """Western aimags (Bayan-Ölgii 83, Khovd 84, Uvs 85) keep Hovd time (UTC+7)."""
    return "Asia/Hovd" if aimag_code in {"83", "84", "85"} else "Asia/Ulaanbaatar"
