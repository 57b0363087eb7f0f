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
from storage.db import Conn, Database
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (5, 30, 120, 600, 1800)
LEASE = timedelta(seconds=120)
BATCH = 100
BURST_SHARE = 0.02  # pacing may send this share of a second's messages at once
RECORD_BATCH = 16  # outcomes that are written at once without waiting
RECORD_DELAY = 0.005  # seconds an outcome may wait for others to share its commit
STOP_GRACE = 20.0  # seconds a stop waits for the sends in flight (a provider's timeout)


class Sender:
    def __init__(self, db: Database, clock: Clock, transport: Transport) -> None:
        self.db = db
        self.clock = clock
        self.transport = transport
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._paused_until: datetime | None = None
        self._tokens = 1.0  # pacing: see _pace
        self._last_refill = 0.0
        self._last_per_address: dict[str, float] = {}
        self._to_record: list[tuple[OutboxRow, SendResult, asyncio.Future[None]]] = []
        self._recording: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def channel(self) -> str:
        return self.transport.name

    def wake(self) -> None:
        self._wake.set()

    async def drain_once(self) -> int:
        """Send what is due now; returns how many rows were attempted.

        Up to ``transport.concurrency`` sends are in flight at once (a provider far away
        answers in 100-300 ms: one at a time would cap Telegram far below its limit),
        each started at the pace the provider allows, after the batch's first send came
        back; messages to one address still go one after another, in order."""
        now = self.clock.now()
        if self._paused_until and now < self._paused_until:
            return 0
        async with self.db.write() as conn:
            rows = await outbox.claim_due(conn, self.channel, now, BATCH, LEASE)
        slots = asyncio.Semaphore(max(1, getattr(self.transport, "concurrency", 1)))
        last_to: dict[str, asyncio.Task[None]] = {}
        started: list[asyncio.Task[None]] = []
        for i, row in enumerate(rows):
            if self._stopping:  # the rest goes back at once, for the next start
                await self._release(rows[i:], 0.0)
                break
            wait = await self._wait_for_pace(row.address)
            if wait is not None or self._paused():
                await self._release(rows[i:], wait or self._pause_left())
                break
            await slots.acquire()
            task = asyncio.create_task(self._send_after(row, last_to.get(row.address), slots))
            last_to[row.address] = task
            started.append(task)
            if i == 0:
                # The first send of a batch goes alone, as a probe: if the provider is
                # throttling (429), nothing else is already on its way.
                await asyncio.wait([task])
        for outcome in await asyncio.gather(*started, return_exceptions=True):
            if isinstance(outcome, Exception):  # its row's lease runs out; it is retried
                log.error("sender %s: %s", self.channel, type(outcome).__name__)
        return len(started)

    async def _wait_for_pace(self, address: str) -> float | None:
        """Wait until the pace allows a send to this address (it is then counted as sent).
        Returns the seconds still to wait instead, when that is too long to hold a batch."""
        while (wait := self._pace(address)) is not None:
            if wait > 1.0 or self._paused():
                return wait
            await asyncio.sleep(wait)
        return None

    def _pause_left(self) -> float:
        if self._paused_until is None:
            return 0.0
        return max(0.0, (self._paused_until - self.clock.now()).total_seconds())

    async def _send_after(
        self, row: OutboxRow, before: asyncio.Task[None] | None, slots: asyncio.Semaphore
    ) -> None:
        try:
            if before is not None:  # the same address's earlier message goes first
                await asyncio.wait([before])
            if self._paused():  # a 429 came while this one waited: not now
                await self._release([row], self._pause_left())
                return
            result = await self._send(row)
            await self._record(row, result)
            if result.pause_all and result.retry_after:
                until = self.clock.now() + timedelta(seconds=result.retry_after)
                self._paused_until = max(self._paused_until or until, until)
        finally:
            slots.release()

    def _paused(self) -> bool:
        return self._paused_until is not None and self.clock.now() < self._paused_until

    def _pace(self, address: str) -> float | None:
        """Seconds to wait before sending to this address, or None to send now."""
        loop = asyncio.get_running_loop()
        t = loop.time()
        # A token bucket holding a fiftieth of a second's sends (at least one), refilled
        # at the rest of the rate: no one-second window ever holds more than the rate, and
        # a sleep that wakes a little late (the event loop's timers do) is made up.
        rate = self.transport.rate_per_second
        burst = max(1.0, rate * BURST_SHARE)
        refill = rate - burst if burst < rate * 0.5 else rate * (1 - BURST_SHARE)
        self._tokens = min(burst, self._tokens + (t - self._last_refill) * refill)
        self._last_refill = t
        wait = 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / refill
        per = self.transport.per_address_per_second
        if per:
            wait = max(wait, self._last_per_address.get(address, 0.0) + 1.0 / per - t)
        if wait <= 0:
            self._tokens -= 1.0
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
        """Write a send's outcome. Outcomes arriving together share one transaction (the
        sends in flight finish at about the same time); each caller returns once its own
        outcome is on disk."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._to_record.append((row, result, done))
        if self._recording is None or self._recording.done():
            self._recording = asyncio.create_task(self._record_batches())
        await done

    async def _record_batches(self) -> None:
        # Outcomes of paced sends come one by one; waiting a few milliseconds gathers a
        # broadcast's into one commit instead of one each (the window in which a crash
        # could forget a sent message stays this short).
        if len(self._to_record) < RECORD_BATCH:
            await asyncio.sleep(RECORD_DELAY)
        while self._to_record:
            batch, self._to_record = self._to_record, []
            sent = [
                (row.id, result.provider_id, result.segments)
                for row, result, _ in batch
                if result.outcome is Outcome.SENT
            ]
            try:
                async with self.db.write() as conn:
                    await outbox.mark_sent_many(conn, self.channel, sent, self.clock.now())
                    for row, result, _ in batch:
                        if result.outcome is not Outcome.SENT:
                            await self._apply(conn, row, result)
            except Exception as exc:  # the rows' leases run out; they are looked at again
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def _apply(self, conn: Conn, row: OutboxRow, result: SendResult) -> None:
        now = self.clock.now()
        if result.outcome is Outcome.SENT:
            await outbox.mark_sent(conn, row.id, result.provider_id, result.segments, now)
        elif result.outcome is Outcome.RETRY:
            delay = (
                result.retry_after
                or BACKOFF_SECONDS[min(row.error_count, len(BACKOFF_SECONDS) - 1)]
            )
            # The provider saying "wait N seconds" (429) is not a failed attempt.
            status = await outbox.mark_retry(
                conn,
                row.id,
                result.error or "retry",
                now + timedelta(seconds=delay),
                count_error=result.retry_after is None,
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
        """Stop after the sends in flight: each is recorded, none is left half done (a
        message a provider accepted and we did not write down would go out again)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            done, _ = await asyncio.wait([self._task], timeout=STOP_GRACE)
            if not done:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._recording is not None:
            with contextlib.suppress(Exception):
                await self._recording
        self._stopping = False

    async def _run(self) -> None:
        while not self._stopping:
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
