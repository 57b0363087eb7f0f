"""deploy/sanal.service, deploy/sanal.env and the Caddy drop-in, checked as far as this
machine allows: systemd is not running here (no PID 1 to start the unit), so

* ``systemd-analyze verify`` checks the unit as systemd would load it (every key known and
  valid, the ExecStart binary present and executable: the copy verified has ExecStart
  rewritten to this venv's `sanal`, the one change made to it);
* ``systemd-analyze security --offline`` scores its sandboxing;
* the numbers that must agree across files are compared (the stop timeout under systemd's
  TimeoutStopSec, the connection limit under LimitNOFILE, the database in StateDirectory);
* the env example names only real settings, and Sanal reads it;
* `sanal serve` runs under what the unit gives it, without systemd: an unprivileged user
  (nobody), a 0700 state folder as its working directory, umask 077, LimitNOFILE, no
  usable home, the env example's settings; it answers /healthz and stops in order on
  SIGTERM. As that user every other path is read-only (root's), as ProtectSystem=strict
  makes it: the check that Sanal writes nowhere but its folder.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest

from bot.core.settings import Settings
from tests.deploy.units import (
    CADDY_DROP_IN,
    CADDYFILE,
    ENV_EXAMPLE,
    REPO,
    UNIT,
    env_lines,
    setting_names,
    unit_settings,
    unit_value,
)
from tests.faults.serve import PREFIXES, command, free_port

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None,
    reason="systemd-analyze is missing (apt-get install systemd; .ci/run installs it)",
)
SHIPPED_EXEC = "/opt/sanal/bin/sanal serve"
MAX_EXPOSURE = 2.0  # systemd's scale: 0 sealed .. 10 exposed; the unit scores 1.5 ("OK")


def _sanal_binary() -> str:
    script = command()[0]
    if not script.endswith("sanal"):
        pytest.skip("the sanal script is not installed in this venv")
    return script


def _verifiable_copy(folder: Path, text: str | None = None) -> Path:
    """The unit with ExecStart pointing at this venv's `sanal` (verify needs it to exist)."""
    shipped = UNIT.read_text() if text is None else text
    assert shipped.count(f"ExecStart={SHIPPED_EXEC}") == 1
    copy = folder / "sanal.service"
    copy.write_text(shipped.replace(SHIPPED_EXEC, f"{_sanal_binary()} serve"))
    return copy


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=60, check=False)


@needs_analyze
def test_the_unit_verifies_cleanly(tmp_path: Path) -> None:
    done = _analyze("verify", str(_verifiable_copy(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", done.stdout + done.stderr
    assert done.stderr.strip() == "", done.stdout + done.stderr


@needs_analyze
def test_verify_would_see_a_mistake(tmp_path: Path) -> None:
    """The check above is not a formality: a misspelt key or a second ExecStart is seen."""
    for wrong in ("LimitNOFLIE=4096", "ExecStart=/bin/true"):
        text = UNIT.read_text().replace("[Service]\n", f"[Service]\n{wrong}\n", 1)
        done = _analyze("verify", str(_verifiable_copy(tmp_path, text)))
        assert done.stdout.strip() or done.stderr.strip(), wrong


@needs_analyze
def test_the_unit_is_sandboxed(tmp_path: Path) -> None:
    done = _analyze("security", "--offline=yes", str(_verifiable_copy(tmp_path)))
    found = re.search(r"Overall exposure level for sanal\.service: ([0-9.]+)", done.stdout)
    assert found, done.stdout[-2000:] + done.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, done.stdout


def test_the_unit_and_the_settings_agree() -> None:
    env = {name: value for name, value, on in env_lines(ENV_EXAMPLE) if on}
    fields = Settings.model_fields
    # The orderly stop (SIGTERM) ends before systemd would kill: the stop timeout the env
    # example sets, plus room for the interpreter's exit.
    stop = float(env.get("SANAL_STOP_TIMEOUT_SECONDS", fields["stop_timeout_seconds"].default))
    assert unit_value(UNIT, "KillSignal") == "SIGTERM"
    assert float(unit_value(UNIT, "TimeoutStopSec")) >= stop + 10
    # Sanal raises its soft limit to max_connections + 256 (bot/serve_loop.py): the hard
    # limit systemd sets must allow it.
    connections = int(env.get("SANAL_MAX_CONNECTIONS", fields["max_connections"].default))
    assert int(unit_value(UNIT, "LimitNOFILE")) >= connections + 256
    # The database and its key live in the state folder systemd makes 0700.
    state = Path("/var/lib") / unit_value(UNIT, "StateDirectory")
    assert unit_value(UNIT, "StateDirectoryMode") == "0700"
    assert unit_value(UNIT, "WorkingDirectory") == str(state)
    assert Path(env["SANAL_DB"]).parent == state
    assert unit_value(UNIT, "User") not in ("root", "0")
    assert unit_value(UNIT, "ExecStart") == SHIPPED_EXEC
    assert unit_value(UNIT, "EnvironmentFile") == "/etc/sanal/sanal.env"
    assert unit_value(UNIT, "Restart") == "on-failure"
    # Caddy passes the webhooks on to where Sanal listens.
    upstream = f"reverse_proxy {env['SANAL_HOST']}:{env['SANAL_PORT']}"
    assert upstream in CADDYFILE.read_text()
    # Sanal must reach the providers and take webhooks: the sandbox must not cut the network.
    keys = {k for _, k, _ in unit_settings(UNIT)}
    assert "PrivateNetwork" not in keys
    assert "IPAddressDeny" not in keys


def test_the_env_example_names_only_real_settings() -> None:
    known = setting_names()
    lines = env_lines(ENV_EXAMPLE)
    assert lines
    unknown = sorted({name for name, _, _ in lines} - set(known))
    assert unknown == [], f"not Sanal settings: {unknown}"
    for name, value, _on in lines:
        # What systemd, sh (deploy/sanal sources it) and Sanal all read the same way.
        assert re.fullmatch(r"[^\s\"'$\\`]*", value), f"{name}: keep the value plain"
    names = [name for name, _, on in lines if on]
    assert len(names) == len(set(names)), "a setting is set twice"


def test_sanal_reads_the_env_example() -> None:
    settings = Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    on = {name: value for name, value, on in env_lines(ENV_EXAMPLE) if on}
    names = setting_names()
    for name, value in on.items():
        got = getattr(settings, names[name])
        if isinstance(got, int | float):
            assert got == type(got)(value), name
        else:
            assert str(got) == value, name
    assert settings.public_url is not None
    assert settings.public_url.startswith("https://")
    assert settings.host == "127.0.0.1"  # only Caddy talks to Sanal


@needs_analyze
def test_the_caddy_drop_in_verifies_with_debians_unit(tmp_path: Path) -> None:
    debian = next(
        (
            p
            for p in (
                Path("/lib/systemd/system/caddy.service"),
                Path("/usr/lib/systemd/system/caddy.service"),
            )
            if p.exists()
        ),
        None,
    )
    if debian is None:
        pytest.skip("Debian's caddy package is not installed")
    shutil.copy(debian, tmp_path / "caddy.service")
    drop_ins = tmp_path / "caddy.service.d"
    drop_ins.mkdir()
    shutil.copy(CADDY_DROP_IN, drop_ins / "sanal-metrics.conf")
    done = _analyze("verify", str(tmp_path / "caddy.service"))
    assert done.returncode == 0, done.stderr
    assert not (done.stdout + done.stderr).strip(), done.stderr
    # Its ExecStart is Debian's without --environ (which would print the token).
    theirs = unit_value(debian, "ExecStart")
    ours = unit_value(CADDY_DROP_IN, "ExecStart")
    assert "--environ" in theirs
    assert ours.split() == [w for w in theirs.split() if w != "--environ"]


# ---------------------------------------------------------------- serve as the unit runs it


async def test_serve_runs_as_the_unit_runs_it(service_folder: Path) -> None:
    state = service_folder / "state"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env |= {name: value for name, value, on in env_lines(ENV_EXAMPLE) if on}
    env |= {
        "SANAL_DB": str(state / "sanal.db"),
        "SANAL_PORT": str(port),
        "HOME": "/nonexistent",  # ProtectHome=yes
        "MPLCONFIGDIR": str(service_folder / "cache"),  # CacheDirectory=sanal
        "PYTHONPATH": str(REPO),  # this checkout's Sanal, as pip would install it
    }
    limit = unit_value(UNIT, "LimitNOFILE")
    nobody = pwd.getpwnam("nobody")
    sanal = service_folder / "opt-sanal" / "bin" / "sanal"  # ExecStart=/opt/sanal/bin/sanal
    # util-linux's prlimit (LimitNOFILE=) and setpriv (User=, no supplementary groups,
    # NoNewPrivileges=yes, no capabilities), each replacing itself with the next: SIGTERM
    # reaches Sanal itself.
    user = [f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *["prlimit", f"--nofile={limit}:{limit}", "--"],
        *["setpriv", *user, "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"],
        *[str(sanal), "serve"],
        cwd=state,
        env=env,
        umask=0o077,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        health = None
        async with aiohttp.ClientSession() as http:
            while time.monotonic() - started < 60 and proc.returncode is None:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        health = (resp.status, await resp.json())
                    # Up, and its first sweep done, the first backup with it: a SIGTERM in
                    # the middle of a sweep logs apscheduler's CancelledError traceback
                    # (a bug of its own, noted; not this test's point).
                    if list((state / "backups").glob("sanal-*.db")):
                        await asyncio.sleep(1.0)  # the sweep's last steps after the copy
                        break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        if health is None:
            if proc.returncode is None:
                proc.kill()
            assert proc.stdout is not None
            said = (await proc.stdout.read()).decode(errors="replace")
            raise AssertionError(f"sanal serve did not answer as the unit's user:\n{said}")
        assert health[0] == 200, health
        proc.terminate()  # SIGTERM, as systemd's KillSignal
        stop = float(env["SANAL_STOP_TIMEOUT_SECONDS"])
        code = await asyncio.wait_for(proc.wait(), stop + 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.stdout is not None
    output = (await proc.stdout.read()).decode(errors="replace")
    assert code == 0, output
    made = list(state.rglob("*"))
    assert state / "sanal.db" in made, made
    assert state / "sanal.db.key" in made, made
    for path in made:
        st = path.stat()
        assert st.st_uid == nobody.pw_uid, path
        assert st.st_mode & 0o077 == 0, f"{path} is open to others: {oct(st.st_mode)}"
    # No traceback, and no warning (matplotlib's about an unwritable config folder, say).
    assert "Traceback" not in output, output
    assert "Warning" not in output, output
