"""Resending through Twilio: ask "do you have it already?" only when Twilio may have it.

A 429 or a refused connection means Twilio certainly did not take the message: it is sent
again without asking (asking a throttled API only adds a call that fails too, and used to
keep the message waiting for three hours). A timeout means it may have: Twilio is asked
first. When asking keeps failing, the message is settled within minutes, and both the log
and sender_health() say so.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.sender import CHECK_BACKOFF
from bot.sender_health import sender_health
from tests.channels.conftest import SmsWorld
from tests.fakes.twilio_api import FakeTwilio

HERDER = "+97688112233"


async def _one_reply(world: SmsWorld) -> None:
    await world.text(HERDER, "ТУСЛАМЖ")
    await world.handle()


async def test_after_a_429_the_message_is_sent_again_without_a_check(
    faulty_world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.script = ["429"]
    await _one_reply(faulty_world)
    [row] = await faulty_world.outbox_rows()
    assert row["status"] == "queued"
    assert row["in_doubt"] == 0
    faulty_world.clock.advance(timedelta(seconds=6))
    await faulty_world.sanal.drain_outbox()
    [row] = await faulty_world.outbox_rows()
    assert row["status"] == "sent"
    assert fake_twilio.methods() == ["POST", "POST"]  # no GET: Twilio was not asked
    assert len(fake_twilio.messages) == 1


async def test_after_a_refused_connection_the_message_is_sent_again_without_a_check(
    faulty_world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    await fake_twilio.go_down()
    await _one_reply(faulty_world)
    [row] = await faulty_world.outbox_rows()
    assert row["status"] == "queued"
    assert row["in_doubt"] == 0
    assert "ClientConnectorError" in row["last_error"]
    await fake_twilio.come_back()
    faulty_world.clock.advance(timedelta(seconds=6))
    await faulty_world.sanal.drain_outbox()
    [row] = await faulty_world.outbox_rows()
    assert row["status"] == "sent"
    assert fake_twilio.methods() == ["POST"]  # the refused one never arrived; no GET
    assert row["provider_id"] == fake_twilio.messages[0].sid


@pytest.mark.parametrize("accepted", [True, False])
async def test_after_a_timeout_twilio_is_asked_first(
    faulty_world: SmsWorld, fake_twilio: FakeTwilio, accepted: bool
) -> None:
    fake_twilio.script = ["hang" if accepted else "drop"]
    await _one_reply(faulty_world)
    [row] = await faulty_world.outbox_rows()
    assert row["status"] == "queued"
    assert row["in_doubt"] == 1
    faulty_world.clock.advance(timedelta(seconds=6))
    await faulty_world.sanal.drain_outbox()
    [row] = await faulty_world.outbox_rows()
    assert row["status"] == "sent"
    assert row["provider_id"] == fake_twilio.messages[0].sid
    # Asked; sent again only when Twilio did not have it.
    assert fake_twilio.methods() == (["POST", "GET"] if accepted else ["POST", "GET", "POST"])
    assert len(fake_twilio.messages) == 1


async def test_a_check_that_keeps_failing_settles_the_message_within_minutes(
    faulty_world: SmsWorld, fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    """Twilio took the message but the answer timed out, and its list API answers 500 from
    then on: the message is not sent blind (it would arrive twice), not retried for three
    hours either: after len(CHECK_BACKOFF) + 1 failed checks it is failed, saying why."""
    world = faulty_world
    fake_twilio.script = ["hang"]
    fake_twilio.list_default = "500"
    caplog.set_level(logging.WARNING)
    await _one_reply(world)
    start = world.clock.now()
    checks = 0
    while (await world.outbox_rows())[0]["status"] == "queued":
        world.clock.advance(timedelta(seconds=1))
        checks += bool(await world.sanal.drain_outbox())
        if checks == 1:
            health = await sender_health(world.sanal.db)
            assert not health.ok
            assert health.checks_failing == 1
            assert "cannot be asked" in health.detail
            resp = await world.client.get("/healthz")  # the operator's monitor sees it
            body = await resp.json()
            assert resp.status == 503
            assert body["provider_checks_failing"] == 1
            assert any(p.startswith("provider checks failing") for p in body["problems"])
        assert world.clock.now() - start < timedelta(minutes=5), "not settled in minutes"
    [row] = await world.outbox_rows()
    assert row["status"] == "failed"
    assert row["last_error"].startswith("uncertain: may have been sent")
    assert "twilio check 500" in row["last_error"]
    assert checks == len(CHECK_BACKOFF) + 1
    assert fake_twilio.methods() == ["POST"] + ["GET"] * checks  # never sent blind
    assert any("could not ask twilio" in r.getMessage() for r in caplog.records)
    assert any("settled: uncertain" in r.getMessage() for r in caplog.records)
    health = await sender_health(world.sanal.db)
    assert health.ok
    assert health.checks_failing == 0
    assert health.settled_uncertain >= 1
    assert "settled as uncertain" in health.detail
    body = await (await world.client.get("/healthz")).json()
    assert body["provider_checks_failing"] == 0
    assert body["settled_uncertain"] >= 1


async def test_a_check_that_fails_then_works_resets_the_count(
    faulty_world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    world = faulty_world
    fake_twilio.script = ["drop", "drop"]  # timed out, not accepted: twice
    fake_twilio.list_script = ["500", "429"]
    await _one_reply(world)
    for seconds in (6, CHECK_BACKOFF[0], CHECK_BACKOFF[1]):
        world.clock.advance(timedelta(seconds=seconds))
        await world.sanal.drain_outbox()
    # The third check worked (Twilio had nothing) and the resend timed out again: the
    # count of failed checks starts again from zero.
    [row] = await world.outbox_rows()
    assert (row["status"], row["check_failures"], row["in_doubt"]) == ("queued", 0, 1)
    assert (await sender_health(world.sanal.db)).ok
    world.clock.advance(timedelta(minutes=3))
    await world.sanal.drain_outbox()
    [row] = await world.outbox_rows()
    assert row["status"] == "sent"
    assert fake_twilio.methods() == ["POST", "GET", "GET", "GET", "POST", "GET", "POST"]
    assert len(fake_twilio.messages) == 1
