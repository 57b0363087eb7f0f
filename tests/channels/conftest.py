"""SMS provider fixtures: the real app with Twilio and the Android gateway switched on,
talking to fakes of both providers' HTTP APIs on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

from bot.app import Sanal
from bot.channels.android_sms import signature
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.web import build_web_app
from bot.wiring import build
from storage import outbox
from storage.db import fetchall
from tests.conftest import ZAG_BAG_1, make_official, make_settings
from tests.fakes.android_gateway import FakeGateway
from tests.fakes.twilio_api import FakeTwilio

PUBLIC = "https://sanal.example.mn"
ACCOUNT = "AC" + "0" * 32
TOKEN = "twilio-test-auth-token"
SIGNING_KEY = "android-signing-key"


@pytest.fixture
async def fake_twilio(clock: ManualClock) -> AsyncIterator[FakeTwilio]:
    fake = await FakeTwilio(ACCOUNT, TOKEN, now=clock.now, hang_seconds=1.5).start()
    yield fake
    await fake.close()


@pytest.fixture
async def fake_gateway() -> AsyncIterator[FakeGateway]:
    fake = await FakeGateway("sanal", "gw-password", hang_seconds=1.5).start()
    yield fake
    await fake.close()


def sms_settings(
    tmp_path: Path, fake_twilio: FakeTwilio, fake_gateway: FakeGateway, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "sms_provider": "twilio,android",
        "public_url": PUBLIC,
        "twilio_account_sid": ACCOUNT,
        "twilio_auth_token": TOKEN,
        "twilio_from_number": "+15005550006",
        "twilio_api_url": fake_twilio.url,
        "twilio_rate_per_second": 1000.0,
        "android_gateway_url": fake_gateway.url,
        "android_gateway_user": "sanal",
        "android_gateway_password": "gw-password",
        "android_signing_key": SIGNING_KEY,
        "android_rate_per_second": 1000.0,
        # The scheduler's own sweeps (real time) would race the tests' manual clock.
        "scheduler_enabled": False,
        "sms_timeout_seconds": 0.6,  # under the fakes' 1.5 s hang; over a busy CI's pauses
    }
    values.update(overrides)
    return make_settings(tmp_path, **values)


class SmsWorld:
    """The app with both SMS providers, and phones that text it through either."""

    def __init__(self, sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock) -> None:
        self.sanal = sanal
        self.client = client
        self.clock = clock
        self.validator = RequestValidator(TOKEN)
        self._sid = 0

    def next_sid(self) -> str:
        self._sid += 1
        return f"SM{self._sid:032x}"

    async def twilio_post(
        self, params: dict[str, str], path: str = "/sms/twilio", sign: str | None = "ok"
    ) -> Any:
        headers = {}
        if sign == "ok":
            headers["X-Twilio-Signature"] = self.validator.compute_signature(PUBLIC + path, params)
        elif sign is not None:
            headers["X-Twilio-Signature"] = sign
        return await self.client.post(path, data=params, headers=headers)

    async def text(self, phone: str, body: str, sid: str | None = None) -> str:
        """A herder's SMS through Twilio; returns the MessageSid."""
        sid = sid or self.next_sid()
        params = {"MessageSid": sid, "From": phone, "To": "+15005550006", "Body": body}
        resp = await self.twilio_post(params)
        assert resp.status == 200, await resp.text()
        assert "<Response></Response>" in await resp.text()
        return sid

    async def android_post(
        self, event: dict[str, Any], *, key: str | None = SIGNING_KEY, stamp: int | None = None
    ) -> Any:
        body = json.dumps(event, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if key is not None:
            ts = str(stamp if stamp is not None else int(self.clock.now().timestamp()))
            headers["X-Timestamp"] = ts
            headers["X-Signature"] = signature(key, body, ts)
        return await self.client.post("/sms/android", data=body, headers=headers)

    async def android_text(self, phone: str, body: str, received_at: str | None = None) -> Any:
        event = {
            "deviceId": "ffffffffceb0b1db0000018e937c815b",
            "event": "sms:received",
            "id": f"ev{time.monotonic_ns()}",
            "webhookId": "wh1",
            "payload": {
                "messageId": "not-unique",
                "message": body,
                "phoneNumber": phone,
                "simNumber": 1,
                "receivedAt": received_at or self.clock.now().isoformat(),
            },
        }
        return await self.android_post(event)

    async def handle(self) -> None:
        """Handle what came in and send what is due, as the background workers would."""
        await self.sanal.intake.drain()
        await self.sanal.drain_outbox()

    async def outbox_rows(self, **where: Any) -> list[dict[str, Any]]:
        sql = "SELECT * FROM outbox"
        if where:
            sql += " WHERE " + " AND ".join(f"{k} = ?" for k in where)
        rows = await fetchall(self.sanal.db.reader, sql + " ORDER BY id", tuple(where.values()))
        return [dict(r) for r in rows]

    async def inbox_count(self) -> int:
        rows = await fetchall(self.sanal.db.reader, "SELECT COUNT(*) AS n FROM inbox")
        return int(rows[0]["n"])


@asynccontextmanager
async def sms_world(settings: Settings, clock: ManualClock) -> AsyncIterator[SmsWorld]:
    """The app built from these settings, its channels started, a governor in bag 1."""
    sanal = build(settings, clock)
    await sanal.open()
    for plugin in sanal.plugins:
        await plugin.start(sanal)
    for service in sanal.services:  # the scheduler, when the settings enable it
        await service.start(sanal)
    await make_official(sanal, "+97699000000", "governor", ZAG_BAG_1)
    async with TestClient(TestServer(build_web_app(sanal))) as client:
        yield SmsWorld(sanal, client, clock)
    await sanal.stop()


@pytest.fixture
async def world(
    tmp_path: Path, clock: ManualClock, fake_twilio: FakeTwilio, fake_gateway: FakeGateway
) -> AsyncIterator[SmsWorld]:
    async with sms_world(sms_settings(tmp_path, fake_twilio, fake_gateway), clock) as w:
        yield w


__all__ = ["PUBLIC", "SmsWorld", "outbox", "sms_settings", "sms_world"]
