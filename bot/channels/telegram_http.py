"""python-telegram-bot's HTTP layer on aiohttp, for sending.

PTB's default layer (httpx, httpcore, anyio, h11) costs about a millisecond of CPU per
message: a khural-week broadcast was bound by it, not by Telegram's limit or our storage
(bench/broadcast.py: ~640 messages/s on 2 cores). aiohttp is already the web server's and
the SMS providers' client, and costs a fraction of that. The Bot API calls, their errors
and their parsing stay python-telegram-bot's own: this class only moves the bytes.
"""

from __future__ import annotations

import asyncio

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    def __init__(self, timeout: float, connections: int = 32) -> None:
        self._timeout = timeout
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        await self.initialize()
        assert self._session is not None
        # One overall limit per call; a call's own read timeout (getUpdates' long poll) wins.
        total = read_timeout if isinstance(read_timeout, int | float) else self._timeout
        data: aiohttp.FormData | dict[str, str] | None = None
        if request_data is not None:
            if request_data.contains_files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mime) in request_data.multipart_data.items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                data = form
            else:
                data = request_data.json_parameters
        try:
            async with self._session.request(
                method,
                url,
                data=data,
                timeout=aiohttp.ClientTimeout(total=float(total) + 1.0),
            ) as resp:
                return resp.status, await resp.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
