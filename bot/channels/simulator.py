"""The local simulator channel: a phone on a web page or in a terminal.

It takes the same path as SMS (inbox, router, outbox); "sending" marks the row sent, and
the page reads the conversation back from the inbox and outbox.

A ballot's messages are sealed in the database once handled and sent (handlers/secrecy),
the simulator's too. A real phone keeps what it sent and received; the simulated phones'
:class:`Screen` does that in this process's memory (never on disk), so that the page
still shows a trainee their vote and its confirmation, until the server restarts.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from bot.channels.base import SendResult
from bot.core.message import Channel, Inbound
from bot.core.phone import normalise
from bot.core.sms_segments import count_segments
from storage.inbox import SEALED
from storage.outbox import OutboxRow

SCREEN_SIZE = 10_000  # messages remembered; the oldest are forgotten first


class Screen:
    """The texts of sealed messages as the simulated phones showed them, by row."""

    def __init__(self) -> None:
        self._texts: dict[tuple[str, int], str] = {}

    def keep(self, direction: str, row_id: int, text: str) -> None:
        self._texts[(direction, row_id)] = text
        while len(self._texts) > SCREEN_SIZE:
            del self._texts[next(iter(self._texts))]

    def show(self, direction: str, row_id: int, text: str) -> str:
        """The text to show for a row: as stored, or as the phone saw it if sealed."""
        return self._texts.get((direction, row_id), text) if text == SEALED else text


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

    def __init__(self) -> None:
        self.screen = Screen()

    async def send(self, message: OutboxRow) -> SendResult:
        if message.extra.get("ballot"):  # sealed once sent: the phone keeps it on screen
            self.screen.keep("out", message.id, message.text)
        return SendResult.sent(f"sim-{message.id}", count_segments(message.text).segments)


def screen_of(transport: object) -> Screen:
    """The simulated phones' screen of an app's simulator transport (an empty one for
    another transport: nothing was kept)."""
    return transport.screen if isinstance(transport, SimulatorTransport) else Screen()
