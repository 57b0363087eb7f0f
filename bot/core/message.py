"""The one message shape every channel is converted to at its edge.

Addresses are URN-like, as in RapidPro's courier: ``tel:+97699112233``, ``telegram:12345``.
Only ``bot/channels/*`` know a provider; everything behind the inbox sees these types, and
what a channel can do is read from its record (``bot.core.channels``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.core.channels import Channel

__all__ = ["Button", "Channel", "Inbound", "Reply"]


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from a person, normalised at the channel edge.

    ``external_id`` is the provider's id (Twilio MessageSid, Telegram update_id); when a
    provider has none that is unique, the channel derives a stable one from the message
    (the Android gateway: ``bot.channels.android_sms.message_key``), so that a webhook's
    retry is stored once.
    """

    channel: Channel
    external_id: str
    address: str  # tel:+976... or telegram:<user id>
    text: str
    received_at: datetime
    phone: str | None = None  # E.164 when the channel knows it
    telegram_id: int | None = None
    # Structured data a channel may add (a shared contact, a pressed button).
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button; channels without buttons ignore it (the text says what to type)."""

    label: str
    data: str  # at most 64 bytes: Telegram's callback_data limit


@dataclass(frozen=True, slots=True)
class Reply:
    """What a handler wants said; the router turns it into outbox rows."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    ask_contact: bool = False
