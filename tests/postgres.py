"""A throwaway PostgreSQL cluster for tests and benchmarks: no system service, no network.

Debian's ``postgresql`` package puts its programs in /usr/lib/postgresql/<version>/bin
and starts nothing by itself. :class:`Cluster` runs ``initdb`` and ``postgres`` in a
temporary directory as an unprivileged user (initdb refuses root), listening on a unix
socket in that directory and on 127.0.0.1 (tests/netguard.py allows both), with
durability off: a test's database lives seconds, and fsync would be most of its cost.

A migrated template database is made once; each test gets a copy of it
(``CREATE DATABASE ... TEMPLATE``, a file copy on the server, a few tens of
milliseconds), so no test sees another's rows.

From bench/ or a shell::

    with Cluster.start() as cluster:
        url = cluster.new_database()

The server outlives nothing that started it: a watchdog (this file run as a script, in a
session of its own) holds one end of a pipe whose other end only the starting process
has; when that process ends in any way, kill -9 included, the pipe closes and the
watchdog stops the server and removes its folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

USER = "sanal"  # the cluster's superuser (trust authentication: only we can reach it)
TEMPLATE = "sanal_template"
WITH_UNITS = "sanal_template_units"  # the same, with the national units loaded
START_TIMEOUT_S = 30.0
WATCH = "--stop-when-gone"  # this file as a script: the watchdog (see the module's doc)


class NoPostgres(RuntimeError):
    """No PostgreSQL server programs on this machine (or no user to run them as)."""


def find_bin() -> Path:
    """The newest installed PostgreSQL's bin directory (with initdb, pg_ctl, postgres)."""
    explicit = os.environ.get("SANAL_PG_BIN")
    candidates = [explicit] if explicit else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    found = shutil.which("pg_config")
    if found:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            candidates.append(
                subprocess.run(
                    [found, "--bindir"], capture_output=True, text=True, check=True
                ).stdout.strip()
            )
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    raise NoPostgres(
        "no PostgreSQL server found (initdb in /usr/lib/postgresql/*/bin or pg_config "
        "--bindir; Debian: apt-get install postgresql)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run_as() -> tuple[list[str], int, int]:
    """The command prefix that drops root (initdb and postgres refuse to run as root)."""
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError as exc:
        raise NoPostgres("running as root and there is no user 'nobody' to run it as") from exc
    return (
        ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"],
        nobody.pw_uid,
        nobody.pw_gid,
    )


@dataclass
class Cluster:
    bindir: Path
    root: Path
    port: int
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    started_in_s: float = 0.0
    _watchdog: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _lifeline: int | None = field(default=None, repr=False)  # the pipe's end we hold

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    def url(self, database: str) -> str:
        """A URL asyncpg and SANAL_DB accept: the unix socket, no password."""
        return f"postgresql://{USER}@/{database}?host={self.socket_dir}&port={self.port}"

    @classmethod
    def start(cls) -> Cluster:
        began = time.monotonic()
        bindir = find_bin()
        prefix, uid, gid = _run_as()
        root = Path(tempfile.mkdtemp(prefix="sanal-pg-"))
        os.chmod(root, 0o700)
        (root / "run").mkdir()
        os.chown(root, uid, gid)
        os.chown(root / "run", uid, gid)
        cluster = cls(bindir=bindir, root=root, port=_free_port())
        try:
            cluster._watch()
            subprocess.run(
                [
                    *prefix,
                    str(bindir / "initdb"),
                    "-D",
                    str(root / "data"),
                    "-U",
                    USER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
                cwd=root,
            )
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={cluster.port} "
                f"-c unix_socket_directories={root / 'run'} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200 -c shared_buffers=32MB"
            )
            subprocess.run(
                [
                    *prefix,
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(root / "data"),
                    "-l",
                    str(root / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(int(START_TIMEOUT_S)),
                    "start",
                ],
                check=True,
                capture_output=True,
                cwd=root,
            )
            asyncio.run(cluster._make_template())
        except BaseException:
            cluster.stop()
            raise
        cluster.started_in_s = time.monotonic() - began
        return cluster

    def _watch(self) -> None:
        """Start the watchdog that stops this cluster once this process is gone."""
        # os.pipe's ends are not inherited by the programs this process starts: only the
        # watchdog (its stdin) and this process hold them, so the end of this process is
        # the end of the pipe.
        read, write = os.pipe()
        try:
            self._watchdog = subprocess.Popen(
                [sys.executable, "-I", __file__, WATCH, str(self.bindir), str(self.root)],
                stdin=read,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl+C or a group kill aimed at pytest misses it
                cwd="/",
            )
        except BaseException:
            os.close(write)
            raise
        finally:
            os.close(read)
        self._lifeline = write

    async def _make_template(self) -> None:
        import asyncpg

        from storage import units
        from storage.db import Database

        admin = await asyncpg.connect(self.url("postgres"))
        try:
            await admin.execute(f"CREATE DATABASE {TEMPLATE}")
            # Migrated without a ballot key: each copy settles its own key's fingerprint.
            db = await Database(self.url(TEMPLATE)).open()
            await db.close()
            # The suite's pass on PostgreSQL (tests/suite_backend.py) starts from a copy
            # with the national units, which an app loads into an empty database at its
            # first open (bot/app.py): 2,170 rows of the server's time for every test.
            await admin.execute(f"CREATE DATABASE {WITH_UNITS} TEMPLATE {TEMPLATE}")
        finally:
            await admin.close()
        db = await Database(self.url(WITH_UNITS)).open()
        try:
            async with db.write() as conn:
                await units.upsert_units(conn, units.packaged_units())
        finally:
            await db.close()

    def new_database(self) -> str:
        """A fresh, migrated database: its URL."""
        name = f"t{os.getpid()}_{next(self._counter)}"
        asyncio.run(self._create(name))
        return self.url(name)

    async def create(self, copy_of: str | None = None, *, with_units: bool = False) -> str:
        """:meth:`new_database` from inside a running event loop (``with_units``: the
        national units already loaded); or a copy of the database at ``copy_of`` (a URL
        of this cluster's, with nobody connected to it)."""
        name = f"t{os.getpid()}_{next(self._counter)}"
        template = WITH_UNITS if with_units else TEMPLATE
        await self._create(name, urlsplit(copy_of).path.lstrip("/") if copy_of else template)
        return self.url(name)

    async def _create(self, name: str, template: str = TEMPLATE) -> None:
        import asyncpg

        admin = await asyncpg.connect(self.url("postgres"))
        try:
            # PostgreSQL 15 copies a template through its WAL by default; a file copy is
            # two to four times faster for a small database (its checkpoint costs nothing
            # with fsync off), and the suite makes one for every test.
            file_copy = admin.get_server_version().major >= 15
            strategy = " STRATEGY FILE_COPY" if file_copy else ""
            await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}{strategy}")
        finally:
            await admin.close()

    async def drop(self, url: str) -> None:
        import asyncpg

        name = urlsplit(url).path.lstrip("/")
        admin = await asyncpg.connect(self.url("postgres"))
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()

    def stop(self) -> None:
        prefix, _, _ = _run_as()
        if (self.root / "data" / "postmaster.pid").exists():
            subprocess.run(
                [
                    *prefix,
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.root / "data"),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
                check=False,
                capture_output=True,
                cwd=self.root,
            )
        shutil.rmtree(self.root, ignore_errors=True)
        lifeline, self._lifeline = self._lifeline, None
        if lifeline is not None:
            os.close(lifeline)  # the watchdog finds nothing left to stop, and exits
        if self._watchdog is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._watchdog.wait(START_TIMEOUT_S)
            self._watchdog = None

    def __enter__(self) -> Cluster:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# --- pytest fixtures (imported by tests/conftest.py) ---------------------------------

_started: Cluster | None = None
_refused: str | None = None


def cluster_or_skip() -> Cluster:
    """The session's cluster, started on first use; skips the test where there is none."""
    import pytest

    global _started, _refused
    if _refused is not None:
        pytest.skip(_refused)
    if _started is None:
        try:
            _started = Cluster.start()
        except NoPostgres as exc:
            _refused = f"PostgreSQL: {exc}"
            pytest.skip(_refused)
        except subprocess.CalledProcessError as exc:
            _refused = f"PostgreSQL did not start: {exc.stderr.decode(errors='replace')[-500:]}"
            pytest.skip(_refused)
    return _started


def stop_cluster() -> None:
    global _started
    if _started is not None:
        _started.stop()
        _started = None


def main() -> int:
    """``python -m tests.postgres``: start and stop a cluster; exit 0 if PostgreSQL can be
    started here (`make test` then runs its second pass), else say why in one line."""
    try:
        with Cluster.start() as cluster:
            print(f"PostgreSQL: a cluster starts here ({cluster.started_in_s:.1f} s)")
    except NoPostgres as exc:
        print(f"PostgreSQL: {exc}")
        return 1
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"PostgreSQL did not start: {exc}")
        return 1
    return 0


def watchdog(bindir: Path, root: Path) -> int:
    """Wait until the pipe on stdin closes (the process that started the cluster has
    ended or stopped it), then stop the cluster if it still runs."""
    while sys.stdin.buffer.read(4096):
        pass
    Cluster(bindir=bindir, root=root, port=0).stop()
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == [WATCH]:
        raise SystemExit(watchdog(Path(sys.argv[2]), Path(sys.argv[3])))
    raise SystemExit(main())
