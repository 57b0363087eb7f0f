"""Telegram fixtures: the real app with the Telegram channel on, its real
python-telegram-bot client talking to a fake Bot API server on loopback, a real SQLite
file, and Telegram users who type, share contacts and press buttons.

The world's SMS go through Twilio (its real client, a fake API on loopback, signed
webhooks), as on a real server: the simulator is a training tool and is not mounted
beside real channels (issue 11)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

from bot.app import Sanal
from bot.channels.telegram import TelegramChannel
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.web import build_web_app
from bot.wiring import build
from storage.db import fetchall
from tests.channels.conftest import ACCOUNT
from tests.channels.conftest import TOKEN as TWILIO_TOKEN
from tests.channels.conftest import fake_twilio as fake_twilio
from tests.conftest import make_settings
from tests.fakes.telegram_api import FakeTelegram, SentMessage
from tests.fakes.twilio_api import FakeTwilio

TOKEN = "7000000001:AAHsanal-test-token_0123456789abcdefXYZ"
TWILIO_FROM = "+15005550006"
PUBLIC = "https://sanal.example.mn"
# A person takes a few seconds per message: replies are never held back by the flood
# control (more than 10 messages a minute).
TYPING = timedelta(seconds=7)


def tg_settings(tmp_path: Path, fake: FakeTelegram, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "telegram_api_url": fake.url,
        # Pacing is the sender's (tested there); here it would only make tests slow.
        "telegram_rate_per_second": 1000.0,
        "telegram_per_chat_per_second": 1000.0,
        "telegram_poll_timeout": 0,
        "telegram_timeout_seconds": 5.0,
        "scheduler_enabled": False,
    }
    values.update(overrides)
    return make_settings(tmp_path, **values)


def telegram_plugin(sanal: Sanal) -> TelegramChannel:
    [plugin] = [p for p in sanal.plugins if isinstance(p, TelegramChannel)]
    return plugin


@pytest.fixture
async def fake_tg() -> AsyncIterator[FakeTelegram]:
    fake = await FakeTelegram(TOKEN).start()
    yield fake
    await fake.close()


class TgWorld:
    """The app with Telegram on; steps run the poller, the router and the senders once."""

    def __init__(
        self,
        sanal: Sanal,
        fake: FakeTelegram,
        client: TestClient[Any, Any],
        clock: ManualClock,
        twilio: FakeTwilio,
    ) -> None:
        self.sanal = sanal
        self.fake = fake
        self.client = client
        self.clock = clock
        self.twilio = twilio
        self.plugin = telegram_plugin(sanal)

    async def step(self) -> None:
        """What the background tasks do: fetch updates, handle them, send the replies."""
        while await self.plugin.poll_once():
            pass
        await self.sanal.intake.drain()
        await self.sanal.drain_outbox()

    def user(self, user_id: int, lang: str = "mn") -> TgUser:
        return TgUser(self, user_id, lang)

    def sms(self, phone: str) -> SmsPhone:
        """A phone that texts the app through Twilio."""
        return SmsPhone(self, phone)

    async def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in await fetchall(self.sanal.db.reader, sql, params)]


# A person with their Telegram account, as the tests ask for one (storage.identities).
TG_PERSON = (
    "SELECT p.id, p.phone, p.name, p.bag_code, p.lang, p.status, p.opted_out, p.channel, "
    "CAST(i.address AS INTEGER) AS telegram_id, i.blocked AS telegram_blocked "
    "FROM people p LEFT JOIN identities i ON i.person_id = p.id AND i.kind = 'telegram'"
)


class SmsPhone:
    """A herder's phone: each SMS is a signed Twilio webhook; returns the reply Twilio
    was asked to send to this number."""

    def __init__(self, world: TgWorld, phone: str) -> None:
        self.world = world
        self.phone = phone
        self._validator = RequestValidator(TWILIO_TOKEN)

    async def say(self, text: str) -> str:
        world = self.world
        world.clock.advance(TYPING)
        before = len(world.twilio.creates())
        sid = f"SM{uuid.uuid4().hex}"
        params = {"MessageSid": sid, "From": self.phone, "To": TWILIO_FROM, "Body": text}
        signature = self._validator.compute_signature(PUBLIC + "/sms/twilio", params)
        resp = await world.client.post(
            "/sms/twilio", data=params, headers={"X-Twilio-Signature": signature}
        )
        assert resp.status == 200, await resp.text()
        await world.step()
        mine = [c["Body"] for c in world.twilio.creates()[before:] if c["To"] == self.phone]
        assert len(mine) <= 1, mine
        return mine[0] if mine else ""


class TgUser:
    """A Telegram account: each action is one update, and returns what the bot said."""

    def __init__(self, world: TgWorld, user_id: int, lang: str) -> None:
        self.world = world
        self.id = user_id
        self.lang = lang

    @property
    def fake(self) -> FakeTelegram:
        return self.world.fake

    async def _send(self, update: dict[str, Any]) -> str:
        self.world.clock.advance(TYPING)
        before = len(self.fake.calls)
        self.fake.queue(update)
        await self.world.step()
        said = [
            str(c.params.get("text", ""))
            for c in self.fake.calls[before:]
            if c.method in ("sendMessage", "editMessageText") and c.params.get("chat_id") == self.id
        ]
        return "\n".join(said)

    async def say(self, text: str) -> str:
        return await self._send(self.fake.message_update(self.id, text, lang=self.lang))

    async def share_contact(self, phone: str, owner_id: int | None = None) -> str:
        owner = self.id if owner_id is None else owner_id
        return await self._send(self.fake.contact_update(self.id, phone, owner_id=owner))

    async def link(self, phone: str) -> str:
        assert "хуваалц" in await self.say("/start") or self.lang != "mn"
        return await self.share_contact(phone)

    def keyboard(self) -> SentMessage:
        """The last message with buttons in this chat."""
        with_buttons = [m for m in self.fake.chat(self.id) if m.buttons()]
        assert with_buttons, "no inline keyboard in this chat"
        return with_buttons[-1]

    def buttons(self) -> list[tuple[str, str]]:
        return self.keyboard().buttons()

    async def press(self, label: str) -> str:
        """Press the button whose label contains ``label`` (exactly one must)."""
        message = self.keyboard()
        found = [(t, d) for t, d in message.buttons() if label in t]
        assert len(found) == 1, (label, message.buttons())
        return await self.press_data(found[0][1], message)

    async def press_data(self, data: str, message: SentMessage | None = None) -> str:
        if message is None:  # a forged press may come from any message of the chat
            keyboards = [m for m in self.fake.chat(self.id) if m.buttons()]
            message = keyboards[-1] if keyboards else self.fake.last(self.id)
        update = self.fake.callback_update(self.id, data, message, lang=self.lang)
        return await self._send(update)


def with_twilio(fake: FakeTwilio) -> dict[str, Any]:
    """Settings that add Twilio as the SMS provider, beside Telegram."""
    return {
        "sms_provider": "twilio",
        "public_url": PUBLIC,
        "telegram_mode": "polling",  # the tests drive the poller; Twilio calls us
        "twilio_account_sid": ACCOUNT,
        "twilio_auth_token": TWILIO_TOKEN,
        "twilio_from_number": TWILIO_FROM,
        "twilio_api_url": fake.url,
        "twilio_rate_per_second": 1000.0,
        "sms_timeout_seconds": 0.6,
    }


@asynccontextmanager
async def running_world(
    settings: Settings, clock: ManualClock, fake_tg: FakeTelegram, fake_twilio: FakeTwilio
) -> AsyncIterator[TgWorld]:
    """The app on these settings, its plugins started, Telegram polled by the test."""
    sanal = build(settings, clock)
    telegram_plugin(sanal).background = False
    await sanal.open()
    for plugin in sanal.plugins:
        await plugin.start(sanal)
    async with TestClient(TestServer(build_web_app(sanal))) as client:
        yield TgWorld(sanal, fake_tg, client, clock, fake_twilio)
    await sanal.stop()


@pytest.fixture
async def world(
    tmp_path: Path, clock: ManualClock, fake_tg: FakeTelegram, fake_twilio: FakeTwilio
) -> AsyncIterator[TgWorld]:
    settings = tg_settings(tmp_path, fake_tg, **with_twilio(fake_twilio))
    async with running_world(settings, clock, fake_tg, fake_twilio) as world:
        yield world
