"""Rendering texts for a person and queueing them on the channel that reaches them.

Replies go back on the channel the message came from; messages we start (notices,
reminders, results) go where the person last wrote from, else Telegram if linked, else SMS.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.core.message import Channel
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
    """(channel, address) for a message we start to this person, or None if unreachable."""
    last = person.channel
    if last == Channel.TELEGRAM.value and person.telegram_id and not person.telegram_blocked:
        return last, f"telegram:{person.telegram_id}"
    if person.phone and last in (
        Channel.TWILIO.value,
        Channel.ANDROID.value,
        Channel.SIMULATOR.value,
    ):
        return last, f"tel:{person.phone}"
    if person.telegram_id and not person.telegram_blocked:
        return Channel.TELEGRAM.value, f"telegram:{person.telegram_id}"
    sms = _sms_for_strangers(settings)
    if person.phone and sms is not None:
        return sms, f"tel:{person.phone}"
    return None


def _sms_for_strangers(settings: Settings) -> str | None:
    """The SMS channel for someone who never wrote: the first real provider named. The
    simulator only in training: beside real channels a message "sent" over it would reach
    nobody, and be counted as sent."""
    providers = settings.sms_providers()
    real = [p for p in providers if p != Channel.SIMULATOR.value]
    if real:
        return real[0]
    return None if configured_real_channels(settings) else providers[0]


def finish_text(text: str, channel: str, settings: Settings) -> str:
    """Cap SMS at the segment budget; Telegram splits long texts itself."""
    if channel == Channel.TELEGRAM.value:
        return text
    return fit(text, settings.max_segments)


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
