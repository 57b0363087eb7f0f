"""Tests never leave the machine: a connection to anything but loopback is refused.

Installed for the whole session by tests/conftest.py. The guard sits on the Python
``socket.socket`` methods every client goes through (asyncio's ``sock_connect``,
aiohttp, httpx, ssl all end in ``socket.socket.connect``) and on ``socket.getaddrinfo``
(asyncio and aiohttp resolve through it), so a forgotten real URL fails as loud as it
can: the call raises :class:`LeftTheMachine`, and because a library may catch an OSError
and retry quietly, each attempt is also recorded and fails the test at teardown.

Allowed: 127.0.0.0/8, ::1 (and ::ffff:127.x), the unspecified address (on Linux a
connection to 0.0.0.0 reaches this host), the name ``localhost``, and AF_UNIX sockets.
Child processes are not patched; the tests that spawn them point them at loopback.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable
from typing import Any

import pytest

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class LeftTheMachine(ConnectionRefusedError):
    """A test tried to reach a non-loopback address (or to resolve a real name)."""


# Every refused attempt since the last ``take()``, for the per-test check.
attempts: list[str] = []


def is_local(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.split("%", 1)[0].rstrip(".").lower()  # drop an IPv6 zone ("::1%lo")
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False  # a real name: resolving it is already traffic
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def _is_address(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    try:
        ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return False
    return True


def _refuse(what: str) -> LeftTheMachine:
    message = f"tests may only connect to loopback: refused {what}"
    attempts.append(message)
    # errno and strerror set: aiohttp shows strerror in its ClientConnectorError.
    return LeftTheMachine(errno.ECONNREFUSED, message)


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # AF_UNIX, AF_NETLINK...: never leaves the machine
    host = address[0] if isinstance(address, tuple) and address else address
    if not is_local(host):
        raise _refuse(f"a connection to {address!r}")


_originals: dict[str, Any] = {}


def install() -> None:
    if _originals:
        return
    connect: Callable[..., Any] = socket.socket.connect
    connect_ex: Callable[..., Any] = socket.socket.connect_ex
    sendto: Callable[..., Any] = socket.socket.sendto
    getaddrinfo: Callable[..., Any] = socket.getaddrinfo
    _originals.update(
        connect=connect, connect_ex=connect_ex, sendto=sendto, getaddrinfo=getaddrinfo
    )

    def guarded_connect(self: socket.socket, address: Any) -> None:
        _check(self, address)
        connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        _check(self, address)
        result: int = connect_ex(self, address)
        return result

    def guarded_sendto(self: socket.socket, data: Any, *args: Any) -> int:
        _check(self, args[-1])  # sendto(data, address) or sendto(data, flags, address)
        result: int = sendto(self, data, *args)
        return result

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # An address needs no lookup (the connect is checked); a name would ask a server.
        if host is not None and not is_local(host) and not _is_address(host):
            raise _refuse(f"resolving {host!r}")
        return getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = guarded_sendto  # type: ignore[method-assign, assignment]
    socket.getaddrinfo = guarded_getaddrinfo


def uninstall() -> None:
    if not _originals:
        return
    socket.socket.connect = _originals["connect"]  # type: ignore[method-assign]
    socket.socket.connect_ex = _originals["connect_ex"]  # type: ignore[method-assign]
    socket.socket.sendto = _originals["sendto"]  # type: ignore[method-assign]
    socket.getaddrinfo = _originals["getaddrinfo"]
    _originals.clear()


def take() -> list[str]:
    """The attempts refused since the last call, forgotten."""
    taken = list(attempts)
    attempts.clear()
    return taken


def fail_if_refused() -> None:
    """Fail the running test if it tried to leave the machine, caught or not."""
    refused = take()
    if refused:
        pytest.fail("\n".join(refused), pytrace=False)
