"""The Android gateway through the app's own client (`android-sms-gateway`): sends on the
paths the client calls, the outbox's rules kept (tests/channels/test_android.py and
tests/faults/test_provider_faults.py hold the rest), and `sanal gateway register` setting
the phone's webhooks, run as a real child process against the fake gateway on loopback."""

from __future__ import annotations

import asyncio
import os
import subprocess
from datetime import timedelta

import pytest

from bot.channels.android_gateway import WEBHOOK_EVENTS, webhook_id
from tests.channels.conftest import SmsWorld, fake_gateway, fake_twilio, world
from tests.fakes.android_gateway import FakeGateway
from tests.faults.serve import PREFIXES, command, free_port

__all__ = ["fake_gateway", "fake_twilio", "world"]  # fixtures used by name

HERDER = "+97688112233"
PUBLIC = "https://sanal.example.mn"
HOOK = f"{PUBLIC}/sms/android"


async def test_a_reply_is_sent_on_the_clients_path(
    world: SmsWorld, fake_gateway: FakeGateway
) -> None:
    await world.android_text(HERDER, "ТУСЛАМЖ")
    await world.handle()
    assert ("POST", "/messages") in fake_gateway.paths  # the client's path, not ours
    [sent] = fake_gateway.sends()
    [row] = await world.outbox_rows()
    assert sent["id"] == row["provider_id"] == f"sanal-{row['id']}"
    assert sent["phoneNumbers"] == [HERDER]
    assert sent["withDeliveryReport"] is True
    assert sent["textMessage"]["text"] == row["text"]


async def test_a_timeout_is_checked_by_the_clients_state_call(
    world: SmsWorld, fake_gateway: FakeGateway
) -> None:
    await world.android_text(HERDER, "ТУСЛАМЖ")
    fake_gateway.script = ["hang"]
    await world.handle()
    world.clock.advance(timedelta(seconds=6))
    await world.sanal.drain_outbox()
    [row] = await world.outbox_rows()
    assert row["status"] == "sent"
    assert len(fake_gateway.sends()) == 1
    assert ("GET", f"/messages/{row['provider_id']}") in fake_gateway.paths


@pytest.mark.parametrize(
    ("answer", "status", "error"),
    [
        ("400", "failed", "android 400 phoneNumbers is invalid"),  # ours to fix: not retried
        ("404", "queued", "android 404 wrong URL"),  # the operator's to fix: kept
        ("401", "queued", "android 401 credentials"),
        ("503", "queued", "android 503"),
    ],
)
async def test_refusals_keep_the_outbox_rules(
    world: SmsWorld, fake_gateway: FakeGateway, answer: str, status: str, error: str
) -> None:
    await world.android_text(HERDER, "ТУСЛАМЖ")
    fake_gateway.script = [answer]
    await world.handle()
    [row] = await world.outbox_rows()
    assert row["status"] == status, row
    assert row["last_error"].startswith(error), row
    assert not fake_gateway.messages


async def sanal(*args: str, **env: str) -> tuple[int, str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    clean.update(env)
    proc = await asyncio.create_subprocess_exec(
        *command()[:-1],
        *args,
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def gateway_env(fake: FakeGateway, **more: str) -> dict[str, str]:
    return {
        "SANAL_ANDROID_GATEWAY_URL": fake.url,
        "SANAL_ANDROID_GATEWAY_USER": "sanal",
        "SANAL_ANDROID_GATEWAY_PASSWORD": "gw-password",
        "SANAL_ANDROID_SIGNING_KEY": "android-signing-key",
        "SANAL_PUBLIC_URL": PUBLIC,
        **more,
    }


async def test_register_sets_the_webhooks_and_again_replaces_them(
    fake_gateway: FakeGateway,
) -> None:
    # What the README's hand-typed curl left: a copy of ours under the app's random id,
    # and a webhook of something else on the phone.
    fake_gateway.webhooks["by-hand"] = {"id": "by-hand", "url": HOOK, "event": "sms:received"}
    fake_gateway.webhooks["other"] = {
        "id": "other",
        "url": "https://other.example/in",
        "event": "sms:received",
    }
    code, out, err = await sanal("gateway", "register", **gateway_env(fake_gateway))
    assert code == 0, err
    assert out.splitlines() == [
        f"the gateway posts {', '.join(WEBHOOK_EVENTS)} to {HOOK}",
        "removed copies of these under other ids: sms:received by-hand",
        "also registered on the phone, left as it is: sms:received https://other.example/in",
    ]
    ours = {k: v for k, v in fake_gateway.webhooks.items() if k != "other"}
    assert {(h["id"], h["event"], h["url"]) for h in ours.values()} == {
        (webhook_id(e), e, HOOK) for e in WEBHOOK_EVENTS
    }
    assert ("POST", "/webhooks") in fake_gateway.paths
    # Moved to a new address: the same ids now point there, nothing doubles.
    moved = "https://sanal.aimag.mn"
    code, out, err = await sanal("gateway", "register", "--url", moved, **gateway_env(fake_gateway))
    assert code == 0, err
    assert len(fake_gateway.webhooks) == len(WEBHOOK_EVENTS) + 1
    assert {h["url"] for k, h in fake_gateway.webhooks.items() if k != "other"} == {
        f"{moved}/sms/android"
    }
    code, out, _ = await sanal("gateway", "list", **gateway_env(fake_gateway))
    assert code == 0
    assert f"sms:received   {moved}/sms/android  (sanal-sms-received)" in out.splitlines()


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            {"SANAL_ANDROID_GATEWAY_PASSWORD": "wrong"},
            "Error: the Android gateway refused SANAL_ANDROID_GATEWAY_USER and _PASSWORD "
            "(401): copy them again from the app's Home tab",
        ),
        (
            {"SANAL_PUBLIC_URL": ""},
            "Error: set SANAL_PUBLIC_URL (or --url): the https address the phone posts to",
        ),
        (
            {"SANAL_ANDROID_GATEWAY_USER": "", "SANAL_ANDROID_GATEWAY_PASSWORD": ""},
            "Error: set SANAL_ANDROID_GATEWAY_USER and SANAL_ANDROID_GATEWAY_PASSWORD (the "
            "app's Home tab: its server's address, user and password)",
        ),
    ],
)
async def test_register_errors_are_one_line(
    fake_gateway: FakeGateway, change: dict[str, str], line: str
) -> None:
    code, out, err = await sanal("gateway", "register", **gateway_env(fake_gateway, **change))
    assert code == 1
    assert out == ""
    assert err == line + "\n"
    assert not fake_gateway.webhooks


async def test_register_where_the_gateway_cannot_be_reached_or_refuses(
    fake_gateway: FakeGateway,
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    code, _, err = await sanal(
        "gateway", "register", **gateway_env(fake_gateway, SANAL_ANDROID_GATEWAY_URL=nobody)
    )
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith(f"Error: cannot reach the Android gateway at {nobody} (")
    # An address the app itself refuses (http beyond 127.0.0.1): its reason, in one line.
    code, _, err = await sanal(
        "gateway", "register", "--url", "http://localhost:8080", **gateway_env(fake_gateway)
    )
    assert code == 1
    assert err == (
        "Error: the Android gateway refused (400): url must start with https:// or "
        "http://127.0.0.1\n"
    )
    # And one Sanal refuses before asking: the https rule of SANAL_PUBLIC_URL.
    code, _, err = await sanal(
        "gateway", "register", "--url", "http://192.168.1.5", **gateway_env(fake_gateway)
    )
    assert code == 1
    assert err.startswith("Error: --url http://192.168.1.5: must start with https")
