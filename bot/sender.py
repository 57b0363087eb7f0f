"""The sender: drains one channel's outbox at the provider's pace, with retries.

Rows are claimed with a lease (see storage.outbox), so two senders (two processes by
mistake) never send one row twice. Retryable errors back off in the table; the provider's
retry_after is obeyed, and a provider-wide pause stops every send on that channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from bot.channels.base import Outcome, SendResult, Transport
from bot.clock import Clock
from bot.message import Channel
from storage import outbox, people
from storage.db import Database
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (5, 30, 120, 600, 1800)
LEASE = timedelta(seconds=120)
BATCH = 50


class Sender:
    def __init__(self, db: Database, clock: Clock, transport: Transport) -> None:
        self.db = db
        self.clock = clock
        self.transport = transport
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._paused_until: datetime | None = None
        self._last_send: float = 0.0
        self._last_per_address: dict[str, float] = {}

    @property
    def channel(self) -> str:
        return self.transport.name

    def wake(self) -> None:
        self._wake.set()

    async def drain_once(self) -> int:
        """Send what is due now; returns how many rows were attempted."""
        now = self.clock.now()
        if self._paused_until and now < self._paused_until:
            return 0
        async with self.db.write() as conn:
            rows = await outbox.claim_due(conn, self.channel, now, BATCH, LEASE)
        for i, row in enumerate(rows):
            wait = self._pace(row.address)
            if wait is not None:
                if wait > 1.0 or self._paused():
                    await self._release(rows[i:], wait)
                    break
                await asyncio.sleep(wait)
            result = await self._send(row)
            await self._record(row, result)
            if result.pause_all and result.retry_after:
                self._paused_until = self.clock.now() + timedelta(seconds=result.retry_after)
                await self._release(rows[i + 1 :], result.retry_after)
                break
        return len(rows)

    def _paused(self) -> bool:
        return self._paused_until is not None and self.clock.now() < self._paused_until

    def _pace(self, address: str) -> float | None:
        """Seconds to wait before sending to this address, or None to send now."""
        loop = asyncio.get_running_loop()
        t = loop.time()
        wait = self._last_send + 1.0 / self.transport.rate_per_second - t
        per = self.transport.per_address_per_second
        if per:
            wait = max(wait, self._last_per_address.get(address, 0.0) + 1.0 / per - t)
        if wait <= 0:
            self._last_send = t
            if per:
                self._last_per_address[address] = t
            if len(self._last_per_address) > 10_000:
                self._last_per_address.clear()
            return None
        return wait

    async def _send(self, row: OutboxRow) -> SendResult:
        try:
            return await self.transport.send(row)
        except Exception as exc:  # a transport bug must not stop the queue
            log.exception("transport %s raised on outbox %s", self.channel, row.id)
            return SendResult.retry(f"{type(exc).__name__}")

    async def _record(self, row: OutboxRow, result: SendResult) -> None:
        now = self.clock.now()
        async with self.db.write() as conn:
            if result.outcome is Outcome.SENT:
                await outbox.mark_sent(conn, row.id, result.provider_id, result.segments, now)
            elif result.outcome is Outcome.RETRY:
                delay = (
                    result.retry_after
                    or BACKOFF_SECONDS[min(row.error_count, len(BACKOFF_SECONDS) - 1)]
                )
                status = await outbox.mark_retry(
                    conn, row.id, result.error or "retry", now + timedelta(seconds=delay)
                )
                log.warning("outbox %s: %s, %s", row.id, result.error, status)
            elif result.outcome is Outcome.OPTED_OUT:
                await outbox.mark_failed(conn, row.id, result.error or "opted out")
                if row.person_id is not None:
                    if self.channel == Channel.TELEGRAM.value:
                        await people.set_telegram_blocked(conn, row.person_id, True)
                    else:
                        await people.set_opted_out(conn, row.person_id, True)
            else:
                await outbox.mark_failed(conn, row.id, result.error or "failed")
                log.warning("outbox %s failed: %s", row.id, result.error)

    async def _release(self, rows: list[OutboxRow], delay: float) -> None:
        """Give claimed rows back without counting an error (we chose not to send yet)."""
        if not rows:
            return
        later = self.clock.now() + timedelta(seconds=delay)
        async with self.db.write() as conn:
            for row in rows:
                await outbox.mark_retry(conn, row.id, "paced", later, count_error=False)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"sender-{self.channel}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                attempted = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sender %s failed", self.channel)
                attempted = 0
            if attempted:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
