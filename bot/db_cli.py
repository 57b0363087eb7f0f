"""`sanal db copy --from SRC --to DEST`: a soum's data into another database
(storage/copy.py), SQLite file to PostgreSQL or back, with its ballot key."""

from __future__ import annotations

import asyncio
import hmac
from pathlib import Path

import click

from bot.cli_options import settings_for
from bot.database import key_source
from storage import keyguard
from storage.copy import Copied, CopyError, copy, safe


@click.group(name="db")
def db_group() -> None:
    """The database itself: move it to another (sanal db copy)."""


@db_group.command(name="copy")
@click.option(
    "--from",
    "source",
    required=True,
    help="The database to copy: a SQLite file, or a postgresql:// URL.",
)
@click.option(
    "--to",
    "target",
    required=True,
    help="An empty database (migrated first): a postgresql:// URL, or a SQLite file.",
)
def copy_cmd(source: str, target: str) -> None:
    """Copy every row of a database into an empty one, then count both.

    Stop `sanal serve` on the source first. The ballot key goes with the data: with
    SANAL_BALLOT_KEY nothing changes; a key file is copied to where the target's settings
    look for it (beside a SQLite file, or SANAL_DATA_DIR/sanal.key for a server)."""
    from_settings = settings_for(db=source)
    to_settings = settings_for(db=target)
    from_key = key_source(from_settings)
    to_key_file = to_settings.ballot_key_file()
    try:
        own = from_key.read() if from_key.value is None else None
        there = keyguard.read_key_file(to_key_file) if own is not None else None
    except keyguard.BallotKeyError as exc:
        raise click.ClickException(f"{exc}; nothing copied") from None
    if own is not None and there is not None and not hmac.compare_digest(own, there):
        raise click.ClickException(
            f"{to_key_file} holds another ballot key than {from_key.file}; move it away "
            "(the copy needs the source's key there); nothing copied"
        )
    try:
        done = asyncio.run(copy(from_settings.db, to_settings.db, key=from_key))
    except CopyError as exc:
        raise click.ClickException(str(exc)) from None
    for line in _table(done):
        click.echo(line)
    if done.mismatched():
        names = ", ".join(c.table for c in done.mismatched())
        raise click.ClickException(f"counts differ after the copy ({names}): do not use the copy")
    key_line = _key_line(done, from_key, to_key_file, there)
    click.echo(
        f"copied {safe(from_settings.db)} to {safe(to_settings.db)}: {done.rows} rows in "
        f"{len(done.counts)} tables, every count matches; {key_line}"
    )


def _key_line(done: Copied, source: keyguard.KeySource, to_file: Path, there: bytes | None) -> str:
    if done.key is None:
        return "no ballot key yet (the first start makes one)"
    if source.value is not None:
        return "ballot key: the same SANAL_BALLOT_KEY opens the copy"
    if there is None:
        keyguard.write_key_file(to_file, done.key)
        return f"ballot key copied to {to_file}"
    return f"ballot key already in {to_file}"


def _table(done: Copied) -> list[str]:
    width = max((len(c.table) for c in done.counts), default=5)
    lines = [f"{'table':<{width}}  {'source':>8}  {'copy':>8}"]
    for c in done.counts:
        flag = "" if c.source == c.target else "  MISMATCH"
        lines.append(f"{c.table:<{width}}  {c.source:>8}  {c.target:>8}{flag}")
    return lines
