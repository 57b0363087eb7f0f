"""The sweeps: small, idempotent passes over the database, run in order by ``run_once``.

Each round moves on in its own ``BEGIN IMMEDIATE`` transaction, and only from the status
it was read in (``rounds.advance``), so a transition happens once however many schedulers
or governors try it; what they send is deduplicated by the outbox's unique keys.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.clock import day_text, deadline_text
from bot.core.settings import Settings
from bot.core.timing import hold_until
from handlers import voting_notice
from handlers.closing import close_round
from handlers.context import Text
from handlers.delivery import queue_for_person
from scheduler import reminders as reminding
from storage import audit, inbox, outbox, people, proposals, reminders, rounds, units
from storage.db import Database, Tx
from storage.places import bag_zone, officials
from storage.rounds import Round

log = logging.getLogger(__name__)
ACTOR = "scheduler"
# A ballot received by "vote until" counts however late it is handled (handlers/voting.py):
# the close waits while messages received by then are still pending in the inbox (the
# intake stores a deadline burst first and handles it a little later), but no longer than
# this after the deadline, so one message that cannot be handled never holds a result.
CLOSE_WAITS_AT_MOST = timedelta(minutes=10)
# One round's move: True if this call moved it.
_Step = Callable[[Tx, Settings, Round, datetime], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one pass did (logged, and what tests look at)."""

    opened: tuple[int, ...] = ()
    voting: tuple[int, ...] = ()
    closed: tuple[int, ...] = ()
    # Rounds due to close whose close waits for in-time messages still in the inbox: the
    # service sweeps again soon rather than at the next interval.
    waiting: tuple[int, ...] = ()
    reminders: int = 0
    vote_reminders: int = 0
    expired: int = 0

    @property
    def queued_anything(self) -> bool:
        return bool(self.opened or self.voting or self.closed or self.reminders)

    @property
    def changed_anything(self) -> bool:
        return self.queued_anything or bool(self.vote_reminders or self.expired)


async def run_once(db: Database, settings: Settings, now: datetime) -> SweepReport:
    """Every sweep once, in order: a catch-up after a stop is just one call.

    Rounds first (open, voting, close), so that reminders sent in the same pass already
    speak of the round's new state; then stale reminders are cancelled and due ones sent.
    """
    opened = await _each(db, "draft", "opens_at", now, _open, settings)
    voting = await _each(db, "collecting", "collect_until", now, _start_voting, settings)
    waiting: list[int] = []

    async def close(conn: Tx, settings: Settings, rnd: Round, now: datetime) -> bool:
        return await _close(conn, settings, rnd, now, waiting)

    closed = await _each(db, "voting", "vote_until", now, close, settings)
    # A thousand rows a transaction: senders and handling go on between them.
    expired = await reminders.expire_all(db, now)
    report = SweepReport(
        opened=opened,
        voting=voting,
        closed=closed,
        waiting=tuple(waiting),
        expired=expired,
        reminders=await reminding.meeting_reminders(db, settings, now),
        vote_reminders=await reminding.vote_reminders(db, settings, now),
    )
    if report.changed_anything:
        log.info("sweep at %s: %s", now.isoformat(timespec="seconds"), report)
    return report


async def _each(
    db: Database, status: str, column: str, now: datetime, step: _Step, settings: Settings
) -> tuple[int, ...]:
    moved: list[int] = []
    for rnd in await rounds.due(db.reader, status, column, now):
        try:
            async with db.write() as conn:
                fresh = await rounds.get(conn, rnd.id)
                if (
                    fresh is not None
                    and fresh.status == status
                    and await step(conn, settings, fresh, now)
                ):
                    moved.append(rnd.id)
        except Exception:  # one round's failure must not hold up the others
            log.exception("round %s: %s sweep failed", rnd.id, status)
    return tuple(moved)


async def _open(conn: Tx, settings: Settings, rnd: Round, now: datetime) -> bool:
    if not await rounds.advance(conn, rnd.id, "draft", now):
        return False
    await audit.record(
        conn,
        now=now,
        actor=ACTOR,
        action="round.open",
        channel=ACTOR,
        unit_code=rnd.bag_code,
        round_id=rnd.id,
    )
    zone = await bag_zone(conn, rnd.bag_code)
    until = deadline_text(rnd.collect_until, zone)
    await _tell_officials(conn, settings, rnd, now, "opened", [("sched.opened", {"until": until})])
    return True


async def _start_voting(conn: Tx, settings: Settings, rnd: Round, now: datetime) -> bool:
    """Collecting -> voting at "collect until", unless there is nothing to vote on, or the
    vote deadline has passed too (then the governor sets a new one rather than the round
    closing at once with nobody able to vote)."""
    zone = await bag_zone(conn, rnd.bag_code)
    assert rnd.collect_until is not None
    if rnd.vote_until is not None and rnd.vote_until <= now:
        example = day_text(now + timedelta(days=14), zone)
        await _tell_officials(
            conn,
            settings,
            rnd,
            now,
            f"overdue:{reminders.compact(rnd.vote_until)}",
            [("sched.voting_overdue", {"example": example})],
        )
        return False
    on_ballot = await proposals.of_round(conn, rnd.id, "accepted")
    if not on_ballot:
        await _tell_officials(
            conn,
            settings,
            rnd,
            now,
            f"empty:{reminders.compact(rnd.collect_until)}",
            [("sched.voting_empty", {})],
        )
        return False
    if not await rounds.advance(conn, rnd.id, "collecting", now):
        return False
    await audit.record(
        conn,
        now=now,
        actor=ACTOR,
        action="round.voting",
        channel=ACTOR,
        unit_code=rnd.bag_code,
        round_id=rnd.id,
        proposals=len(on_ballot),
    )
    until = deadline_text(rnd.vote_until, zone)
    lines: list[tuple[str, dict[str, object]]] = [
        ("sched.voting", {"count": len(on_ballot), "until": until})
    ]
    waiting = await proposals.of_round(conn, rnd.id, "pending")
    if waiting:
        lines.append(("sched.voting_pending", {"count": len(waiting)}))
    # The citizens are told too (in the morning, if this is night); the governor and the
    # chair hear how many and at what SMS cost, as after ХУРААЛТ.
    reach = await voting_notice.tell_citizens(conn, settings, rnd, now)
    sms = await voting_notice.sms_on(conn, settings, rnd.bag_code)
    lines += voting_notice.reach_lines(reach, sms, settings)
    await _tell_officials(conn, settings, rnd, now, "voting", lines)
    return True


async def _close(
    conn: Tx, settings: Settings, rnd: Round, now: datetime, waiting: list[int]
) -> bool:
    """Close at "vote until": close_round tallies and tells governor, chair and voters.

    Not while messages received by then are still to be handled (they may be ballots, and
    count): the round id goes to ``waiting`` instead, until CLOSE_WAITS_AT_MOST."""
    assert rnd.vote_until is not None
    # In the close's own write transaction, which the intake's handling waits for on both
    # backends (one writer): no message is handled between this count and the tally.
    left = await inbox.pending_received_by(conn, rnd.vote_until)
    if left and now < rnd.vote_until + CLOSE_WAITS_AT_MOST:
        waiting.append(rnd.id)
        return False
    if left:
        log.warning(
            "round %s closes with %d messages received in time still waiting in the inbox",
            rnd.id,
            left,
        )
    zone = await bag_zone(conn, rnd.bag_code)
    later = _morning(now, zone, settings)
    res = await close_round(conn, settings, rnd, now, actor=ACTOR, channel=ACTOR, not_before=later)
    if res is None:
        return False
    # Vote reminders not sent yet are pointless now.
    await outbox.cancel(conn, reminders.vote_fanout(rnd.id)[1])
    return True


def _morning(now: datetime, zone: ZoneInfo, settings: Settings) -> datetime | None:
    """The end of quiet hours if now is in them: what the scheduler starts waits for it."""
    far = now + timedelta(days=2)  # no deadline to beat: always wait
    return hold_until(now, far, zone, settings.quiet_start, settings.quiet_end)


async def _tell_officials(
    conn: Tx,
    settings: Settings,
    rnd: Round,
    now: datetime,
    what: str,
    lines: list[tuple[str, dict[str, object]]],
) -> int:
    """A notice to the bag's governor and chair, once per event (its dedupe key)."""
    bag = await units.get(conn, rnd.bag_code)
    name = bag.name if bag else rnd.bag_code
    parts = [Text(key, {"bag": name, **params}) for key, params in lines]
    zone = await bag_zone(conn, rnd.bag_code)
    sent = 0
    for person_id in await officials(conn, rnd.bag_code):
        person = await people.get(conn, person_id)
        if person is not None:
            sent += await queue_for_person(
                conn,
                settings,
                person,
                parts,
                dedupe_key=f"sched:{what}:{rnd.id}:{person_id}",
                now=now,
                round_id=rnd.id,
                not_before=_morning(now, zone, settings),
            )
    return sent


async def next_deadline(db: Database, now: datetime) -> datetime | None:
    """The earliest round deadline still ahead, so the service can wake up right at it."""
    return await rounds.next_deadline(db.reader, now)
