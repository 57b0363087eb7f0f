"""The scheduler inside ``sanal serve``: APScheduler calls the sweeps, nothing more.

A background service of the app, not a channel: it asks of the app only what
:class:`SchedulerHost` names (the database, the sweep counters, waking the senders, the
replies a crash left waiting for their documents), so nothing here imports the app or a
channel.

No job store holds a deadline: jobs are an interval sweep (and a one-off wake-up at the
next round deadline, recomputed from the database after every sweep). The first sweep
runs at start, which is the catch-up after a stop; ``misfire_grace_time=None`` and
``coalesce`` mean a late run still runs, once, rather than being skipped as "missed".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.core.clock import Clock
from bot.core.settings import Settings
from scheduler import backups
from scheduler.sweeps import SweepReport, next_deadline, run_once
from storage import metrics as monitoring
from storage.db import Database

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
# While a close waits for messages received in time (scheduler/sweeps.py), sweeps come
# this often rather than every interval: results go out as soon as the inbox has caught up.
CLOSE_WAIT_RESWEEP = timedelta(seconds=1)


class SweepCounters(Protocol):
    """Where the sweeps are counted for /metrics (bot/metrics.py)."""

    def swept(self, counts: dict[str, int]) -> None: ...
    def sweep_failed(self) -> None: ...


class SchedulerHost(Protocol):
    """What the scheduler needs of the application that runs it (``bot.app.Sanal``)."""

    @property
    def db(self) -> Database: ...
    @property
    def metrics(self) -> SweepCounters: ...
    def wake_senders(self) -> None: ...
    async def release_held(self) -> None: ...


class SchedulerService:
    """Starts and stops the sweeps; /healthz reads ``started_at`` and ``last_sweep_at``."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self._app: SchedulerHost | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._sweep: asyncio.Task[SweepReport | None] | None = None
        self._stopping = False
        self.last_report: SweepReport | None = None
        # Monotonic times of the start and of the last sweep that finished: /healthz says
        # 503 when sweeps stop coming (bot/health.py).
        self.started_at: float | None = None
        self.last_sweep_at: float | None = None

    async def start(self, app: SchedulerHost) -> None:
        # APScheduler logs every run at INFO ("Running job ..."): twice a minute of noise.
        # Our sweep logs what it did; APScheduler's warnings and errors still show.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self._app = app
        self._stopping = False
        self.started_at = time.monotonic()
        scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)
        scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=self.settings.sweep_interval_seconds, timezone=UTC),
            id="sweep",
            next_run_time=datetime.now(UTC),  # catch up at once
        )
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler started: a sweep every %ss", self.settings.sweep_interval_seconds)

    async def stop(self) -> None:
        self._stopping = True
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        if self._sweep is not None:
            # Let a sweep in progress finish its transaction before the database closes.
            with contextlib.suppress(Exception):
                await self._sweep
            self._sweep = None

    async def tick(self) -> SweepReport | None:
        """Run one sweep now, unless one is running (then that one is enough)."""
        if self._stopping or self._app is None:
            return None
        if self._sweep is None or self._sweep.done():
            self._sweep = asyncio.create_task(self._run(self._app), name="scheduler-sweep")
        # Shielded: stopping APScheduler cancels its job, never a half-done transaction.
        try:
            return await asyncio.shield(self._sweep)
        except asyncio.CancelledError:
            # APScheduler's shutdown cancels the jobs running (stop() below) and logs a
            # cancelled job as one that raised, traceback and all. The sweep goes on and
            # stop() waits for it: this job has nothing left to do.
            if self._stopping:
                return None
            raise

    async def _run(self, app: SchedulerHost) -> SweepReport | None:
        now = self.clock.now()
        try:
            # One process sweeps at a time (PostgreSQL, several `serve`): each step would
            # change nothing twice anyway (it re-reads its row in the serial writer), but
            # two processes racing over every round is work for nothing. Another process
            # sweeping now stands for this sweep.
            async with app.db.only_one("sweep") as mine:
                report = await run_once(app.db, self.settings, now) if mine else SweepReport()
        except Exception:
            log.exception("sweep failed; the next one tries again")
            app.metrics.sweep_failed()
            await backups.run_due(app.db, self.settings, now)  # all the more needed
            return None
        self.last_report = report
        self.last_sweep_at = time.monotonic()
        app.metrics.swept(_counts(report))
        await _note_sweep(app, now)
        # After the sweep (deadlines first); a daily copy, in a thread (scheduler/backups.py).
        await backups.run_due(app.db, self.settings, now)
        await app.db.purge_sealed()  # sealed ballots' old text leaves the files (storage/)
        await app.release_held()  # replies a crash left before their documents were made
        # Reminders and results are queued; retries of errored sends come due by their
        # own time: either way the senders look at the outbox now.
        app.wake_senders()
        try:
            await self._wake_at_next_deadline(app, now)
        except Exception as exc:  # the interval sweep comes anyway: one line, not a traceback
            log.warning("could not plan a sweep for the next deadline: %s", exc)
        return report

    async def _wake_at_next_deadline(self, app: SchedulerHost, now: datetime) -> None:
        """A deadline closer than the next interval sweep gets a wake-up of its own, so a
        round closes at "vote until", not up to one interval later; so does a close that
        the sweep just done (``last_report``) left waiting for the inbox, a second later."""
        if self._scheduler is None or self._stopping:
            return
        waiting = self.last_report is not None and self.last_report.waiting
        delays = [CLOSE_WAIT_RESWEEP] if waiting else []
        deadline = await next_deadline(app.db, now)
        if deadline is not None:
            delays.append(deadline - now)
        if not delays:
            return
        delay = min(delays)
        if delay >= timedelta(seconds=self.settings.sweep_interval_seconds):
            return
        # The clock may be a test's: APScheduler runs on real time, so convert the delay.
        self._scheduler.add_job(
            self.tick,
            DateTrigger(run_date=datetime.now(UTC) + delay, timezone=UTC),
            id="deadline",
            replace_existing=True,
        )


def _counts(report: SweepReport) -> dict[str, int]:
    """What a sweep did, as bot/metrics.py counts it."""
    return {
        "rounds_opened": len(report.opened),
        "voting_started": len(report.voting),
        "rounds_closed": len(report.closed),
        "meeting_reminders_queued": report.reminders,
        "vote_reminders_queued": report.vote_reminders,
        "reminders_expired": report.expired,
    }


async def _note_sweep(app: SchedulerHost, now: datetime) -> None:
    """The sweep's time in the database: `sanal status` and /metrics read it from any
    process. A write that fails here fails nothing else (the next sweep writes again)."""
    try:
        async with app.db.write() as conn:
            await monitoring.note_sweep(conn, now)
    except Exception as exc:
        log.warning("could not note the sweep's time: %s", exc)
