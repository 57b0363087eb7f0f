"""The ballot key belongs to its database: checked on every open, made only for a new one.

Ballots are filed under an HMAC of round and voter (``storage/ballots.py``); with another
key, a voter's earlier ballot cannot be found, so a changed ballot is counted a second time.
So the database keeps a fingerprint of its key, and opening it with a missing or different
key is refused. A key is made only for a database that has neither a fingerprint nor a
ballot.

The fingerprint is an HMAC of a fixed text under the key: it identifies the key and says
nothing of it. (Someone guessing at a weak ``SANAL_BALLOT_KEY`` could test guesses against
it, but could do the same against any stored voter key; the key made here is 256 random
bits.)
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from storage.db import Conn, fetchall, fetchone, table_names
from storage.files import create_private

FINGERPRINT_KEY = "ballot_key_fingerprint"  # its row in settings_kv
_FINGERPRINT_TEXT = b"sanal ballot key fingerprint v1"
# Rows of participation tried against ballot_choices when a database has ballots but no
# fingerprint yet (made before fingerprints existed): the right key finds them all.
_SAMPLE = 20


class BallotKeyError(Exception):
    """The key is missing or is not this database's: one line for the operator."""


def fingerprint(secret: bytes) -> str:
    return hmac.new(secret, _FINGERPRINT_TEXT, hashlib.sha256).hexdigest()


def short(fp: str) -> str:
    """The first characters of a fingerprint, enough to tell keys apart in a message."""
    return fp[:12]


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where a database's key comes from: the setting if given, else a file beside it."""

    file: Path
    value: bytes | None = None  # SANAL_BALLOT_KEY

    def describe(self) -> str:
        return "SANAL_BALLOT_KEY" if self.value is not None else str(self.file)

    def read(self) -> bytes | None:
        if self.value is not None:
            return self.value
        return read_key_file(self.file)

    def create(self) -> bytes:
        """A new random key in the file, readable by its owner only; if another process
        made it first (two starts at once), theirs."""
        assert self.value is None
        with contextlib.suppress(FileExistsError):
            write_key_file(self.file, secrets.token_hex(32).encode(), exclusive=True)
        key = read_key_file(self.file)
        if key is None:
            raise BallotKeyError(f"ballot key file {self.file} is empty")
        return key


def read_key_file(path: Path) -> bytes | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise BallotKeyError(f"ballot key file {path} cannot be read: {exc}") from None
    return text.encode() if text else None


def write_key_file(path: Path, key: bytes, *, exclusive: bool = False) -> None:
    """Write a key file, mode 0600 from its first byte. Not exclusive: replaced whole
    (written beside, then renamed), so a reader never sees half a key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if exclusive:
        with create_private(path) as fh:
            fh.write(key + b"\n")
        return
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    with create_private(partial) as fh:
        fh.write(key + b"\n")
    os.replace(partial, path)


async def _tables(conn: Conn) -> set[str]:
    return set(await table_names(conn))


async def stored_fingerprint(conn: Conn) -> str | None:
    if "settings_kv" not in await _tables(conn):
        return None
    row = await fetchone(conn, "SELECT value FROM settings_kv WHERE key = ?", (FINGERPRINT_KEY,))
    return str(row["value"]) if row else None


async def has_ballots(conn: Conn) -> bool:
    if "participation" not in await _tables(conn):
        return False
    return await fetchone(conn, "SELECT 1 FROM participation LIMIT 1") is not None


async def finds_ballots(conn: Conn, secret: bytes) -> bool:
    """Whether the key finds the latest voters' ballots (no fingerprint to compare)."""
    rows = await fetchall(
        conn,
        "SELECT round_id, person_id FROM participation ORDER BY round_id DESC LIMIT ?",
        (_SAMPLE,),
    )
    for r in rows:
        msg = f"{r['round_id']}:{r['person_id']}".encode()
        voter_key = hmac.new(secret, msg, hashlib.sha256).hexdigest()
        hit = await fetchone(
            conn,
            "SELECT 1 FROM ballot_choices WHERE round_id = ? AND voter_key = ? LIMIT 1",
            (r["round_id"], voter_key),
        )
        if hit is not None:
            return True
    return not rows


async def check(conn: Conn, source: KeySource, name: str) -> bytes | None:
    """This database's key, or None when it has none yet and may be given a new one.

    Raises :class:`BallotKeyError` when the database has ballots or a fingerprint and the
    key is missing or is another one. ``name`` is how the message names the database."""
    key = source.read()
    stored = await stored_fingerprint(conn)
    if key is None:
        if stored is not None or await has_ballots(conn):
            has = f"was made with key {short(stored)}" if stored else "holds ballots"
            raise BallotKeyError(
                f"ballot key missing: {name} {has} but {source.describe()} is not there; "
                "put back the key saved with the database or its backup (sanal restore "
                "puts back both); a new key would count changed ballots twice"
            )
        return None
    if stored is not None:
        if not hmac.compare_digest(stored, fingerprint(key)):
            raise BallotKeyError(
                f"ballot key does not match: {name} was made with key "
                f"{short(stored)}, {source.describe()} is key {short(fingerprint(key))}; "
                "use the key saved with this database or its backup"
            )
    elif await has_ballots(conn) and not await finds_ballots(conn, key):
        raise BallotKeyError(
            f"ballot key does not match: {source.describe()} does not find the ballots "
            f"in {name}; use the key saved with this database or its backup"
        )
    return key


async def settle(conn: Conn, source: KeySource, name: str) -> bytes:
    """Check the key, make one for a new database, and store its fingerprint.

    In one ``BEGIN IMMEDIATE`` transaction, so that of two processes starting at once on
    a new database, the second sees the first one's fingerprint and checks against it."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        key = await check(conn, source, name)
        if key is None:
            key = source.create()
        # Before the first migration (`sanal migrate` on a new file) there is no table
        # yet; the next open stores it.
        tables = await _tables(conn)
        if "settings_kv" in tables and await stored_fingerprint(conn) is None:
            await conn.execute(
                "INSERT INTO settings_kv (key, value) VALUES (?, ?)",
                (FINGERPRINT_KEY, fingerprint(key)),
            )
    except BaseException:
        await conn.rollback()
        raise
    await conn.commit()
    return key
