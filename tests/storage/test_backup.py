"""Backups and restore on real files: `sanal backup`, `sanal restore`, migrations, modes.

(A backup while a real `sanal serve` takes webhooks: tests/faults/test_backup_while_serving.py;
scheduled backups: tests/scheduler/test_backups.py.)
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from storage import db as storage_db
from storage.backup import in_use
from storage.keyguard import fingerprint
from tests.conftest import make_settings
from tests.storage.test_keyguard import _running, _two_voters, _votes

# The SQLite file's backup, restore, permissions and WAL. On PostgreSQL a backup is
# pg_dump's (tests/operator, bot/backup_cli.py), and the server keeps its files private.
pytestmark = pytest.mark.sqlite_only


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def data(path: Path) -> bytes:
    return path.read_bytes()


def exists(path: Path) -> bool:
    return path.exists()


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common umask 022, under which a plain open() makes files world-readable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


async def sanal_cli(tmp_path: Path, *args: str, key: str | None = None) -> tuple[int, str]:
    """`sanal ...` as typed in a shell in ``tmp_path`` (in a thread: it runs its own loop)."""
    env = {"SANAL_BALLOT_KEY": key} if key else {}
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        result = await asyncio.to_thread(
            CliRunner(env=env).invoke, main, list(args), catch_exceptions=False
        )
    finally:
        os.chdir(old)
    return result.exit_code, result.output


async def test_database_wal_shm_key_and_backups_are_private(
    tmp_path: Path, clock: ManualClock, usual_umask: None
) -> None:
    settings, _ = await _two_voters(tmp_path, clock)
    async with _running(settings, clock):
        db = Path(settings.db)
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), settings.ballot_key_file()):
            assert mode(path) == 0o600, path
    code, out = await sanal_cli(tmp_path, "backup", "--db", str(db), str(tmp_path / "b.db"))
    assert code == 0, out
    assert mode(tmp_path / "b.db") == 0o600
    assert mode(tmp_path / "b.db.key") == 0o600


async def test_a_database_made_world_readable_before_is_made_private(
    tmp_path: Path, clock: ManualClock, usual_umask: None
) -> None:
    settings = make_settings(tmp_path)
    db = Path(settings.db)
    sqlite3.connect(db).close()  # as an earlier version made it
    os.chmod(db, 0o644)
    async with _running(settings, clock):
        assert mode(db) == 0o600
        assert mode(Path(f"{db}-wal")) == 0o600


async def test_backup_and_restore_round_trip(tmp_path: Path, clock: ManualClock) -> None:
    settings, _ = await _two_voters(tmp_path, clock)
    db = Path(settings.db)
    code, out = await sanal_cli(tmp_path, "backup", "--db", str(db), "saved.db")
    assert code == 0, out
    assert "1 rounds, 2 ballots" in out
    assert "integrity ok" in out
    assert (tmp_path / "saved.db.key").read_bytes() == settings.ballot_key_file().read_bytes()

    # On another machine: an empty folder, the backup and its key.
    other = tmp_path / "other"
    other.mkdir()
    (other / "saved.db").write_bytes((tmp_path / "saved.db").read_bytes())
    (other / "saved.db.key").write_bytes((tmp_path / "saved.db.key").read_bytes())
    code, out = await sanal_cli(other, "restore", "--db", "sanal.db", "saved.db")
    assert code == 0, out
    assert out.startswith("restored saved.db to sanal.db (1 rounds, 2 ballots")
    restored = make_settings(other, ballot_key=None)
    assert mode(other / "sanal.db") == 0o600
    assert mode(restored.ballot_key_file()) == 0o600
    async with _running(restored, clock) as (app, _client):
        assert await _votes(app) == 2
    # Restored over a database: the one it replaces is moved aside, whole, with its key.
    code, out = await sanal_cli(other, "restore", "--db", "sanal.db", "saved.db")
    assert code == 0, out
    assert "the database it replaced is sanal.db.replaced-" in out, out
    aside = next(other.glob("sanal.db.replaced-*[0-9]Z"))
    assert rows(aside, "SELECT count(*) FROM rounds") == [(1,)]
    assert exists(Path(f"{aside}.key"))


async def test_restore_refuses_a_key_that_does_not_match(
    tmp_path: Path, clock: ManualClock
) -> None:
    settings, _ = await _two_voters(tmp_path, clock)
    db = Path(settings.db)
    code, out = await sanal_cli(tmp_path, "backup", "--db", str(db), "saved.db")
    assert code == 0, out
    before = data(db)
    (tmp_path / "wrong.key").write_text("a" * 64)
    code, out = await sanal_cli(
        tmp_path, "restore", "--db", str(db), "saved.db", "--key", "wrong.key"
    )
    assert code == 1, out
    assert len(out.strip().splitlines()) == 1, out
    assert "ballot key does not match" in out
    assert "nothing restored" in out
    # No key beside it, none given: the database's own key is tried (a pre-migration
    # backup has the same key), then SANAL_BALLOT_KEY refuses if it is another key.
    (tmp_path / "saved.db.key").unlink()
    code, out = await sanal_cli(tmp_path, "restore", "--db", str(db), "saved.db", key="other")
    assert code == 1, out
    assert "SANAL_BALLOT_KEY is key" in out, out
    assert data(db) == before
    assert not exists(Path(f"{db}.restoring"))
    settings.ballot_key_file().unlink()
    code, out = await sanal_cli(tmp_path, "restore", "--db", str(db), "saved.db")
    assert code == 1, out
    assert "ballot key missing" in out, out
    assert data(db) == before


async def test_backup_refuses_to_overwrite_and_names_files_in_a_folder(
    tmp_path: Path, clock: ManualClock
) -> None:
    settings, _ = await _two_voters(tmp_path, clock)
    db = str(settings.db)
    (tmp_path / "taken.db").write_text("mine")
    code, out = await sanal_cli(tmp_path, "backup", "--db", db, "taken.db")
    assert code == 1
    assert "exists already" in out
    assert (tmp_path / "taken.db").read_text() == "mine"
    folder = tmp_path / "usb"
    folder.mkdir()
    code, out = await sanal_cli(tmp_path, "backup", "--db", db, str(folder), "--key-to", "k.key")
    assert code == 0, out
    [made] = folder.iterdir()  # the key went elsewhere, as asked
    assert made.name.startswith("sanal-")
    assert made.suffix == ".db"
    assert (tmp_path / "k.key").exists()
    # A folder that does not exist yet, written with a slash: made, the file inside.
    code, out = await sanal_cli(tmp_path, "backup", "--db", db, "new/")
    assert code == 0, out
    [made] = (tmp_path / "new").glob("sanal-*.db")
    assert exists(Path(f"{made}.key"))
    code, out = await sanal_cli(tmp_path, "backup", "--db", str(tmp_path / "none.db"), "x.db")
    assert code == 1
    assert "no database at" in out


async def test_restore_refuses_what_is_not_a_sanal_backup(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("not a database at all, just text " * 100)
    code, out = await sanal_cli(tmp_path, "restore", "--db", "sanal.db", "notes.db")
    assert code == 1
    assert len(out.strip().splitlines()) == 1
    assert "could not be copied" in out
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    code, out = await sanal_cli(tmp_path, "restore", "--db", "sanal.db", "other.db")
    assert code == 1
    assert "not a Sanal database" in out
    assert not (tmp_path / "sanal.db").exists()


async def test_a_backup_leaves_deleted_texts_behind(tmp_path: Path, clock: ManualClock) -> None:
    """VACUUM INTO copies live rows only. A text deleted from the database (a ballot's SMS
    blanked, say) may linger in its free pages, and the online backup API copies those
    pages as they are; `sanal backup` does not."""
    settings = make_settings(tmp_path)
    marker = "DELETED-BALLOT-TEXT-4711"
    async with _running(settings, clock) as (app, _client):
        # Off as in most SQLite builds (Debian's turns it on): deleted bytes stay.
        await app.db.writer.execute("PRAGMA secure_delete=OFF")
        async with app.db.write() as conn:
            for i in range(50):
                await conn.execute("INSERT INTO settings_kv VALUES (?, ?)", (f"s{i}", marker * 40))
        async with app.db.write() as conn:
            await conn.execute("DELETE FROM settings_kv WHERE key LIKE 's%'")
    assert marker.encode() in data(Path(settings.db))  # in its free pages
    page_copy = sqlite3.connect(tmp_path / "pages.db")
    with sqlite3.connect(settings.db) as live:
        live.backup(page_copy)
    page_copy.close()
    assert marker.encode() in (tmp_path / "pages.db").read_bytes()
    code, out = await sanal_cli(
        tmp_path, "backup", "--db", str(settings.db), "b.db", key="test-ballot-key"
    )
    assert code == 0, out
    assert marker.encode() not in (tmp_path / "b.db").read_bytes()


async def test_a_new_migration_is_preceded_by_a_backup(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = await _two_voters(tmp_path, clock)
    backups = settings.backup_path()
    assert not backups.exists()  # a new database: nothing to back up before migrating
    packaged = storage_db.migration_files()
    monkeypatch.setattr(
        storage_db,
        "migration_files",
        lambda dialect="sqlite": [
            *packaged,
            (9999, "9999_next.sql", "CREATE TABLE next_thing (x INTEGER);"),
        ],
    )
    async with _running(settings, clock) as (app, _client):
        assert await app.db.fetchone("SELECT count(*) FROM next_thing") is not None
    [made] = [p for p in backups.iterdir() if p.suffix == ".db"]
    assert made.name.startswith("sanal-before-9999_next-")
    assert mode(made) == 0o600
    assert mode(Path(f"{made}.key")) == 0o600
    assert rows(made, "PRAGMA integrity_check") == [("ok",)]
    assert rows(made, "SELECT count(*) FROM participation") == [(2,)]
    assert "next_thing" not in str(rows(made, "SELECT name FROM sqlite_master"))
    assert data(Path(f"{made}.key")) == data(settings.ballot_key_file())
    # Opened again: nothing to migrate, no second backup.
    async with _running(settings, clock):
        pass
    assert len([p for p in backups.iterdir() if p.suffix == ".db"]) == 1


async def test_a_failed_pre_migration_backup_stops_the_migration(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = await _two_voters(tmp_path, clock)
    settings.backup_path().write_text("a file where the folder should be")
    packaged = storage_db.migration_files()
    monkeypatch.setattr(
        storage_db,
        "migration_files",
        lambda dialect="sqlite": [
            *packaged,
            (9999, "9999_next.sql", "CREATE TABLE next_thing (x INTEGER);"),
        ],
    )
    code, out = await sanal_cli(tmp_path, "migrate", "--db", str(settings.db))
    assert code == 1
    assert out.startswith("Error: backup before migration 9999_next.sql failed")
    assert "next_thing" not in str(rows(Path(settings.db), "SELECT name FROM sqlite_master"))


async def test_the_stored_fingerprint_travels_with_the_backup(
    tmp_path: Path, clock: ManualClock
) -> None:
    settings: Settings = make_settings(tmp_path, ballot_key="kept-in-a-safe")
    async with _running(settings, clock):
        pass
    code, out = await sanal_cli(
        tmp_path, "backup", "--db", str(settings.db), "b.db", key="kept-in-a-safe"
    )
    assert code == 0, out
    assert rows(tmp_path / "b.db", "SELECT value FROM settings_kv") == [
        (fingerprint(b"kept-in-a-safe"),)
    ]
    # SANAL_BALLOT_KEY set: it is checked, and no key file is written by a restore.
    code, out = await sanal_cli(tmp_path, "restore", "--db", "r.db", "b.db", key="kept-in-a-safe")
    assert code == 0, out
    assert not (tmp_path / "r.db.key").exists()
    assert not in_use(tmp_path / "r.db")
