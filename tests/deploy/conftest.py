"""A server's layout in a temporary folder, for the checks that run Sanal as the service's
user would: a state folder owned by an unprivileged user, and /opt/sanal's venv."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

DEBIAN_PYTHON = Path("/usr/bin/python3")


@pytest.fixture
def service_folder() -> Iterator[Path]:
    """A state folder (nobody's, 0700) and a venv of Debian's python3, as README "Deploy"
    makes /opt/sanal, outside pytest's folder (root's, 0700, which nobody cannot enter).

    The venv gets this test venv's packages through a .pth line instead of a download
    (tests do not touch the internet), so its Python must be the same minor version. The
    test venv's own interpreter is no use here: on CI machines it can live under /root,
    which an unprivileged user cannot reach (nor will the service on a server)."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to run sanal serve as another user (CI runs as root)")
    if not DEBIAN_PYTHON.exists():
        pytest.skip("no /usr/bin/python3 (Debian's python3) on this machine")
    version = subprocess.run(
        [str(DEBIAN_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if version != str(sys.version_info[:2]):
        pytest.skip(f"Debian's python3 is {version}, the test venv's {sys.version_info[:2]}")
    nobody = pwd.getpwnam("nobody")
    folder = Path(tempfile.mkdtemp(prefix="sanal-unit-"))
    try:
        venv = folder / "opt-sanal"
        subprocess.run([str(DEBIAN_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
        purelib = Path(sysconfig.get_paths()["purelib"])
        [site] = venv.glob("lib/python3*/site-packages")
        (site / "test-venv.pth").write_text(f"{purelib}\n")
        # The console script pip makes from pyproject's [project.scripts].
        script = venv / "bin" / "sanal"
        script.write_text(
            f"#!{venv}/bin/python\nimport sys\nfrom bot.cli import main\nsys.exit(main())\n"
        )
        script.chmod(0o755)
        for d in (folder / "state", folder / "cache"):
            d.mkdir(mode=0o700)
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
        folder.chmod(0o755)  # mkdtemp's is 0700; the venv inside is 0755/0644 already
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
