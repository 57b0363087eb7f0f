"""The shipped Caddyfile in front of a real `sanal serve`, over https, on loopback.

`sanal serve` runs as a child process (tests/faults/serve.py) on a SQLite file with Twilio,
the Android gateway and Telegram (webhook mode) switched on, each provider's API faked on
loopback, ``SANAL_PUBLIC_URL`` set to Caddy's https address, and a training token, so that
the simulator's routes exist behind Caddy (they must still not be reachable through it).
Caddy runs deploy/Caddyfile (tests/deploy/caddy.py says the few lines a test changes) with
its own local CA, whose root the client trusts: the certificate is checked, not ignored.

Checked through Caddy: signed Twilio webhooks and status callbacks, a signed gateway
webhook and a Telegram update with its secret are accepted and answered (the reply reaches
the provider's fake); forged ones are refused by Sanal; /healthz answers; /metrics only
from the local network or with the token; the simulator, its page and anything else are
Caddy's own 404, for every method and for paths dressed up to slip past a matcher.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from twilio.request_validator import RequestValidator

from bot.channels.android_sms import signature
from tests.deploy.caddy import (
    SHIPPED,
    Answer,
    Caddy,
    caddy_binary,
    caddyfile_for_test,
    raw_request,
)
from tests.fakes.android_gateway import FakeGateway
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.faults.serve import Server, free_port

pytestmark = [
    pytest.mark.skipif(
        caddy_binary() is None,
        reason="caddy is not installed (apt-get install caddy; .ci/run installs it)",
    ),
    pytest.mark.asyncio(loop_scope="module"),
]

ACCOUNT = "AC" + "1" * 32
TWILIO_TOKEN = "twilio-deploy-test-token"
TWILIO_FROM = "+15005550006"
TG_TOKEN = "7000000002:AAHsanal-deploy-test_0123456789abcdefXYZ"
GATEWAY_USER, GATEWAY_PASSWORD = "sanal", "gateway-deploy-password"
SIGNING_KEY = "android-deploy-signing-key"
SIM_TOKEN = "training-token-0123456789abcdef"
METRICS_TOKEN = "metrics-token-0123456789abcdef"
BAG = "644651"  # 1-р баг Баянбулаг, Заг сум: the national units load on first start
WAIT = 20.0  # seconds for a reply to reach a provider's fake


@dataclass
class Stack:
    server: Server
    caddy: Caddy
    twilio: FakeTwilio
    telegram: FakeTelegram
    gateway: FakeGateway

    @property
    def public(self) -> str:
        return self.caddy.url

    def session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.caddy.ssl_context()),
            timeout=aiohttp.ClientTimeout(total=15),
        )


def _serve_env(
    db: Path, public: str, twilio: FakeTwilio, tg: FakeTelegram, gw: FakeGateway
) -> dict[str, str]:
    return {
        "SANAL_DB": str(db),
        "SANAL_PUBLIC_URL": public,
        "SANAL_SMS_PROVIDER": "twilio,android",
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": TWILIO_FROM,
        "SANAL_TWILIO_API_URL": twilio.url,
        "SANAL_TWILIO_RATE_PER_SECOND": "100",
        "SANAL_ANDROID_GATEWAY_URL": gw.url,
        "SANAL_ANDROID_GATEWAY_USER": GATEWAY_USER,
        "SANAL_ANDROID_GATEWAY_PASSWORD": GATEWAY_PASSWORD,
        "SANAL_ANDROID_SIGNING_KEY": SIGNING_KEY,
        "SANAL_ANDROID_RATE_PER_SECOND": "100",
        "TELEGRAM_BOT_TOKEN": TG_TOKEN,
        "SANAL_TELEGRAM_API_URL": tg.url,
        "SANAL_TELEGRAM_MODE": "webhook",
        # The simulator's routes are mounted behind Caddy: the test shows Caddy keeps them in.
        "SANAL_SIMULATOR_TOKEN": SIM_TOKEN,
        # Replies at night must not wait for the morning (quiet hours hold the notices only,
        # but nothing here should depend on the hour).
        "SANAL_VOTING_NOTICE_SMS": "false",
    }


async def _caddy(
    folder: Path,
    sanal_port: int,
    local_ranges: str | None = None,
    metrics_token: str | None = METRICS_TOKEN,
) -> Caddy:
    https_port, http_port = free_port(), free_port()
    config = caddyfile_for_test(
        SHIPPED.read_text(),
        sanal_port=sanal_port,
        https_port=https_port,
        http_port=http_port,
        storage=folder / "storage",
        local_ranges=local_ranges,
    )
    env = {} if metrics_token is None else {"SANAL_METRICS_TOKEN": metrics_token}
    return await Caddy(folder, config, https_port, http_port, env).start()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    folder = tmp_path_factory.mktemp("deploy")
    twilio = await FakeTwilio(ACCOUNT, TWILIO_TOKEN).start()
    telegram = await FakeTelegram(TG_TOKEN).start()
    gateway = await FakeGateway(GATEWAY_USER, GATEWAY_PASSWORD).start()
    sanal_port = free_port()
    caddy = await _caddy(folder / "caddy", sanal_port)
    env = _serve_env(folder / "sanal.db", caddy.url, twilio, telegram, gateway)
    (folder / "sanal").mkdir()
    server = Server(folder / "sanal", env, sanal_port)
    try:
        await server.start()
        yield Stack(server, caddy, twilio, telegram, gateway)
    finally:
        if server.running:
            await server.interrupt()
        await caddy.stop()
        for fake in (twilio, telegram, gateway):
            await fake.close()


async def _eventually(found: Callable[[], Any], what: str, stack: Stack) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if result := found():
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} within {WAIT:.0f} s\n{stack.server.logs()[-3000:]}")


def _proxied(answer: Answer) -> bool:
    """Whether Sanal answered (Caddy passed the request on), not Caddy itself."""
    return "aiohttp" in answer.headers.get("server", "").lower()


# ---------------------------------------------------------------- the webhooks get through


async def test_signed_twilio_webhook_through_caddy_is_answered(stack: Stack) -> None:
    phone = "+97699112233"
    params = {"MessageSid": "SM" + "a" * 32, "AccountSid": ACCOUNT, "From": phone}
    params |= {"To": TWILIO_FROM, "Body": f"НЭГДЭХ {BAG}", "NumSegments": "1"}
    url = f"{stack.public}/sms/twilio"  # what Twilio signs: the public https address
    validator = RequestValidator(TWILIO_TOKEN)
    async with stack.session() as http:
        sig = validator.compute_signature(url, params)
        async with http.post(url, data=params, headers={"X-Twilio-Signature": sig}) as resp:
            assert resp.status == 200, await resp.text()
            assert "<Response>" in await resp.text()
        reply = await _eventually(
            lambda: [m for m in stack.twilio.messages if m.to == phone],
            "the reply to a Twilio SMS sent through Caddy reached Twilio",
            stack,
        )
        assert reply[0].body.strip()

        # Twilio's delivery receipt for that reply, signed the same way.
        status_url = f"{stack.public}/sms/twilio/status"
        receipt = {"MessageSid": reply[0].sid, "MessageStatus": "delivered", "To": phone}
        sig = validator.compute_signature(status_url, receipt)
        async with http.post(status_url, data=receipt, headers={"X-Twilio-Signature": sig}) as r:
            assert r.status == 204, await r.text()

        # Signed over Sanal's own address instead of the public one: Caddy changes nothing,
        # so Sanal sees it is not what Twilio would have signed, and refuses it.
        inner = f"http://127.0.0.1:{stack.server.port}/sms/twilio"
        forged = params | {"MessageSid": "SM" + "b" * 32}
        sig = validator.compute_signature(inner, forged)
        async with http.post(url, data=forged, headers={"X-Twilio-Signature": sig}) as resp:
            assert resp.status == 403


async def test_signed_gateway_webhook_through_caddy_is_answered(stack: Stack) -> None:
    phone = "+97699112244"
    event = {
        "deviceId": "ffffffffceb0b1db0000018e937c815b",
        "event": "sms:received",
        "id": "ev-deploy-1",
        "webhookId": "wh-deploy",
        "payload": {
            "messageId": "m1",
            "message": f"НЭГДЭХ {BAG}",
            "phoneNumber": phone,
            "simNumber": 1,
            "receivedAt": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        },
    }
    body = json.dumps(event, ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Timestamp": stamp}
    async with stack.session() as http:
        signed = headers | {"X-Signature": signature(SIGNING_KEY, body, stamp)}
        async with http.post(f"{stack.public}/sms/android", data=body, headers=signed) as resp:
            assert resp.status == 204, await resp.text()  # stored; the app wants no body
        await _eventually(
            lambda: [s for s in stack.gateway.sends() if phone in s.get("phoneNumbers", [])],
            "the reply to a gateway SMS sent through Caddy reached the gateway phone",
            stack,
        )
        forged = headers | {"X-Signature": signature("not-the-key", body, stamp)}
        async with http.post(f"{stack.public}/sms/android", data=body, headers=forged) as resp:
            assert resp.status == 403


async def test_telegram_update_through_caddy_is_answered(stack: Stack) -> None:
    # At start Sanal registered its webhook at the public https address, with a secret.
    assert stack.telegram.webhook_url == f"{stack.public}/telegram/webhook"
    secret = stack.telegram.webhook_secret
    assert secret
    user = 424242
    update = stack.telegram.message_update(user, "/start")
    url = f"{stack.public}/telegram/webhook"
    async with stack.session() as http:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        async with http.post(url, json=update, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
        said = await _eventually(
            lambda: stack.telegram.chat(user),
            "the reply to a Telegram update sent through Caddy reached Telegram",
            stack,
        )
        assert said[-1].asks_contact  # /start asks the person to share their number
        other = stack.telegram.message_update(user + 1, "/start")
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"}
        async with http.post(url, json=other, headers=wrong) as resp:
            assert resp.status == 403
    assert stack.telegram.chat(user + 1) == []


async def test_healthz_through_caddy(stack: Stack) -> None:
    answer = await raw_request(stack.caddy, "GET", "/healthz")
    assert _proxied(answer)
    assert answer.status in (200, 503)  # 503 names problems; either way Sanal answered
    assert "problems" in json.loads(answer.body)
    head = await raw_request(stack.caddy, "HEAD", "/healthz")
    assert _proxied(head)


# ---------------------------------------------------------------- and nothing else does

SIM = {"Authorization": f"Bearer {SIM_TOKEN}"}
NOT_EXPOSED = [
    ("GET", "/"),
    ("GET", "/index.html"),
    ("GET", "/api/sim/messages?phone=88112200"),
    ("POST", "/api/sim/messages"),
    ("GET", "/api/sim/"),
    ("GET", "/static/app.js"),
    ("GET", "/admin"),
    ("GET", "/.env"),
    ("GET", "/sanal.db"),
    ("GET", "/sms/twilio"),  # the webhooks are POST only
    ("GET", "/telegram/webhook"),
    ("PUT", "/sms/android"),
    ("DELETE", "/sms/twilio"),
    ("POST", "/healthz"),
    ("POST", "/sms/twilio/"),
    ("POST", "/sms/twilio/extra"),
    ("POST", "/sms"),
    ("POST", "/telegram"),
    ("POST", "/sms/twilio/../../api/sim/messages"),
    ("POST", "/sms/twilio/..%2f..%2fapi/sim/messages"),
    ("POST", "/sms/twilio%2f..%2f..%2fapi/sim/messages"),
    ("GET", "/healthz/../api/sim/messages?phone=88112200"),
    ("GET", "/%61pi/sim/messages?phone=88112200"),
    ("GET", "//api/sim/messages?phone=88112200"),
    ("GET", "/healthz/"),
]


async def test_the_simulator_is_there_behind_caddy(stack: Stack) -> None:
    """The premise of the next test: the simulator's routes exist in this Sanal (it answers
    them directly), so a 404 through Caddy is Caddy keeping them in."""
    async with aiohttp.ClientSession() as http:
        url = f"{stack.server.url}/api/sim/messages"
        said = {"phone": "88112200", "text": "ТУСЛАМЖ"}  # a number nobody uses
        async with http.post(url, json=said, headers=SIM) as resp:
            assert resp.status == 200, await resp.text()
            assert (await resp.json())["replies"]
        async with http.get(url, params={"phone": "88112200"}, headers=SIM) as resp:
            assert resp.status == 200, await resp.text()
        async with http.get(f"{stack.server.url}/") as resp:
            assert resp.status == 200


@pytest.mark.parametrize(("method", "target"), NOT_EXPOSED)
async def test_nothing_else_is_reachable_through_caddy(
    stack: Stack, method: str, target: str
) -> None:
    body = (
        json.dumps({"phone": "88112201", "text": "ЖАГСААЛТ"}).encode() if method == "POST" else b""
    )
    answer = await raw_request(
        stack.caddy, method, target, SIM | {"Content-Type": "application/json"}, body
    )
    assert answer.status == 404, (answer.status, answer.body[:200])
    assert not _proxied(answer), "Caddy passed it on to Sanal"


async def test_plain_http_is_redirected_not_passed_on(stack: Stack) -> None:
    answer = await raw_request(stack.caddy, "POST", "/sms/twilio", https=False)
    assert answer.status in (301, 308)
    assert answer.headers["location"].startswith("https://")
    assert not _proxied(answer)


# ---------------------------------------------------------------- /metrics


async def test_metrics_from_the_local_network_without_token(stack: Stack) -> None:
    """Loopback is in private_ranges: the request is passed on to Sanal (where /metrics
    answers once it exists; until then Sanal's own 404)."""
    answer = await raw_request(stack.caddy, "GET", "/metrics")
    assert _proxied(answer)
    post = await raw_request(stack.caddy, "POST", "/metrics")
    assert not _proxied(post)
    assert post.status == 404


async def test_metrics_from_outside_only_with_the_token(stack: Stack, tmp_path: Path) -> None:
    """The same Caddyfile with the local network set to a range this client is not in
    (192.0.2.0/24, kept for documentation): now the client is "outside"."""
    outside = await _caddy(tmp_path / "caddy", stack.server.port, local_ranges="192.0.2.0/24")
    try:
        refused: list[dict[str, str]] = [
            {},
            {"Authorization": "Bearer "},
            {"Authorization": "Bearer"},
            {"Authorization": f"Bearer {METRICS_TOKEN}x"},
            {"Authorization": f"Bearer {METRICS_TOKEN[:-1]}"},
            {"Authorization": f"Basic {METRICS_TOKEN}"},
            {"Authorization": METRICS_TOKEN},
        ]
        for headers in refused:
            answer = await raw_request(outside, "GET", "/metrics", headers)
            assert answer.status == 404, headers
            assert not _proxied(answer), headers
        good = await raw_request(
            outside, "GET", "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        assert _proxied(good)
        # The webhooks do not depend on where the caller is.
        health = await raw_request(outside, "GET", "/healthz")
        assert _proxied(health)
    finally:
        await outside.stop()


async def test_metrics_token_too_short_or_unset_lets_nobody_in(
    stack: Stack, tmp_path: Path
) -> None:
    for token in (None, "", "short"):
        folder = tmp_path / f"caddy-{token}"
        caddy = await _caddy(folder, stack.server.port, "192.0.2.0/24", metrics_token=token)
        try:
            for headers in ({}, {"Authorization": f"Bearer {token}"}, {"Authorization": "Bearer "}):
                answer = await raw_request(caddy, "GET", "/metrics", headers)
                assert answer.status == 404, (token, headers)
                assert not _proxied(answer), (token, headers)
        finally:
            await caddy.stop()
