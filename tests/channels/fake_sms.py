"""A second SMS provider that exists only in the tests ("fakesms"): this module, and the
one line of wiring the test adds (bot.wiring.SMS_PROVIDERS), as a real one would."""

from __future__ import annotations

from aiohttp import web

from bot.channels.base import ChannelHost, SendResult
from bot.core import channels
from bot.core.channels import PHONE, Blocked, Capabilities, Kind
from bot.core.message import Inbound
from bot.core.settings import Settings
from bot.core.sms_segments import count_segments
from storage.outbox import OutboxRow

FAKESMS = channels.register(
    Capabilities(
        "fakesms",
        Kind.SMS,
        label="SMS",
        identity=PHONE,
        blocked=Blocked.OPTED_OUT,
        priced_per_segment=True,
    )
)
WIRING = "tests.channels.fake_sms:FakeSmsChannel"


class FakeSmsTransport:
    name = FAKESMS.value
    rate_per_second = 1000.0
    per_address_per_second: float | None = None

    def __init__(self) -> None:
        self.sent: list[OutboxRow] = []
        self.stopped: set[str] = set()  # numbers that texted STOP to the provider

    async def send(self, message: OutboxRow) -> SendResult:
        if message.address in self.stopped:
            return SendResult.opted_out("the number opted out at the provider")
        self.sent.append(message)
        return SendResult.sent(f"fake-{message.id}", count_segments(message.text).segments)


class FakeSmsChannel:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._transport = FakeSmsTransport()
        self._host: ChannelHost | None = None
        self._received = 0

    def transport(self) -> FakeSmsTransport:
        return self._transport

    def routes(self, app: ChannelHost) -> list[web.RouteDef]:
        self._host = app
        return []

    async def start(self, app: ChannelHost) -> None:
        self._host = app

    async def stop(self) -> None:
        return None

    async def receive(self, phone: str, text: str) -> int:
        assert self._host is not None, "start() first"
        self._received += 1
        msg = Inbound(
            channel=FAKESMS,
            external_id=f"fake-{self._received}",
            address=FAKESMS.caps.address_of(phone),
            text=text,
            received_at=self._host.clock.now(),
            phone=phone,
        )
        inbox_id, _ = await self._host.intake.receive(msg)
        return inbox_id

    def texts_to(self, phone: str) -> list[str]:
        address = FAKESMS.caps.address_of(phone)
        return [m.text for m in self._transport.sent if m.address == address]
