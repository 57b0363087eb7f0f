"""Backups of a PostgreSQL database: ``pg_dump`` in its custom format, checked, private.

`sanal backup` on a server writes what PostgreSQL's own tools read back: one consistent
snapshot of the database (``pg_dump`` reads it in one repeatable-read transaction while
`serve` goes on writing), restored with ``pg_restore`` into an empty database. The dump
is ``<name>.partial`` (mode 0600 from its first byte) until ``pg_restore --list`` has read
it whole; the ballot key goes beside it (``<dump>.key``) or where the operator says, as
for a SQLite backup.

Sanal does not restore over a server's database (`sanal restore` says how to do it with
``pg_restore``): dropping a database that several processes and maybe replicas use is the
server operator's decision, not a command's.

The password, if the URL holds one, goes to the programs in ``PGPASSWORD``, never on
their command line (where ``ps`` shows it) and never in a message.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from storage import keyguard
from storage.backup import BackupError
from storage.copy import safe
from storage.files import private_dir, touch_private

SUFFIX = ".dump"
TIMEOUT_S = 6 * 3600.0  # a national database's dump may take long; a hung one not forever
# What a dump of Sanal's database must hold, read back from its table of contents.
NEEDED = ("schema_migrations", "participation", "ballot_choices", "settings_kv")


@dataclass(frozen=True, slots=True)
class Dumped:
    path: Path
    size: int
    tables: int  # tables whose data the dump holds

    def describe(self) -> str:
        return f"pg_dump custom format, {self.tables} tables, {self.size / 1e6:.1f} MB"


def program(name: str) -> Path:
    """``pg_dump`` or ``pg_restore``: the newest installed PostgreSQL's (Debian:
    /usr/lib/postgresql/<version>/bin; a dump needs a pg_dump at least as new as the
    server), else the PATH's."""
    folders = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    for folder in folders:
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    found = shutil.which(name)
    if found:
        return Path(found)
    raise BackupError(
        f"{name} not found (install PostgreSQL's client programs as new as the server, "
        "e.g. apt-get install postgresql-client, or put them on the PATH)"
    )


def split_password(url: str) -> tuple[str, str | None]:
    """The URL without its password, and the password (for ``PGPASSWORD``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}")), unquote(parts.password)


def stem(url: str) -> str:
    """The name backups of this database take: the database's own (``sanal``)."""
    name = urlsplit(url).path.strip("/")
    return name or "sanal"


def _run(args: list[str], password: str | None, what: str) -> str:
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    try:
        done = subprocess.run(  # noqa: S603 - our own program paths and arguments
            args, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupError(f"{what} failed: {exc}") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit code {done.returncode}"
        raise BackupError(f"{what} failed: {safe(last)}")
    return done.stdout


def dump(url: str, dest: Path, key: bytes | None, key_dest: Path | None = None) -> Dumped:
    """``pg_dump`` the database at ``url`` to ``dest`` (which must not exist), checked with
    ``pg_restore --list``, and its key to ``key_dest`` (default ``<dest>.key``)."""
    if dest.exists():
        raise BackupError(f"{dest} exists already; choose another name")
    pg_dump, pg_restore = program("pg_dump"), program("pg_restore")
    bare, password = split_password(url)
    try:
        private_dir(dest.parent)
        partial = Path(f"{dest}.partial")
        if not touch_private(partial):
            raise BackupError(f"{partial} exists already (another backup?); nothing written")
    except OSError as exc:
        raise BackupError(f"{exc.filename or dest}: {exc.strerror or exc}") from None
    try:
        _run(
            [
                str(pg_dump),
                "--format=custom",
                "--no-owner",
                f"--file={partial}",
                f"--dbname={bare}",
            ],
            password,
            f"pg_dump of {safe(url)}",
        )
        listing = _run([str(pg_restore), "--list", str(partial)], None, f"pg_restore --list {dest}")
        names = _tables_with_data(listing)
        missing = [t for t in NEEDED if t not in names]
        if missing:
            raise BackupError(f"{dest}: the dump holds no {', '.join(missing)}; not a backup")
        if key is not None:
            keyguard.write_key_file(key_dest or Path(f"{dest}.key"), key)
        os.replace(partial, dest)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"{exc.filename or dest}: {exc.strerror or exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Dumped(dest, dest.stat().st_size, len(names))


def _tables_with_data(listing: str) -> set[str]:
    """Table names from ``pg_restore --list`` lines such as
    ``3456; 0 16390 TABLE DATA public participation sanal`` (the owner may be absent)."""
    names = set()
    for line in listing.splitlines():
        words = line.split()
        for i in range(len(words) - 3):
            if words[i : i + 2] == ["TABLE", "DATA"]:
                names.add(words[i + 3])
                break
    return names


def restore_refusal(url: str) -> str:
    """What `sanal restore` says on a server: how to do it with PostgreSQL's tools."""
    return (
        f"{safe(url)} is a PostgreSQL database: Sanal does not restore over it. Create an "
        "empty database, `pg_restore --no-owner --dbname=<its URL> BACKUP.dump`, put "
        "BACKUP.dump.key in SANAL_DATA_DIR/sanal.key (or keep SANAL_BALLOT_KEY) and point "
        "SANAL_DB at it; a SQLite backup goes in with `sanal db copy --from BACKUP.db --to <URL>`"
    )
