"""The audit log names the channel of every action (issue 11): what was done through the
training simulator can never pass for what a person sent by SMS or Telegram, and the
operator's and the scheduler's own actions say so too."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from click.testing import CliRunner

from bot.app import Sanal
from bot.cli import main
from bot.core.clock import ManualClock
from storage import audit
from storage.db import Database
from tests.channels.conftest import fake_twilio
from tests.conftest import GOVERNOR, ZAG_BAG_1, make_official
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.scheduler.world import open_voting_round
from tests.telegram.conftest import TgWorld, fake_tg, running_world, tg_settings, with_twilio

__all__ = ["fake_tg", "fake_twilio"]  # fixtures, imported for pytest

TOKEN = "training-token-0123456789abcdef"
ADD_CHAIR = ["official", "add", "--phone", "99001177", "--role", "chair", "--unit", "644651"]
NOW = datetime(2027, 3, 2, 2, 0, tzinfo=UTC)


async def channels_of(sanal: Sanal, action: str) -> list[str | None]:
    rows = await sanal.db.fetchall(
        "SELECT channel FROM audit_log WHERE action = ? ORDER BY id", (action,)
    )
    return [r["channel"] for r in rows]


async def test_the_column_exists_and_the_log_stays_append_only(tmp_path: Path) -> None:
    async with Database(tmp_path / "x.db") as db:
        columns = [r["name"] for r in await db.fetchall("PRAGMA table_info(audit_log)")]
        assert "channel" in columns
        async with db.write() as conn:
            await audit.record(conn, now=NOW, actor="cli", action="x", channel="cli")
        with pytest.raises(ValueError, match="audit channel"):
            async with db.write() as conn:
                await audit.record(conn, now=NOW, actor="cli", action="x", channel="web")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            async with db.write() as conn:
                await conn.execute("UPDATE audit_log SET channel = 'twilio'")
        assert [r["channel"] for r in await db.fetchall("SELECT channel FROM audit_log")] == ["cli"]


async def test_simulator_scheduler_and_cli_actions_name_their_channel(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    # In training: the governor opens the round in the simulator, the scheduler starts
    # the vote, the operator adds an official from the command line.
    await open_voting_round(sanal, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR)
    assert await channels_of(sanal, "round.open") == ["sim"]
    assert set(await channels_of(sanal, "proposal.accept")) == {"sim"}
    assert await channels_of(sanal, "round.voting") == ["scheduler"]
    result = await asyncio.to_thread(
        CliRunner().invoke,
        main,
        [*ADD_CHAIR, "--db", str(sanal.settings.db)],
        env={"SANAL_BALLOT_KEY": "test-ballot-key"},
    )
    assert result.exit_code == 0, result.output
    assert await channels_of(sanal, "official.add") == ["cli"]


@pytest.fixture
async def world(
    tmp_path: Path, clock: ManualClock, fake_tg: FakeTelegram, fake_twilio: FakeTwilio
) -> AsyncIterator[TgWorld]:
    """Telegram and Twilio on, and a training token: all three channels in one server."""
    settings = tg_settings(tmp_path, fake_tg, **with_twilio(fake_twilio), simulator_token=TOKEN)
    async with running_world(settings, clock, fake_tg, fake_twilio) as world:
        yield world


async def test_telegram_sms_and_simulator_actions_name_their_channel(world: TgWorld) -> None:
    sanal = world.sanal
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov = world.user(900)
    await gov.link(GOVERNOR)
    assert "эхэллээ" in await gov.say("/open")
    assert "Баянбулаг" in await world.sms("+97699112233").say(f"НЭГДЭХ {ZAG_BAG_1}")
    resp = await world.client.post(
        "/api/sim/messages",
        json={"phone": "+97688001122", "text": f"НЭГДЭХ {ZAG_BAG_1}"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert resp.status == 200, await resp.text()
    assert await channels_of(sanal, "round.open") == ["telegram"]
    rows = await sanal.db.fetchall(
        "SELECT actor, channel FROM audit_log WHERE action = 'person.join' ORDER BY id"
    )
    assert [(r["actor"], r["channel"]) for r in rows] == [
        ("tel:+97699112233", "twilio"),
        ("tel:+97688001122", "sim"),
    ]
    # Every row written since the migration names its channel.
    assert await sanal.db.fetchall("SELECT id FROM audit_log WHERE channel IS NULL") == []
