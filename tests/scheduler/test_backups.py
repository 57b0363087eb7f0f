"""Scheduled backups: daily, exactly once with two processes on one file, the newest kept.

They are copies of the SQLite file; on a PostgreSQL server they are off (the server's own
backups, or `sanal backup` from cron): the last test, and tests/operator/test_on_postgresql.py
for what status and /healthz say about it."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.wiring import build
from scheduler import backups
from scheduler.service import SchedulerService
from tests.conftest import make_settings

COPIES_OF_THE_FILE = pytest.mark.sqlite_only  # scheduled backups are off on PostgreSQL


def _made(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix == ".db")


async def _two(tmp_path: Path, clock: ManualClock, **overrides: object) -> tuple[Sanal, Sanal]:
    """Two `serve` processes' apps on one file (each with its own connections)."""
    settings = make_settings(tmp_path, backup_keep=3, **overrides)
    first, second = build(settings, clock), build(settings, clock)
    await first.open()
    await second.open()
    return first, second


@COPIES_OF_THE_FILE
async def test_daily_exactly_once_with_two_processes_and_the_newest_kept(
    tmp_path: Path, clock: ManualClock
) -> None:
    first, second = await _two(tmp_path, clock)
    folder = first.settings.backup_path()
    folder.mkdir()
    # Not Sanal's: never removed, whatever the count.
    (folder / "notes.txt").write_text("keep")
    (folder / "sanal-by-hand.db").write_text("keep")
    try:
        made = []
        for day in range(5):
            if day:
                clock.advance(timedelta(hours=24))
            # Both processes at the same moment, three times: one backup a day.
            for _ in range(3):
                results = await asyncio.gather(
                    backups.run_due(first.db, first.settings, clock.now()),
                    backups.run_due(second.db, second.settings, clock.now()),
                )
                made += [r for r in results if r is not None]
            clock.advance(timedelta(hours=23))  # not due yet the next morning
            assert await backups.run_due(first.db, first.settings, clock.now()) is None
            clock.advance(timedelta(hours=-23))
        assert len(made) == 5
        kept = _made(folder)
        assert kept == sorted(["sanal-by-hand.db", *(p.path.name for p in made[-3:])])
        assert (folder / "notes.txt").read_text() == "keep"
        assert sorted(p.name for p in folder.glob("*.key")) == [
            f"{p.path.name}.key" for p in made[-3:]
        ]
        newest = made[-1].path
        assert stat.S_IMODE(os.stat(newest).st_mode) == 0o600
        with sqlite3.connect(newest) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            # The lease held while it was made is not carried into the copy.
            keys = {r[0] for r in conn.execute("SELECT key FROM settings_kv")}
            assert backups.LEASE_KEY not in keys
            assert backups.LAST_KEY in keys
    finally:
        await first.stop()
        await second.stop()


@COPIES_OF_THE_FILE
async def test_the_scheduler_service_makes_it_once_from_two_processes(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Two `serve` processes start at once: each scheduler's first sweep runs at its
    start, and one backup is made."""
    first, second = await _two(tmp_path, clock)
    schedulers = [
        next(s for s in a.services if isinstance(s, SchedulerService)) for a in (first, second)
    ]
    try:
        pairs = zip(schedulers, (first, second), strict=True)
        await asyncio.gather(*(s.start(a) for s, a in pairs))
        deadline = asyncio.get_running_loop().time() + 10
        while not all(s.last_report for s in schedulers):  # each has swept (and backed up)
            assert asyncio.get_running_loop().time() < deadline, "no sweep ran"
            await asyncio.sleep(0.02)
        for scheduler in schedulers:
            await scheduler.stop()
        assert len(_made(first.settings.backup_path())) == 1
    finally:
        await first.stop()
        await second.stop()


@COPIES_OF_THE_FILE
async def test_a_failed_backup_is_logged_and_tried_again_later(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path)
    app = Sanal(settings, clock)
    await app.open()
    try:
        settings.backup_path().write_text("a file where the folder should be")
        with caplog.at_level(logging.ERROR):
            assert await backups.run_due(app.db, settings, clock.now()) is None
        assert "scheduled backup failed" in caplog.text
        clock.advance(backups.RETRY_AFTER - timedelta(seconds=1))
        assert not await backups.is_due(app.db, settings, clock.now())
        settings.backup_path().unlink()
        clock.advance(timedelta(seconds=1))
        assert await backups.run_due(app.db, settings, clock.now()) is not None
    finally:
        await app.stop()


async def test_no_scheduled_backups_when_the_interval_is_zero(
    tmp_path: Path, clock: ManualClock
) -> None:
    settings = make_settings(tmp_path, backup_interval_hours=0)
    app = Sanal(settings, clock)
    await app.open()
    try:
        assert await backups.run_due(app.db, settings, clock.now()) is None
        assert not settings.backup_path().exists()
    finally:
        await app.stop()


async def test_none_on_a_postgresql_server(tmp_path: Path, clock: ManualClock, pg_url: str) -> None:
    """Two processes' schedulers sweep a server's database, a backup long due by the
    interval: neither makes one, nor the folder for them."""
    settings = make_settings(tmp_path, db=pg_url, data_dir=tmp_path, backup_interval_hours=1)
    apps = [build(settings, clock), build(settings, clock)]
    schedulers = [next(s for s in a.services if isinstance(s, SchedulerService)) for a in apps]
    for app in apps:
        await app.open()
    try:
        await asyncio.gather(*(s.start(a) for s, a in zip(schedulers, apps, strict=True)))
        deadline = asyncio.get_running_loop().time() + 10
        while not all(s.last_report for s in schedulers):
            assert asyncio.get_running_loop().time() < deadline, "no sweep ran"
            await asyncio.sleep(0.02)
        for scheduler in schedulers:
            await scheduler.stop()
        assert backups.off_reason(settings) == backups.POSTGRES_OFF
        assert not settings.backup_path().exists()
    finally:
        for app in apps:
            await app.stop()
