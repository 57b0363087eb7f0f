"""What `/healthz` checks: can Sanal do its job right now?

Each check that fails adds one line to ``problems`` and the answer is 503; a load balancer
or a monitor needs nothing else. The checks:

* the database takes a write: one row of the ``health`` table is rewritten in a real
  transaction (a full disk, a read-only file or a lost connection fail here);
* the file on disk is sound: ``PRAGMA quick_check`` through a fresh read-only connection
  (what is on disk, not the server's page cache), at most every few minutes (a
  PostgreSQL server checks its own pages: there it is the server's size and migrations);
* the disk holding the database (a server's: the disk of ``SANAL_DATA_DIR``, where the
  reports and backups go) has ``SANAL_MIN_FREE_DISK_MB`` free;
* the outbox moves: no message due ``SANAL_OUTBOX_STUCK_MINUTES`` ago is still unsent,
  and none waits after failing three times or more;
* the scheduler (when enabled) has swept within its last few intervals;
* no message waits because its SMS provider cannot be asked whether it already has it.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import weakref
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.core.settings import is_postgres_url
from bot.sender_health import sender_health
from storage import health as storage_health
from storage import metrics as monitoring
from storage import outbox
from storage.db import Database, DatabaseError, migration_files

if TYPE_CHECKING:
    from bot.app import Sanal

WRITE_LIMIT = 5.0  # seconds a health write may wait for the writer before it counts as stuck
QUICK_CHECK_EVERY = 300.0  # seconds between two reads of the whole file
FAILING_AFTER = 3  # errors of one unsent message that say a provider keeps refusing
SWEEP_LATE_INTERVALS = 4  # sweeps missed before the scheduler counts as stalled
MB = 1024 * 1024


@dataclass
class _FileCheck:
    """The last quick_check of the file on disk, and when (monotonic)."""

    at: float | None = None
    problem: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_file_checks: weakref.WeakKeyDictionary[Database, _FileCheck] = weakref.WeakKeyDictionary()


_in_flight: weakref.WeakKeyDictionary[Database, asyncio.Task[dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


async def report(sanal: Sanal) -> dict[str, Any]:
    """``{"ok": bool, "problems": [...], ...figures}`` for /healthz.

    Callers at the same moment share one check: /healthz is reachable by anyone the proxy
    lets through, and each check takes the writer's turn once, so a flood of health
    requests must not become a flood of writes in front of the webhooks."""
    task = _in_flight.get(sanal.db)
    if task is None or task.done():
        task = asyncio.ensure_future(_report(sanal))
        _in_flight[sanal.db] = task
    return await asyncio.shield(task)


async def _report(sanal: Sanal) -> dict[str, Any]:
    problems: list[str] = []
    figures: dict[str, Any] = {}
    problems += await _writable(sanal)
    if is_postgres_url(sanal.db.path):
        problems += await _server(sanal.db, figures)
    else:
        problems += await _sound_file(sanal.db)
    problems += _disk(sanal, figures)
    problems += await _outbox(sanal, figures)
    problems += _scheduler(sanal, figures)
    problems += await _provider_checks(sanal, figures)
    return {"ok": not problems, "problems": problems, **figures}


async def _writable(sanal: Sanal) -> list[str]:
    try:
        async with asyncio.timeout(WRITE_LIMIT), sanal.db.write() as tx:
            await storage_health.mark_checked(tx, sanal.clock.now())
    except TimeoutError:
        return [f"database: a write waited more than {WRITE_LIMIT:g}s"]
    except (DatabaseError, RuntimeError, OSError) as exc:  # RuntimeError: not open
        return [f"database not writable: {exc}"]
    return []


async def _sound_file(db: Database) -> list[str]:
    if db.path == ":memory:":
        return []
    state = _file_checks.setdefault(db, _FileCheck())
    async with state.lock:  # one read of the whole file at a time, whoever asks
        if state.at is None or time.monotonic() - state.at >= QUICK_CHECK_EVERY:
            try:
                state.problem = await asyncio.to_thread(storage_health.file_problem, db.path)
            except DatabaseError as exc:
                state.problem = str(exc)
            state.at = time.monotonic()
    return [f"database file damaged: {state.problem}"] if state.problem else []


async def _server(db: Database, figures: dict[str, Any]) -> list[str]:
    """A PostgreSQL database: how big, and whether this version's migrations are in."""
    try:
        figures["database_size_bytes"] = await monitoring.database_size(db.reader)
        behind = await monitoring.schema_behind(
            db.reader, {v for v, _, _ in migration_files("postgresql")}
        )
    except (DatabaseError, RuntimeError) as exc:
        return [f"database unreadable: {exc}"]
    if behind:
        return [f"database not migrated: {len(behind)} migration(s) due (sanal migrate)"]
    return []


def _disk(sanal: Sanal, figures: dict[str, Any]) -> list[str]:
    if sanal.settings.db_is_postgres():
        # Not made yet (SANAL_BALLOT_KEY set, no report written): the disk it will be on.
        wanted = sanal.settings.data_path().resolve()
        folder = next((p for p in (wanted, *wanted.parents) if p.is_dir()), wanted)
    else:
        folder = Path(sanal.settings.db).resolve().parent
    try:
        free_mb = shutil.disk_usage(folder).free // MB
    except OSError as exc:
        return [f"disk: {exc.strerror or exc}"]
    figures["disk_free_mb"] = free_mb
    floor = sanal.settings.min_free_disk_mb
    if free_mb < floor:
        return [f"disk nearly full: {free_mb} MB free, fewer than {floor} MB"]
    return []


async def _outbox(sanal: Sanal, figures: dict[str, Any]) -> list[str]:
    minutes = sanal.settings.outbox_stuck_minutes
    long_ago = sanal.clock.now() - timedelta(minutes=minutes)
    try:
        waiting = await outbox.backlog(
            sanal.db.reader, due_before=long_ago, failing_after=FAILING_AFTER
        )
    except (DatabaseError, RuntimeError) as exc:
        return [f"outbox unreadable: {exc}"]
    overdue, failing = waiting.overdue, waiting.failing
    figures["outbox_overdue"] = overdue
    figures["outbox_failing"] = failing
    problems = []
    if overdue:
        problems.append(f"outbox stuck: {overdue} messages due over {minutes} min ago unsent")
    if failing:
        problems.append(f"outbox failing: {failing} messages failed {FAILING_AFTER}+ times")
    return problems


async def _provider_checks(sanal: Sanal, figures: dict[str, Any]) -> list[str]:
    """Messages waiting because the SMS provider cannot be asked whether it has them."""
    try:
        seen = await sender_health(sanal.db)
    except (DatabaseError, RuntimeError) as exc:
        return [f"outbox unreadable: {exc}"]
    figures["provider_checks_failing"] = seen.checks_failing
    figures["settled_uncertain"] = seen.settled_uncertain
    return [] if seen.ok else [f"provider checks failing: {seen.detail}"]


def _scheduler(sanal: Sanal, figures: dict[str, Any]) -> list[str]:
    from scheduler.service import SchedulerService

    for service in sanal.services:
        if not isinstance(service, SchedulerService) or service.started_at is None:
            continue
        interval = sanal.settings.sweep_interval_seconds
        since = time.monotonic() - (service.last_sweep_at or service.started_at)
        figures["last_sweep_seconds_ago"] = round(since, 1)
        if since > SWEEP_LATE_INTERVALS * interval:
            return [f"scheduler: no sweep for {since:.0f}s (one expected every {interval}s)"]
    return []
