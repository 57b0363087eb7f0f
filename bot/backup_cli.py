"""`sanal backup DEST` and `sanal restore SRC`: the operator's side of storage/backup.py."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.cli_options import db_option, file_in_the_way, settings_for
from bot.core.settings import Settings
from bot.database import database
from storage import pg_dump
from storage.backup import BackupError, Summary, free_name, make, restore
from storage.copy import safe
from storage.keyguard import BallotKeyError

T = TypeVar("T")


@click.command(name="backup")
@db_option
@click.argument("dest", type=click.Path())
@click.option(
    "--key-to",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the ballot key here, not DEST.key (keep it apart from copies that travel).",
)
def backup_cmd(db: Path | None, dest: str, key_to: Path | None) -> None:
    """Copy the database to DEST (a new file, or a folder), checked, key beside it.

    Safe while `sanal serve` runs: the copy is one moment of the database. On PostgreSQL
    the copy is a pg_dump (custom format), restored with pg_restore."""
    settings = settings_for(db=db)
    if settings.db_is_postgres():
        _dump(settings, dest, key_to)
        return
    source = Path(settings.db)
    if not source.is_file():
        raise click.ClickException(f"no database at {source} (--db or SANAL_DB)")
    target = _target(dest, source.stem, key_to, ".db")

    async def go() -> Summary:
        # Opened first so that a missing or wrong key is refused, as by every command:
        # a backup whose key does not open it would be worth nothing.
        async with database(settings, auto_migrate=False) as opened:
            key = opened.ballot_secret
        return await asyncio.to_thread(make, source, target, key, key_to)

    summary = _run(go())
    key_file = key_to or Path(f"{target}.key")
    click.echo(
        f"backed up to {summary.path} ({summary.describe()}, integrity ok); key in {key_file}"
    )


def _dump(settings: Settings, dest: str, key_to: Path | None) -> None:
    """`sanal backup` of a server's database: pg_dump, checked, the key beside it."""
    url = str(settings.db)
    target = _target(dest, pg_dump.stem(url), key_to, pg_dump.SUFFIX)

    async def key() -> bytes | None:
        async with database(settings, auto_migrate=False) as opened:  # the key is checked
            return opened.ballot_secret

    secret = _run(key())
    try:
        done = pg_dump.dump(url, target, secret, key_to)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    key_file = key_to or Path(f"{target}.key")
    click.echo(
        f"backed up {safe(url)} to {done.path} ({done.describe()}, pg_restore --list ok); "
        f"key in {key_file}; restore with pg_restore into an empty database"
    )


def _target(dest: str, stem: str, key_to: Path | None, suffix: str) -> Path:
    """DEST itself, or a new name in the folder DEST; refused if a file is in the way."""
    # A folder: one that exists, or a new one written with a slash at the end.
    into_folder = dest.endswith(("/", os.sep)) or Path(dest).is_dir()
    target = free_name(Path(dest), stem, datetime.now(UTC), suffix) if into_folder else Path(dest)
    for place in (target, key_to):  # data/ a file: said plainly, before anything is copied
        blocking = file_in_the_way(place) if place is not None else None
        if blocking is not None:
            raise click.ClickException(f"{blocking}: a file, not a folder")
    return target


@click.command(name="restore")
@db_option
@click.argument("src", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The backup's key file (default SRC.key, else the database's own key).",
)
def restore_cmd(db: Path | None, src: Path, key_file: Path | None) -> None:
    """Put the backup SRC in the database's place (stop `sanal serve` first).

    The database it replaces is moved aside, not deleted."""
    settings = settings_for(db=db)
    if settings.db_is_postgres():
        raise click.ClickException(pg_dump.restore_refusal(str(settings.db)))
    env_key = settings.ballot_key.get_secret_value().encode() if settings.ballot_key else None
    done = _run(
        restore(src, Path(settings.db), datetime.now(UTC), key_file=key_file, env_key=env_key)
    )
    line = f"restored {src} to {settings.db} ({done.summary.describe()}, integrity ok)"
    if done.replaced is not None:
        line += f"; the database it replaced is {done.replaced}"
    click.echo(line)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except (BallotKeyError, BackupError) as exc:
        raise click.ClickException(str(exc)) from None
