"""Lines typed (or piped) into `sanal chat`, read on the event loop, not in a thread.

`input()` in an executor thread kept the process alive after Ctrl+C: asyncio cancelled
the chat, but the interpreter then waited for the thread, still blocked in `input()`,
until Enter was pressed (or for ever, with a pipe nobody closes). Read on the loop
instead, a Ctrl+C cancels the wait like any other await and the chat ends at once.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from typing import TextIO


class ChatInput:
    """``await lines.next()``: the next line without its newline, None at the end."""

    def __init__(self, stream: TextIO | None = None, prompt: str = "> ") -> None:
        stream = stream or sys.stdin  # looked up now: click's test runner replaces it
        self.stream = stream
        # A prompt only for a person at a terminal; scripts piping lines in get replies only.
        self.prompt = prompt if stream.isatty() else ""
        try:
            self.fd = stream.fileno()
        except (OSError, ValueError):  # io.UnsupportedOperation: text in memory (tests)
            self.fd = -1
        # A file given with `<` never blocks (and cannot be watched by epoll), nor does text
        # in memory: read plainly.
        self.plain = self.fd < 0 or stat.S_ISREG(os.fstat(self.fd).st_mode)
        self._was_blocking = self.plain or os.get_blocking(self.fd)
        self._reader: asyncio.StreamReader | None = None
        self._transport: asyncio.ReadTransport | None = None

    async def next(self) -> str | None:
        if self.prompt:
            sys.stdout.write(self.prompt)
            sys.stdout.flush()
        if self.plain:
            raw = self.stream.readline()
            return raw.rstrip("\r\n") if raw else None
        reader = await self._open()
        data = await reader.readline()
        if not data:
            return None
        return data.decode("utf-8", errors="replace").rstrip("\r\n")

    async def _open(self) -> asyncio.StreamReader:
        if self._reader is None:
            loop = asyncio.get_running_loop()
            reader = asyncio.StreamReader()
            # A pipe or a terminal: watched by the loop (the transport makes the fd
            # non-blocking; close() gives it back as it was, for the shell after us).
            self._transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader),
                os.fdopen(os.dup(self.fd), "rb", buffering=0),
            )
            self._reader = reader
        return self._reader

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if not self.plain:
            os.set_blocking(self.fd, self._was_blocking)
