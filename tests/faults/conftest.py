"""The SMS world of tests/channels (the app with Twilio and the Android gateway, both
faked on loopback), with a shorter provider timeout so that injected timeouts stay cheap."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import ManualClock
from bot.web import build_web_app
from bot.wiring import build
from tests.channels.conftest import SmsWorld, fake_gateway, fake_twilio, sms_settings
from tests.conftest import ZAG_BAG_1, make_official
from tests.fakes.android_gateway import FakeGateway
from tests.fakes.twilio_api import FakeTwilio

TIMEOUT = 0.2  # seconds; the fakes' "hang" and "drop" answer after a second


@pytest.fixture
async def faulty_world(
    tmp_path: Path, clock: ManualClock, fake_twilio: FakeTwilio, fake_gateway: FakeGateway
) -> AsyncIterator[SmsWorld]:
    settings = sms_settings(
        tmp_path, fake_twilio, fake_gateway, sms_timeout_seconds=TIMEOUT, scheduler_enabled=False
    )
    sanal = build(settings, clock)
    await sanal.open()
    for plugin in sanal.plugins:
        await plugin.start(sanal)
    await make_official(sanal, "+97699000000", "governor", ZAG_BAG_1)
    async with TestClient(TestServer(build_web_app(sanal))) as client:
        yield SmsWorld(sanal, client, clock)
    await sanal.stop()


__all__ = ["fake_gateway", "fake_twilio", "faulty_world"]
