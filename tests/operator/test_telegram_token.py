"""A Telegram token the Bot API refuses stops `sanal serve` with one line naming the
variable, at once, instead of retrying for ever; a Telegram that is only unreachable for a
while is still waited for. `sanal serve` runs as a real child process against the fake Bot
API on loopback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.telegram_api import FakeTelegram
from tests.faults.serve import PREFIXES, Server, command, free_port

TOKEN = "7000000001:AAH-right-token-for-the-fake"
WRONG = "7000000001:AAH-revoked-token-abcdef"
LIMIT = 30.0


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    api = await FakeTelegram(TOKEN).start()
    yield api
    await api.close()


async def serve(folder: Path, **env: str) -> tuple[int, str, float]:
    """`sanal serve` until it exits by itself (the test fails if it does not)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    clean.update(env, SANAL_BALLOT_KEY="operator-test-key", SANAL_PORT=str(free_port()))
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *command(),
        "--db",
        str(folder / "sanal.db"),
        cwd=folder,
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), LIMIT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail("sanal serve kept running (retrying a refused token?)")
    assert proc.returncode is not None
    return proc.returncode, out.decode(), time.monotonic() - started


def error_lines(output: str) -> list[str]:
    assert "Traceback" not in output, output
    return [line for line in output.splitlines() if line.startswith("Error")]


@pytest.mark.parametrize(
    ("variable", "failure"),
    [
        ("TELEGRAM_BOT_TOKEN", None),  # a token that is not the bot's: 401 from getMe
        ("SANAL_TELEGRAM_BOT_TOKEN", None),
        ("TELEGRAM_BOT_TOKEN", ("getMe", 404, "Not Found")),  # a malformed token
    ],
)
async def test_a_refused_token_stops_the_start_in_one_line(
    tmp_path: Path, fake: FakeTelegram, variable: str, failure: tuple[str, int, str] | None
) -> None:
    token = WRONG if failure is None else TOKEN
    if failure is not None:
        fake.fail(*failure, times=100)
    code, output, seconds = await serve(
        tmp_path, **{variable: token, "SANAL_TELEGRAM_API_URL": fake.url}
    )
    assert code == 1
    assert error_lines(output) == [
        f"Error: Telegram refused {variable}: copy the token again from @BotFather"
    ]
    assert "AAH-" not in output  # the token itself is never printed
    getmes = [c for c in fake.calls if c.method == "getMe"]
    assert len(getmes) <= 1  # asked once (the 401 never reaches the fake's log)
    print(f"refused token: stopped in {seconds:.1f}s")


async def test_a_token_refused_when_setting_the_webhook(tmp_path: Path, fake: FakeTelegram) -> None:
    fake.fail("setWebhook", 401, "Unauthorized", times=100)
    code, output, _ = await serve(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        SANAL_TELEGRAM_API_URL=fake.url,
        SANAL_PUBLIC_URL="https://sanal.example.mn",
    )
    assert code == 1
    assert error_lines(output) == [
        "Error: Telegram refused TELEGRAM_BOT_TOKEN: copy the token again from @BotFather"
    ]


async def test_a_webhook_address_telegram_will_not_call(tmp_path: Path, fake: FakeTelegram) -> None:
    fake.fail("setWebhook", 400, "Bad Request: bad webhook: Failed to resolve host", times=100)
    code, output, _ = await serve(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        SANAL_TELEGRAM_API_URL=fake.url,
        SANAL_PUBLIC_URL="https://sanal.example.mn",
    )
    assert code == 1
    [line] = error_lines(output)
    assert line.startswith(
        "Error: Telegram will not call https://sanal.example.mn/telegram/webhook (Bad webhook"
    )
    assert line.endswith("check SANAL_PUBLIC_URL, or SANAL_TELEGRAM_MODE=polling")


async def test_telegram_unreachable_for_a_while_is_waited_for(
    tmp_path: Path, fake: FakeTelegram
) -> None:
    fake.fail("getMe", 502, "Bad Gateway", times=2)  # the start's check and one retry
    port = free_port()
    server = Server(
        tmp_path,
        {"TELEGRAM_BOT_TOKEN": TOKEN, "SANAL_TELEGRAM_API_URL": fake.url, "SANAL_BALLOT_KEY": "k"},
        port,
    )
    await server.start()
    try:
        # Up and serving while Telegram fails; ready once it answers (backoff 1 s, 2 s).
        await asyncio.wait_for(
            fake.until(lambda: any(c.method == "setMyCommands" for c in fake.calls)), 20
        )
        assert server.running
    finally:
        code = await server.interrupt()
    assert code == 0
    assert "Telegram not reachable at start" in server.logs()
    assert not [line for line in server.logs().splitlines() if line.startswith("Error")]
