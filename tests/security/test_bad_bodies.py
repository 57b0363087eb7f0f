"""Bodies and headers built to crash a JSON endpoint: each is a 4xx with no traceback,
one audit row, and nothing in the inbox.

Every JSON endpoint (the Telegram webhook, the Android gateway's webhook, the simulator's
POST) gets the same bodies: nested 100,000 deep (was a 500: RecursionError), nested a few
hundred deep inside an ordinary update (was stored, raw, in the inbox), not UTF-8,
``NaN``, a 5,000-digit number, not an object, too large. Secret and signature headers
with bytes that are not UTF-8 (a 500 for Telegram and Twilio: ``str.encode`` refused
aiohttp's surrogates) go over a raw socket, since aiohttp's client drops such bytes.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.channels.android_sms import signature as android_signature
from bot.channels.refusals import ACTION
from bot.channels.telegram import SECRET_HEADER, WEBHOOK_PATH, webhook_secret
from bot.core.clock import ManualClock
from storage.db import fetchall
from tests.channels.conftest import (
    SIGNING_KEY,
    SmsWorld,
    fake_gateway,
    fake_twilio,
    sms_settings,
    sms_world,
)
from tests.fakes.android_gateway import FakeGateway
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.telegram.conftest import TOKEN as TG_TOKEN
from tests.telegram.conftest import fake_tg

__all__ = ["fake_gateway", "fake_tg", "fake_twilio"]  # fixtures used by name

UPDATE = {
    "update_id": 1001,
    "message": {
        "message_id": 7,
        "date": 1767225600,
        "chat": {"id": 4242, "type": "private"},
        "from": {"id": 4242, "is_bot": False, "first_name": "Бат"},
        "text": "/start",
    },
}


def _deep_inside(doc: dict[str, Any], depth: int) -> bytes:
    """``doc`` with one more field nested ``depth`` lists deep."""
    head = json.dumps(doc, ensure_ascii=False)[:-1]
    return f'{head}, "x": {"[" * depth}{"]" * depth}}}'.encode()


BODIES: dict[str, bytes] = {
    "deep lists": b"[" * 50_000 + b"]" * 50_000,
    "deep objects": b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    "deep inside an update": _deep_inside(UPDATE, 300),
    "not UTF-8": b'{"text": "\xff\xfe\xc3\x28"}',
    "NaN": b'{"update_id": NaN}',
    "5,000 digits": b'{"update_id": ' + b"9" * 5000 + b"}",
    "not an object": b"[1, 2, 3]",
    "not JSON": b"{'single': 'quotes'}",
}


@pytest.fixture
async def world(
    tmp_path: Path,
    clock: ManualClock,
    fake_twilio: FakeTwilio,
    fake_gateway: FakeGateway,
    fake_tg: FakeTelegram,
) -> AsyncIterator[SmsWorld]:
    """Every real channel at once: Twilio, the Android gateway, a Telegram webhook."""
    settings = sms_settings(
        tmp_path,
        fake_twilio,
        fake_gateway,
        telegram_bot_token=TG_TOKEN,
        telegram_api_url=fake_tg.url,
        telegram_mode="webhook",
    )
    async with sms_world(settings, clock) as w:
        yield w


async def _count(sanal: Sanal, sql: str, *args: Any) -> int:
    rows = await fetchall(sanal.db.reader, sql, args)
    return int(rows[0][0])


async def _refused_once(sanal: Sanal, actor: str) -> None:
    """One audit row for the refusal, of this channel; nothing in the inbox."""
    rows = await fetchall(
        sanal.db.reader, "SELECT actor, detail FROM audit_log WHERE action = ?", (ACTION,)
    )
    assert [r["actor"] for r in rows] == [actor], [dict(r) for r in rows]
    assert json.loads(rows[0]["detail"])["refused"] == 1
    assert await _count(sanal, "SELECT count(*) FROM inbox") == 0


def _no_traceback(status: int, text: str) -> None:
    assert 400 <= status < 500, (status, text[:300])
    assert "Traceback" not in text, text[:300]
    assert 'File "' not in text, text[:300]


async def raw_post(
    client: TestClient[Any, Any],
    path: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    piece: int = 0,
) -> tuple[int, str]:
    """A POST written byte by byte: header values aiohttp's client would not send; the
    body in pieces of ``piece`` bytes, each sent on its own, when ``piece`` is given."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    head = [
        f"POST {path} HTTP/1.1".encode(),
        b"Host: sanal.example.mn",
        b"Content-Type: application/json",
        f"Content-Length: {len(body)}".encode(),
        b"Connection: close",
        *(name + b": " + value for name, value in headers),
    ]
    writer.write(b"\r\n".join(head) + b"\r\n\r\n")
    for start in range(0, len(body), piece or len(body) or 1):
        writer.write(body[start : start + (piece or len(body))])
        await writer.drain()
        await asyncio.sleep(0.01 if piece else 0)
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.decode(errors="replace")


# --- Telegram -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(BODIES))
async def test_telegram_webhook_bad_bodies(world: SmsWorld, name: str) -> None:
    headers = {SECRET_HEADER: webhook_secret(TG_TOKEN), "Content-Type": "application/json"}
    resp = await world.client.post(WEBHOOK_PATH, data=BODIES[name], headers=headers)
    _no_traceback(resp.status, await resp.text())
    await _refused_once(world.sanal, "webhook:telegram")


async def test_telegram_webhook_too_large(world: SmsWorld) -> None:
    body = json.dumps({**UPDATE, "pad": "x" * (2 * 1024 * 1024)}).encode()
    headers = {SECRET_HEADER: webhook_secret(TG_TOKEN), "Content-Type": "application/json"}
    resp = await world.client.post(WEBHOOK_PATH, data=io.BytesIO(body), headers=headers)
    assert resp.status == 413
    _no_traceback(resp.status, await resp.text())
    await _refused_once(world.sanal, "webhook:telegram")


@pytest.mark.parametrize(
    "secret",
    [b"\xff\xfe", b"s\xc3\x28cret", webhook_secret(TG_TOKEN).encode()[:-1] + b"\xe9"],
    ids=["bytes", "broken utf-8", "latin-1 last byte"],
)
async def test_telegram_secret_header_not_utf8(world: SmsWorld, secret: bytes) -> None:
    body = json.dumps(UPDATE).encode()
    status, text = await raw_post(
        world.client, WEBHOOK_PATH, [(SECRET_HEADER.encode(), secret)], body
    )
    assert status == 403
    _no_traceback(status, text)
    await _refused_once(world.sanal, "webhook:telegram")


async def test_telegram_webhook_still_takes_a_real_update(world: SmsWorld) -> None:
    """The reader refuses what it must and no more: an ordinary update is stored."""
    headers = {SECRET_HEADER: webhook_secret(TG_TOKEN)}
    resp = await world.client.post(WEBHOOK_PATH, json=UPDATE, headers=headers)
    assert resp.status == 200
    assert await _count(world.sanal, "SELECT count(*) FROM inbox") == 1
    assert await _count(world.sanal, "SELECT count(*) FROM audit_log WHERE action = ?", ACTION) == 0


# --- the Android gateway ------------------------------------------------------------------


def _signed(world: SmsWorld, body: bytes) -> dict[str, str]:
    stamp = str(int(world.clock.now().timestamp()))
    return {
        "Content-Type": "application/json",
        "X-Timestamp": stamp,
        "X-Signature": android_signature(SIGNING_KEY, body, stamp),
    }


@pytest.mark.parametrize("name", list(BODIES))
async def test_android_webhook_bad_bodies(world: SmsWorld, name: str) -> None:
    body = BODIES[name]
    resp = await world.client.post("/sms/android", data=body, headers=_signed(world, body))
    _no_traceback(resp.status, await resp.text())
    await _refused_once(world.sanal, "webhook:android")


async def test_android_webhook_too_large(world: SmsWorld) -> None:
    body = b'{"event": "sms:received", "pad": "' + b"x" * 100_000 + b'"}'
    resp = await world.client.post("/sms/android", data=body, headers=_signed(world, body))
    assert resp.status == 413
    _no_traceback(resp.status, await resp.text())
    await _refused_once(world.sanal, "webhook:android")


async def test_android_signature_header_not_utf8(world: SmsWorld) -> None:
    body = b'{"event": "system:ping", "payload": {}}'
    stamp = str(int(world.clock.now().timestamp())).encode()
    headers = [(b"X-Timestamp", stamp), (b"X-Signature", b"\xff" * 64)]
    status, text = await raw_post(world.client, "/sms/android", headers, body)
    assert status == 403
    _no_traceback(status, text)
    await _refused_once(world.sanal, "webhook:android")


async def test_android_long_body_in_pieces_is_read_whole(world: SmsWorld) -> None:
    """A signed message that arrives in several packets is one body, not its first part."""
    event = {
        "event": "sms:received",
        "payload": {
            "message": "САНАЛ " + "худаг " * 3000,  # ~40 kB: several reads
            "phoneNumber": "+97699112233",
            "receivedAt": world.clock.now().isoformat(),
        },
    }
    body = json.dumps(event, ensure_ascii=False).encode()
    status, text = await raw_post(
        world.client,
        "/sms/android",
        [(k.encode(), v.encode()) for k, v in _signed(world, body).items() if k != "Content-Type"],
        body,
        piece=4096,
    )
    assert status == 204, text
    assert await _count(world.sanal, "SELECT count(*) FROM inbox") == 1


# --- Twilio ---------------------------------------------------------------------------------


async def test_twilio_signature_header_not_utf8(world: SmsWorld) -> None:
    body = b"MessageSid=SM1&From=%2B97699112233&Body=hi"
    status, text = await raw_post(
        world.client, "/sms/twilio", [(b"X-Twilio-Signature", b"\xff\xfe==")], body
    )
    assert status == 403
    _no_traceback(status, text)
    await _refused_once(world.sanal, "webhook:twilio")


# --- the simulator (training mode: no real channel) ---------------------------------------


@pytest.mark.parametrize("name", list(BODIES))
async def test_simulator_bad_bodies(sanal: Sanal, client: TestClient[Any, Any], name: str) -> None:
    resp = await client.post(
        "/api/sim/messages", data=BODIES[name], headers={"Content-Type": "application/json"}
    )
    text = await resp.text()
    _no_traceback(resp.status, text)
    assert json.loads(text)["code"] == "bad_body"  # in the page's words (bot/web.py)
    await _refused_once(sanal, "webhook:sim")


async def test_simulator_too_large(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    body = json.dumps({"phone": "99112233", "text": "x" * 200_000})
    resp = await client.post("/api/sim/messages", data=body)
    assert resp.status == 413
    _no_traceback(resp.status, await resp.text())
    await _refused_once(sanal, "webhook:sim")
