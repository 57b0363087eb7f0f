"""Reading the shipped deploy/ files the way systemd and Sanal read them."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices

from bot.core.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "sanal.service"
ENV_EXAMPLE = DEPLOY / "sanal.env"
CADDY_DROP_IN = DEPLOY / "caddy-metrics.conf"
CADDYFILE = DEPLOY / "Caddyfile"
WRAPPER = DEPLOY / "sanal"

_ASSIGNMENT = re.compile(r"^#?([A-Z][A-Z0-9_]*)=(.*)$")


def unit_settings(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of a unit file, in order; a key may repeat (SystemCallFilter)."""
    found: list[tuple[str, str, str]] = []
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def unit_value(path: Path, key: str) -> str:
    """The value systemd uses: the last assignment of the key."""
    values = [v for _, k, v in unit_settings(path) if k == key]
    assert values, f"{path.name} has no {key}="
    return values[-1]


def env_lines(path: Path) -> list[tuple[str, str, bool]]:
    """(name, value, on) of every NAME=value line of an env file, the commented ones too."""
    found = []
    for raw in path.read_text().splitlines():
        m = _ASSIGNMENT.match(raw.strip())
        if m:
            found.append((m.group(1), m.group(2), not raw.startswith("#")))
    return found


def setting_names() -> dict[str, str]:
    """Every environment variable Sanal reads, and the Settings field it sets."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    names: dict[str, str] = {}
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(choice): field for choice in alias.choices}
        else:
            names[(prefix + field).upper()] = field
    return names
