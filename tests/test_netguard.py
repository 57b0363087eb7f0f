"""The guard of tests/netguard.py: loopback works, anything else is refused with its reason."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests import netguard

TEST_NET = "192.0.2.1"  # TEST-NET-1 (RFC 5737): documentation only, never routed


def test_the_guard_is_installed() -> None:
    assert socket.socket.connect is not netguard._originals["connect"]


def test_a_blocking_connect_to_test_net_is_refused() -> None:
    with socket.socket() as s, pytest.raises(netguard.LeftTheMachine, match=re.escape(TEST_NET)):
        s.connect((TEST_NET, 80))
    with socket.socket() as s, pytest.raises(netguard.LeftTheMachine, match="loopback"):
        s.connect_ex((TEST_NET, 80))
    with socket.socket(socket.AF_INET6) as s, pytest.raises(netguard.LeftTheMachine):
        s.connect(("2001:db8::1", 80))
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s,
        pytest.raises(netguard.LeftTheMachine),
    ):
        s.sendto(b"x", (TEST_NET, 53))
    assert len(netguard.take()) == 4  # taken: refused on purpose, not a failure


def test_resolving_a_real_name_is_refused() -> None:
    with pytest.raises(netguard.LeftTheMachine, match=re.escape("api.telegram.org")):
        socket.getaddrinfo("api.telegram.org", 443)
    assert netguard.take()


async def test_asyncio_and_aiohttp_are_refused() -> None:
    with pytest.raises(netguard.LeftTheMachine, match=re.escape(TEST_NET)):
        await asyncio.open_connection(TEST_NET, 80)
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectorError, match="loopback"):
            await http.get("https://api.telegram.org/")
        with pytest.raises(aiohttp.ClientConnectorError, match="loopback"):
            await http.get(f"http://{TEST_NET}/")
    assert len(netguard.take()) == 3


def test_an_attempt_the_code_swallowed_still_fails_the_test() -> None:
    with contextlib.suppress(OSError):  # a retry loop that hides the failure
        socket.create_connection((TEST_NET, 80), timeout=1)
    refused = f"refused a connection to .*{re.escape(TEST_NET)}"
    with pytest.raises(pytest.fail.Exception, match=refused):
        netguard.fail_if_refused()  # what tests/conftest.py runs after each test
    netguard.fail_if_refused()  # reported once: the test's teardown stays quiet


async def test_loopback_still_works() -> None:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    async with TestServer(app, host="127.0.0.1") as server:
        for host in ("127.0.0.1", "localhost"):
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://{host}:{server.port}/") as resp,
            ):
                assert await resp.text() == "hello"
        with socket.create_connection(("127.0.0.1", server.port), timeout=5):
            pass
    with socket.socket(socket.AF_UNIX) as a, socket.socket(socket.AF_UNIX) as b:
        a.settimeout(0)
        assert b.connect_ex("/nonexistent/sanal.sock") != 0  # refused by the OS, not by us
    assert netguard.take() == []


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("0.0.0.0", True),
        (b"127.0.0.1", True),
        (TEST_NET, False),
        ("10.0.0.1", False),
        ("::ffff:192.0.2.1", False),
        ("sanal.example.mn", False),
        (None, False),
    ],
)
def test_what_counts_as_loopback(host: Any, local: bool) -> None:
    assert netguard.is_local(host) is local
