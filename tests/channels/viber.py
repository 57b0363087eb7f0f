"""A chat channel that exists only in the tests ("viber-test"): all of it is this module.

It declares its capabilities and its identity kind through the registry the shipped
channels use (bot.core.channels), plugs into the app as a ChannelPlugin like Telegram
does, and talks to the app only through the ChannelHost it is given. Nothing in the core
names it: that is what tests/channels/test_new_channels.py checks.
"""

from __future__ import annotations

from aiohttp import web

from bot.channels.base import ChannelHost, SendResult
from bot.core import channels
from bot.core.channels import Blocked, Capabilities, Kind
from bot.core.message import Inbound
from storage.outbox import OutboxRow

VIBER = channels.register(
    Capabilities(
        "viber-test",
        Kind.CHAT,
        label="Viber",
        identity="viber-test",
        blocked=Blocked.UNREACHABLE,
        max_text=7000,
    )
)


class ViberTransport:
    name = VIBER.value
    rate_per_second = 1000.0
    per_address_per_second: float | None = None

    def __init__(self) -> None:
        self.sent: list[OutboxRow] = []
        self.blocked: set[str] = set()

    async def send(self, message: OutboxRow) -> SendResult:
        if message.address in self.blocked:
            return SendResult.opted_out("blocked by the user")
        self.sent.append(message)
        return SendResult.sent(f"viber-{message.id}")


class ViberChannel:
    """The plugin: a transport, no web routes (the test hands messages in directly)."""

    def __init__(self) -> None:
        self._transport = ViberTransport()
        self._host: ChannelHost | None = None
        self._updates = 0

    def transport(self) -> ViberTransport:
        return self._transport

    def routes(self, app: ChannelHost) -> list[web.RouteDef]:
        self._host = app
        return []

    async def start(self, app: ChannelHost) -> None:
        self._host = app

    async def stop(self) -> None:
        return None

    async def receive(self, user: str, text: str) -> int:
        """A message from a Viber user, as the provider's webhook would bring it."""
        assert self._host is not None, "start() first"
        self._updates += 1
        msg = Inbound(
            channel=VIBER,
            external_id=f"viber-{self._updates}",
            address=VIBER.caps.address_of(user),
            text=text,
            received_at=self._host.clock.now(),
        )
        inbox_id, _ = await self._host.intake.receive(msg)
        return inbox_id

    def texts_to(self, user: str) -> list[str]:
        address = VIBER.caps.address_of(user)
        return [m.text for m in self._transport.sent if m.address == address]
