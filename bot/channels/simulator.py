"""The local simulator channel: a phone on a web page or in a terminal.

It takes the same path as SMS (inbox, router, outbox); "sending" marks the row sent, and
the page reads the conversation back from the inbox and outbox.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from bot.channels.base import SendResult
from bot.message import Channel, Inbound
from bot.phone import normalise
from bot.sms_segments import count_segments
from storage.outbox import OutboxRow


def inbound(phone: str, text: str, now: datetime, message_id: str | None = None) -> Inbound:
    """A simulated SMS from ``phone`` (any common Mongolian writing; raises PhoneError)."""
    e164 = normalise(phone)
    return Inbound(
        channel=Channel.SIMULATOR,
        external_id=message_id or uuid.uuid4().hex,
        address=f"tel:{e164}",
        text=text,
        received_at=now,
        phone=e164,
    )


class SimulatorTransport:
    name: str = Channel.SIMULATOR.value
    rate_per_second: float = 1000.0
    per_address_per_second: float | None = None

    async def send(self, message: OutboxRow) -> SendResult:
        return SendResult.sent(f"sim-{message.id}", count_segments(message.text).segments)
