"""The providers' APIs fail for a share of calls: every reply is delivered in the end, and
none twice where the provider had accepted it.

About a hundred people text the app through Twilio (or the Android gateway); the fake
provider answers a seeded random share of the send calls with 500, 429, "hang" (accepted,
then answered after our timeout) or "drop" (answered after our timeout, not accepted). The
clock is moved past each backoff and the outbox drained until nothing is left to send.

The same webhook delivered 2 and 5 times is one effect: for Twilio see
tests/channels/test_twilio.py::test_twilio_retries_of_one_message_are_one_effect; the
Android gateway's equivalent (one proposal, one reply, not just one inbox row) is here.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from datetime import timedelta

import pytest

from storage.db import fetchall
from tests.channels.conftest import SmsWorld
from tests.conftest import ZAG_BAG_1
from tests.fakes.android_gateway import FakeGateway
from tests.fakes.twilio_api import FakeTwilio

SOAK = os.environ.get("SANAL_SOAK") == "1"
FAULTS = ["500", "429", "hang", "drop"]


def script(rng: random.Random, calls: int, share: float) -> list[str]:
    return [rng.choice(FAULTS) if rng.random() < share else "ok" for _ in range(calls)]


async def drain_until_done(world: SmsWorld, rounds: int = 40) -> None:
    """Send, then move the clock past the longest backoff, until nothing is waiting."""
    await world.handle()
    for _ in range(rounds):
        waiting = await world.outbox_rows(status="queued") + await world.outbox_rows(
            status="sending"
        )
        if not waiting:
            return
        world.clock.advance(timedelta(minutes=11))
        while await world.sanal.drain_outbox():
            pass
    raise AssertionError("the outbox never emptied")


async def people_text(world: SmsWorld, channel: str, n: int) -> list[str]:
    phones = [f"+9769960{i:04d}" for i in range(n)]
    for i, phone in enumerate(phones):
        body = f"НЭГДЭХ {ZAG_BAG_1}" if i % 2 else "ТУСЛАМЖ"
        if channel == "twilio":
            await world.text(phone, body)
        else:
            assert (await world.android_text(phone, body)).status == 204
    return phones


async def check_twilio(world: SmsWorld, fake: FakeTwilio, phones: list[str]) -> None:
    rows = await world.outbox_rows()
    assert len(rows) == len(phones)
    assert Counter(r["status"] for r in rows) == {"sent": len(phones)}, [
        (r["id"], r["error_count"], r["last_error"]) for r in rows if r["status"] != "sent"
    ]
    # Twilio has exactly one message per row: the one the row records.
    per_number = Counter(m.to for m in fake.messages)
    assert per_number == dict.fromkeys(phones, 1)
    by_sid = {m.sid: m for m in fake.messages}
    for r in rows:
        m = by_sid[r["provider_id"]]
        assert (f"tel:{m.to}", m.body) == (r["address"], r["text"])


async def check_android(
    world: SmsWorld, fake: FakeGateway, phones: list[str], actions: list[str]
) -> None:
    rows = await world.outbox_rows()
    assert len(rows) == len(phones)
    assert Counter(r["status"] for r in rows) == {"sent": len(phones)}
    assert {m["recipients"][0]["phoneNumber"] for m in fake.messages.values()} == set(phones)
    assert {r["provider_id"] for r in rows} == set(fake.messages)
    # The gateway would refuse a second post of an id it has (409): we must not even try.
    # Each post took the next answer of the script: "ok" and "hang" accepted the message.
    accepted: set[str] = set()
    for body, action in zip(fake.sends(), actions, strict=False):
        assert body["id"] not in accepted, f"{body['id']} posted again after it was accepted"
        if action in ("ok", "hang"):
            accepted.add(body["id"])
    assert accepted == set(fake.messages)


async def run_faults(
    world: SmsWorld,
    fake_twilio: FakeTwilio,
    fake_gateway: FakeGateway,
    channel: str,
    n: int,
    seed: int,
    share: float,
) -> Counter[str]:
    rng = random.Random(seed)
    actions = script(rng, 4 * n, share)
    if channel == "twilio":
        fake_twilio.script = list(actions)
    else:
        fake_gateway.script = list(actions)
    phones = await people_text(world, channel, n)
    await drain_until_done(world)
    if channel == "twilio":
        await check_twilio(world, fake_twilio, phones)
        used = len(fake_twilio.creates())
    else:
        await check_android(world, fake_gateway, phones, actions)
        used = len(fake_gateway.sends())
    injected = Counter(actions[:used])
    assert all(injected[f] > 0 for f in FAULTS), injected  # every kind of fault happened
    return injected


@pytest.mark.parametrize("channel", ["twilio", "android"])
async def test_failing_provider_delivers_every_reply_once(
    faulty_world: SmsWorld, fake_twilio: FakeTwilio, fake_gateway: FakeGateway, channel: str
) -> None:
    injected = await run_faults(
        faulty_world, fake_twilio, fake_gateway, channel, n=100, seed=11, share=0.3
    )
    print(channel, dict(injected))


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("channel", ["twilio", "android"])
async def test_failing_provider_soak(
    faulty_world: SmsWorld,
    fake_twilio: FakeTwilio,
    fake_gateway: FakeGateway,
    channel: str,
    seed: int,
) -> None:
    await run_faults(
        faulty_world, fake_twilio, fake_gateway, channel, n=300, seed=1000 + seed, share=0.3
    )


@pytest.mark.parametrize(("hours", "delivered"), [(2.5, True), (4, False)])
async def test_a_provider_outage_within_the_retry_window_loses_nothing(
    faulty_world: SmsWorld, fake_twilio: FakeTwilio, hours: float, delivered: bool
) -> None:
    """Twilio answers 500 to everything for a while. Within the retry window (three hours)
    every reply goes out once afterwards; after it, the replies are failed, not retried
    forever (and the outbox says so)."""
    world = faulty_world
    phones = [f"+9769961{i:04d}" for i in range(20)]
    for phone in phones:
        await world.text(phone, "ТУСЛАМЖ")
    fake_twilio.script = ["500"] * 100_000
    end = world.clock.now() + timedelta(hours=hours)
    await world.handle()
    while world.clock.now() < end + timedelta(hours=1):
        world.clock.advance(timedelta(minutes=5))
        if world.clock.now() >= end:
            fake_twilio.script.clear()  # the provider is back
        await world.sanal.drain_outbox()
    rows = await world.outbox_rows()
    if delivered:
        await check_twilio(world, fake_twilio, phones)
        assert min(r["error_count"] for r in rows) >= 5  # more than five errors survived
    else:
        assert {r["status"] for r in rows} == {"failed"}
        assert fake_twilio.messages == []


@pytest.mark.parametrize("deliveries", [2, 5])
async def test_android_retries_of_one_webhook_are_one_effect(
    faulty_world: SmsWorld, fake_gateway: FakeGateway, deliveries: int
) -> None:
    world = faulty_world
    phone = "+97688112233"
    await world.android_text(phone, f"НЭГДЭХ {ZAG_BAG_1}")
    await world.text("+97699000000", "НЭЭХ")  # the governor opens the round
    await world.handle()
    stamp = world.clock.now().isoformat()
    for i in range(deliveries):  # the app retries one webhook, seconds apart
        resp = await world.android_text(phone, "САНАЛ Малын худаг 40 өрх", received_at=stamp)
        assert resp.status == 204
        world.clock.advance(timedelta(seconds=7 * i))
    await world.handle()
    made = await fetchall(world.sanal.db.reader, "SELECT id FROM proposals")
    assert len(made) == 1
    assert await world.inbox_count() == 3  # join, the governor's НЭЭХ, the proposal
    texts = [m["text"] for m in fake_gateway.messages.values()]
    assert len(texts) == 2, texts
    assert "№1" in texts[1], texts


async def test_a_crash_mid_send_to_a_busy_number_is_not_sent_again(
    faulty_world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    """A governor gets a notice per proposal. One of their messages is accepted by Twilio,
    then the process dies before recording it; 60 more messages to them follow. When the
    lease ends, reconciling must still find it behind the newer ones (it looked at the 50
    newest only, and sent it again)."""
    from storage import outbox

    world = faulty_world
    governor = "+97699000000"
    await world.text(governor, "ШИНЭ")
    await world.sanal.intake.drain()
    async with world.sanal.db.write() as conn:
        [claimed] = await outbox.claim_due(
            conn, "twilio", world.clock.now(), 10, timedelta(minutes=30)
        )
    await world.sanal.senders["twilio"].transport.send(claimed)  # accepted; then the crash
    for i in range(60):
        world.clock.advance(timedelta(seconds=7))  # slower than the flood guard
        await world.text(governor, f"ТУСЛАМЖ {i}")
        await world.handle()
    world.clock.advance(timedelta(minutes=30))  # the dead process's lease ends
    await world.sanal.drain_outbox()
    rows = await world.outbox_rows()
    assert {r["status"] for r in rows} == {"sent"}
    assert len(fake_twilio.messages) == len(rows) == 61
    [row] = [r for r in rows if r["id"] == claimed.id]
    assert row["provider_id"] == fake_twilio.messages[0].sid
