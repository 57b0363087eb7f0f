"""Quiet hours, reminder offsets and their settings, as plain functions."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.core.clock import HOVD, UB
from bot.core.settings import parse_offsets
from bot.core.timing import deadline_text, hold_until, in_quiet, latest_due, quiet_until
from tests.conftest import make_settings
from tests.scheduler.world import local

NIGHT, MORNING = time(22, 0), time(8, 0)


@pytest.mark.parametrize(
    ("at", "quiet"),
    [("21:59", False), ("22:00", True), ("23:59", True), ("00:00", True), ("07:59", True),
     ("08:00", False), ("12:00", False)],
)  # fmt: skip
def test_quiet_window_spans_midnight(at: str, quiet: bool) -> None:
    assert in_quiet(time.fromisoformat(at), NIGHT, MORNING) is quiet


def test_a_daytime_window_and_none() -> None:
    assert in_quiet(time(13, 0), time(12, 0), time(14, 0))
    assert not in_quiet(time(14, 0), time(12, 0), time(14, 0))
    assert not in_quiet(time(3, 0), time(0, 0), time(0, 0))  # equal ends: no quiet hours


def test_quiet_until_is_the_next_local_morning() -> None:
    assert quiet_until(local(UB, "2027-04-09 23:00"), UB, NIGHT, MORNING) == local(
        UB, "2027-04-10 08:00"
    )
    assert quiet_until(local(UB, "2027-04-10 03:00"), UB, NIGHT, MORNING) == local(
        UB, "2027-04-10 08:00"
    )
    assert quiet_until(local(UB, "2027-04-10 08:00"), UB, NIGHT, MORNING) is None
    # The same instant is 07:30 in Hovd: still quiet there, until Hovd's 08:00.
    same = local(UB, "2027-04-10 08:30")
    assert quiet_until(same, UB, NIGHT, MORNING) is None
    assert quiet_until(same, HOVD, NIGHT, MORNING) == local(HOVD, "2027-04-10 08:00")


def test_hold_until_never_waits_past_the_deadline() -> None:
    night = local(UB, "2027-04-10 05:30")
    assert hold_until(night, local(UB, "2027-04-10 09:00"), UB, NIGHT, MORNING) == local(
        UB, "2027-04-10 08:00"
    )
    assert hold_until(night, local(UB, "2027-04-10 07:30"), UB, NIGHT, MORNING) is None
    assert hold_until(night, local(UB, "2027-04-10 08:00"), UB, NIGHT, MORNING) is None


def test_latest_due_offset() -> None:
    offsets = parse_offsets("3d,1d,2h")
    starts = local(UB, "2027-04-10 14:00")
    assert latest_due(local(UB, "2027-04-07 13:59"), starts, offsets) is None
    assert latest_due(local(UB, "2027-04-07 14:00"), starts, offsets) == timedelta(days=3)
    assert latest_due(local(UB, "2027-04-09 20:00"), starts, offsets) == timedelta(days=1)
    assert latest_due(local(UB, "2027-04-10 13:00"), starts, offsets) == timedelta(hours=2)


def test_a_deadline_typed_as_a_date_reads_as_that_day() -> None:
    assert deadline_text(local(UB, "2027-04-02 00:00"), UB) == "2027-04-01 23:59"


def test_a_deadline_typed_with_a_time_reads_as_that_time() -> None:
    # Before issue 12 every deadline lost a second, so 18:00 read as 17:59.
    assert deadline_text(local(UB, "2027-04-01 18:00"), UB) == "2027-04-01 18:00"


def test_offsets_setting(tmp_path: Path) -> None:
    assert parse_offsets(" 2h, 3D ,1d,2h") == [
        timedelta(days=3),
        timedelta(days=1),
        timedelta(hours=2),
    ]
    assert parse_offsets("") == []
    assert parse_offsets("90m") == [timedelta(minutes=90)]
    settings = make_settings(tmp_path, meeting_reminders="2d,30m", quiet_start="23:30")
    assert settings.meeting_reminder_offsets() == [timedelta(days=2), timedelta(minutes=30)]
    assert settings.quiet_start == time(23, 30)
    assert settings.quiet_end == MORNING
    for bad in ("3x", "d", "0h", "1.5h", "-2h"):
        with pytest.raises(ValidationError, match="reminder offset"):
            make_settings(tmp_path, meeting_reminders=bad)
