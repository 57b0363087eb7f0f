"""A `serve` process whose lock connection drops (a server restart, a failover, a proxy
cutting idle connections) takes its senders' locks again, and listens again.

On PostgreSQL a sender's liveness is an advisory lock held by its process's presence
connection (storage/postgres.py). The server lets go of it when that connection drops,
though the process lives on: until it is taken again, the other processes take this
one's senders for dead and take back every row they claim."""

from __future__ import annotations

import asyncio

import asyncpg

from storage.db import Database
from storage.lease_owners import LeaseOwner


async def _cut_every_connection_but_this(url: str) -> None:
    """What a server restart does to the clients: every session of the database ends."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()


async def _until(check: object, *args: object) -> bool:
    """Poll ``check(*args)`` until it is true, for up to ten seconds (the client notices a
    closed socket at once; a loaded machine may take a while to run the callbacks)."""
    for _ in range(200):
        if await check(*args):  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_dropped_lock_connection_is_renewed_with_its_locks_and_listener(
    pg_url: str,
) -> None:
    serve = await Database(pg_url).open()
    other = await Database(pg_url).open()
    woken = asyncio.Event()
    try:
        sender = LeaseOwner(pg_url)
        await sender.hold_on(serve)
        await serve.listen_outbox(woken.set)

        async def alive() -> bool:
            return sender.id in await other.owners_alive([sender.id])

        async def dead() -> bool:
            return not await alive()

        assert await alive()
        # The other process is one that starts after the cut: its own pool would lose
        # its connections too, and fail each one's next use (asyncpg does not retry).
        await other.close()
        await _cut_every_connection_but_this(pg_url)
        other = await Database(pg_url).open()
        assert await _until(dead)  # the server let go of the lock with the connection

        # The sender's next look for left rows (every few seconds) takes it again.
        await sender.hold_on(serve)
        assert await alive()
        await sender.hold_on(serve)  # while held: nothing more is taken
        assert await alive()

        # And the other processes' NOTIFYs reach this one again.
        async def notified() -> bool:
            async with other.write() as tx:
                await tx.execute("SELECT pg_notify('sanal_outbox', 'another process')")
            await asyncio.sleep(0.05)
            return woken.is_set()

        assert await _until(notified)

        # An orderly stop lets go for good: the owner is dead to the others at once.
        await sender.release_on(serve)
        assert await dead()
    finally:
        await serve.close()
        await other.close()
