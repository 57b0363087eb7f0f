"""What every `sanal` command shares: the `--db` option and settings read with one clear line.

The CLI is split over bot/cli.py, bot/backup_cli.py and bot/reports/cli.py; they import
these rather than each keep a copy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from bot.settings import Settings, env_file_values, explain

db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file (SANAL_DB, default ./sanal.db)",
)


def settings_for(**overrides: Any) -> Settings:
    """Settings from the environment, with the options given (None: not given)."""
    values = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**values)
    except ValidationError as exc:  # one line naming the variable, not pydantic's four
        options = {k: f"--{k.replace('_', '-')} {v}" for k, v in values.items()}
        raise click.ClickException(explain(exc, options, os.environ, _env_file())) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # a .env that cannot be read
        raise click.ClickException(f"settings: {exc}") from None


def _env_file() -> dict[str, str]:
    try:
        return env_file_values()
    except (OSError, UnicodeDecodeError):
        return {}
