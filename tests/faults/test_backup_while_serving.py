"""Backups of a live server: `sanal serve` runs as a child process and takes signed Twilio
webhooks while `sanal backup` (another process, as an operator or cron runs it) copies the
database. The copy must be one consistent moment, hold every webhook answered before it
started, and restore with all its rounds and ballots. And a stopped server leaves the
database file complete: a plain copy of `sanal.db` without its `-wal` loses nothing.

On the PostgreSQL pass the copy is a pg_dump, restored as its refusal of `sanal restore`
says: pg_restore into an empty database, the key beside it (storage/pg_dump.py).
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from bot.app import Sanal
from bot.core.clock import ManualClock
from storage import ballots, people, pg_dump, proposals, rounds
from storage.ballots import BallotKey
from tests import postgres, suite_backend
from tests.conftest import ZAG_BAG_1, make_settings
from tests.fakes.twilio_api import FakeTwilio
from tests.faults.serve import Server, command, free_port
from tests.faults.test_kill9 import (
    ACCOUNT,
    BALLOT_KEY,
    TOKEN,
    Hook,
    Poster,
    _env,
    _plan,
    _prepare,
    _query,
    _setup_round,
)

CLIENTS = 10


async def sanal(folder: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    """`sanal ARGS` as another process, with the server's settings."""
    proc = await asyncio.create_subprocess_exec(
        *command()[:-1],
        *args,
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def _serving(tmp_path: Path, n: int) -> tuple[Server, FakeTwilio, list[Hook], Path | str]:
    hooks, _ = _plan(n, random.Random(11))
    db = suite_backend.db(tmp_path / "sanal.db")
    fake = await FakeTwilio(ACCOUNT, TOKEN).start()
    server = Server(tmp_path, _env(db, fake), free_port())
    await _prepare(tmp_path, fake, hooks)
    await server.start()
    try:
        await _setup_round(server, db)
    except BaseException:
        await server.kill9()
        await fake.close()
        raise
    return server, fake, hooks, db


async def _pg_restore(dump: Path) -> str:
    """The dump restored as `sanal restore` tells an operator: into an empty database."""
    cluster = postgres.cluster_or_skip()
    name = f"restored_{os.getpid()}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(cluster.url("postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    url = cluster.url(name)
    proc = await asyncio.create_subprocess_exec(
        str(pg_dump.program("pg_restore")), "--no-owner", "--dbname", url, str(dump)
    )
    assert await proc.wait() == 0
    return url


def _list_request(i: int) -> Hook:
    # Each from a phone of its own: a phone over the flood limit (10 a minute) is answered
    # once and then not at all, by design, so a slow backup (a loaded machine) would leave
    # handled messages without a reply that the consistency check below counts as lost.
    return Hook(f"SMlist{i:027x}", f"+976995{i % 100_000:05d}", "ЖАГСААЛТ", "list")


async def test_a_backup_during_a_burst_is_consistent_and_restores_whole(tmp_path: Path) -> None:
    server, fake, hooks, db = await _serving(tmp_path, 300)
    on_server = not isinstance(db, Path)
    dest = tmp_path / "copies" / ("live.dump" if on_server else "live.db")
    dest.parent.mkdir()
    restored: str | None = None
    poster = Poster(server)
    ok: set[str] = set()
    queue = list(reversed(hooks))
    started = asyncio.Event()
    backup_done = asyncio.Event()
    try:
        extra = iter(range(10**6))

        async def client(http: aiohttp.ClientSession) -> None:
            # Webhooks keep coming until the backup is over: the burst, then voters
            # asking for the list (each one a stored message and a reply).
            while not backup_done.is_set():
                hook = queue.pop() if queue else _list_request(next(extra))
                if await poster.post(http, hook):
                    ok.add(hook.sid)
                if len(ok) >= 60:
                    started.set()

        async def operator() -> tuple[set[str], int, int, str, int, str]:
            await started.wait()
            answered_before = set(ok)
            # Restoring over a database that a server has open is refused.
            over = dest.name if on_server else Path(db).name  # a server: any name is refused
            refused = await sanal(tmp_path, server.env, "restore", over)
            at_start = len(ok)
            code, out = await sanal(tmp_path, server.env, "backup", str(dest))
            during = len(ok) - at_start
            backup_done.set()
            return answered_before, during, code, out, *refused

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS)) as http:
            before, during, code, out, refused_code, refused_out = (
                await asyncio.gather(operator(), *(client(http) for _ in range(CLIENTS)))
            )[0]
        assert during > 0, "no webhook was taken while the backup ran"
        assert code == 0, out
        assert ("pg_restore --list ok" if on_server else "integrity ok") in out
        assert refused_code == 1
        refusal = "Sanal does not restore over it" if on_server else "is open by a running process"
        assert refusal in refused_out
        assert len(refused_out.strip().splitlines()) == 1, refused_out
        # The server went on taking webhooks during and after the backup.
        assert len(ok) > len(before)
        copy: Path | str = dest
        if on_server:
            copy = restored = await _pg_restore(dest)
        else:
            assert _query(dest, "PRAGMA integrity_check") == [("ok",)]
        in_copy = {r[0] for r in _query(copy, "SELECT external_id FROM inbox")}
        assert before <= in_copy, "a webhook answered 200 before the backup is missing"
        # One moment: every handled message has its reply, every voter their ballot.
        unreplied = _query(
            copy,
            "SELECT id FROM inbox i WHERE status = 'handled' AND NOT EXISTS "
            "(SELECT 1 FROM outbox o WHERE o.dedupe_key = 'reply:' || i.id)",
        )
        assert unreplied == []
        [(voters, keys)] = _query(
            copy,
            "SELECT (SELECT count(*) FROM participation), "
            "(SELECT count(DISTINCT round_id || voter_key) FROM ballot_choices)",
        )
        assert voters == keys
        assert voters > 0
        assert await server.interrupt() == 0
    finally:
        if server.running:
            await server.kill9()
        await fake.close()

    try:
        await _restored_whole(tmp_path, server, dest, restored, hooks, in_copy, voters)
    finally:
        if restored is not None:
            await postgres.cluster_or_skip().drop(restored)


async def _restored_whole(
    tmp_path: Path,
    server: Server,
    dest: Path,
    restored: str | None,
    hooks: list[Hook],
    in_copy: set[str],
    voters: int,
) -> None:
    """Another machine: the backup and its key, restored with `sanal restore` (on a
    server: the pg_restore'd database, its key in the data folder); every ballot there."""
    other = tmp_path / "other"
    other.mkdir()
    if restored is None:
        for name in ("live.db", "live.db.key"):
            shutil.copyfile(dest.parent / name, other / name)
        env = {k: v for k, v in server.env.items() if k not in ("SANAL_DB", "SANAL_BALLOT_KEY")}
        code, out = await sanal(other, env, "restore", "live.db")
        assert code == 0, out
        assert f"{voters} ballots" in out, out
        assert (other / "sanal.db.key").read_text().strip() == BALLOT_KEY
        settings = make_settings(other, ballot_key=None, scheduler_enabled=False)
    else:
        shutil.copyfile(f"{dest}.key", other / "sanal.key")
        settings = make_settings(
            other, db=restored, data_dir=other, ballot_key=None, scheduler_enabled=False
        )
    app = Sanal(settings, ManualClock(datetime.now(UTC)))
    await app.open()
    try:
        async with app.db.write() as conn:
            assert len(await app.db.fetchall("SELECT id FROM rounds")) == 2
            rnd = await rounds.current(conn, ZAG_BAG_1)
            assert rnd is not None
            assert rnd.status == "voting"
            assert await ballots.count_ballots(conn, rnd.id) == voters
            # Each voter's own ballot is found again with the restored key.
            number = {p.id: p.number for p in await proposals.of_round(conn, rnd.id)}
            voted = {h.phone: h.body for h in hooks if h.kind == "ballot" and h.sid in in_copy}
            found = 0
            for phone, body in voted.items():
                person = await people.by_phone(conn, phone)
                assert person is not None
                chosen = await ballots.choices_of(
                    conn, BallotKey(BALLOT_KEY.encode()), rnd.id, person.id
                )
                if chosen:  # handled before the moment of the copy
                    found += 1
                    assert sorted(number[c] for c in chosen) == sorted(
                        int(w) for w in body.split() if w.isdigit()
                    )
            assert found == voters
    finally:
        await app.stop()


@pytest.mark.sqlite_only
async def test_a_stopped_server_leaves_the_database_file_complete(tmp_path: Path) -> None:
    """Another process has the database open (`sanal chat`, a second `serve`, a sqlite3
    shell), so the server's close is not the last one and SQLite does not checkpoint on its
    own: the server must, or a copy of `sanal.db` alone misses what is in `-wal`."""
    server, fake, _hooks, db = await _serving(tmp_path, 10)
    other = sqlite3.connect(db)
    try:
        assert other.execute("SELECT count(*) FROM rounds").fetchone() == (2,)
        assert await server.interrupt() == 0
        copy = tmp_path / "plain-copy.db"
        shutil.copyfile(db, copy)  # the file alone, as `cp sanal.db` after a stop
        assert _query(copy, "SELECT count(*) FROM rounds") == [(2,)]
        assert _query(copy, "SELECT count(*) FROM inbox") == _query(
            db, "SELECT count(*) FROM inbox"
        )
    finally:
        other.close()
        if server.running:
            await server.kill9()
        await fake.close()
