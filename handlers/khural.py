"""The bag khural meeting: the governor schedules it, citizens say they will come."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.context import Context
from handlers.governor import end_of_day
from storage import meetings, rounds, units


async def schedule(ctx: Context, bag_code: str) -> None:
    intent = ctx.intent
    if intent.error or intent.meeting_date is None or intent.meeting_time is None:
        ctx.reply("meeting.usage")
        return
    place = intent.text.strip()
    if not place:
        ctx.reply("meeting.usage")
        return
    rnd = await rounds.current(ctx.conn, bag_code)
    if rnd is None or rnd.status in ("confirmed", "submitted"):
        ctx.reply("round.none")
        return
    bag = await units.get(ctx.conn, bag_code)
    zone = ZoneInfo(bag.tz if bag else "Asia/Ulaanbaatar")
    day = end_of_day(intent.meeting_date, zone.key, ctx.now).date()
    day = day.fromordinal(day.toordinal() - 1)  # end_of_day gives the next midnight
    starts = datetime.combine(day, intent.meeting_time, zone)
    if starts <= ctx.now:
        ctx.reply("round.bad_dates")
        return
    meeting, changed = await meetings.schedule(ctx.conn, rnd.id, starts, place, ctx.now)
    ctx.round_id = rnd.id
    await ctx.audit(
        "khural.schedule",
        unit_code=bag_code,
        round_id=rnd.id,
        starts_at=starts.isoformat(),
        place=place,
        version=meeting.version,
    )
    ctx.reply(
        "meeting.ok" if changed else "meeting.place_changed",
        when=starts.strftime("%Y-%m-%d %H:%M"),
        place=place,
    )


async def rsvp(ctx: Context) -> None:
    person = ctx.person
    if not person.bag_code or person.status != "approved":
        ctx.reply("join.first")
        return
    rnd = await rounds.current(ctx.conn, person.bag_code)
    meeting = await meetings.current(ctx.conn, rnd.id) if rnd else None
    if meeting is None or meeting.starts_at <= ctx.now:
        ctx.reply("rsvp.none")
        return
    await meetings.rsvp(ctx.conn, meeting.id, person.id, ctx.now)
    bag = await units.get(ctx.conn, person.bag_code)
    local = meeting.starts_at.astimezone(ZoneInfo(bag.tz if bag else "Asia/Ulaanbaatar"))
    ctx.reply("rsvp.ok", when=local.strftime("%m-%d %H:%M"), place=meeting.place)
