"""Who holds the outbox rows being sent, and whether they still live.

Each sender (one per channel in each `serve` process) has an owner id, written on every
row it leases, and holds an exclusive ``flock`` on ``<db>.senders/<owner>.lock`` while it
lives. The kernel drops that lock the moment the process dies, ``kill -9`` and power cuts
included, so another process can tell a dead owner from a live one at once by trying the
lock: if it gets it, the owner is gone and its rows can be taken back now, rather than
when their two-minute lease ends; if it cannot, the owner is alive and its rows are left
alone (two `serve` processes on one file never send one row twice).

``flock`` locks belong to an open file, not to a process: two apps in one process (tests)
are told apart the same way. The lock files live beside the database, on the same
machine: SQLite's WAL mode needs that anyway. Do not delete the folder while `serve` runs.

On PostgreSQL the senders may run on other machines, and the server is what they share:
the lock is an advisory lock held by the process's presence connection
(storage/postgres.py), which the server drops when the process dies. The ``*_on``
methods take the database for that; the file lock needs none.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.settings import is_postgres_url

if TYPE_CHECKING:
    from storage.db import Database

log = logging.getLogger(__name__)

# Owners held by this process, by id: their lock is ours, no need to try it (and an
# in-memory database has no folder to hold lock files in).
_HELD: set[str] = set()


def folder_for(db_path: str | Path) -> Path | None:
    path = str(db_path)
    if path == ":memory:" or path.startswith("file:") or is_postgres_url(path):
        return None
    return Path(f"{path}.senders")


class LeaseOwner:
    """This sender's name on the rows it leases, and the lock that says it is alive."""

    def __init__(self, db_path: str | Path, label: str = "sender") -> None:
        self.id = f"{label}-{uuid.uuid4().hex[:12]}"
        self.folder = folder_for(db_path)
        # On PostgreSQL the senders may run on other machines: a lock file here cannot
        # tell whether they live; the server's advisory locks do (the ``*_on`` methods).
        # The plain methods, which have no database, take every other owner for alive.
        self.remote = is_postgres_url(str(db_path))
        self._fd: int | None = None
        self._on_server = False

    @property
    def held(self) -> bool:
        return self.id in _HELD

    def hold(self) -> None:
        """Take the lock (before the first lease; idempotent)."""
        if self.held:
            return
        if self.folder is not None:
            self.folder.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(self.folder / f"{self.id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a new random name is never locked; be safe anyway
                os.close(fd)
                raise
            # For an operator who looks: whose lock this is.
            note = f"pid {os.getpid()} on {socket.gethostname()} since {datetime.now(UTC)}\n"
            os.write(fd, note.encode())
            self._fd = fd
        _HELD.add(self.id)

    def release(self) -> None:
        """Let go (an orderly stop): rows still leased by this owner are free at once."""
        _HELD.discard(self.id)
        if self._fd is not None:
            if self.folder is not None:
                with contextlib.suppress(OSError):
                    (self.folder / f"{self.id}.lock").unlink()
            os.close(self._fd)
            self._fd = None

    def is_alive(self, owner: str) -> bool:
        """Whether the owner of these leases still runs (in this process or another)."""
        if owner in _HELD:
            return True
        if self.remote:
            return True
        if self.folder is None or "/" in owner or owner.startswith("."):
            return False
        path = self.folder / f"{owner}.lock"
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:  # made before its first lease, removed at its stop
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True  # its process holds the lock: alive
        except OSError as exc:  # cannot tell: leave its rows alone, and say so
            log.warning("cannot check whether sender %s lives: %s", owner, exc)
            return True
        else:
            # Dead: its file goes (we hold the lock, nobody else can be using it).
            with contextlib.suppress(OSError):
                path.unlink()
            return False
        finally:
            os.close(fd)

    async def hold_on(self, db: Database) -> None:
        """:meth:`hold`, and on PostgreSQL the server's lock that says we live (taken
        again if the connection holding it dropped; a no-op while it is held)."""
        self.hold()
        if self.remote:
            from storage.postgres import PgDatabase

            if isinstance(db, PgDatabase):
                await db.hold_owner(self.id)
                self._on_server = True

    async def release_on(self, db: Database) -> None:
        """:meth:`release`, and on PostgreSQL the server's lock."""
        self.release()
        if self._on_server:
            from storage.postgres import PgDatabase

            self._on_server = False
            if isinstance(db, PgDatabase):
                try:
                    await db.release_owner(self.id)
                except Exception as exc:  # its connection gone: so is the lock
                    log.warning("sender %s: could not let go of its lock: %s", self.id, exc)

    async def dead_among(self, db: Database, owners: Sequence[str]) -> list[str]:
        """The owners (other than us) whose process no longer runs: their rows may be
        taken back."""
        others = [o for o in owners if o != self.id and o not in _HELD]
        if not self.remote:
            return [o for o in others if not self.is_alive(o)]
        from storage.postgres import PgDatabase

        if not isinstance(db, PgDatabase):
            return []
        alive = await db.owners_alive(others)
        return [o for o in others if o not in alive]
