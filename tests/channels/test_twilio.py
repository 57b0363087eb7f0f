"""Twilio, end to end: webhooks signed with the twilio library's RequestValidator, replies
sent by the twilio Client to a fake Twilio REST API on loopback."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.channels.twilio_sms import TwilioConfigError
from bot.cli import main
from bot.core.sms_segments import count_segments, is_gsm7
from bot.core.texts import render
from bot.wiring import build
from storage import people
from tests.channels.conftest import PUBLIC, TOKEN, SmsWorld
from tests.conftest import ZAG_BAG_1, make_settings
from tests.fakes.twilio_api import FakeTwilio

HERDER = "+97699112233"


async def test_a_signed_message_is_answered_through_the_outbox(
    world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    await world.text("99112233", f"НЭГДЭХ {ZAG_BAG_1}")  # a local number, normalised
    await world.handle()
    [sent] = fake_twilio.creates()
    assert sent["To"] == HERDER
    assert sent["From"] == "+15005550006"
    assert sent["StatusCallback"] == f"{PUBLIC}/sms/twilio/status"
    assert "Баянбулаг" in sent["Body"]
    [row] = await world.outbox_rows()
    assert row["status"] == "sent"
    assert row["provider_id"] == fake_twilio.messages[0].sid
    assert row["segments"] == count_segments(sent["Body"]).segments


@pytest.mark.parametrize(
    "signature",
    [None, "", "bm90IGEgc2lnbmF0dXJl", "wrong-token", "other-url", "tampered"],
)
async def test_unsigned_or_forged_webhooks_are_refused_and_store_nothing(
    world: SmsWorld, signature: str | None
) -> None:
    params = {"MessageSid": "SM" + "a" * 32, "From": HERDER, "Body": "НЭГДЭХ 644651"}
    if signature == "wrong-token":
        from twilio.request_validator import RequestValidator

        signature = RequestValidator("not-" + TOKEN).compute_signature(
            PUBLIC + "/sms/twilio", params
        )
    elif signature == "other-url":
        signature = world.validator.compute_signature("https://evil.example/sms/twilio", params)
    elif signature == "tampered":
        signature = world.validator.compute_signature(PUBLIC + "/sms/twilio", params)
        params = {**params, "Body": "СОНГО 1"}
    resp = await world.twilio_post(params, sign=signature)
    assert resp.status == 403
    assert "Traceback" not in await resp.text()
    assert await world.inbox_count() == 0
    # The status callback is guarded the same way.
    status = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    assert (await world.twilio_post(status, "/sms/twilio/status", sign=signature)).status == 403


async def test_a_signature_over_the_url_with_its_port_is_accepted_too(world: SmsWorld) -> None:
    """Twilio's console may hold the URL with ":443": our exact-URL check misses it, the
    library's full check (tried next) accepts it."""
    params = {"MessageSid": world.next_sid(), "From": HERDER, "Body": "НЭГДЭХ 644651"}
    with_port = PUBLIC.replace(".mn", ".mn:443") + "/sms/twilio"
    signature = world.validator.compute_signature(with_port, params)
    assert signature != world.validator.compute_signature(PUBLIC + "/sms/twilio", params)
    resp = await world.twilio_post(params, sign=signature)
    assert resp.status == 200
    assert await world.inbox_count() == 1


@pytest.mark.parametrize("deliveries", [2, 5])
async def test_twilio_retries_of_one_message_are_one_effect(
    world: SmsWorld, fake_twilio: FakeTwilio, deliveries: int
) -> None:
    await world.text(HERDER, f"НЭГДЭХ {ZAG_BAG_1}")
    await world.handle()
    sid = world.next_sid()
    for _ in range(deliveries):
        await world.text(HERDER, "САНАЛ Малын худаг гаргах 40 өрх", sid=sid)
    await world.handle()
    assert await world.inbox_count() == 2
    assert len(fake_twilio.creates()) == 2  # one answer to the join, one to the proposal


async def test_status_callbacks_move_a_message_forward_only(
    world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    await world.text(HERDER, "ТУСЛАМЖ")
    await world.text("+97699112244", "ТУСЛАМЖ")
    await world.handle()
    first, second = fake_twilio.messages

    async def callback(sid: str, status: str, code: str | None = None) -> None:
        params = {"MessageSid": sid, "MessageStatus": status, "To": HERDER}
        if code:
            params["ErrorCode"] = code
        resp = await world.twilio_post(params, "/sms/twilio/status")
        assert resp.status == 204

    for status in ("queued", "sent", "delivered", "sent"):  # a late "sent" changes nothing
        await callback(first.sid, status)
    await callback(second.sid, "undelivered", "30003")
    rows = {r["provider_id"]: r for r in await world.outbox_rows()}
    assert rows[first.sid]["status"] == "delivered"
    assert rows[second.sid]["status"] == "undelivered"
    assert rows[second.sid]["last_error"] == "twilio 30003"


async def test_a_receipt_before_we_recorded_the_sid_is_kept_and_applied(
    world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    await world.text(HERDER, "ТУСЛАМЖ")
    await world.sanal.intake.drain()
    [row] = await world.outbox_rows()
    # A fast provider calls back for the id it is about to give us.
    early = "SM" + "e" * 32
    params = {"MessageSid": early, "MessageStatus": "delivered", "To": HERDER}
    assert (await world.twilio_post(params, "/sms/twilio/status")).status == 204
    async with world.sanal.db.write() as conn:
        from storage import outbox

        await outbox.mark_sent(conn, row["id"], early, 1, world.clock.now())
    [row] = await world.outbox_rows()
    assert row["status"] == "delivered"


async def test_21610_marks_the_person_opted_out(world: SmsWorld, fake_twilio: FakeTwilio) -> None:
    await world.text(HERDER, f"НЭГДЭХ {ZAG_BAG_1}")
    fake_twilio.script = ["21610"]
    await world.handle()
    [row] = await world.outbox_rows()
    assert row["status"] == "failed"
    assert "21610" in row["last_error"]
    person = await people.by_phone(world.sanal.db.reader, HERDER)
    assert person is not None
    assert person.opted_out
    assert fake_twilio.messages == []


async def test_21610_in_a_status_callback_opts_out_too(
    world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    await world.text(HERDER, "ТУСЛАМЖ")
    await world.handle()
    [m] = fake_twilio.messages
    params = {"MessageSid": m.sid, "MessageStatus": "failed", "ErrorCode": "21610", "To": HERDER}
    assert (await world.twilio_post(params, "/sms/twilio/status")).status == 204
    person = await people.by_phone(world.sanal.db.reader, HERDER)
    assert person is not None
    assert person.opted_out


@pytest.mark.parametrize("answer", ["429", "500"])
async def test_throttled_or_failing_api_then_success_sends_once(
    world: SmsWorld, fake_twilio: FakeTwilio, answer: str
) -> None:
    await world.text(HERDER, "ТУСЛАМЖ")
    fake_twilio.script = [answer, answer]
    await world.handle()
    [row] = await world.outbox_rows()
    assert row["status"] == "queued"
    assert row["error_count"] == 1
    await world.sanal.drain_outbox()  # not due yet: backoff
    assert len(fake_twilio.creates()) == 1
    world.clock.advance(timedelta(seconds=6))
    await world.sanal.drain_outbox()
    world.clock.advance(timedelta(seconds=31))
    await world.sanal.drain_outbox()
    [row] = await world.outbox_rows()
    assert row["status"] == "sent"
    assert row["error_count"] == 2
    assert len(fake_twilio.creates()) == 3
    assert len(fake_twilio.messages) == 1


async def test_a_timeout_after_twilio_accepted_is_not_sent_again(
    world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    # The same text twice (two identical help replies): the second times out after Twilio
    # accepted it. Reconciling must find *that* message, not the first one.
    await world.text(HERDER, "ТУСЛАМЖ")
    await world.handle()
    fake_twilio.script = ["hang"]
    await world.text(HERDER, "ТУСЛАМЖ")
    await world.handle()
    first, second = await world.outbox_rows()
    assert first["status"] == "sent"
    assert second["status"] == "queued"
    assert "timeout" in second["last_error"]
    world.clock.advance(timedelta(seconds=6))
    await world.sanal.drain_outbox()
    first, second = await world.outbox_rows()
    assert second["status"] == "sent"
    assert second["provider_id"] == fake_twilio.messages[1].sid != first["provider_id"]
    assert len(fake_twilio.messages) == 2
    assert len(fake_twilio.creates()) == 2


async def test_a_timeout_before_twilio_accepted_is_sent_again(
    world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    await world.text(HERDER, "ТУСЛАМЖ")
    fake_twilio.script = ["drop"]
    await world.handle()
    world.clock.advance(timedelta(seconds=6))
    await world.sanal.drain_outbox()
    [row] = await world.outbox_rows()
    assert row["status"] == "sent"
    assert len(fake_twilio.messages) == 1
    assert len(fake_twilio.creates()) == 2


async def test_a_crash_mid_send_reconciles_before_sending(
    world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    """The process died after Twilio accepted but before we wrote "sent": the lease ends,
    the row is claimed again, and Twilio is asked before anything is sent."""
    await world.text(HERDER, "ТУСЛАМЖ")
    await world.sanal.intake.drain()
    sender = world.sanal.senders["twilio"]
    async with world.sanal.db.write() as conn:
        from storage import outbox

        [claimed] = await outbox.claim_due(conn, "twilio", world.clock.now(), 10, timedelta(0))
    await sender.transport.send(claimed)  # accepted by Twilio; then the "crash"
    await world.sanal.drain_outbox()
    [row] = await world.outbox_rows()
    assert row["status"] == "sent"
    assert row["provider_id"] == fake_twilio.messages[0].sid
    assert len(fake_twilio.messages) == 1


@pytest.mark.parametrize(
    ("stop", "start"),
    [("STOP", "START"), ("ЗОГС", "ЭХЛЭХ"), ("zogs", "ehleh"), ("Unsubscribe", "unstop")],
)
async def test_stop_and_start_in_both_scripts(
    world: SmsWorld, fake_twilio: FakeTwilio, stop: str, start: str
) -> None:
    from handlers.context import Text
    from handlers.delivery import queue_for_person

    await world.text(HERDER, f"НЭГДЭХ {ZAG_BAG_1}")
    await world.text(HERDER, f"  {stop} ")
    await world.handle()
    reader = world.sanal.db.reader
    person = await people.by_phone(reader, HERDER)
    assert person is not None
    assert person.opted_out
    # A broadcast (a reminder) skips them; a direct reply still reaches them.
    async with world.sanal.db.write() as conn:
        queued = await queue_for_person(
            conn, world.sanal.settings, person, [Text("help.short")],
            dedupe_key="remind:test", now=world.clock.now(), broadcast=True,
        )  # fmt: skip
    assert not queued
    await world.text(HERDER, start)
    await world.handle()
    person = await people.by_phone(reader, HERDER)
    assert person is not None
    assert not person.opted_out
    assert len(fake_twilio.creates()) == 3  # join, stop and start confirmations


async def test_a_flooding_sender_gets_at_most_one_reply_a_minute(
    world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    threshold = world.sanal.settings.flood_threshold
    for i in range(threshold + 15):
        await world.text("+97699887766", f"auto reply {i}")  # another bot, answering us
    await world.handle()
    sent = fake_twilio.creates()
    assert len(sent) == threshold + 1  # the replies, then one "too many messages" notice
    assert sent[-1]["Body"] == render("flood.limited", "mn_latn")
    assert await world.inbox_count() == threshold + 15  # stored all the same


@pytest.mark.parametrize(
    ("body", "joins"),
    [
        (base64.b64encode(f"НЭГДЭХ {ZAG_BAG_1}".encode()).decode(), True),
        (f"   \n НЭГДЭХ {ZAG_BAG_1}  \t", True),
        (f"join {ZAG_BAG_1} " + "x" * 1590, True),
        ("Я" * 1600, False),
        ("", False),
    ],
    ids=["base64", "spaces", "1600-latin", "1600-cyrillic", "empty"],
)
async def test_every_shape_of_text_gets_one_reply_within_budget(
    world: SmsWorld, fake_twilio: FakeTwilio, body: str, joins: bool
) -> None:
    await world.text(HERDER, body)
    await world.handle()
    [sent] = fake_twilio.creates()
    assert count_segments(sent["Body"]).segments <= world.sanal.settings.max_segments
    person = await people.by_phone(world.sanal.db.reader, HERDER)
    assert person is not None, body[:20]
    assert (person.bag_code == ZAG_BAG_1) is joins, body[:20]


async def test_latin_and_cyrillic_replies_fit_the_segment_budget(
    world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    """The everyday replies fit one SMS; Latin ones are pure GSM-7 (160 a segment)."""
    gov = "+97699000000"
    await world.text(gov, "НЭЭХ 2027-03-20 2027-04-01")
    lat, cyr = "+97699112201", "+97699112202"
    script = [
        (lat, f"join {ZAG_BAG_1}"),
        (cyr, f"НЭГДЭХ {ZAG_BAG_1}"),
        (lat, "sanal hudag gargah 40 urh 25 sai"),
        (cyr, "САНАЛ Сургуулийн засвар 120 өрх"),
    ]
    for phone, text in script:
        await world.text(phone, text)
    await world.handle()
    await world.text(gov, "ЗӨВ 1 2")
    await world.text(gov, "ХУРААЛТ")
    for phone, text in [(lat, "songo 1 2"), (cyr, "СОНГО 2"), (lat, "jagsaalt"), (cyr, "МИНИЙ")]:
        await world.text(phone, text)
    await world.handle()
    by_phone: dict[str, list[str]] = {}
    for form in fake_twilio.creates():
        by_phone.setdefault(form["To"], []).append(form["Body"])
    for body in by_phone[lat]:
        assert is_gsm7(body), body
        assert count_segments(body).segments == 1, body
    for body in by_phone[cyr]:
        assert count_segments(body).segments <= 2, body
    # Joining and voting, the replies everyone gets, are one segment in both scripts.
    assert count_segments(by_phone[cyr][0]).segments == 1, by_phone[cyr][0]
    assert count_segments(by_phone[cyr][2]).segments == 1, by_phone[cyr][2]


def test_sms_does_not_start_without_the_auth_token(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sms_provider="twilio", public_url=PUBLIC)
    with pytest.raises(TwilioConfigError, match="TWILIO_AUTH_TOKEN"):
        build(settings)
    result = CliRunner().invoke(
        main,
        ["serve", "--db", str(tmp_path / "x.db")],
        env={"SANAL_SMS_PROVIDER": "twilio", "SANAL_PUBLIC_URL": PUBLIC, "TWILIO_AUTH_TOKEN": ""},
    )
    assert result.exit_code != 0
    assert "TWILIO_AUTH_TOKEN" in result.output
    assert "Traceback" not in result.output


async def test_a_governor_and_the_project_see_what_a_round_cost(
    world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    gov = "+97699000000"
    await world.text(gov, "НЭЭХ 2027-03-20 2027-04-01")
    for i in range(3):
        await world.text(f"+9769911230{i}", f"НЭГДЭХ {ZAG_BAG_1}")
    await world.text("+97699112309", "ТУСЛАМЖ")  # not in the bag: not the round's cost
    await world.handle()
    rows = await world.outbox_rows(status="sent")
    of_round = [r for r in rows if r["round_id"] is not None]
    assert len(of_round) == 4
    segments = sum(r["segments"] for r in of_round)
    await world.text(gov, "ЗАРДАЛ")
    await world.handle()
    reply = fake_twilio.creates()[-1]["Body"]
    assert f"{len(of_round)} мессеж ({segments} хэсэг)" in reply, reply
    args = ["sms-cost", "--db", str(world.sanal.settings.db), "--bag", ZAG_BAG_1]
    result = await asyncio.to_thread(CliRunner().invoke, main, args)
    assert result.exit_code == 0, result.output
    assert f"twilio: {len(of_round) + 1} messages" in result.output
