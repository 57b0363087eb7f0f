"""The sender: drains one channel's outbox at the provider's pace, with retries.

Rows are claimed with a lease in this sender's name (see storage.outbox), so two senders
(two processes on one file) never send one row twice; a sender whose process died is
noticed at once (storage.lease_owners) and its rows are taken back, by the next start or
by the other process within RECLAIM_EVERY seconds. Retryable errors back off in the
table; the provider's retry_after is obeyed, and a provider-wide pause stops every send on
that channel.

Around each send the sender writes down the attempt before the provider is called, and
its outcome once the provider answers. A crash between the two leaves the row "in doubt":
Twilio and the Android gateway are asked before it is sent again; Telegram cannot be
asked, and the row is sent again (at least once; README says why). Both are group
commits: whatever arrives while one commit runs shares the next. When the pace lets a
whole batch go at once (a peak, a fast provider), its attempts are written in the claim
itself, and outcomes are committed at most every JOURNAL_EVERY seconds while sends keep
coming: a handful of commits for a hundred messages, not two for each, and a crash forgets
at most that long of accepted sends. At a slow pace each row goes as before, one by one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import sender_health
from bot.channels.base import Outcome, SendResult, Transport
from bot.core import backoff
from bot.core.backoff import CHECK_BACKOFF
from bot.core.channels import Blocked, Capabilities, capabilities
from bot.core.clock import Clock
from bot.metrics import Metrics
from storage import identities, outbox, people
from storage.db import Database, Tx
from storage.lease_owners import LeaseOwner
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

# An owner-less lease (a version before owners) ends after this; an owned one never ends
# by time: its owner sends it, or dies and is noticed.
LEASE = timedelta(seconds=120)
BATCH = 100
BURST_SHARE = 0.02  # pacing may send this share of a second's messages at once
STOP_GRACE = 20.0  # seconds a stop waits for the sends in flight (a provider's timeout)
RECLAIM_EVERY = 5.0  # seconds between looks for rows that a dead sender left mid-send
# While sends keep coming, outcomes are committed at most this often (a crash may forget
# this long of accepted sends: Twilio and the gateway are asked, Telegram's go again).
JOURNAL_EVERY = 0.01


@dataclass(slots=True)
class _Entry:
    """One line for the journal: an attempt about to start, or an attempt's outcome."""

    row: OutboxRow
    result: SendResult | None  # None: the attempt, written before the provider is called
    done: asyncio.Future[bool]


class Sender:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        transport: Transport,
        owner: LeaseOwner | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.transport = transport
        self.metrics = metrics  # sends, errors, 429s and segments counted (bot/metrics.py)
        self.owner = owner or LeaseOwner(db.path, transport.name)
        self._mine: set[int] = set()  # rows this sender has claimed and not yet settled
        self._next_look = 0.0  # loop time of the next look for dead senders' rows
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._paused_until: datetime | None = None
        self._tokens = 1.0  # pacing: see _pace
        self._last_refill = 0.0
        self._last_per_address: dict[str, float] = {}
        self._journal: list[_Entry] = []
        self._writing: asyncio.Task[None] | None = None
        self._last_commit = 0.0  # loop time the journal's last commit ended
        self._stopping = False

    @property
    def channel(self) -> str:
        return self.transport.name

    @property
    def caps(self) -> Capabilities:
        return capabilities(self.channel)

    def wake(self) -> None:
        self._wake.set()

    async def drain_once(self) -> int:
        """Send what is due now; returns how many rows were attempted.

        Up to ``transport.concurrency`` sends are in flight at once (a provider far away
        answers in 100-300 ms: one at a time would cap Telegram far below its limit),
        each started at the pace the provider allows, after the batch's first send came
        back; messages to one address still go one after another, in order."""
        await self._take_back_left_rows()
        now = self.clock.now()
        if self._paused_until and now < self._paused_until:
            return 0
        # What the pace lets go at once has its attempts written in the claim.
        ahead = self._pace_allows()
        # Sound by row locks alone (skip-locked on PostgreSQL): no need to wait for the
        # serial writer of the other processes (storage/postgres.py).
        async with self.db.write(serial=False) as conn:
            rows = await outbox.claim_due(
                conn, self.channel, now, BATCH, LEASE, self.owner.id, attempt=ahead
            )
        self._mine.update(r.id for r in rows)
        slots = asyncio.Semaphore(max(1, getattr(self.transport, "concurrency", 1)))
        last_to: dict[str, asyncio.Task[None]] = {}
        started: list[asyncio.Task[None]] = []
        for i, row in enumerate(rows):
            if self._stopping:  # the rest goes back at once, for the next start
                await self._release(rows[i:], 0.0, ahead - i)
                break
            wait = await self._wait_for_pace(row.address)
            if wait is not None or self._paused():
                await self._release(rows[i:], wait or self._pause_left(), ahead - i)
                break
            await slots.acquire()
            before = last_to.get(row.address)
            task = asyncio.create_task(self._send_after(row, before, slots, i < ahead))
            last_to[row.address] = task
            started.append(task)
            if i == 0:
                # The first send of a batch goes alone, as a probe: if the provider is
                # throttling (429), nothing else is already on its way.
                await asyncio.wait([task])
        for outcome in await asyncio.gather(*started, return_exceptions=True):
            if isinstance(outcome, Exception):  # its row is taken back at the next look
                log.error("sender %s: %s", self.channel, type(outcome).__name__)
        return len(started)

    async def _take_back_left_rows(self) -> None:
        """Queue again the rows that senders which died left mid-send (at start, then
        every RECLAIM_EVERY seconds), and our own that no send of ours holds any more (a
        write that failed). A live sender's rows are left alone."""
        t = asyncio.get_running_loop().time()
        if t < self._next_look:
            return
        self._next_look = t + RECLAIM_EVERY
        await self.owner.hold_on(self.db)
        owners = await outbox.lease_owners(self.db.reader)
        dead = await self.owner.dead_among(self.db, owners)
        if not dead and self.owner.id not in owners:
            return
        now = self.clock.now()
        async with self.db.write() as conn:
            for owner in dead:
                taken = await outbox.take_back(conn, owner, now)
                log.warning(
                    "outbox: took back %d message(s) from sender %s, which stopped mid-send; "
                    "%d of them had been handed to the provider and may have reached it "
                    "(checked before resending where the provider can be asked; Telegram "
                    "cannot, and those may arrive twice)",
                    taken.rows,
                    owner,
                    taken.in_doubt,
                )
            if self.owner.id in owners:
                await outbox.take_back(conn, self.owner.id, now, keep=sorted(self._mine))

    def _pace_allows(self) -> int:
        """How many sends the pace lets go now, one after another (nothing consumed): the
        bucket's whole tokens, none where each address has a pace of its own."""
        if self.transport.per_address_per_second or self._paused():
            return 0
        rate = self.transport.rate_per_second
        burst = max(1.0, rate * BURST_SHARE)
        return int(min(burst, self._tokens + max(0.0, self._refill_since())))

    def _refill_since(self) -> float:
        """Tokens the bucket gained since it was last looked at (see _pace)."""
        rate = self.transport.rate_per_second
        burst = max(1.0, rate * BURST_SHARE)
        refill = rate - burst if burst < rate * 0.5 else rate * (1 - BURST_SHARE)
        return (asyncio.get_running_loop().time() - self._last_refill) * refill

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
        self,
        row: OutboxRow,
        before: asyncio.Task[None] | None,
        slots: asyncio.Semaphore,
        attempted: bool = False,
    ) -> None:
        """Send one row; ``attempted``: its attempt is on disk already (the claim)."""
        slot = True
        try:
            if before is not None:  # the same address's earlier message goes first
                await asyncio.wait([before])
            if self._paused():  # a 429 came while this one waited: not now
                await self._release([row], self._pause_left(), int(attempted))
                return
            if not attempted and not await self._write_down(row, None):
                log.error("outbox %s: no longer leased by this sender; not sent", row.id)
                return
            result = await self._send(row)
            # The provider has answered: the next send need not wait for this commit.
            slot = False
            slots.release()
            if result.pause_all and result.retry_after:
                until = self.clock.now() + timedelta(seconds=result.retry_after)
                self._paused_until = max(self._paused_until or until, until)
            if self.metrics is not None:
                self.metrics.sent(self.channel, result)
            await self._write_down(row, result)
        finally:
            self._mine.discard(row.id)
            if slot:
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

    async def _write_down(self, row: OutboxRow, result: SendResult | None) -> bool:
        """Write down an attempt (``result`` None: before calling the provider; False when
        the row is no longer ours to send) or its outcome (as soon as the provider has
        answered). Returns once it is on disk, in a commit shared with whatever else
        arrived while the previous commit ran: no waiting on purpose, so the window in
        which a crash forgets an accepted message is about one commit long."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._journal.append(_Entry(row, result, done))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_journal())
        return await done

    async def _write_journal(self) -> None:
        loop = asyncio.get_running_loop()
        while self._journal:
            # Outcomes alone wait for the next commit slot (no send waits on them);
            # an attempt is written at once (its send waits for it).
            wait = self._last_commit + JOURNAL_EVERY - loop.time()
            if wait > 0 and all(e.result is not None for e in self._journal):
                await asyncio.sleep(wait)
            batch, self._journal = self._journal, []
            outcomes = [e for e in batch if e.result is not None]
            attempts = [e.row.id for e in batch if e.result is None]
            try:
                async with self.db.write() as conn:
                    await self._write_outcomes(conn, outcomes)
                    ours = await outbox.mark_attempts(conn, attempts, self.owner.id)
            except Exception as exc:  # the rows are taken back at the next look
                self._last_commit = loop.time()
                for e in batch:
                    if not e.done.done():
                        e.done.set_exception(exc)
                continue
            self._last_commit = loop.time()
            for e in batch:
                if not e.done.done():
                    e.done.set_result(e.result is not None or e.row.id in ours)

    async def _write_outcomes(self, conn: Tx, entries: list[_Entry]) -> None:
        sent = [(e.row, e.result) for e in entries if e.result and e.result.outcome is Outcome.SENT]
        await self._write_sent(conn, sent)
        for e in entries:
            if e.result is not None and e.result.outcome is not Outcome.SENT:
                await self._apply(conn, e.row, e.result)

    async def _write_sent(self, conn: Tx, sent: list[tuple[OutboxRow, SendResult]]) -> None:
        """The success path: the provider accepted these rows."""
        await outbox.mark_sent_many(
            conn,
            self.channel,
            [(row.id, result.provider_id, result.segments) for row, result in sent],
            self.clock.now(),
        )

    async def _apply(self, conn: Tx, row: OutboxRow, result: SendResult) -> None:
        now = self.clock.now()
        if result.outcome is Outcome.SENT:
            await self._write_sent(conn, [(row, result)])
        elif result.outcome is Outcome.RETRY and result.check_failed:
            await self._check_failed(conn, row, result)
        elif result.outcome is Outcome.RETRY:
            delay = result.retry_after or backoff.retry_delay(row.error_count)
            # The provider saying "wait N seconds" (429) is not a failed attempt.
            status = await outbox.mark_retry(
                conn,
                row.id,
                result.error or "retry",
                now + timedelta(seconds=delay),
                count_error=result.retry_after is None,
                in_doubt=result.in_doubt,
            )
            log.warning("outbox %s: %s, %s", row.id, result.error, status)
        elif result.outcome is Outcome.OPTED_OUT:
            await outbox.mark_failed(conn, row.id, result.error or "opted out")
            if row.person_id is not None:
                await self._blocked(conn, row)
        else:
            await outbox.mark_failed(conn, row.id, result.error or "failed")
            log.warning("outbox %s failed: %s", row.id, result.error)

    async def _blocked(self, conn: Tx, row: OutboxRow) -> None:
        """The provider refused this person for good: what that means is the channel's."""
        assert row.person_id is not None
        if self.caps.blocked is Blocked.OPTED_OUT:  # STOP to the number: no broadcasts
            await people.set_opted_out(conn, row.person_id, True)
        else:  # the account blocked the bot: other channels may still reach them
            account = self.caps.account_of(row.address)
            await identities.set_blocked(conn, self.caps.identity, account, True)

    async def _check_failed(self, conn: Tx, row: OutboxRow, result: SendResult) -> None:
        """The provider could not be asked whether it has a message that may have reached
        it. Ask again a few times; then settle it as failed, saying it may have gone out:
        sending it blind could send it twice, waiting for hours helps nobody."""
        now = self.clock.now()
        failures = row.check_failures + 1
        error = result.error or "check failed"
        wait = backoff.check_delay(failures)
        if wait is None:
            why = (
                f"uncertain: may have been sent; {self.channel} could not be asked whether "
                f"it has it ({failures} checks failed, last: {error}); not sent again"
            )
            await outbox.mark_failed(conn, row.id, why)
            sender_health.note_settled_uncertain(self.channel, error, now)
            log.error("outbox %s settled: %s", row.id, why)
            return
        later = now + timedelta(seconds=wait)
        await outbox.mark_check_failed(conn, row.id, error, later)
        sender_health.note_check_failed(self.channel, error, now)
        log.warning(
            "outbox %s: could not ask %s whether it already has this message (%s); "
            "check %d of %d failed, next in %ss",
            row.id,
            self.channel,
            error,
            failures,
            len(CHECK_BACKOFF) + 1,
            wait,
        )

    async def _release(self, rows: list[OutboxRow], delay: float, attempted: int = 0) -> None:
        """Give claimed rows back without counting an error (we chose not to send yet);
        the first ``attempted`` had their attempts written in the claim: undone."""
        if not rows:
            return
        later = self.clock.now() + timedelta(seconds=delay)
        attempted = max(0, attempted)
        try:
            async with self.db.write() as conn:
                if attempted:
                    await outbox.unclaim(conn, rows[:attempted], later)
                for row in rows[attempted:]:
                    await outbox.mark_retry(conn, row.id, "paced", later, count_error=False)
        finally:
            self._mine.difference_update(row.id for row in rows)

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
        if self._writing is not None:
            with contextlib.suppress(Exception):
                await self._writing
        # Rows still leased in our name (a send cut off) are free for the next start now.
        await self.owner.release_on(self.db)
        self._next_look = 0.0
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
