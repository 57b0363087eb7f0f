"""`sanal status`: one terminal page for the operator, read from the database.

What is under way (rounds, per bag, with their deadline in the bag's own zone), what
comes next (deadlines, reminders, khural meetings), what waits (outbox, inbox), whether
the scheduler still sweeps, when the last backup was made, how each channel sends, and
the problems among all that, the way `/healthz` would name them.

Read-only: the file is opened with ``mode=ro`` and ``query_only`` (storage/metrics.py),
so it runs beside `sanal serve` without taking a lock serve would wait for, and it never
creates or migrates a database. On PostgreSQL it reads the server's database (neither
migrated nor written) and says whether it is reachable and how big it is; the URL is
shown without its password. No ballot key is needed (it shows counts only).
English, like the other operator commands.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from bot.cli_options import db_option, require_database, settings_for
from bot.core.clock import SystemClock
from bot.core.log_redact import mask_personal
from bot.core.settings import Settings, configured_real_channels
from bot.health import FAILING_AFTER, MB, SWEEP_LATE_INTERVALS
from scheduler import backups
from scheduler.sweeps import CLOSE_WAITS_AT_MOST
from storage import backup, pg_dump, reminders
from storage import metrics as monitoring
from storage.copy import safe
from storage.db import (
    Database,
    DatabaseError,
    DatabaseUnusable,
    OperationalError,
    Tx,
    migration_files,
)
from storage.metrics import ChannelLine, Figures, MeetingLine, RoundLine

DEADLINES_SHOWN = 8  # the next few; the rounds above show every bag's own
FAILED_WINDOW = timedelta(hours=24)  # "failed for good" counted over the last day
PHASE = {
    "draft": "scheduled",
    "collecting": "collecting proposals",
    "voting": "voting",
}


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    tz: str
    bag_code: str
    what: str


@dataclass
class Page:
    """Everything the page shows, read once."""

    now: datetime
    figures: Figures
    rounds: list[RoundLine]
    events: list[Event]
    channels: list[ChannelLine]
    configured: list[str]
    behind: list[int]
    newest_backup: Path | None
    free_mb: int | None
    size: int | None = None  # bytes the database takes (file, or pg_database_size)
    known: int = 0  # migrations this version knows
    problems: list[str] = field(default_factory=list)


@click.command(name="status")
@db_option
def status_cmd(db: Path | None) -> None:
    """What Sanal is doing: rounds, deadlines, backlog, sweeps, backups, channels.

    Reads the database only: safe while `sanal serve` runs."""
    settings = settings_for(db=db)
    require_database(settings)
    name = safe(settings.db)
    try:
        page = asyncio.run(read(settings, SystemClock().now()))
    except Behind as exc:
        raise click.ClickException(f"{name}: {exc}") from None
    except DatabaseUnusable as exc:  # a server that cannot be reached: its own line
        raise click.ClickException(safe(str(exc))) from None
    except DatabaseError as exc:
        raise click.ClickException(f"{name}: cannot be read ({safe(str(exc))})") from None
    click.echo("\n".join(render(page, settings)))


class Behind(Exception):
    """The database is older than this version and could not be read: one line."""


@asynccontextmanager
async def _reading(settings: Settings) -> AsyncIterator[Tx]:
    """A connection that reads: the file read-only, or the server's database unmigrated."""
    if settings.db_is_postgres():
        db = await Database(settings.db, auto_migrate=False).open()
        try:
            yield db.reader
        finally:
            await db.close()
    else:
        async with monitoring.read_only(Path(settings.db)) as conn:
            yield conn


async def read(settings: Settings, now: datetime) -> Page:
    async with _reading(settings) as conn:
        known = {v for v, _, _ in migration_files(conn.dialect)}
        behind = await monitoring.schema_behind(conn, known)
        size = await monitoring.database_size(conn)
        try:
            figures = await monitoring.figures(conn)
            rounds = await monitoring.rounds_under_way(conn)
            meetings = await monitoring.meetings_ahead(conn, now)
            events = await _events(conn, settings, now, rounds, meetings)
            channels = await monitoring.channels(
                conn,
                overdue_before=now - timedelta(minutes=settings.outbox_stuck_minutes),
                failing_after=FAILING_AFTER,
                since=now - FAILED_WINDOW,
            )
        except OperationalError as exc:
            if not behind:
                raise
            raise Behind(
                f"{len(behind)} migration(s) behind this version ({exc}): run `sanal migrate`"
            ) from None
    folder = settings.backup_path()
    if settings.db_is_postgres():
        stem, disk = pg_dump.stem(str(settings.db)), settings.data_path()
    else:
        stem, disk = Path(settings.db).stem, Path(settings.db).parent
    page = Page(
        now=now,
        figures=figures,
        rounds=rounds,
        events=events,
        channels=channels,
        configured=configured_real_channels(settings),
        behind=behind,
        newest_backup=await asyncio.to_thread(backup.newest, folder, stem),
        free_mb=_free_mb(disk),
        size=size,
        known=len(known),
    )
    page.problems = problems(page, settings)
    return page


def _free_mb(folder: Path) -> int | None:
    """Free space where the file is (SQLite) or where Sanal's own files go (a server)."""
    try:
        return shutil.disk_usage(folder or ".").free // MB
    except OSError:
        return None


async def _events(
    conn: Tx,
    settings: Settings,
    now: datetime,
    rounds: list[RoundLine],
    meetings: list[MeetingLine],
) -> list[Event]:
    """The next deadlines and reminders, soonest first."""
    events: list[Event] = []
    vote_keys = {r.id: reminders.vote_fanout(r.id)[0] for r in rounds if r.status == "voting"}
    offsets = settings.meeting_reminder_offsets()
    meeting_keys = {
        (m.id, o): reminders.meeting_fanout(m.id, m.version, m.starts_at, o)[0]
        for m in meetings
        for o in offsets
    }
    done = await monitoring.fanouts_done(conn, [*vote_keys.values(), *meeting_keys.values()])
    lead = timedelta(hours=settings.vote_reminder_hours)
    for r in rounds:
        if r.status == "draft" and r.opens_at is not None:
            events.append(Event(r.opens_at, r.tz, r.bag_code, "round opens"))
        elif r.status == "collecting" and r.collect_until is not None:
            events.append(Event(r.collect_until, r.tz, r.bag_code, "proposals close, voting opens"))
        elif r.status == "voting" and r.vote_until is not None:
            events.append(Event(r.vote_until, r.tz, r.bag_code, "voting closes"))
            if lead and vote_keys[r.id] not in done and r.vote_until > now:
                at = max(r.vote_until - lead, now)
                events.append(Event(at, r.tz, r.bag_code, "vote reminder to non-voters"))
    for m in meetings:
        events.append(Event(m.starts_at, m.tz, m.bag_code, "khural meeting"))
        ahead = [
            o for o in offsets if m.starts_at - o > now and meeting_keys[(m.id, o)] not in done
        ]
        if ahead:
            o = max(ahead)  # the earliest reminder still to come
            events.append(
                Event(m.starts_at - o, m.tz, m.bag_code, f"khural reminder ({_span(o)} before)")
            )
    return sorted(events, key=lambda e: (e.at, e.bag_code, e.what))


def problems(page: Page, settings: Settings) -> list[str]:
    """What needs the operator, in the words of /healthz where it says the same."""
    found: list[str] = []
    now = page.now
    if page.behind:
        found.append(f"database not migrated: {len(page.behind)} migration(s) due (sanal migrate)")
    if page.free_mb is not None and page.free_mb < settings.min_free_disk_mb:
        found.append(
            f"disk nearly full: {page.free_mb} MB free, fewer than {settings.min_free_disk_mb} MB"
        )
    for c in page.channels:
        if c.overdue:
            found.append(
                f"{c.channel}: outbox stuck: {c.overdue} messages due over "
                f"{settings.outbox_stuck_minutes} min ago unsent"
            )
        if c.failing:
            found.append(
                f"{c.channel}: outbox failing: {c.failing} messages failed {FAILING_AFTER}+ times"
            )
        if c.checks_failing:
            found.append(
                f"{c.channel}: {c.checks_failing} message(s) wait: the provider cannot be asked "
                "whether it already has them"
            )
    for r in page.rounds:
        # A close waits up to CLOSE_WAITS_AT_MOST for in-time messages, then a sweep.
        overdue = CLOSE_WAITS_AT_MOST + timedelta(seconds=settings.sweep_interval_seconds)
        if r.status == "voting" and r.vote_until is not None and now - r.vote_until > overdue:
            found.append(
                f"round {r.id} ({r.bag}): voting closed {_span(now - r.vote_until)} ago and "
                "the round is not closed (is the scheduler running? see the log)"
            )
    failed = page.figures.inbox.get("failed", 0)
    if failed:
        found.append(f"inbox: {failed} received message(s) could not be handled (see the log)")
    if settings.scheduler_enabled:
        late = SWEEP_LATE_INTERVALS * settings.sweep_interval_seconds
        last = page.figures.last_sweep
        if last is None:
            found.append("scheduler: no sweep ever recorded (is `sanal serve` running?)")
        elif (now - last).total_seconds() > late:
            found.append(
                f"scheduler: no sweep for {_span(now - last)} (one expected every "
                f"{settings.sweep_interval_seconds}s; is `sanal serve` running?)"
            )
    if backups.off_reason(settings) is None:
        made = _last_backup(page)
        every = timedelta(hours=settings.backup_interval_hours)
        if made is None:
            found.append("backup: none made yet (sanal backup, or wait for the scheduled one)")
        elif now - made > 2 * every:
            found.append(f"backup: the last is {_span(now - made)} old (one every {_span(every)})")
    return found


def _last_backup(page: Page) -> datetime | None:
    times = [page.figures.last_backup]
    if page.newest_backup is not None:
        times.append(backup.taken_at(page.newest_backup))
    known = [t for t in times if t is not None]
    return max(known) if known else None


# --- the page -----------------------------------------------------------------------


def render(page: Page, settings: Settings) -> list[str]:
    now = page.now
    f = page.figures
    lines = [f"Sanal status: {safe(settings.db)}, {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC"]
    lines += [_database_line(page, settings), ""]
    counts = ", ".join(f"{n} {s}" for s, n in f.rounds.items() if n) or "none yet"
    lines.append(f"Rounds: {counts}")
    for r in page.rounds:
        lines.append("  " + _round_line(r, now))
    lines += ["", "Next deadlines and reminders:"]
    shown = page.events[:DEADLINES_SHOWN]
    width = max((len(_local(e.at, e.tz)) for e in shown), default=0)
    lines += [
        f"  {_local(e.at, e.tz):<{width}}  {_relative(e.at, now):>11}  {e.bag_code}  {e.what}"
        for e in shown
    ] or ["  none"]
    if len(page.events) > len(shown):
        lines.append(f"  ... and {len(page.events) - len(shown)} more")
    lines += ["", _outbox_line(page), _inbox_line(f), _sweep_line(page, settings)]
    lines.append(_backup_line(page, settings))
    lines += ["", "Channels:"]
    lines += _channel_lines(page) or ["  none configured, nothing sent (the simulator only)"]
    lines.append("")
    if page.problems:
        lines.append(f"Problems ({len(page.problems)}):")
        lines += [f"  - {p}" for p in page.problems]
    else:
        lines.append("Problems: none")
    return lines


def _database_line(page: Page, settings: Settings) -> str:
    kind = "PostgreSQL server, reachable" if settings.db_is_postgres() else "SQLite file"
    size = f", {page.size / MB:.1f} MB" if page.size is not None else ""
    done = page.known - len(page.behind)
    return f"Database: {kind}{size}, migrations {done} of {page.known}"


def _round_line(r: RoundLine, now: datetime) -> str:
    place = f"{r.bag}, {r.soum}" if r.soum else r.bag
    deadline = {
        "draft": ("opens", r.opens_at),
        "collecting": ("proposals until", r.collect_until),
        "voting": ("voting until", r.vote_until),
    }[r.status]
    word, at = deadline
    when = f"{word} {_local(at, r.tz)} ({_relative(at, now)})" if at else f"{word}: not set"
    if r.meeting_at is not None:
        when += f"; khural {_local(r.meeting_at, r.tz)}"
    return f"{r.bag_code} {place}, for {r.year}: {PHASE[r.status]}, {when}"


def _outbox_line(page: Page) -> str:
    f = page.figures
    channels = sorted({c for c, _ in f.backlog} | set(page.configured))
    parts = []
    for c in channels:
        queued, sending = f.backlog.get((c, "queued"), 0), f.backlog.get((c, "sending"), 0)
        part = f"{c} {queued} queued" + (f", {sending} sending" if sending else "")
        due = f.oldest_due.get(c)
        if due is not None and page.now - due >= timedelta(minutes=1):
            part += f" (oldest due {_span(page.now - due)} ago)"
        parts.append(part)
    return "Outbox, not yet sent: " + ("; ".join(parts) if parts else "empty")


def _inbox_line(f: Figures) -> str:
    return f"Inbox: {f.inbox.get('pending', 0)} pending, {f.inbox.get('failed', 0)} failed"


def _sweep_line(page: Page, settings: Settings) -> str:
    last = page.figures.last_sweep
    state = "" if settings.scheduler_enabled else " (SANAL_SCHEDULER_ENABLED=false here)"
    if last is None:
        return f"Scheduler: no sweep recorded{state}"
    return f"Scheduler: last sweep {_relative(last, page.now)} ({_utc(last)}){state}"


def _backup_line(page: Page, settings: Settings) -> str:
    plan = backups.off_reason(settings) or f"one every {settings.backup_interval_hours:g}h"
    newest = page.newest_backup
    scheduled = page.figures.last_backup
    if newest is None and scheduled is None:
        return f"Backup: none yet in {settings.backup_path()} ({plan})"
    parts = []
    if newest is not None:
        made = backup.taken_at(newest)
        age = f", {_relative(made, page.now)}" if made else ""
        parts.append(f"newest {newest}{age}")
    if scheduled is not None:
        parts.append(f"last scheduled {_relative(scheduled, page.now)}")
    return f"Backup: {'; '.join(parts)} ({plan})"


def _channel_lines(page: Page) -> list[str]:
    by_name = {c.channel: c for c in page.channels}
    names = [*page.configured, *sorted(set(by_name) - set(page.configured))]
    width = max((len(n) for n in names), default=0)
    lines = []
    for name in names:
        c = by_name.get(name)
        if c is None:
            lines.append(f"  {name:<{width}}  nothing sent yet")
            continue
        trouble = []
        if c.overdue:
            trouble.append(f"{c.overdue} overdue")
        if c.failing:
            trouble.append(f"{c.failing} failing")
        if c.checks_failing:
            trouble.append(f"{c.checks_failing} cannot be checked")
        state = "PROBLEM: " + ", ".join(trouble) if trouble else "ok"
        sent = f"last sent {_relative(c.last_sent, page.now)}" if c.last_sent else "never sent"
        line = f"  {name:<{width}}  {state}; {sent}"
        if c.failed_since:
            line += f"; {c.failed_since} failed for good in 24h"
        if trouble and c.last_error:
            line += f"; last error: {_error(c.last_error)}"
        lines.append(line)
    return lines


def _error(text: str) -> str:
    """A provider's error as stored, without numbers (a gateway may quote the address)."""
    one = " ".join(mask_personal(text).split())
    return one if len(one) <= 80 else one[:77] + "..."


def _zone_name(tz: str) -> str:
    return tz.rsplit("/", 1)[-1]  # Asia/Ulaanbaatar -> Ulaanbaatar, Asia/Hovd -> Hovd


def _local(when: datetime, tz: str) -> str:
    return f"{when.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M} {_zone_name(tz)}"


def _utc(when: datetime) -> str:
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _span(delta: timedelta) -> str:
    """3d 4h, 5h 12m, 7m, 40s: the two largest units."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def _relative(when: datetime, now: datetime) -> str:
    return f"in {_span(when - now)}" if when > now else f"{_span(now - when)} ago"
