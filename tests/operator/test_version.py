"""`sanal --version`: the installed package's version, from its metadata."""

from __future__ import annotations

import subprocess
from importlib.metadata import version

from click.testing import CliRunner

from bot.cli import main
from tests.faults.serve import command


def test_version_from_the_package_metadata() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"sanal {version('sanal')}\n"


def test_the_installed_command_says_it_too() -> None:
    done = subprocess.run(
        [*command()[:-1], "--version"], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout == f"sanal {version('sanal')}\n"
    assert done.stderr == ""
