"""Citizens are told that their bag's voting has opened: how to vote, until when, and how
to see the proposals, in one Cyrillic SMS segment.

Whoever opens voting (the governor's ХУРААЛТ, or the scheduler at "collect until") calls
:func:`tell_citizens` in the same transaction. Every registered citizen of the bag who has
not said STOP gets it once per round (one outbox row each, under a unique key: a second
ХУРААЛТ, the scheduler beside the governor, or a restart add nothing). Telegram costs
nothing and is always used; SMS costs the soum money, so it follows the bag's choice
(МЭДЭГДЭЛ SMS ТИЙМ / ҮГҮЙ), else the setting ``SANAL_VOTING_NOTICE_SMS`` (on by
default). A citizen who would get it by SMS while SMS notices are off gets it by Telegram
if linked there, and otherwise is counted in what it would have cost, which the governor
is shown. Quiet hours hold the notices until the morning, as they hold reminders.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.clock import deadline_text
from bot.core.message import Channel
from bot.core.settings import Settings
from bot.core.sms_segments import count_segments
from bot.core.timing import hold_until
from handlers.context import Context, Text
from handlers.delivery import compose, finish_text, queue_for_person, route_for
from storage import ballots, notices, people, roles, rounds, units
from storage.db import Tx
from storage.people import Person
from storage.rounds import Round

# The deadline in an estimate made before one is set (any date would do: every date reads
# in the same 16 characters).
_ESTIMATE_LEAD = timedelta(days=14)


@dataclass(slots=True)
class Reach:
    """Whom a round's notice reaches, and what its SMS cost in segments."""

    telegram: int = 0
    sms: int = 0
    sms_segments: int = 0
    # SMS citizens not told because the bag's SMS notices are off: what they would cost.
    held: int = 0
    held_segments: int = 0
    _texts: dict[str, str] = field(default_factory=dict, repr=False)  # by language


def mnt(segments: int, settings: Settings) -> str:
    """What ``segments`` SMS segments cost, in whole tugriks: "1 240"."""
    return f"{round(segments * settings.sms_segment_price):,}".replace(",", " ")


async def sms_on(conn: Tx, settings: Settings, bag_code: str) -> bool:
    """Whether the bag's voting notice goes by SMS too: its governor's choice, else the
    setting."""
    choice = await notices.sms_choice(conn, bag_code)
    return settings.voting_notice_sms if choice is None else choice


def notice_parts(vote_until: datetime | None, max_choices: int, zone: ZoneInfo) -> list[Text]:
    # The example ballot is one the round accepts: "СОНГО 1" where one choice is allowed.
    example = "1 3" if max_choices >= 2 else "1"
    if vote_until is None:
        return [Text("notice.voting_open", {"example": example})]
    return [Text("notice.voting", {"until": deadline_text(vote_until, zone), "example": example})]


async def tell_citizens(
    conn: Tx, settings: Settings, rnd: Round, now: datetime, *, by_sms: bool | None = None
) -> Reach:
    """Queue the notice that voting has opened to every citizen of the round's bag who has
    not had it (nor voted, nor said STOP). ``by_sms``: decide SMS so, not by the bag's
    choice."""
    zone = await _zone(conn, rnd.bag_code)
    sms = await sms_on(conn, settings, rnd.bag_code) if by_sms is None else by_sms
    parts = notice_parts(rnd.vote_until, rnd.max_choices, zone)
    # What the scheduler starts waits out the quiet hours; so does this, unless the
    # morning comes after the close.
    deadline = rnd.vote_until or now + timedelta(days=2)
    later = hold_until(now, deadline, zone, settings.quiet_start, settings.quiet_end)
    voted = set(await ballots.voters(conn, rnd.id))

    async def queue(person: Person, route: tuple[str, str]) -> bool:
        if person.id in voted:
            return False  # has voted meanwhile (SMS turned on mid-round): nothing to tell
        return await queue_for_person(
            conn,
            settings,
            person,
            parts,
            dedupe_key=notices.key(rnd.id, person.id),
            now=now,
            kind="notice",
            round_id=rnd.id,
            not_before=later,
            broadcast=True,
            route=route,
        )

    return await _fan_out(conn, settings, rnd.bag_code, parts, sms, queue)


async def estimate(conn: Tx, settings: Settings, bag_code: str, now: datetime) -> Reach:
    """Whom the notice reaches by SMS in the bag today, and its cost (nothing is queued)."""
    rnd = await rounds.current(conn, bag_code)
    zone = await _zone(conn, bag_code)
    # Before a deadline is set, any: every date reads in 16 characters.
    until = rnd.vote_until if rnd and rnd.vote_until else now + _ESTIMATE_LEAD
    choices = rnd.max_choices if rnd else settings.max_choices
    return await _fan_out(conn, settings, bag_code, notice_parts(until, choices, zone), True, None)


async def _fan_out(
    conn: Tx,
    settings: Settings,
    bag_code: str,
    parts: list[Text],
    sms: bool,
    queue: Callable[[Person, tuple[str, str]], Awaitable[bool]] | None,
) -> Reach:
    """Each citizen of the bag once: queued (``queue`` says whether it was new) or, with
    no ``queue``, counted only."""
    staff = await _officials(conn, bag_code)
    reach = Reach()
    for person in await people.registered_in_bag(conn, bag_code):
        if person.opted_out or person.id in staff:
            continue
        route = _route(person, settings, sms)
        if route is None:
            if not sms and route_for(person, settings) is not None:
                reach.held += 1  # SMS notices are off: what it would have cost
                reach.held_segments += _segments(reach, parts, person, settings)
            continue
        if queue is not None and not await queue(person, route):
            continue  # told already (a second ХУРААЛТ, a restart): not again
        if route[0] == Channel.TELEGRAM.value:
            reach.telegram += 1
        else:
            reach.sms += 1
            reach.sms_segments += _segments(reach, parts, person, settings)
    return reach


async def _zone(conn: Tx, bag_code: str) -> ZoneInfo:
    bag = await units.get(conn, bag_code)
    return ZoneInfo(bag.tz if bag else "Asia/Ulaanbaatar")


def _route(person: Person, settings: Settings, sms: bool) -> tuple[str, str] | None:
    """Where this citizen's notice goes: as any message we start, except that where SMS
    notices are off, a citizen reached by SMS gets it by Telegram if linked, or not."""
    route = route_for(person, settings)
    if route is None or sms or route[0] == Channel.TELEGRAM.value:
        return route
    if person.telegram_id and not person.telegram_blocked:
        return Channel.TELEGRAM.value, f"telegram:{person.telegram_id}"
    return None


def _segments(reach: Reach, parts: list[Text], person: Person, s: Settings) -> int:
    """SMS segments of the notice in the person's language (Cyrillic UCS-2, Latin GSM-7),
    as the outbox holds it (cut at the segment budget)."""
    text = reach._texts.get(person.lang)
    if text is None:
        text = finish_text(compose(parts, person.lang), Channel.TWILIO.value, s)
        reach._texts[person.lang] = text
    return count_segments(text).segments


async def _officials(conn: Tx, bag_code: str) -> set[int]:
    """The bag's governor and chair: they are told by their own reply or notice."""
    holders = [
        *(await roles.holders(conn, "governor", bag_code)),
        *(await roles.holders(conn, "chair", bag_code)),
    ]
    return {r.person_id for r in holders}


def reach_lines(reach: Reach, sms: bool, settings: Settings) -> list[tuple[str, dict[str, object]]]:
    """What the governor (and the chair) are told after voting opened: how many notices
    went out and what the SMS ones cost, or what they would have cost."""
    if sms:
        return [
            (
                "notice.queued",
                {
                    "telegram": reach.telegram,
                    "sms": reach.sms,
                    "cost": mnt(reach.sms_segments, settings),
                },
            )
        ]
    lines: list[tuple[str, dict[str, object]]] = [
        ("notice.telegram_only", {"telegram": reach.telegram})
    ]
    if reach.held:
        lines.append(
            ("notice.sms_off", {"sms": reach.held, "cost": mnt(reach.held_segments, settings)})
        )
    return lines


async def on_voting(ctx: Context, rnd: Round) -> None:
    """ХУРААЛТ has opened voting: tell the citizens, and add to the governor's reply what
    went out and its cost."""
    reach = await tell_citizens(ctx.conn, ctx.settings, rnd, ctx.now)
    sms = await sms_on(ctx.conn, ctx.settings, rnd.bag_code)
    for key, params in reach_lines(reach, sms, ctx.settings):
        ctx.add(key, **params)


async def sms_word(ctx: Context, bag_code: str) -> None:
    """МЭДЭГДЭЛ SMS: how the bag's voting notice goes and what its SMS cost; ТИЙМ / ҮГҮЙ
    sets it. Turned on while voting is open, it goes out now to those not told yet;
    turned off, the SMS ones not sent yet are cancelled."""
    rnd = await rounds.current(ctx.conn, bag_code)
    if rnd is not None:
        ctx.round_id = rnd.id
    # What the notice costs by SMS in the bag today: the governor decides knowing it.
    reach = await estimate(ctx.conn, ctx.settings, bag_code, ctx.now)
    cost = mnt(reach.sms_segments, ctx.settings)
    choice = ctx.intent.text
    if not choice:
        on = await sms_on(ctx.conn, ctx.settings, bag_code)
        ctx.reply("notice.status_on" if on else "notice.status_off", sms=reach.sms, cost=cost)
        return
    by_sms = choice == "on"
    await notices.set_sms_choice(ctx.conn, bag_code, by_sms)
    await ctx.audit("bag.voting_notice_sms", unit_code=bag_code, sms=by_sms)
    ctx.reply("notice.set_on" if by_sms else "notice.set_off", sms=reach.sms, cost=cost)
    if rnd is None or rnd.status != "voting":
        return
    if by_sms:
        reach = await tell_citizens(ctx.conn, ctx.settings, rnd, ctx.now, by_sms=True)
        if reach.sms:
            ctx.add("notice.sent_now", sms=reach.sms, cost=mnt(reach.sms_segments, ctx.settings))
        return
    cancelled = await notices.cancel_sms(ctx.conn, rnd.id)
    if cancelled:
        ctx.add("notice.cancelled", count=cancelled)
