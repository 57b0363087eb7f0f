"""README's "Deploy" section, walked as far as it runs here (no systemd running, no
internet): its commands and files are checked against what they name.

* every `sanal ...` command (and `/opt/sanal/bin/sanal ...`) is a real command of the CLI,
  with real options;
* every file it installs from deploy/ exists, and lands where the other files expect it
  (the unit's EnvironmentFile and ExecStart, Debian's caddy.service's Caddyfile, the
  wrapper's paths);
* every webhook URL it tells the officer to paste is a route of Sanal and passed on by the
  Caddyfile, and every path the Caddyfile passes on is a route (or /metrics, which the
  metrics work adds);
* every shell block parses (`bash -n`).
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest

from bot.cli import main as cli
from bot.core.settings import Settings
from bot.web import build_web_app
from bot.wiring import build
from tests.deploy.caddy import DOMAIN, SHIPPED
from tests.deploy.units import CADDY_DROP_IN, DEPLOY, REPO, UNIT, WRAPPER, unit_value

README = REPO / "README.md"
PENDING_ROUTES = {"/metrics"}  # in the Caddyfile before its route exists (the metrics work)


def deploy_section() -> str:
    text = README.read_text()
    start = text.index("## Deploy")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", deploy_section(), re.S)


def commands() -> list[list[str]]:
    """Each command line of the shell blocks, split as the shell would (comments dropped)."""
    found = []
    for block in shell_blocks():
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                found.append(words)
    return found


def test_the_section_has_commands() -> None:
    assert len(shell_blocks()) >= 8
    assert any(w[0] == "sanal" for w in commands())


def test_every_shell_block_parses() -> None:
    for block in shell_blocks():
        done = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True)
        assert done.returncode == 0, f"{done.stderr}\n{block}"


def _resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    """The click command a `sanal ...` line runs, and the words left for it."""
    command: click.Command = cli
    rest = words[1:]
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.get_command(click.Context(command), rest[0])
        assert sub is not None, f"`{' '.join(words)}`: no command {rest[0]!r}"
        command, rest = sub, rest[1:]
    return command, rest


def sanal_lines() -> list[list[str]]:
    lines = [w for w in commands() if w[0] in ("sanal", "/opt/sanal/bin/sanal")]
    # Inline too: `sanal ...` in a sentence's code span (not a placeholder like <db>).
    text = deploy_section()
    inline = re.findall(r"`(sanal [a-z][^`]*)`", text)
    return lines + [shlex.split(i) for i in inline if "<" not in i and "..." not in i]


def test_every_sanal_command_and_option_exists() -> None:
    lines = sanal_lines()
    assert len(lines) >= 6
    for words in lines:
        command, rest = _resolve(words)
        assert not isinstance(command, click.Group), f"`{' '.join(words)}` is not a command"
        ctx = click.Context(command)
        # click parses the words as the command would: unknown options, missing or extra
        # arguments and bad choices raise here.
        try:
            command.parse_args(ctx, list(rest))
        except click.UsageError as exc:
            pytest.fail(f"`{' '.join(words)}`: {exc.format_message()}")


def _installs() -> dict[str, str]:
    """deploy/<file> -> where the section installs it."""
    found: dict[str, str] = {}
    for words in commands():
        if words[0] != "install":
            continue
        paths = [w for w in words[1:] if not w.startswith("-") and not re.fullmatch(r"\d+|\w+", w)]
        sources = [p for p in paths if "/deploy/" in p]
        if sources:
            found[Path(sources[0]).name] = paths[-1]
    return found


def test_installed_files_exist_and_land_where_expected() -> None:
    installs = _installs()
    for name in installs:
        assert (DEPLOY / name).exists(), f"README installs deploy/{name}, which does not exist"
    assert installs["sanal.service"] == "/etc/systemd/system/sanal.service"
    assert installs["sanal.env"] == unit_value(UNIT, "EnvironmentFile")
    assert installs["Caddyfile"] == "/etc/caddy/Caddyfile"  # Debian's caddy.service reads it
    assert installs["sanal"] == "/usr/local/bin/sanal"
    drop_in = installs["caddy-metrics.conf"]
    assert re.fullmatch(r"/etc/systemd/system/caddy\.service\.d/[\w-]+\.conf", drop_in)
    assert drop_in.endswith(".conf")
    assert CADDY_DROP_IN.exists()
    # The venv the section makes is the one the unit and the wrapper run.
    venvs = [w[-1] for w in commands() if w[:3] == ["python3", "-m", "venv"]]
    assert venvs == ["/opt/sanal"]
    assert unit_value(UNIT, "ExecStart").startswith(f"{venvs[0]}/bin/sanal ")
    assert f"venv={venvs[0]}\n" in WRAPPER.read_text()
    # The user it makes is the unit's, and its home the unit's folder.
    adduser = next(w for w in commands() if w[0] == "adduser")
    assert adduser[-1] == unit_value(UNIT, "User") == unit_value(UNIT, "Group")
    home = adduser[adduser.index("--home") + 1]
    assert home == unit_value(UNIT, "WorkingDirectory")
    assert home == "/var/lib/" + unit_value(UNIT, "StateDirectory")


def test_the_domain_placeholder_is_replaced_in_the_caddyfile() -> None:
    seds = [w for w in commands() if w[0] == "sed" and "/etc/caddy/Caddyfile" in w]
    assert seds, "README should say how to put the name in the Caddyfile"
    pattern = seds[0][2].split("/")[1]  # s/<pattern>/<name>/
    assert re.search(pattern, SHIPPED.read_text()), "the sed finds nothing to replace"
    assert re.sub(pattern, "", DOMAIN) == ""


def _routes() -> set[str]:
    """Sanal's routes with every channel on (Twilio, the gateway, Telegram's webhook)."""
    values: dict[str, Any] = {
        "db": Path("/nonexistent/sanal.db"),
        "public_url": "https://sanal.example.mn",
        "sms_provider": "twilio,android",
        "twilio_account_sid": "AC" + "0" * 32,
        "twilio_auth_token": "t",
        "twilio_from_number": "+15005550006",
        "android_gateway_url": "http://127.0.0.1:9",
        "android_gateway_user": "u",
        "android_gateway_password": "p",
        "android_signing_key": "k",
        "telegram_bot_token": "7000000001:AAH" + "x" * 32,
        "telegram_mode": "webhook",
        "simulator": "off",
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    app = build_web_app(build(settings))
    paths: set[str] = set()
    for route in app.router.routes():
        path = route.resource.get_info().get("path") if route.resource else None
        if path is not None:
            paths.add(path)
    return paths


def _caddy_paths() -> set[str]:
    return {
        p
        for line in SHIPPED.read_text().splitlines()
        if line.strip().startswith("path ")
        for p in line.split()[1:]
    }


def test_webhook_urls_are_routes_and_pass_caddy() -> None:
    routes = _routes()
    caddy = _caddy_paths()
    named = set(re.findall(r"https://sanal\.zag\.gov\.mn(/[\w/]+)", deploy_section()))
    assert {"/sms/twilio", "/sms/twilio/status", "/sms/android", "/telegram/webhook"} <= named
    for path in named:
        assert path in routes | PENDING_ROUTES, f"README names {path}: not a route of Sanal"
        assert path in caddy, f"README names {path}, which the Caddyfile does not pass on"
    missing = caddy - routes - PENDING_ROUTES
    assert missing == set(), f"the Caddyfile passes on paths Sanal does not have: {missing}"
