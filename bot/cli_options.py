"""What every `sanal` command shares: the `--db` option and settings read with one clear line.

The CLI is split over bot/cli.py, bot/backup_cli.py and bot/report_cli.py; they import
these rather than each keep a copy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from bot import logs
from bot.core.settings import ENV_FILE, Settings, env_file_values, explain

# A string, not a click.Path: a postgresql:// URL would lose a slash as a Path
# (Settings turns a file's name into a Path itself).
db_option = click.option(
    "--db",
    type=str,
    default=None,
    help="SQLite file or postgresql:// URL (SANAL_DB, default ./sanal.db)",
)


def settings_for(**overrides: Any) -> Settings:
    """Settings from the environment, with the options given (None: not given)."""
    values = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = Settings(**values)
    except ValidationError as exc:  # one line naming the variable, not pydantic's four
        options = {k: f"--{k.replace('_', '-')} {v}" for k, v in values.items()}
        raise click.ClickException(explain(exc, options, os.environ, _env_file())) from None
    except UnicodeDecodeError:  # a .env saved in another encoding
        raise click.ClickException(f"{ENV_FILE}: not UTF-8 text") from None
    except OSError as exc:  # a .env that cannot be read
        raise click.ClickException(os_error_line(exc)) from None
    logs.apply(settings)  # SANAL_LOG_LEVEL, SANAL_LOG_FORMAT from here on
    return settings


def _env_file() -> dict[str, str]:
    try:
        return env_file_values()
    except (OSError, UnicodeDecodeError):
        return {}


def file_in_the_way(path: Path) -> Path | None:
    """The file standing where a folder of ``path`` must be (data/ is a file), if any."""
    return next((p for p in path.parents if p.is_file()), None)


def os_error_line(exc: OSError) -> str:
    """An OSError as the one line an operator reads: which path, and what is wrong."""
    name = Path(exc.filename) if exc.filename else None
    if isinstance(exc, FileExistsError | NotADirectoryError) and name is not None:
        blocking = name if name.is_file() else file_in_the_way(name)
        if blocking is not None:
            return f"{blocking}: a file, not a folder"
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


def require_database(settings: Settings) -> None:
    """Refuse a SQLite file that is not there (read-only commands never create one); a
    server's database is asked when opened (a refusal is one line then)."""
    if not settings.db_is_postgres() and not Path(settings.db).is_file():
        raise click.ClickException(f"no database at {settings.db} (--db or SANAL_DB)")
