"""`sanal serve` as a real child process, for tests that kill it with SIGKILL.

The child gets a clean environment (no SANAL_*, TWILIO_* or TELEGRAM_* from the shell) and
runs in a directory without a `.env`, so only what the test passes configures it. Its
output goes to a file per start: a pipe nobody reads would block it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

PREFIXES = ("SANAL_", "TWILIO_", "TELEGRAM_")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def command() -> list[str]:
    """The installed console script when there is one (what an operator runs)."""
    script = Path(sys.executable).with_name("sanal")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-m", "bot.cli", "serve"]


class Server:
    def __init__(self, folder: Path, env: dict[str, str], port: int) -> None:
        self.folder = folder
        self.port = port
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
        self.env.update(env, SANAL_HOST="127.0.0.1", SANAL_PORT=str(port))
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.folder.glob("serve-*.log"))
        )

    async def start(self, limit_seconds: float = 20.0) -> None:
        assert not self.running, "already running"
        self.starts += 1
        with (self.folder / f"serve-{self.starts}.log").open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *command(), cwd=self.folder, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = asyncio.get_running_loop().time() + limit_seconds
        async with aiohttp.ClientSession() as http:
            while True:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"sanal serve exited at start:\n{self.logs()[-3000:]}")
                try:
                    # Up is up: a 503 names problems (an outbox failing under injected
                    # faults, say) but the server answers; the tests look at those themselves.
                    async with http.get(f"{self.url}/healthz") as resp:
                        if resp.status in (200, 503):
                            return
                except aiohttp.ClientError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"sanal serve did not answer:\n{self.logs()[-3000:]}")
                await asyncio.sleep(0.05)

    async def kill9(self) -> None:
        """SIGKILL: no cleanup, no flush, exactly what a power cut does to the process."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        await self.proc.wait()

    async def interrupt(self) -> int:
        """Ctrl+C: the orderly stop."""
        assert self.proc is not None
        if self.running:
            self.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                await self.kill9()
        return self.proc.returncode
