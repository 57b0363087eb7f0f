"""The suite's throwaway PostgreSQL cluster (tests/postgres.py) does not outlive the process
that started it: a pytest or a bench killed with kill -9 (a timeout, a stuck run) leaves no
server running and no folder behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import postgres

ROOT = Path(__file__).resolve().parent.parent
GONE_WITHIN_S = 60.0  # a bound for a busy machine, not a speed: the check polls

STARTER = """
import sys, time
from tests.postgres import Cluster
cluster = Cluster.start()
print(cluster.root, flush=True)
time.sleep(600)
"""


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie nobody has reaped yet is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def test_a_killed_starter_leaves_no_server_running() -> None:
    try:
        postgres.find_bin()
    except postgres.NoPostgres as exc:
        pytest.skip(f"PostgreSQL: {exc}")
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert starter.stdout is not None
        root = Path(starter.stdout.readline().strip())
        assert root.name.startswith("sanal-pg-"), root
        server = int((root / "data" / "postmaster.pid").read_text().split()[0])
        assert running(server)
    finally:
        starter.send_signal(signal.SIGKILL)  # no atexit, no finally: only the watchdog
        starter.wait()
        if starter.stdout is not None:
            starter.stdout.close()
    deadline = time.monotonic() + GONE_WITHIN_S
    while (running(server) or root.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running(server), "the server outlived the process that started it"
    assert not root.exists(), f"{root} left behind"


def test_a_stopped_cluster_takes_its_watchdog_with_it() -> None:
    try:
        cluster = postgres.Cluster.start()
    except postgres.NoPostgres as exc:
        pytest.skip(f"PostgreSQL: {exc}")
    watchdog = cluster._watchdog
    assert watchdog is not None
    assert watchdog.poll() is None
    cluster.stop()
    assert watchdog.returncode == 0
    assert not cluster.root.exists()
