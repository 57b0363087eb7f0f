"""`sanal serve` from start to stop, as a service manager expects it.

Start: the database is opened (and checked) first, then the port; either failing is one
line and a non-zero exit (:class:`StartError`, :class:`storage.db.DatabaseUnusable`).

Stop, on SIGTERM or SIGINT: stop accepting connections, let the requests in flight finish
(a webhook answered 200 is stored: that is what the 200 means), let the senders finish
the sends in flight and record them, close the database, exit 0. All of it within
``SANAL_STOP_TIMEOUT_SECONDS``; past that, or on a second signal, whatever is left is cut
and the exit code is 1 (the inbox and the outbox keep what was not done for the next
start). A provider that got no answer sends again; what it got 200 for is on disk.

Slow clients: a request's headers must arrive within ``SANAL_HEADER_TIMEOUT_SECONDS`` of
connecting (aiohttp's keep-alive timer, which runs from the connection's start and is not
pushed back by a trickle of bytes), its body within ``SANAL_BODY_TIMEOUT_SECONDS`` more;
at most ``SANAL_MAX_CONNECTIONS`` connections are open at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.app import Sanal
from bot.core.settings import Settings

log = logging.getLogger(__name__)
# File descriptors kept free beside the connections: the database and its WAL, the
# providers' HTTPS connections, logs, a backup being written.
FD_RESERVE = 256
# At a stop, connections already open may still bring their requests for this long.
DRAIN_SECONDS = 2.0
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Content-Length: 34\r\nConnection: close\r\n\r\n"
    b'{"error": "too many connections"}\n'
)


class StartError(Exception):
    """`serve` cannot start (the port is taken, the address does not exist): one line."""


class _Busy(asyncio.Protocol):
    """A connection over the cap: a short 503, closed at once."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(BUSY)
        transport.close()


def capped(server: web.Server, limit: int) -> Callable[[], asyncio.BaseProtocol]:
    """aiohttp's protocol factory, refusing connections beyond ``limit``."""

    warned = -60.0

    def factory() -> asyncio.BaseProtocol:
        nonlocal warned
        if len(server.connections) >= limit:
            now = time.monotonic()
            if now - warned >= 60:  # once a minute: a flood must not flood the log too
                warned = now
                log.warning("%s connections open: refusing more", limit)
            return _Busy()
        return server()

    return factory


def body_deadline(seconds: float) -> Any:
    """A middleware dropping a request whose body has not fully arrived ``seconds`` after
    its headers (a slow sender holding a connection and a handler open)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        dropped = False

        def drop() -> None:
            nonlocal dropped
            if not request.content.is_eof() and request.transport is not None:
                dropped = True
                log.warning("dropped a request whose body did not arrive in %ss", seconds)
                request.transport.close()

        timer = asyncio.get_running_loop().call_later(seconds, drop)
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except Exception:
            if dropped:  # the handler's read failed because we closed: nobody to answer
                return web.Response(status=408)
            raise
        finally:
            timer.cancel()

    return middleware


class Closing:
    """Once a stop has begun, every response closes its connection (Connection: close),
    so that clients with kept-alive connections move on instead of sending more."""

    def __init__(self) -> None:
        self.stopping = False

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        if self.stopping:
            response.force_close()
        return response


def raise_open_files_limit(wanted: int) -> int:
    """Raise the soft open-files limit towards ``wanted`` (up to the hard limit); returns
    the limit now in force. systemd's default soft limit is 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return wanted
    new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if new > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
    return soft


async def serve(
    sanal: Sanal,
    on_open: Callable[[], Awaitable[None]],
    on_listening: Callable[[str], None],
) -> int:
    """Run ``sanal`` behind its web server until SIGTERM or SIGINT; returns the exit code
    (0: stopped in order). The port is taken before the database is opened (a second
    `serve` by mistake changes nothing); ``on_open`` runs once the database is open."""
    settings = sanal.settings
    loop = asyncio.get_running_loop()
    fds = raise_open_files_limit(settings.max_connections + FD_RESERVE)
    if fds < settings.max_connections + FD_RESERVE:
        log.warning(
            "the open-files limit is %s: raise it (LimitNOFILE, ulimit -n) to %s or more, "
            "or lower SANAL_MAX_CONNECTIONS",
            fds,
            settings.max_connections + FD_RESERVE,
        )
    from bot.web import build_web_app

    app = build_web_app(sanal)
    closing = Closing()
    app.middlewares.append(closing.middleware)
    app.middlewares.append(body_deadline(settings.body_timeout_seconds))
    runner = web.AppRunner(
        app,
        access_log=None,
        # aiohttp arms this at the connection's start and re-arms it after each response:
        # a request's headers must come within it, and an idle connection closes after it.
        keepalive_timeout=settings.header_timeout_seconds,
        # Requests in flight at a stop get half the stop's time; the senders the rest.
        shutdown_timeout=settings.stop_timeout_seconds / 2,
    )
    await runner.setup()
    listening: asyncio.Server | None = None
    stopping = False
    signals = asyncio.Queue[int]()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, signals.put_nowait, signum)
    try:
        assert runner.server is not None
        listening = await _listen(runner.server, settings)
        await sanal.open()
        await on_open()
        await listening.start_serving()
        await sanal.start()
        on_listening(f"http://{settings.host}:{settings.port}/")
        got = await signals.get()
        name = signal.Signals(got).name
        log.info("%s: stopping (at most %ss)", name, settings.stop_timeout_seconds)
        stopping = True
        return await _stop(sanal, runner, listening, closing, signals)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        if listening is not None:
            listening.close()
        if stopping:  # the stop ran (in order or cut): the database is closed either way
            await sanal.db.close()
        else:  # a start that failed half-way still closes what it opened
            await runner.cleanup()
            await sanal.stop()


async def _listen(server: web.Server, settings: Settings) -> asyncio.Server:
    """Bind the port (not accepting yet); a port in use is a :class:`StartError`."""
    host, port = settings.host, settings.port
    try:
        return await asyncio.get_running_loop().create_server(
            capped(server, settings.max_connections), host, port, start_serving=False
        )
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if "error while attempting" in reason:  # asyncio's wording: keep the cause only
            reason = reason.rsplit(": ", 1)[-1]
        raise StartError(f"cannot listen on {host}:{port}: {reason}") from None


async def _stop(
    sanal: Sanal,
    runner: web.AppRunner,
    listening: asyncio.Server,
    closing: Closing,
    signals: asyncio.Queue[int],
) -> int:
    """The orderly stop, bounded in time; a second signal cuts it short."""
    limit = sanal.settings.stop_timeout_seconds

    async def orderly() -> None:
        listening.close()  # no new connections; the port is free for the next start
        closing.stopping = True
        server = runner.server
        log.info("finishing %s open connections", len(server.connections) if server else 0)
        # Requests a provider has already sent on an open connection are answered too (a
        # webhook cut there is lost: Twilio does not retry), for a short while: each
        # answer closes its connection, so they end by themselves.
        loop = asyncio.get_running_loop()
        drain_until = loop.time() + min(DRAIN_SECONDS, limit / 4)
        # Polled: aiohttp has no event for "the last connection closed".
        while server and server.connections and loop.time() < drain_until:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await runner.cleanup()  # idle ones close, running handlers finish
        await sanal.stop()  # senders finish their sends in flight, then the database closes

    task = asyncio.create_task(orderly(), name="orderly-stop")
    second = asyncio.create_task(signals.get())
    done, _ = await asyncio.wait({task, second}, timeout=limit, return_when="FIRST_COMPLETED")
    second.cancel()
    if task in done and task.exception() is None:
        log.info("stopped in order")
        return 0
    if task in done:
        log.error("stop failed: %s", task.exception())
    else:
        why = "a second signal" if second in done else f"{limit}s passed"
        log.warning("stop cut short (%s): unfinished work waits for the next start", why)
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
    return 1
