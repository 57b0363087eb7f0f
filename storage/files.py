"""Files only their owner can read: the database, its WAL and SHM, the key, backups.

A file is made 0600 when it is created, before a byte is written (``os.open`` with the
mode; not umask, which is process-wide and would race with other threads). SQLite gives a
database's ``-wal``, ``-shm`` and journal the mode of the database file, so a database
file created here keeps all of them private.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

PRIVATE = 0o600
PRIVATE_DIR = 0o700
SIDE_FILES = ("-wal", "-shm", "-journal")


def create_private(path: Path) -> BinaryIO:
    """Create a new file (it must not exist) mode 0600, open for writing."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    return os.fdopen(fd, "wb")


def touch_private(path: Path) -> bool:
    """Create an empty file mode 0600 unless it exists; True when this call made it.

    An empty file is a valid empty SQLite database, and ``VACUUM INTO`` accepts it."""
    try:
        create_private(path).close()
    except FileExistsError:
        return False
    return True


def private_dir(path: Path) -> None:
    """A folder for backups: made 0700 if new (an existing one is left as it is)."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)


def make_private(path: Path) -> None:
    """Take group and other permissions off a database made by an earlier version (0644)
    and its side files."""
    for file in (path, *(Path(f"{path}{s}") for s in SIDE_FILES)):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            try:
                file.chmod(mode & 0o700)
            except PermissionError:  # not ours: say so, the open goes on
                log.warning("%s is readable by others (mode %o) and not ours to change", file, mode)
            else:
                log.warning("%s was readable by others (mode %o): now %o", file, mode, mode & 0o700)
