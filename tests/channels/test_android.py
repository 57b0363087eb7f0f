"""The Android SMS gateway: signed webhooks in, the gateway's REST API (a fake on loopback)
out, and both SMS providers at once, each person answered through the one they used."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.channels.android_sms import AndroidConfigError
from bot.wiring import build
from storage import people
from tests.channels.conftest import SIGNING_KEY, SmsWorld
from tests.conftest import ZAG_BAG_1, make_settings
from tests.fakes.android_gateway import FakeGateway
from tests.fakes.twilio_api import FakeTwilio

HERDER = "+97688112233"


async def test_a_received_sms_is_answered_through_the_gateway(
    world: SmsWorld, fake_gateway: FakeGateway
) -> None:
    resp = await world.android_text("88112233", f"НЭГДЭХ {ZAG_BAG_1}")
    assert resp.status == 204
    await world.handle()
    [sent] = fake_gateway.sends()
    assert sent["phoneNumbers"] == [HERDER]
    assert "Баянбулаг" in sent["textMessage"]["text"]
    [row] = await world.outbox_rows()
    assert row["channel"] == "android"
    assert row["status"] == "sent"
    assert row["provider_id"] == sent["id"] == f"sanal-{row['id']}"
    person = await people.by_phone(world.sanal.db.reader, HERDER)
    assert person is not None
    assert person.bag_code == ZAG_BAG_1


@pytest.mark.parametrize("forgery", ["missing", "wrong-key", "stale", "future", "tampered"])
async def test_unsigned_forged_or_replayed_webhooks_are_refused(
    world: SmsWorld, forgery: str
) -> None:
    event = {"event": "sms:received", "payload": {"message": "СОНГО 1", "phoneNumber": HERDER}}
    now = int(world.clock.now().timestamp())
    if forgery == "missing":
        resp = await world.android_post(event, key=None)
    elif forgery == "wrong-key":
        resp = await world.android_post(event, key="not-" + SIGNING_KEY)
    elif forgery == "stale":
        resp = await world.android_post(event, stamp=now - 3600)
    elif forgery == "future":
        resp = await world.android_post(event, stamp=now + 3600)
    else:
        import json

        from bot.channels.android_sms import signature

        body = json.dumps(event).encode()
        stamp = str(now)
        headers = {"X-Timestamp": stamp, "X-Signature": signature(SIGNING_KEY, body, stamp)}
        resp = await world.client.post(
            "/sms/android", data=body.replace(b"1", b"2"), headers=headers
        )
    assert resp.status == 403
    assert await world.inbox_count() == 0


async def test_gateway_retries_and_repeats_are_one_message(world: SmsWorld) -> None:
    stamp = world.clock.now().isoformat()
    for _ in range(3):  # the app retries the same webhook
        await world.android_text(HERDER, f"НЭГДЭХ {ZAG_BAG_1}", received_at=stamp)
    # The same text again a few seconds later (the phone's content-based id is the same).
    world.clock.advance(timedelta(seconds=20))
    await world.android_text(HERDER, f"НЭГДЭХ {ZAG_BAG_1}")
    assert await world.inbox_count() == 1
    # Outside the window it is a new message.
    world.clock.advance(timedelta(seconds=world.sanal.settings.android_dedupe_seconds + 1))
    await world.android_text(HERDER, f"НЭГДЭХ {ZAG_BAG_1}")
    assert await world.inbox_count() == 2


async def test_malformed_webhooks_get_a_clear_error_and_store_nothing(world: SmsWorld) -> None:
    bad_events: list[object] = [
        [],
        {"event": "sms:received"},
        {"event": "sms:received", "payload": {"message": 5, "phoneNumber": HERDER}},
        {"event": "sms:received", "payload": "СОНГО 1"},
    ]
    for event in bad_events:
        resp = await world.android_post(event)  # type: ignore[arg-type]
        assert resp.status == 400
        assert "Traceback" not in await resp.text()
    # A signed body that is not JSON at all.
    resp = await world.client.post("/sms/android", data=b"\xff\xfe not json")
    assert resp.status == 403
    ping = {"event": "system:ping", "payload": {"health": "pass"}}
    assert (await world.android_post(ping)).status == 204
    # A service message from a short code: nobody to answer.
    short = {"event": "sms:received", "payload": {"message": "Balance 0", "phoneNumber": "1234"}}
    assert (await world.android_post(short)).status == 204
    assert await world.inbox_count() == 0


async def test_delivery_events_update_the_outbox(
    world: SmsWorld, fake_gateway: FakeGateway
) -> None:
    await world.android_text(HERDER, "ТУСЛАМЖ")
    await world.android_text("+97688112244", "ТУСЛАМЖ")
    await world.handle()
    ok, bad = await world.outbox_rows()
    for name, row in (("sms:sent", ok), ("sms:delivered", ok), ("sms:sent", ok)):
        event = {"event": name, "payload": {"messageId": row["provider_id"]}}
        assert (await world.android_post(event)).status == 204
    failed = {
        "event": "sms:failed",
        "payload": {"messageId": bad["provider_id"], "reason": "RESULT_ERROR_NO_SERVICE"},
    }
    assert (await world.android_post(failed)).status == 204
    ok, bad = await world.outbox_rows()
    assert ok["status"] == "delivered"
    assert bad["status"] == "failed"
    assert "NO_SERVICE" in bad["last_error"]


@pytest.mark.parametrize("answer", ["500", "429", "drop"])
async def test_gateway_errors_are_retried_until_sent_once(
    world: SmsWorld, fake_gateway: FakeGateway, answer: str
) -> None:
    await world.android_text(HERDER, "ТУСЛАМЖ")
    fake_gateway.script = [answer]
    await world.handle()
    [row] = await world.outbox_rows()
    assert row["status"] == "queued"
    assert row["error_count"] == 1
    world.clock.advance(timedelta(seconds=6))
    await world.sanal.drain_outbox()
    [row] = await world.outbox_rows()
    assert row["status"] == "sent"
    assert len(fake_gateway.messages) == 1


async def test_a_timeout_after_the_gateway_accepted_is_not_sent_again(
    world: SmsWorld, fake_gateway: FakeGateway
) -> None:
    await world.android_text(HERDER, "ТУСЛАМЖ")
    fake_gateway.script = ["hang"]
    await world.handle()
    [row] = await world.outbox_rows()
    assert row["status"] == "queued"
    assert "timeout" in row["last_error"]
    world.clock.advance(timedelta(seconds=6))
    await world.sanal.drain_outbox()
    [row] = await world.outbox_rows()
    assert row["status"] == "sent"
    assert len(fake_gateway.sends()) == 1  # asked, found, not posted again
    assert ("GET", row["provider_id"]) in fake_gateway.requests


async def test_both_providers_at_once_answer_each_person_where_they_wrote(
    world: SmsWorld, fake_gateway: FakeGateway, fake_twilio: FakeTwilio
) -> None:
    await world.android_text(HERDER, f"НЭГДЭХ {ZAG_BAG_1}")
    await world.text("+97699112233", f"НЭГДЭХ {ZAG_BAG_1}")
    await world.handle()
    assert [s["phoneNumbers"] for s in fake_gateway.sends()] == [[HERDER]]
    assert [c["To"] for c in fake_twilio.creates()] == ["+97699112233"]


def test_the_gateway_will_not_start_unverified(tmp_path: Path) -> None:
    base = {
        "sms_provider": "android",
        "android_gateway_url": "http://192.168.1.20:8080",
        "android_gateway_user": "sms",
        "android_gateway_password": "pw",
    }
    with pytest.raises(AndroidConfigError, match="SIGNING_KEY"):
        build(make_settings(tmp_path, **base))
    with pytest.raises(AndroidConfigError, match="PASSWORD"):
        build(make_settings(tmp_path, **{**base, "android_gateway_password": None}))
    assert build(make_settings(tmp_path, **base, android_allow_unsigned=True)).plugins
