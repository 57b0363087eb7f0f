"""deploy/sanal, the `sanal` an officer types as root on the server: the command runs as
the service's user, in its folder, with its settings, and what it makes is that user's.

Run here with its four paths and user pointed at a temporary server layout (the user is
nobody; tests/deploy/conftest.py); everything else is the shipped script."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import pytest

from tests.deploy.units import ENV_EXAMPLE, REPO, WRAPPER, env_lines

SETTINGS = {"venv": "/opt/sanal", "user": "sanal", "state": "/var/lib/sanal"}
ENV_FILE = "/etc/sanal/sanal.env"


def test_the_wrapper_is_valid_sh() -> None:
    for shell in ("sh", "bash"):
        done = subprocess.run([shell, "-n", str(WRAPPER)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert os.access(WRAPPER, os.X_OK), "deploy/sanal should be executable"


def _wrapper(folder: Path) -> Path:
    text = WRAPPER.read_text()
    values = {
        "venv": folder / "opt-sanal",
        "user": "nobody",
        "state": folder / "state",
        "env_file": folder / "sanal.env",
    }
    shipped = SETTINGS | {"env_file": ENV_FILE}
    for name, value in values.items():
        line = f"{name}={shipped[name]}\n"
        assert text.count(line) == 1, f"deploy/sanal should set {line.strip()} once"
        text = text.replace(line, f"{name}={value}\n")
    script = folder / "sanal-wrapper"
    script.write_text(text)
    script.chmod(0o755)
    # The settings file as README installs it (root's, 0600), for this layout.
    env = {name: value for name, value, on in env_lines(ENV_EXAMPLE) if on}
    env |= {"SANAL_DB": str(folder / "state" / "sanal.db")}
    settings = folder / "sanal.env"
    settings.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    settings.chmod(0o600)
    return script


def _run(script: Path, *args: str, as_nobody: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANAL_", "TWILIO_"))}
    env["PYTHONPATH"] = str(REPO)  # this checkout's Sanal, as pip would install it
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if as_nobody else []
    return subprocess.run(
        [*prefix, str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        timeout=120,
        check=False,
    )


def test_commands_run_as_the_service_user(service_folder: Path) -> None:
    script = _wrapper(service_folder)
    state = service_folder / "state"
    nobody = pwd.getpwnam("nobody")

    done = _run(script, "migrate")
    assert done.returncode == 0, done.stdout + done.stderr
    listed = _run(script, "official", "list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    backup = _run(script, "backup", f"{state}/backups/")  # README: the folder, with its /
    assert backup.returncode == 0, backup.stdout + backup.stderr

    made = list(state.rglob("*"))
    assert state / "sanal.db" in made, made
    assert state / "sanal.db.key" in made, made
    assert list((state / "backups").glob("sanal-*.db")), made
    for path in made:
        st = path.stat()
        assert st.st_uid == nobody.pw_uid, f"{path} is not the service user's"
        assert st.st_mode & 0o077 == 0, f"{path} is open to others: {oct(st.st_mode)}"


def test_serve_is_left_to_systemd(service_folder: Path) -> None:
    done = _run(_wrapper(service_folder), "serve")
    assert done.returncode == 1
    assert "systemctl start sanal" in done.stderr
    assert not (service_folder / "state" / "sanal.db").exists()


def test_only_root_may_run_it(service_folder: Path) -> None:
    if not Path("/usr/bin/setpriv").exists():
        pytest.skip("no setpriv (util-linux)")
    done = _run(_wrapper(service_folder), "official", "list", as_nobody=True)
    assert done.returncode == 1
    assert "run it as root" in done.stderr
