"""Benchmark 4: peak resident memory of `sanal serve` with 100,000 registered citizens and a
round of 30 proposals, beside the same process on an empty database."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.common import header, new_app, populate

CITIZENS = 100_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve_and_measure(folder: Path) -> int:
    """Start serve on the database in ``folder``, exercise it, return peak RSS in KiB."""
    port = _free_port()
    env = {
        **os.environ,
        "SANAL_DB": str(folder / "sanal.db"),
        "SANAL_PORT": str(port),
        "SANAL_BALLOT_KEY": "bench",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(f"{url}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            # A citizen lists and votes, and the same requests a few hundred times.
            for i in range(300):
                phone = f"+9769{i:07d}"
                for text in ("ЖАГСААЛТ", "СОНГО 1 2", "МИНИЙ"):
                    async with session.post(
                        f"{url}/api/sim/messages", json={"phone": phone, "text": text}
                    ) as resp:
                        assert resp.status == 200, (resp.status, await resp.text())
        status = await asyncio.to_thread(Path(f"/proc/{proc.pid}/status").read_text)
        return int(
            next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
        )
    finally:
        proc.terminate()
        await proc.wait()


async def main(citizens: int = CITIZENS) -> None:
    header(f"Memory of `sanal serve`: {citizens:,} citizens and 30 proposals vs empty")
    with tempfile.TemporaryDirectory() as full_dir, tempfile.TemporaryDirectory() as empty_dir:
        for folder, n in ((Path(full_dir), citizens), (Path(empty_dir), 0)):
            app = new_app(folder)
            await app.open()
            if n:
                await populate(app, n, 30, n // 2, channel="sim")
            await app.stop()
        t0 = time.perf_counter()
        full = await _serve_and_measure(Path(full_dir))
        empty = await _serve_and_measure(Path(empty_dir))
        took = time.perf_counter() - t0
    print(f"peak RSS, {citizens:,} citizens: {full / 1024:7.1f} MiB")
    print(f"peak RSS, empty database:     {empty / 1024:7.1f} MiB")
    print(f"ratio full/empty: {full / empty:.2f}   (measured in {took:.1f} s)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else CITIZENS))
