"""The SMS world of tests/channels (the app with Twilio and the Android gateway, both
faked on loopback), with a shorter provider timeout so that injected timeouts stay cheap."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.clock import ManualClock
from tests.channels.conftest import SmsWorld, fake_gateway, fake_twilio, sms_settings, sms_world
from tests.fakes.android_gateway import FakeGateway
from tests.fakes.twilio_api import FakeTwilio

TIMEOUT = 0.2  # seconds; the fakes' "hang" and "drop" answer after a second


@pytest.fixture
async def faulty_world(
    tmp_path: Path, clock: ManualClock, fake_twilio: FakeTwilio, fake_gateway: FakeGateway
) -> AsyncIterator[SmsWorld]:
    settings = sms_settings(tmp_path, fake_twilio, fake_gateway, sms_timeout_seconds=TIMEOUT)
    async with sms_world(settings, clock) as world:
        yield world


__all__ = ["fake_gateway", "fake_twilio", "faulty_world"]
