"""What every `sanal` command shares: the `--db` option and settings read with one clear line.

The CLI is split over bot/cli.py, bot/backup_cli.py and bot/reports/cli.py; they import
these rather than each keep a copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bot import logs
from bot.settings import Settings

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
        settings = Settings(**values)
    except Exception as exc:  # pydantic's message names the setting and the problem
        raise click.ClickException(f"bad settings: {exc}") from None
    logs.apply(settings)  # SANAL_LOG_LEVEL, SANAL_LOG_FORMAT from here on
    return settings
