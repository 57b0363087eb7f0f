"""The stored form of a moment: UTC ISO-8601 with its offset, so strings sort in time order.

Every datetime in Sanal is timezone-aware; a naive one is refused on the way in and on
the way out."""

from __future__ import annotations

from datetime import UTC, datetime


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
