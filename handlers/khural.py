"""The bag khural meeting: the governor schedules it, citizens say they will come, and the
governor sees how many said so against the quorum."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.clock import local_text
from bot.core.settings import Settings
from bot.core.timing import hold_until
from handlers.context import Context, Text
from handlers.delivery import queue_for_person
from handlers.governor import end_of_day
from storage import meetings, outbox, people, reminders, rounds
from storage.db import Tx
from storage.meetings import Meeting
from storage.places import bag_zone, officials


async def quorum(conn: Tx, settings: Settings, bag_code: str) -> tuple[int, int]:
    """(quorum, registered citizens). The legal basis is unconfirmed, so it is a setting:
    a fixed number, or a share of the bag's registered citizens."""
    registered = await people.count_registered(conn, bag_code)
    if settings.khural_quorum > 0:
        return settings.khural_quorum, registered
    return math.ceil(registered * settings.khural_quorum_share), registered


async def status_params(
    conn: Tx, settings: Settings, bag_code: str, meeting: Meeting
) -> dict[str, object]:
    zone = await bag_zone(conn, bag_code)
    need, registered = await quorum(conn, settings, bag_code)
    return {
        "when": local_text(meeting.starts_at, zone),
        "place": meeting.place,
        "rsvps": await meetings.rsvp_count(conn, meeting.id),
        "quorum": need,
        "registered": registered,
    }


async def schedule(ctx: Context, bag_code: str) -> None:
    intent = ctx.intent
    place = intent.text.strip()
    if len(ctx.inbound.text.split()) == 1:
        await _status(ctx, bag_code)  # "ХУРАЛ" alone: the meeting and its RSVPs
        return
    if intent.error or intent.meeting_date is None or intent.meeting_time is None:
        ctx.reply("meeting.usage")
        return
    if not place:
        ctx.reply("meeting.usage")
        return
    rnd = await rounds.current(ctx.conn, bag_code)
    if rnd is None or rnd.status in ("confirmed", "submitted"):
        ctx.reply("round.none")
        return
    zone = await bag_zone(ctx.conn, bag_code)
    day = end_of_day(intent.meeting_date, zone.key, ctx.now).date()
    day = day.fromordinal(day.toordinal() - 1)  # end_of_day gives the next midnight
    starts = datetime.combine(day, intent.meeting_time, zone)
    if starts <= ctx.now:
        ctx.reply("round.bad_dates")
        return
    old = await meetings.current(ctx.conn, rnd.id)
    meeting, changed = await meetings.schedule(ctx.conn, rnd.id, starts, place, ctx.now)
    ctx.round_id = rnd.id
    told = 0
    if old is not None and (changed or old.place != place):
        told = await _tell_change(ctx, bag_code, old, meeting, zone)
    await ctx.audit(
        "khural.schedule",
        unit_code=bag_code,
        round_id=rnd.id,
        starts_at=starts.isoformat(),
        place=place,
        version=meeting.version,
        told=told,
    )
    ctx.reply(
        "meeting.ok" if changed else "meeting.place_changed",
        when=local_text(starts, zone),
        place=place,
    )
    if told:
        ctx.add("khural.told", count=told)


async def _tell_change(
    ctx: Context, bag_code: str, old: Meeting, new: Meeting, zone: ZoneInfo
) -> int:
    """Cancel what was queued for the old time and tell everyone already reminded of it.

    Returns how many people are told. The notice waits out quiet hours, and is cancelled
    like a reminder if the meeting starts (or moves again) before it is sent.
    """
    old_prefix = reminders.meeting_prefix(old.id, old.version)
    reached = await reminders.reached(ctx.conn, old_prefix)
    if new.version != old.version:
        await outbox.cancel(ctx.conn, old_prefix)
    key, prefix = reminders.moved_fanout(new.id, new.version, new.starts_at, new.place)
    if await reminders.done(ctx.conn, key):
        return 0
    parts = [
        Text(
            "remind.moved" if new.version != old.version else "remind.place",
            {"when": local_text(new.starts_at, zone), "place": new.place},
        )
    ]
    if new.version != old.version:
        parts.append(Text("remind.meeting_rsvp"))  # the RSVPs for the old time are cleared
    s = ctx.settings
    later = hold_until(ctx.now, new.starts_at, zone, s.quiet_start, s.quiet_end)
    told = 0
    for person_id in reached:
        if person_id == ctx.person.id:
            continue  # the governor hears it in the reply
        person = await people.get(ctx.conn, person_id)
        if person is None or person.bag_code != bag_code:
            continue
        told += await queue_for_person(
            ctx.conn,
            s,
            person,
            parts,
            dedupe_key=f"{prefix}{person.id}",
            now=ctx.now,
            kind="reminder",
            round_id=new.round_id,
            not_before=later,
            broadcast=True,
        )
    await reminders.record(
        ctx.conn,
        key=key,
        kind="meeting",
        round_id=new.round_id,
        meeting_id=new.id,
        version=new.version,
        prefix=prefix,
        due_at=ctx.now,
        expires_at=new.starts_at,
        queued=told,
        now=ctx.now,
    )
    return told


async def _status(ctx: Context, bag_code: str) -> None:
    rnd = await rounds.current(ctx.conn, bag_code)
    meeting = await meetings.current(ctx.conn, rnd.id) if rnd else None
    if rnd is None or meeting is None:
        ctx.reply("meeting.usage")
        return
    ctx.round_id = rnd.id
    ctx.reply("khural.status", **await status_params(ctx.conn, ctx.settings, bag_code, meeting))


async def rsvp(ctx: Context) -> None:
    person = ctx.person
    if not person.bag_code or person.status != "approved":
        ctx.reply("join.first")
        return
    rnd = await rounds.current(ctx.conn, person.bag_code)
    meeting = await meetings.current(ctx.conn, rnd.id) if rnd else None
    if rnd is None or meeting is None or meeting.starts_at <= ctx.now:
        ctx.reply("rsvp.none")
        return
    added = await meetings.rsvp(ctx.conn, meeting.id, person.id, ctx.now)
    zone = await bag_zone(ctx.conn, person.bag_code)
    ctx.reply("rsvp.ok", when=local_text(meeting.starts_at, zone), place=meeting.place)
    if added:
        await ctx.audit("khural.rsvp", unit_code=person.bag_code, round_id=rnd.id)
        params = await status_params(ctx.conn, ctx.settings, person.bag_code, meeting)
        # Told once, by the answer that reaches the quorum (writes are serialised).
        if params["rsvps"] == params["quorum"]:
            for official in await officials(ctx.conn, person.bag_code):
                ctx.notify(official, "khural.quorum_reached", round_id=rnd.id, **params)
