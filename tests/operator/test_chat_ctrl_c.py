"""One Ctrl+C quits `sanal chat`: at once, exit code 0, one short line, no traceback
(before, the process stayed until Enter, waiting for a thread blocked in input(); with a
pipe nobody closes, for ever). A real child process, its stdin a pipe or a terminal."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

import pytest

from tests.faults.serve import PREFIXES, command

LIMIT = 10.0


def start(folder: Path, stdin: int | IO[bytes] | None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env.update(SANAL_BALLOT_KEY="chat-test-key")
    return subprocess.Popen(
        [*command()[:-1], "chat", "--phone", "99112233", "--db", str(folder / "sanal.db")],
        cwd=folder,
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def interrupt_once(proc: subprocess.Popen[bytes]) -> tuple[int, str, str, float]:
    assert proc.stdout is not None
    assert proc.stderr is not None
    first = proc.stdout.readline().decode()  # the reply to the first line: chatting
    assert "НЭГДЭХ" in first, first
    time.sleep(0.3)  # waiting for the next line
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("one Ctrl+C did not stop sanal chat")
    seconds = time.monotonic() - sent
    out, err = proc.communicate()  # what is left, and the pipes closed
    return proc.returncode, out.decode(), err.decode(), seconds


def check(code: int, out: str, err: str) -> None:
    assert code in (0, 130)
    assert out.strip().endswith("stopped"), out
    assert "Traceback" not in err, err
    assert "Aborted" not in err, err
    assert "Error" not in err, err


def test_ctrl_c_with_a_pipe(tmp_path: Path) -> None:
    proc = start(tmp_path, subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write("ТУСЛАМЖ\n".encode())
    proc.stdin.flush()  # and the pipe stays open: no end of input to stop on
    code, out, err, seconds = interrupt_once(proc)
    check(code, out, err)
    print(f"chat stopped {seconds:.2f}s after Ctrl+C")


def test_ctrl_c_at_a_terminal(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    try:
        proc = start(tmp_path, slave)
        os.write(master, "ТУСЛАМЖ\n".encode())
        code, out, err, _ = interrupt_once(proc)
        check(code, out, err)
        # The terminal is handed back as it was (blocking), for the shell after us.
        assert os.get_blocking(slave)
    finally:
        os.close(master)
        os.close(slave)


def test_end_of_input_still_ends_quietly(tmp_path: Path) -> None:
    script = tmp_path / "lines.txt"
    script.write_text("ТУСЛАМЖ\nНЭГДЭХ 644651\n", encoding="utf-8")
    with script.open("rb") as lines:
        proc = start(tmp_path, lines)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    replies = out.decode().splitlines()
    assert len(replies) == 2
    assert "Баянбулаг" in replies[1]
