"""After a PostgreSQL restart (or a failover, or a proxy cutting idle connections) every
pooled connection is gone. The next transaction and the next read must work on a new
connection, not fail once per pooled connection: a webhook would answer 500 and a sweep
would wait for its next turn (asyncpg's pool does not retry by itself).

Only what cannot have reached the server is tried again: a BEGIN, or a read. A write
that fails mid-way fails as before, and its caller rolls back."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest

from storage.db import Database, DatabaseError
from tests.postgres import find_bin
from tests.storage.test_pg_presence import _cut_every_connection_but_this

_CUT = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[Database]:
    """The database open, with a row to change, after several pooled connections were in
    use at once: a cut then leaves several stale ones."""
    async with Database(pg_url) as database:

        async def hold() -> None:
            async with database.write(serial=False) as tx:
                await tx.execute("SELECT pg_sleep(0.05)")

        await asyncio.gather(*(hold() for _ in range(4)))
        async with database.write() as tx:
            await tx.execute("INSERT INTO settings_kv (key, value) VALUES ('cut', 'before')")
        yield database


async def _value(db: Database) -> str:
    rows = await db.fetchall("SELECT value FROM settings_kv WHERE key = 'cut'")
    [(value,)] = [tuple(r) for r in rows]
    return str(value)


async def _set(db: Database, value: str) -> None:
    async with db.write() as tx:
        await tx.execute("UPDATE settings_kv SET value = ? WHERE key = 'cut'", (value,))


async def test_transactions_and_reads_survive_every_connection_cut(
    db: Database, pg_url: str
) -> None:
    for turn in range(3):  # more than once: each cut leaves a whole pool of dead ones
        await _cut_every_connection_but_this(pg_url)
        # Reads: the reader runs each statement on any free pooled connection.
        assert await _value(db) == ("before" if turn == 0 else f"after {turn}")
        await _cut_every_connection_but_this(pg_url)
        for _ in range(6):  # more transactions than the pool had connections
            await _set(db, f"after {turn + 1}")
    assert await _value(db) == "after 3"


async def test_a_write_cut_mid_transaction_fails_and_changes_nothing(
    db: Database, pg_url: str
) -> None:
    async def cut_mid_way() -> None:
        async with db.write() as tx:
            await tx.execute("UPDATE settings_kv SET value = 'lost' WHERE key = 'cut'")
            await _cut_every_connection_but_this(pg_url)
            await tx.execute("UPDATE settings_kv SET value = 'lost2' WHERE key = 'cut'")

    # Storage's own error, which the handlers and the webhook already catch.
    with pytest.raises(DatabaseError):
        await cut_mid_way()
    assert await _value(db) == "before"


def _cut_blocking(url: str) -> None:
    """The cut, with this process's loop kept from running meanwhile (psql, waited for
    without yielding): the pool cannot have noticed when the next statement comes."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    psql = [str(find_bin() / "psql"), "-q", "-h", query["host"][0], "-p", query["port"][0]]
    subprocess.run(
        [*psql, "-U", parts.username or "", "-d", parts.path.lstrip("/"), "-c", _CUT],
        check=True,
        capture_output=True,
    )
    time.sleep(0.2)  # the server has closed every socket by now


async def test_a_cut_the_process_has_not_yet_noticed(db: Database, pg_url: str) -> None:
    for turn in range(3):
        _cut_blocking(pg_url)
        await _set(db, f"after {turn + 1}")  # a BEGIN on a connection the server closed
        _cut_blocking(pg_url)
        assert await _value(db) == f"after {turn + 1}"  # a read on one
