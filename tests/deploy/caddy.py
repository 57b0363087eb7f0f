"""Caddy as a real child process, running the shipped deploy/Caddyfile on loopback.

The test Caddyfile is the shipped one with only what differs on a test machine changed:
the site's name (``localhost`` instead of ``sanal.example.mn``), Sanal's port, and test
options added at the top of the global options block: ``local_certs`` (Caddy's own CA,
what ``tls internal`` does, instead of Let's Encrypt), high ports on 127.0.0.1 only, the
admin API off, certificates stored in the test's folder, and the CA root kept out of the
system's trust store. The routes, matchers and refusals are the shipped ones, line for line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "Caddyfile"
DOMAIN = "sanal.example.mn"  # the placeholder an officer replaces with their host name
UPSTREAM = "127.0.0.1:8080"  # SANAL_HOST:SANAL_PORT's defaults
LOCAL_RANGES = "remote_ip private_ranges"


def caddy_binary() -> str | None:
    return shutil.which("caddy")


def caddyfile_for_test(
    shipped: str,
    *,
    sanal_port: int,
    https_port: int,
    http_port: int,
    storage: Path,
    local_ranges: str | None = None,
) -> str:
    """The shipped Caddyfile for loopback. ``local_ranges`` replaces what counts as the
    local network for /metrics (a range the test's loopback is not in plays "outside")."""
    text = _replace_once(shipped, DOMAIN + " {", "localhost {")
    text = _replace_once(text, f"reverse_proxy {UPSTREAM}", f"reverse_proxy 127.0.0.1:{sanal_port}")
    if local_ranges is not None:
        text = _replace_once(text, LOCAL_RANGES, f"remote_ip {local_ranges}")
    options = [
        "admin off",
        "default_bind 127.0.0.1",
        f"http_port {http_port}",
        f"https_port {https_port}",
        "local_certs",
        "skip_install_trust",
        f"storage file_system {storage}",
    ]
    lines = text.splitlines()
    first = lines.index("{")  # the global options block: test options go first in it
    lines[first + 1 : first + 1] = ["\t" + o for o in options]
    return "\n".join(lines) + "\n"


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the shipped Caddyfile should have {old!r} once"
    return text.replace(old, new)


@dataclass
class Caddy:
    folder: Path
    config: str
    https_port: int
    http_port: int
    env: dict[str, str] = field(default_factory=dict)
    proc: asyncio.subprocess.Process | None = None

    @property
    def storage(self) -> Path:
        return self.folder / "storage"

    @property
    def url(self) -> str:
        return f"https://localhost:{self.https_port}"

    @property
    def root_ca(self) -> Path:
        """Caddy's local CA root: what a client trusts to check the served certificate."""
        return self.storage / "pki" / "authorities" / "local" / "root.crt"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.root_ca))

    def logs(self) -> str:
        path = self.folder / "caddy.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def start(self, limit_seconds: float = 20.0) -> Caddy:
        binary = caddy_binary()
        assert binary is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "Caddyfile"
        config.write_text(self.config)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANAL_")}
        # Caddy's autosave.json and anything else it keeps: in the test's folder, not ~.
        env |= {
            "HOME": str(self.folder),
            "XDG_CONFIG_HOME": str(self.folder / "config"),
            "XDG_DATA_HOME": str(self.folder / "data"),
        }
        env |= self.env
        with (self.folder / "caddy.log").open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *[binary, "run", "--config", str(config), "--adapter", "caddyfile"],
                env=env,
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = asyncio.get_running_loop().time() + limit_seconds
        while True:
            if self.proc.returncode is not None:
                raise RuntimeError(f"caddy exited at start:\n{self.logs()[-3000:]}")
            if self.root_ca.exists() and await self._handshake():
                return self
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"caddy did not answer:\n{self.logs()[-3000:]}")
            await asyncio.sleep(0.1)

    async def _handshake(self) -> bool:
        try:
            _, writer = await asyncio.open_connection(
                "127.0.0.1", self.https_port, ssl=self.ssl_context(), server_hostname="localhost"
            )
        except (OSError, ssl.SSLError):
            return False
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
        return True

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


async def raw_request(
    caddy: Caddy,
    method: str,
    target: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    *,
    https: bool = True,
) -> Answer:
    """One HTTP/1.1 request with the target exactly as given (an HTTP client library
    would tidy ``/a/../b`` and escapes away before sending: attackers do not)."""
    port = caddy.https_port if https else caddy.http_port
    tls = {"ssl": caddy.ssl_context(), "server_hostname": "localhost"} if https else {}
    reader, writer = await asyncio.open_connection("127.0.0.1", port, **tls)  # type: ignore[arg-type]
    lines = [f"{method} {target} HTTP/1.1", f"Host: localhost:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 15)
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found[name.strip().lower()] = value.strip()
    return Answer(int(status_line.split()[1]), found, rest)
