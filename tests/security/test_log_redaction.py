"""No phone number or Telegram id in any log line, even with `sanal -v`.

With ``-v`` the twilio library logs every request: when a send timed out and is
reconciled, ``GET .../Messages.json?To=%2B97699112233`` and ``Query Params: {'To':
'+97699112233'}``. An access log writes the simulator page's ``?phone=...``. The app is
run at DEBUG against the loopback fakes (a signed Twilio webhook, its reply timing out
once so that it is reconciled, an Android SMS, a simulator query), in this process with
every record captured, and as `sanal -v serve` in a child process, whose log file is read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from twilio.request_validator import RequestValidator

from bot.core.log_redact import ID, PHONE, mask_personal
from tests.channels.conftest import (
    ACCOUNT,
    PUBLIC,
    TOKEN,
    SmsWorld,
    fake_gateway,
    fake_twilio,
    world,
)
from tests.fakes.twilio_api import FakeTwilio
from tests.faults import serve
from tests.faults.serve import Server, free_port

__all__ = ["fake_gateway", "fake_twilio", "world"]  # fixtures used by name

PHONE_A = "+97699112233"  # texts through Twilio
PHONE_B = "+97688445566"  # texts through the Android gateway
TELEGRAM_ID = 5550001234


def forms(e164: str) -> list[str]:
    """Every way a log line could write this number."""
    local = e164[4:]
    return [e164, e164[1:], "%2B" + e164[1:], local, f"{local[:4]} {local[4:]}"]


def leaks(text: str) -> list[str]:
    found = [f for p in (PHONE_A, PHONE_B) for f in forms(p) if f in text]
    return found + ([str(TELEGRAM_ID)] if str(TELEGRAM_ID) in text else [])


def test_the_patterns() -> None:
    """What is masked, and what is left alone (sids, times, decimals, small ids)."""
    cases = {
        "To=%2B97699112233&PageSize=1000": f"To={PHONE}&PageSize=1000",
        "{'To': '+97699112233'}": f"{{'To': '{PHONE}'}}",
        "GET /?phone=99112233 HTTP/1.1": f"GET /?phone={PHONE} HTTP/1.1",
        "call 9911 2233 or 9911-2233.": f"call {PHONE} or {PHONE}.",
        "tel:97699112233": f"tel:{PHONE}",
        "telegram:5550001234 chat_id=77700": f"telegram:{ID} chat_id={ID}",
        '{"chat": {"id": 123456, "type": "private"}}': (
            f'{{"chat": {{"id": {ID}, "type": "private"}}}}'
        ),
        "group -1001234567890": f"group {ID}",
        "sid SM0123456789abcdef0123456789abcdef": "sid SM0123456789abcdef0123456789abcdef",
        "2026-12-02 07:29:52,123 took 0.123456789 s": "2026-12-02 07:29:52,123 took 0.123456789 s",
        "outbox 1234 failed: twilio 400 21211": "outbox 1234 failed: twilio 400 21211",
        "[02/Dec/2026:07:29:52 +0000] 10.0.0.1": "[02/Dec/2026:07:29:52 +0000] 10.0.0.1",
    }
    for raw, masked in cases.items():
        assert mask_personal(raw) == masked, raw


async def test_nothing_personal_in_the_log_at_debug(
    world: SmsWorld, fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # `sanal -v` sets the twilio logger to DEBUG (quiet otherwise); an earlier CLI test
    # in this process may have left it at WARNING.
    caplog.set_level(logging.DEBUG, logger="twilio")
    fake_twilio.script = ["hang"]  # Twilio takes the reply but answers too late
    await world.text(PHONE_A, "ТУСЛАМЖ")
    await world.handle()
    world.clock.advance(timedelta(minutes=1))
    await world.handle()  # the retry asks Twilio for the number's messages first
    assert [r for r in fake_twilio.requests if r[0] == "GET"], fake_twilio.requests
    assert len(fake_twilio.messages) == 1  # reconciled, not sent twice
    resp = await world.android_text(PHONE_B, "ТУСЛАМЖ")
    assert resp.status == 204
    await world.handle()
    await world.client.get("/api/sim/messages", params={"phone": PHONE_A[4:]})
    log = logging.getLogger("bot.test")
    log.info("no chat for %s", f"telegram:{TELEGRAM_ID}")
    try:
        raise RuntimeError(f"could not send to tel:{PHONE_B} or chat {TELEGRAM_ID}")
    except RuntimeError:
        log.exception("send failed for %s", PHONE_A)

    formatter = logging.Formatter("%(name)s %(message)s")
    lines = [formatter.format(r) for r in caplog.records]
    text = "\n".join(lines)
    for line in lines:
        assert not leaks(line), line
    for record in caplog.records:
        assert not leaks(record.getMessage())
        assert not leaks(record.exc_text or "")
    assert "Messages.json" in text, text[-2000:]
    assert "To=" in text, text[-2000:]  # twilio's request lines
    assert PHONE in text
    assert "Traceback" in text


@pytest.fixture
async def slow_twilio() -> AsyncIterator[FakeTwilio]:
    fake = await FakeTwilio(ACCOUNT, TOKEN, hang_seconds=1.5).start()
    yield fake
    await fake.close()


async def test_sanal_v_serve_writes_no_number(
    tmp_path: Path, slow_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = serve.command()
    monkeypatch.setattr(serve, "command", lambda: [*plain[:-1], "-v", plain[-1]])
    env = {
        "SANAL_DB": str(tmp_path / "sanal.db"),
        "SANAL_SMS_PROVIDER": "twilio",
        "SANAL_PUBLIC_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "SANAL_TWILIO_API_URL": slow_twilio.url,
        "SANAL_SMS_TIMEOUT_SECONDS": "0.6",  # under the fake's 1.5 s: the first send times out
    }
    server = Server(tmp_path, env, free_port())
    slow_twilio.script = ["hang"]
    await server.start()
    try:
        params = {"MessageSid": "SM" + "1" * 32, "From": PHONE_A, "To": "+15005550006"}
        params["Body"] = "ТУСЛАМЖ"
        signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}/sms/twilio", params)
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{server.url}/sms/twilio", data=params, headers={"X-Twilio-Signature": signature}
            ) as resp:
                assert resp.status == 200
            await http.get(f"{server.url}/api/sim/messages", params={"phone": PHONE_A})
        # The send times out, is retried 5 s later, and reconciled with a GET by number.
        for _ in range(300):
            if any(r[0] == "GET" for r in slow_twilio.requests):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # the GET's response lines
    finally:
        assert await server.interrupt() == 0
    logs = server.logs()
    for line in logs.splitlines():
        assert not leaks(line), line
    assert "-- BEGIN Twilio API Request --" in logs, logs[-3000:]
    assert "GET Request:" in logs, logs[-3000:]
    assert PHONE in logs, logs[-3000:]
