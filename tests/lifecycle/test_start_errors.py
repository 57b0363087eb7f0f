"""Start errors: a corrupt or non-SQLite file, a path that cannot be written, a port in
use. Each command says so in one line and exits non-zero, at once: before this, a corrupt
file printed a 50-line traceback and then hung forever (an aiosqlite thread left open).

The commands run as real child processes (the installed `sanal` script), with a time
limit: a hang fails the test instead of stalling it.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.faults.serve import PREFIXES, command, free_port

LIMIT = 30.0  # seconds; an answer takes one or two (the interpreter's start)
COMMANDS = [
    ["serve"],
    ["migrate"],
    ["official", "list"],
    ["official", "add", "--phone", "99112233", "--role", "governor", "--unit", "644651"],
    ["sms-cost"],
    ["report", "participation", "6446"],
]


def sanal(folder: Path, *args: str, **env: str) -> tuple[int, str, str, float]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    clean.update(env, SANAL_BALLOT_KEY="test-ballot-key")
    if args[0] == "serve" and "--port" not in args:  # 8080 may be someone else's
        args = (*args, "--host", "127.0.0.1", "--port", str(free_port()))
    started = time.monotonic()
    done = subprocess.run(
        [*command()[:-1], *args],
        cwd=folder,
        env=clean,
        capture_output=True,
        text=True,
        timeout=LIMIT,  # raises (the test fails) if the command hangs
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def assert_one_line(rc: int, out: str, err: str, *words: str) -> str:
    assert rc != 0, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err + out
    line = lines[0]
    assert line.startswith("Error: "), line
    for word in words:
        assert word in line, line
    return line


def _page_overwritten(folder: Path) -> Path:
    """A real Sanal database, one of its pages overwritten with random bytes."""
    db = folder / "sanal.db"
    rc, _out, err, _ = sanal(folder, "migrate", "--db", str(db))
    assert rc == 0, err
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    assert pages > 10
    with db.open("r+b") as f:
        f.seek(page * 5)
        f.write(os.urandom(page))
    return db


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_file_that_is_not_sqlite(tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "sanal.db"
    db.write_bytes(os.urandom(20_000))
    db.chmod(0o600)  # as Sanal makes its files: a 0644 one adds the warning that it tightened it
    before = db.read_bytes()
    rc, out, err, _ = sanal(tmp_path, *args, "--db", str(db))
    assert_one_line(rc, out, err, str(db), "not a usable SQLite database")
    assert db.read_bytes() == before  # nothing written into it


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_database_with_a_damaged_page(tmp_path: Path, args: list[str]) -> None:
    db = _page_overwritten(tmp_path)
    rc, out, err, _ = sanal(tmp_path, *args, "--db", str(db))
    assert_one_line(rc, out, err, "damaged", "restore a backup")


@pytest.mark.parametrize("args", [["serve"], ["migrate"], ["official", "list"]])
def test_a_path_that_cannot_be_written(tmp_path: Path, args: list[str]) -> None:
    # A regular file where the folder should be: unwritable even for root (tests may run
    # as root, whom chmod does not stop).
    (tmp_path / "data").write_text("not a folder")
    for db in (tmp_path / "data" / "sanal.db", tmp_path / "data" / "sub" / "sanal.db"):
        rc, out, err, _ = sanal(tmp_path, *args, "--db", str(db))
        assert_one_line(rc, out, err, "folder" if db.parent.name == "data" else "directory")


def test_a_folder_without_write_permission(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes whatever the mode says; the test above covers root")
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    try:
        rc, out, err, _ = sanal(tmp_path, "migrate", "--db", str(folder / "sanal.db"))
        assert_one_line(rc, out, err, "ermission denied")
    finally:
        folder.chmod(0o700)


def test_a_port_in_use(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        db = tmp_path / "sanal.db"
        rc, out, err, seconds = sanal(
            tmp_path, "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port)
        )
    assert_one_line(rc, out, err, f"127.0.0.1:{port}", "in use")
    # The port is taken before the database is opened: a second `serve` by mistake
    # neither creates nor migrates a file.
    assert not db.exists()
    print(f"port in use: answered in {seconds:.1f}s")


def test_a_healthy_database_still_opens(tmp_path: Path) -> None:
    db = tmp_path / "sanal.db"
    rc, out, err, _ = sanal(tmp_path, "migrate", "--db", str(db))
    assert rc == 0, err
    assert "applied" in out, err
    rc, out, err, _ = sanal(tmp_path, "official", "list", "--db", str(db))
    assert rc == 0, err
    assert out.strip() == "no officials yet", err
