"""Logs: one access line per request, without numbers, texts or tokens; JSON for shippers.

The access lines are those of real requests: signed webhooks carrying a phone number and a
message, the simulator's address with a number in its query string, a scanner's path
with a bot token in it. Then a real `sanal serve` child with ``SANAL_LOG_FORMAT=json``:
every line it logs is one JSON object with its time, level, logger and message, and
``SANAL_LOG_LEVEL=WARNING`` leaves the access lines out.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from twilio.request_validator import RequestValidator

from bot.core import log_redact
from bot.logs import JsonFormatter
from tests.channels.conftest import ACCOUNT, PUBLIC, TOKEN, SmsWorld
from tests.fakes.twilio_api import FakeTwilio
from tests.faults.serve import Server, command, free_port

PHONE = "+97699112233"
TEXT = "САНАЛ Нууц үгийн тест 77 өрх"
BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
ACCESS_LINE = re.compile(r"^(GET|POST) (/\S*) (\d{3}) (\d+\.\d)ms (\d+)B$")


def leaks(text: str) -> list[str]:
    """Whatever of a person's number, their message, or a token shows in ``text``."""
    found = [s for s in (PHONE, PHONE[4:], "99112233", TEXT, "Нууц", BOT_TOKEN) if s in text]
    found += [s for s in ("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",) if s in text]
    return found


async def test_one_access_line_per_request(
    world: SmsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    w = world
    await w.text(PHONE, TEXT)  # a signed Twilio webhook: 200
    await w.handle()
    forged = {"MessageSid": w.next_sid(), "From": PHONE, "To": "+1", "Body": TEXT}
    assert (await w.twilio_post(forged, sign="forged")).status == 403
    asked = [
        ("GET", f"/api/sim/messages?phone={PHONE[4:]}", 404),  # no simulator beside Twilio
        ("GET", f"/bot{BOT_TOKEN}/getMe", 404),
        ("GET", "/healthz", 200),
        ("GET", "/metrics", 200),
        ("POST", "/healthz", 405),
    ]
    for method, path, status in asked:
        resp = await w.client.request(method, path)
        assert resp.status == status, path
        await resp.read()

    lines = [r for r in caplog.records if r.name == "sanal.access"]
    assert len(lines) == 2 + len(asked), [r.getMessage() for r in lines]
    seen = []
    for record in lines:
        match = ACCESS_LINE.match(record.getMessage())
        assert match, record.getMessage()
        method, path, status, ms, size = match.groups()
        extra: dict[str, Any] = record.__dict__
        assert (extra["method"], extra["path"], extra["status"]) == (method, path, int(status))
        assert extra["duration_ms"] == float(ms) >= 0
        assert extra["bytes"] == int(size)
        seen.append((method, path, int(status)))
    assert seen == [
        ("POST", "/sms/twilio", 200),
        ("POST", "/sms/twilio", 403),
        ("GET", "/api/sim/messages", 404),  # the path only, never the query string
        ("GET", "/bot<secret>/getMe", 404),  # a token in a scanner's path is masked
        ("GET", "/healthz", 200),
        ("GET", "/metrics", 200),
        ("POST", "/healthz", 405),
    ]
    assert int(lines[-2].__dict__["bytes"]) > 1000  # the metrics page's size, not 0
    # aiohttp's own access log is the test server's (`serve` turns it off: AppRunner's
    # access_log=None); the real server's whole output is checked below.
    everything = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    assert leaks(everything) == []


def test_the_json_format() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("sanal.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    log_redact.install(BOT_TOKEN)
    try:
        logger.warning("sent to %s", PHONE, extra={"path": f"/x/{BOT_TOKEN}", "status": 200})
        try:
            raise ValueError(f"bad address tel:{PHONE}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert datetime.fromisoformat(first["time"]).tzinfo is not None
    assert first["level"] == "WARNING"
    assert first["logger"] == "sanal.test.json"
    assert first["message"] == "sent to <phone>"
    assert first["status"] == 200
    assert first["path"] == "/x/<telegram-token>"
    assert second["level"] == "ERROR"
    assert "ValueError" in second["exception"]
    assert leaks(out.getvalue()) == []


def _signed(phone: str, body: str, sid: str) -> tuple[dict[str, str], dict[str, str]]:
    params = {"MessageSid": sid, "AccountSid": ACCOUNT, "From": phone, "To": "+15005550006"}
    params["Body"] = body
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}/sms/twilio", params)
    return params, {"X-Twilio-Signature": signature}


def _env(folder: Path, fake: FakeTwilio, **more: str) -> dict[str, str]:
    return {
        "SANAL_DB": str(folder / "sanal.db"),
        "SANAL_BALLOT_KEY": "test-ballot-key",
        "SANAL_SMS_PROVIDER": "twilio",
        "SANAL_PUBLIC_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "SANAL_TWILIO_API_URL": fake.url,
        "SANAL_BACKUP_INTERVAL_HOURS": "0",
        **more,
    }


class LoggingServer(Server):
    """`sanal serve` with its log (stderr) in a file of its own, apart from what it says to
    the terminal (stdout): the log is what a shipper reads."""

    def log(self) -> str:
        return (self.folder / "stderr.log").read_text(errors="replace")

    async def start(self, limit_seconds: float = 20.0) -> None:
        with (
            (self.folder / "stdout.log").open("wb") as out,
            (self.folder / "stderr.log").open("wb") as err,
        ):
            self.proc = await asyncio.create_subprocess_exec(
                *command(), cwd=self.folder, env=self.env, stdout=out, stderr=err
            )
        async with aiohttp.ClientSession() as http:
            for _ in range(int(limit_seconds / 0.05)):
                assert self.proc.returncode is None, self.log()[-3000:]
                try:
                    async with http.get(f"{self.url}/healthz") as resp:
                        if resp.status in (200, 503):
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise TimeoutError(f"sanal serve did not answer:\n{self.log()[-3000:]}")


async def _traffic(server: Server) -> None:
    async with aiohttp.ClientSession() as http:
        params, headers = _signed(PHONE, TEXT, "SM" + "1" * 32)
        async with http.post(f"{server.url}/sms/twilio", data=params, headers=headers) as r:
            assert r.status == 200
        for path in (f"/bot{BOT_TOKEN}/getMe", f"/api/sim/messages?phone={PHONE}", "/metrics"):
            async with http.get(f"{server.url}{path}") as r:
                await r.read()


async def _until_sent(fake: FakeTwilio) -> None:
    for _ in range(200):
        if fake.messages:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the reply was never sent")


async def test_json_logs_of_a_real_server(tmp_path: Path) -> None:
    fake = await FakeTwilio(ACCOUNT, TOKEN).start()
    env = _env(tmp_path, fake, SANAL_LOG_FORMAT="json")
    server = LoggingServer(tmp_path, env, free_port())
    try:
        await server.start()
        await _traffic(server)
        await _until_sent(fake)  # the reply went out: its send is in the log too
        assert await server.interrupt() == 0
    finally:
        await fake.close()
    out = server.log()
    objects = []
    for line in out.splitlines():
        obj = json.loads(line)  # every line is one JSON object
        assert {"time", "level", "logger", "message"} <= obj.keys(), obj
        assert datetime.fromisoformat(obj["time"]).tzinfo is not None
        objects.append(obj)
    assert any(o["message"] == "stopped in order" for o in objects)
    access = [o for o in objects if o["logger"] == "sanal.access"]
    paths = [(o["method"], o["path"], o["status"]) for o in access]
    assert ("POST", "/sms/twilio", 200) in paths
    assert ("GET", "/bot<secret>/getMe", 404) in paths
    assert ("GET", "/api/sim/messages", 404) in paths
    assert ("GET", "/metrics", 200) in paths
    assert all(isinstance(o["duration_ms"], float) and o["bytes"] >= 0 for o in access)
    everything = out + (tmp_path / "stdout.log").read_text()
    assert leaks(everything) == [], leaks(everything)


async def test_the_level_setting(tmp_path: Path) -> None:
    fake = await FakeTwilio(ACCOUNT, TOKEN).start()
    env = _env(tmp_path, fake, SANAL_LOG_FORMAT="JSON", SANAL_LOG_LEVEL="warning")
    server = LoggingServer(tmp_path, env, free_port())
    try:
        await server.start()
        await _traffic(server)
        await _until_sent(fake)
        params, _ = _signed(PHONE, TEXT, "SM" + "2" * 32)
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{server.url}/sms/twilio", data=params) as refused,
        ):
            assert refused.status == 403  # unsigned: a WARNING
        assert await server.interrupt() == 0
    finally:
        await fake.close()
    objects = [json.loads(line) for line in server.log().splitlines()]
    assert any("refused a Twilio webhook" in o["message"] for o in objects)
    assert {o["level"] for o in objects} <= {"WARNING", "ERROR"}
    assert not [o for o in objects if o["logger"] == "sanal.access"]
