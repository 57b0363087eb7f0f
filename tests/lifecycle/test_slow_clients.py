"""Slow, half-sent requests (slowloris) do not hold connections: headers must arrive
within SANAL_HEADER_TIMEOUT_SECONDS of connecting, a body within
SANAL_BODY_TIMEOUT_SECONDS of its headers, and beyond SANAL_MAX_CONNECTIONS a new
connection gets a 503 at once. Before, a half-sent request stayed open for an hour
(aiohttp's default keep-alive timer), and its body forever.

A real `sanal serve` child, raw TCP sockets from the test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.faults.serve import Server, free_port

HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
MAX_CONNECTIONS = 30
SLACK = 3.0  # a busy test machine


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    env = {
        "SANAL_DB": str(tmp_path / "sanal.db"),
        "SANAL_BALLOT_KEY": "test-ballot-key",
        "SANAL_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "SANAL_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "SANAL_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "SANAL_SCHEDULER_ENABLED": "false",
    }
    srv = Server(tmp_path, env, free_port())
    await srv.start()
    yield srv
    assert await srv.interrupt() == 0
    assert "Traceback" not in srv.logs(), srv.logs()[-3000:]


async def _connect(server: Server) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def _closed_after(reader: asyncio.StreamReader, limit: float) -> tuple[float, bytes]:
    """Seconds until the server closes the connection (and what it sent before)."""
    started = time.monotonic()
    data = await asyncio.wait_for(reader.read(), limit)  # until EOF
    return time.monotonic() - started, data


async def _healthz(server: Server) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/healthz", timeout=aiohttp.ClientTimeout(total=5)) as resp,
    ):
        return resp.status


async def test_half_sent_headers_are_dropped(server: Server) -> None:
    reader, writer = await _connect(server)
    writer.write(b"POST /sms/twilio HTTP/1.1\r\nHost: sanal\r\n")
    started = time.monotonic()

    async def trickle() -> None:  # one more header byte every 300 ms: never complete
        for byte in b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa":
            writer.write(bytes([byte]))
            await asyncio.sleep(0.3)

    dripping = asyncio.create_task(trickle())
    try:
        _, data = await _closed_after(reader, HEADER_TIMEOUT + SLACK)
    finally:
        dripping.cancel()
        writer.close()
    assert data == b""
    assert time.monotonic() - started >= HEADER_TIMEOUT - 0.5
    assert await _healthz(server) == 200


async def test_half_sent_bodies_are_dropped(server: Server) -> None:
    reader, writer = await _connect(server)
    writer.write(
        b"POST /api/sim/messages HTTP/1.1\r\nHost: sanal\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n" + b'{"phone": "99112233", "text": "'
    )
    await writer.drain()
    try:
        seconds, data = await _closed_after(reader, BODY_TIMEOUT + SLACK)
    finally:
        writer.close()
    assert data == b""
    assert seconds >= BODY_TIMEOUT - 0.5
    assert "did not arrive in" in server.logs()
    # Nothing reached the database: the simulator stored no message.
    assert await _healthz(server) == 200


async def test_normal_requests_work_while_slow_ones_wait(server: Server) -> None:
    slow = [await _connect(server) for _ in range(10)]
    for _, writer in slow:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: sanal\r\n")  # never finished
    async with aiohttp.ClientSession() as http:
        body = {"phone": "99112233", "text": "ТУСЛАМЖ"}
        async with http.post(f"{server.url}/api/sim/messages", json=body) as resp:
            assert resp.status == 200
            assert (await resp.json())["replies"]
    assert await _healthz(server) == 200
    for reader, writer in slow:
        _, data = await _closed_after(reader, HEADER_TIMEOUT + SLACK)
        assert data == b""
        writer.close()


async def test_connections_beyond_the_cap_get_503_at_once(server: Server) -> None:
    held = [await _connect(server) for _ in range(MAX_CONNECTIONS)]
    for _, writer in held:
        writer.write(b"GET /healthz HTTP/1.1\r\n")
        await writer.drain()
    await asyncio.sleep(0.2)  # every one of them accepted by the server
    reader, writer = await _connect(server)
    seconds, data = await _closed_after(reader, SLACK)
    writer.close()
    assert data.startswith(b"HTTP/1.1 503")
    assert b"too many connections" in data
    assert seconds < 1.0
    # The held ones time out; then there is room again.
    for held_reader, held_writer in held:
        await _closed_after(held_reader, HEADER_TIMEOUT + SLACK)
        held_writer.close()
    await asyncio.sleep(0.2)
    assert await _healthz(server) == 200
    assert "connections open: refusing more" in server.logs()
