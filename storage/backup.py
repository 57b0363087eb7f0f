"""Backups of the database: consistent while ``serve`` runs, checked, private, and restorable.

A backup is made with ``VACUUM INTO`` from a connection of its own: a read transaction, so
it is one consistent moment of the database (WAL included) and writers go on meanwhile.
``VACUUM INTO`` rather than the online backup API because it writes only live rows: the
free pages of the database, where deleted texts (a ballot's SMS before it was blanked, a
replaced ballot) may linger, are not copied. The copy is checked (``PRAGMA
integrity_check``) before it takes its name; until then it is ``<name>.partial``.

The ballot key is written beside it (``<backup>.key``) or where the operator says, as a
separate file: backups that leave the machine should leave without it.

Restore puts a backup in the database's place: the backup is copied and checked, its key
must match the fingerprint it holds, no process may have the database open, and what it
replaces is moved aside (``<db>.replaced-<time>``, with its WAL and key), never deleted.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite

from storage import keyguard
from storage.db import DatabaseUnusable, Tx, sqlite_file
from storage.files import private_dir, touch_private

log = logging.getLogger(__name__)

TIME_FORMAT = "%Y%m%dT%H%M%SZ"
# Where the lease of the scheduled backup lives: cleared in every copy, so that a restored
# database does not wait for a lease its backup happened to hold.
LEASE_KEY = "backup.claimed_until"
BUSY_TIMEOUT_S = 10.0
# SQLite's shared memory file: every connection open on a WAL database holds a read lock
# on this byte (the "DMS" lock of the WAL-index, documented in SQLite's walformat.html).
_SHM_DMS_BYTE = 128
# A `.partial` left by a killed backup is removed after this long (one being written by
# another process right now is left alone).
STALE_PARTIAL = timedelta(hours=6)


class BackupError(Exception):
    """A backup or restore that cannot be done: one line for the operator."""


@dataclass(frozen=True, slots=True)
class Summary:
    """What a checked copy holds."""

    path: Path
    rounds: int
    ballots: int
    size: int
    fingerprint: str | None

    def describe(self) -> str:
        return f"{self.rounds} rounds, {self.ballots} ballots, {self.size / 1e6:.1f} MB"


def backup_name(stem: str, when: datetime, suffix: str = ".db") -> str:
    """``sanal-20270302T020000Z.db`` (``.dump`` for a PostgreSQL dump): sorts in time
    order; what pruning recognises."""
    return f"{stem}-{_utc(when).strftime(TIME_FORMAT)}{suffix}"


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("aware datetimes only")
    return when.astimezone(UTC)


def _names(stem: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(stem)}-\d{{8}}T\d{{6}}Z(-\d+)?\.(db|dump)$")


def free_name(folder: Path, stem: str, when: datetime, suffix: str = ".db") -> Path:
    """A backup's path in a folder: the time, and ``-2``, ``-3`` if taken in that second."""
    first = folder / backup_name(stem, when, suffix)
    path, n = first, 1
    while path.exists() or Path(f"{path}.partial").exists():
        n += 1
        path = first.with_name(f"{first.stem}-{n}{suffix}")
    return path


# --- making and checking copies (synchronous: run them in a thread) ------------------


def _connect(path: Path) -> sqlite3.Connection:
    try:
        file = sqlite_file(path)
    except DatabaseUnusable as exc:
        raise BackupError(str(exc)) from None
    return sqlite3.connect(file, timeout=BUSY_TIMEOUT_S, isolation_level=None)


def vacuum_into(source: Path, dest: Path) -> None:
    """Copy ``source`` (a consistent moment of it) into ``dest``, which must not exist;
    ``dest`` is created 0600 before anything is written to it."""
    if not touch_private(dest):
        raise BackupError(f"{dest} exists already; nothing written")
    try:
        conn = _connect(source)
        try:
            conn.execute("VACUUM INTO ?", (str(dest),))
        finally:
            conn.close()
    except sqlite3.Error as exc:
        dest.unlink(missing_ok=True)
        raise BackupError(f"{source} could not be copied: {exc}") from None
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def check_copy(path: Path, *, clear_lease: bool = False, name: Path | None = None) -> Summary:
    """``PRAGMA integrity_check`` and what the copy holds; BackupError if it is not a
    sound Sanal database (``name``: the file the copy was made from, for the message)."""
    shown = name or path
    try:
        conn = _connect(path)
        try:
            problems = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
            if problems != ["ok"]:
                raise BackupError(f"{shown} fails its integrity check: {'; '.join(problems[:3])}")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if not {"schema_migrations", "settings_kv", "rounds", "participation"} <= tables:
                raise BackupError(f"{shown} is not a Sanal database")
            if clear_lease:
                conn.execute("DELETE FROM settings_kv WHERE key = ?", (LEASE_KEY,))
            rounds = conn.execute("SELECT count(*) FROM rounds").fetchone()[0]
            ballots = conn.execute("SELECT count(*) FROM participation").fetchone()[0]
            row = conn.execute(
                "SELECT value FROM settings_kv WHERE key = ?", (keyguard.FINGERPRINT_KEY,)
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{shown} is not a readable SQLite database: {exc}") from None
    return Summary(path, int(rounds), int(ballots), path.stat().st_size, row[0] if row else None)


def make(source: Path, dest: Path, key: bytes | None, key_dest: Path | None = None) -> Summary:
    """Back ``source`` up to ``dest`` (which must not exist) and its key to ``key_dest``
    (default ``<dest>.key``); the copy is checked before it takes its name."""
    try:
        return _make(source, dest, key, key_dest)
    except OSError as exc:  # an unwritable folder, a full disk: one line
        raise BackupError(f"{exc.filename or dest}: {exc.strerror or exc}") from None


def _make(source: Path, dest: Path, key: bytes | None, key_dest: Path | None) -> Summary:
    if dest.exists():
        raise BackupError(f"{dest} exists already; choose another name")
    private_dir(dest.parent)
    partial = Path(f"{dest}.partial")
    vacuum_into(source, partial)
    try:
        summary = check_copy(partial, clear_lease=True)
        if key is not None:
            keyguard.write_key_file(key_dest or Path(f"{dest}.key"), key)
        os.replace(partial, dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Summary(dest, summary.rounds, summary.ballots, summary.size, summary.fingerprint)


def prune(folder: Path, stem: str, keep: int, now: datetime) -> list[Path]:
    """Remove this database's backups beyond the newest ``keep`` (and their keys), and
    partial copies left by a killed backup. Only names Sanal gives are touched."""
    pattern = _names(stem)
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return []
    made = sorted((p for p in entries if pattern.match(p.name)), key=lambda p: p.name)
    removed: list[Path] = []
    for old in made[: max(0, len(made) - keep)]:
        old.unlink(missing_ok=True)
        Path(f"{old}.key").unlink(missing_ok=True)
        removed.append(old)
    stale = now.timestamp() - STALE_PARTIAL.total_seconds()
    for p in entries:
        if p.name.endswith(".partial") and pattern.match(p.name.removesuffix(".partial")):
            try:
                if p.stat().st_mtime < stale:
                    p.unlink()
                    removed.append(p)
            except FileNotFoundError:
                pass
    return removed


def newest(folder: Path, stem: str) -> Path | None:
    """This database's newest backup in ``folder`` (scheduled, or `sanal backup` into the
    folder), by the time in its name; None when there is none."""
    pattern = _names(stem)
    try:
        made = [p for p in folder.iterdir() if pattern.match(p.name)]
    except (FileNotFoundError, NotADirectoryError):
        return None
    return max(made, key=_order, default=None)


_STAMP = re.compile(r"-(\d{8}T\d{6}Z)(?:-(\d+))?\.(?:db|dump)$")


def _order(path: Path) -> tuple[str, int]:
    """The time in the name, then its ``-2``, ``-3`` (made later in the same second)."""
    match = _STAMP.search(path.name)
    return (match.group(1), int(match.group(2) or 1)) if match else ("", 0)


def taken_at(path: Path) -> datetime | None:
    """The time in a backup's name (UTC), as :func:`backup_name` wrote it."""
    match = _STAMP.search(path.name)
    if match is None:
        return None
    return datetime.strptime(match.group(1), TIME_FORMAT).replace(tzinfo=UTC)


# --- restore ---------------------------------------------------------------------------


def in_use(db: Path) -> bool:
    """Whether a process has the database open (``serve``, ``chat``, a sqlite3 shell).

    Every connection to a WAL database holds a read lock on one byte of ``<db>-shm``
    while it is open; a write lock on that byte is refused while any does. Never call
    this in a process that has the database open itself: closing any descriptor of a file
    drops that process's POSIX locks on it."""
    shm = Path(f"{db}-shm")
    try:
        fd = os.open(shm, os.O_RDWR)
    except FileNotFoundError:
        return False
    except OSError as exc:  # another user's file: we cannot tell, so we do not go on
        raise BackupError(f"cannot tell whether {db} is in use: {shm}: {exc.strerror}") from None
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_BYTE)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                return True
            raise
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _SHM_DMS_BYTE)
        return False
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class Restored:
    summary: Summary  # of the database now in place
    replaced: Path | None  # where the database it replaced now is
    key_file: Path | None  # the key file written, if any


async def restore(
    src: Path,
    db: Path,
    now: datetime,
    *,
    key_file: Path | None = None,
    env_key: bytes | None = None,
) -> Restored:
    """Put the backup ``src`` in place of ``db``; BackupError (nothing changed) if it
    cannot be.

    The key: ``SANAL_BALLOT_KEY`` when set (``env_key``, then no key file is written),
    else ``key_file``, else ``<src>.key``, else the database's own ``<db>.key`` (a backup
    taken before a migration has the same key). It must match the fingerprint in the
    backup."""
    incoming = Path(f"{db}.restoring")
    summary = await asyncio.to_thread(_bring_in, src, db, key_file, incoming)
    try:
        key = await _matching_key(incoming, src, _key_source(src, db, key_file, env_key))
        return await asyncio.to_thread(_put_in_place, incoming, db, summary, key, env_key, now)
    finally:
        await asyncio.to_thread(incoming.unlink, missing_ok=True)


def _bring_in(src: Path, db: Path, key_file: Path | None, incoming: Path) -> Summary:
    """The backup copied beside the database and checked; nothing else touched yet."""
    if not src.is_file():
        raise BackupError(f"{src}: no such backup file")
    if key_file is not None and not key_file.is_file():
        raise BackupError(f"{key_file}: no such key file; nothing restored")
    if in_use(db):
        raise BackupError(f"{db} is open by a running process (sanal serve?); stop it first")
    incoming.unlink(missing_ok=True)  # left by a restore killed half-way
    private_dir(db.parent)
    vacuum_into(src, incoming)
    try:
        return check_copy(incoming, clear_lease=True, name=src)
    except BaseException:
        incoming.unlink(missing_ok=True)
        raise


def _put_in_place(
    incoming: Path,
    db: Path,
    summary: Summary,
    key: bytes | None,
    env_key: bytes | None,
    now: datetime,
) -> Restored:
    if in_use(db):  # opened meanwhile
        raise BackupError(f"{db} was opened by another process; nothing restored")
    write_key = key is not None and env_key is None
    own_key = Path(f"{db}.key")
    new_key = Path(f"{db}.key.restoring")
    if key is not None and write_key:  # written before anything is moved: a full disk
        keyguard.write_key_file(new_key, key)  # fails here, with nothing changed
    replaced = _move_aside(db, now, key_too=write_key)
    if write_key:
        os.replace(new_key, own_key)
    os.replace(incoming, db)
    placed = Summary(db, summary.rounds, summary.ballots, summary.size, summary.fingerprint)
    return Restored(placed, replaced, own_key if write_key else None)


def _key_source(
    src: Path, db: Path, key_file: Path | None, env_key: bytes | None
) -> keyguard.KeySource:
    if env_key is not None:
        return keyguard.KeySource(file=Path(f"{db}.key"), value=env_key)
    candidates = [key_file] if key_file is not None else [Path(f"{src}.key"), Path(f"{db}.key")]
    found = next((c for c in candidates if c.is_file()), candidates[0])
    return keyguard.KeySource(file=found)


async def _matching_key(copy: Path, src: Path, source: keyguard.KeySource) -> bytes | None:
    """The key, checked against the copy; None when the copy needs none (no ballots)."""
    async with aiosqlite.connect(sqlite_file(copy)) as conn:
        conn.row_factory = sqlite3.Row
        try:
            return await keyguard.check(Tx(conn), source, str(src))
        except keyguard.BallotKeyError as exc:
            raise BackupError(f"{exc}; nothing restored") from None


def _move_aside(db: Path, now: datetime, *, key_too: bool) -> Path | None:
    """Move the database (with its WAL, whole) out of the way, never deleting it."""
    if not db.exists():
        return None
    aside = db.with_name(f"{db.name}.replaced-{_utc(now).strftime(TIME_FORMAT)}")
    os.replace(db, aside)
    wal = Path(f"{db}-wal")
    if wal.exists():
        os.replace(wal, Path(f"{aside}-wal"))
    # The WAL-index belongs to the old WAL; SQLite rebuilds it.
    Path(f"{db}-shm").unlink(missing_ok=True)
    old_key = Path(f"{db}.key")
    if key_too and old_key.exists():
        os.replace(old_key, Path(f"{aside}.key"))
    return aside


__all__ = [
    "BackupError",
    "Restored",
    "Summary",
    "backup_name",
    "before_migration",
    "check_copy",
    "free_name",
    "in_use",
    "make",
    "prune",
    "restore",
    "vacuum_into",
]


async def before_migration(
    conn: Tx, folder: Path, migration: str, key: bytes | None
) -> Path | None:
    """Back the database of ``conn`` up before ``migration`` changes it (not rotated:
    ``sanal-before-0008_name-<time>.db``). Raises BackupError: then nothing is migrated."""
    rows = await conn.execute_fetchall("PRAGMA database_list")
    path = next((str(r[2]) for r in rows if r[1] == "main"), "")
    if not path:  # an in-memory database
        return None
    source = Path(path)
    stem = f"{source.stem}-before-{migration.removesuffix('.sql')}"
    dest = free_name(folder, stem, datetime.now(UTC))
    try:
        summary = await asyncio.to_thread(make, source, dest, key)
    except BackupError as exc:
        raise BackupError(f"backup before migration {migration} failed: {exc}") from None
    except OSError as exc:
        raise BackupError(
            f"backup before migration {migration} failed: {folder}: {exc.strerror}"
        ) from None
    log.info("backed up before migration %s: %s (%s)", migration, dest, summary.describe())
    return dest
