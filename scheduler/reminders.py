"""Reminder fan-outs: khural meeting reminders and the one vote reminder of a round.

Each fan-out runs in one write transaction (``BEGIN IMMEDIATE``): it checks that it has
not gone out yet, queues one message per person under a unique dedupe key, and records
itself. A second scheduler on the same database finds the record and does nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.clock import deadline_text, local_text
from bot.core.settings import Settings
from bot.core.timing import hold_until, latest_due
from handlers.closing import results
from handlers.context import Text
from handlers.delivery import queue_for_person
from handlers.khural import status_params
from handlers.proposals import short
from storage import ballots, meetings, people, reminders, rounds
from storage.db import Database, Tx
from storage.meetings import Meeting
from storage.places import bag_zone, officials
from storage.rounds import Round

log = logging.getLogger(__name__)

TOP = 3  # proposals named in a reminder once voting has closed
WAITING = ("draft", "collecting", "voting", "closed")  # rounds whose khural is still ahead


async def meeting_reminders(db: Database, settings: Settings, now: datetime) -> int:
    """Send the meeting reminders due now; returns how many messages were queued."""
    offsets = settings.meeting_reminder_offsets()
    if not offsets:
        return 0
    queued = 0
    for m in await meetings.upcoming(db.reader, now):
        # The common cases (nothing due yet, or already sent) are decided on the reader,
        # without taking the write lock every sweep; the transaction checks again.
        offset = latest_due(now, m.starts_at, offsets)
        if offset is None:
            continue
        key, _ = reminders.meeting_fanout(m.id, m.version, m.starts_at, offset)
        if await reminders.done(db.reader, key):
            continue
        try:
            async with db.write() as conn:
                queued += await _meeting_fanout(conn, settings, m.id, offsets, now)
        except Exception:  # one bag's failure must not stop the others' reminders
            log.exception("meeting %s: reminders failed", m.id)
    return queued


async def _meeting_fanout(
    conn: Tx, settings: Settings, meeting_id: int, offsets: list[timedelta], now: datetime
) -> int:
    m = await meetings.get(conn, meeting_id)  # again, inside the transaction: it may have moved
    if m is None or m.starts_at <= now:
        return 0
    current = await meetings.current(conn, m.round_id)
    rnd = await rounds.get(conn, m.round_id)
    if current is None or current.id != m.id or rnd is None or rnd.status not in WAITING:
        return 0
    offset = latest_due(now, m.starts_at, offsets)
    if offset is None:
        return 0
    key, prefix = reminders.meeting_fanout(m.id, m.version, m.starts_at, offset)
    if await reminders.done(conn, key):
        return 0
    zone = await bag_zone(conn, rnd.bag_code)
    if hold_until(now, m.starts_at, zone, settings.quiet_start, settings.quiet_end):
        return 0  # quiet hours: a later sweep sends it in the morning
    common = await _meeting_lines(conn, rnd, m, zone, settings.min_voters_for_counts)
    staff = await officials(conn, rnd.bag_code)
    queued = 0
    # Who has voted and who said they will come, read once: the fan-out holds the write
    # lock, and two lookups per citizen made a 20,000-person bag hold it for seconds.
    voted = set(await ballots.voters(conn, rnd.id))
    coming = await meetings.coming(conn, m.id)
    for person in await people.registered_in_bag(conn, rnd.bag_code):
        if person.id in staff:
            continue  # they get the count against the quorum instead
        parts = [Text("remind.meeting", {"when": local_text(m.starts_at, zone), "place": m.place})]
        if rnd.status == "voting" and person.id not in voted:
            parts.append(_how_to_vote(rnd, zone))
        if person.id not in coming:
            parts.append(Text("remind.meeting_rsvp"))
        parts += common
        queued += await queue_for_person(
            conn,
            settings,
            person,
            parts,
            dedupe_key=f"{prefix}{person.id}",
            now=now,
            kind="reminder",
            round_id=rnd.id,
            broadcast=True,  # people who said STOP get no reminders
        )
    summary = [Text("remind.officials", await status_params(conn, settings, rnd.bag_code, m))]
    for person_id in staff:
        official = await people.get(conn, person_id)
        if official is not None:
            queued += await queue_for_person(
                conn,
                settings,
                official,
                summary,
                dedupe_key=f"{prefix}official:{person_id}",
                now=now,
                kind="reminder",
                round_id=rnd.id,
            )
    await reminders.record(
        conn,
        key=key,
        kind="meeting",
        round_id=rnd.id,
        meeting_id=m.id,
        version=m.version,
        prefix=prefix,
        due_at=m.starts_at - offset,
        expires_at=m.starts_at,
        queued=queued,
        now=now,
    )
    log.info("meeting %s: reminder %s queued %d messages", m.id, key, queued)
    return queued


def _how_to_vote(rnd: Round, zone: ZoneInfo) -> Text:
    if rnd.vote_until is None:
        return Text("remind.meeting_vote_open")
    return Text("remind.meeting_vote", {"until": deadline_text(rnd.vote_until, zone)})


async def _meeting_lines(
    conn: Tx, rnd: Round, m: Meeting, zone: ZoneInfo, min_voters: int
) -> list[Text]:
    """What every citizen's reminder ends with: the top proposals once voting has closed,
    or how to propose while proposals are collected."""
    if rnd.status == "collecting":
        return [Text("remind.meeting_propose")]
    if rnd.status != "closed":
        return []
    res = await results(conn, rnd, min_voters)
    ranked = [] if res.counts_hidden else res.ranked[:TOP]  # too few voted: no top list
    if not ranked:
        return []
    return [
        Text("remind.meeting_top"),
        *(
            Text(
                "results.citizen_item",
                {"rank": r.rank, "text": short(r.proposal.text, 24), "votes": r.votes},
            )
            for r in ranked
        ),
    ]


async def vote_reminders(db: Database, settings: Settings, now: datetime) -> int:
    """Remind, once, the registered citizens who have not voted, ahead of the close."""
    if settings.vote_reminder_hours <= 0:
        return 0
    lead = timedelta(hours=settings.vote_reminder_hours)
    queued = 0
    for rnd in await rounds.due(db.reader, "voting", "vote_until", now + lead):
        if await reminders.done(db.reader, reminders.vote_fanout(rnd.id)[0]):
            continue
        try:
            async with db.write() as conn:
                queued += await _vote_fanout(conn, settings, rnd.id, lead, now)
        except Exception:
            log.exception("round %s: vote reminders failed", rnd.id)
    return queued


async def _vote_fanout(
    conn: Tx, settings: Settings, round_id: int, lead: timedelta, now: datetime
) -> int:
    rnd = await rounds.get(conn, round_id)
    if rnd is None or rnd.status != "voting" or rnd.vote_until is None:
        return 0
    if not rnd.vote_until - lead <= now < rnd.vote_until:
        return 0
    key, prefix = reminders.vote_fanout(rnd.id)
    if await reminders.done(conn, key):
        return 0
    zone = await bag_zone(conn, rnd.bag_code)
    if hold_until(now, rnd.vote_until, zone, settings.quiet_start, settings.quiet_end):
        return 0
    parts = [Text("remind.vote", {"until": deadline_text(rnd.vote_until, zone)})]
    queued = 0
    # Only who has not voted: participation, never what anyone chose.
    for person_id in await ballots.voters_missing(conn, rnd.id, rnd.bag_code):
        person = await people.get(conn, person_id)
        if person is None:
            continue
        queued += await queue_for_person(
            conn,
            settings,
            person,
            parts,
            dedupe_key=f"{prefix}{person.id}",
            now=now,
            kind="reminder",
            round_id=rnd.id,
            broadcast=True,
        )
    await reminders.record(
        conn,
        key=key,
        kind="vote",
        round_id=rnd.id,
        prefix=prefix,
        due_at=rnd.vote_until - lead,
        expires_at=rnd.vote_until,
        queued=queued,
        now=now,
    )
    log.info("round %s: vote reminder queued %d messages", rnd.id, queued)
    return queued
