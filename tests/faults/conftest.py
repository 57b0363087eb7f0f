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

# Seconds. The fakes' "hang" and "drop" answer after 1.5 s; an answer given at once must
# come well within it on a loaded machine (at 0.2 s a 429 was taken for a timeout there).
TIMEOUT = 0.6


@pytest.fixture
async def faulty_world(
    tmp_path: Path, clock: ManualClock, fake_twilio: FakeTwilio, fake_gateway: FakeGateway
) -> AsyncIterator[SmsWorld]:
    settings = sms_settings(tmp_path, fake_twilio, fake_gateway, sms_timeout_seconds=TIMEOUT)
    async with sms_world(settings, clock) as world:
        yield world


__all__ = ["fake_gateway", "fake_twilio", "faulty_world"]
