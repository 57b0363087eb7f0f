"""Lease owners: a dead owner is seen at once (kill -9 included), a live one never stolen."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

from bot.app import Sanal
from bot.channels.base import SendResult
from bot.core.clock import ManualClock
from bot.sender import Sender
from storage import outbox
from storage.lease_owners import LeaseOwner
from storage.outbox import OutboxRow

HOLD = """
import sys, time
from storage.lease_owners import LeaseOwner
owner = LeaseOwner(sys.argv[1], "other")
owner.hold()
print(owner.id, flush=True)
time.sleep(120)
"""


class Recording:
    """A transport that records what it sends and what the row said at that moment."""

    name = "twilio"
    rate_per_second = 1000.0
    per_address_per_second: float | None = None

    def __init__(self, sanal: Sanal) -> None:
        self.sanal = sanal
        self.sent: list[OutboxRow] = []
        self.on_disk: list[tuple[int, int, str]] = []  # (attempts, in_doubt, status)

    async def send(self, message: OutboxRow) -> SendResult:
        self.sent.append(message)
        row = await self.sanal.db.fetchone(
            "SELECT attempts, in_doubt, status FROM outbox WHERE id = ?", (message.id,)
        )
        assert row is not None
        self.on_disk.append((row["attempts"], row["in_doubt"], row["status"]))
        return SendResult.sent(f"SM{message.id}", 1)


async def _queue(sanal: Sanal, n: int) -> None:
    async with sanal.db.write() as conn:
        for i in range(n):
            await outbox.enqueue(
                conn,
                dedupe_key=f"k{i}",
                channel="twilio",
                address=f"tel:+9769911{i:04d}",
                text=f"Сайн байна уу {i}",
                now=sanal.clock.now(),
            )


async def _claim(sanal: Sanal, owner: str, n: int) -> list[OutboxRow]:
    async with sanal.db.write() as conn:
        return await outbox.claim_due(
            conn, "twilio", sanal.clock.now(), n, timedelta(seconds=120), owner
        )


async def test_a_killed_owner_is_seen_dead_at_once(tmp_path: Path) -> None:
    db = tmp_path / "sanal.db"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD, str(db), stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )  # fmt: skip
    assert proc.stdout is not None
    other = (await proc.stdout.readline()).decode().strip()
    me = LeaseOwner(db, "me")
    me.hold()
    try:
        assert me.is_alive(other)
        assert me.is_alive(other)  # trying the lock does not take it from its owner
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        assert not me.is_alive(other)  # the kernel dropped its lock with the process
        assert not (tmp_path / "sanal.db.senders" / f"{other}.lock").exists()
        assert me.is_alive(me.id)
    finally:
        me.release()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_stopped_senders_rows_are_taken_back_at_once(
    sanal: Sanal, clock: ManualClock
) -> None:
    """Another sender claimed rows (one of them handed to the provider) and stopped:
    the next sender takes them back at once, not when the two-minute lease ends; the one
    handed over is in doubt (the provider may have it), the others are not."""
    await _queue(sanal, 3)
    gone = LeaseOwner(sanal.db.path, "gone")
    gone.hold()
    claimed = await _claim(sanal, gone.id, 3)
    async with sanal.db.write() as conn:
        assert await outbox.mark_attempts(conn, [claimed[0].id], gone.id) == {claimed[0].id}
    gone.release()
    transport = Recording(sanal)
    sender = Sender(sanal.db, clock, transport)
    try:
        assert await sender.drain_once() == 3  # no clock moved: at once
    finally:
        await sender.stop()
    assert [m.in_doubt for m in transport.sent] == [True, False, False]
    rows = await sanal.db.fetchall("SELECT status FROM outbox")
    assert {r["status"] for r in rows} == {"sent"}


async def test_a_live_senders_rows_are_never_taken(sanal: Sanal, clock: ManualClock) -> None:
    await _queue(sanal, 2)
    alive = LeaseOwner(sanal.db.path, "alive")
    alive.hold()
    try:
        await _claim(sanal, alive.id, 1)
        transport = Recording(sanal)
        sender = Sender(sanal.db, clock, transport)
        assert await sender.drain_once() == 1  # only the row nobody held
        clock.advance(timedelta(hours=1))  # long past the lease: still its owner's
        sender._next_look = 0.0  # look again now
        assert await sender.drain_once() == 0
        await sender.stop()
        assert len(transport.sent) == 1
        row = await sanal.db.fetchone("SELECT status, lease_owner FROM outbox WHERE id = 1")
        assert row is not None
        assert (row["status"], row["lease_owner"]) == ("sending", alive.id)
    finally:
        alive.release()


async def test_each_send_is_written_down_before_the_provider_is_called(
    sanal: Sanal, clock: ManualClock
) -> None:
    await _queue(sanal, 2)
    transport = Recording(sanal)
    sender = Sender(sanal.db, clock, transport)
    await sender.drain_once()
    await sender.stop()
    assert transport.on_disk == [(1, 1, "sending"), (1, 1, "sending")]
    rows = await sanal.db.fetchall("SELECT status, attempts, lease_owner FROM outbox")
    assert [tuple(r) for r in rows] == [("sent", 1, sender.owner.id)] * 2
    # The owner's lock file went with the orderly stop.
    folder = Path(sanal.db.path + ".senders")
    assert not await asyncio.to_thread(lambda: list(folder.glob("*.lock")))
