"""Rendering texts for a person and queueing them on the channel that reaches them.

Replies go back on the channel the message came from; messages we start (notices,
reminders, results) go where the person last wrote from, else to a chat account (Telegram)
if linked, else by SMS. What reaches whom is read from each channel's declared record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.core import channels
from bot.core.settings import Settings, configured_real_channels
from bot.core.sms_segments import fit
from bot.core.texts import render
from storage import outbox
from storage.db import Tx
from storage.people import Person


class Part(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def params(self) -> dict[str, object]: ...


def compose(parts: Sequence[Part], lang: str) -> str:
    return "\n".join(_render(p, lang) for p in parts)


def _render(part: Part, lang: str) -> str:
    # A parameter may itself be a catalog text (a flag's label): render it in the same
    # language as the message around it.
    params = {
        k: _render(v, lang) if hasattr(v, "key") and hasattr(v, "params") else v
        for k, v in part.params.items()
    }
    return render(part.key, lang, **params)


def route_for(person: Person, settings: Settings) -> tuple[str, str] | None:
    """(channel, address) for a message we start to this person, or None if unreachable:
    the channel they last wrote from, else a chat account of theirs that has not blocked
    us, else their phone by the SMS provider for strangers."""
    if person.channel is not None:
        try:
            last = channels.capabilities(person.channel)
        except ValueError:  # a channel this process does not run
            pass
        else:
            address = _address(person, last)
            if address is not None:
                return last.name, address
    for identity in person.identities:
        chat = channels.for_identity(identity.kind)
        if chat is not None and not identity.blocked:
            return chat.name, chat.address_of(identity.address)
    sms = _sms_for_strangers(settings)
    if person.phone and sms is not None:
        return sms, f"{channels.PHONE_SCHEME}:{person.phone}"
    return None


def _address(person: Person, caps: channels.Capabilities) -> str | None:
    """This person's address on this channel, if it reaches them."""
    if caps.identity == channels.PHONE:
        return caps.address_of(person.phone) if person.phone else None
    found = person.identity(caps.identity)
    if found is None or found.blocked:
        return None
    return caps.address_of(found.address)


def _sms_for_strangers(settings: Settings) -> str | None:
    """The SMS channel for someone who never wrote: the first real provider named. The
    simulator only in training: beside real channels a message "sent" over it would reach
    nobody, and be counted as sent."""
    providers = settings.sms_providers()
    real = [p for p in providers if not channels.capabilities(p).training]
    if real:
        return real[0]
    return None if configured_real_channels(settings) else providers[0]


def finish_text(text: str, channel: str, settings: Settings) -> str:
    """Cap SMS at the segment budget, a chat text at its channel's limit, if it has one
    (Telegram has none: it splits long texts itself)."""
    caps = channels.capabilities(channel)
    if caps.is_sms:
        return fit(text, settings.max_segments)
    if caps.max_text is not None and len(text) > caps.max_text:
        return text[: caps.max_text - 1] + "…"
    return text


async def queue_for_person(
    conn: Tx,
    settings: Settings,
    person: Person,
    parts: Sequence[Part],
    *,
    dedupe_key: str,
    now: datetime,
    kind: str = "notice",
    round_id: int | None = None,
    not_before: datetime | None = None,
    extra: dict[str, Any] | None = None,
    broadcast: bool = False,
    route: tuple[str, str] | None = None,
) -> bool:
    """Queue a message we start. ``broadcast`` messages skip people who said STOP.
    ``route`` (channel, address) overrides :func:`route_for` (a notice sent by Telegram
    to someone who would get it by SMS, where SMS notices are off)."""
    if broadcast and person.opted_out:
        return False
    route = route or route_for(person, settings)
    if route is None:
        return False
    channel, address = route
    text = finish_text(compose(parts, person.lang), channel, settings)
    return await outbox.enqueue(
        conn,
        dedupe_key=dedupe_key,
        channel=channel,
        address=address,
        text=text,
        now=now,
        person_id=person.id,
        kind=kind,
        round_id=round_id,
        bag_code=person.bag_code,
        not_before=not_before,
        extra=extra,
    )
