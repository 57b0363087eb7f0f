"""The observe tests' world: the real app with Twilio, the Android gateway and the
scheduler, its web server on loopback, the providers' fakes on loopback too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.clock import ManualClock
from scheduler.service import SchedulerService
from tests.channels.conftest import SmsWorld, fake_gateway, fake_twilio, sms_settings, sms_world
from tests.conftest import ZAG_BAG_2, make_official
from tests.fakes.android_gateway import FakeGateway
from tests.fakes.twilio_api import FakeTwilio

GOV_1 = "+97699000000"  # sms_world makes them governor of bag 1
GOV_2 = "+97699000002"

__all__ = ["fake_gateway", "fake_twilio"]


@pytest.fixture
async def world(
    tmp_path: Path, clock: ManualClock, fake_twilio: FakeTwilio, fake_gateway: FakeGateway
) -> AsyncIterator[SmsWorld]:
    """Both SMS providers and the scheduler (an hour between its own sweeps: the tests
    sweep when they mean to, with :func:`sweep`), a governor in each of two bags."""
    settings = sms_settings(
        tmp_path,
        fake_twilio,
        fake_gateway,
        scheduler_enabled=True,
        sweep_interval_seconds=3600,
        backup_interval_hours=0,
        sms_timeout_seconds=10.0,  # the fakes never hang here: no timeout on a busy machine
    )
    async with sms_world(settings, clock) as w:
        await make_official(w.sanal, GOV_2, "governor", ZAG_BAG_2)
        yield w


def scheduler(world: SmsWorld) -> SchedulerService:
    [service] = [s for s in world.sanal.services if isinstance(s, SchedulerService)]
    return service
