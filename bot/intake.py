"""Intake: store every inbound message first, then handle it in order.

Channels call :meth:`Intake.receive` and answer their provider only after it returns: the
message is then on disk. Messages arriving together are stored with one statement (group
commit): SQLite has one writer, and one commit per webhook would cap a khural-week burst.
A worker task handles pending rows in id order; at start it picks up whatever a crash left
pending.

Webhooks first: while a burst is arriving, the worker holds back, because every webhook is a
provider waiting on an open connection (and retrying, so doubling the load, if it waits too
long), while a reply SMS can come a few seconds later. The hold is bounded: once the oldest
message waiting has waited ``MAX_HOLD`` seconds, handling takes its share again however
busy the webhooks are. Messages left pending by a crash are not held at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Callable

from bot.core.message import Inbound
from bot.router import Handled, Router
from storage import inbox
from storage.db import Database

log = logging.getLogger(__name__)
# Messages handled per write transaction (each in its own savepoint). Small enough that a
# webhook's inbox write never waits long behind a batch.
HANDLE_BATCH = 5
# When no webhook has come for a burst window, nobody is waiting to store one: a backlog
# goes in bigger batches (a tenth less CPU a message: fewer commits, claims by the sender).
QUIET_BATCH = 20
# A burst: BURST webhooks stored within BURST_WINDOW seconds (200 a second and more).
BURST = 20
BURST_WINDOW = 0.1
MAX_HOLD = 5.0


class Intake:
    def __init__(self, db: Database, router: Router, on_outbox: Callable[[], None]) -> None:
        self.db = db
        self.router = router
        self.on_outbox = on_outbox
        self._wake = asyncio.Event()
        self._done: dict[int, asyncio.Future[Handled | None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._to_store: list[tuple[Inbound, asyncio.Future[tuple[int, bool]]]] = []
        self._storing: asyncio.Task[None] | None = None
        # Loop times of the last BURST stores, and of each message stored new and not yet
        # handled (by inbox id): what the webhooks-first hold is judged by.
        self._recent: deque[float] = deque(maxlen=BURST)
        self._arrived: dict[int, float] = {}

    async def receive(self, msg: Inbound) -> tuple[int, bool]:
        """Store a message durably; returns (inbox id, new). Duplicates are not re-handled."""
        fut: asyncio.Future[tuple[int, bool]] = asyncio.get_running_loop().create_future()
        self._to_store.append((msg, fut))
        if self._storing is None or self._storing.done():
            self._storing = asyncio.create_task(self._store_batches(), name="intake-store")
        return await fut

    async def _store_batches(self) -> None:
        while self._to_store:
            batch, self._to_store = self._to_store, []
            try:
                store = functools.partial(inbox.store_many, msgs=[msg for msg, _ in batch])
                results = await self.db.alone(store)
            except Exception as exc:  # each waiting channel answers its provider with an error
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            now = asyncio.get_running_loop().time()
            for (_, fut), result in zip(batch, results, strict=True):
                self._recent.append(now)
                if result[1]:
                    self._arrived[result[0]] = now
                if not fut.done():
                    fut.set_result(result)
            if any(new for _, new in results):
                self._wake.set()

    async def receive_and_wait(self, msg: Inbound, limit_seconds: float = 10.0) -> int:
        """Store a message and wait until it is handled (the simulator's synchronous API)."""
        inbox_id, _ = await self.receive(msg)
        if self._task is None:
            await self.drain()
            return inbox_id
        fut = self._done.get(inbox_id)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._done[inbox_id] = fut
        row = await inbox.get(self.db.reader, inbox_id)
        if row is not None and row.status != "pending":
            self._done.pop(inbox_id, None)
            return inbox_id
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(fut), limit_seconds)
        finally:
            self._done.pop(inbox_id, None)
        return inbox_id

    def _hold(self, first_id: int) -> float:
        """How long handling should still wait for the webhooks (0: not at all).

        It waits while a burst is arriving and the oldest message to handle, stored by this
        process, has waited less than MAX_HOLD; then it looks again."""
        now = asyncio.get_running_loop().time()
        arrived = self._arrived.get(first_id)
        if arrived is None or len(self._recent) < BURST:
            return 0.0
        burst_ends = self._recent[0] + BURST_WINDOW  # unless more webhooks come meanwhile
        return max(0.0, min(burst_ends, arrived + MAX_HOLD) - now)

    async def drain(self, webhooks_first: bool = False) -> int:
        """Handle every pending message now; returns how many were handled."""
        count = 0
        while True:
            known = list(self._arrived)
            rows = await inbox.pending(self.db.reader, limit=200)
            # Forget arrivals no longer pending (another process may have handled them):
            # ids grow, so everything below the oldest pending one is done.
            oldest = rows[0].id if rows else None
            for inbox_id in known:
                if oldest is None or inbox_id < oldest:
                    self._arrived.pop(inbox_id, None)
            if not rows:
                return count
            ids = [row.id for row in rows]
            while ids:
                # Time-based, not an event: the hold ends when webhooks stop coming.
                while webhooks_first and (hold := self._hold(ids[0])) > 0:  # noqa: ASYNC110
                    await asyncio.sleep(hold)
                size = self._batch_size()
                batch, ids = ids[:size], ids[size:]
                results = await self.router.handle_many(batch)
                for inbox_id, result in zip(batch, results, strict=True):
                    self._arrived.pop(inbox_id, None)
                    count += result is not None
                    fut = self._done.get(inbox_id)
                    if fut is not None and not fut.done():
                        fut.set_result(result)
                self.on_outbox()

    def _batch_size(self) -> int:
        """HANDLE_BATCH while webhooks are coming in; QUIET_BATCH when none came for a
        burst window."""
        now = asyncio.get_running_loop().time()
        quiet = not self._recent or self._recent[-1] < now - BURST_WINDOW
        return QUIET_BATCH if quiet else HANDLE_BATCH

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="intake")

    async def stop(self) -> None:
        if self._storing is not None:  # let messages already accepted reach the disk
            await asyncio.gather(self._storing, return_exceptions=True)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # before draining: a message stored meanwhile wakes us again
            try:
                await self.drain(webhooks_first=True)
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the worker alive; the row stays pending for a retry
                log.exception("intake drain failed")
                await asyncio.sleep(1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
