"""Scheduled backups: one every ``SANAL_BACKUP_INTERVAL_HOURS``, the newest few kept.

Like the other sweeps, it is idempotent and the database holds its state: the time of the
last scheduled backup, and a lease (``settings_kv``) taken with ``BEGIN IMMEDIATE`` before
the copy is made. Of two ``serve`` processes on one file, the one that takes the lease
makes the backup; the other sees it taken, or the backup done, and does nothing. A process
killed while copying leaves the lease to run out, and the next sweep after it tries again.

On PostgreSQL there are none: a server that a national operator runs has backups of its
own (base backups and WAL archiving, a managed service's snapshots), which restore to any
moment, not once a day; several `serve` processes, often on machines without the server's
pg_dump, are not where they belong. `sanal backup` still writes a pg_dump on demand (from
cron, say), and `sanal status` says that scheduled ones are off.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path

from bot.core.settings import Settings, is_postgres_url
from storage import backup, settings_kv
from storage.db import Database

log = logging.getLogger(__name__)

LAST_KEY = "backup.last_at"
LEASE_KEY = backup.LEASE_KEY
# Long enough for a copy of any bag-level database; a dead process's lease runs out.
LEASE = timedelta(minutes=30)
# After a failed backup (a full disk): wait this long before the next try, not 30 s.
RETRY_AFTER = timedelta(minutes=10)


POSTGRES_OFF = (
    "scheduled backups are off on PostgreSQL: use the server's own (base backups, WAL "
    "archiving, a managed service's snapshots) or `sanal backup DIR/` from cron (pg_dump)"
)


def off_reason(settings: Settings) -> str | None:
    """Why no backup is scheduled here, or None when they are."""
    if settings.db_is_postgres():
        return POSTGRES_OFF
    if settings.backup_interval_hours <= 0:
        return "no scheduled backups (SANAL_BACKUP_INTERVAL_HOURS=0)"
    return None


async def is_due(db: Database, settings: Settings, now: datetime) -> bool:
    """Whether a scheduled backup is due now (a read; the claim decides who makes it)."""
    if settings.backup_interval_hours <= 0:
        return False
    values = await settings_kv.times_of(db.reader, LAST_KEY, LEASE_KEY)
    return _due(values.get(LAST_KEY), values.get(LEASE_KEY), settings, now)


def _due(last: datetime | None, lease: datetime | None, settings: Settings, now: datetime) -> bool:
    every = timedelta(hours=settings.backup_interval_hours)
    if last is not None and now < last + every:
        return False
    return lease is None or lease <= now


async def claim(db: Database, settings: Settings, now: datetime) -> bool:
    """Take the lease if a backup is due and nobody holds it; True if this process did."""
    async with db.write() as conn:
        last = await settings_kv.time_of(conn, LAST_KEY)
        if not _due(last, await settings_kv.time_of(conn, LEASE_KEY), settings, now):
            return False
        await settings_kv.put_time(conn, LEASE_KEY, now + LEASE)
        return True


async def run_due(db: Database, settings: Settings, now: datetime) -> backup.Summary | None:
    """Make the scheduled backup if it is due and this process claims it; prune old ones.

    Never raises: a failed backup is logged, and tried again after ``RETRY_AFTER``."""
    if db.path == ":memory:" or is_postgres_url(db.path):
        return None
    if not await is_due(db, settings, now):
        return None
    if not await claim(db, settings, now):
        return None
    source = Path(db.path)
    folder = settings.backup_path()
    try:
        summary = await asyncio.to_thread(_make, source, folder, now, db.ballot_secret)
    except Exception as exc:
        log.error("scheduled backup failed, trying again in %s: %s", RETRY_AFTER, exc)
        async with db.write() as conn:
            await settings_kv.put_time(conn, LEASE_KEY, now + RETRY_AFTER)
        return None
    async with db.write() as conn:
        await settings_kv.put_time(conn, LAST_KEY, now)
        await settings_kv.forget(conn, LEASE_KEY)
    removed = await asyncio.to_thread(backup.prune, folder, source.stem, settings.backup_keep, now)
    log.info(
        "scheduled backup %s (%s)%s",
        summary.path,
        summary.describe(),
        f"; removed {len(removed)} older" if removed else "",
    )
    return summary


def _make(source: Path, folder: Path, now: datetime, key: bytes | None) -> backup.Summary:
    return backup.make(source, backup.free_name(folder, source.stem, now), key)
